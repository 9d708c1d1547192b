// The JSON endpoints the labeling and review pages talk to (session cookie + CSRF header).

export class ApiError extends Error {
  constructor(message, status, data = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }
}

/** Turn a DRF error body ({"detail": ...} or {"field": ["msg", ...]}) into one line. */
export function describeErrorBody(data) {
  if (data == null) return "";
  if (typeof data === "string") return data;
  if (Array.isArray(data)) return data.map(describeErrorBody).join(" ");
  if (typeof data === "object") {
    if (typeof data.detail === "string") return data.detail;
    return Object.entries(data)
      .map(([field, messages]) => {
        const text = describeErrorBody(messages);
        return field === "non_field_errors" ? text : `${field}: ${text}`;
      })
      .join("; ");
  }
  return String(data);
}

async function request(url, { method = "GET", csrfToken, json } = {}) {
  const headers = { Accept: "application/json" };
  if (csrfToken) headers["X-CSRFToken"] = csrfToken;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  } catch (error) {
    throw new ApiError(`Network error: ${error.message}`, 0);
  }
  if (response.status === 204) return null;

  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // An HTML page here usually means the session expired and we were sent to the login form.
  }
  if (!response.ok) {
    const detail = describeErrorBody(data) || response.statusText || "request failed";
    throw new ApiError(`${detail} (HTTP ${response.status})`, response.status, data);
  }
  if (data === null) {
    const hint = response.redirected ? "your session may have expired; reload the page to log in" : "not JSON";
    throw new ApiError(`Unexpected response from ${url}: ${hint}`, response.status);
  }
  return data;
}

/** Claim the next slice to label; resolves to the claim, or null when the queue is empty (204). */
export function claimNext(url, csrfToken) {
  return request(url, { method: "POST", csrfToken });
}

/** Store a finding for a slice; resolves to the created annotation. */
export function submitAnnotation(url, csrfToken, sliceId, finding) {
  return request(url, { method: "POST", csrfToken, json: { slice: sliceId, finding } });
}

/** POST a JSON body; resolves to the answer's JSON, or null for 204. */
export function postJson(url, csrfToken, json) {
  return request(url, { method: "POST", csrfToken, json });
}

/** GET JSON; resolves to the answer's JSON. */
export function getJson(url) {
  return request(url);
}

/** PUT a JSON body; resolves to the answer's JSON. */
export function putJson(url, csrfToken, json) {
  return request(url, { method: "PUT", csrfToken, json });
}

/** Store a label ({slice, findings | cant_tell, boxes, comment}); resolves to the annotation. */
export function submitLabel(url, csrfToken, body) {
  return request(url, { method: "POST", csrfToken, json: body });
}
