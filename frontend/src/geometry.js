// Where one MR slice lies on another: plain math on DICOM image planes, no Cornerstone here.
//
// A plane is what Cornerstone's "imagePlaneModule" metadata gives for a slice:
//   {imagePositionPatient: [x, y, z]  (mm, the centre of the top-left pixel),
//    rowCosines: [3]     (direction of increasing column index, along a row),
//    columnCosines: [3]  (direction of increasing row index, down a column),
//    pixelSpacing: [between rows, between columns] (mm, DICOM order),
//    rows, columns, frameOfReferenceUID?}
// Image coordinates are pixels with (0, 0) the top-left corner of the top-left pixel, so the
// centre of pixel (column j, row i) is (j + 0.5, i + 0.5): the convention the viewer and the
// stored lesion boxes use.

const EPSILON = 1e-9;

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** The plane's numbers, or null when the headers lack the geometry to place it in space. */
export function planeOf(meta) {
  if (!meta) return null;
  const { imagePositionPatient: origin, rowCosines: row, columnCosines: column } = meta;
  const rows = Number(meta.rows);
  const columns = Number(meta.columns);
  const [rowSpacing, columnSpacing] = (meta.pixelSpacing ?? [meta.rowPixelSpacing, meta.columnPixelSpacing]).map(Number);
  const numbers = [...(origin ?? []), ...(row ?? []), ...(column ?? []), rowSpacing, columnSpacing, rows, columns];
  if (numbers.length !== 13 || !numbers.every(Number.isFinite) || rowSpacing <= 0 || columnSpacing <= 0) return null;
  return {
    origin: origin.map(Number),
    row: row.map(Number),
    column: column.map(Number),
    rowSpacing,
    columnSpacing,
    rows,
    columns,
    frame: meta.frameOfReferenceUID || null,
  };
}

/** The unit normal of a slice (row × column), the direction DICOM positions are measured along. */
export function normalOf(plane) {
  const n = cross(plane.row, plane.column);
  const length = Math.hypot(...n);
  return length > EPSILON ? scale(n, 1 / length) : n;
}

/** Patient coordinates (mm) of an image point. */
export function imageToPatient(plane, [x, y]) {
  const alongRow = scale(plane.row, (x - 0.5) * plane.columnSpacing);
  const downColumn = scale(plane.column, (y - 0.5) * plane.rowSpacing);
  return add(add(plane.origin, alongRow), downColumn);
}

/** Image coordinates of a patient point projected onto the slice, and its distance (mm) from it. */
export function patientToImage(plane, point) {
  const offset = sub(point, plane.origin);
  return [
    dot(offset, plane.row) / plane.columnSpacing + 0.5,
    dot(offset, plane.column) / plane.rowSpacing + 0.5,
    dot(offset, normalOf(plane)),
  ];
}

/** The centre of the slice's field of view, in patient coordinates. */
export function centreOf(plane) {
  return imageToPatient(plane, [plane.columns / 2, plane.rows / 2]);
}

/**
 * Where `slice` (say a transverse image) cuts `onto` (say a sagittal image): the segment of the
 * line where the two planes meet that lies inside both fields of view, in `onto`'s image
 * coordinates, as {start: [x, y], end: [x, y]} with start the end nearer the top-left.
 * Null when the planes are parallel, belong to different frames of reference, or the line
 * misses either image.
 */
export function referenceLine(slice, onto) {
  if (!slice || !onto) return null;
  if (slice.frame && onto.frame && slice.frame !== onto.frame) return null;
  const n = normalOf(slice);
  // Points (x, y) of `onto` on the slice's plane satisfy a·x + b·y + d = 0.
  const a = dot(n, onto.row) * onto.columnSpacing;
  const b = dot(n, onto.column) * onto.rowSpacing;
  const d = dot(n, sub(imageToPatient(onto, [0, 0]), slice.origin));
  const norm = Math.hypot(a, b);
  // Less than a micrometre of tilt per pixel: the planes are parallel for any image size.
  if (norm < 1e-6) return null;
  // The line as p0 + t·direction, t in pixels of `onto` along the line.
  const p0 = [(-d * a) / (norm * norm), (-d * b) / (norm * norm)];
  const direction = [-b / norm, a / norm];
  const world0 = imageToPatient(onto, p0);
  const worldStep = sub(imageToPatient(onto, add2(p0, direction)), world0);
  const sliceStart = imageToPatient(slice, [0, 0]);

  // Each bound keeps lo <= value0 + t·step <= hi; intersecting them clips the segment.
  const bounds = [
    [p0[0], direction[0], 0, onto.columns],
    [p0[1], direction[1], 0, onto.rows],
    [dot(sub(world0, sliceStart), slice.row) / slice.columnSpacing, dot(worldStep, slice.row) / slice.columnSpacing, 0, slice.columns],
    [dot(sub(world0, sliceStart), slice.column) / slice.rowSpacing, dot(worldStep, slice.column) / slice.rowSpacing, 0, slice.rows],
  ];
  let tMin = -Infinity;
  let tMax = Infinity;
  for (const [value0, step, lo, hi] of bounds) {
    if (Math.abs(step) < EPSILON) {
      if (value0 < lo || value0 > hi) return null;
      continue;
    }
    const [t0, t1] = [(lo - value0) / step, (hi - value0) / step].sort((p, q) => p - q);
    tMin = Math.max(tMin, t0);
    tMax = Math.min(tMax, t1);
  }
  if (!(tMax - tMin > EPSILON)) return null;
  const ends = [tMin, tMax].map((t) => [p0[0] + t * direction[0], p0[1] + t * direction[1]]);
  ends.sort((p, q) => p[0] + p[1] - (q[0] + q[1]));
  return { start: ends[0], end: ends[1] };
}

function add2(p, q) {
  return [p[0] + q[0], p[1] + q[1]];
}

/** Position (mm) of a patient point along a slice's normal: comparable with Instance.position_mm. */
export function positionAlong(plane, point) {
  return dot(normalOf(plane), point);
}

/** Index of the position nearest `position` (nulls skipped), or -1 when there is none. */
export function nearestSlice(positions, position) {
  let best = -1;
  let bestDistance = Infinity;
  positions.forEach((candidate, index) => {
    if (candidate === null || candidate === undefined || !Number.isFinite(Number(candidate))) return;
    const distance = Math.abs(Number(candidate) - position);
    if (distance < bestDistance) {
      best = index;
      bestDistance = distance;
    }
  });
  return best;
}
