"""The periodic jobs, for `python manage.py rqcron annotator.cron` (run exactly one).

rq's cron scheduler has no lock: two cron processes would queue every job twice. The
nightly retrain is coalesced with any run already waiting, so a duplicate costs nothing,
but one process is still the rule (the demo and compose each run one).
"""

from django.conf import settings
from rq import cron

from annotator.learning import policy

cron.register(
    policy.nightly,
    queue_name="default",
    cron=settings.NIGHTLY_RETRAIN_CRON,
    job_timeout=60,
)
