"""Run the whole app on one machine with synthetic data: Redis, a worker and the web server."""

import contextlib
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from annotator import embedded_redis
from annotator.accounts.roles import ADMIN, ANNOTATOR, REVIEWER, set_role
from annotator.imaging.ingest import ingest_paths
from annotator.labeling import imports
from annotator.synth.cohort import write_cohort
from annotator.web.supervise import Supervisor

# (username, role): two vets who label, one who reviews, and the clinic's admin.
DEMO_USERS = [
    ("vet1", ANNOTATOR),
    ("vet2", ANNOTATOR),
    ("reviewer", REVIEWER),
    ("admin", ADMIN),
]


class Command(BaseCommand):
    help = "Set up demo data and run web + worker (+ embedded Redis) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dogs", type=int, default=24)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--setup-only", action="store_true", help="prepare data, run nothing")

    def handle(self, *args, **options) -> None:
        data_dir: Path = settings.DATA_DIR
        redis_process = embedded_redis.start(settings.REDIS_URL, data_dir / "redis")
        supervisor = Supervisor(cwd=settings.BASE_DIR, log=self.stdout.write)
        try:
            call_command("migrate", interactive=False, verbosity=0)
            logins = ensure_demo_users(data_dir / "demo-logins.txt")
            self.ensure_cohort(data_dir / "cohort", options["dogs"], options["seed"])
            if options["setup_only"]:
                return
            # Each child is restarted if it dies (gunicorn's master included).
            worker = [sys.executable, "manage.py", "rqworker", "training", "default"]
            supervisor.add("worker", worker)
            # Exactly one cron process (rq's cron has no lock): the nightly retrain.
            supervisor.add("cron", [sys.executable, "manage.py", "rqcron", "annotator.cron"])
            supervisor.add("web", gunicorn_command(options["bind"]))
            self.stdout.write(
                self.style.SUCCESS(f"\nDachs is running at http://{options['bind']}/")
            )
            for username, role, password in logins:
                self.stdout.write(f"  {role:<14} {username} / {password}")
            self.stdout.write("Ctrl-C stops web, worker and the embedded Redis.\n")
            signal.signal(signal.SIGTERM, lambda signum, frame: supervisor.stop_soon())
            with contextlib.suppress(KeyboardInterrupt):
                supervisor.run()
        finally:
            supervisor.stop()
            if redis_process is not None:
                redis_process.terminate()
                try:
                    redis_process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    redis_process.kill()

    def ensure_cohort(self, cohort_dir: Path, dogs: int, seed: int) -> None:
        if not (cohort_dir / "manifest.csv").exists():
            shutil.rmtree(cohort_dir, ignore_errors=True)  # an interrupted earlier write
            started = time.monotonic()
            write_cohort(cohort_dir, dogs=dogs, seed=seed)
            self.stdout.write(f"synthetic cohort: {dogs} dogs in {time.monotonic() - started:.1f}s")
        report = ingest_paths(sorted(p for p in cohort_dir.iterdir() if p.is_dir()))
        self.stdout.write(
            f"ingest: {report.ingested} new slices, {report.skipped_existing} already present, "
            f"{len(report.errors)} errors"
        )
        # The spine localiser learns where the canal is from these (anatomy, not diagnoses:
        # the findings are left for the vets to give).
        admin = get_user_model().objects.get(username="admin")
        rows = imports.read_csv(cohort_dir / "manifest.csv")
        canal = imports.import_rows(rows, admin, source="manifest.csv", canal_only=True)
        self.stdout.write(f"canal boxes: {canal.imported} slices")


def gunicorn_command(bind: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "annotator.wsgi",
        "--bind",
        bind,
        "--workers",
        "2",
        "--threads",
        "4",
        "--access-logfile",
        "-",
    ]


def ensure_demo_users(logins_file: Path) -> list[tuple[str, str, str]]:
    """Demo accounts with random passwords, kept in the data dir so restarts keep them."""
    User = get_user_model()
    saved: dict[str, str] = {}
    if logins_file.exists():
        for line in logins_file.read_text().splitlines():
            username, _, password = line.partition(" ")
            saved[username] = password
    logins = []
    for username, role in DEMO_USERS:
        password = saved.get(username) or secrets.token_urlsafe(9)
        user, created = User.objects.get_or_create(username=username)
        if created or username not in saved:
            user.set_password(password)
            user.save()
        set_role(user, role)  # audited only when the role changes
        logins.append((username, role, password))
    logins_file.write_text("".join(f"{u} {p}\n" for u, _, p in logins))
    logins_file.chmod(0o600)
    return logins
