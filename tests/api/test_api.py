"""The JSON API as the labeling page and other clients use it."""

import io
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from rest_framework.test import APIClient

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.learning.models import TrainingRun
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return make_series(slices=3)


def test_an_anonymous_visitor_gets_nothing(series):
    anonymous = APIClient()
    slice_id = series.instances.first().pk
    assert anonymous.post("/api/queue/next/").status_code == 403
    assert anonymous.get(f"/api/slices/{slice_id}/dicom/").status_code == 403
    body = {"slice": slice_id, "finding": "ivde"}
    assert anonymous.post("/api/annotations/", body).status_code == 403
    assert anonymous.get("/api/models/").status_code == 403
    assert anonymous.get("/label/").status_code == 302


def test_posting_without_the_csrf_token_is_refused(alice, series):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/queue/next/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_alice_claims_a_slice_and_labels_it(alice, series):
    client = client_for(alice)
    claim = client.post("/api/queue/next/")
    assert claim.status_code == 200
    body = claim.json()
    assert body["series"]["plane"] == "sagittal"
    assert len(body["series"]["slices"]) == 3
    assert body["series"]["slices"][body["slice"]["index"]]["id"] == body["slice"]["id"]
    assert body["prediction"] is None
    assert body["progress"] == {"labeled_by_you": 0, "remaining": 3}
    assert len(body["lookahead"]) == 2

    created = client.post(
        "/api/annotations/", {"slice": body["slice"]["id"], "finding": "ivdp"}, format="json"
    )
    assert created.status_code == 201
    assert (created.json()["version"], created.json()["findings"]) == (1, ["ivdp"])
    label = Label.objects.get()
    assert (label.reader, label.findings) == (alice, ["ivdp"])
    progress = client.post("/api/queue/next/").json()["progress"]
    assert progress == {"labeled_by_you": 1, "remaining": 2}


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"slice": 1, "finding": "broken-leg"}, 400, "finding"),
        ({"finding": "ivde"}, 400, "slice"),
        ({"slice": "abc", "finding": "ivde"}, 400, "slice"),
        ({"slice": 999999, "finding": "ivde"}, 404, "detail"),
        ({"slice": 2**70, "finding": "ivde"}, 400, "slice"),
        ({"slice": 1, "findings": ["ivde", "nope"]}, 400, "findings"),
        ({"slice": 1, "cant_tell": "bored"}, 400, "cant_tell"),
        ({"slice": 1, "findings": ["ivde"], "boxes": [{"finding": "ivde", "x": 1}]}, 400, "boxes"),
        ({"slice": 1, "findings": "ivde"}, 400, "findings"),
        ({"slice": 1, "findings": ["ivde"], "comment": "x" * 5000}, 400, "comment"),
    ],
)
def test_bad_labels_get_a_clear_error(alice, series, payload, status, field):
    client = client_for(alice)
    client.post("/api/queue/next/")
    response = client.post("/api/annotations/", payload, format="json")
    assert response.status_code == status
    assert field in response.json()
    assert Label.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[" * 100_000 + "]" * 100_000,
        '{"slice": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "null",
        '"just a string"',
        "[1, 2, 3]",
    ],
)
def test_a_body_that_cannot_be_used_is_a_400_not_a_500(alice, series, body):
    response = client_for(alice).post("/api/annotations/", body, content_type="application/json")
    assert response.status_code == 400


def test_bob_cannot_label_the_slice_alice_is_reading(alice, bob, series):
    slice_id = client_for(alice).post("/api/queue/next/").json()["slice"]["id"]
    response = client_for(bob).post(
        "/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json"
    )
    assert response.status_code == 409
    assert "another reader" in response.json()["detail"]


def test_nobody_labels_a_slice_the_queue_never_gave_them(alice, series):
    slice_id = series.instances.first().pk
    response = client_for(alice).post(
        "/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json"
    )
    assert response.status_code == 409
    assert "ask the queue" in response.json()["detail"]
    assert Label.objects.count() == 0


def test_an_empty_queue_says_so(alice, series):
    client = client_for(alice)
    for _ in range(3):
        slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
        client.post("/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json")
    assert client.post("/api/queue/next/").status_code == 204


def test_the_dicom_bytes_come_from_storage_for_a_logged_in_vet(alice):
    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    instance = Instance.objects.get()
    response = client_for(alice).get(f"/api/slices/{instance.pk}/dicom/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom"
    body = b"".join(response.streaming_content)
    assert body[128:132] == b"DICM"
    assert client_for(alice).get("/api/slices/424242/dicom/").status_code == 404
    assert client_for(alice).get(f"/api/slices/{2**70}/dicom/").status_code == 404


def test_a_slice_whose_file_is_missing_is_a_clear_404(alice, series):
    response = client_for(alice).get(f"/api/slices/{series.instances.first().pk}/dicom/")
    assert response.status_code == 404
    assert "missing from storage" in response.json()["detail"]


def test_each_vet_lists_only_her_own_labels(alice, bob):
    make_series(slices=8)
    for user, finding in ((alice, "ivde"), (bob, "ivdp")):
        client = client_for(user)
        slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
        client.post("/api/annotations/", {"slice": slice_id, "finding": finding}, format="json")
    listed = client_for(bob).get("/api/annotations/").json()
    assert listed["count"] == 1
    assert [r["findings"] for r in listed["results"]] == [["ivdp"]]
    assert listed["results"][0]["reader"] == "bob"


def test_model_lists_are_paginated(alice):
    for _ in range(60):
        run = TrainingRun.objects.create(trigger="manual", status="failed")
        assert run.pk
    page = client_for(alice).get("/api/training-runs/").json()
    assert page["count"] == 60
    assert len(page["results"]) == 50
    assert page["next"] is not None
    assert client_for(alice).get("/api/models/").json()["count"] == 0


def test_pages_send_a_content_security_policy(alice):
    response = client_for(alice).get("/accounts/login/")
    assert "script-src 'self' 'wasm-unsafe-eval'" in response["Content-Security-Policy"]


def test_the_heatmap_of_the_served_model_comes_as_a_red_overlay(alice, series):
    import zlib

    import numpy as np

    from annotator.learning import registry
    from annotator.learning.models import Heatmap, ModelVersion

    instance = series.instances.first()
    client = client_for(alice)
    assert client.get(f"/api/slices/{instance.pk}/heatmap/").status_code == 404
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/h.pt")
    registry.promote_if_chosen(model, 0.9, None, None)
    values = np.zeros((4, 8), dtype=np.uint8)
    values[1, 2] = 255
    Heatmap.objects.create(
        instance=instance,
        model=model,
        finding="ivdp",
        width=8,
        height=4,
        data=zlib.compress(values.tobytes()),
    )
    response = client.get(f"/api/slices/{instance.pk}/heatmap/")
    assert response.status_code == 200
    assert (response["Content-Type"], response["X-Finding"]) == ("image/png", "ivdp")
    from PIL import Image

    image = Image.open(io.BytesIO(response.content))
    assert image.size == (8, 4) and image.mode == "RGBA"
    assert image.getpixel((2, 1))[3] > 150 and image.getpixel((0, 0))[3] == 0
    body = client.post("/api/queue/next/").json()
    assert body["slice"]["heatmap_url"].endswith("/heatmap/")
