// The reference line and nearest-slice math, checked against hand-computed cases.
// Run with `node --test frontend/tests/` (Node's own test runner; no dependencies).
import assert from "node:assert/strict";
import { test } from "node:test";

import { imageToPatient, nearestSlice, patientToImage, planeOf, referenceLine } from "../src/geometry.js";

const close = (actual, expected, tolerance = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);

// A sagittal image as the phantom writes it: rows run caudally (-z), columns ventrally (-y);
// 100 × 100 pixels of 1 mm, the top-left pixel centred at (0, 50, 50).
const sagittal = planeOf(sagittalMeta());

// An untilted transverse image at z = 20: 160 × 160 pixels of 0.5 mm, the dog's left to the right.
const transverse = (z) => planeOf(transverseMeta(z));

test("image and patient coordinates are inverse, pixel centres at half pixels", () => {
  assert.deepEqual(imageToPatient(sagittal, [0.5, 0.5]), [0, 50, 50]);
  const [x, y, off] = patientToImage(sagittal, [3, 20, 10]);
  close(x, 40.5);
  close(y, 30.5);
  close(Math.abs(off), 3);
});

test("an untilted transverse slice is a vertical line, clipped to its own field of view", () => {
  // z = 20 is column 30.5 (50 - (x - 0.5) = 20); the transverse field spans
  // y = 40.25 … -39.75 mm, rows 10.25 … 90.25 of the sagittal image.
  const line = referenceLine(transverse(20), sagittal);
  close(line.start[0], 30.5);
  close(line.start[1], 10.25);
  close(line.end[0], 30.5);
  close(line.end[1], 90.25);
});

test("the line moves caudally, to the right of the image, as the slice does", () => {
  const line = referenceLine(transverse(10), sagittal);
  close(line.start[0], 40.5);
  close(line.end[0], 40.5);
});

test("a slice tilted 30° to meet a disc gives a slanted line across the whole image", () => {
  const angle = Math.PI / 6;
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  const column = [0, -c, -s]; // (0, -1, 0) rotated about x
  // A 400 mm field centred at (0, 0, 20), wider than the sagittal image.
  const tilted = planeOf({
    imagePositionPatient: [-199.5, 199.5 * c, 20 + 199.5 * s],
    rowCosines: [1, 0, 0],
    columnCosines: column,
    pixelSpacing: [1, 1],
    rows: 400,
    columns: 400,
  });
  // Normal (0, sin, -cos): Y = √3 (Z - 20); Y = 50.5 - y and Z = 50.5 - x on the sagittal image.
  const line = referenceLine(tilted, sagittal);
  close(line.start[0], 30.5 - 50.5 / Math.sqrt(3));
  close(line.start[1], 0);
  close(line.end[0], 30.5 + 49.5 / Math.sqrt(3));
  close(line.end[1], 100);
});

test("no line for parallel planes, a slice outside the image or another frame of reference", () => {
  const parallel = planeOf({ ...sagittalMeta(), imagePositionPatient: [5, 50, 50] });
  assert.equal(referenceLine(parallel, sagittal), null);
  assert.equal(referenceLine(transverse(200), sagittal), null);
  const elsewhere = planeOf({ ...transverseMeta(20), frameOfReferenceUID: "1.2.3" });
  const here = planeOf({ ...sagittalMeta(), frameOfReferenceUID: "1.2.4" });
  assert.equal(referenceLine(elsewhere, here), null);
});

test("planes without geometry are refused rather than guessed", () => {
  assert.equal(planeOf(null), null);
  assert.equal(planeOf({ ...sagittalMeta(), rowCosines: null }), null);
  assert.equal(planeOf({ ...sagittalMeta(), pixelSpacing: [0, 1] }), null);
});

test("the nearest slice skips missing positions", () => {
  assert.equal(nearestSlice([0, 3, 6, 9], 4.4), 1);
  assert.equal(nearestSlice([0, null, 6, 9], 4.4), 2);
  assert.equal(nearestSlice([null, undefined], 1), -1);
});

function sagittalMeta() {
  return { imagePositionPatient: [0, 50, 50], rowCosines: [0, 0, -1], columnCosines: [0, -1, 0], pixelSpacing: [1, 1], rows: 100, columns: 100 };
}

function transverseMeta(z) {
  return { imagePositionPatient: [-40, 40, z], rowCosines: [1, 0, 0], columnCosines: [0, -1, 0], pixelSpacing: [0.5, 0.5], rows: 160, columns: 160 };
}
