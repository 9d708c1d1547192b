"""Alice boxes lesions on the slice she labels: draw, move, resize, delete, also zoomed in, and
the stored boxes lie on the same image pixels she drew them on. Rita sees a label's boxes
when she reviews it.

Where the image lies on screen is read from the screen itself, not from the page's code: the
served model's heatmap is a hot square over the middle half of the slice (image pixels
columns/4 to 3·columns/4, likewise rows), which the viewer stretches over the image's pixel grid.
"""

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connections
from PIL import Image

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, submit
from annotator.learning import registry
from annotator.learning.models import Heatmap, ModelVersion, Prediction, TrainingRun
from annotator.worklist.claim import claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEAT_SIDE = 32  # the heatmap's own pixels; the hot square is [8, 24) of them on both axes


def log_in(page, live_server, username: str, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{path}")


def serve_a_model_with_a_hot_square() -> None:
    """A promoted model whose heatmap of every slice is hot over the middle half of the image."""
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/boxes.pt")
    registry.promote_if_chosen(model, 0.9, None, None)
    values = np.zeros((HEAT_SIDE, HEAT_SIDE), dtype=np.uint8)
    values[8:24, 8:24] = 255
    for instance in Instance.objects.all():
        Prediction.objects.create(
            instance=instance, model=model, finding="ivde", probabilities={"ivde": 0.9}
        )
        Heatmap.objects.create(
            instance=instance,
            model=model,
            finding="ivde",
            width=HEAT_SIDE,
            height=HEAT_SIDE,
            data=zlib.compress(values.tobytes()),
        )


@dataclass
class OnScreen:
    """Where the image lies on the page, from the hot square's edges (page CSS pixels)."""

    left: float
    top: float
    width: float  # of the hot square: half the image's columns
    height: float  # half the image's rows
    columns: int
    rows: int

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.columns / 4 + (x - self.left) / self.width * self.columns / 2,
            self.rows / 4 + (y - self.top) / self.height * self.rows / 2,
        )

    def to_page(self, x: float, y: float) -> tuple[int, int]:
        """The page pixel nearest to image point (x, y): mouse events carry whole pixels."""
        return (
            round(self.left + (x - self.columns / 4) / (self.columns / 2) * self.width),
            round(self.top + (y - self.rows / 4) / (self.rows / 2) * self.height),
        )


def hot_square(page, columns: int, rows: int) -> OnScreen:
    """Measure the heatmap's hot square in a screenshot of the viewer."""
    page.wait_for_timeout(300)  # the overlay is redrawn after the render that moved the image
    # The whole page, so that a screenshot pixel is a page pixel (no element offset to round).
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"), dtype=int)
    # The overlay is red (255, 40, 0) at up to 170/255 opacity over a grey image, so red minus
    # green is 143 at full heat whatever lies beneath; half of that is the square's edge.
    hot = (shot[..., 0] - shot[..., 1]) > 72
    # Rows and columns that cross the square, not a thin line drawn over its blurred edge (the
    # reference line of the other plane is orange, too).
    across, down = hot.sum(axis=0), hot.sum(axis=1)
    assert across.max() > 20, "the heatmap's hot square is not on screen"
    xs = np.nonzero(across > across.max() / 2)[0]
    ys = np.nonzero(down > down.max() / 2)[0]
    return OnScreen(
        left=float(xs.min()),
        top=float(ys.min()),
        width=float(xs.max() + 1 - xs.min()),
        height=float(ys.max() + 1 - ys.min()),
        columns=columns,
        rows=rows,
    )


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def drawn_box(screen: OnScreen, finding: str, start, end) -> dict:
    (x0, y0), (x1, y1) = screen.to_image(*start), screen.to_image(*end)
    return {
        "finding": finding,
        "x": min(x0, x1),
        "y": min(y0, y1),
        "width": abs(x1 - x0),
        "height": abs(y1 - y0),
    }


def assert_same_boxes(stored: list[dict], expected: list[dict]) -> None:
    key = lambda box: (box["finding"], box["x"])  # noqa: E731
    stored, expected = sorted(stored, key=key), sorted(expected, key=key)
    assert [b["finding"] for b in stored] == [b["finding"] for b in expected], stored
    for got, want in zip(stored, expected, strict=True):
        for side in ("x", "y", "width", "height"):
            assert got[side] == pytest.approx(want[side], abs=1.0), (side, got, want)


def test_alice_draws_moves_resizes_and_deletes_boxes_at_any_zoom(
    live_server, browser, tiny_cohort, alice
):
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])
    serve_a_model_with_a_hot_square()
    connections.close_all()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server, "alice", "/label/")
    try:
        page.wait_for_selector("#viewer[data-rendered-slice]", state="attached", timeout=20_000)
        page.wait_for_selector("#heatmap-status:has-text('H')", timeout=20_000)
    except Exception:
        page.screenshot(path=str(Path(settings.DATA_DIR) / "failed-boxes.png"))
        raise
    target = int(page.get_attribute("#viewer", "data-rendered-slice"))
    instance = Instance.objects.get(pk=target)
    columns, rows = instance.columns, instance.rows
    connections.close_all()

    page.keyboard.press("h")
    page.wait_for_selector("#viewer[data-heatmap=shown]")
    screen = hot_square(page, columns, rows)
    at = lambda fx, fy: screen.to_page(fx * columns, fy * rows)  # noqa: E731

    # IVDE toggled on, box mode on: a box for IVDE.
    page.keyboard.press("2")
    page.keyboard.press("b")
    page.wait_for_selector(".box-layer[data-enabled=true]", state="attached")
    drag(page, at(0.30, 0.35), at(0.45, 0.50))
    ivde = drawn_box(screen, "ivde", at(0.30, 0.35), at(0.45, 0.50))
    page.wait_for_selector(".box-layer[data-boxes='1']", state="attached")

    # IVDP toggled on: the next box marks IVDP.
    page.keyboard.press("3")
    drag(page, at(0.55, 0.55), at(0.70, 0.65))
    page.wait_for_selector(".box-layer[data-boxes='2']", state="attached")
    assert page.locator(".box-layer .box[data-finding=ivdp]").count() == 1

    # Move the IVDE box by dragging its inside, then resize it by its bottom-right corner.
    middle = screen.to_page(ivde["x"] + ivde["width"] / 2, ivde["y"] + ivde["height"] / 2)
    moved_to = (middle[0] + 40, middle[1] + 25)
    drag(page, middle, moved_to)
    dx, dy = (
        screen.to_image(*moved_to)[0] - screen.to_image(*middle)[0],
        (screen.to_image(*moved_to)[1] - screen.to_image(*middle)[1]),
    )
    ivde = {**ivde, "x": ivde["x"] + dx, "y": ivde["y"] + dy}
    corner = screen.to_page(ivde["x"] + ivde["width"], ivde["y"] + ivde["height"])
    new_corner = (corner[0] + 30, corner[1] + 45)
    drag(page, corner, new_corner)
    right, bottom = screen.to_image(*new_corner)
    ivde = {**ivde, "width": right - ivde["x"], "height": bottom - ivde["y"]}

    # Click the IVDP box to select it, and delete it.
    page.mouse.click(*at(0.62, 0.60))
    page.wait_for_selector(".box-layer .box.is-selected[data-finding=ivdp]", state="attached")
    page.keyboard.press("Delete")
    page.wait_for_selector(".box-layer[data-boxes='1']", state="attached")

    # Zoomed in, the same image pixels lie elsewhere on screen: a box drawn there is still
    # stored in image pixels.
    page.keyboard.press("+")
    page.keyboard.press("+")
    zoomed = hot_square(page, columns, rows)
    assert zoomed.width > screen.width * 1.15, "the + key did not zoom in"
    at = lambda fx, fy: zoomed.to_page(fx * columns, fy * rows)  # noqa: E731
    drag(page, at(0.52, 0.28), at(0.68, 0.40))
    ivdp = drawn_box(zoomed, "ivdp", at(0.52, 0.28), at(0.68, 0.40))
    page.wait_for_selector(".box-layer[data-boxes='2']", state="attached")

    page.keyboard.press("Enter")
    page.wait_for_function(
        "prev => document.querySelector('#viewer').dataset.renderedSlice !== prev",
        arg=str(target),
        timeout=20_000,
    )
    # The next slice shows at once; the save may still be on its way.
    for _ in range(50):
        label = Label.objects.filter(reader=alice, instance_id=target).order_by("-version").first()
        if label is not None:
            break
        page.wait_for_timeout(200)
    connections.close_all()
    assert label is not None, "Enter did not store the label"
    assert label.findings == ["ivde", "ivdp"]
    assert_same_boxes(label.boxes, [ivde, ivdp])
    assert errors == []


def test_rita_sees_the_boxes_of_the_label_she_reviews(
    live_server, browser, tiny_cohort, settings, alice, rita
):
    settings.DOUBLE_READ_SHARE = 0.0
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])
    held = claim(alice).current
    box = {"finding": "ivde", "x": held.columns * 0.25, "y": held.rows * 0.25}
    box |= {"width": held.columns * 0.5, "height": held.rows * 0.5}
    submit(alice, held.pk, LabelContent(findings=["ivde"], boxes=[box]))
    connections.close_all()

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "rita", "/review/")
    page.wait_for_selector("#viewer[data-rendered-slice]", state="attached", timeout=20_000)
    page.wait_for_selector("#viewer[data-boxes='1']", state="attached", timeout=5_000)
    page.wait_for_timeout(300)
    shot = np.asarray(
        Image.open(io.BytesIO(page.locator("#viewer").screenshot())).convert("RGB"), dtype=int
    )
    # The outline is cyan (0, 229, 255): nothing in a grey MR image looks like that.
    cyan = (shot[..., 2] - shot[..., 0] > 150) & (shot[..., 1] - shot[..., 0] > 150)
    assert cyan.sum() > 200, "the label's box is not drawn on the slice"
    assert errors == []
