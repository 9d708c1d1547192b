// The other plane beside the slice to label: a transverse slice is read against the study's
// sagittal series, with a reference line where the transverse plane cuts the sagittal image
// (how vets localise a lesion to a disc space). `v` puts the other weighting of the main
// series on the main viewer at the same position.
//
// The side viewport has a rendering engine (hence a WebGL context) of its own, so it neither
// shares nor disturbs the main viewer's; Cornerstone is initialised by viewer.js first.
import "./sidebyside.css";
import { Enums as CoreEnums, RenderingEngine, eventTarget, metaData } from "@cornerstonejs/core";
import {
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
} from "@cornerstonejs/tools";
import { getJson } from "./api.js";
import { centreOf, imageToPatient, nearestSlice, planeOf, positionAlong, referenceLine } from "./geometry.js";
import { describeLoadError, imageIdFor } from "./viewer.js";

const ENGINE_ID = "dachs-side-engine";
const VIEWPORT_ID = "dachs-side";
const TOOL_GROUP_ID = "dachs-side-tools";
const { Events } = CoreEnums;
const { MouseBindings } = ToolEnums;
const OTHER_PLANE = { transverse: "sagittal", sagittal: "transverse" };
const OTHER_WEIGHTING = { T1W: "T2W", T2W: "T1W" };
const LINE_COLOUR = "#f2b705"; // the target's colour: the line is where the slice to label lies

const round1 = (value) => Math.round(value * 10) / 10;
const capitalised = (word) => (word ? word[0].toUpperCase() + word.slice(1) : "");
const planeFor = (imageId) => (imageId ? planeOf(metaData.get("imagePlaneModule", imageId)) : null);

/** The study-series URL of a claimed slice: its DICOM URL's sibling. */
function studySeriesUrl(claim) {
  return claim.slice.dicom_url.replace(/dicom\/?$/, "study-series/");
}

/**
 * Mount the side viewer in `container`. `mainViewer` (optional, the main viewer's object) lets
 * the reference line be drawn on the main image when the main image is the sagittal one.
 * (It only reads, so the page's CSRF token, passed as `csrfToken`, is not needed.)
 */
export function createSideBySide(container, { mainViewer = null } = {}) {
  container.classList.add("side-by-side");
  container.innerHTML = `
    <div class="side-frame">
      <div class="side-viewport"></div>
      <canvas class="reference-line" aria-hidden="true"></canvas>
      <p class="side-caption"></p>
    </div>
    <p class="side-message" role="status" hidden><span></span> <button type="button" hidden>Retry</button></p>`;
  const caption = container.querySelector(".side-caption");
  const element = container.querySelector(".side-viewport");
  const sideCanvas = container.querySelector(".reference-line");
  const message = container.querySelector(".side-message");
  const retryButton = message.querySelector("button");
  let mainCanvas = null; // created on the main viewer only when the main image is sagittal

  const studies = new Map(); // claimed series id -> Promise of the study's series
  const state = {
    token: 0, // bumped by show/clear so a late answer for an earlier claim is dropped
    study: null,
    mainSeries: null,
    mainIndex: -1,
    sideSeries: null,
    sideImageIds: [],
    placed: false, // the side slice has been chosen from the main slice's geometry
    retry: null,
  };
  let engine = null;
  let viewport = null;

  function ensureViewport() {
    if (viewport) return viewport;
    engine = new RenderingEngine(ENGINE_ID);
    engine.enableElement({
      viewportId: VIEWPORT_ID,
      type: CoreEnums.ViewportType.STACK,
      element,
      defaultOptions: { background: [0, 0, 0] },
    });
    viewport = engine.getViewport(VIEWPORT_ID);
    const tools = [WindowLevelTool, StackScrollTool, ZoomTool, PanTool];
    for (const tool of tools) addTool(tool); // a no-op for tools viewer.js already added
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
    for (const tool of tools) group.addTool(tool.toolName);
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    group.addViewport(VIEWPORT_ID, ENGINE_ID);
    element.addEventListener("contextmenu", (event) => event.preventDefault());
    new ResizeObserver(() => engine.resize(true, true)).observe(element);
    element.addEventListener(Events.STACK_NEW_IMAGE, () => {
      renderCaption();
      update();
    });
    element.addEventListener(Events.IMAGE_RENDERED, () => {
      container.dataset.sideRendered = String(viewport.getCurrentImageIdIndex());
      update();
    });
    return viewport;
  }

  // Geometry comes from the DICOM headers, known once an image has loaded: redraw then.
  eventTarget.addEventListener(Events.IMAGE_LOADED, (event) => {
    const imageId = event.detail?.image?.imageId;
    if (imageId && (imageId === mainImageId() || imageId === sideImageId())) update();
  });
  const reportFailure = (event) => {
    const { imageId, error } = event.detail || {};
    if (!imageId || imageId !== sideImageId()) return;
    const plane = state.sideSeries?.plane ?? "side";
    setMessage(`The ${plane} image could not be loaded: ${describeLoadError(error)}`, () => reloadSide());
  };
  eventTarget.addEventListener(Events.IMAGE_LOAD_FAILED, reportFailure);
  eventTarget.addEventListener(Events.IMAGE_LOAD_ERROR, reportFailure);
  retryButton.addEventListener("click", () => state.retry?.());
  if (mainViewer?.onCameraChange) mainViewer.onCameraChange(() => update());

  function setMessage(text, retry = null) {
    message.querySelector("span").textContent = text;
    message.hidden = !text;
    state.retry = retry;
    retryButton.hidden = !retry;
  }

  function mainImageId() {
    const slice = state.mainSeries?.slices[state.mainIndex];
    return slice ? imageIdFor(slice.dicom_url) : null;
  }

  function sideImageId() {
    return viewport && state.sideImageIds.length ? state.sideImageIds[viewport.getCurrentImageIdIndex()] : null;
  }

  function renderCaption() {
    const series = state.sideSeries;
    if (!series) {
      caption.textContent = "";
      return;
    }
    const index = viewport ? viewport.getCurrentImageIdIndex() : 0;
    const name = series.description ? ` · ${series.description}` : "";
    caption.textContent = `${capitalised(series.plane)} ${series.sequence}${name} · ${index + 1} / ${series.slices.length}`;
  }

  /** The series to show beside `main`: the other plane, the same weighting when there is one. */
  function sideSeriesFor(main) {
    const plane = OTHER_PLANE[main.plane] ?? "sagittal";
    const candidates = state.study.series.filter((s) => s.plane === plane && s.slices.length);
    return candidates.find((s) => s.sequence === main.sequence) ?? candidates[0] ?? null;
  }

  async function showSide(series, index, token) {
    if (!series) {
      state.sideSeries = null;
      state.sideImageIds = [];
      caption.textContent = "";
      container.dataset.sideSeries = "";
      setMessage(`This study has no ${OTHER_PLANE[state.mainSeries.plane] ?? "sagittal"} series to show beside it.`);
      update();
      return;
    }
    ensureViewport();
    if (state.sideSeries?.id === series.id) {
      if (index !== viewport.getCurrentImageIdIndex()) viewport.setImageIdIndex(index).catch(() => {});
      update();
      return;
    }
    state.sideSeries = series;
    state.sideImageIds = series.slices.map((s) => imageIdFor(s.dicom_url));
    container.dataset.sideSeries = String(series.id);
    delete container.dataset.sideRendered;
    await viewport.setStack(state.sideImageIds, index).catch(() => {}); // failures arrive as events
    if (token !== state.token) return;
    viewport.resetCamera();
    viewport.render();
    renderCaption();
  }

  function reloadSide() {
    const series = state.sideSeries;
    const index = viewport ? viewport.getCurrentImageIdIndex() : 0;
    setMessage("");
    state.sideSeries = null;
    showSide(series, index, state.token);
  }

  /** Put the sagittal slice nearest the transverse slice's centre beside it, once per claim. */
  function placeSide() {
    if (state.placed || state.sideSeries?.plane !== "sagittal") return;
    const main = planeFor(mainImageId());
    const side = planeFor(sideImageId());
    if (!main || !side) return;
    state.placed = true;
    const position = positionAlong(side, centreOf(main));
    const index = nearestSlice(
      state.sideSeries.slices.map((s) => s.position_mm),
      position,
    );
    if (index >= 0 && index !== viewport.getCurrentImageIdIndex()) viewport.setImageIdIndex(index).catch(() => {});
  }

  /** Recompute and redraw the reference line; exposes it in data-* for tests and tooling. */
  function update() {
    placeSide();
    const main = planeFor(mainImageId());
    const side = planeFor(sideImageId());
    let line = null;
    let on = "none";
    if (state.sideSeries?.plane === "sagittal") {
      line = referenceLine(main, side);
      on = line ? "side" : "none";
    } else if (state.mainSeries?.plane === "sagittal") {
      line = referenceLine(side, main);
      on = line && mainViewer?.imageToCanvas ? "main" : "none";
    }
    const sideEnds = on === "side" ? line.start.concat(line.end) : null;
    drawSide(sideEnds && [...toSideCanvas(side, line.start), ...toSideCanvas(side, line.end)]);
    drawMain(on === "main" ? [...mainViewer.imageToCanvas(...line.start), ...mainViewer.imageToCanvas(...line.end)] : null);
    if (line) {
      container.dataset.line = [...line.start, ...line.end].map(round1).join(" ");
      container.dataset.lineOn = on;
    } else {
      delete container.dataset.line;
      container.dataset.lineOn = "none";
    }
  }

  function toSideCanvas(plane, point) {
    return viewport.worldToCanvas(imageToPatient(plane, point));
  }

  function drawSide(ends) {
    paint(sideCanvas, element, ends);
    if (ends) container.dataset.lineCanvas = ends.map(round1).join(" ");
    else delete container.dataset.lineCanvas;
  }

  function drawMain(ends) {
    if (!ends && !mainCanvas) return;
    if (!mainCanvas) {
      mainCanvas = document.createElement("canvas");
      mainCanvas.className = "reference-line";
      mainCanvas.setAttribute("aria-hidden", "true");
      mainViewer.element.appendChild(mainCanvas);
    }
    paint(mainCanvas, mainViewer.element, ends);
  }

  /** Draw the segment [x0, y0, x1, y1] (CSS pixels) on `canvas` sized to `over`, or clear it. */
  function paint(canvas, over, ends) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(over.clientWidth * ratio);
    const height = Math.round(over.clientHeight * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, width, height);
    if (!ends) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.strokeStyle = LINE_COLOUR;
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(ends[0], ends[1]);
    context.lineTo(ends[2], ends[3]);
    context.stroke();
  }

  function studyFor(claim) {
    const key = claim.series.id;
    if (!studies.has(key)) {
      const request = getJson(studySeriesUrl(claim));
      request.catch(() => studies.delete(key)); // ask again next time rather than keep a failure
      studies.set(key, request);
    }
    return studies.get(key);
  }

  /** Which series of the study shows `imageId`, and where, or null. */
  function locate(imageId) {
    for (const series of state.study?.series ?? []) {
      const index = series.slices.findIndex((s) => imageIdFor(s.dicom_url) === imageId);
      if (index >= 0) return { series, index };
    }
    return null;
  }

  return {
    /** Show the other plane for a new claim (call it once the target is on screen). */
    async show(claim) {
      const token = ++state.token;
      container.classList.add("stale");
      setMessage("");
      let study;
      try {
        study = await studyFor(claim);
      } catch (error) {
        if (token === state.token) setMessage(`Could not load this study's other series: ${error.message}`, () => this.show(claim));
        return;
      }
      if (token !== state.token) return;
      container.classList.remove("stale");
      state.study = study;
      state.mainSeries = study.series.find((s) => s.id === claim.series.id) ?? claim.series;
      const byId = state.mainSeries.slices.findIndex((s) => s.id === claim.slice.id);
      state.mainIndex = byId >= 0 ? byId : claim.slice.index;
      state.placed = false;
      const side = sideSeriesFor(state.mainSeries);
      const keep = side && state.sideSeries?.id === side.id ? viewport.getCurrentImageIdIndex() : null;
      await showSide(side, keep ?? Math.floor((side?.slices.length ?? 0) / 2), token);
      if (token === state.token) update();
    },

    /** Forget the claim: no line until the next show(). */
    clear() {
      state.token++;
      state.mainSeries = null;
      state.mainIndex = -1;
      setMessage("");
      container.classList.add("stale");
      update();
    },

    /** The main viewer moved to slice `index` (of the series with `imageId`, when given). */
    onMainImageChange(index, imageId) {
      const found = imageId ? locate(imageId) : null;
      if (found) {
        state.mainSeries = found.series;
        state.mainIndex = found.index;
      } else {
        state.mainIndex = index;
      }
      update();
    },

    /**
     * The main series' other weighting (T1W <-> T2W) at the slice nearest the one shown, as
     * {imageIds, index, seriesId} for the main viewer, or null when the study has none.
     * The side viewer follows to the same weighting.
     */
    toggleOtherWeighting() {
      const main = state.mainSeries;
      if (!state.study || !main) return null;
      const other = state.study.series.find(
        (s) => s.plane === main.plane && s.sequence === OTHER_WEIGHTING[main.sequence] && s.slices.length,
      );
      if (!other) return null;
      // Both weightings of a plane are planned on the same stack, so their positions along the
      // normal (mm) compare directly; without positions fall back to the same fraction of it.
      const here = main.slices[state.mainIndex]?.position_mm;
      let index = here == null ? -1 : nearestSlice(other.slices.map((s) => s.position_mm), here);
      if (index < 0) {
        const fraction = state.mainIndex / Math.max(1, main.slices.length - 1);
        index = Math.round(fraction * (other.slices.length - 1));
      }
      state.mainSeries = other;
      state.mainIndex = index;
      const side = sideSeriesFor(other);
      if (side && state.sideSeries && side.id !== state.sideSeries.id) {
        const position = state.sideSeries.slices[viewport.getCurrentImageIdIndex()]?.position_mm;
        const sideIndex = position == null ? -1 : nearestSlice(side.slices.map((s) => s.position_mm), position);
        showSide(side, sideIndex >= 0 ? sideIndex : Math.floor(side.slices.length / 2), state.token);
      }
      update();
      return { imageIds: other.slices.map((s) => imageIdFor(s.dicom_url)), index, seriesId: other.id };
    },
  };
}
