// Review page: take the next label from the review queue, look at the slice, then approve (A),
// correct (C, keys 1–6, Enter) or reject (R, a reason, Enter). The viewer is the labeling page's.
import "./review.css";
import { claimNext, postJson } from "./api.js";
import { renderPrediction, renderSeries, renderViewed } from "./panels.js";
import { createViewer, imageIdFor } from "./viewer.js";
import { prefetchTargets } from "./flow.js";
import { bindViewerKeys } from "./viewer_keys.js";

// Software WebGL and a cold decode worker can take a few seconds; longer means something broke.
const RENDER_TIMEOUT_MS = 30000;
// Per browser, like a reviewer's habit: some want to judge the image before seeing any answer.
const HIDE_ANSWERS_KEY = "dachs.review.hideAnswers";

const root = document.getElementById("review-app");
const viewerElement = document.getElementById("viewer");
const findingButtons = [...root.querySelectorAll("button[data-finding]")];
const decisionButtons = ["approve", "correct", "reject"].map((id) => document.getElementById(id));
const hideAnswersBox = document.getElementById("hide-answers");
const reasonField = document.getElementById("reject-reason");
const claimNextButton = document.getElementById("claim-next");
const keysHelp = document.getElementById("keys-help");
const config = {
  nextUrl: root.dataset.nextUrl,
  decideUrl: root.dataset.decideUrl,
  csrfToken: root.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "",
};
const FINDING_ORDER = findingButtons.map((button) => button.dataset.finding);
const hotkeys = new Map(findingButtons.map((button) => [button.dataset.hotkey, button.dataset.finding]));
const labels = new Map(findingButtons.map((button) => [button.dataset.finding, button.dataset.label]));
const labelFor = (finding) => labels.get(finding) ?? finding;
const cantTellLabels = JSON.parse(document.getElementById("cant-tell-labels")?.textContent || "{}");

const state = {
  item: null, // the review queue's answer for the label under review
  imageIds: [],
  targetIndex: -1,
  rendered: false, // the slice under review has been drawn at least once
  targetFailed: false,
  busy: false, // a claim or a decision is in flight
  mode: "idle", // "idle" | "correct" | "reject"
  revealed: false, // the answers of this item have been shown
  correction: { findings: new Set(), boxes: [] },
  lastDone: "",
  watchdog: null,
  heatmap: null,
  heatmapOn: false,
};
let viewer = null;

const $ = (id) => document.getElementById(id);
const setText = (id, text) => {
  $(id).textContent = text;
};
const setStatus = (text) => setText("status", text);

/** Show an error until the next user action; several errors are listed, each once. */
function showError(text) {
  const element = $("error");
  const shown = element.hidden ? [] : element.textContent.split("\n");
  if (!shown.includes(text)) element.textContent = [...shown, text].join("\n");
  element.hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

const hidingAnswers = () => hideAnswersBox.checked;
const veiled = () => Boolean(state.item) && hidingAnswers() && !state.revealed;
const sliceLabel = () => `slice ${state.targetIndex + 1} / ${state.imageIds.length}`;

function describeLabel(label) {
  if (label.cant_tell) return `Can't tell: ${cantTellLabels[label.cant_tell] ?? label.cant_tell}`;
  return label.findings.length ? label.findings.map(labelFor).join(", ") : "no finding";
}

function describeBoxes(boxes) {
  if (!boxes.length) return "none";
  const noun = boxes.length === 1 ? "box" : "boxes";
  return `${boxes.length} ${noun} (${boxes.map((box) => labelFor(box.finding)).join(", ")})`;
}

// ---------------------------------------------------------------- rendering

function update() {
  const hidden = veiled();
  const canDecide = Boolean(state.item) && state.rendered && !state.busy && !hidden;
  root.dataset.busy = state.busy ? "true" : "false";
  root.dataset.mode = state.mode;
  root.dataset.veiled = hidden ? "true" : "false";
  $("answers").hidden = hidden || !state.item;
  $("answers-veil").hidden = !hidden;
  for (const button of decisionButtons) button.disabled = !canDecide;
  $("decision-buttons").hidden = state.mode !== "idle";
  $("correction").hidden = state.mode !== "correct";
  $("rejection").hidden = state.mode !== "reject";
  for (const button of [$("submit-correction"), $("submit-rejection")]) button.disabled = !canDecide;
  claimNextButton.hidden = state.busy || (Boolean(state.item) && !state.targetFailed);
  drawMarks();
}

function renderItem(item) {
  const { label } = item;
  const target = $("target-info");
  target.textContent = `Reviewing slice ${state.targetIndex + 1} / ${state.imageIds.length}`;
  target.dataset.sliceId = String(item.slice.id);
  root.dataset.label = String(label.id);
  setText("remaining", `Waiting for review: ${item.remaining}`);
  renderSeries(item);

  const reasons = $("priority-reasons");
  reasons.replaceChildren(
    ...(item.priority?.reasons?.length ? item.priority.reasons : ["routine check"]).map((reason) => {
      const li = document.createElement("li");
      li.textContent = reason;
      return li;
    }),
  );

  setText("answer-findings", describeLabel(label));
  const written = new Date(label.created_at);
  setText(
    "answer-reader",
    `${label.reader} · version ${label.version}` +
      (Number.isNaN(written.getTime()) ? "" : ` · ${written.toLocaleString()}`),
  );
  setText("answer-comment", label.comment || "—");
  setText("answer-boxes", describeBoxes(label.boxes));

  const others = item.other_labels ?? [];
  $("other-reads").hidden = !others.length;
  $("other-labels").replaceChildren(
    ...others.map((other) => {
      const li = document.createElement("li");
      const agrees = describeLabel(other) === describeLabel(label);
      li.textContent = `${other.reader}: ${describeLabel(other)}${agrees ? " (agrees)" : " (disagrees)"}`;
      li.className = agrees ? "agrees" : "disagrees";
      return li;
    }),
  );
  renderPrediction(item.model, labelFor);
}

function clearItem() {
  for (const id of ["series-plane", "series-sequence", "series-description", "dog-info", "lease-info", "remaining"]) {
    setText(id, "");
  }
  setText("target-info", "No slice to review");
  $("priority-reasons").replaceChildren();
  renderViewed(0, 0, -1);
  root.removeAttribute("data-label");
}

/** The label's boxes (or, while correcting, the ones kept) on the slice, once answers show. */
function drawMarks() {
  if (!viewer) return;
  const item = state.item;
  if (!item || veiled() || !state.imageIds.length) {
    viewer.setBoxes(null);
    return;
  }
  const boxes =
    state.mode === "correct"
      ? state.correction.boxes.filter((box) => state.correction.findings.has(box.finding))
      : item.label.boxes;
  viewer.setBoxes({ imageId: state.imageIds[state.targetIndex], boxes, labelFor });
}

function renderCorrection() {
  const { findings, boxes } = state.correction;
  for (const button of findingButtons) {
    button.setAttribute("aria-pressed", findings.has(button.dataset.finding) ? "true" : "false");
  }
  $("correction-boxes").hidden = !state.item?.label.boxes.length;
  $("box-list").replaceChildren(
    ...boxes.map((box, index) => {
      const li = document.createElement("li");
      const dropped = !findings.has(box.finding);
      li.className = dropped ? "dropped" : "";
      li.textContent =
        `${labelFor(box.finding)} at ${Math.round(box.x)}, ${Math.round(box.y)} ` +
        `(${Math.round(box.width)} × ${Math.round(box.height)} px)${dropped ? ": dropped" : ""} `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Delete";
      remove.addEventListener("click", () => {
        state.correction.boxes.splice(index, 1);
        renderCorrection();
        drawMarks();
      });
      li.append(remove);
      return li;
    }),
  );
}

// ---------------------------------------------------------------- the queue

function resetItem() {
  clearTimeout(state.watchdog);
  state.heatmap = null;
  viewer?.setOverlay(null);
  viewer?.setBoxes(null);
  Object.assign(state, { item: null, imageIds: [], targetIndex: -1, rendered: false, targetFailed: false });
  viewerElement.removeAttribute("data-rendered-slice");
  viewerElement.removeAttribute("data-target-slice");
}

async function loadNext() {
  const previous = state.item;
  state.item = null;
  state.mode = "idle";
  state.busy = true;
  update();
  $("queue-empty").hidden = true;
  setStatus(state.lastDone ? `${state.lastDone} Loading the next label…` : "Loading the next label…");
  try {
    const item = await claimNext(config.nextUrl, config.csrfToken);
    if (item === null) {
      resetItem();
      clearItem();
      $("queue-empty").hidden = false;
      setStatus(state.lastDone ? `${state.lastDone} Nothing waits for review.` : "Nothing waits for review.");
      return;
    }
    state.upcoming = item.upcoming || [];
    await showItem(item, previous);
  } catch (error) {
    resetItem();
    showError(`Could not load the next label: ${error.message}`);
    setStatus("Loading the next label failed");
  } finally {
    state.busy = false;
    update();
  }
}

async function showItem(item, previous) {
  // The other read of a double-read slice comes next on the same slice: keep the image as it is.
  const sameSlice = previous && previous.slice.id === item.slice.id && state.rendered;
  if (!sameSlice) {
    resetItem();
    state.revealed = false;
    const slices = item.series.slices;
    const byId = slices.findIndex((s) => s.id === item.slice.id);
    state.imageIds = slices.map((s) => imageIdFor(s.dicom_url));
    state.targetIndex = byId >= 0 ? byId : item.slice.index;
    viewerElement.dataset.targetSlice = String(item.slice.id);
  }
  state.item = item;
  renderItem(item);
  if (sameSlice) {
    setStatus(`${state.lastDone} Ready: the other read of ${sliceLabel()}`);
    return;
  }
  renderViewed(state.targetIndex, state.imageIds.length, state.targetIndex);
  setStatus(`Loading ${sliceLabel()}…`);
  state.watchdog = setTimeout(() => {
    if (!state.rendered && state.item === item) {
      state.targetFailed = true;
      showError(`The image for ${sliceLabel()} did not appear within ${RENDER_TIMEOUT_MS / 1000} s.`);
      update();
    }
  }, RENDER_TIMEOUT_MS);
  viewer.setInfo({ description: item.series.description, plane: item.series.plane, sequence: item.series.sequence });
  await viewer.showStack(state.imageIds, state.targetIndex);
  loadHeatmap(item);
}

function loadHeatmap(item) {
  setText("heatmap-status", "");
  if (!item.model || !item.slice.heatmap_url) return;
  const image = new Image();
  image.onload = () => {
    if (state.item?.slice.id !== item.slice.id) return;
    state.heatmap = image;
    setText("heatmap-status", "Press H for the heatmap: where the model looked.");
    showHeatmap();
  };
  image.src = item.slice.heatmap_url;
}

function showHeatmap() {
  if (!viewer) return;
  const item = state.item;
  // The heatmap is the model's answer too: hidden with the others.
  if (!state.heatmapOn || !state.heatmap || !item || veiled()) {
    viewer.setOverlay(null);
    return;
  }
  viewer.setOverlay({
    imageId: state.imageIds[state.targetIndex],
    image: state.heatmap,
    columns: item.slice.columns,
    rows: item.slice.rows,
  });
}

function onImageRendered(index, imageId) {
  if (state.rendered || !state.item || index !== state.targetIndex || imageId !== state.imageIds[index]) return;
  clearTimeout(state.watchdog);
  state.rendered = true;
  viewerElement.dataset.renderedSlice = String(state.item.slice.id);
  // Once this slice is on screen, fetch the images of the slices likely to come next.
  prefetchTargets((state.upcoming || []).map((next) => ({ slice: { dicom_url: next.dicom_url } })));
  state.upcoming = [];
  const prompt = veiled() ? "look, then press Space for the answers" : "A approve · C correct · R reject";
  setStatus(`${state.lastDone ? `${state.lastDone} ` : ""}Ready: ${sliceLabel()}. ${prompt}`);
  update();
}

function onLoadError(index, message) {
  const count = state.imageIds.length;
  const what = index === state.targetIndex ? `the slice under review (${index + 1} / ${count})` : `slice ${index + 1} / ${count}`;
  showError(`Could not load the image for ${what}: ${message}`);
  if (index === state.targetIndex && !state.rendered) {
    state.targetFailed = true;
    setStatus(`The image for ${sliceLabel()} failed to load`);
    clearTimeout(state.watchdog);
    update();
  }
}

// ---------------------------------------------------------------- decisions

function reveal() {
  if (!veiled()) return;
  state.revealed = true;
  showHeatmap();
  update();
  if (state.rendered) setStatus(`Answers shown for ${sliceLabel()}. A approve · C correct · R reject`);
}

function ready() {
  if (!state.item || state.busy) return false;
  if (!state.rendered) {
    setStatus("Wait until the slice is on screen.");
    return false;
  }
  if (veiled()) {
    setStatus("Press Space to see the answers before deciding.");
    return false;
  }
  return true;
}

function startCorrection() {
  if (!ready() || state.mode !== "idle") return;
  const { label } = state.item;
  state.correction = { findings: new Set(label.findings), boxes: label.boxes.map((box) => ({ ...box })) };
  state.mode = "correct";
  clearError();
  renderCorrection();
  update();
  setStatus(`Correcting ${label.reader}'s label of ${sliceLabel()}.`);
}

function toggleFinding(finding) {
  const { findings } = state.correction;
  if (findings.has(finding)) {
    findings.delete(finding);
  } else {
    // "Unremarkable" excludes every other finding, and the other way round.
    if (finding === "unremarkable") findings.clear();
    else findings.delete("unremarkable");
    findings.add(finding);
  }
  renderCorrection();
  drawMarks();
}

function startRejection() {
  if (!ready() || state.mode !== "idle") return;
  state.mode = "reject";
  clearError();
  reasonField.value = "";
  update();
  reasonField.focus();
  setStatus(`Rejecting ${state.item.label.reader}'s label of ${sliceLabel()}.`);
}

function cancel() {
  if (state.mode === "idle") return;
  state.mode = "idle";
  if (document.activeElement === reasonField) reasonField.blur();
  clearError();
  update();
  setStatus(`Ready: ${sliceLabel()}. A approve · C correct · R reject`);
}

async function decide(body, done) {
  const item = state.item;
  const where = sliceLabel();
  state.busy = true;
  update();
  clearError();
  setStatus(`Saving: ${done} ${where}…`);
  let saved = false;
  try {
    await postJson(config.decideUrl, config.csrfToken, { label: item.label.id, ...body });
    state.lastDone = `${done[0].toUpperCase()}${done.slice(1)} ${item.label.reader}'s label of ${where}.`;
    saved = true;
  } catch (error) {
    showError(`Could not save the decision for ${where}: ${error.message}`);
    setStatus("The decision was not saved");
    // 409: the lease expired or the label changed meanwhile; the button loads what waits now.
    if (error.status === 409 || error.status === 404) state.targetFailed = true;
  } finally {
    state.busy = false;
    update();
  }
  if (saved) {
    if (document.activeElement === reasonField) reasonField.blur();
    await loadNext();
  }
}

function approve() {
  if (!ready() || state.mode !== "idle") return;
  decide({ decision: "approve" }, "approved");
}

function submitCorrection() {
  if (state.mode !== "correct" || !ready()) return;
  const findings = FINDING_ORDER.filter((finding) => state.correction.findings.has(finding));
  const boxes = state.correction.boxes.filter((box) => state.correction.findings.has(box.finding));
  if (!findings.length) {
    showError("Choose at least one finding for the correction (keys 1–6).");
    return;
  }
  const { label } = state.item;
  if (findings.join() === label.findings.join() && boxes.length === label.boxes.length && !label.cant_tell) {
    showError("That is the annotator's answer unchanged: press Esc, then A to approve it.");
    return;
  }
  decide({ decision: "correct", findings, boxes, reason: "" }, "corrected");
}

function submitRejection() {
  if (state.mode !== "reject" || !ready()) return;
  const reason = reasonField.value.trim();
  if (!reason) {
    showError("Give a reason: the annotator sees it on their Returned page.");
    reasonField.focus();
    return;
  }
  decide({ decision: "reject", reason }, "rejected");
}

// ---------------------------------------------------------------- keys

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (keysHelp.open) return; // the dialog closes itself with Esc
  if (event.target === reasonField) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      if (!event.repeat) submitRejection();
    } else if (event.key === "Escape") {
      event.preventDefault();
      cancel();
    }
    return;
  }
  if (event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]")) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;

  if (key === "?") {
    event.preventDefault();
    keysHelp.showModal();
    return;
  }
  if (key === " ") {
    event.preventDefault(); // neither scroll nor press a focused button
    reveal();
    return;
  }
  if (key === "Escape") {
    cancel();
    return;
  }
  if (state.mode === "correct") {
    const finding = hotkeys.get(key);
    if (finding) {
      event.preventDefault();
      if (!event.repeat) toggleFinding(finding);
      return;
    }
    if (key === "Enter") {
      event.preventDefault();
      if (!event.repeat) submitCorrection();
      return;
    }
  } else if (state.mode === "idle" && !event.repeat) {
    // preventDefault: the R must not land in the reason field it focuses.
    const action = { a: approve, c: startCorrection, r: startRejection }[key];
    if (action) {
      event.preventDefault();
      action();
      return;
    }
  }
  if (!viewer || !state.imageIds.length) return;
  // Scrolling, window/level presets, zoom and "back to target" are the viewer's keys
  // (viewer_keys.js), the same as on the labeling page.
  if (key === "h") {
    if (veiled()) {
      setStatus("The heatmap is the model's answer: press Space to see the answers first.");
      return;
    }
    state.heatmapOn = !state.heatmapOn;
    showHeatmap();
  }
}

// ---------------------------------------------------------------- start

function readHideAnswers() {
  try {
    return window.localStorage.getItem(HIDE_ANSWERS_KEY) === "true";
  } catch {
    return false; // storage disabled: the box simply starts unticked
  }
}

function start() {
  hideAnswersBox.checked = readHideAnswers();
  hideAnswersBox.addEventListener("change", () => {
    try {
      window.localStorage.setItem(HIDE_ANSWERS_KEY, hideAnswersBox.checked ? "true" : "false");
    } catch {
      // storage disabled: the choice holds for this page only
    }
    state.revealed = !hideAnswersBox.checked;
    hideAnswersBox.blur(); // so Space reveals instead of ticking the box again
    showHeatmap();
    update();
    if (veiled()) setStatus("Answers hidden: look at the image, then press Space.");
  });
  $("show-answers").addEventListener("click", (event) => {
    event.currentTarget.blur();
    reveal();
  });
  const clicks = { approve, correct: startCorrection, reject: startRejection };
  for (const button of decisionButtons) {
    button.addEventListener("click", () => {
      button.blur(); // so Enter/Space cannot repeat the decision on the next label
      clicks[button.id]();
    });
  }
  for (const button of findingButtons) {
    button.addEventListener("click", () => {
      button.blur();
      toggleFinding(button.dataset.finding);
    });
  }
  $("correction").addEventListener("submit", (event) => {
    event.preventDefault();
    submitCorrection();
  });
  $("rejection").addEventListener("submit", (event) => {
    event.preventDefault();
    submitRejection();
  });
  for (const button of root.querySelectorAll("button.cancel")) button.addEventListener("click", cancel);
  $("back-to-target").addEventListener("click", () => viewer?.goTo(state.targetIndex));
  claimNextButton.addEventListener("click", () => {
    clearError();
    loadNext();
  });
  document.addEventListener("keydown", onKeyDown);
  window.addEventListener("unhandledrejection", (event) => {
    // Cornerstone leaves image-load rejections (plain objects, events) unhandled; onLoadError
    // has reported those already. A rejected Error is a real bug and must not pass silently.
    if (event.reason instanceof Error) showError(`Unexpected error: ${event.reason.message}`);
  });

  try {
    viewer = createViewer(viewerElement, {
      onImageChange: (index) => {
        viewerElement.dataset.viewedIndex = String(index);
        renderViewed(index, state.imageIds.length, state.targetIndex);
      },
      onImageRendered,
      onLoadError,
    });
  } catch (error) {
    showError(`The image viewer could not start: ${error.message}`);
    setStatus("Viewer unavailable");
    return;
  }
  // C corrects here, so the viewer's cine key is left out.
  bindViewerKeys(viewer, { onBackToTarget: () => viewer.goTo(state.targetIndex), except: ["c"] });
  update();
  loadNext();
}

start();
