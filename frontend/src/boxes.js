// The lesion box tool: rectangles drawn on the slice to label, each tied to one finding and
// kept in image pixels ((0, 0) the top-left corner of the top-left pixel), so a stored box
// means the same tissue at any zoom, pan or window size.
//
// The boxes live on an SVG layer above the viewport and are redrawn whenever the camera moves.
// While box mode is on, the left button belongs to this tool (the viewer's window/level drag
// is switched off); the wheel, right and middle buttons still reach the viewer underneath.
import "./boxes.css";

const SVG = "http://www.w3.org/2000/svg";
// Within this many CSS pixels of a corner, a drag resizes instead of moving or drawing.
const HANDLE_REACH = 8;
// A press that moves less than this many CSS pixels is a click (select), not a drag.
const CLICK_SLOP = 3;
// Smaller boxes (in image pixels) are slips of the hand, not lesions.
const MIN_SIDE = 1;
// A box marks a lesion; "unremarkable" has none, and the label API refuses a box for it.
const NO_BOX_FINDINGS = new Set(["unremarkable"]);

const round1 = (value) => Math.round(value * 10) / 10;
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

/**
 * A box on an image of `columns` × `rows` pixels: rounded to 0.1 px and clipped so that
 * x + width and y + height never exceed the image (the server compares exactly that).
 * Returns null when nothing of at least MIN_SIDE is left.
 */
export function tidyBox(box, columns, rows) {
  const side = (start, length, limit) => {
    const low = clamp(round1(Math.min(start, start + length)), 0, limit);
    const high = clamp(round1(Math.max(start, start + length)), 0, limit);
    let size = round1(high - low);
    while (size > 0 && low + size > limit) size = round1(size - 0.1);
    return [low, size];
  };
  const [x, width] = side(box.x, box.width, columns);
  const [y, height] = side(box.y, box.height, rows);
  if (width < MIN_SIDE || height < MIN_SIDE) return null;
  return { finding: box.finding, x, y, width, height };
}

/** The rectangle spanned by two corners, in whatever space both are given. */
function spanned(finding, [ax, ay], [bx, by]) {
  return { finding, x: Math.min(ax, bx), y: Math.min(ay, by), width: Math.abs(bx - ax), height: Math.abs(by - ay) };
}

function corners(box) {
  const { x, y, width: w, height: h } = box;
  return [
    [x, y],
    [x + w, y],
    [x + w, y + h],
    [x, y + h],
  ];
}

function svgElement(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

const isTyping = (event) =>
  event.target instanceof Element && Boolean(event.target.closest("input, textarea, select, [contenteditable]"));

/**
 * Mount the box tool on `viewer` (from createViewer).
 * Options: onChange(boxes) after every edit by the user (draw, move, resize, delete);
 * labelFor(finding) for the caption; targetIndex() (optional) the index of the slice the
 * boxes belong to: they are shown and editable only while that slice is on screen.
 */
export function createBoxEditor(viewer, { onChange = () => {}, labelFor = (finding) => finding, targetIndex } = {}) {
  const element = viewer.element;
  const layer = svgElement("svg", { class: "box-layer", "aria-hidden": "true" });
  element.appendChild(layer);

  let boxes = []; // in image pixels, tidied
  let selected = -1;
  let enabled = false;
  let activeFinding = null;
  let drag = null; // {kind: "draw"|"move"|"resize", start: [cx, cy], ...} while the button is down
  let hint = "";
  let hintTimer = null;

  const onTarget = () => !targetIndex || viewer.currentIndex() === targetIndex();

  /** [columns, rows] of the image on screen, or null while none is (or it is still loading). */
  function imageSize() {
    const plane = viewer.imagePlane(viewer.currentIndex());
    if (!plane || !(plane.columns > 0 && plane.rows > 0) || !viewer.imageToCanvas(0, 0)) return null;
    return [plane.columns, plane.rows];
  }

  /** Mouse event → [canvas point, image point] (CSS pixels relative to the viewport element). */
  function pointsOf(event) {
    const bounds = element.getBoundingClientRect();
    const canvas = [event.clientX - bounds.left, event.clientY - bounds.top];
    return [canvas, viewer.canvasToImage(canvas[0], canvas[1])];
  }

  /** A box's on-screen rectangle: [left, top, width, height] in canvas pixels. */
  function onScreen(box) {
    const [x0, y0] = viewer.imageToCanvas(box.x, box.y);
    const [x1, y1] = viewer.imageToCanvas(box.x + box.width, box.y + box.height);
    return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
  }

  /** What a press at canvas point `point` would grab: a corner, a box's inside, or nothing. */
  function hitTest([px, py]) {
    // The selected box first: its handles are the ones on screen, and it may lie under another.
    const others = boxes.map((_, index) => index).filter((index) => index !== selected);
    const order = selected >= 0 ? [selected, ...others.reverse()] : others.reverse();
    for (const index of order) {
      const screen = corners(boxes[index]).map(([x, y]) => viewer.imageToCanvas(x, y));
      const near = screen.findIndex(([cx, cy]) => Math.hypot(cx - px, cy - py) <= HANDLE_REACH);
      if (near >= 0) return { index, corner: near };
    }
    for (const index of order) {
      const [left, top, width, height] = onScreen(boxes[index]);
      if (px >= left && px <= left + width && py >= top && py <= top + height) return { index, corner: -1 };
    }
    return null;
  }

  function showHint(text) {
    hint = text;
    clearTimeout(hintTimer);
    hintTimer = setTimeout(() => {
      hint = "";
      redraw();
    }, 2500);
    redraw();
  }

  function redraw() {
    layer.replaceChildren();
    layer.dataset.enabled = String(enabled);
    layer.dataset.boxes = String(boxes.length);
    if (!onTarget() || !imageSize()) {
      layer.dataset.shown = "false";
      return;
    }
    layer.dataset.shown = "true";
    // While a drag is on, the box being drawn, moved or resized shows where it would land.
    const shown = boxes.map((box, index) => (drag?.preview && index === drag.index ? drag.preview : box));
    if (drag?.kind === "draw" && drag.preview) shown.push(drag.preview);
    shown.forEach((box, index) => {
      const [left, top, width, height] = onScreen(box);
      const isSelected = enabled && index === selected;
      const group = svgElement("g", {
        class: `box${isSelected ? " is-selected" : ""}`,
        "data-finding": box.finding,
        "data-index": index,
      });
      group.appendChild(svgElement("rect", { x: left, y: top, width, height }));
      const caption = svgElement("text", { x: left + 2, y: top > 14 ? top - 4 : top + 12 });
      caption.textContent = labelFor(box.finding);
      group.appendChild(caption);
      if (isSelected) {
        for (const [cx, cy] of corners(box).map(([x, y]) => viewer.imageToCanvas(x, y))) {
          group.appendChild(svgElement("rect", { class: "handle", x: cx - 4, y: cy - 4, width: 8, height: 8 }));
        }
      }
      layer.appendChild(group);
    });
    if (hint) {
      const text = svgElement("text", { class: "hint", x: "50%", y: 44, "text-anchor": "middle" });
      text.textContent = hint;
      layer.appendChild(text);
    }
  }

  function changed() {
    redraw();
    onChange(editor.getBoxes());
  }

  function onMouseDown(event) {
    if (!enabled || event.button !== 0 || !onTarget()) return;
    // The left button is ours in box mode: the viewer must not start a window/level drag.
    event.preventDefault();
    event.stopPropagation();
    const size = imageSize();
    if (!size) return;
    const [canvas, image] = pointsOf(event);
    if (!image) return;
    const hit = hitTest(canvas);
    if (hit && hit.corner >= 0) {
      const box = boxes[hit.index];
      selected = hit.index;
      // The corner opposite the grabbed one stays put; the grabbed one follows the mouse.
      drag = { kind: "resize", index: hit.index, start: canvas, fixed: corners(box)[(hit.corner + 2) % 4], box };
    } else if (hit) {
      selected = hit.index;
      drag = { kind: "move", index: hit.index, start: canvas, grab: image, box: boxes[hit.index] };
    } else {
      selected = -1;
      if (activeFinding && !NO_BOX_FINDINGS.has(activeFinding)) {
        const [columns, rows] = size;
        const anchor = [clamp(image[0], 0, columns), clamp(image[1], 0, rows)];
        drag = { kind: "draw", start: canvas, anchor, finding: activeFinding };
      } else {
        showHint(activeFinding ? "Unremarkable has no lesion to box" : "Choose a finding first, then draw its box");
      }
    }
    if (drag) {
      document.addEventListener("mousemove", onDrag);
      document.addEventListener("mouseup", onDrop);
    }
    redraw();
  }

  /** The box as it would be if the button were released at `event`'s position. */
  function preview(event, current) {
    const [columns, rows] = imageSize() ?? [0, 0];
    const [, image] = pointsOf(event);
    if (!image) return current.preview ?? null;
    const [ix, iy] = image;
    const point = [clamp(ix, 0, columns), clamp(iy, 0, rows)];
    if (current.kind === "draw") return spanned(current.finding, current.anchor, point);
    if (current.kind === "resize") return spanned(current.box.finding, current.fixed, point);
    const { box, grab } = current;
    return {
      ...box,
      x: clamp(box.x + ix - grab[0], 0, columns - box.width),
      y: clamp(box.y + iy - grab[1], 0, rows - box.height),
    };
  }

  function onDrag(event) {
    if (!drag) return;
    const [canvas] = pointsOf(event);
    if (!drag.moved && Math.hypot(canvas[0] - drag.start[0], canvas[1] - drag.start[1]) < CLICK_SLOP) return;
    drag.moved = true;
    drag.preview = preview(event, drag) ?? drag.preview;
    redraw();
  }

  function onDrop(event) {
    document.removeEventListener("mousemove", onDrag);
    document.removeEventListener("mouseup", onDrop);
    const done = drag;
    drag = null;
    if (!done || !done.moved) return redraw(); // a click: the selection is all that changed
    const size = imageSize();
    const landed = size && preview(event, done);
    const box = landed && tidyBox(landed, ...size);
    if (done.kind === "draw") {
      if (!box) return redraw();
      boxes.push(box);
      selected = boxes.length - 1;
    } else if (box) {
      boxes[done.index] = box;
    } // a resize squeezed below MIN_SIDE keeps the box as it was
    changed();
  }

  function cancelDrag() {
    if (!drag) return;
    document.removeEventListener("mousemove", onDrag);
    document.removeEventListener("mouseup", onDrop);
    drag = null;
    redraw();
  }

  function onHover(event) {
    if (!enabled || drag) return;
    const hit = onTarget() ? hitTest(pointsOf(event)[0]) : null;
    layer.style.cursor = !hit ? "crosshair" : hit.corner < 0 ? "move" : hit.corner % 2 ? "nesw-resize" : "nwse-resize";
  }

  function onKeyDown(event) {
    if (!enabled || isTyping(event)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && drag) {
      event.preventDefault();
      cancelDrag();
    } else if ((event.key === "Delete" || event.key === "Backspace") && selected >= 0) {
      event.preventDefault();
      editor.deleteSelected();
    }
  }

  // Capture phase on the viewport element: runs before the viewer's own mouse listeners there.
  element.addEventListener("mousedown", onMouseDown, { capture: true });
  element.addEventListener("dblclick", (event) => enabled && event.button === 0 && event.stopPropagation(), {
    capture: true,
  });
  element.addEventListener("mousemove", onHover);
  document.addEventListener("keydown", onKeyDown);
  viewer.onCameraChange(() => {
    if (!drag) redraw();
  });

  const editor = {
    /** Box mode on (left-drag draws, moves and resizes boxes) or off (boxes shown, read-only). */
    setEnabled(value) {
      enabled = Boolean(value);
      if (!enabled) {
        cancelDrag();
        selected = -1;
      }
      viewer.setPrimaryToolEnabled(!enabled);
      layer.style.cursor = enabled ? "crosshair" : "";
      redraw();
    },
    isEnabled() {
      return enabled;
    },
    /** The finding the next drawn box marks (the last finding toggled on), or null. */
    setActiveFinding(finding) {
      activeFinding = finding || null;
    },
    /** The boxes as the label API takes them: [{finding, x, y, width, height}] in image pixels. */
    getBoxes() {
      return boxes.map((box) => ({ ...box }));
    },
    /** Replace the boxes (a reopened label's); clipped to the image shown, when one is. */
    setBoxes(value) {
      cancelDrag();
      const size = imageSize();
      boxes = (value || [])
        .map((box) => (size ? tidyBox(box, ...size) : { ...box }))
        .filter((box) => box !== null);
      selected = -1;
      redraw();
    },
    clear() {
      editor.setBoxes([]);
    },
    deleteSelected() {
      if (selected < 0) return;
      boxes.splice(selected, 1);
      selected = -1;
      changed();
    },
    hasSelection() {
      return selected >= 0;
    },
  };
  redraw();
  return editor;
}
