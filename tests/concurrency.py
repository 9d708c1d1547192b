"""Many vets claiming from the queue at the same moment, each on its own connection.

Run as a module (`python -m tests.concurrency USERS SLICES ROUNDS`) it does the same
against whatever DATABASE_URL names, so tests can race the embedded SQLite default in
processes of their own.
"""

import json
import os
import sys
import threading

import django


def in_parallel(count: int, work) -> None:
    """Run `work()` in `count` threads that start together, each on its own connection."""
    from django.db import connections

    barrier = threading.Barrier(count)

    def run() -> None:
        try:
            barrier.wait()
            work()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def claim_concurrently(users: list, rounds: int) -> list[int]:
    """Each user claims and labels `rounds` slices, all threads starting together."""
    from django.db import connections

    from annotator.labeling.services import LabelContent, submit
    from annotator.worklist.claim import claim

    barrier = threading.Barrier(len(users))
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(user) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                held = claim(user)
                if held is None:
                    return
                with lock:
                    claimed.append(held.current.pk)
                submit(user, held.current.pk, LabelContent(findings=["unremarkable"]))
        except BaseException as exc:  # surfaced to the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise RuntimeError(f"{len(errors)} claimers failed: {errors[0]!r}") from errors[0]
    return claimed


def main(n_users: int, n_slices: int, rounds: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    from tests.factories import make_series

    make_series(slices=n_slices)
    users = [get_user_model().objects.create_user(f"racer{i}") for i in range(n_users)]
    print(json.dumps({"claimed": claim_concurrently(users, rounds)}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
