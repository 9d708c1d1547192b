"""A real rq worker in a process of its own, for the tests that need one running."""

import os
import subprocess
import sys

from django.conf import settings

from tests.conftest import database_url


def start_worker(redis_url: str, data_dir, **env: str) -> subprocess.Popen:
    """`manage.py rqworker training` on the test database and Redis, in its own session
    (so a test can kill it, horse and all, with os.killpg)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "training"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "DACHS_DATA_DIR": str(data_dir),
            **env,
        },
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
