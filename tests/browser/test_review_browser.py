"""Rita reviews in a real browser: approve, correct and reject with the keyboard; the vet whose
label she rejected finds it, with her reason, on their "Returned to me" page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections, transaction

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, write_version
from annotator.review import queue
from annotator.review.models import Review
from annotator.worklist import items
from tests.factories import label_next

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY = "#review-app[data-busy=false] #viewer[data-rendered-slice]"


def log_in(page, live_server, username: str, path: str) -> None:
    """Open a page and log in through the form, as a vet does."""
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{path}")


def label_on_screen(page) -> int:
    """The id of the label under review, once its slice is drawn and decisions are open."""
    try:
        page.wait_for_selector(f"{READY}", state="attached", timeout=20_000)
        page.wait_for_selector("#approve:not([disabled])", timeout=5_000)
    except Exception:
        page.screenshot(path=str(Path(settings.DATA_DIR) / "failed-review.png"))
        shown = page.inner_text("body")[:600]
        raise AssertionError(f"no label came up for review; {page.url} shows {shown}") from None
    return int(page.get_attribute("#review-app", "data-label"))


def next_label_or_empty(page, previous: int) -> None:
    """Wait until the page has moved past `previous`: another label, or the empty queue."""
    page.wait_for_function(
        "prev => { const app = document.querySelector('#review-app');"
        " if (app.dataset.busy !== 'false') return false;"
        " if (!document.querySelector('#queue-empty').hidden) return true;"
        " return app.dataset.label && app.dataset.label !== prev; }",
        arg=str(previous),
        timeout=20_000,
    )


def pressed_findings(page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            "#correction button[aria-pressed=true]", "bs => bs.map(b => b.dataset.finding)"
        )
    )


@pytest.fixture
def one_dog(tiny_cohort, settings):
    # Single reads only: every label is ready for review as soon as it is written.
    settings.DOUBLE_READ_SHARE = 0.0
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])


def test_rita_approves_corrects_and_rejects_with_the_keyboard(
    live_server, browser, one_dog, alice, bob, rita
):
    labels = {
        label_next(bob, ["ivde"]).pk,
        label_next(alice, ["ivde"]).pk,
        label_next(alice, ["unremarkable"]).pk,
    }
    connections.close_all()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "rita", "/review/")

    approved = label_on_screen(page)
    page.keyboard.press("a")
    next_label_or_empty(page, approved)

    corrected = label_on_screen(page)
    page.keyboard.press("c")
    page.wait_for_selector("#correction:not([hidden])")
    # The annotator's findings come prefilled; 3 switches IVDP on (and "unremarkable" off),
    # 2 switches IVDE off.
    before = set(Label.objects.get(pk=corrected).findings)
    assert pressed_findings(page) == before
    page.keyboard.press("3")
    if "ivde" in before:
        page.keyboard.press("2")
    assert pressed_findings(page) == {"ivdp"}
    page.keyboard.press("Enter")
    next_label_or_empty(page, corrected)

    rejected = label_on_screen(page)
    page.keyboard.press("r")
    page.wait_for_selector("#reject-reason:focus")
    page.keyboard.press("Enter")  # no reason yet: refused, and said so
    page.wait_for_selector("#error:has-text('Give a reason')")
    assert not Review.objects.filter(label_id=rejected).exists()
    page.keyboard.type("Wrong level: this is L1, the lesion is at T13")
    page.keyboard.press("Enter")
    next_label_or_empty(page, rejected)
    page.wait_for_selector("#queue-empty:has-text('Nothing waits for review')")

    decided = {r.label_id: r for r in Review.objects.filter(reviewer=rita)}
    assert set(decided) == labels == {approved, corrected, rejected}
    assert decided[approved].decision == "approve"
    assert decided[corrected].decision == "correct"
    assert decided[corrected].findings == ["ivdp"]
    assert decided[corrected].result.author == rita
    assert decided[rejected].decision == "reject"
    assert decided[rejected].result.withdrawn
    annotator = Label.objects.get(pk=rejected).reader.username
    connections.close_all()
    assert errors == []

    vet = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(vet, live_server, annotator, "/returned/")
    row = vet.locator(f"#returned tr[data-label='{rejected}']")
    assert "Wrong level: this is L1, the lesion is at T13" in row.inner_text()
    assert row.locator(".reviewer").inner_text() == "rita"
    assert vet.locator("#returned tbody tr[data-label]").count() == 1


def test_hidden_answers_stay_hidden_until_space(live_server, browser, one_dog, alice, rita):
    label_next(alice, ["syringomyelia"])
    connections.close_all()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server, "rita", "/review/")
    label_on_screen(page)
    assert page.is_visible("#answer-findings:has-text('Syringomyelia')")

    page.check("#hide-answers")
    assert not page.is_visible("#answer-findings")
    assert page.is_disabled("#approve")
    page.keyboard.press("a")  # refused while she has not seen the answers
    page.wait_for_selector("#status:has-text('Space')")

    # The choice is hers and stays: after a reload the answers start hidden.
    page.reload()
    page.wait_for_selector(READY, state="attached", timeout=20_000)
    assert page.is_checked("#hide-answers")
    assert not page.is_visible("#answer-findings")

    page.keyboard.press(" ")
    page.wait_for_selector("#answer-findings:has-text('Syringomyelia')")
    assert page.is_enabled("#approve")
    assert not Review.objects.exists()
    connections.close_all()


def test_the_other_read_of_a_double_read_follows_on_the_same_slice(
    live_server, browser, tiny_cohort, alice, bob, rita, settings
):
    settings.DOUBLE_READ_SHARE = 1.0  # every slice is read blind by two vets
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])
    instance = Instance.objects.order_by("pk").first()
    with transaction.atomic():  # the two reads, as labeling's submit writes them
        items.lock_item(instance.pk)
        for vet, finding in [(alice, "ivde"), (bob, "ivdp")]:
            queue.open_items_for(write_version(instance, vet, vet, LabelContent([finding]), None))
    connections.close_all()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server, "rita", "/review/")

    first = label_on_screen(page)
    assert "annotators disagree" in page.inner_text("#priority-reasons")
    other_reader = "bob" if page.inner_text("#answer-reader").startswith("alice") else "alice"
    assert page.inner_text("#other-labels").startswith(f"{other_reader}: ")
    assert "disagrees" in page.inner_text("#other-labels")
    page.keyboard.press("a")
    next_label_or_empty(page, first)

    label_on_screen(page)
    assert page.inner_text("#answer-reader").startswith(other_reader)
    assert page.get_attribute("#viewer", "data-rendered-slice") == str(instance.pk)
    first_reader = "alice" if other_reader == "bob" else "bob"
    assert page.inner_text("#other-labels").startswith(f"{first_reader}: ")
