"""The audit log page: Carol, the clinic's admin, looks up who did what and when.

Alice and Bob (annotators) label; Rita reviews. Only Carol may read the log.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from annotator.accounts.roles import set_role
from annotator.audit.log import record

pytestmark = pytest.mark.django_db

URL = "/audit/"


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def at(monkeypatch):
    """Record events as if at a given moment (UTC)."""

    def record_at(moment: datetime, *args, **kwargs):
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
        try:
            return record(*args, **kwargs)
        finally:
            monkeypatch.undo()

    return record_at


def actions(response) -> list[str]:
    return [row.action for row in response.context["rows"]]


def test_only_the_admin_reads_the_audit_log(alice, rita, carol):
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert browser_for(alice).get(URL).status_code == 403
    assert browser_for(rita).get(URL).status_code == 403
    assert browser_for(carol).get(URL).status_code == 200


def test_events_come_newest_first_fifty_to_a_page(carol, alice):
    for n in range(60):
        record("label.submitted", actor=alice, slice_id=n + 1, instance=n + 1)
    client = browser_for(carol)

    first = client.get(URL)
    rows = first.context["rows"]
    assert len(rows) == 50
    assert [r.slice_id for r in rows[:3]] == [60, 59, 58]
    assert 'href="?page=2"' in first.content.decode()

    last_page = first.context["page"].paginator.num_pages
    last = client.get(URL, {"page": last_page})
    assert last.context["rows"][-1].action == "user.created"  # the first thing that happened


def test_a_page_of_events_costs_a_fixed_number_of_queries(
    carol, alice, bob, django_assert_max_num_queries
):
    for n in range(50):
        record("lease.taken_over", actor=bob, slice_id=n, previous_holder=alice.pk)
        set_role(bob, "reviewer" if n % 2 == 0 else "annotator", actor=carol)
    client = browser_for(carol)
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert len(response.context["rows"]) == 50


def test_carol_finds_what_alice_did(carol, alice, bob):
    record("label.submitted", actor=alice, slice_id=1)
    record("label.submitted", actor=bob, slice_id=2)

    response = browser_for(carol).get(URL, {"user": "alice"})

    assert [(r.who, r.slice_id) for r in response.context["rows"]] == [("alice", 1)]


def test_kind_is_an_action_a_family_or_a_prefix(carol, rita):
    record("review.approved", actor=rita, slice_id=1)
    record("review.corrected", actor=rita, slice_id=2)
    record("reviewer.note", actor=rita)  # another family that starts with the same letters
    client = browser_for(carol)

    assert actions(client.get(URL, {"kind": "review.approved"})) == ["review.approved"]
    assert actions(client.get(URL, {"kind": "review."})) == ["review.corrected", "review.approved"]
    assert actions(client.get(URL, {"kind": "review"})) == ["review.corrected", "review.approved"]
    page = client.get(URL).content.decode()
    assert '<option value="review.">' in page and '<option value="review.approved">' in page


def test_dates_are_days_in_the_clinics_time_zone(carol, alice, at, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 23:30 on 1 March in Berlin, then 00:30 on 2 March in Berlin.
    at(datetime(2026, 3, 1, 22, 30, tzinfo=UTC), "label.submitted", actor=alice, slice_id=1)
    at(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "label.submitted", actor=alice, slice_id=2)
    client = browser_for(carol)

    second = client.get(URL, {"kind": "label.", "from": "2026-03-02", "to": "2026-03-02"})
    first = client.get(URL, {"kind": "label.", "to": "2026-03-01"})

    assert [r.slice_id for r in second.context["rows"]] == [2]
    assert [r.slice_id for r in first.context["rows"]] == [1]
    assert "2026-03-02 00:30:00" in second.content.decode()  # shown in Berlin time too


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"user": "zoe"}, "User: nobody is called &#x27;zoe&#x27;."),
        ({"kind": "label'; DROP TABLE x"}, "Kind: give an action such as label.submitted"),
        ({"from": "2026-02-30"}, "From: enter a date as YYYY-MM-DD."),
        ({"to": "yesterday"}, "To: enter a date as YYYY-MM-DD."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "From (2026-03-02) is after to (2026-03-01)."),
        ({"user": "x" * 500}, "User: Ensure this value has at most 150 characters"),
    ],
)
def test_a_bad_filter_gets_a_message_not_an_error_page(carol, query, message):
    response = browser_for(carol).get(URL, query)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["rows"] == []


@pytest.mark.parametrize(
    "query",
    [{"page": "abc"}, {"page": "99999"}, {"from": "0001-01-01", "to": "9999-12-31"}],
)
def test_odd_but_harmless_values_still_show_the_log(carol, query):
    response = browser_for(carol).get(URL, query)
    assert response.status_code == 200
    assert response.context["rows"]


def test_a_row_says_who_changed_what_from_what_to_what(carol, bob):
    set_role(bob, "reviewer", actor=carol)

    response = browser_for(carol).get(URL, {"kind": "user.role_changed", "user": "carol"})

    [row] = response.context["rows"]
    assert (row.who, row.target, row.before, row.after) == (
        "carol",
        "user bob",
        "annotator",
        "reviewer",
    )
    assert "annotator → reviewer" in response.content.decode()


def test_a_slice_event_links_to_the_slices_history(carol, alice, bob):
    record("lease.taken_over", actor=bob, slice_id=42, kind="label", previous_holder=alice.pk)

    response = browser_for(carol).get(URL, {"kind": "lease."})

    page = response.content.decode()
    assert 'href="/slices/42/history/"' in page
    assert "previous holder: alice" in page  # a user id shown as the user's name


def test_events_of_commands_and_jobs_are_the_systems(carol):
    record("model.kept_as_candidate", reason="worse on validation dogs")
    response = browser_for(carol).get(URL, {"kind": "model."})
    [row] = response.context["rows"]
    assert row.who == "system"
    assert ("reason", "worse on validation dogs") in row.details


def test_a_day_without_events_says_so(carol):
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    response = browser_for(carol).get(URL, {"from": tomorrow})
    assert response.status_code == 200
    assert "No events match." in response.content.decode()
