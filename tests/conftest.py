"""Shared fixtures: the people who use Dachs, a real Redis, and a tiny synthetic cohort.

Personas: Alice and Bob are vets who label (annotators); Rita is a vet who reviews
(reviewer); Carol is the clinic's admin; an anonymous visitor has no account.
"""

import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis
from django.conf import settings as django_settings
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from annotator import embedded_redis
from annotator.audit import triggers

TEST_REDIS_DB = 15  # never flush the database a developer's demo uses


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """A real Redis: REDIS_URL's server if set, else the embedded one on a free port."""
    configured = os.environ.get("REDIS_URL", "").strip()
    process = None
    if configured:
        base = configured
    else:
        base = f"redis://127.0.0.1:{_free_port()}/0"
        process = embedded_redis.start(base, tmp_path_factory.mktemp("redis"))
    url = urlunparse(urlparse(base)._replace(path=f"/{TEST_REDIS_DB}"))
    yield url
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def rq_redis(redis_url: str, settings):
    """Point the app's queues at the test Redis database, flushed around each test."""
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = _queues(redis_url)
    settings.ENQUEUE_RETRY_SECONDS = 0
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()


def _queues(url: str) -> dict:
    from annotator.settings import rq_queues

    return rq_queues(url)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, settings) -> Path:
    """Every test stores DICOM files and checkpoints in its own folder."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DICOM_DIR = settings.DATA_DIR / "dicom"
    settings.STORAGES = {
        **settings.STORAGES,
        "dicom": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": settings.DICOM_DIR},
        },
    }
    # Automatic retraining is exercised by its own tests, which lower this.
    settings.RETRAIN_EVERY = 1_000_000
    # Double reads are exercised by their own tests (tests/review/test_double_reads.py);
    # elsewhere each slice needs one read, so counts in other tests stay simple.
    settings.DOUBLE_READ_SHARE = 0
    return settings.DATA_DIR


@pytest.fixture(scope="session", autouse=True)
def sqlite_flush_passes_the_audit_trigger():
    """SQLite has no TRUNCATE: a transactional test's flush deletes rows, which the audit
    table's trigger refuses. Around the flush only, the triggers are dropped and recreated."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    DatabaseOperations = type(connection.ops)
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if triggers.TABLE not in tables:
            return statements
        return [*triggers.SQLITE_DROP, *statements, *triggers.SQLITE_CREATE]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic dogs written as DICOM, shared read-only by the whole session."""
    from annotator.synth.cohort import write_cohort

    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, dogs=6, seed=11)
    return out


def person(username: str, role: str):
    """A user with a password of `<name>-pass-123` in one role's group."""
    from django.contrib.auth import get_user_model

    from annotator.accounts.roles import set_role

    user = get_user_model().objects.create_user(username, password=f"{username}-pass-123")
    set_role(user, role)
    return user


@pytest.fixture
def alice(db):
    return person("alice", "annotator")


@pytest.fixture
def bob(db):
    return person("bob", "annotator")


@pytest.fixture
def rita(db):
    return person("rita", "reviewer")


@pytest.fixture
def carol(db):
    return person("carol", "admin")


def client_for(user) -> APIClient:
    """A logged-in API client that sends a CSRF token the way the page does."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def database_url() -> str:
    """A URL for the test database, for worker processes that tests start."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        from django.db import connection

        return f"sqlite:///{connection.settings_dict['NAME']}"
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
