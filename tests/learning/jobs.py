"""Job functions that misbehave the way real training can: for the worker tests only."""

import os
import signal
import time

from rq import get_current_job

from annotator.learning import runs


def killed_like_oom(run_id: int) -> None:
    """The kernel's OOM killer ends the work horse mid-training."""
    runs.start(run_id)
    os.kill(os.getpid(), signal.SIGKILL)


def trains_forever(run_id: int) -> None:
    job = get_current_job()
    job.meta["pid"] = os.getpid()  # rq's work horse has a session of its own
    job.save_meta()
    runs.start(run_id)
    time.sleep(600)
