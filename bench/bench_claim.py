"""Time the labeling queue's claim on a large queue, on PostgreSQL.

Usage: DATABASE_URL=postgres://... python bench/bench_claim.py --slices N [--json] [--keep]
       [--explain] [--no-analyze]

Never touches the database DATABASE_URL names: on the same server it creates a scratch
database of its own (`dachs_bench_claim`, marked by a comment so that only a database this
script made is ever dropped), migrates it, fills it with N slices (25 per series, 4 series
per study, one study per dog), a queue item per slice, a promoted model's entropy score on
every slice written as the queue's priorities, and 10% of the slices already labeled. Then
it times `claim.claim(user)` in-process: 20 warm-up claims, then 200 timed ones, by 4 users
in turn, each of whom labels their current slice between claims (not timed), as a vet does.
The scratch database is dropped at the end, also on failure, unless --keep.

Prints a human line, or with --json one JSON object {"slices", "p50_ms", "p99_ms"} on
stdout (the fill time and other details go to stderr). --explain prints EXPLAIN ANALYZE of
every SELECT one more claim issues, to stderr.
"""

import argparse
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "dachs_bench_claim"
MARKER = "scratch database of bench/bench_claim.py: safe to drop"
SLICES_PER_SERIES = 25
SERIES_TYPES = [
    ("sagittal", "T2W"),
    ("sagittal", "T1W"),
    ("transverse", "T2W"),
    ("transverse", "T1W"),
]
USERS = 4
WARMUP = 20
TIMED = 200
LABELED_FRACTION = 0.10
BATCH = 5000


class Refused(RuntimeError):
    """The bench will not run against this configuration."""


def log(message: str) -> None:
    print(f"[bench_claim] {message}", file=sys.stderr, flush=True)


# --- the scratch database, on the configured server ------------------------------------


def server_params(url: str) -> tuple[dict, str]:
    """Connection parameters of DATABASE_URL's server, and the configured database's name."""
    if not url:
        raise Refused(
            "DATABASE_URL is not set: point it at a PostgreSQL server "
            "(e.g. postgres://postgres@127.0.0.1:5432/dachs); the bench creates and drops "
            f"its own scratch database {SCRATCH_DB!r} there"
        )
    import dj_database_url

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        raise Refused(
            f"DATABASE_URL must name a PostgreSQL server, not {config['ENGINE']}: "
            "the bench measures the PostgreSQL claim (SKIP LOCKED)"
        )
    configured = config["NAME"] or ""
    if configured == SCRATCH_DB:
        raise Refused(
            f"DATABASE_URL already names the scratch database {SCRATCH_DB!r}: "
            "name the application's database, the bench derives its scratch one from it"
        )
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    params.update(config.get("OPTIONS") or {})
    return {k: v for k, v in params.items() if v is not None}, configured


def admin_connection(params: dict, configured: str):
    """An autocommit connection for CREATE/DROP DATABASE (to `postgres`, else the app's)."""
    import psycopg

    errors = []
    for dbname in dict.fromkeys(["postgres", configured]):
        if not dbname:
            continue
        try:
            return psycopg.connect(dbname=dbname, autocommit=True, **params)
        except psycopg.OperationalError as exc:
            errors.append(f"{dbname}: {exc}".strip())
    raise Refused("cannot reach the PostgreSQL server: " + "; ".join(errors))


def create_scratch(params: dict, configured: str) -> None:
    with admin_connection(params, configured) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [SCRATCH_DB],
        ).fetchone()
        if row is not None:
            if row[0] != MARKER:
                raise Refused(
                    f"a database {SCRATCH_DB!r} exists on this server that this bench did not "
                    "create (no scratch marker): refusing to touch it"
                )
            log(f"dropping a leftover scratch database {SCRATCH_DB}")
            conn.execute(f'DROP DATABASE "{SCRATCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
        conn.execute(f"COMMENT ON DATABASE \"{SCRATCH_DB}\" IS '{MARKER}'")


def drop_scratch(params: dict, configured: str) -> None:
    with admin_connection(params, configured) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [SCRATCH_DB],
        ).fetchone()
        if row is not None and row[0] == MARKER:
            conn.execute(f'DROP DATABASE "{SCRATCH_DB}" WITH (FORCE)')


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


# --- filling it --------------------------------------------------------------------------


def fill(slices: int, rng: random.Random, analyze: bool = True) -> list:
    """The queue as described in the module docstring; returns the bench users."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotator.imaging.models import Dog, Instance, Series, Study
    from annotator.labeling.models import Label
    from annotator.learning.models import ModelVersion, Score, TrainingRun
    from annotator.worklist import items
    from annotator.worklist.models import QueueItem

    user_model = get_user_model()
    users = [user_model.objects.create_user(f"bench-vet-{i}") for i in range(USERS)]

    started = time.monotonic()
    n_series = math.ceil(slices / SLICES_PER_SERIES)
    n_dogs = math.ceil(n_series / len(SERIES_TYPES))
    splits = ["train"] * 7 + ["val"] * 2 + ["test"]
    Dog.objects.bulk_create(
        (Dog(patient_id=f"BENCH-{d:06d}", split=splits[d % 10]) for d in range(n_dogs)),
        batch_size=BATCH,
    )
    dog_ids = list(Dog.objects.order_by("id").values_list("id", flat=True))
    Study.objects.bulk_create(
        (
            Study(dog_id=dog_id, study_instance_uid=f"1.2.826.0.1.77.{d}")
            for d, dog_id in enumerate(dog_ids)
        ),
        batch_size=BATCH,
    )
    study_ids = list(Study.objects.order_by("id").values_list("id", flat=True))
    Series.objects.bulk_create(
        (
            Series(
                study_id=study_ids[s // len(SERIES_TYPES)],
                series_instance_uid=f"1.2.826.0.1.77.{s // len(SERIES_TYPES)}.{s}",
                plane=SERIES_TYPES[s % len(SERIES_TYPES)][0],
                sequence=SERIES_TYPES[s % len(SERIES_TYPES)][1],
                series_number=s % len(SERIES_TYPES) + 1,
            )
            for s in range(n_series)
        ),
        batch_size=BATCH,
    )
    series_ids = list(Series.objects.order_by("id").values_list("id", flat=True))
    Instance.objects.bulk_create(
        (
            Instance(
                series_id=series_ids[i // SLICES_PER_SERIES],
                sop_instance_uid=f"1.2.826.0.1.77.9.{i}",
                instance_number=i % SLICES_PER_SERIES + 1,
                position_mm=3.0 * (i % SLICES_PER_SERIES),
                rows=256,
                columns=256,
                file_key=f"00/bench-{i}.dcm",
                file_sha256="0" * 64,
            )
            for i in range(slices)
        ),
        batch_size=BATCH,
    )
    elapsed = time.monotonic() - started
    log(f"{slices} slices in {n_series} series of {n_dogs} dogs: {elapsed:.1f} s")

    step = time.monotonic()
    added = items.add_new_instances()
    log(f"{added} queue items (items.add_new_instances): {time.monotonic() - step:.1f} s")

    step = time.monotonic()
    run = TrainingRun.objects.create(status=TrainingRun.Status.FINISHED, trigger="manual")
    model = ModelVersion.objects.create(
        run=run, status=ModelVersion.Status.PROMOTED, checkpoint_key="bench/none.pt"
    )
    instance_ids = list(Instance.objects.order_by("id").values_list("id", flat=True))
    entropy = {pk: rng.uniform(0.0, math.log(6)) for pk in instance_ids}
    Score.objects.bulk_create(
        (
            Score(instance_id=pk, model=model, measure=Score.Measure.ENTROPY, value=value)
            for pk, value in entropy.items()
        ),
        batch_size=BATCH,
    )
    written = items.set_priorities(entropy.items())
    log(
        f"{written} entropy scores and priorities (items.set_priorities): "
        f"{time.monotonic() - step:.1f} s"
    )

    step = time.monotonic()
    labeled = rng.sample(instance_ids, int(slices * LABELED_FRACTION))
    reader_of = {pk: users[n % USERS] for n, pk in enumerate(labeled)}
    Label.objects.bulk_create(
        (
            Label(instance_id=pk, reader=r, author=r, version=1, findings=["unremarkable"])
            for pk, r in reader_of.items()
        ),
        batch_size=BATCH,
    )
    item_of = dict(
        QueueItem.objects.filter(instance_id__in=labeled).values_list("instance_id", "id")
    )
    through = QueueItem.readers.through
    for start in range(0, len(labeled), BATCH):
        chunk = labeled[start : start + BATCH]
        with transaction.atomic():
            QueueItem.objects.filter(instance_id__in=chunk).update(reads_done=1, done=True)
            through.objects.bulk_create(
                through(queueitem_id=item_of[pk], user_id=reader_of[pk].pk) for pk in chunk
            )
    remaining = items.recount()
    # The promoted model has seen every label so far: no retrain is due during the bench.
    TrainingRun.objects.filter(pk=run.pk).update(
        labels_seen=Label.objects.order_by("-id").values_list("id", flat=True).first() or 0
    )
    log(f"{len(labeled)} slices labeled, {remaining} left to read: {time.monotonic() - step:.1f} s")

    if analyze:  # as autovacuum would soon after a bulk load
        step = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        log(f"ANALYZE: {time.monotonic() - step:.1f} s")
    log(f"fill total: {time.monotonic() - started:.1f} s")
    return users


# --- timing the claim --------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def time_claims(users: list) -> list[float]:
    from annotator.labeling.services import LabelContent, submit
    from annotator.worklist.claim import claim

    samples = []
    for n in range(WARMUP + TIMED):
        user = users[n % len(users)]
        started = time.perf_counter()
        held = claim(user)
        elapsed = time.perf_counter() - started
        if held is None:
            raise RuntimeError(f"the queue ran empty after {n} claims")
        if n >= WARMUP:
            samples.append(elapsed * 1000)
        submit(user, held.current.pk, LabelContent(findings=["unremarkable"]))
    return samples


def explain_one_claim(user) -> None:
    """EXPLAIN ANALYZE every SELECT of one claim, each in a transaction rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from annotator.worklist.claim import claim

    with CaptureQueriesContext(connection) as captured:
        claim(user)
    for n, query in enumerate(captured.captured_queries, 1):
        sql = query["sql"]
        print(f"\n-- query {n} ({float(query['time']) * 1000:.2f} ms): {sql}", file=sys.stderr)
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        print(plan, file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, required=True, help="slices in the queue")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one claim")
    parser.add_argument(
        "--no-analyze", action="store_true", help="skip ANALYZE after the fill (stale statistics)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.slices < 1000:
        parser.error("--slices must be at least 1000 (the bench labels 220 of them)")

    url = os.environ.get("DATABASE_URL", "").strip()
    try:
        params, configured = server_params(url)
        create_scratch(params, configured)
    except Refused as exc:
        print(f"bench_claim: refusing to run: {exc}", file=sys.stderr)
        return 2

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-bench-claim-"))
    # A plain `kill` unwinds like Ctrl-C, so the scratch database is dropped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        os.environ.update(
            DATABASE_URL=with_database(url, SCRATCH_DB),
            DJANGO_SETTINGS_MODULE="annotator.settings",
            DACHS_DATA_DIR=str(data_dir),
            DEBUG="false",
            DACHS_RETRAIN_EVERY=str(10**9),
            LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, connections

        if settings.DATABASES["default"]["NAME"] != SCRATCH_DB:  # belt and braces
            raise RuntimeError(f"settings point at {settings.DATABASES['default']['NAME']!r}")
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        log(f"migrate: {time.monotonic() - started:.1f} s")
        log(f"server: {connection.cursor().connection.info.server_version}")

        users = fill(args.slices, random.Random(args.seed), analyze=not args.no_analyze)
        samples = time_claims(users)
        if args.explain:
            explain_one_claim(users[0])
        result = {
            "slices": args.slices,
            "p50_ms": round(percentile(samples, 50), 2),
            "p99_ms": round(percentile(samples, 99), 2),
        }
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"claim over {args.slices} slices ({TIMED} claims by {USERS} users, "
                f"lookahead {settings.QUEUE_LOOKAHEAD}): p50 {result['p50_ms']} ms, "
                f"p99 {result['p99_ms']} ms, max {max(samples):.2f} ms"
            )
        connections.close_all()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.keep:
            log(
                f"kept the scratch database {SCRATCH_DB} (drop it with: DROP DATABASE "
                f"{SCRATCH_DB}; or rerun without --keep)"
            )
        else:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: S110 - Django may not be set up; dropping is what counts
                pass
            drop_scratch(params, configured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
