// One Cornerstone3D StackViewport showing a series of DICOM slices (WADO-URI).
import {
  Enums as CoreEnums,
  RenderingEngine,
  eventTarget,
  init as coreInit,
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

const ENGINE_ID = "dachs-engine";
const VIEWPORT_ID = "dachs-stack";
const TOOL_GROUP_ID = "dachs-tools";
const { Events } = CoreEnums;
const { MouseBindings } = ToolEnums;

let initialised = false;

function initCornerstone() {
  if (initialised) return;
  // A single viewport needs a single WebGL context (the default pool holds seven).
  coreInit({ rendering: { webGlContextCount: 1 } });
  dicomImageLoaderInit({ maxWebWorkers: Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1)) });
  toolsInit();
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
 * Mount a stack viewport on `element`.
 * Callbacks: onImageChange(index), onImageRendered(index, imageId), onLoadError(index, message).
 */
export function createViewer(element, { onImageChange, onImageRendered, onLoadError }) {
  initCornerstone();
  const engine = new RenderingEngine(ENGINE_ID);
  engine.enableElement({
    viewportId: VIEWPORT_ID,
    type: CoreEnums.ViewportType.STACK,
    element,
    defaultOptions: { background: [0, 0, 0] },
  });
  const viewport = engine.getViewport(VIEWPORT_ID);

  const toolGroup = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  for (const tool of [WindowLevelTool, StackScrollTool, ZoomTool, PanTool]) toolGroup.addTool(tool.toolName);
  toolGroup.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  toolGroup.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  toolGroup.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  toolGroup.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  toolGroup.addViewport(VIEWPORT_ID, ENGINE_ID);

  // Right-drag zooms, so the browser's context menu must not open over the image.
  element.addEventListener("contextmenu", (event) => event.preventDefault());
  new ResizeObserver(() => engine.resize(true, true)).observe(element);

  // The heatmap: an image stretched over the slice's pixel grid, drawn on a canvas above the
  // viewport and redrawn whenever the image moves (zoom, pan, scroll, resize).
  const overlay = document.createElement("canvas");
  overlay.className = "heatmap-overlay";
  overlay.setAttribute("aria-hidden", "true");
  element.appendChild(overlay);
  let heat = null; // {imageId, image, columns, rows} or null
  let marked = null; // {imageId, boxes: [{x, y, width, height, finding}], labelFor} or null

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
  const reportedFailures = new Set();

  element.addEventListener(Events.STACK_NEW_IMAGE, (event) => {
    shownImageId = event.detail.imageId;
    onImageChange(event.detail.imageIdIndex);
  });
  element.addEventListener(Events.IMAGE_RENDERED, () => {
    if (shownImageId === null) return;
    drawOverlay();
    const index = imageIds.indexOf(shownImageId);
    if (index >= 0 && viewport.getCurrentImageIdIndex() === index) onImageRendered(index, shownImageId);
  });

  // A failed load can leave an empty viewport without any exception reaching our code.
  const reportFailure = (event) => {
    const { imageId, error } = event.detail || {};
    const index = imageIds.indexOf(imageId);
    if (index < 0 || reportedFailures.has(imageId)) return;
    reportedFailures.add(imageId);
    onLoadError(index, describeLoadError(error));
  };
  eventTarget.addEventListener(Events.IMAGE_LOAD_FAILED, reportFailure);
  eventTarget.addEventListener(Events.IMAGE_LOAD_ERROR, reportFailure);

  return {
    /** Show a series, starting at `index`. Resolves once the stack is set (not necessarily drawn). */
    async showStack(newImageIds, index) {
      toolUtilities.stackPrefetch.disable(element);
      imageIds = newImageIds;
      shownImageId = null;
      reportedFailures.clear();
      await viewport.setStack(newImageIds, index);
      viewport.resetCamera();
      viewport.render();
      // Fetch the rest of the series in the background so wheel scrolling is instant.
      toolUtilities.stackPrefetch.enable(element);
    },
    goTo(index) {
      if (index < 0 || index >= imageIds.length) return;
      viewport.setImageIdIndex(index).catch(() => {}); // failures arrive as IMAGE_LOAD_FAILED
    },
    currentIndex() {
      return viewport.getCurrentImageIdIndex();
    },
    imageCount() {
      return imageIds.length;
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
  };
}
