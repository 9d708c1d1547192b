"""A vet in a real browser opens a study's second read: the key slice shows, the model's
heatmap lies over it in red, and unticking the box hides it."""

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.db import connections
from PIL import Image, ImageStat
from pydicom.data import get_testdata_file

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.learning import registry
from annotator.learning.models import Heatmap, ModelVersion, Prediction, TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scored_slice(alice) -> Instance:
    """A real MR slice, scored by the served model as IVDE with a hot square heatmap."""
    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    instance = Instance.objects.get()
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(
        run=run, checkpoint_key="ab/eye.pt", config={"thresholds": [0.5] * 5}
    )
    registry.promote_if_chosen(model, 0.9, None, None)
    Prediction.objects.create(
        instance=instance, model=model, finding="ivde", probabilities={"ivde": 0.9}
    )
    values = np.zeros((16, 16), dtype=np.uint8)
    values[4:12, 4:12] = 255
    Heatmap.objects.create(
        instance=instance,
        model=model,
        finding="ivde",
        width=16,
        height=16,
        data=zlib.compress(values.tobytes()),
    )
    connections.close_all()
    return instance


def redness(page, selector: str) -> float:
    shot = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    red, green, _ = ImageStat.Stat(shot).mean
    return red - green


def loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_a_vet_reads_the_key_slice_with_and_without_the_heatmap(live_server, browser, scored_slice):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    study_id = scored_slice.series.study_id
    page.goto(f"{live_server.url}/studies/{study_id}/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/studies/{study_id}/")

    stack = f'.key-slice[data-slice="{scored_slice.pk}"] .slice-stack'
    page.wait_for_selector(f"{stack} img.slice", state="visible")
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)",
        arg=f"{stack} img",
    )
    assert loaded(page, f"{stack} img.slice") and loaded(page, f"{stack} img.heatmap")
    slice_box = page.locator(f"{stack} img.slice").bounding_box()
    heat_box = page.locator(f"{stack} img.heatmap").bounding_box()
    assert slice_box["width"] > 100
    assert heat_box == slice_box  # stretched over exactly the slice
    assert redness(page, stack) > 5, "the heatmap's red does not show over the slice"

    page.uncheck("#overlay-toggle")
    assert page.locator(f"{stack} img.heatmap").is_hidden()
    assert abs(redness(page, stack)) < 2, "the heatmap stays after the box was unticked"
    page.check("#overlay-toggle")
    assert page.locator(f"{stack} img.heatmap").is_visible()
    connections.close_all()
    assert errors == []
