"""When training is requested, and what happens when Redis is down or frozen."""

import socket
import threading
import time

import pytest

from annotator.audit.models import AuditEvent
from annotator.learning import policy
from annotator.learning.models import TrainingRun
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def slices(settings):
    settings.QUEUE_LOOKAHEAD = 0
    return make_series(slices=12)


def label(client, django_capture_on_commit_callbacks) -> object:
    slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            "/api/annotations/", {"slice": slice_id, "finding": "ivde"}, format="json"
        )


def training_jobs(rq_redis) -> int:
    return rq_redis.llen("rq:queue:training")


@pytest.fixture
def redis_down(settings):
    """A port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.ENQUEUE_RETRY_SECONDS = 0


@pytest.fixture
def redis_frozen(settings):
    """A server that accepts connections and never answers, like a stopped Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    settings.ENQUEUE_RETRY_SECONDS = 0
    yield
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def test_enough_new_labels_queue_one_run_and_more_labels_join_it(
    alice, slices, rq_redis, settings, django_capture_on_commit_callbacks
):
    settings.RETRAIN_EVERY = 3
    client = client_for(alice)
    for _ in range(2):
        label(client, django_capture_on_commit_callbacks)
    assert TrainingRun.objects.count() == 0
    label(client, django_capture_on_commit_callbacks)
    run = TrainingRun.objects.get()
    assert (run.trigger, run.status) == ("labels", "queued")
    assert training_jobs(rq_redis) == 1
    assert AuditEvent.objects.filter(action="training.requested", target_id=run.pk).exists()
    for _ in range(4):  # due again, but a run is still waiting: it absorbs them
        label(client, django_capture_on_commit_callbacks)
    assert TrainingRun.objects.count() == 1
    assert training_jobs(rq_redis) == 1


def test_with_redis_down_labels_go_on_and_the_trigger_is_kept_and_sent_later(
    alice, slices, rq_redis, redis_url, redis_down, settings, django_capture_on_commit_callbacks
):
    settings.RETRAIN_EVERY = 2
    client = client_for(alice)
    codes = [label(client, django_capture_on_commit_callbacks).status_code for _ in range(6)]
    assert codes == [201] * 6
    run = TrainingRun.objects.get()  # one run, not one failed row per label
    assert (run.status, run.rq_job_id) == ("queued", "")
    assert "did not answer" in run.enqueue_error

    settings.REDIS_URL = redis_url  # Redis is back: the next label sends the waiting run
    label(client, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.rq_job_id
    assert training_jobs(rq_redis) == 1
    assert TrainingRun.objects.count() == 1


def test_a_frozen_redis_does_not_hold_up_the_label_that_triggers_training(
    alice, slices, redis_frozen, settings, django_capture_on_commit_callbacks
):
    settings.RETRAIN_EVERY = 1
    client = client_for(alice)
    started = time.monotonic()
    response = label(client, django_capture_on_commit_callbacks)
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    # Bounded by the socket timeouts (1 s each), not the 20+ s of a hung connection.
    assert elapsed < 8
    assert TrainingRun.objects.get().rq_job_id == ""


def test_the_admin_retrain_with_redis_down_is_a_clear_503_and_is_kept(carol, redis_down):
    response = client_for(carol).post("/api/models/retrain/")
    assert response.status_code == 503
    assert "cannot be reached" in response.json()["detail"]
    assert TrainingRun.objects.get().status == "queued"


def test_only_the_admin_can_start_a_retrain_and_twice_is_once(alice, carol, rq_redis):
    assert client_for(alice).post("/api/models/retrain/").status_code == 403
    assert TrainingRun.objects.count() == 0
    first = client_for(carol).post("/api/models/retrain/")
    assert first.status_code == 202
    assert first.json()["status"] == "queued"
    second = client_for(carol).post("/api/models/retrain/")
    assert (second.json()["id"], second.json()["created"]) == (first.json()["id"], False)
    assert training_jobs(rq_redis) == 1


def test_labels_that_cannot_train_do_not_count_towards_a_retrain(alice, slices, settings):
    settings.RETRAIN_EVERY = 2
    client = client_for(alice)
    for _ in range(3):
        slice_id = client.post("/api/queue/next/").json()["slice"]["id"]
        client.post(
            "/api/annotations/", {"slice": slice_id, "cant_tell": "artefact"}, format="json"
        )
    assert policy.labels_since_last_run() == 0
