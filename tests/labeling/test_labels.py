"""Labels as a vet gives them: findings, boxes, can't tell, repeats, edits and undo."""

import pytest
from django.db import connection

from annotator.audit.models import AuditEvent
from annotator.labeling.models import Label
from annotator.worklist.models import QueueItem
from tests.concurrency import in_parallel
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return make_series(slices=8)


def claim(client) -> int:
    return client.post("/api/queue/next/").json()["slice"]["id"]


def post(client, body: dict):
    return client.post("/api/annotations/", body, format="json")


def test_a_label_holds_several_findings_boxes_and_a_comment(alice, series):
    client = client_for(alice)
    slice_id = claim(client)
    box = {"finding": "ivdp", "x": 10.5, "y": 20, "width": 8, "height": 6}
    response = post(
        client,
        {"slice": slice_id, "findings": ["ivdp", "ivde"], "boxes": [box], "comment": "L1-L2"},
    )
    assert response.status_code == 201
    label = Label.objects.get()
    assert label.findings == ["ivde", "ivdp"]  # vocabulary order
    assert label.boxes == [{**box, "y": 20.0, "width": 8.0, "height": 6.0}]
    assert label.comment == "L1-L2"
    event = AuditEvent.objects.get(action="label.submitted")
    assert (event.actor, event.target_id, event.data["findings"]) == (
        alice,
        label.pk,
        ["ivde", "ivdp"],
    )


def test_cant_tell_with_a_reason_is_a_label_that_never_trains(alice, series):
    client = client_for(alice)
    response = post(client, {"slice": claim(client), "cant_tell": "artefact"})
    assert response.status_code == 201
    assert (response.json()["findings"], response.json()["cant_tell"]) == ([], "artefact")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"findings": ["unremarkable", "ivde"]}, "cannot be combined"),
        ({"findings": ["ivde"], "cant_tell": "artefact"}, "not both"),
        ({"findings": []}, "at least one finding"),
        (
            {
                "findings": ["ivde"],
                "boxes": [{"finding": "ivde", "x": 60, "y": 0, "width": 8, "height": 4}],
            },
            "outside the 64×64 image",
        ),
        (
            {
                "findings": ["ivde"],
                "boxes": [{"finding": "neoplasia", "x": 0, "y": 0, "width": 8, "height": 4}],
            },
            "a box marks one of the findings",
        ),
    ],
)
def test_answers_that_make_no_sense_are_refused_with_the_reason(alice, series, body, message):
    client = client_for(alice)
    response = post(client, {"slice": claim(client), **body})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Label.objects.count() == 0


def test_a_repeated_submit_returns_the_stored_label(alice, series):
    client = client_for(alice)
    slice_id = claim(client)
    first = post(client, {"slice": slice_id, "finding": "ivde"})
    again = post(client, {"slice": slice_id, "findings": ["ivde"]})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Label.objects.count() == 1
    assert AuditEvent.objects.filter(action="label.submitted").count() == 1


def test_a_different_answer_without_a_version_is_a_conflict(alice, series):
    client = client_for(alice)
    slice_id = claim(client)
    post(client, {"slice": slice_id, "finding": "ivde"})
    response = post(client, {"slice": slice_id, "finding": "ivdp"})
    assert response.status_code == 409
    assert "edit that version" in response.json()["detail"]
    assert list(Label.objects.values_list("findings", flat=True)) == [["ivde"]]


def test_a_vet_edits_her_label_and_a_stale_edit_is_refused(alice, series):
    client = client_for(alice)
    slice_id = claim(client)
    post(client, {"slice": slice_id, "finding": "ivde"})
    edited = post(client, {"slice": slice_id, "finding": "ivdp", "version": 1})
    assert edited.status_code == 201
    assert edited.json()["version"] == 2
    stale = post(client, {"slice": slice_id, "finding": "neoplasia", "version": 1})
    assert stale.status_code == 409
    assert "current one is version 2" in stale.json()["detail"]
    history = list(Label.objects.order_by("version").values_list("version", "findings"))
    assert history == [(1, ["ivde"]), (2, ["ivdp"])]


def test_bob_cannot_edit_alices_label_but_the_admin_can(alice, bob, carol, series):
    client = client_for(alice)
    label_id = post(client, {"slice": claim(client), "finding": "ivde"}).json()["id"]
    body = {"findings": ["ivdp"], "version": 1}
    assert (
        client_for(bob).put(f"/api/annotations/{label_id}/", body, format="json").status_code == 403
    )
    by_admin = client_for(carol).put(f"/api/annotations/{label_id}/", body, format="json")
    assert by_admin.status_code == 201
    assert (by_admin.json()["reader"], by_admin.json()["author"]) == ("alice", "carol")
    assert AuditEvent.objects.filter(action="label.edited", actor=carol).count() == 1


def test_undo_withdraws_the_label_and_the_slice_returns_to_the_queue(alice, series):
    client = client_for(alice)
    slice_id = claim(client)
    label_id = post(client, {"slice": slice_id, "finding": "ivde"}).json()["id"]
    assert QueueItem.objects.get(instance_id=slice_id).done is True
    undone = client.post(f"/api/annotations/{label_id}/withdraw/")
    assert undone.status_code == 200
    assert (undone.json()["withdrawn"], undone.json()["version"]) == (True, 2)
    assert QueueItem.objects.get(instance_id=slice_id).done is False
    assert Label.objects.count() == 2  # history kept


def test_nobody_withdraws_someone_elses_label(alice, bob, series):
    client = client_for(alice)
    label_id = post(client, {"slice": claim(client), "finding": "ivde"}).json()["id"]
    assert client_for(bob).post(f"/api/annotations/{label_id}/withdraw/").status_code == 403
    assert client_for(bob).post("/api/annotations/999999/withdraw/").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_identical_parallel_submits_store_one_label(alice):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL to point at PostgreSQL, as .ci/run sets it")
    make_series(slices=4)
    slice_id = claim(client_for(alice))
    codes: list[int] = []

    def submit() -> None:
        codes.append(post(client_for(alice), {"slice": slice_id, "finding": "ivde"}).status_code)

    in_parallel(10, submit)
    assert sorted(codes) == [200] * 9 + [201]
    assert Label.objects.count() == 1
