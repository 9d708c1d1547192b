"""What trains the model after review (DACHS_TRAIN_ON), when a retrain is due, which slices
get scored for the review queue, and the counts the clinic's admin sees.

Alice is an annotator, Rita reviews her labels, Carol is the admin. Review decisions are
written here as the review services write them: approve is an approve Review on the label
version; correct is a new version of Alice's chain by Rita with source "review"; reject is
a withdrawn version with source "review" that is the result of a reject Review.
"""

import pytest
from django.db import transaction
from django.test import Client

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, edit, withdraw, write_version
from annotator.learning import dataset, policy, scoring, tasks
from annotator.learning.models import Prediction, TrainingRun
from annotator.review import status
from annotator.review.models import Decision, Review, ReviewItem
from annotator.worklist import items
from annotator.worklist.models import QueueItem
from tests.conftest import client_for
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def single_reads(settings):
    """Every slice read once here; double reads have their own tests."""
    settings.DOUBLE_READ_SHARE = 0


def approve(label: Label, reviewer) -> Review:
    return Review.objects.create(label=label, reviewer=reviewer, decision=Decision.APPROVE)


def correct(label: Label, reviewer, findings: list[str]) -> Label:
    with transaction.atomic():
        items.lock_item(label.instance_id)
        version = write_version(
            label.instance,
            label.reader,
            reviewer,
            LabelContent(findings=findings),
            label,
            source=Label.Source.REVIEW,
        )
        Review.objects.create(
            label=label,
            reviewer=reviewer,
            decision=Decision.CORRECT,
            findings=findings,
            result=version,
        )
    return version


def reject(label: Label, reviewer) -> Label:
    with transaction.atomic():
        items.lock_item(label.instance_id)
        version = Label.objects.create(
            instance_id=label.instance_id,
            reader_id=label.reader_id,
            author=reviewer,
            version=label.version + 1,
            findings=label.findings,
            source=Label.Source.REVIEW,
            withdrawn=True,
        )
        items.unmark_read(label.instance_id, label.reader)
        Review.objects.create(
            label=label, reviewer=reviewer, decision=Decision.REJECT, result=version
        )
    return version


def read(reader, instance: Instance, content: LabelContent) -> Label:
    """A reader's label on this slice, as submitting it writes it (without the queue)."""
    with transaction.atomic():
        items.lock_item(instance.pk)
        return write_version(instance, reader, reader, content, None)


def imported(reader, findings: list[str]) -> Label:
    """A label `manage.py import_labels` would bring in, on a slice the reader never read."""
    unread = QueueItem.objects.filter(done=False).exclude(instance__labels__reader=reader)
    item = unread.order_by("base_rank").first()
    content = LabelContent(findings=findings)
    with transaction.atomic():
        items.lock_item(item.instance_id)
        return write_version(item.instance, reader, reader, content, None, Label.Source.IMPORT)


@pytest.fixture
def reviewed(alice, rita):
    """Alice's five training-dog labels: one of each review outcome, and one waiting."""
    make_series(slices=6, split="train")
    labels = {
        name: label_next(alice, [finding])
        for name, finding in [
            ("approved", "ivde"),
            ("corrected", "ivdp"),
            ("rejected", "neoplasia"),
            ("waiting", "ivde"),
        ]
    }
    approve(labels["approved"], rita)
    labels["corrected"] = correct(labels["corrected"], rita, ["fce_annpe"])
    labels["rejected"] = reject(labels["rejected"], rita)
    labels["imported"] = imported(alice, ["syringomyelia"])
    return labels


def trains(labels: dict[str, Label]) -> set[str]:
    """Which of the named labels' slices the training split hands to the model."""
    current = dataset.current_labels("train")
    return {name for name, label in labels.items() if label.instance_id in current}


def test_every_label_not_rejected_trains_by_default(reviewed, settings, django_assert_num_queries):
    assert settings.TRAIN_ON == "submitted"
    with django_assert_num_queries(1):
        dataset.current_labels("train")
    assert trains(reviewed) == {"approved", "corrected", "waiting", "imported"}
    # A correction trains with the reviewer's findings, not the annotator's.
    current = dataset.current_labels("train")
    assert current[reviewed["corrected"].instance_id].findings == ["fce_annpe"]


def test_with_accepted_only_reviewed_or_imported_training_labels_train(
    reviewed, settings, django_assert_num_queries
):
    settings.TRAIN_ON = "accepted"
    with django_assert_num_queries(2):
        current = dataset.current_labels("train")
    assert trains(reviewed) == {"approved", "corrected", "imported"}
    assert current[reviewed["corrected"].instance_id].findings == ["fce_annpe"]


def test_an_admins_edit_after_approval_waits_for_review_again(alice, rita, carol, settings):
    settings.TRAIN_ON = "accepted"
    make_series(slices=1, split="train")
    label = label_next(alice, ["ivde"])
    approve(label, rita)
    assert label.instance_id in dataset.current_labels("train")
    newer = edit(carol, label.pk, LabelContent(findings=["ivdp"]), version=1)
    assert status.status_of(newer) == status.SUBMITTED
    assert dataset.current_labels("train") == {}


def test_validation_and_test_labels_count_from_submission_whatever_the_rule(alice, settings):
    settings.TRAIN_ON = "accepted"
    make_series(slices=1, split="val")
    make_series(slices=1, split="test")
    label_next(alice, ["ivde"])
    label_next(alice, ["ivdp"])
    assert len(dataset.current_labels("val")) == 1
    assert len(dataset.current_labels("test")) == 1


def test_status_counts_per_split_in_one_query(reviewed, alice, carol, django_assert_num_queries):
    first, second, third = make_series(slices=3, split="val").instances.order_by("id")
    read(alice, first, LabelContent(findings=["ivde"]))
    withdraw(carol, read(alice, second, LabelContent(findings=["ivde"])).pk)  # not rejected
    read(alice, third, LabelContent(cant_tell="artefact"))

    with django_assert_num_queries(1):
        counts = status.counts_by_status()
    assert counts["train"] == {
        "submitted": 1,
        "approved": 1,
        "corrected": 1,
        "imported": 1,
        "rejected": 1,
        "withdrawn": 0,
        "cant_tell": 0,
    }
    assert counts["val"]["submitted"] == 2  # the val label and the can't-tell one
    assert counts["val"]["withdrawn"] == 1
    assert counts["val"]["cant_tell"] == 1
    assert counts["test"] == dict.fromkeys(counts["test"], 0)
    assert counts["total"]["submitted"] == 3
    for name in ("approved", "corrected", "imported", "rejected"):
        assert status.status_of(reviewed[name]) == name
    with django_assert_num_queries(1):
        accepted = status.accepted_label_ids(label.pk for label in reviewed.values())
    assert accepted == {reviewed[n].pk for n in ("approved", "corrected", "imported")}


def label_via_api(client, django_capture_on_commit_callbacks) -> Label:
    slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/annotations/", {"slice": slice_id, "findings": ["ivde"]}, format="json"
        )
    return Label.objects.get(pk=response.json()["id"])


def test_with_accepted_unreviewed_labels_queue_no_run_and_their_approval_does(
    alice, rita, rq_redis, settings, django_capture_on_commit_callbacks
):
    settings.TRAIN_ON = "accepted"
    settings.RETRAIN_EVERY = 3
    settings.QUEUE_LOOKAHEAD = 0
    make_series(slices=5, split="train")
    client = client_for(alice)
    labels = [label_via_api(client, django_capture_on_commit_callbacks) for _ in range(3)]
    assert not TrainingRun.objects.exists()
    assert policy.labels_since_last_run() == 0

    approve(labels[0], rita)
    approve(labels[1], rita)
    policy.labels_changed()  # what the review decision calls once it commits
    assert not TrainingRun.objects.exists()
    approve(labels[2], rita)
    policy.labels_changed()
    run = TrainingRun.objects.get()
    assert (run.trigger, run.status) == ("labels", "queued")
    assert rq_redis.llen("rq:queue:training") == 1
    # Approvals before the run was requested are in it: nothing new since.
    assert policy.labels_since_last_run() == 0


def test_with_accepted_corrections_and_imports_count_rejections_do_not(alice, rita, settings):
    settings.TRAIN_ON = "accepted"
    make_series(slices=5, split="train")
    first, second = label_next(alice, ["ivde"]), label_next(alice, ["ivdp"])
    assert policy.labels_since_last_run() == 0
    correct(first, rita, ["neoplasia"])
    reject(second, rita)
    imported(alice, ["ivde"])
    assert policy.labels_since_last_run() == 2
    settings.TRAIN_ON = "submitted"
    assert policy.labels_since_last_run() == 2  # the corrected slice and the imported one


def waits(label: Label, state: str = ReviewItem.Status.PENDING) -> None:
    """The label's review item, in this state (submitting may have opened it already)."""
    ReviewItem.objects.update_or_create(
        label=label, defaults={"instance": label.instance, "reader": label.reader, "status": state}
    )


def test_slices_whose_label_awaits_review_are_scored_too(alice, bob):
    make_series(slices=4, split="train")
    waiting = label_next(alice, ["ivde"])
    decided = label_next(bob, ["ivdp"])
    waits(waiting)
    waits(decided, ReviewItem.Status.DECIDED)
    open_slices = set(QueueItem.objects.filter(done=False).values_list("instance_id", flat=True))
    assert len(open_slices) == 2
    assert scoring.open_pool() == sorted(open_slices | {waiting.instance_id})


def test_a_scoring_job_scores_the_slices_waiting_for_review(tiny_cohort, alice, tmp_path):
    from tests.learning.test_score_new_series import served_untrained_model

    ingest_paths(sorted(p for p in tiny_cohort.iterdir() if p.is_dir()))
    version = served_untrained_model(tmp_path)
    waiting = label_next(alice, ["ivde"])
    waits(waiting)
    still_open = QueueItem.objects.filter(done=False).order_by("id").first()
    QueueItem.objects.exclude(pk=still_open.pk).update(done=True)  # a small pool, quickly
    assert tasks.score(version.pk) == 2
    scored = set(Prediction.objects.filter(model=version).values_list("instance_id", flat=True))
    assert scored == {waiting.instance_id, still_open.instance_id}


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_sees_the_training_data_and_what_trains(reviewed, carol, settings):
    page = browser_for(carol).get("/models/").content.decode()
    assert "Training data" in page
    assert "Trains on: submitted labels (every label not rejected)." in page
    # train, val, test, all, trains
    assert '<th scope="row">Approved</th><td>1</td><td>0</td><td>0</td><td>1</td><td>yes' in page
    assert '<th scope="row">Rejected</th><td>1</td><td>0</td><td>0</td><td>1</td><td>no' in page
    assert '<th scope="row">Submitted, awaiting review</th><td>1</td>' in page

    settings.TRAIN_ON = "accepted"
    page = browser_for(carol).get("/models/").content.decode()
    assert "Trains on: accepted labels (approved, corrected or imported)" in page
    assert "awaiting review</th><td>1</td><td>0</td><td>0</td><td>1</td><td>no" in page


def test_vets_and_reviewers_do_not_see_the_training_data(reviewed, alice, rita):
    for user in (alice, rita):
        page = browser_for(user).get("/models/")
        assert page.status_code == 200
        assert "Training data" not in page.content.decode()
