"""Alice's day in the labeling workspace, in a real browser: toggles and Enter, one-key mode,
can't tell, a comment, undo, changing a recent label (and a stale change refused), the
model's guess held back until she has chosen, the key list and her counts in the header."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from annotator.accounts.models import Preferences
from annotator.imaging.ingest import ingest_paths
from annotator.labeling.models import Label
from tests.conftest import client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def one_dog(tiny_cohort):
    ingest_paths([sorted(p for p in tiny_cohort.iterdir() if p.is_dir())[0]])


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.problems = problems
    yield page
    page.close()


def log_in(page, live_server, username: str = "alice") -> str:
    """Log in through the form and wait for the first slice; returns its id."""
    page.goto(f"{live_server.url}/label/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/label/")
    return rendered(page)


def rendered(page, other_than: str | None = None) -> str:
    """The slice to label once it is on screen (a different one than `other_than`)."""
    try:
        page.wait_for_function(
            "prev => { const v = document.querySelector('#viewer');"
            " return v.dataset.renderedSlice && v.dataset.renderedSlice !== prev; }",
            arg=other_than or "",
            timeout=20_000,
        )
    except Exception:
        page.screenshot(path=str(Path(settings.DATA_DIR) / "workspace-failed.png"))
        shown = page.inner_text("main")[:600]
        raise AssertionError(f"no slice rendered; the page says {shown}") from None
    return page.get_attribute("#viewer", "data-rendered-slice")


def pressed(page) -> list[str]:
    return page.eval_on_selector_all(
        "button[data-finding][aria-pressed=true]", "els => els.map(e => e.dataset.finding)"
    )


def stored(user) -> dict[int, Label]:
    """The newest version of each of the user's labels, by slice."""
    newest = {}
    for label in Label.objects.filter(reader=user).order_by("version"):
        newest[label.instance_id] = label
    # Playwright's greenlets gave Django a connection of their own: close it, or PostgreSQL
    # refuses to drop the test database at the end of the run.
    connections.close_all()
    return newest


def wait_for_saves(page) -> None:
    """The next slice shows at once; its predecessor's save may still be on its way."""
    page.wait_for_selector("#label-app[data-saving='0']", state="attached")


def test_alice_toggles_several_findings_comments_and_saves_with_enter(
    live_server, browser, page, one_dog, alice
):
    first = log_in(page, live_server)
    assert page.get_attribute("#label-app", "data-findings") == ""

    page.keyboard.press("2")
    page.keyboard.press("3")
    assert pressed(page) == ["ivde", "ivdp"]
    page.keyboard.press("1")  # unremarkable clears the lesions ...
    assert pressed(page) == ["unremarkable"]
    page.keyboard.press("4")  # ... and a lesion clears unremarkable
    page.keyboard.press("6")
    assert pressed(page) == ["fce_annpe", "neoplasia"]

    page.keyboard.press("m")
    page.keyboard.type("cord swollen at T13")
    page.keyboard.press("Enter")  # Enter in the comment saves as well
    second = rendered(page, other_than=first)
    assert pressed(page) == [], "the next slice starts without findings"
    assert page.input_value("#comment") == ""
    wait_for_saves(page)

    label = stored(alice)[int(first)]
    assert (label.findings, label.comment, label.cant_tell) == (
        ["fce_annpe", "neoplasia"],
        "cord swollen at T13",
        "",
    )
    assert second != first
    assert page.problems == []


def test_in_one_key_mode_a_finding_key_saves_at_once(live_server, browser, page, one_dog, alice):
    Preferences.objects.create(user=alice, one_key_mode=True)
    connections.close_all()
    first = log_in(page, live_server)
    assert page.is_checked("#pref-one-key")
    page.keyboard.press("3")
    rendered(page, other_than=first)
    wait_for_saves(page)
    assert stored(alice)[int(first)].findings == ["ivdp"]


def test_alice_says_she_cant_tell_and_why(live_server, browser, page, one_dog, alice):
    first = log_in(page, live_server)
    page.keyboard.press("x")
    page.wait_for_selector("#cant-tell-reasons", state="visible")
    page.keyboard.press("2")  # wrong region
    rendered(page, other_than=first)
    wait_for_saves(page)
    label = stored(alice)[int(first)]
    assert (label.findings, label.cant_tell) == ([], "wrong_region")


def test_alice_undoes_her_last_label_and_labels_the_slice_again(
    live_server, browser, page, one_dog, alice
):
    first = log_in(page, live_server)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    second = rendered(page, other_than=first)
    wait_for_saves(page)

    page.keyboard.press("u")
    assert rendered(page, other_than=second) == first
    page.wait_for_selector("#notice:has-text('Undone')")
    assert pressed(page) == ["ivde"], "the undone choice comes back to be fixed"
    assert stored(alice)[int(first)].withdrawn

    page.keyboard.press("2")  # off
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    assert rendered(page, other_than=first) == second, "then the slice she was shown before"
    wait_for_saves(page)
    label = stored(alice)[int(first)]
    assert (label.version, label.findings, label.withdrawn) == (3, ["ivdp"], False)
    assert page.problems == []


def test_alice_reopens_a_recent_label_and_a_stale_change_is_refused_in_the_page(
    live_server, browser, page, one_dog, alice
):
    first = log_in(page, live_server)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    rendered(page, other_than=first)
    wait_for_saves(page)

    page.keyboard.press("r")
    page.click(f"#recent-list button[data-slice='{first}']")
    page.wait_for_selector("#edit-banner:has-text('version 1')")
    assert rendered(page, other_than="") == first
    assert pressed(page) == ["ivde"]

    # Meanwhile the same label is changed in another session (another tab of hers).
    label_id = stored(alice)[int(first)].pk
    elsewhere = client_for(alice).put(
        f"/api/annotations/{label_id}/", {"findings": ["ivdp"], "version": 1}, format="json"
    )
    assert elsewhere.status_code == 201
    connections.close_all()

    page.keyboard.press("6")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error:has-text('changed meanwhile')")
    assert "version 2" in page.inner_text("#error")
    assert stored(alice)[int(first)].findings == ["ivdp"], "no silent overwrite"

    # Reopened, the current version is changed.
    page.keyboard.press("r")
    page.click(f"#recent-list button[data-slice='{first}']")
    page.wait_for_selector("#edit-banner:has-text('version 2')")
    page.keyboard.press("5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status:has-text('Saved your change')")
    label = stored(alice)[int(first)]
    assert (label.version, label.findings) == (3, ["ivdp", "syringomyelia"])


def test_the_guess_stays_hidden_until_alice_has_chosen(live_server, browser, page, one_dog, alice):
    from annotator.imaging.models import Instance
    from annotator.learning import registry
    from annotator.learning.models import ModelVersion, Prediction, TrainingRun

    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/g.pt")
    registry.promote_if_chosen(model, 0.9, None, None)
    probabilities = {"ivde": 0.9, "ivdp": 0.05, "unremarkable": 0.05}
    for instance in Instance.objects.all():
        Prediction.objects.create(
            instance=instance, model=model, finding="ivde", probabilities=probabilities
        )
    connections.close_all()

    log_in(page, live_server)
    assert page.get_attribute("#prediction", "data-state") == "hidden"
    assert "suggests" not in page.inner_text("#prediction")
    page.wait_for_selector(f"#stat-model:has-text('v{model.pk}')")

    page.keyboard.press("4")
    assert page.get_attribute("#prediction", "data-state") == "shown"
    assert "suggests IVDE (90%)" in page.inner_text("#prediction-summary")
    # Entropy of (0.9, 0.05, 0.05) over three findings, normalised: 0.36 → low.
    assert page.inner_text("#prediction-uncertainty").startswith("Uncertain: low")


def test_question_mark_lists_every_key(live_server, browser, page, one_dog, alice):
    log_in(page, live_server)
    page.keyboard.press("?")
    page.wait_for_selector("#help", state="visible")
    keys = page.inner_text("#help-keys")
    for what in [
        "Toggle a finding",
        "Can't tell",
        "Box mode",
        "Undo",
        "My recent labels",
        "Other weighting",
        "heatmap",
        "T1W",
        "Invert",
        "Cine",
        "Back to the target",
    ]:
        assert what.lower() in keys.lower(), what
    page.keyboard.press("Escape")
    page.wait_for_selector("#help", state="hidden")


def test_ten_slices_in_a_row_count_in_the_header_without_a_console_error(
    live_server, browser, page, one_dog, alice
):
    current = log_in(page, live_server)
    page.wait_for_selector("#stat-today:has-text('0')")
    queue_before = int(page.inner_text("#stat-queue"))
    labeled = []
    for n in range(10):
        page.keyboard.press(str(2 + n % 5))
        page.keyboard.press("Enter")
        labeled.append(current)
        current = rendered(page, other_than=current)
    wait_for_saves(page)
    page.wait_for_selector("#stat-today:text-is('10')")
    # What the workspace looks like after a run, for anyone checking the layout by eye.
    page.screenshot(path=str(Path(settings.DATA_DIR) / "workspace.png"))
    assert page.inner_text("#stat-total") == "10"
    assert int(page.inner_text("#stat-queue")) == queue_before - 10
    assert len(set(labeled)) == 10
    assert sorted(stored(alice)) == sorted(int(s) for s in labeled)
    assert page.problems == []


def test_a_newly_promoted_model_updates_the_guess_on_screen(
    live_server, browser, page, one_dog, alice, monkeypatch
):
    from annotator.imaging.models import Instance
    from annotator.learning import registry
    from annotator.learning.models import ModelVersion, Prediction, TrainingRun

    monkeypatch.setattr("annotator.web.views.MODEL_POLL_SECONDS", 1)
    Preferences.objects.create(user=alice, show_guess="at_once")
    connections.close_all()
    log_in(page, live_server)
    assert page.inner_text("#prediction-summary") == "No model yet"

    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/n.pt")
    for instance in Instance.objects.all():
        Prediction.objects.create(
            instance=instance, model=model, finding="ivdp", probabilities={"ivdp": 0.5, "ivde": 0.5}
        )
    registry.promote_if_chosen(model, 0.9, None, None)
    connections.close_all()

    page.wait_for_selector("#model-notice:has-text('guess for this slice was updated')")
    assert f"Model v{model.pk} suggests IVDP (50%)" in page.inner_text("#prediction-summary")
    assert page.inner_text("#prediction-uncertainty").startswith("Uncertain: high")
    assert page.inner_text("#stat-model") == f"model v{model.pk}"
