// Text panels around the viewer: what is shown, which slice is the target, the model's guess,
// the vet's counts, the key list and their recent labels.

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

// The model's uncertainty on a stated scale: the entropy of its probabilities divided by the
// largest possible entropy (all findings equally likely), so 0 = certain and 1 = no idea.
// Cut-offs: low below 0.40, medium below 0.70, high from 0.70 (about the entropy of a
// 60/40 split between two findings versus a spread over three or more).
export const UNCERTAINTY_CUTOFFS = { low: 0.4, medium: 0.7 };

export function normalisedEntropy(probabilities) {
  const values = Object.values(probabilities || {}).filter((p) => typeof p === "number" && p > 0);
  const count = Object.keys(probabilities || {}).length;
  if (count < 2 || !values.length) return null;
  const entropy = -values.reduce((sum, p) => sum + p * Math.log(p), 0);
  return Math.min(1, Math.max(0, entropy / Math.log(count)));
}

export function uncertaintyLevel(value) {
  if (value === null || value === undefined) return null;
  if (value < UNCERTAINTY_CUTOFFS.low) return "low";
  if (value < UNCERTAINTY_CUTOFFS.medium) return "medium";
  return "high";
}

/** The guess, or why it is not shown (`hidden`: until the vet has chosen, against anchoring). */
export function renderPrediction(prediction, labelFor, { hidden = false } = {}) {
  const summary = document.getElementById("prediction-summary");
  const uncertainty = document.getElementById("prediction-uncertainty");
  const list = document.getElementById("prediction-probabilities");
  const section = document.getElementById("prediction");
  list.replaceChildren();
  if (uncertainty) uncertainty.textContent = "";
  if (section) section.dataset.state = !prediction ? "none" : hidden ? "hidden" : "shown";
  if (!prediction) {
    summary.textContent = "No model yet";
    return;
  }
  if (hidden) {
    summary.textContent = "The model's guess appears once you have chosen a finding.";
    return;
  }
  const p = prediction.probabilities?.[prediction.finding];
  summary.textContent =
    `Model v${prediction.model_version} suggests ${labelFor(prediction.finding)}` +
    (typeof p === "number" ? ` (${percent(p)})` : "");
  const value = normalisedEntropy(prediction.probabilities);
  const level = uncertaintyLevel(value);
  if (level && uncertainty) {
    uncertainty.textContent =
      `Uncertain: ${level} (${value.toFixed(2)} on 0 = certain … 1 = no idea; ` +
      `low < ${UNCERTAINTY_CUTOFFS.low.toFixed(2)} ≤ medium < ${UNCERTAINTY_CUTOFFS.medium.toFixed(2)} ≤ high)`;
    uncertainty.dataset.level = level;
  } else if (level) {
    summary.textContent += ` · uncertain: ${level}`;
  }
  const ranked = Object.entries(prediction.probabilities || {}).sort((a, b) => b[1] - a[1]);
  for (const [finding, probability] of ranked) {
    const item = document.createElement("li");
    item.textContent = `${labelFor(finding)}: ${percent(probability)}`;
    list.append(item);
  }
}

/** The line above the workspace: the vet's counts, the queue, the model that ranks it. */
export function renderStats(stats) {
  setText("stat-today", String(stats.labeled_today));
  setText("stat-total", String(stats.labeled_total));
  setText("stat-queue", String(stats.queue_remaining));
  setText("stat-model", stats.model_version ? `model v${stats.model_version}` : "no model yet (base order)");
}

/** The `?` dialog: [[keys, what they do], ...] grouped under headings. */
export function renderHelp(groups) {
  const list = document.getElementById("help-keys");
  list.replaceChildren();
  for (const [heading, keys] of groups) {
    const title = document.createElement("dt");
    title.className = "help-group";
    title.textContent = heading;
    list.append(title, document.createElement("dd"));
    for (const [key, what] of keys) {
      const term = document.createElement("dt");
      for (const part of key.split(" ")) {
        const kbd = document.createElement("kbd");
        kbd.textContent = part;
        term.append(kbd, " ");
      }
      const description = document.createElement("dd");
      description.textContent = what;
      list.append(term, description);
    }
  }
}

/** The vet's recent labels as buttons; `onChoose(label)` opens one. */
export function renderRecent(labels, labelFor, reasonFor, onChoose) {
  const list = document.getElementById("recent-list");
  list.replaceChildren();
  if (!labels.length) {
    const empty = document.createElement("li");
    empty.textContent = "You have not labeled any slice yet.";
    list.append(empty);
    return;
  }
  for (const label of labels) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.labelId = String(label.id);
    button.dataset.slice = String(label.slice);
    const what = label.cant_tell
      ? `can't tell (${reasonFor(label.cant_tell)})`
      : label.findings.map(labelFor).join(", ");
    const when = new Date(label.created_at).toLocaleTimeString();
    button.textContent = `Slice ${label.slice}: ${what} · v${label.version} · ${when}`;
    if (label.withdrawn) {
      button.disabled = true;
      button.textContent += " · withdrawn";
    }
    button.addEventListener("click", () => onChoose(label));
    item.append(button);
    list.append(item);
  }
}

export function clearClaim() {
  for (const id of ["series-plane", "series-sequence", "series-description", "dog-info", "lease-info"]) setText(id, "");
  renderTarget(0, 0, null);
  renderViewed(0, 0, -1);
  for (const id of ["prediction-summary", "prediction-uncertainty"]) setText(id, "");
  document.getElementById("prediction-probabilities").replaceChildren();
}
