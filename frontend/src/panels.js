// Text panels beside the viewer: what is shown, which slice is the target, the model's guess.

function setText(id, text) {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

const PLANES = { sagittal: "Sagittal", transverse: "Transverse", dorsal: "Dorsal", unknown: "Unknown plane" };

export function renderSeries(claim) {
  const { series, dog } = claim;
  setText("series-plane", PLANES[series.plane] ?? series.plane);
  setText("series-sequence", series.sequence);
  setText("series-description", series.description || "—");
  setText("dog-info", [dog.patient_id, dog.breed].filter(Boolean).join(" · ") || "—");
  const expires = new Date(claim.lease_expires_at);
  setText("lease-info", Number.isNaN(expires.getTime()) ? "" : `Reserved for you until ${expires.toLocaleTimeString()}`);
}

/** "slice k / n" for the image in the viewport, and whether it is the one to label. */
export function renderViewed(index, count, targetIndex) {
  setText("viewed-info", count ? `slice ${index + 1} / ${count}` : "slice – / –");
  const isTarget = count > 0 && index === targetIndex;
  document.getElementById("viewer-frame").classList.toggle("is-target", isTarget);
  document.getElementById("target-badge").hidden = !isTarget;
  document.getElementById("back-to-target").disabled = !count || isTarget;
}

export function renderTarget(targetIndex, count, sliceId) {
  const element = document.getElementById("target-info");
  element.textContent = count ? `Labeling slice ${targetIndex + 1} / ${count}` : "No slice to label";
  // Exact values for tests and bug reports: 0-based index in the series, database id.
  element.dataset.index = count ? String(targetIndex) : "";
  element.dataset.sliceId = count ? String(sliceId) : "";
}

export function renderProgress(progress) {
  setText(
    "progress",
    progress ? `Labeled by you: ${progress.labeled_by_you} · Remaining in queue: ${progress.remaining}` : "",
  );
}

const percent = (p) => `${Math.round(p * 100)}%`;

export function renderPrediction(prediction, labelFor) {
  const summary = document.getElementById("prediction-summary");
  const list = document.getElementById("prediction-probabilities");
  list.replaceChildren();
  if (!prediction) {
    summary.textContent = "No model yet";
    return;
  }
  const p = prediction.probabilities?.[prediction.finding];
  summary.textContent =
    `Model v${prediction.model_version} suggests ${labelFor(prediction.finding)}` +
    (typeof p === "number" ? ` (${percent(p)})` : "") +
    (typeof prediction.uncertainty === "number"
      ? ` · uncertainty ${prediction.uncertainty.toFixed(2)}`
      : "");
  const ranked = Object.entries(prediction.probabilities || {}).sort((a, b) => b[1] - a[1]);
  for (const [finding, probability] of ranked) {
    const item = document.createElement("li");
    item.textContent = `${labelFor(finding)}: ${percent(probability)}`;
    list.append(item);
  }
}

export function clearClaim() {
  for (const id of ["series-plane", "series-sequence", "series-description", "dog-info", "lease-info"]) setText(id, "");
  renderTarget(0, 0, null);
  renderViewed(0, 0, -1);
  document.getElementById("prediction-summary").textContent = "";
  document.getElementById("prediction-probabilities").replaceChildren();
}
