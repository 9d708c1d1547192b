// Labeling page: claim a slice, show its series, submit one finding per slice with keys 1–6.
import "./label.css";
import { claimNext, submitAnnotation } from "./api.js";
import { clearClaim, renderPrediction, renderProgress, renderSeries, renderTarget, renderViewed } from "./panels.js";
import { createViewer, imageIdFor } from "./viewer.js";

// Software WebGL and a cold decode worker can take a few seconds; longer means something broke.
const RENDER_TIMEOUT_MS = 30000;

const root = document.getElementById("label-app");
const viewerElement = document.getElementById("viewer");
const findingButtons = [...root.querySelectorAll("button[data-finding]")];
const claimNextButton = document.getElementById("claim-next");
const config = {
  queueNextUrl: root.dataset.queueNextUrl,
  annotationsUrl: root.dataset.annotationsUrl,
  csrfToken: root.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "",
};
const hotkeys = new Map(findingButtons.map((button) => [button.dataset.hotkey, button.dataset.finding]));
const labels = new Map(findingButtons.map((button) => [button.dataset.finding, button.dataset.label]));
const labelFor = (finding) => labels.get(finding) ?? finding;

const state = {
  claim: null, // the slice this user holds a lease on, as returned by the queue
  imageIds: [],
  targetIndex: -1,
  rendered: false, // the target image has been drawn at least once
  targetFailed: false,
  busy: false, // a claim or a submit is in flight
  lastSaved: "",
  watchdog: null,
  heatmap: null, // the target slice's heatmap image, once loaded
  heatmapOn: false, // toggled with H
};
let viewer = null;

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

/** Show an error until the next user action; several errors are listed, each once. */
function showError(text) {
  const element = document.getElementById("error");
  const shown = element.hidden ? [] : element.textContent.split("\n");
  if (!shown.includes(text)) element.textContent = [...shown, text].join("\n");
  element.hidden = false;
}

function clearError() {
  const element = document.getElementById("error");
  element.textContent = "";
  element.hidden = true;
}

const targetLabel = () => `slice ${state.targetIndex + 1} / ${state.imageIds.length}`;

function updateControls() {
  const canLabel = Boolean(state.claim) && state.rendered && !state.busy;
  for (const button of findingButtons) button.disabled = !canLabel;
  claimNextButton.hidden = state.busy || (Boolean(state.claim) && !state.targetFailed);
  root.dataset.busy = state.busy ? "true" : "false";
}

function resetClaim() {
  clearTimeout(state.watchdog);
  state.heatmap = null;
  viewer?.setOverlay(null);
  Object.assign(state, { claim: null, imageIds: [], targetIndex: -1, rendered: false, targetFailed: false });
  viewerElement.removeAttribute("data-rendered-slice");
  viewerElement.removeAttribute("data-target-slice");
}

async function loadNext() {
  resetClaim();
  state.busy = true;
  updateControls();
  document.getElementById("queue-empty").hidden = true;
  setStatus(state.lastSaved ? `${state.lastSaved} Claiming the next slice…` : "Claiming the next slice…");
  try {
    const claim = await claimNext(config.queueNextUrl, config.csrfToken);
    if (claim === null) {
      clearClaim();
      renderProgress(null);
      document.getElementById("queue-empty").hidden = false;
      setStatus("Queue empty — all slices labeled");
      return;
    }
    await showClaim(claim);
  } catch (error) {
    showError(`Could not claim the next slice: ${error.message}`);
    setStatus("Claiming the next slice failed");
  } finally {
    state.busy = false;
    updateControls();
  }
}

async function showClaim(claim) {
  const slices = claim.series.slices;
  const byId = slices.findIndex((s) => s.id === claim.slice.id);
  state.claim = claim;
  state.imageIds = slices.map((s) => imageIdFor(s.dicom_url));
  state.targetIndex = byId >= 0 ? byId : claim.slice.index;
  viewerElement.dataset.targetSlice = String(claim.slice.id);

  renderSeries(claim);
  renderTarget(state.targetIndex, slices.length, claim.slice.id);
  renderViewed(state.targetIndex, slices.length, state.targetIndex);
  renderPrediction(claim.prediction, labelFor);
  renderProgress(claim.progress);
  setStatus(`Loading ${targetLabel()}…`);

  state.watchdog = setTimeout(() => {
    if (!state.rendered && state.claim === claim) {
      state.targetFailed = true;
      showError(`The image for ${targetLabel()} did not appear within ${RENDER_TIMEOUT_MS / 1000} s.`);
      updateControls();
    }
  }, RENDER_TIMEOUT_MS);
  await viewer.showStack(state.imageIds, state.targetIndex);
  loadHeatmap(claim);
}

/** The served model's heatmap of the target slice (404 until it has scored the slice). */
function loadHeatmap(claim) {
  const status = document.getElementById("heatmap-status");
  status.textContent = "";
  if (!claim.prediction || !claim.slice.heatmap_url) return;
  const image = new Image();
  image.onload = () => {
    if (state.claim !== claim) return;
    state.heatmap = image;
    status.textContent = "Heatmap available: press H to show where the model looked.";
    showHeatmap();
  };
  image.src = claim.slice.heatmap_url;
}

function showHeatmap() {
  if (!viewer) return;
  const claim = state.claim;
  if (!state.heatmapOn || !state.heatmap || !claim) {
    viewer.setOverlay(null);
    return;
  }
  viewer.setOverlay({
    imageId: state.imageIds[state.targetIndex],
    image: state.heatmap,
    columns: claim.slice.columns,
    rows: claim.slice.rows,
  });
}

function onImageRendered(index, imageId) {
  if (state.rendered || !state.claim || index !== state.targetIndex || imageId !== state.imageIds[index]) return;
  clearTimeout(state.watchdog);
  state.rendered = true;
  viewerElement.dataset.renderedSlice = String(state.claim.slice.id);
  setStatus(`${state.lastSaved ? `${state.lastSaved} ` : ""}Ready: labeling ${targetLabel()}`);
  updateControls();
}

function onLoadError(index, message) {
  const what = index === state.targetIndex ? `the slice to label (${index + 1} / ${state.imageIds.length})` : `slice ${index + 1} / ${state.imageIds.length}`;
  showError(`Could not load the image for ${what}: ${message}`);
  if (index === state.targetIndex && !state.rendered) {
    state.targetFailed = true;
    setStatus(`The image for ${targetLabel()} failed to load`);
    clearTimeout(state.watchdog);
    updateControls();
  }
}

async function submit(finding) {
  if (!state.claim || !state.rendered || state.busy) return;
  const claim = state.claim;
  const where = targetLabel();
  state.busy = true;
  updateControls();
  clearError();
  setStatus(`Saving ${labelFor(finding)} for ${where}…`);
  let saved = false;
  try {
    const annotation = await submitAnnotation(config.annotationsUrl, config.csrfToken, claim.slice.id, finding);
    state.lastSaved = `Saved ${labelFor(finding)} for ${where} (version ${annotation.version}).`;
    saved = true;
  } catch (error) {
    showError(`Could not save ${labelFor(finding)} for ${where}: ${error.message}`);
    setStatus(`Saving ${labelFor(finding)} failed`);
    // 409: someone else holds the lease now; 404: the slice is gone. Either way it is no longer ours.
    if (error.status === 409 || error.status === 404) resetClaim();
  } finally {
    state.busy = false;
    updateControls();
  }
  if (saved) await loadNext();
}

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]")) return;
  const finding = hotkeys.get(event.key);
  if (finding) {
    event.preventDefault();
    if (!event.repeat) submit(finding); // a held key must not label the next slice too
    return;
  }
  if (!viewer || !state.imageIds.length) return;
  if (event.key === "t" || event.key === "T") {
    viewer.goTo(state.targetIndex);
  } else if (event.key === "h" || event.key === "H") {
    state.heatmapOn = !state.heatmapOn;
    showHeatmap();
  } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
    event.preventDefault();
    viewer.goTo(viewer.currentIndex() - 1);
  } else if (event.key === "ArrowDown" || event.key === "ArrowRight") {
    event.preventDefault();
    viewer.goTo(viewer.currentIndex() + 1);
  }
}

function start() {
  for (const button of findingButtons) {
    button.addEventListener("click", () => {
      button.blur(); // so Enter/Space cannot re-submit on the next slice
      submit(button.dataset.finding);
    });
  }
  document.getElementById("back-to-target").addEventListener("click", () => viewer?.goTo(state.targetIndex));
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
  updateControls();
  loadNext();
}

start();
