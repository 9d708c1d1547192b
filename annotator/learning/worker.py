"""The rq worker Dachs runs (settings.RQ["WORKER_CLASS"]).

When the work horse running a job dies without raising (the kernel's OOM killer, SIGKILL),
rq marks the job failed but runs no failure callback; this worker also ends the training
run, with the reason, so it never stays "running". A worker killed as a whole is covered by
rq's abandoned-job cleanup, which runs the job's failure callback.
"""

import os

from rq.worker import Worker as RqWorker

from annotator.learning import runs


class Worker(RqWorker):
    def handle_work_horse_killed(self, job, retpid, ret_val, rusage) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        how = (
            f"signal {os.WTERMSIG(ret_val)}"
            if ret_val and os.WIFSIGNALED(ret_val)
            else f"exit status {ret_val}"
        )
        runs.fail_job(
            job.id,
            f"the worker process died ({how}), e.g. killed for using too much memory",
        )
