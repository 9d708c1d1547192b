// Labeling page: claim a slice, choose its findings (keys 1–6, several per slice) or "can't tell"
// with a reason, draw lesion boxes, comment, and save with Enter. The next slice is already
// leased and its image decoded, so it shows at once while the save completes in the background.
import "./label.css";
import { claimNext, getJson, postJson, putJson, submitLabel } from "./api.js";
import { createBoxEditor } from "./boxes.js";
import { createSerialQueue, keepLeases, prefetchTargets } from "./flow.js";
import {
  clearClaim,
  renderHelp,
  renderPrediction,
  renderProgress,
  renderRecent,
  renderSeries,
  renderStats,
  renderTarget,
  renderViewed,
} from "./panels.js";
import { createSideBySide } from "./sidebyside.js";
import { createViewer, imageIdFor } from "./viewer.js";
import { VIEWER_KEYS, bindViewerKeys } from "./viewer_keys.js";

// Software WebGL and a cold decode worker can take a few seconds; longer means something broke.
const RENDER_TIMEOUT_MS = 30000;

const root = document.getElementById("label-app");
const viewerElement = document.getElementById("viewer");
const $ = (id) => document.getElementById(id);
const findingButtons = [...root.querySelectorAll("button[data-finding]")];
const reasonButtons = [...root.querySelectorAll("button[data-reason]")];
const config = {
  queueNextUrl: root.dataset.queueNextUrl,
  annotationsUrl: root.dataset.annotationsUrl,
  renewUrl: root.dataset.renewUrl,
  releaseUrl: root.dataset.releaseUrl,
  takeBackUrl: root.dataset.takeBackUrl,
  preferencesUrl: root.dataset.preferencesUrl,
  statsUrl: root.dataset.statsUrl,
  recentUrl: root.dataset.recentUrl,
  leaseSeconds: Number(root.dataset.leaseSeconds) || 300,
  pollSeconds: Number(root.dataset.pollSeconds) || 30,
  csrfToken: root.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "",
};
const sliceItemUrl = (sliceId) => `/api/slices/${sliceId}/item/`;
const UNREMARKABLE = "unremarkable";
const hotkeys = new Map(findingButtons.map((button) => [button.dataset.hotkey, button.dataset.finding]));
const reasonKeys = new Map(reasonButtons.map((button) => [button.dataset.hotkey, button.dataset.reason]));
const labels = new Map(findingButtons.map((button) => [button.dataset.finding, button.dataset.label]));
const reasons = new Map(reasonButtons.map((button) => [button.dataset.reason, button.textContent.replace(/^\s*\d\s*/, "").trim()]));
const labelFor = (finding) => labels.get(finding) ?? finding;
const reasonFor = (reason) => reasons.get(reason) ?? reason;
const order = [...labels.keys()];

const state = {
  claim: null, // the slices this user holds a lease on (current + lookahead), as the queue gave them
  shown: null, // the item in the viewer: the claim, or a reopened label's slice while editing
  editing: null, // {label} while one of the vet's recent labels is open for a change
  imageIds: [],
  targetIndex: -1,
  rendered: false, // the target image has been drawn at least once
  targetFailed: false,
  busy: false, // a claim is in flight and nothing can be labeled
  findings: new Set(),
  lastSaved: "",
  lastSubmitted: null, // {labelId, slice, content}: what U undoes
  watchdog: null,
  heatmap: null, // the target slice's heatmap image, once loaded
  heatmapOn: false, // toggled with H
  otherWeighting: false, // the main viewer shows the other weighting (V)
  modelVersion: undefined, // the served model as last seen; a change updates the guess
  prefs: { oneKeyMode: root.dataset.oneKeyMode === "true", showGuess: root.dataset.showGuess || "after" },
};
// data-saving on the page: how many saves are still on their way (0 once all are stored).
const saves = createSerialQueue((count) => {
  root.dataset.saving = String(count);
});
let viewer = null;
let boxes = null;
let side = null;

function setStatus(text) {
  $("status").textContent = text;
}

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

function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

const targetLabel = () => `slice ${state.targetIndex + 1} / ${state.imageIds.length}`;
const canLabel = () => Boolean(state.shown) && state.rendered && !state.busy;

function updateControls() {
  const ready = canLabel();
  for (const button of [...findingButtons, $("cant-tell"), $("box-mode")]) button.disabled = !ready;
  $("submit").disabled = !ready || !hasChoice();
  $("undo").disabled = !state.lastSubmitted;
  $("claim-next").hidden = state.busy || Boolean(state.editing) || (Boolean(state.claim) && !state.targetFailed);
  root.dataset.busy = state.busy ? "true" : "false";
  root.dataset.editing = state.editing ? "true" : "false";
}

// --- the vet's choice for the slice shown -----------------------------------------------------

const hasChoice = () => state.findings.size > 0;

function choiceContent(cantTell = null) {
  const findings = cantTell ? [] : order.filter((f) => state.findings.has(f));
  const drawn = cantTell ? [] : (boxes?.getBoxes() ?? []).filter((b) => findings.includes(b.finding));
  return { findings, cant_tell: cantTell, boxes: drawn, comment: $("comment").value.trim() };
}

function renderChoice() {
  for (const button of findingButtons) {
    const on = state.findings.has(button.dataset.finding);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.classList.toggle("chosen", on);
  }
  root.dataset.findings = order.filter((f) => state.findings.has(f)).join(",");
  renderGuess();
  updateControls();
}

/** Start a slice afresh, or with `content` (a reopened label, a save that failed). */
function setChoice(content) {
  state.findings = new Set(content?.findings ?? []);
  $("comment").value = content?.comment ?? "";
  boxes?.setBoxes(content?.boxes ?? []);
  boxes?.setActiveFinding([...state.findings].filter((f) => f !== UNREMARKABLE).pop() ?? null);
  closeReasons();
  renderChoice();
}

function toggleFinding(finding) {
  if (!canLabel()) return;
  if (state.prefs.oneKeyMode && !state.editing) {
    state.findings = new Set([finding]);
    renderChoice();
    submit();
    return;
  }
  if (state.findings.has(finding)) {
    state.findings.delete(finding);
  } else if (finding === UNREMARKABLE) {
    state.findings = new Set([finding]); // unremarkable and a lesion exclude each other
  } else {
    state.findings.delete(UNREMARKABLE);
    state.findings.add(finding);
  }
  if (boxes) {
    // A box marks one of the chosen findings; it goes with its finding.
    const kept = boxes.getBoxes().filter((b) => state.findings.has(b.finding));
    if (kept.length !== boxes.getBoxes().length) boxes.setBoxes(kept);
    const active = state.findings.has(finding) && finding !== UNREMARKABLE ? finding : null;
    boxes.setActiveFinding(active ?? [...state.findings].filter((f) => f !== UNREMARKABLE).pop() ?? null);
  }
  renderChoice();
}

function openReasons() {
  if (!canLabel()) return;
  $("cant-tell-reasons").hidden = false;
  $("cant-tell").setAttribute("aria-expanded", "true");
}

function closeReasons() {
  $("cant-tell-reasons").hidden = true;
  $("cant-tell").setAttribute("aria-expanded", "false");
}

function chooseReason(reason) {
  closeReasons();
  if (!canLabel()) return;
  submit(reason);
}

// --- the model's guess --------------------------------------------------------------------------

function guessVisible() {
  return state.prefs.showGuess === "at_once" || hasChoice() || Boolean(state.editing);
}

function renderGuess() {
  renderPrediction(state.shown?.prediction ?? null, labelFor, { hidden: !guessVisible() });
}

// --- showing a slice ----------------------------------------------------------------------------

function resetShown() {
  clearTimeout(state.watchdog);
  state.heatmap = null;
  viewer?.setOverlay(null);
  Object.assign(state, { shown: null, imageIds: [], targetIndex: -1, rendered: false, targetFailed: false, otherWeighting: false });
  viewerElement.removeAttribute("data-rendered-slice");
  viewerElement.removeAttribute("data-target-slice");
  state.sideShownFor = null;
  side?.clear();
}

/** Put `item` (a claim, a lookahead item or a reopened label's slice) in the viewer. */
async function display(item, content = null) {
  resetShown();
  const slices = item.series.slices;
  const byId = slices.findIndex((s) => s.id === item.slice.id);
  state.shown = item;
  state.imageIds = slices.map((s) => imageIdFor(s.dicom_url));
  state.targetIndex = byId >= 0 ? byId : item.slice.index;
  viewerElement.dataset.targetSlice = String(item.slice.id);
  setChoice(content);

  renderSeries({ ...item, lease_expires_at: state.claim?.lease_expires_at });
  renderTarget(state.targetIndex, slices.length, item.slice.id);
  renderViewed(state.targetIndex, slices.length, state.targetIndex);
  if (item.progress) renderProgress(item.progress);
  viewer.setInfo?.({ description: item.series.description, plane: item.series.plane, sequence: item.series.sequence });
  setStatus(`${state.lastSaved ? `${state.lastSaved} ` : ""}Loading ${targetLabel()}…`);
  updateControls();

  state.watchdog = setTimeout(() => {
    if (!state.rendered && state.shown === item) {
      state.targetFailed = true;
      showError(`The image for ${targetLabel()} did not appear within ${RENDER_TIMEOUT_MS / 1000} s.`);
      updateControls();
    }
  }, RENDER_TIMEOUT_MS);
  await viewer.showStack(state.imageIds, state.targetIndex);
  if (state.shown !== item) return;
  loadHeatmap(item);
}

function showClaim(claim, content = null) {
  state.claim = claim;
  // The next slices are fetched once this one is on screen, so they never slow it down.
  state.prefetchWhenDrawn = claim.lookahead;
  return display(claim, content);
}

/** What waits for the slice to label to be drawn first: the lookahead's images and the
 * other plane beside it. */
function afterTargetDrawn() {
  if (state.prefetchWhenDrawn) {
    prefetchTargets(state.prefetchWhenDrawn);
    state.prefetchWhenDrawn = null;
  }
  if (side && state.sideShownFor !== state.shown) {
    state.sideShownFor = state.shown;
    side.show(state.shown);
  }
}

/** The served model's heatmap of the target slice (404 until it has scored the slice). */
function loadHeatmap(item) {
  const status = $("heatmap-status");
  status.textContent = "";
  if (!item.prediction || !item.slice.heatmap_url) return;
  const image = new Image();
  image.onload = () => {
    if (state.shown !== item) return;
    state.heatmap = image;
    status.textContent = "Heatmap available: press H to show where the model looked.";
    showHeatmap();
  };
  image.src = `${item.slice.heatmap_url}?model=${item.prediction.model_version}`;
}

function showHeatmap() {
  if (!viewer) return;
  const item = state.shown;
  if (!state.heatmapOn || !state.heatmap || !item) {
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
  if (state.rendered || !state.shown || index !== state.targetIndex || imageId !== state.imageIds[index]) return;
  clearTimeout(state.watchdog);
  state.rendered = true;
  viewerElement.dataset.renderedSlice = String(state.shown.slice.id);
  afterTargetDrawn();
  const what = state.editing ? `changing your label of ${targetLabel()}` : `labeling ${targetLabel()}`;
  setStatus(`${state.lastSaved ? `${state.lastSaved} ` : ""}Ready: ${what}`);
  updateControls();
}

function onLoadError(index) {
  // The viewer covers itself with the message and a Retry button; the page only notes that
  // the slice to label cannot be labeled until it shows.
  if (index === state.targetIndex && !state.rendered) {
    state.targetFailed = true;
    setStatus(`The image for ${targetLabel()} failed to load: retry on the image, or load the next slice`);
    clearTimeout(state.watchdog);
    updateControls();
  }
}

function backToTarget() {
  if (!viewer || !state.imageIds.length) return;
  if (state.otherWeighting) {
    state.otherWeighting = false;
    viewer.showStack(state.imageIds, state.targetIndex);
    return;
  }
  viewer.goTo(state.targetIndex);
}

function toggleOtherWeighting() {
  if (!viewer || !state.shown) return;
  if (state.otherWeighting) {
    backToTarget();
    return;
  }
  const other = side?.toggleOtherWeighting();
  if (!other) {
    setStatus("This study has no other weighting of this plane");
    return;
  }
  state.otherWeighting = true;
  viewer.showStack(other.imageIds, other.index);
}

// --- the queue ---------------------------------------------------------------------------------

async function loadNext() {
  resetShown();
  state.claim = null;
  state.busy = true;
  updateControls();
  $("queue-empty").hidden = true;
  setStatus(state.lastSaved ? `${state.lastSaved} Claiming the next slice…` : "Claiming the next slice…");
  try {
    const claim = await claimNext(config.queueNextUrl, config.csrfToken);
    if (claim === null) {
      queueEmpty();
      return;
    }
    state.busy = false;
    await showClaim(claim);
  } catch (error) {
    showError(`Could not claim the next slice: ${error.message}`);
    setStatus("Claiming the next slice failed");
  } finally {
    state.busy = false;
    updateControls();
  }
}

function queueEmpty() {
  state.claim = null;
  clearClaim();
  renderProgress(null);
  $("queue-empty").hidden = false;
  setStatus(`${state.lastSaved ? `${state.lastSaved} ` : ""}Queue empty — all slices labeled`);
}

/**
 * After a save: ask the queue again, which confirms the slice on screen (already leased) and
 * leases a further one for prefetching. Skipped while later saves wait: they ask themselves.
 */
async function refreshClaim() {
  const fresh = await claimNext(config.queueNextUrl, config.csrfToken);
  if (saves.pending > 1 || state.editing) return;
  if (fresh === null) {
    if (!state.shown) queueEmpty();
    return;
  }
  if (state.claim && state.shown === state.claim && fresh.slice.id === state.claim.slice.id) {
    Object.assign(state.claim, {
      lookahead: fresh.lookahead,
      lease_expires_at: fresh.lease_expires_at,
      progress: fresh.progress,
      prediction: fresh.prediction,
    });
    prefetchTargets(fresh.lookahead);
    renderSeries({ ...state.claim });
    renderProgress(fresh.progress);
    renderGuess();
    return;
  }
  if (state.shown && state.shown === state.claim) {
    showNotice("The slice on screen was finished by other readers meanwhile: here is your next one.");
  }
  await showClaim(fresh);
}

// --- saving --------------------------------------------------------------------------------------

function describe(content) {
  return content.cant_tell ? `can't tell (${reasonFor(content.cant_tell)})` : content.findings.map(labelFor).join(", ");
}

function submit(cantTell = null) {
  if (!canLabel()) return;
  if (!cantTell && !hasChoice()) {
    showError("Choose at least one finding (keys 1–6) or can't tell (X) first.");
    return;
  }
  const content = choiceContent(cantTell);
  if (state.editing) {
    saveEdit(content);
    return;
  }
  const claim = state.claim;
  const where = targetLabel();
  clearError();
  showNotice("");
  const next = claim.lookahead?.[0];
  if (next) {
    // The next slice is leased and prefetched already: show it now, save in the background.
    showClaim({
      ...next,
      lookahead: claim.lookahead.slice(1),
      lease_expires_at: claim.lease_expires_at,
      progress: claim.progress,
    });
  } else {
    resetShown();
    state.claim = null;
    state.busy = true;
    updateControls();
    setStatus(`Saving ${describe(content)} for ${where}…`);
  }
  saves.run(() => save(claim, content, where)).catch((error) => showError(`Unexpected error: ${error.message}`));
}

async function save(claim, content, where) {
  try {
    const label = await submitLabel(config.annotationsUrl, config.csrfToken, { slice: claim.slice.id, ...content });
    state.lastSaved = `Saved ${describe(content)} for ${where} (version ${label.version}).`;
    state.lastSubmitted = { labelId: label.id, slice: claim.slice.id, content };
  } catch (error) {
    showError(`Could not save ${describe(content)} for ${where}: ${error.message}`);
    state.busy = false;
    // 409: someone else holds the lease now; 404: the slice is gone. Either way it is no
    // longer ours; any other failure: show the slice again with the vet's choice, not lost.
    if (error.status === 409 || error.status === 404) {
      if (!state.shown && saves.pending === 1) await loadNext();
    } else if (saves.pending === 1 && !state.editing) {
      await showClaim(claim, content);
      setStatus(`Not saved: ${where} is shown again with your choice`);
    }
    updateControls();
    return;
  }
  state.busy = false;
  updateControls();
  if (saves.pending === 1) {
    await refreshClaim().catch((error) => showError(`Could not claim the next slice: ${error.message}`));
    refreshStats();
  }
  if (state.rendered) setStatus(`${state.lastSaved} Ready: labeling ${targetLabel()}`);
}

async function undo() {
  await saves.idle();
  const last = state.lastSubmitted;
  if (!last) {
    setStatus("Nothing to undo");
    return;
  }
  clearError();
  try {
    await postJson(`${config.annotationsUrl}${last.labelId}/withdraw/`, config.csrfToken);
    state.lastSubmitted = null;
    const claim = await postJson(config.takeBackUrl, config.csrfToken, { slice: last.slice });
    state.editing = null;
    $("edit-banner").hidden = true;
    state.lastSaved = "";
    showNotice(`Undone: your label of slice ${last.slice} is withdrawn; label it again.`);
    await showClaim(claim, last.content);
    refreshStats();
  } catch (error) {
    showError(`Could not undo: ${error.message}`);
  }
  updateControls();
}

// --- my recent labels ----------------------------------------------------------------------------

function closeRecent() {
  $("recent").hidden = true;
}

async function toggleRecent() {
  if (!$("recent").hidden) {
    closeRecent();
    return;
  }
  try {
    const body = await getJson(config.recentUrl);
    renderRecent(body.results, labelFor, reasonFor, openForEdit);
    $("recent").hidden = false;
    $("recent-list").querySelector("button:not(:disabled)")?.focus();
  } catch (error) {
    showError(`Could not list your recent labels: ${error.message}`);
  }
}

async function openForEdit(chosen) {
  closeRecent();
  await saves.idle();
  clearError();
  try {
    const item = await getJson(sliceItemUrl(chosen.slice));
    const label = item.label ?? chosen;
    state.editing = { label };
    const banner = $("edit-banner");
    banner.textContent = `Changing your label of slice ${label.slice} (version ${label.version}): Enter saves a new version, Esc cancels.`;
    banner.hidden = false;
    await display(item, { findings: label.findings, boxes: label.boxes, comment: label.comment });
  } catch (error) {
    showError(`Could not open your label of slice ${chosen.slice}: ${error.message}`);
  }
}

async function saveEdit(content) {
  const { label } = state.editing;
  clearError();
  setStatus(`Saving your change to slice ${label.slice}…`);
  try {
    const body = { ...content, version: label.version };
    const saved = await putJson(`${config.annotationsUrl}${label.id}/`, config.csrfToken, body);
    state.lastSaved = `Saved your change to slice ${saved.slice} (version ${saved.version}).`;
    await leaveEdit();
    refreshStats();
  } catch (error) {
    // A stale version (409) must never overwrite silently: say so and keep the edit open.
    const advice = error.status === 409 ? " Press R to reopen the current version." : "";
    showError(`Not saved: ${error.message}.${advice}`);
    setStatus(`Your change to slice ${label.slice} was not saved`);
  }
}

async function leaveEdit() {
  state.editing = null;
  $("edit-banner").hidden = true;
  if (state.claim) await display(state.claim);
  else await loadNext();
}

// --- header, preferences, model updates ------------------------------------------------------

async function refreshStats() {
  try {
    const stats = await getJson(config.statsUrl);
    renderStats(stats);
    const known = state.modelVersion;
    state.modelVersion = stats.model_version;
    if (known !== undefined && stats.model_version && stats.model_version !== known) await newModel(stats.model_version);
  } catch {
    // The header is informative; the next poll tries again.
  }
}

/** A new model serves: fetch its guess for the slice on screen and say so. */
async function newModel(version) {
  const item = state.shown;
  const notice = $("model-notice");
  notice.textContent = `Model v${version} now serves and ranks the queue.`;
  notice.hidden = false;
  if (!item) return;
  const fresh = await getJson(sliceItemUrl(item.slice.id));
  if (state.shown !== item) return;
  item.prediction = fresh.prediction;
  notice.textContent = `Model v${version} now serves: the guess for this slice was updated.`;
  renderGuess();
  loadHeatmap(item);
}

async function savePreferences(change) {
  try {
    const saved = await putJson(config.preferencesUrl, config.csrfToken, change);
    state.prefs = { oneKeyMode: saved.one_key_mode, showGuess: saved.show_guess };
    renderGuess();
    setStatus("Settings saved");
  } catch (error) {
    showError(`Could not save your settings: ${error.message}`);
  }
}

// --- keys ------------------------------------------------------------------------------------------

const PAGE_KEYS = [
  ["1 2 3 4 5 6", "Toggle a finding (several per slice; Unremarkable clears the others)"],
  ["Enter", "Save the label and show the next slice"],
  ["X", "Can't tell: then 1 artefact, 2 wrong region, 3 poor quality (saves at once)"],
  ["B", "Box mode: drag on the image to box the last finding chosen"],
  ["Delete", "Delete the selected box"],
  ["M", "Write a comment (Enter saves, Esc leaves the field)"],
  ["U", "Undo the last label: the slice comes back"],
  ["R", "My recent labels: open one to change it"],
  ["V", "Other weighting at the same position (again: back)"],
  ["H", "Model's heatmap on / off"],
  ["Esc", "Close a list, leave box mode, cancel a change"],
  ["?", "This list"],
];

function showHelp(open) {
  $("help").hidden = !open;
  if (open) {
    const viewerKeys = VIEWER_KEYS.map(({ keys, action }) => [keys.join(" "), action]);
    renderHelp([
      ["Labeling", PAGE_KEYS],
      ["Image", viewerKeys],
    ]);
  }
}

const typing = (target) => target instanceof Element && Boolean(target.closest("input, textarea, select, [contenteditable]"));

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const { key } = event;
  if (!$("help").hidden) {
    if (key === "Escape" || key === "?") {
      event.preventDefault();
      showHelp(false);
    }
    return;
  }
  if (typing(event.target)) {
    if (event.target.id === "comment") {
      if (key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        event.target.blur();
        submit();
      } else if (key === "Escape") {
        event.target.blur();
      }
    }
    return;
  }
  // A focused button answers Enter and Space itself.
  if ((key === "Enter" || key === " ") && event.target instanceof Element && event.target.closest("button")) return;
  if (event.repeat && (hotkeys.has(key) || key === "Enter")) {
    event.preventDefault(); // a held key must not label the next slice too
    return;
  }
  const lower = key.length === 1 ? key.toLowerCase() : key;
  if (!$("cant-tell-reasons").hidden && reasonKeys.has(key)) {
    event.preventDefault();
    chooseReason(reasonKeys.get(key));
    return;
  }
  const actions = {
    Enter: () => submit(),
    x: openReasons,
    m: () => $("comment").focus(),
    u: undo,
    r: toggleRecent,
    b: toggleBoxMode,
    v: toggleOtherWeighting,
    h: () => {
      state.heatmapOn = !state.heatmapOn;
      showHeatmap();
    },
    "?": () => showHelp(true),
    Escape: onEscape,
  };
  if (hotkeys.has(key)) {
    event.preventDefault();
    toggleFinding(hotkeys.get(key));
  } else if (actions[lower]) {
    event.preventDefault();
    actions[lower]();
  }
}

function onEscape() {
  if (!$("cant-tell-reasons").hidden) closeReasons();
  else if (!$("recent").hidden) closeRecent();
  else if (boxes?.isEnabled()) toggleBoxMode();
  else if (state.editing) {
    setStatus("Change cancelled");
    leaveEdit();
  }
}

function toggleBoxMode() {
  if (!boxes || !canLabel()) return;
  const on = !boxes.isEnabled();
  boxes.setEnabled(on);
  $("box-mode").setAttribute("aria-pressed", on ? "true" : "false");
  if (on && ![...state.findings].some((f) => f !== UNREMARKABLE)) setStatus("Box mode: choose a finding (2–6) for the boxes first");
}

// --- start ---------------------------------------------------------------------------------------

function bindControls() {
  for (const button of findingButtons) button.addEventListener("click", () => toggleFinding(button.dataset.finding));
  for (const button of reasonButtons) button.addEventListener("click", () => chooseReason(button.dataset.reason));
  $("cant-tell").addEventListener("click", () => ($("cant-tell-reasons").hidden ? openReasons() : closeReasons()));
  $("submit").addEventListener("click", () => submit());
  $("box-mode").addEventListener("click", toggleBoxMode);
  $("undo").addEventListener("click", undo);
  $("recent-button").addEventListener("click", toggleRecent);
  $("help-button").addEventListener("click", () => showHelp(true));
  $("help").addEventListener("click", (event) => event.target === $("help") && showHelp(false));
  $("back-to-target").addEventListener("click", () => {
    backToTarget();
    viewer?.resetView?.();
  });
  $("claim-next").addEventListener("click", () => {
    clearError();
    loadNext();
  });
  $("pref-one-key").addEventListener("change", (event) => savePreferences({ one_key_mode: event.target.checked }));
  $("pref-show-guess").addEventListener("change", (event) => savePreferences({ show_guess: event.target.value }));
  // A mouse click leaves no focus behind, so Enter afterwards saves instead of clicking again.
  root.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("button");
    if (button && event.detail > 0) button.blur();
  });
  document.addEventListener("keydown", onKeyDown);
  window.addEventListener("unhandledrejection", (event) => {
    // Cornerstone leaves image-load rejections (plain objects, events) unhandled; onLoadError
    // has reported those already. A rejected Error is a real bug and must not pass silently.
    if (event.reason instanceof Error) showError(`Unexpected error: ${event.reason.message}`);
  });
}

function start() {
  bindControls();
  try {
    viewer = createViewer(viewerElement, {
      onImageChange: (index) => {
        viewerElement.dataset.viewedIndex = String(index);
        if (!state.otherWeighting) renderViewed(index, state.imageIds.length, state.targetIndex);
        side?.onMainImageChange(index, viewer?.currentImageId?.());
      },
      onImageRendered,
      onLoadError,
    });
  } catch (error) {
    showError(`The image viewer could not start: ${error.message}`);
    setStatus("Viewer unavailable");
    return;
  }
  bindViewerKeys(viewer, { onBackToTarget: backToTarget });
  try {
    boxes = createBoxEditor(viewer, {
      labelFor,
      targetIndex: () => (state.otherWeighting ? -1 : state.targetIndex),
      onChange: () => updateControls(),
    });
  } catch (error) {
    showError(`Lesion boxes are unavailable: ${error.message}`);
  }
  try {
    side = createSideBySide($("side-viewer"), { csrfToken: config.csrfToken, mainViewer: viewer });
  } catch (error) {
    showError(`The side-by-side view is unavailable: ${error.message}`);
  }
  keepLeases({
    renewUrl: config.renewUrl,
    releaseUrl: config.releaseUrl,
    csrfToken: config.csrfToken,
    leaseSeconds: config.leaseSeconds,
    isHolding: () => Boolean(state.claim),
    onRenewed: (expiresAt) => {
      if (state.claim) state.claim.lease_expires_at = expiresAt;
    },
  });
  setInterval(refreshStats, config.pollSeconds * 1000);
  updateControls();
  refreshStats();
  loadNext();
}

start();
