"""The JSON API as the labeling page and other clients use it."""

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from rest_framework.test import APIClient

from annotator.ingest import ingest_paths
from annotator.models import Annotation, ModelVersion, Slice
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return make_series(slices=3)


def test_an_anonymous_visitor_gets_nothing(series):
    anonymous = APIClient()
    slice_id = series.slices.first().pk
    assert anonymous.post("/api/queue/next/").status_code == 403
    assert anonymous.get(f"/api/slices/{slice_id}/dicom/").status_code == 403
    assert (
        anonymous.post("/api/annotations/", {"slice": slice_id, "finding": "ivde"}).status_code
        == 403
    )
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

    created = client.post(
        "/api/annotations/", {"slice": body["slice"]["id"], "finding": "ivdp"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["version"] == 1
    annotation = Annotation.objects.get()
    assert (annotation.annotator, annotation.finding) == (alice, "ivdp")
    assert client.post("/api/queue/next/").json()["progress"]["labeled_by_you"] == 1


def test_changing_her_mind_keeps_the_history(alice, series):
    client = client_for(alice)
    slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
    client.post("/api/annotations/", {"slice": slice_id, "finding": "ivdp"}, format="json")
    again = client.post("/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json")
    assert again.json()["version"] == 2
    assert list(Annotation.objects.values_list("finding", "version")) == [("ivdp", 1), ("ivde", 2)]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"slice": 1, "finding": "broken-leg"}, 400, "finding"),
        ({"finding": "ivde"}, 400, "slice"),
        ({"slice": "abc", "finding": "ivde"}, 400, "slice"),
        ({"slice": 999999, "finding": "ivde"}, 404, "detail"),
    ],
)
def test_bad_annotations_get_a_clear_error(alice, series, payload, status, field):
    response = client_for(alice).post("/api/annotations/", payload, format="json")
    assert response.status_code == status
    assert field in response.json()
    assert Annotation.objects.count() == 0


def test_a_malformed_body_is_a_400_not_a_500(alice, series):
    response = client_for(alice).post(
        "/api/annotations/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_bob_cannot_label_the_slice_alice_is_reading(alice, bob, series):
    slice_id = client_for(alice).post("/api/queue/next/").json()["slice"]["id"]
    response = client_for(bob).post(
        "/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json"
    )
    assert response.status_code == 409
    assert "another reader" in response.json()["detail"]


def test_an_empty_queue_says_so(alice, series):
    for slice_ in Slice.objects.all():
        Annotation.objects.create(slice=slice_, annotator=alice, finding="unremarkable")
    assert client_for(alice).post("/api/queue/next/").status_code == 204


def test_the_dicom_bytes_come_from_storage_for_a_logged_in_vet(alice):
    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    slice_ = Slice.objects.get()
    response = client_for(alice).get(f"/api/slices/{slice_.pk}/dicom/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom"
    body = b"".join(response.streaming_content)
    assert body[128:132] == b"DICM"
    assert client_for(alice).get("/api/slices/424242/dicom/").status_code == 404


def test_only_the_admin_can_start_a_retrain(alice, carol, rq_redis):
    assert client_for(alice).post("/api/models/retrain/").status_code == 403
    assert ModelVersion.objects.count() == 0

    response = client_for(carol).post("/api/models/retrain/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert rq_redis.llen("rq:queue:default") == 1
    # Pressing the button twice does not queue a second run.
    second = client_for(carol).post("/api/models/retrain/")
    assert second.json()["id"] == response.json()["id"]
    assert second.json()["created"] is False
    assert rq_redis.llen("rq:queue:default") == 1


def test_pages_send_a_content_security_policy(alice):
    client = client_for(alice)
    response = client.get("/accounts/login/")
    assert "script-src 'self' 'wasm-unsafe-eval'" in response["Content-Security-Policy"]
