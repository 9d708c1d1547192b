"""The nightly retrain: one cron job, registered from settings, that queues one run."""

import pytest
from rq.cron import CronScheduler

from annotator.learning import policy
from annotator.learning.models import TrainingRun
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


def test_the_cron_config_registers_the_nightly_retrain_at_the_configured_time(rq_redis, settings):
    settings.NIGHTLY_RETRAIN_CRON = "30 3 * * *"
    scheduler = CronScheduler(connection=rq_redis)
    scheduler.load_config_from_file("annotator.cron")
    (job,) = scheduler.get_jobs()
    assert job.func_name == "annotator.learning.policy.nightly"
    assert (job.queue_name, job.cron) == ("default", "30 3 * * *")


def test_the_nightly_job_queues_one_run_and_a_second_night_joins_it(alice, rq_redis):
    make_series(slices=3)
    label_next(alice)
    first = policy.nightly()
    second = policy.nightly()
    run = TrainingRun.objects.get()
    assert first == second == run.pk
    assert run.trigger == TrainingRun.Trigger.NIGHTLY
    assert rq_redis.llen("rq:queue:training") == 1


def test_before_anything_is_labeled_the_night_is_quiet(rq_redis):
    assert policy.nightly() is None
    assert TrainingRun.objects.count() == 0
