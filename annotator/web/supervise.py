"""Keep the demo's processes running: a child that dies is started again, with a backoff.

Compose does the same for the services in production (`restart: unless-stopped`).
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_BACKOFF_SECONDS = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)


class Supervisor:
    def __init__(self, cwd: Path, log: Callable[[str], object] = print) -> None:
        self.cwd = cwd
        self.log = log
        self.children: list[Child] = []
        self._stop = False

    def add(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv)
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, cwd=self.cwd, env={**os.environ})
        child.started_at = time.monotonic()

    def check(self) -> None:
        """Restart every child that has exited, waiting longer after quick repeated deaths."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.next_start == 0.0:
                # Doubling delay after deaths in quick succession; reset after a good run.
                quick = now - child.started_at < 10
                child.restarts = child.restarts + 1 if quick else 1
                delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (child.restarts - 1))
                child.next_start = now + delay
                self.log(
                    f"{child.name} exited with {child.process.returncode}; "
                    f"restarting in {delay:.1f} s"
                )
            elif now >= child.next_start:
                child.next_start = 0.0
                self._start(child)

    def run(self, poll_seconds: float = 0.5) -> None:
        while not self._stop:
            self.check()
            time.sleep(poll_seconds)

    def stop_soon(self) -> None:
        self._stop = True

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to every child (workers then finish their job cleanly), then SIGKILL."""
        self._stop = True
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
