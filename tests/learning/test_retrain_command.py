"""`manage.py retrain --wait`: follows the run on a worker, or trains here without one."""

import io
import json
import os
import signal
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotator.imaging.ingest import ingest_paths
from annotator.learning.models import TrainingRun
from tests.learning.test_training_job import label_from_manifest
from tests.learning.workers import start_worker


@pytest.fixture
def labeled(tiny_cohort, alice, settings):
    settings.TRAIN_STEPS, settings.LOCALISER_STEPS = 30, 30
    dogs = sorted(p for p in tiny_cohort.iterdir() if p.is_dir())
    ingest_paths(dogs[:4])
    label_from_manifest(tiny_cohort, alice, ["train", "val"])


def output_of(*args: str) -> str:
    out = io.StringIO()
    call_command("retrain", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_without_a_worker_it_trains_here_and_prints_the_result(labeled, rq_redis):
    out = output_of("--wait")
    assert "no worker listens, training here" in out
    body = json.loads(out[out.index("{") :])
    assert body["status"] == "finished"
    assert body["model_status"] == "promoted"
    assert body["validation"]["n"] > 0
    assert TrainingRun.objects.get().status == TrainingRun.Status.FINISHED


@pytest.mark.django_db(transaction=True)
def test_with_a_worker_it_follows_the_run_to_its_end(labeled, rq_redis, redis_url, data_dir):
    worker = start_worker(redis_url, data_dir, DACHS_TRAIN_STEPS="30", DACHS_LOCALISER_STEPS="30")
    try:
        from annotator.learning.management.commands.retrain import _training_workers

        for _ in range(100):
            if _training_workers():
                break
            time.sleep(0.1)
        out = output_of("--wait")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert "following it on the worker" in out
    body = json.loads(out[out.index("{") :])
    assert body["status"] == "finished"
    assert body["model_version"] is not None


@pytest.mark.django_db
def test_a_failed_run_is_an_error_with_its_reason(rq_redis):
    with pytest.raises(CommandError, match="no labeled slices from training dogs yet"):
        output_of("--wait")
