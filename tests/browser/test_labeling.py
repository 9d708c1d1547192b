"""A vet in a real browser: log in, see the slice, adjust it, label three with the keyboard."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from PIL import Image, ImageChops, ImageStat

from annotator.imaging.ingest import ingest_paths
from annotator.labeling.models import Label

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def canvas_image(page) -> Image.Image:
    return Image.open(io.BytesIO(page.locator("#viewer canvas").first.screenshot())).convert("L")


def log_in_as_alice(page, live_server) -> None:
    """Open the labeling page and log in through the form, as a vet does."""
    page.goto(f"{live_server.url}/label/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/label/")


def rendered_slice(page) -> str:
    try:
        page.wait_for_selector("#viewer[data-rendered-slice]", state="attached", timeout=20_000)
    except Exception:
        page.screenshot(path=str(Path(settings.DATA_DIR) / "failed-render.png"))
        shown = page.inner_text("body")[:500]
        raise AssertionError(f"the target slice never rendered; {page.url} shows {shown}") from None
    return page.get_attribute("#viewer", "data-rendered-slice")


def test_a_vet_labels_three_slices_with_the_keyboard(live_server, browser, tiny_cohort, alice):
    first_dog = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]
    ingest_paths([first_dog])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in_as_alice(page, live_server)

    first = rendered_slice(page)
    image = canvas_image(page)
    # Not blank: an MR slice has structure, a failed load is one flat colour.
    assert ImageStat.Stat(image).stddev[0] > 10, "the canvas is blank"

    # Window/level by dragging changes what is on screen.
    box = page.locator("#viewer canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 80, steps=8)
    page.mouse.up()
    page.wait_for_timeout(300)
    difference = ImageChops.difference(image, canvas_image(page))
    assert ImageStat.Stat(difference).mean[0] > 2, "dragging did not change window/level"

    # The wheel scrolls through the series, away from the slice to label.
    before = page.inner_text("#viewed-info")
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        "before => document.querySelector('#viewed-info').innerText !== before", arg=before
    )

    labeled = []
    current = first
    for key in ["3", "2", "6"]:  # IVDP, IVDE, neoplasia: a finding key toggles, Enter saves
        page.keyboard.press(key)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "prev => { const v = document.querySelector('#viewer');"
            " return v.dataset.renderedSlice && v.dataset.renderedSlice !== prev; }",
            arg=current,
            timeout=20_000,
        )
        labeled.append(current)
        current = rendered_slice(page)

    # The next slice shows while the last save is still on its way.
    page.wait_for_selector("#label-app[data-saving='0']", state="attached")
    stored = {a.instance_id: a.findings for a in Label.objects.filter(reader=alice)}
    # Under Playwright's greenlets Django opened a connection of their own: close it, or
    # PostgreSQL refuses to drop the test database at the end of the run.
    connections.close_all()
    assert stored == {
        int(labeled[0]): ["ivdp"],
        int(labeled[1]): ["ivde"],
        int(labeled[2]): ["neoplasia"],
    }
    assert errors == []


def test_the_vet_lays_the_models_heatmap_over_the_slice_with_h(
    live_server, browser, tiny_cohort, alice
):
    import zlib

    import numpy as np

    from annotator.imaging.models import Instance
    from annotator.learning import registry
    from annotator.learning.models import Heatmap, ModelVersion, Prediction, TrainingRun

    first_dog = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]
    ingest_paths([first_dog])
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/h.pt")
    registry.promote_if_chosen(model, 0.9, None, None)
    values = np.zeros((32, 32), dtype=np.uint8)
    values[8:24, 8:24] = 255  # a hot square in the middle of every slice
    for instance in Instance.objects.all():
        Prediction.objects.create(
            instance=instance, model=model, finding="ivde", probabilities={"ivde": 0.9}
        )
        Heatmap.objects.create(
            instance=instance,
            model=model,
            finding="ivde",
            width=32,
            height=32,
            data=zlib.compress(values.tobytes()),
        )
    connections.close_all()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in_as_alice(page, live_server)
    rendered_slice(page)
    page.wait_for_selector("#heatmap-status:has-text('press H')", timeout=20_000)

    page.keyboard.press("h")
    page.wait_for_selector("#viewer[data-heatmap=shown]")
    page.wait_for_timeout(300)
    shown = Image.open(io.BytesIO(page.locator("#viewer canvas").first.screenshot())).convert("RGB")
    red, green, _ = (ImageStat.Stat(shown).mean[i] for i in range(3))
    assert red > green + 5, "the heatmap's red does not show over the image"
    page.keyboard.press("h")
    page.wait_for_selector("#viewer[data-heatmap=hidden]")
    page.wait_for_timeout(300)
    hidden = Image.open(io.BytesIO(page.locator("#viewer canvas").first.screenshot())).convert(
        "RGB"
    )
    red, green, _ = (ImageStat.Stat(hidden).mean[i] for i in range(3))
    assert abs(red - green) < 2, "the heatmap stays after H hid it"
    assert errors == []
