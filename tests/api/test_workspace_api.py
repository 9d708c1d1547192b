"""What the labeling page asks around labels: preferences, the header, leases, undo, recent."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotator.labeling.models import Label
from annotator.worklist.models import Lease
from tests.conftest import client_for
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return make_series(slices=6)


def claim_and_label(client, findings=("ivde",)) -> dict:
    claim = client.post("/api/queue/next/").json()
    body = {"slice": claim["slice"]["id"], "findings": list(findings)}
    created = client.post("/api/annotations/", body, format="json")
    assert created.status_code == 201, created.json()
    return created.json()


def test_every_workspace_endpoint_wants_a_logged_in_user(series):
    anonymous = APIClient()
    slice_id = series.instances.first().pk
    assert anonymous.get("/api/me/preferences/").status_code == 403
    assert anonymous.get("/api/me/stats/").status_code == 403
    assert anonymous.get("/api/me/recent-labels/").status_code == 403
    assert anonymous.get(f"/api/slices/{slice_id}/item/").status_code == 403
    for url in ["/api/queue/renew/", "/api/queue/release/", "/api/queue/take-back/"]:
        assert anonymous.post(url).status_code == 403


def test_alice_starts_with_toggles_and_a_hidden_guess_and_changes_both(alice, bob):
    client = client_for(alice)
    assert client.get("/api/me/preferences/").json() == {
        "one_key_mode": False,
        "show_guess": "after",
    }
    changed = client.put("/api/me/preferences/", {"one_key_mode": True}, format="json")
    assert changed.status_code == 200
    changed = client.put("/api/me/preferences/", {"show_guess": "at_once"}, format="json")
    assert changed.json() == {"one_key_mode": True, "show_guess": "at_once"}
    assert client_for(bob).get("/api/me/preferences/").json()["one_key_mode"] is False

    bad = client.put("/api/me/preferences/", {"show_guess": "never"}, format="json")
    assert bad.status_code == 400
    assert "show_guess" in bad.json()


def test_an_open_page_keeps_its_slices_and_a_closed_one_hands_them_back(alice, bob, series):
    alice_client = client_for(alice)
    assert alice_client.post("/api/queue/renew/").status_code == 409  # nothing held yet

    claim = alice_client.post("/api/queue/next/").json()
    before = Lease.objects.get(holder=alice, instance_id=claim["slice"]["id"]).expires_at
    renewed = alice_client.post("/api/queue/renew/")
    assert renewed.status_code == 200
    assert datetime.fromisoformat(renewed.json()["lease_expires_at"]) >= before

    assert alice_client.post("/api/queue/release/").status_code == 204
    assert not Lease.objects.filter(holder=alice).exists()
    # Bob gets the slice Alice left at once, not after the lease time.
    assert client_for(bob).post("/api/queue/next/").json()["slice"]["id"] == claim["slice"]["id"]


def test_alice_undoes_a_label_and_gets_the_slice_back_as_her_current_one(alice, series):
    client = client_for(alice)
    label = claim_and_label(client, ["ivdp"])
    assert client.post(f"/api/annotations/{label['id']}/withdraw/").status_code == 200

    back = client.post("/api/queue/take-back/", {"slice": label["slice"]}, format="json")
    assert back.status_code == 200, back.json()
    assert back.json()["slice"]["id"] == label["slice"]
    assert len(back.json()["lookahead"]) == 2  # the slices she had next stay hers

    again = client.post(
        "/api/annotations/", {"slice": label["slice"], "findings": ["ivde"]}, format="json"
    )
    assert again.status_code == 201, again.json()
    assert (again.json()["version"], again.json()["findings"]) == (3, ["ivde"])
    # Her next slice is the one she was shown before the undo.
    assert (
        client.post("/api/queue/next/").json()["slice"]["id"]
        == back.json()["lookahead"][0]["slice"]["id"]
    )


def test_a_slice_still_labeled_or_held_by_another_reader_is_not_taken_back(alice, bob, series):
    client = client_for(alice)
    label = claim_and_label(client)
    still_labeled = client.post("/api/queue/take-back/", {"slice": label["slice"]}, format="json")
    assert still_labeled.status_code == 409
    assert "no further read" in still_labeled.json()["detail"]

    client.post(f"/api/annotations/{label['id']}/withdraw/")
    Lease.objects.filter(holder=alice).delete()
    bob_claim = client_for(bob).post("/api/queue/next/").json()
    assert bob_claim["slice"]["id"] == label["slice"]
    taken = client.post("/api/queue/take-back/", {"slice": label["slice"]}, format="json")
    assert taken.status_code == 409
    assert "another reader" in taken.json()["detail"]

    assert client.post("/api/queue/take-back/", {"slice": "x"}, format="json").status_code == 400


def test_a_slice_never_labeled_cannot_be_picked_past_the_queue(alice, series):
    """Take-back is for an undo only: Alice cannot choose which open slice she labels next."""
    client = client_for(alice)
    client.post("/api/queue/next/")
    held = Lease.objects.filter(holder=alice).values_list("instance_id", flat=True)
    other = series.instances.exclude(pk__in=list(held)).order_by("-id").first()
    picked = client.post("/api/queue/take-back/", {"slice": other.pk}, format="json")
    assert picked.status_code == 409
    assert "withdrew" in picked.json()["detail"]
    assert not Lease.objects.filter(holder=alice, instance=other).exists()


def test_the_header_counts_today_in_the_clinics_time_zone(alice, series, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    client = client_for(alice)
    for _ in range(3):
        label_next(alice)
    # One of them was labeled just before midnight in the clinic: yesterday there.
    local_midnight = datetime.combine(
        timezone.localdate(), datetime.min.time(), tzinfo=ZoneInfo("Pacific/Auckland")
    )
    first = Label.objects.filter(reader=alice).order_by("id").first()
    Label.objects.filter(pk=first.pk).update(created_at=local_midnight - timedelta(minutes=5))

    body = client.get("/api/me/stats/").json()
    assert body == {
        "username": "alice",
        "labeled_today": 2,
        "labeled_total": 3,
        "queue_remaining": 3,
        "model_version": None,
    }


def test_recent_labels_list_each_slice_once_with_its_newest_version(alice, bob, series):
    client = client_for(alice)
    first = claim_and_label(client, ["ivde"])
    edited = client.put(
        f"/api/annotations/{first['id']}/",
        {"findings": ["ivdp"], "version": 1, "comment": "on second look"},
        format="json",
    )
    assert edited.status_code == 201
    second = claim_and_label(client, ["neoplasia"])
    label_next(bob)

    recent = client.get("/api/me/recent-labels/").json()["results"]
    assert [(r["slice"], r["version"], r["findings"]) for r in recent] == [
        (second["slice"], 1, ["neoplasia"]),
        (first["slice"], 2, ["ivdp"]),
    ]


def test_a_slice_item_carries_the_series_and_the_vets_own_label(alice, series):
    client = client_for(alice)
    label = claim_and_label(client, ["ivde"])
    item = client.get(f"/api/slices/{label['slice']}/item/")
    assert item.status_code == 200
    body = item.json()
    assert body["slice"]["id"] == label["slice"]
    assert len(body["series"]["slices"]) == 6
    assert body["prediction"] is None
    assert (body["label"]["version"], body["label"]["findings"]) == (1, ["ivde"])

    missing = client.get("/api/slices/999999/item/")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no such slice"
