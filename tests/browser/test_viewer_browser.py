"""Alice reads a slice the way a radiologist does: windows, inverts, scrolls, zooms, plays the
series, reads the text on the image and sees a missing image say so on the viewport."""

import io
import re
from pathlib import Path

import pydicom
import pytest
from django.db import connections
from PIL import Image, ImageChops, ImageStat

from annotator.imaging import storage
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from tests.browser.test_labeling import log_in_as_alice, rendered_slice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def canvas_image(page) -> Image.Image:
    return Image.open(io.BytesIO(page.locator("#viewer canvas").first.screenshot())).convert("L")


def changed(before: Image.Image, after: Image.Image) -> float:
    """Mean grey-level difference between two screenshots of the image."""
    return ImageStat.Stat(ImageChops.difference(before, after)).mean[0]


def overlay(page, name: str) -> str:
    return page.inner_text(f"#viewer .ov-{name}")


def wait_for_overlay_change(page, name: str, before: str) -> str:
    page.wait_for_function(
        "([name, before]) => document.querySelector(`#viewer .ov-${name}`).innerText !== before",
        arg=[name, before],
    )
    return overlay(page, name)


def window(text: str) -> tuple[float, float]:
    """(width, centre) from the overlay's 'W 1234 L 567'."""
    match = re.match(r"W (-?\d+) L (-?\d+)", text)
    assert match, f"no window/level in {text!r}"
    return float(match[1]), float(match[2])


def slice_number(page) -> int:
    return int(re.match(r"Slice (\d+) / \d+", overlay(page, "slice"))[1])


@pytest.fixture
def one_dog(tiny_cohort):
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])
    connections.close_all()


@pytest.fixture
def alice_reading(one_dog, live_server, browser, alice):
    """Alice logged in, the slice to label on screen; fails the test on any page error."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    log_in_as_alice(page, live_server)
    rendered_slice(page)
    yield page
    assert errors == []


def test_window_level_presets_and_invert_change_what_alice_sees(alice_reading):
    page = alice_reading
    stored = overlay(page, "wl")
    stored_width, stored_centre = window(stored)
    base = canvas_image(page)

    # Dragging changes the window, and the text on the image follows while the button is held.
    box = page.locator("#viewer canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 80, steps=8)
    during = wait_for_overlay_change(page, "wl", stored)
    page.mouse.up()
    assert window(during) != window(stored)
    assert changed(base, canvas_image(page)) > 2, "dragging did not change window/level"

    # 0 brings the stored window back.
    page.keyboard.press("0")
    page.wait_for_function(
        "w => document.querySelector('#viewer .ov-wl').innerText === w", arg=stored
    )
    assert changed(base, canvas_image(page)) < 1

    # The T1W preset narrows the stored window; T2W widens and raises it.
    page.keyboard.press("q")
    t1 = wait_for_overlay_change(page, "wl", stored)
    t1_width, t1_centre = window(t1)
    assert t1_width == pytest.approx(0.7 * stored_width, rel=0.03)
    assert t1_centre == pytest.approx(stored_centre + 0.05 * stored_width, abs=0.02 * stored_width)
    t1_image = canvas_image(page)
    assert changed(base, t1_image) > 2

    page.keyboard.press("w")
    t2 = wait_for_overlay_change(page, "wl", t1)
    t2_width, t2_centre = window(t2)
    assert t2_width == pytest.approx(1.2 * stored_width, rel=0.03)
    assert t2_centre > t1_centre
    t2_image = canvas_image(page)
    assert changed(t1_image, t2_image) > 2

    # Invert turns bright into dark, and says so on the image.
    page.keyboard.press("i")
    page.wait_for_selector("#viewer[data-invert=true]")
    assert "inverted" in overlay(page, "wl")
    inverted = canvas_image(page)
    assert changed(t2_image, inverted) > 20
    page.keyboard.press("i")
    page.wait_for_selector("#viewer[data-invert=false]")

    page.keyboard.press("i")
    page.wait_for_selector("#viewer[data-invert=true]")
    page.keyboard.press("0")  # reset also undoes the inversion
    page.wait_for_selector("#viewer[data-invert=false]")
    assert overlay(page, "wl") == stored


def test_scrolling_zooming_and_back_to_target(alice_reading):
    page = alice_reading
    target = slice_number(page)
    total = int(re.match(r"Slice \d+ / (\d+)", overlay(page, "slice"))[1])
    assert total > 3
    position = overlay(page, "position")
    assert re.fullmatch(r"Pos -?\d+\.\d mm", position)

    page.keyboard.press("End")
    page.wait_for_function(
        "n => document.querySelector('#viewer .ov-slice').innerText === `Slice ${n} / ${n}`",
        arg=total,
    )
    assert overlay(page, "position") != position, "the slice position did not follow"
    page.keyboard.press("Home")
    page.wait_for_function(
        "() => document.querySelector('#viewer .ov-slice').innerText.startsWith('Slice 1 /')"
    )
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "() => document.querySelector('#viewer .ov-slice').innerText.startsWith('Slice 2 /')"
    )
    page.keyboard.press("PageDown")
    page.wait_for_function(
        "() => !document.querySelector('#viewer .ov-slice').innerText.startsWith('Slice 2 /')"
    )
    assert slice_number(page) > 3

    before = overlay(page, "slice")
    box = page.locator("#viewer canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -120)
    wait_for_overlay_change(page, "slice", before)

    # Zooming in magnifies the image and the scale bar's millimetres shrink with it.
    scale = int(page.get_attribute("#viewer .ov-scale", "data-mm"))
    for _ in range(4):
        page.keyboard.press("+")
    page.wait_for_function("() => Number(document.querySelector('#viewer').dataset.zoom) > 2")
    assert overlay(page, "zoom") == "Zoom 244 %"
    assert int(page.get_attribute("#viewer .ov-scale", "data-mm")) < scale

    # T goes back to the slice to label and fits the image again.
    page.keyboard.press("t")
    page.wait_for_function(
        "n => document.querySelector('#viewer .ov-slice').innerText.startsWith(`Slice ${n} /`)",
        arg=target,
    )
    page.wait_for_function("() => document.querySelector('#viewer').dataset.zoom === '1.000'")


def dominant_letter(vector: list[float]) -> str:
    """The patient direction a vector points to most (QUADRUPED: +x left, +y dorsal, +z cranial)."""
    axis = max(range(3), key=lambda i: abs(vector[i]))
    return [("L", "R"), ("D", "V"), ("Cr", "Cd")][axis][0 if vector[axis] > 0 else 1]


def test_the_image_carries_series_position_window_orientation_and_scale(alice_reading):
    page = alice_reading
    target = Instance.objects.select_related("series").get(
        pk=int(page.get_attribute("#viewer", "data-rendered-slice"))
    )
    header = pydicom.dcmread(storage.store().path(target.file_key), stop_before_pixels=True)
    connections.close_all()

    assert overlay(page, "description") == target.series.description
    series = target.series
    assert overlay(page, "plane") == f"{series.plane.capitalize()} · {series.sequence}"
    assert re.fullmatch(r"W \d+ L \d+", overlay(page, "wl"))
    assert re.fullmatch(r"Slice \d+ / \d+", overlay(page, "slice"))
    # The scanner's own position of the slice along its normal, in mm.
    row, col = header.ImageOrientationPatient[:3], header.ImageOrientationPatient[3:]
    normal = [
        row[1] * col[2] - row[2] * col[1],
        row[2] * col[0] - row[0] * col[2],
        row[0] * col[1] - row[1] * col[0],
    ]
    position = sum(float(p) * n for p, n in zip(header.ImagePositionPatient, normal, strict=True))
    assert overlay(page, "position") == f"Pos {position:.1f} mm"

    # Unrotated, the image's rows run to the right edge and its columns to the bottom edge.
    expected = {
        "right": dominant_letter(row),
        "left": dominant_letter([-v for v in row]),
        "bottom": dominant_letter(col),
        "top": dominant_letter([-v for v in col]),
    }
    shown = {edge: overlay(page, f"orient-{edge}") for edge in expected}
    assert {edge: shown[edge][: len(letter)] for edge, letter in expected.items()} == expected
    if target.series.plane == "sagittal":  # how vets read a sagittal image
        assert (shown["top"], shown["left"]) == ("D", "Cr")

    # The scale bar is as long on screen as its millimetres are at this zoom.
    mm = float(page.get_attribute("#viewer .ov-scale", "data-mm"))
    bar = page.locator("#viewer .ov-scale-bar").bounding_box()["width"]
    canvas = page.locator("#viewer canvas").first.bounding_box()
    pixel_mm = float(header.PixelSpacing[1])
    # Fitted: the whole image on the canvas, limited by its tighter side.
    fitted = min(canvas["width"] / header.Columns, canvas["height"] / header.Rows)
    assert overlay(page, "scale-label") == f"{mm:g} mm"
    assert bar == pytest.approx(mm / pixel_mm * fitted, rel=0.25)


def test_cine_plays_through_the_series_and_any_key_stops_it(alice_reading):
    page = alice_reading
    start = overlay(page, "slice")
    page.keyboard.press("c")
    page.wait_for_selector("#viewer[data-cine=playing]")
    seen = {start}
    for _ in range(20):
        page.wait_for_timeout(100)
        seen.add(overlay(page, "slice"))
    assert len(seen) >= 4, f"cine showed only {seen}"
    page.keyboard.press("Shift")
    page.wait_for_selector("#viewer[data-cine=stopped]")
    page.wait_for_timeout(300)
    stopped_at = overlay(page, "slice")
    page.wait_for_timeout(400)
    assert overlay(page, "slice") == stopped_at


def test_a_missing_image_says_so_on_the_viewport_and_retry_loads_it(
    one_dog, live_server, browser, alice
):
    files = [Path(storage.store().path(i.file_key)) for i in Instance.objects.all()]
    connections.close_all()
    for path in files:
        path.rename(path.with_suffix(".gone"))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in_as_alice(page, live_server)

    panel = page.locator("#viewer .viewer-error")
    panel.wait_for(state="visible", timeout=20_000)
    assert "Could not load slice" in panel.inner_text()
    assert "404" in panel.inner_text()
    assert page.get_attribute("#viewer", "data-rendered-slice") is None

    # The file is back (the store was remounted, say): Retry shows the slice.
    for path in files:
        path.with_suffix(".gone").rename(path)
    panel.get_by_role("button", name="Retry").click()
    rendered_slice(page)
    assert panel.is_hidden()
    assert ImageStat.Stat(canvas_image(page)).stddev[0] > 10, "the canvas is blank"


def test_shift_arrows_pan_the_image_without_scrolling(alice_reading):
    page = alice_reading
    canvas = page.locator("#viewer canvas").first
    before, slice_before = canvas.screenshot(), overlay(page, "slice")
    page.keyboard.press("Shift+ArrowRight")
    assert settles(page, lambda: canvas.screenshot() != before), "the image did not move"
    assert overlay(page, "slice") == slice_before
    page.keyboard.press("0")  # fit again: the image is back where it was
    assert settles(page, lambda: canvas.screenshot() == before), "the image did not come back"


def settles(page, condition, timeout_ms: int = 5_000) -> bool:
    """Whether ``condition()`` holds within the timeout (a render waits for a free core)."""
    for _ in range(timeout_ms // 100):
        if condition():
            return True
        page.wait_for_timeout(100)
    return condition()
