"""What a vet waits for in the labeling page: from the submitting key to the next slice drawn.

Usage: python bench/bench_workspace_latency.py [--slices 50] [--retrain] [--json]

Sets up the demo (`manage.py demo --setup-only`: 24 synthetic dogs, the demo users) in a
fresh data directory, collects the static files, starts what a clinic runs (gunicorn with
2 workers and 4 threads, the embedded Redis), and drives Debian's chromium through
Playwright as `vet1`:

- `first_image_ms`: from submitting the login form to the first slice to label drawn in
  the main viewport, with warm static files (the page was opened once before).
- Then `--slices` slices in a row, each looked at for `--dwell-ms` (600 ms: a fast read;
  the page claims and prefetches the next slices meanwhile) and labeled with key 1 or 2 (a
  finding) and Enter.
  Per slice, the page itself measures from the Enter keydown to the moment the next target
  slice is drawn in the main viewport (`#viewer[data-rendered-slice]` changes to the new
  slice's id), so no Playwright round trip is counted.
- With `--retrain`, an rq worker is started and a training run queued, and the same
  measurement is repeated while it trains (figure `during_retrain`).

Prints one JSON object: {"dwell_ms", "first_image_ms", "n", "p50_ms", "p95_ms", "max_ms",
"slowest_ms", "during_retrain": {...} | null}.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_label_latency import ROOT, free_port, manage  # noqa: E402

CHROMIUM = "/usr/bin/chromium"

# Installed once per page: timestamps of Enter keydowns and of every target drawn.
PROBE = """
window.__enter = [];
window.__drawn = [];
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') window.__enter.push(performance.now());
}, true);
const viewer = document.getElementById('viewer');
new MutationObserver(() => {
  const id = viewer.dataset.renderedSlice;
  if (id) window.__drawn.push([performance.now(), id]);
}).observe(viewer, {attributes: true, attributeFilter: ['data-rendered-slice']});
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(latencies: list[float]) -> dict:
    return {
        "n": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "slowest_ms": [round(v) for v in sorted(latencies)[-5:]],
    }


def label_run(page, slices: int, dwell_ms: int) -> list[float]:
    """Label `slices` slices with 1 + Enter, each after looking at it for `dwell_ms`; the
    page's own timings, from the Enter key to the next target drawn."""
    page.evaluate(PROBE)
    latencies = []
    for done in range(slices):
        current = page.wait_for_function(
            "() => document.getElementById('viewer').dataset.renderedSlice", timeout=30000
        ).json_value()
        page.wait_for_timeout(dwell_ms)
        page.keyboard.press("2" if done % 3 == 0 else "1")  # some IVDE among unremarkable
        drawn_before = page.evaluate("window.__drawn.length")
        page.keyboard.press("Enter")
        try:
            page.wait_for_function(
                "([n, id]) => window.__drawn.slice(n).some(([, s]) => s !== id)",
                arg=[drawn_before, current],
                timeout=30000,
            )
        except Exception:  # the queue ran out
            break
        enter = page.evaluate("window.__enter[window.__enter.length - 1]")
        drawn = page.evaluate(
            "([n, id]) => window.__drawn.slice(n).find(([, s]) => s !== id)[0]",
            [drawn_before, current],
        )
        latencies.append(drawn - enter)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=50)
    parser.add_argument("--retrain", action="store_true", help="also measure during a retrain")
    parser.add_argument(
        "--dwell-ms",
        type=int,
        default=600,
        help="how long the vet looks at each slice before labeling it (a fast read)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-workspace-"))
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DACHS_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DACHS_RETRAIN_EVERY": "1000000",  # the worker stays idle unless --retrain
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from annotator import embedded_redis

    redis = embedded_redis.start(env["REDIS_URL"], data_dir / "redis")
    processes: list[subprocess.Popen] = []
    try:
        manage("migrate", "--verbosity", "0", env=env)
        manage("demo", "--setup-only", env=env)
        manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        logins = dict(
            line.split(" ", 1) for line in (data_dir / "demo-logins.txt").read_text().splitlines()
        )
        web = [sys.executable, "-m", "gunicorn", "annotator.wsgi"]
        web += ["--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        processes.append(subprocess.Popen(web, cwd=ROOT, env=env, **quiet))
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            # Warm the static files (the viewer bundle, codecs) in the browser's cache.
            page.goto(f"{base}/label/")
            page.fill("input[name=username]", "vet1")
            page.fill("input[name=password]", logins["vet1"])
            page.click("button[type=submit]")
            page.wait_for_selector("#viewer[data-rendered-slice]", timeout=60000)
            page.click("form.logout-form button")
            page.wait_for_url("**/accounts/login/**")

            page.fill("input[name=username]", "vet1")
            page.fill("input[name=password]", logins["vet1"])
            started = time.perf_counter()
            page.click("button[type=submit]")
            page.wait_for_selector("#viewer[data-rendered-slice]", timeout=60000)
            first_image_ms = (time.perf_counter() - started) * 1000

            quiet_run = label_run(page, args.slices, args.dwell_ms)
            during = None
            if args.retrain:
                worker = [sys.executable, "manage.py", "rqworker", "training", "default"]
                processes.append(subprocess.Popen(worker, cwd=ROOT, env=env, **quiet))
                manage("retrain", env=env)
                time.sleep(15)  # the worker picks the run up and is training (~8 s)
                during = summary(label_run(page, args.slices, args.dwell_ms))
            browser.close()
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a worker in the middle of a training run
                process.kill()
                process.wait()
        if redis is not None:
            redis.terminate()
    result = {"dwell_ms": args.dwell_ms, "first_image_ms": round(first_image_ms, 1)}
    result.update(summary(quiet_run))
    result["during_retrain"] = during
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
