"""The review API as the review page and the returned-labels list use it.

Alice and Bob label; Rita reviews; Carol is the admin.
"""

import pytest
from rest_framework.test import APIClient

from annotator.labeling.models import Label
from annotator.review.models import Review
from tests.conftest import client_for, person
from tests.factories import make_series
from tests.review.helpers import label_slice, needs_two_reads, serve_model

pytestmark = pytest.mark.django_db

LABEL_KEYS = {"id", "version", "reader", "findings", "cant_tell", "boxes", "comment", "created_at"}
REVIEW_KEYS = {
    "id",
    "label",
    "decision",
    "findings",
    "boxes",
    "reason",
    "result_label",
    "created_at",
}


@pytest.fixture(autouse=True)
def one_read_one_slice_at_a_time(settings):
    settings.QUEUE_LOOKAHEAD = 0
    settings.DOUBLE_READ_SHARE = 0.0  # the tests choose their double reads


@pytest.fixture
def slice_ids() -> list[int]:
    return list(make_series(slices=3).instances.order_by("id").values_list("id", flat=True))


def next_for(client):
    return client.post("/api/reviews/next/")


def decide(client, body: dict):
    return client.post("/api/reviews/", body, format="json")


def test_rita_gets_the_label_with_the_slice_the_other_read_and_the_model(
    alice, bob, rita, slice_ids
):
    double = slice_ids[0]
    needs_two_reads(double)
    alices = label_slice(alice, double, ["fce_annpe"])
    bobs = label_slice(bob, double, ["ivde"])
    serve_model({double: {"fce_annpe": 0.8}})
    response = next_for(client_for(rita))
    assert response.status_code == 200
    body = response.json()
    assert set(body["label"]) == LABEL_KEYS
    assert (body["label"]["id"], body["label"]["reader"], body["label"]["findings"]) == (
        alices.pk,
        "alice",
        ["fce_annpe"],
    )
    assert body["label"]["cant_tell"] is None
    assert [(o["id"], o["reader"]) for o in body["other_labels"]] == [(bobs.pk, "bob")]
    assert body["slice"]["id"] == double
    assert body["series"]["slices"][body["slice"]["index"]]["id"] == double
    assert set(body["dog"]) == {"patient_id", "name", "breed"}
    assert body["model"]["finding"] == "fce_annpe"
    assert body["priority"] == {
        "tier": 8 | 4 | 1,  # Bob's label disagrees with Alice and with the model
        "reasons": ["annotators disagree", "model disagrees", "rare finding"],
    }
    assert body["remaining"] == 2
    assert body["lease_expires_at"]
    assert body["upcoming"] == []  # the slice's two labels are all that waits


def test_the_answer_names_the_slices_likely_to_come_next_without_leasing_them(
    alice, rita, slice_ids
):
    for pk, finding in zip(slice_ids, ["ivde", "neoplasia", "ivdp"], strict=True):
        label_slice(alice, pk, [finding])
    body = next_for(client_for(rita)).json()
    upcoming = [u["slice"] for u in body["upcoming"]]
    assert len(upcoming) == 2 and body["slice"]["id"] not in upcoming
    assert all(
        u["dicom_url"].endswith(f"/api/slices/{u['slice']}/dicom/") for u in body["upcoming"]
    )
    # A hint, not a lease: another reviewer gets the first of them now.
    rosa = person("rosa", "reviewer")
    assert next_for(client_for(rosa)).json()["slice"]["id"] == upcoming[0]


def test_a_decision_is_stored_a_retry_returns_it_and_another_decision_conflicts(
    alice, rita, slice_ids
):
    label = label_slice(alice, slice_ids[0], ["ivde"])
    client = client_for(rita)
    assert next_for(client).json()["label"]["id"] == label.pk
    body = {"label": label.pk, "decision": "correct", "findings": ["ivdp"], "reason": ""}
    created = decide(client, body)
    assert created.status_code == 201
    assert set(created.json()) == REVIEW_KEYS
    result = Label.objects.get(pk=created.json()["result_label"])
    assert (result.findings, result.author, result.reader) == (["ivdp"], rita, alice)
    retry = decide(client, body)
    assert (retry.status_code, retry.json()) == (200, created.json())
    other = decide(client, {"label": label.pk, "decision": "approve"})
    assert other.status_code == 409
    assert "already decided" in other.json()["detail"]
    assert next_for(client).status_code == 204


def test_a_reviewer_lists_her_own_decisions_newest_first(alice, bob, rita, carol, slice_ids):
    first = label_slice(alice, slice_ids[0])
    second = label_slice(bob, slice_ids[1])
    third = label_slice(alice, slice_ids[2])
    for reviewer, label in ((rita, first), (rita, second), (carol, third)):
        client = client_for(reviewer)
        assert next_for(client).json()["label"]["id"] == label.pk
        assert decide(client, {"label": label.pk, "decision": "approve"}).status_code == 201
    listing = client_for(rita).get("/api/reviews/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 2
    assert [r["label"] for r in listing.json()["results"]] == [second.pk, first.pk]


def test_alice_sees_her_rejected_label_with_the_reason(alice, bob, rita, slice_ids):
    label = label_slice(alice, slice_ids[0], ["ivdp"])
    client = client_for(rita)
    next_for(client)
    reason = "this is the L7-S1 junction, not a disc protrusion"
    response = decide(client, {"label": label.pk, "decision": "reject", "reason": reason})
    assert response.status_code == 201
    returned = client_for(alice).get("/api/reviews/returned/")
    assert returned.status_code == 200
    (row,) = returned.json()["results"]
    assert {k: row[k] for k in ("label", "slice", "findings", "reason", "reviewer")} == {
        "label": label.pk,
        "slice": slice_ids[0],
        "findings": ["ivdp"],
        "reason": reason,
        "reviewer": "rita",
    }
    assert row["series"] == label.instance.series_id and row["decided_at"]
    assert client_for(bob).get("/api/reviews/returned/").json() == {"results": []}


def test_an_annotator_cannot_use_the_review_endpoints(alice, bob, slice_ids):
    label = label_slice(alice, slice_ids[0])
    client = client_for(bob)
    assert next_for(client).status_code == 403
    assert client.get("/api/reviews/").status_code == 403
    denied = decide(client, {"label": label.pk, "decision": "approve"})
    assert denied.status_code == 403
    assert "reviewer" in denied.json()["detail"]
    assert not Review.objects.exists()
    anonymous = APIClient()
    assert anonymous.post("/api/reviews/next/").status_code == 403
    assert anonymous.get("/api/reviews/returned/").status_code == 403


def test_the_admin_cannot_review_her_own_label(carol, slice_ids):
    label = label_slice(carol, slice_ids[0])
    client = client_for(carol)
    assert next_for(client).status_code == 204
    response = decide(client, {"label": label.pk, "decision": "approve"})
    assert response.status_code == 403
    assert "own label" in response.json()["detail"]


def test_nothing_to_review_is_a_204(rita, slice_ids):
    assert next_for(client_for(rita)).status_code == 204


def test_a_stale_version_is_a_409_naming_the_current_one(alice, rita, slice_ids):
    label = label_slice(alice, slice_ids[0], ["ivde"])
    client = client_for(rita)
    next_for(client)
    edited = client_for(alice).put(
        f"/api/annotations/{label.pk}/", {"findings": ["ivdp"], "version": 1}, format="json"
    )
    assert edited.status_code == 201
    stale = decide(client, {"label": label.pk, "decision": "approve"})
    assert stale.status_code == 409
    assert "current one is version 2" in stale.json()["detail"]
    assert next_for(client).json()["label"]["version"] == 2


def test_alice_cannot_edit_a_label_rita_approved(alice, rita, slice_ids):
    label = label_slice(alice, slice_ids[0], ["ivde"])
    client = client_for(rita)
    next_for(client)
    decide(client, {"label": label.pk, "decision": "approve"})
    response = client_for(alice).put(
        f"/api/annotations/{label.pk}/", {"findings": ["ivdp"], "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert "ask a reviewer to change it" in response.json()["detail"]


BAD_BODIES = [
    {},
    {"decision": "approve"},
    {"label": "one", "decision": "approve"},
    {"label": 2**63, "decision": "approve"},
    {"label": 1, "decision": "maybe"},
    {"label": 1, "decision": None},
    {"label": 1, "decision": "correct", "findings": ["cancer"]},
    {"label": 1, "decision": "correct", "findings": "ivde"},
    {"label": 1, "decision": "correct", "findings": ["ivde"] * 7},
    {"label": 1, "decision": "correct", "findings": ["ivde"], "boxes": [{"finding": "ivde"}]},
    {"label": 1, "decision": "correct", "findings": ["ivde"], "boxes": "a box"},
    {
        "label": 1,
        "decision": "correct",
        "findings": ["ivde"],
        "boxes": [{"finding": "ivde", "x": "NaN", "y": 0, "width": 1, "height": 1}],
    },
    {"label": 1, "decision": "reject", "reason": "x" * 2001},
    {"label": 1, "decision": "reject", "reason": None},
    {"label": 1, "decision": "reject", "reason": ["why"]},
    ["label", 1],
]
BAD_JSON = ["null", '"approve"', "{", "[" * 100_000 + "]" * 100_000, '{"label": 1e999}']


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_body_that_cannot_be_used_is_a_400_not_a_500(rita, body):
    assert client_for(rita).post("/api/reviews/", body, format="json").status_code == 400


@pytest.mark.parametrize("text", BAD_JSON)
def test_text_that_is_no_decision_is_a_400_not_a_500(rita, text):
    response = client_for(rita).post("/api/reviews/", text, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"decision": "correct", "findings": []}, "needs the findings"),
        ({"decision": "correct", "findings": ["unremarkable", "ivdp"]}, "cannot be combined"),
        ({"decision": "reject", "reason": "  "}, "say why"),
        ({"decision": "reject"}, "say why"),
    ],
)
def test_a_decision_without_what_it_needs_is_a_400_with_the_reason(
    alice, rita, slice_ids, body, detail
):
    label = label_slice(alice, slice_ids[0])
    client = client_for(rita)
    next_for(client)
    response = decide(client, {"label": label.pk, **body})
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_an_unknown_label_is_a_404(rita):
    assert decide(client_for(rita), {"label": 999_999, "decision": "approve"}).status_code == 404


def test_the_admin_browses_review_rows_but_cannot_change_them(alice, rita, carol, slice_ids):
    from django.test import Client

    label = label_slice(alice, slice_ids[0])
    client = client_for(rita)
    next_for(client)
    review_id = decide(client, {"label": label.pk, "decision": "approve"}).json()["id"]
    browser = Client()
    browser.force_login(carol)
    for page in ("reviewitem", "review"):
        assert browser.get(f"/admin/review/{page}/").status_code == 200
    assert browser.get(f"/admin/review/review/{review_id}/change/").status_code == 200
    deleted = browser.post(f"/admin/review/review/{review_id}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert Review.objects.filter(pk=review_id).exists()
