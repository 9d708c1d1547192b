"""A contact sheet of a written cohort, for a person to look at: PNG from numpy and zlib.

Per dog, a row per series type (sag T1W, sag T2W, tra T1W, tra T2W) of a few slices,
lesion slices first. A lesion slice has a frame in its primary finding's colour and a
thin outline around each finding's box: IVDE red, IVDP orange, FCE/ANNPE green,
syringomyelia cyan, neoplasia magenta.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pydicom

from annotator.png import png_bytes
from annotator.synth.cohort import MANIFEST
from annotator.synth.findings import FCE_ANNPE, IVDE, IVDP, NEOPLASIA, SYRINGOMYELIA

COLOURS = {
    IVDE: (230, 40, 40),
    IVDP: (255, 150, 0),
    FCE_ANNPE: (40, 200, 60),
    SYRINGOMYELIA: (0, 200, 230),
    NEOPLASIA: (230, 0, 230),
}
SERIES_ROWS = [
    ("sagittal", "T1W"),
    ("sagittal", "T2W"),
    ("transverse", "T1W"),
    ("transverse", "T2W"),
]
TILE, GAP, FRAME = 192, 4, 3


def _tile(path: Path, row: dict[str, str]) -> np.ndarray:
    pixels = pydicom.dcmread(path).pixel_array.astype(np.float32)
    low, high = np.percentile(pixels, [1, 99.5])
    grey = np.clip((pixels - low) / max(high - low, 1.0), 0, 1)
    size = pixels.shape[0]
    pick = (np.arange(TILE) + 0.5) * size / TILE  # nearest neighbour; enough for a glance
    index = pick.astype(int)
    tile = np.repeat((grey[np.ix_(index, index)] * 255).astype(np.uint8)[..., None], 3, axis=2)
    for box in json.loads(row["boxes"]):
        colour = COLOURS[box["finding"]]
        x0, y0 = int(box["x"] * TILE / size) - 1, int(box["y"] * TILE / size) - 1
        x1 = int(np.ceil((box["x"] + box["width"]) * TILE / size))
        y1 = int(np.ceil((box["y"] + box["height"]) * TILE / size))
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, TILE - 1), min(y1, TILE - 1)
        tile[y0, x0 : x1 + 1] = tile[y1, x0 : x1 + 1] = colour
        tile[y0 : y1 + 1, x0] = tile[y0 : y1 + 1, x1] = colour
    if row["finding"] in COLOURS:
        colour = COLOURS[row["finding"]]
        tile[:FRAME], tile[-FRAME:], tile[:, :FRAME], tile[:, -FRAME:] = (colour,) * 4
    return tile


def _pick(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """Up to `count` slices: lesion slices first, the rest spread over the series."""
    lesion = [r for r in rows if r["finding"] != "unremarkable"]
    lesion = [lesion[int(i)] for i in np.linspace(0, len(lesion) - 1, min(count, len(lesion)))]
    others = [r for r in rows if r not in lesion]
    spare = count - len(lesion)
    if spare > 0 and others:
        chosen = np.unique(np.linspace(0, len(others) - 1, min(spare, len(others))).astype(int))
        lesion += [others[int(i)] for i in chosen]
    return sorted(lesion, key=lambda r: int(r["instance_number"]))


def write_preview(cohort_dir: Path, png_path: Path, dogs: int = 12, per_row: int = 5) -> Path:
    """Write the contact sheet of the first `dogs` dogs of a cohort to png_path."""
    cohort_dir, png_path = Path(cohort_dir), Path(png_path)
    with (cohort_dir / MANIFEST).open(newline="", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle))
    by_dog: dict[str, list[dict[str, str]]] = {}
    for row in manifest:
        by_dog.setdefault(row["patient_id"], []).append(row)
    patients = sorted(by_dog)[:dogs]
    step = TILE + GAP
    sheet = np.full(
        (len(patients) * (len(SERIES_ROWS) * step + 3 * GAP), per_row * step, 3), 24, np.uint8
    )
    top = 0
    for patient in patients:
        for plane, sequence in SERIES_ROWS:
            rows = [r for r in by_dog[patient] if (r["plane"], r["sequence"]) == (plane, sequence)]
            for column, row in enumerate(_pick(rows, per_row)):
                left = column * step
                sheet[top : top + TILE, left : left + TILE] = _tile(cohort_dir / row["path"], row)
            top += step
        top += 3 * GAP  # a wider gap between dogs
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png_bytes(sheet))
    return png_path
