"""What a training job reports while it runs (its rq meta), read with a short timeout."""

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from annotator.learning import policy
from annotator.learning.models import TrainingRun


def of(run: TrainingRun) -> dict | None:
    """{stage, step, steps, loss, val_macro_auroc, eta_s, percent} of a running run, or None."""
    if run.status != TrainingRun.Status.RUNNING or not run.rq_job_id:
        return None
    try:
        meta = Job.fetch(run.rq_job_id, connection=policy.redis_connection()).get_meta()
    except (redis.RedisError, NoSuchJobError):
        return None
    percent = None
    if meta.get("stage") == "training" and meta.get("steps"):
        percent = round(100 * meta.get("step", 0) / meta["steps"])
    elif meta.get("stage") == "scoring" and meta.get("total"):
        percent = round(100 * meta.get("scored", 0) / meta["total"])
    return {**meta, "percent": percent}
