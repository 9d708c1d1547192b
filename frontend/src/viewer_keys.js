// The viewer's keyboard, the same on the labeling and the review page. Digits stay free for
// findings and letters a page uses itself (b, h, v, Enter, …) are not taken here.

/** What each key does, for a page's "?" help. */
export const VIEWER_KEYS = [
  { keys: ["q"], action: "T1W window/level preset" },
  { keys: ["w"], action: "T2W window/level preset" },
  { keys: ["i"], action: "Invert grey scale" },
  { keys: ["+", "-"], action: "Zoom in / out" },
  { keys: ["0"], action: "Fit the image, stored window, no inversion" },
  { keys: ["t"], action: "Back to the target slice (and reset the view)" },
  { keys: ["c"], action: "Cine: play through the series (any key stops it)" },
  { keys: ["↑", "↓", "←", "→"], action: "Previous / next slice" },
  { keys: ["Shift + ↑ ↓ ← →"], action: "Pan the image" },
  { keys: ["PageUp", "PageDown"], action: "Several slices back / forward" },
  { keys: ["Home", "End"], action: "First / last slice" },
];

const ZOOM_STEP = 1.25;
const PAN_STEP = 40; // CSS pixels per Shift+arrow
const PAN = {
  ArrowUp: [0, -PAN_STEP],
  ArrowDown: [0, PAN_STEP],
  ArrowLeft: [-PAN_STEP, 0],
  ArrowRight: [PAN_STEP, 0],
};

/** A page step: a fifth of the series, at least two slices. */
const pageStep = (count) => Math.max(2, Math.round(count / 5));

/**
 * Bind the viewer keys on `target` (the document by default); returns a function that unbinds
 * them. `onBackToTarget()` moves to the slice to label (or review); T also resets the view.
 * `except` lists keys left to the page.
 */
export function bindViewerKeys(viewer, { onBackToTarget, target = document, except = [] } = {}) {
  const skipped = new Set(except); // keys the page uses for something else (review: C corrects)
  function onKeyDown(event) {
    if (event.repeat && event.key === "c") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (viewer.cinePlaying?.()) {
      // Any key stops the cine; C stops it without starting it again, the others also act.
      viewer.stopCine();
      if (event.key === "c" || event.key === "C") {
        event.preventDefault();
        return;
      }
    }
    const count = viewer.imageCount();
    if (!count) return;
    const current = viewer.currentIndex();
    const actions = {
      q: () => viewer.setPreset("T1W"),
      w: () => viewer.setPreset("T2W"),
      i: () => viewer.toggleInvert(),
      "+": () => viewer.zoomBy(ZOOM_STEP),
      "=": () => viewer.zoomBy(ZOOM_STEP), // "+" without Shift on most layouts
      "-": () => viewer.zoomBy(1 / ZOOM_STEP),
      0: () => viewer.resetView(),
      t: () => {
        onBackToTarget?.();
        viewer.resetView();
      },
      c: () => viewer.toggleCine(),
      ArrowUp: () => viewer.goTo(current - 1),
      ArrowLeft: () => viewer.goTo(current - 1),
      ArrowDown: () => viewer.goTo(current + 1),
      ArrowRight: () => viewer.goTo(current + 1),
      PageUp: () => viewer.goTo(Math.max(0, current - pageStep(count))),
      PageDown: () => viewer.goTo(Math.min(count - 1, current + pageStep(count))),
      Home: () => viewer.goTo(0),
      End: () => viewer.goTo(count - 1),
    };
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (event.shiftKey && PAN[key]) {
      event.preventDefault();
      viewer.panBy(...PAN[key]);
      return;
    }
    const action = skipped.has(key) ? null : actions[key];
    if (!action) return;
    // Arrows and Page keys must not scroll the page as well. (Cornerstone marks every key
    // pressed while the image has focus as handled, so defaultPrevented says nothing here.)
    event.preventDefault();
    action();
  }
  target.addEventListener("keydown", onKeyDown);
  return () => target.removeEventListener("keydown", onKeyDown);
}
