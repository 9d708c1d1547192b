// The text and marks a radiologist expects on an MR image: window/level, slice number and
// position, series, orientation letters on the four edges and a scale bar. Plain DOM above the
// viewport (no pointer events), refreshed after every render; each write is skipped when the
// text is unchanged, so a render costs a few property reads.
import { metaData } from "@cornerstonejs/core";

// Patient axes as the DICOM geometry states them. With AnatomicalOrientationType QUADRUPED,
// +x is the animal's left, +y dorsal, +z cranial. A dog scanned with human (BIPED) labels
// lies head first and prone, so posterior is its back and superior its head: the same letters.
const AXIS_LETTERS = [
  ["L", "R"],
  ["D", "V"],
  ["Cr", "Cd"],
];
const AXIS_NAMES = { L: "left", R: "right", D: "dorsal", V: "ventral", Cr: "cranial", Cd: "caudal" };
// An edge pointing 15° or more away from an axis names the second axis too ("CrD").
const OBLIQUE = Math.sin((15 * Math.PI) / 180);
const SCALE_STEPS_MM = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** The orientation letters of a patient-space direction, strongest axis first ("" if none). */
export function directionLetters(vector) {
  const length = Math.hypot(...vector);
  if (!length) return "";
  return vector
    .map((value, axis) => ({ axis, value: value / length }))
    .filter(({ value }) => Math.abs(value) >= OBLIQUE)
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
    .map(({ axis, value }) => AXIS_LETTERS[axis][value > 0 ? 0 : 1])
    .join("");
}

const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const minus = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const format = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const capitalise = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");

function node(parent, className, tag = "div") {
  const element = document.createElement(tag);
  element.className = className;
  parent.appendChild(element);
  return element;
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** Mount the overlays on the viewport `element`; `update(view)` redraws them. */
export function createOverlays(element) {
  const root = node(element, "viewer-overlays");
  root.setAttribute("aria-hidden", "true");
  const series = node(root, "ov-corner ov-top-right");
  const description = node(series, "ov-description");
  const planeLine = node(series, "ov-plane");
  const where = node(root, "ov-corner ov-bottom-left");
  const sliceLine = node(where, "ov-slice");
  const positionLine = node(where, "ov-position");
  const display = node(root, "ov-corner ov-bottom-right");
  const scale = node(display, "ov-scale");
  const scaleBar = node(scale, "ov-scale-bar");
  const scaleLabel = node(scale, "ov-scale-label", "span");
  const windowLine = node(display, "ov-wl");
  const zoomLine = node(display, "ov-zoom");
  const edges = {};
  for (const edge of ["top", "right", "bottom", "left"]) {
    edges[edge] = node(root, `ov-orient ov-orient-${edge}`);
    edges[edge].dataset.edge = edge;
  }
  let info = {};

  function updateOrientation(viewport, plane) {
    // Where one canvas pixel step to the right and down goes in patient space: this follows
    // any flip or rotation of the camera, not only the DICOM cosines.
    const { width, height } = viewport.canvas.getBoundingClientRect();
    const centre = [width / 2, height / 2];
    let right = null;
    let down = null;
    if (plane && width && height) {
      const origin = viewport.canvasToWorld(centre);
      right = minus(viewport.canvasToWorld([centre[0] + 1, centre[1]]), origin);
      down = minus(viewport.canvasToWorld([centre[0], centre[1] + 1]), origin);
    }
    const letters = {
      right: right ? directionLetters(right) : "",
      left: right ? directionLetters(right.map((v) => -v)) : "",
      bottom: down ? directionLetters(down) : "",
      top: down ? directionLetters(down.map((v) => -v)) : "",
    };
    for (const [edge, text] of Object.entries(letters)) {
      setText(edges[edge], text);
      edges[edge].title = text
        .match(/Cr|Cd|[A-Z]/g)
        ?.map((letter) => AXIS_NAMES[letter])
        .join("-") ?? "";
    }
  }

  function updateScale(viewport, plane, width) {
    // Only a calibrated image gets a bar: without PixelSpacing one pixel is shown as 1 "mm".
    if (!plane || plane.usingDefaultValues || !width) {
      scale.hidden = true;
      return;
    }
    const mmPerPixel = Math.hypot(...minus(viewport.canvasToWorld([100, 0]), viewport.canvasToWorld([0, 0]))) / 100;
    if (!(mmPerPixel > 0)) {
      scale.hidden = true;
      return;
    }
    const fits = SCALE_STEPS_MM.filter((mm) => mm / mmPerPixel <= width / 4);
    const mm = fits.length ? fits[fits.length - 1] : SCALE_STEPS_MM[0];
    scale.hidden = false;
    scaleBar.style.width = `${Math.round(mm / mmPerPixel)}px`;
    setText(scaleLabel, `${mm} mm`);
    scale.dataset.mm = String(mm);
  }

  return {
    root,
    setInfo(value) {
      info = value || {};
      setText(description, info.description || "");
      setText(planeLine, [capitalise(info.plane), info.sequence].filter(Boolean).join(" · "));
    },
    /** view: {viewport, imageId, index, count}; nothing to show while no image is on screen. */
    update({ viewport, imageId, index, count }) {
      root.hidden = !imageId;
      if (!imageId) return;
      const plane = metaData.get("imagePlaneModule", imageId);
      const geometry = plane && plane.imagePositionPatient && plane.rowCosines && plane.columnCosines;
      setText(sliceLine, `Slice ${index + 1} / ${count}`);
      if (geometry) {
        // The slice's offset along its own normal: what scanners call the slice position.
        const normal = cross(plane.rowCosines, plane.columnCosines);
        setText(positionLine, `Pos ${format(dot(plane.imagePositionPatient, normal), 1)} mm`);
      } else {
        setText(positionLine, "");
      }
      const { voiRange, invert } = viewport.getProperties();
      if (voiRange) {
        const width = voiRange.upper - voiRange.lower;
        const centre = (voiRange.upper + voiRange.lower) / 2;
        setText(windowLine, `W ${format(width)} L ${format(centre)}${invert ? " · inverted" : ""}`);
        element.dataset.windowWidth = format(width);
        element.dataset.windowCentre = format(centre);
      }
      element.dataset.invert = invert ? "true" : "false";
      const zoom = viewport.getZoom();
      setText(zoomLine, `Zoom ${format(zoom * 100)} %`);
      element.dataset.zoom = zoom.toFixed(3);
      updateOrientation(viewport, geometry ? plane : null);
      updateScale(viewport, geometry ? plane : null, element.clientWidth);
    },
  };
}
