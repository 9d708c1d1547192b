"""Alice, a vet labeling a transverse slice, sees the study's sagittal series beside it with a
reference line where her slice lies; the line follows her as she scrolls the transverse
stack, and `v` brings up the other weighting at the same place."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings
from django.db import connections

from annotator.imaging import storage
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance, Series
from annotator.worklist.models import QueueItem
from tests.browser.test_labeling import log_in_as_alice, rendered_slice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIDE = "#side-viewer"
ANATOMICAL = ("position_mm", "instance_number", "id")  # the order the page lists slices in


def only_target(tiny_cohort: Path, orientation: str = "transverse") -> Instance:
    """One dog ingested; only the middle slice of its T2W series in `orientation` left to label."""
    first_dog = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]
    ingest_paths([first_dog])
    series = Series.objects.get(plane=orientation, sequence="T2W")
    slices = list(series.instances.order_by(*ANATOMICAL))
    target = slices[len(slices) // 2]
    QueueItem.objects.exclude(instance=target).update(done=True)
    QueueItem.objects.filter(instance=target).update(held_out=False, priority=1.0)
    return target


def plane(instance: Instance) -> dict:
    """An image plane from the stored DICOM header, computed here independently of the page."""
    with storage.open_file(instance.file_key) as fh:
        ds = pydicom.dcmread(fh, stop_before_pixels=True)
    orientation = np.array([float(v) for v in ds.ImageOrientationPatient])
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    return {
        "origin": np.array([float(v) for v in ds.ImagePositionPatient]),
        "row": orientation[:3],
        "column": orientation[3:],
        "spacing": (row_spacing, column_spacing),
        "size": (int(ds.Rows), int(ds.Columns)),
    }


def to_patient(p: dict, x: float, y: float) -> np.ndarray:
    """Image pixel coordinates ((0, 0) the top-left pixel's corner) to patient mm."""
    row_spacing, column_spacing = p["spacing"]
    return (
        p["origin"] + (x - 0.5) * column_spacing * p["row"] + (y - 0.5) * row_spacing * p["column"]
    )


def sagittal_normal(p: dict) -> np.ndarray:
    return np.cross(p["row"], p["column"])


def line_of(page) -> list[float]:
    return [float(v) for v in page.get_attribute(SIDE, "data-line").split()]


def drawn_line_x(page, canvas: str = "#side-viewer .side-frame > canvas.reference-line") -> float:
    """Mean x (CSS px) of the line's yellow pixels on an overlay canvas."""
    return page.evaluate(
        """selector => {
          const canvas = document.querySelector(selector);
          const { width, height } = canvas;
          const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
          let sum = 0, count = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i + 3] > 128 && pixels[i] > 200 && pixels[i + 2] < 80) {
              sum += (i / 4) % width; count++;
            }
          }
          return count > 20 ? sum / count / (width / canvas.clientWidth) : null;
        }""",
        canvas,
    )


def open_label_page(browser, live_server, errors: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in_as_alice(page, live_server)
    return page


def test_the_reference_line_shows_and_follows_the_transverse_slice(
    live_server, browser, tiny_cohort, alice
):
    target = only_target(tiny_cohort)
    sagittal = Series.objects.get(plane="sagittal", sequence="T2W", study=target.series.study)
    sagittal_slices = list(sagittal.instances.order_by("position_mm", "instance_number", "id"))
    transverse_slices = list(
        target.series.instances.order_by("position_mm", "instance_number", "id")
    )
    connections.close_all()
    errors: list[str] = []
    page = open_label_page(browser, live_server, errors)
    assert rendered_slice(page) == str(target.pk)

    page.wait_for_selector(f"{SIDE}[data-line-on=side][data-side-rendered]", timeout=20_000)
    assert page.get_attribute(SIDE, "data-side-series") == str(sagittal.pk)
    assert "Sagittal T2W" in page.inner_text(f"{SIDE} .side-caption")

    # Beside it: the sagittal slice nearest the centre of the transverse field of view.
    target_plane = plane(target)
    rows, columns = target_plane["size"]
    centre = to_patient(target_plane, columns / 2, rows / 2)
    planes = [plane(s) for s in sagittal_slices]
    distances = [abs(float(sagittal_normal(p) @ (centre - p["origin"]))) for p in planes]
    nearest = int(np.argmin(distances))
    page.wait_for_selector(f"{SIDE}[data-side-rendered='{nearest}']", timeout=20_000)

    # The line lies on the transverse plane, inside the sagittal image shown beside it.
    side_plane = planes[nearest]
    normal = np.cross(target_plane["row"], target_plane["column"])
    x0, y0, x1, y1 = line_of(page)
    rows, columns = side_plane["size"]
    for x, y in [(x0, y0), (x1, y1)]:
        assert 0 <= x <= columns and 0 <= y <= rows
        distance = abs(float(normal @ (to_patient(side_plane, x, y) - target_plane["origin"])))
        assert distance < 0.2, f"a line end lies {distance:.2f} mm off the transverse plane"
    assert np.hypot(x1 - x0, y1 - y0) > 20, "the line is too short to read"
    before_drawn = drawn_line_x(page)
    assert before_drawn is not None, "no line drawn over the sagittal image"

    # Alice scrolls the transverse stack: the line moves by the slice step, on screen too.
    before = line_of(page)
    box = page.locator("#viewer").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        f"b => document.querySelector('{SIDE}').dataset.line !== b",
        arg=" ".join(f"{v:g}" for v in before),
        timeout=20_000,
    )
    page.wait_for_timeout(300)
    after = line_of(page)
    step_mm = abs(transverse_slices[1].position_mm - transverse_slices[0].position_mm)
    moved_px = abs((after[0] + after[2]) / 2 - (before[0] + before[2]) / 2)
    expected_px = step_mm / side_plane["spacing"][1]
    assert moved_px == pytest.approx(expected_px, rel=0.25), (moved_px, expected_px)
    after_drawn = drawn_line_x(page)
    assert after_drawn is not None and abs(after_drawn - before_drawn) > 1, (
        "the drawn line did not move with the transverse slice"
    )
    assert errors == []


def test_v_shows_the_other_weighting_at_the_same_place(live_server, browser, tiny_cohort, alice):
    target = only_target(tiny_cohort)
    study = target.series.study
    sagittal_t1 = Series.objects.get(plane="sagittal", sequence="T1W", study=study)
    connections.close_all()
    errors: list[str] = []
    page = open_label_page(browser, live_server, errors)
    rendered_slice(page)
    page.wait_for_selector(f"{SIDE}[data-line-on=side]", timeout=20_000)
    before = line_of(page)

    page.keyboard.press("v")

    # The side follows to the T1W sagittal series; the T1W transverse slice at the same
    # position gives the same line (both weightings are planned on one stack).
    page.wait_for_function(
        f"id => document.querySelector('{SIDE}').dataset.sideSeries === id",
        arg=str(sagittal_t1.pk),
        timeout=20_000,
    )
    page.wait_for_selector(f"{SIDE}[data-line-on=side]", timeout=20_000)
    page.wait_for_timeout(500)
    assert line_of(page) == pytest.approx(before, abs=0.5)
    assert "Sagittal T1W" in page.inner_text(f"{SIDE} .side-caption")
    assert errors == []


def test_on_a_sagittal_target_the_line_is_drawn_on_the_main_image(
    live_server, browser, tiny_cohort, alice
):
    target = only_target(tiny_cohort, orientation="sagittal")
    transverse = Series.objects.get(plane="transverse", sequence="T2W", study=target.series.study)
    connections.close_all()
    errors: list[str] = []
    page = open_label_page(browser, live_server, errors)
    rendered_slice(page)

    # Beside the sagittal slice: the transverse series; the line goes on the sagittal image.
    page.wait_for_selector(f"{SIDE}[data-line-on=main][data-side-rendered]", timeout=20_000)
    assert page.get_attribute(SIDE, "data-side-series") == str(transverse.pk)
    main_line = "#viewer canvas.reference-line"
    page.wait_for_timeout(300)
    before = drawn_line_x(page, main_line)
    assert before is not None, "no line drawn over the main sagittal image"

    # Scrolling the transverse stack beside it moves the line on the main image.
    line = page.get_attribute(SIDE, "data-line")
    box = page.locator(f"{SIDE} .side-viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        f"b => document.querySelector('{SIDE}').dataset.line !== b", arg=line, timeout=20_000
    )
    page.wait_for_timeout(300)
    after = drawn_line_x(page, main_line)
    assert after is not None and abs(after - before) > 1
    assert errors == []


def test_the_reference_line_math_matches_hand_computed_cases():
    """frontend/tests/geometry.test.mjs: cases worked out by hand, run by Node's test runner."""
    node = shutil.which("node")
    assert node, "Node.js is missing: it builds the frontend, install it (`make setup`)"
    frontend = Path(settings.BASE_DIR) / "frontend"
    result = subprocess.run(
        [node, "--test", "tests/"], cwd=frontend, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
