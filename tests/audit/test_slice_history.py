"""A slice's history: Rita (reviewer) and Carol (admin) see everything that happened to a
slice; Alice and Bob, who label blind, may not look.

The story: Bob asked for slices and left them; his leases expired and Alice took them
over, labeled one as IVDE, and Carol corrected that label to IVDP.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from annotator.audit.log import record
from annotator.labeling.services import LabelContent, edit
from annotator.worklist.claim import claim
from annotator.worklist.models import Lease
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def story(alice, bob, carol):
    make_series(slices=3)
    claim(bob)
    Lease.objects.filter(holder=bob).update(expires_at=timezone.now() - timedelta(seconds=1))
    label = label_next(alice, ["ivde"])
    edit(carol, label.pk, LabelContent(findings=["ivdp"]), version=1)
    return label.instance_id


def url(slice_id: int) -> str:
    return f"/slices/{slice_id}/history/"


def test_rita_sees_every_event_of_the_slice_in_time_order(rita, story):
    response = browser_for(rita).get(url(story))

    assert response.status_code == 200
    events = [(r.who, r.action) for r in response.context["history"].events]
    assert events == [
        ("alice", "lease.taken_over"),
        ("alice", "label.submitted"),
        ("carol", "label.edited"),
    ]
    assert "previous holder: bob" in response.content.decode()


def test_rita_sees_each_label_version_and_who_wrote_it(rita, story):
    response = browser_for(rita).get(url(story))

    versions = [
        (v.reader.username, v.version, v.author.username, v.findings)
        for v in response.context["history"].versions
    ]
    assert versions == [("alice", 1, "alice", ["ivde"]), ("alice", 2, "carol", ["ivdp"])]
    page = response.content.decode()
    assert '<td class="author">carol</td>' in page


def test_events_of_other_slices_stay_out(rita, story):
    record("label.submitted", slice_id=story + 1000)
    events = browser_for(rita).get(url(story)).context["history"].events
    assert all(row.slice_id == story for row in events)


def test_the_admin_may_look_too(carol, story):
    assert browser_for(carol).get(url(story)).status_code == 200


def test_annotators_label_blind_and_may_not_look_even_at_their_own_slice(alice, story):
    response = browser_for(alice).get(url(story))
    assert response.status_code == 403
    assert "ivde" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(story):
    response = Client().get(url(story))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_slice_is_not_found(rita):
    assert browser_for(rita).get(url(999999)).status_code == 404


def test_a_slice_nobody_labeled_says_so(rita):
    untouched = make_series(slices=1).instances.get()
    page = browser_for(rita).get(url(untouched.pk)).content.decode()
    assert "Nobody has labeled this slice yet." in page
    assert "No events for this slice." in page
