"""The models page as a vet and as the clinic's admin see it."""

import numpy as np
import pytest
from django.test import Client

from annotator.learning import registry
from annotator.learning.models import Evaluation, ModelVersion, TrainingRun
from ml.report import table2

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def version_with_report() -> ModelVersion:
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(run=run, checkpoint_key="ab/x.pt")
    registry.promote_if_chosen(version, 0.9, None, None)
    rng = np.random.default_rng(3)
    truth = np.zeros((8, 2), dtype=bool)
    truth[:2, 0] = True
    probs = np.where(truth, 0.9, 0.1) + rng.uniform(0, 0.05, (8, 2))
    body = table2(
        probs,
        truth,
        np.array([0.5, 0.5]),
        ["ivde", "ivdp"],
        ["sagittal"] * 4 + ["transverse"] * 4,
        ["T1W", "T2W"] * 4,
        [1, 1, 1, 1, 2, 2, 2, 2],
    )
    Evaluation.objects.create(
        model=version, split="test", n=8, metrics={"model_version": version.pk, **body}
    )
    return version


def test_a_vet_sees_runs_and_versions_but_no_buttons(alice):
    TrainingRun.objects.create(trigger="labels", status="failed", error="disk full")
    version = version_with_report()
    page = browser_for(alice).get("/models/").content.decode()
    assert "disk full" in page
    assert f"v{version.pk}" in page
    assert "Retrain now" not in page
    assert "Roll back" not in page


def test_the_admin_retrains_from_the_page(carol, rq_redis):
    client = browser_for(carol)
    assert "Retrain now" in client.get("/models/").content.decode()
    response = client.post("/models/retrain/", follow=True)
    assert "Training requested" in response.content.decode()
    run = TrainingRun.objects.get()
    assert (run.trigger, run.requested_by) == ("manual", carol)
    assert rq_redis.llen("rq:queue:training") == 1
    page = client.get("/models/").content.decode()
    assert 'http-equiv="refresh"' in page  # follows the run until it ends
    client.post(f"/training-runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_a_vet_cannot_press_the_admins_buttons(alice, rq_redis):
    client = browser_for(alice)
    assert client.post("/models/retrain/").status_code == 403
    version = version_with_report()
    assert client.post(f"/models/{version.pk}/rollback/").status_code == 403
    assert TrainingRun.objects.filter(trigger="manual", status="queued").count() == 0


def test_with_redis_down_the_retrain_button_says_so(carol, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = browser_for(carol).post("/models/retrain/", follow=True)
    assert "cannot be reached" in response.content.decode()


def test_the_report_page_shows_table_2_with_the_counts_behind_each_cell(alice):
    version = version_with_report()
    page = browser_for(alice).get(f"/models/{version.pk}/").content.decode()
    assert 'id="table2"' in page
    assert "sag T1W" in page and "tra T2W" in page
    assert "tp 1 fn 0" in page  # the first ivde slice is sagittal T1W
    assert "<svg" in page  # ROC curves
    assert "within-dog AUROC" in page


def test_a_version_without_a_test_report_says_how_to_make_one(alice):
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(run=run, checkpoint_key="ab/y.pt")
    page = browser_for(alice).get(f"/models/{version.pk}/").content.decode()
    assert f"manage.py evaluate --model-version {version.pk}" in page
    assert browser_for(alice).get("/models/424242/").status_code == 404


def test_a_running_run_shows_its_progress_from_the_worker(alice, rq_redis):
    from rq.job import Job

    job = Job.create("annotator.learning.tasks.train", args=(1,), connection=rq_redis)
    job.meta.update(stage="training", step=40, steps=80, loss=0.21, val_macro_auroc=0.9, eta_s=33)
    job.save()
    TrainingRun.objects.create(trigger="manual", status="running", rq_job_id=job.id)
    page = browser_for(alice).get("/models/").content.decode()
    assert '<progress max="100" value="50">' in page
    assert "step 40/80, loss 0.210, validation macro AUROC 0.900, about 33 s left" in page
