// One Cornerstone3D StackViewport showing a series of DICOM slices (WADO-URI).
import {
  Enums as CoreEnums,
  RenderingEngine,
  cache,
  eventTarget,
  imageLoader,
  init as coreInit,
  metaData,
  utilities as coreUtilities,
} from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader";
import {
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
  utilities as toolUtilities,
} from "@cornerstonejs/tools";
import { createOverlays } from "./overlays.js";
// Inlined and added by the viewer itself: every page that mounts a viewer gets its overlay
// styles without a template having to link a stylesheet of a shared chunk.
import viewerStyles from "./viewer.css?inline";

// Each viewer gets its own engine, viewport and tool group, so a page can show two series side
// by side; the first keeps the ids it always had.
let viewerCount = 0;
const { Events } = CoreEnums;
const { MouseBindings } = ToolEnums;

let initialised = false;

function initCornerstone() {
  if (initialised) return;
  // One viewport per rendering engine needs one WebGL context (the default pool holds seven).
  coreInit({ rendering: { webGlContextCount: 1 } });
  dicomImageLoaderInit({ maxWebWorkers: Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1)) });
  toolsInit();
  const style = document.createElement("style");
  style.dataset.source = "viewer.css";
  style.textContent = viewerStyles;
  document.head.appendChild(style);
  for (const tool of [WindowLevelTool, StackScrollTool, ZoomTool, PanTool]) addTool(tool);
  initialised = true;
}

/** The imageId the dicom-image-loader understands for a same-origin DICOM file URL. */
export function imageIdFor(dicomUrl) {
  return `wadouri:${new URL(dicomUrl, window.location.origin).href}`;
}

/** Best-effort one-line description of whatever the loader rejected with. */
export function describeLoadError(error) {
  // Loader rejections nest: {error: XMLHttpRequest | Error | string | {exception, dataSet}}.
  let e = error;
  for (let depth = 0; depth < 5; depth++) {
    if (e == null) break;
    if (typeof e === "string") return e;
    if (e instanceof Error) return e.message;
    // Colour JPEG baseline is decoded by the browser from a data: URL (CSP img-src must allow data:).
    if (typeof Event !== "undefined" && e instanceof Event) return `the browser could not decode the image (${e.type})`;
    if (typeof XMLHttpRequest !== "undefined" && e instanceof XMLHttpRequest) {
      return e.status ? `HTTP ${e.status} ${e.statusText}`.trim() : "network error";
    }
    if (typeof e.status === "number" && e.status > 0) return `HTTP ${e.status}`;
    if (typeof e.exception === "string") return e.exception; // dicomParser: not a readable DICOM file
    if (typeof e.message === "string") return e.message;
    if (typeof e === "object" && "error" in e) {
      e = e.error;
      continue;
    }
    break;
  }
  return "unknown error (details in the browser console)";
}


/**
 * Window/level presets, relative to the image's stored window (DICOM WindowCenter/Width, or
 * its pixel range when the file has none). MR signal has no absolute scale (unlike CT's
 * Hounsfield units), so fixed numbers would suit one scanner and ruin the next; a window
 * stated as a share of the stored one works on any scaling, the synthetic dogs' included.
 *   centre: shift of the centre, as a fraction of the stored width; width: factor on it.
 */
const PRESETS = {
  // T1W: fat and marrow bright, CSF dark; a narrower window lifted a little separates cord,
  // epidural fat and marrow, which sit close together in the middle of the range.
  T1W: { centre: 0.05, width: 0.7 },
  // T2W: fluid (CSF ring, syrinx, oedema) is the brightest thing on the image; a wider window
  // raised over the stored one keeps it from saturating, so a lost CSF ring stays visible.
  T2W: { centre: 0.15, width: 1.2 },
};
export const PRESET_NAMES = ["T1W", "T2W", "default"];

/** The stored window of `imageId` as {centre, width}, or null when nothing states one. */
function storedWindow(imageId, image) {
  const voi = imageId ? metaData.get("voiLutModule", imageId) : null;
  const centre = [voi?.windowCenter].flat()[0];
  const width = [voi?.windowWidth].flat()[0];
  if (Number.isFinite(centre) && width > 0) return { centre, width };
  if (image && Number.isFinite(image.minPixelValue) && image.maxPixelValue > image.minPixelValue) {
    return {
      centre: (image.maxPixelValue + image.minPixelValue) / 2,
      width: image.maxPixelValue - image.minPixelValue,
    };
  }
  return null;
}

/** The VOI range ({lower, upper}) of preset `name` for a stored window. */
export function presetRange(name, stored) {
  const preset = PRESETS[name];
  const centre = stored.centre + preset.centre * stored.width;
  const width = Math.max(1, preset.width * stored.width);
  return { lower: centre - width / 2, upper: centre + width / 2 };
}

const CINE_INTERVAL_MS = 100; // about 10 frames per second

/**
 * Mount a stack viewport on `element`.
 * Callbacks (each optional): onImageChange(index), onImageRendered(index, imageId),
 * onLoadError(index, message).
 */
export function createViewer(element, { onImageChange, onImageRendered, onLoadError } = {}) {
  initCornerstone();
  const suffix = viewerCount ? `-${viewerCount + 1}` : "";
  viewerCount += 1;
  const engineId = `dachs-engine${suffix}`;
  const viewportId = `dachs-stack${suffix}`;
  const toolGroupId = `dachs-tools${suffix}`;
  const engine = new RenderingEngine(engineId);
  engine.enableElement({
    viewportId,
    type: CoreEnums.ViewportType.STACK,
    element,
    defaultOptions: { background: [0, 0, 0] },
  });
  const viewport = engine.getViewport(viewportId);

  const toolGroup = ToolGroupManager.createToolGroup(toolGroupId);
  for (const tool of [WindowLevelTool, StackScrollTool, ZoomTool, PanTool]) toolGroup.addTool(tool.toolName);
  const primary = { bindings: [{ mouseButton: MouseBindings.Primary }] };
  toolGroup.setToolActive(WindowLevelTool.toolName, primary);
  toolGroup.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  toolGroup.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  toolGroup.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  toolGroup.addViewport(viewportId, engineId);

  // Right-drag zooms, so the browser's context menu must not open over the image.
  element.addEventListener("contextmenu", (event) => event.preventDefault());

  // The heatmap: an image stretched over the slice's pixel grid, drawn on a canvas above the
  // viewport and redrawn whenever the image moves (zoom, pan, scroll, resize).
  const overlay = document.createElement("canvas");
  overlay.className = "heatmap-overlay";
  overlay.setAttribute("aria-hidden", "true");
  element.appendChild(overlay);
  let heat = null; // {imageId, image, columns, rows} or null
  let marked = null; // {imageId, boxes: [{x, y, width, height, finding}], labelFor} or null
  const overlays = createOverlays(element);
  const errorPanel = createErrorPanel(element);
  const cameraListeners = new Set();

  // A rectangle given in image pixels ((0, 0) the top-left corner of the top-left pixel) on the canvas.
  function canvasRect(imageId, x, y, width, height) {
    const [x0, y0] = viewport.worldToCanvas(coreUtilities.imageToWorldCoords(imageId, [x, y]));
    const [x1, y1] = viewport.worldToCanvas(coreUtilities.imageToWorldCoords(imageId, [x + width, y + height]));
    return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
  }

  function drawOverlay() {
    const width = element.clientWidth;
    const height = element.clientHeight;
    if (overlay.width !== width || overlay.height !== height) {
      overlay.width = width;
      overlay.height = height;
    }
    const context = overlay.getContext("2d");
    context.clearRect(0, 0, width, height);
    if (heat && shownImageId === heat.imageId) {
      context.imageSmoothingEnabled = true;
      context.drawImage(heat.image, ...canvasRect(heat.imageId, 0, 0, heat.columns, heat.rows));
    }
    if (marked && shownImageId === marked.imageId) {
      context.lineWidth = 2;
      context.font = "12px system-ui, sans-serif";
      for (const box of marked.boxes) {
        const [x, y, w, h] = canvasRect(marked.imageId, box.x, box.y, box.width, box.height);
        context.strokeStyle = "#00e5ff";
        context.strokeRect(x, y, w, h);
        context.fillStyle = "#00e5ff";
        context.fillText(marked.labelFor ? marked.labelFor(box.finding) : box.finding, x + 2, y - 4);
      }
    }
  }

  let imageIds = [];
  // The imageId whose pixels were last handed to the viewport; IMAGE_RENDERED alone is not
  // proof, because the viewport also renders its empty background while an image loads.
  let shownImageId = null;
  const failures = new Map(); // imageId -> what went wrong, reported once
  let cineTimer = null;

  /** Redraw everything that sits on the image and tell the listeners the view moved. */
  function refresh() {
    drawOverlay();
    const index = imageIds.indexOf(shownImageId);
    overlays.update({ viewport, imageId: shownImageId, index, count: imageIds.length });
    for (const listener of cameraListeners) {
      try {
        listener();
      } catch (error) {
        console.error(error); // one broken layer must not stop the others from following the image
      }
    }
  }

  new ResizeObserver(() => {
    engine.resize(true, true);
    if (shownImageId !== null) refresh();
  }).observe(element);

  element.addEventListener(Events.STACK_NEW_IMAGE, (event) => {
    shownImageId = event.detail.imageId;
    onImageChange?.(event.detail.imageIdIndex);
  });
  element.addEventListener(Events.IMAGE_RENDERED, () => {
    if (shownImageId === null) return;
    refresh();
    const index = imageIds.indexOf(shownImageId);
    if (index >= 0 && viewport.getCurrentImageIdIndex() === index) {
      // The slice asked for is on screen, so an error shown for it (or before it) is over.
      if (errorPanel.shown) errorPanel.hide();
      onImageRendered?.(index, shownImageId);
    }
  });

  // Load the slice asked for again, from the server rather than from a failed cache entry.
  async function reload() {
    const index = viewport.getCurrentImageIdIndex();
    const imageId = imageIds[index];
    if (!imageId) return;
    failures.delete(imageId);
    try {
      cache.removeImageLoadObject(imageId, { force: true });
    } catch {
      // not cached: a failed load usually leaves nothing behind
    }
    errorPanel.hide();
    shownImageId = null;
    await viewport.setStack(imageIds, index).catch(() => {}); // failures arrive as events
    viewport.render();
  }

  // A failed load can leave an empty viewport without any exception reaching our code.
  const reportFailure = (event) => {
    const { imageId, error } = event.detail || {};
    const index = imageIds.indexOf(imageId);
    if (index < 0 || failures.has(imageId)) return;
    const message = describeLoadError(error);
    failures.set(imageId, message);
    // Only the slice asked for covers the viewport; a neighbour that failed in the background
    // is reported to the page, and shows its error when the vet scrolls to it.
    if (index === viewport.getCurrentImageIdIndex()) {
      errorPanel.show(`Could not load slice ${index + 1} / ${imageIds.length}: ${message}`, reload);
    }
    onLoadError?.(index, message);
  };
  eventTarget.addEventListener(Events.IMAGE_LOAD_FAILED, reportFailure);
  eventTarget.addEventListener(Events.IMAGE_LOAD_ERROR, reportFailure);

  // A slice that failed before shows its error again whenever the vet comes back to it.
  function showKnownFailure(index) {
    const message = failures.get(imageIds[index]);
    if (message) errorPanel.show(`Could not load slice ${index + 1} / ${imageIds.length}: ${message}`, reload);
  }
  element.addEventListener(Events.STACK_VIEWPORT_SCROLL, (event) => showKnownFailure(event.detail.newImageIdIndex));

  function goTo(index) {
    if (index < 0 || index >= imageIds.length) return;
    viewport.setImageIdIndex(index).catch(() => {}); // failures arrive as IMAGE_LOAD_FAILED
    showKnownFailure(index);
  }

  function stopCine() {
    if (cineTimer === null) return;
    clearInterval(cineTimer);
    cineTimer = null;
    element.dataset.cine = "stopped";
  }

  const render = () => viewport.render();

  return {
    /** The viewport element (overlay layers of other modules go inside it). */
    element,
    /** Show a series, starting at `index`. Resolves once the stack is set (not necessarily drawn). */
    async showStack(newImageIds, index) {
      stopCine();
      errorPanel.hide();
      toolUtilities.stackPrefetch.disable(element);
      imageIds = newImageIds;
      shownImageId = null;
      failures.clear();
      await viewport.setStack(newImageIds, index);
      viewport.resetCamera();
      viewport.render();
      // Fetch the rest of the series in the background so wheel scrolling is instant.
      toolUtilities.stackPrefetch.enable(element);
    },
    goTo,
    currentIndex() {
      return viewport.getCurrentImageIdIndex();
    },
    imageCount() {
      return imageIds.length;
    },
    /** The imageId on screen, or null while none is. */
    currentImageId() {
      return shownImageId;
    },
    /** Lay `image` (an HTMLImageElement) over the slice `imageId` of `columns` × `rows`
     * pixels, or clear the overlay with null. */
    setOverlay(value) {
      heat = value;
      element.dataset.heatmap = value ? "shown" : "hidden";
      drawOverlay();
    },
    /** Outline `boxes` ([{x, y, width, height, finding}] in image pixels) on the slice
     * `imageId`, captioned with `labelFor(finding)`; null clears them. */
    setBoxes(value) {
      marked = value && value.boxes.length ? value : null;
      element.dataset.boxes = String(marked ? marked.boxes.length : 0);
      drawOverlay();
    },

    /** Image pixel (x, y), (0, 0) the top-left corner of the top-left pixel, to CSS pixels
     * relative to the viewport element; null while no image is on screen. */
    imageToCanvas(x, y) {
      if (!shownImageId || !metaData.get("imagePlaneModule", shownImageId)?.imagePositionPatient) return null;
      return viewport.worldToCanvas(coreUtilities.imageToWorldCoords(shownImageId, [x, y]));
    },
    /** The inverse of imageToCanvas (the result may lie outside the image). */
    canvasToImage(cx, cy) {
      if (!shownImageId || !metaData.get("imagePlaneModule", shownImageId)?.imagePositionPatient) return null;
      return coreUtilities.worldToImageCoords(shownImageId, viewport.canvasToWorld([cx, cy]));
    },
    /** Call `callback()` after every render (zoom, pan, scroll, W/L, resize); returns an
     * unsubscribe function. */
    onCameraChange(callback) {
      cameraListeners.add(callback);
      return () => cameraListeners.delete(callback);
    },
    /** Series facts for the on-image text: {description, plane, sequence}. */
    setInfo(info) {
      overlays.setInfo(info);
    },

    /** "T1W", "T2W" (see PRESETS) or "default" (the image's stored window, invert kept). */
    setPreset(name) {
      if (!imageIds.length) return;
      if (name === "default") {
        const { invert } = viewport.getProperties();
        viewport.resetProperties();
        viewport.setProperties({ invert });
      } else if (PRESETS[name]) {
        const stored = storedWindow(viewport.getCurrentImageId(), viewport.getCornerstoneImage?.());
        if (!stored) return;
        viewport.setProperties({ voiRange: presetRange(name, stored) });
      } else {
        return;
      }
      element.dataset.preset = name;
      render();
    },
    toggleInvert() {
      if (!imageIds.length) return;
      viewport.setProperties({ invert: !viewport.getProperties().invert });
      render();
    },
    /** Fit the image, the stored window, no inversion. */
    resetView() {
      if (!imageIds.length) return;
      viewport.resetCamera();
      viewport.resetProperties();
      element.dataset.preset = "default";
      render();
    },
    /** Zoom about the centre of the viewport: factor 1.25 magnifies by a quarter. */
    zoomBy(factor) {
      if (!imageIds.length || !(factor > 0)) return;
      viewport.setZoom(viewport.getZoom() * factor);
      render();
    },
    /** Move the image by (dx, dy) CSS pixels, as a middle-drag would. */
    panBy(dx, dy) {
      if (!imageIds.length) return;
      const from = viewport.canvasToWorld([0, 0]);
      const to = viewport.canvasToWorld([dx, dy]);
      const shift = [0, 1, 2].map((axis) => from[axis] - to[axis]);
      const { focalPoint, position } = viewport.getCamera();
      viewport.setCamera({
        focalPoint: focalPoint.map((value, axis) => value + shift[axis]),
        position: position.map((value, axis) => value + shift[axis]),
      });
      render();
    },
    /** Play through the stack at about 10 fps, or stop; returns whether it now plays. */
    toggleCine() {
      if (cineTimer !== null) {
        stopCine();
        return false;
      }
      if (imageIds.length < 2) return false;
      cineTimer = setInterval(() => goTo((viewport.getCurrentImageIdIndex() + 1) % imageIds.length), CINE_INTERVAL_MS);
      element.dataset.cine = "playing";
      return true;
    },
    stopCine,
    cinePlaying() {
      return cineTimer !== null;
    },
    /** While false, left-drag is free for another tool (the box editor); W/L stays on keys. */
    setPrimaryToolEnabled(enabled) {
      if (enabled) toolGroup.setToolActive(WindowLevelTool.toolName, primary);
      else toolGroup.setToolPassive(WindowLevelTool.toolName);
      element.dataset.primaryTool = enabled ? "window-level" : "off";
    },
    /** Cover the viewport with `message` and a Retry button that calls `onRetry` (default:
     * load the slice asked for again). */
    showLoadError(message, onRetry) {
      errorPanel.show(message, onRetry || reload);
    },
    clearLoadError() {
      errorPanel.hide();
    },
    reload,
    /** The DICOM geometry of slice `index` once its header is loaded, else null. */
    imagePlane(index) {
      return planeOf(imageIds[index]);
    },
    /** imagePlane, loading the slice's file first when needed; resolves to null on failure. */
    async loadImagePlane(index) {
      const imageId = imageIds[index];
      if (!imageId) return null;
      if (!planeOf(imageId)) await imageLoader.loadAndCacheImage(imageId).catch(() => null);
      return planeOf(imageId);
    },
    /** Release the viewport, its WebGL context and its listeners. */
    destroy() {
      stopCine();
      eventTarget.removeEventListener(Events.IMAGE_LOAD_FAILED, reportFailure);
      eventTarget.removeEventListener(Events.IMAGE_LOAD_ERROR, reportFailure);
      toolUtilities.stackPrefetch.disable(element);
      ToolGroupManager.destroyToolGroup(toolGroupId);
      engine.destroy();
      cameraListeners.clear();
    },
  };
}

function planeOf(imageId) {
  const plane = imageId ? metaData.get("imagePlaneModule", imageId) : null;
  if (!plane || !plane.imagePositionPatient || !plane.rowCosines || !plane.columnCosines) return null;
  return {
    imagePositionPatient: plane.imagePositionPatient,
    rowCosines: plane.rowCosines,
    columnCosines: plane.columnCosines,
    // DICOM order: [spacing between rows, spacing between columns], mm.
    pixelSpacing: plane.pixelSpacing || [plane.rowPixelSpacing, plane.columnPixelSpacing],
    rows: plane.rows,
    columns: plane.columns,
  };
}

/** The visible "could not load" message with a Retry button, inside the viewport element. */
function createErrorPanel(element) {
  const panel = document.createElement("div");
  panel.className = "viewer-error";
  panel.setAttribute("role", "alert");
  panel.hidden = true;
  const text = document.createElement("p");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Retry";
  panel.append(text, button);
  element.appendChild(panel);
  let retry = null;
  button.addEventListener("click", () => {
    const action = retry;
    hide();
    action?.();
  });
  function hide() {
    panel.hidden = true;
    retry = null;
    element.dataset.loadError = "none";
  }
  return {
    get shown() {
      return !panel.hidden;
    },
    show(message, onRetry) {
      text.textContent = message;
      retry = onRetry;
      panel.hidden = false;
      element.dataset.loadError = "shown";
    },
    hide,
  };
}
