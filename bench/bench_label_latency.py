"""Label-request latency over HTTP, including the label that triggers a retrain.

Usage: python bench/bench_label_latency.py [--labels 40] [--retrain-every 25] [--json]

Starts what a clinic runs (gunicorn, 2 workers, and the embedded Redis) on a fresh data
directory with a 6-dog synthetic cohort, logs in as a vet through the login form, then
claims and labels slices one after another through the JSON API, as the page does. No
rq worker runs, so a queued training job only waits in Redis. Prints one JSON object:
{"labels", "p50_ms", "p95_ms", "max_ms", "trigger_ms"}; trigger_ms is the label request
that crossed DACHS_RETRAIN_EVERY.
"""

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


class Browser:
    """A session like the page's: cookies, and the CSRF token on every POST."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def login(self, username: str, password: str) -> None:
        page = self.opener.open(f"{self.base}/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            f"{self.base}/accounts/login/", data=form, headers={"Referer": self.base + "/"}
        )
        landed = self.opener.open(request).geturl()
        if "/accounts/login/" in landed:
            raise SystemExit("login failed")

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict | None, float]:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.csrf(),
                "Referer": self.base + "/",
            },
        )
        started = time.perf_counter()
        try:
            with self.opener.open(request) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        elapsed = (time.perf_counter() - started) * 1000
        return status, (json.loads(raw) if raw else None), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--retrain-every", type=int, default=25)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-latency-"))
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DACHS_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DACHS_RETRAIN_EVERY": str(args.retrain_every),
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from annotator import embedded_redis

    redis = embedded_redis.start(env["REDIS_URL"], data_dir / "redis")
    web = None
    try:
        manage("migrate", "--verbosity", "0", env=env)
        manage(
            "synth_cohort", "--dogs", "6", "--out", str(data_dir / "cohort"), "--seed", "3", env=env
        )
        manage("ingest", str(data_dir / "cohort"), env=env)
        create = (
            "from django.contrib.auth import get_user_model; "
            "from annotator.accounts.roles import set_role; "
            "set_role(get_user_model().objects.create_user("
            "'bench-vet', password='bench-vet-pass-1'), 'annotator')"
        )
        manage("shell", "-c", create, env=env)
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "annotator.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        browser = Browser(base)
        browser.login("bench-vet", "bench-vet-pass-1")
        latencies: list[float] = []
        for _ in range(args.labels):
            status, claim, _ = browser.post("/api/queue/next/")
            if status != 200:
                break
            status, _, elapsed = browser.post(
                "/api/annotations/", {"slice": claim["slice"]["id"], "finding": "ivde"}
            )
            if status not in (200, 201):
                raise SystemExit(f"label refused: HTTP {status}")
            latencies.append(elapsed)
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=20)
        if redis is not None:
            redis.terminate()
    ordered = sorted(latencies)
    result = {
        "labels": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
        "trigger_ms": round(latencies[args.retrain_every - 1], 1),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
