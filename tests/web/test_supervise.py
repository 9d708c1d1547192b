"""The demo keeps its web server and worker running: a child that dies is started again."""

import os
import signal
import sys
import time

from annotator.web.supervise import Supervisor


def wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_child_is_started_again_and_stop_ends_it(tmp_path):
    supervisor = Supervisor(cwd=tmp_path, log=lambda line: None)
    child = supervisor.add("web", [sys.executable, "-c", "import time; time.sleep(60)"])
    first = child.process.pid
    os.kill(first, signal.SIGKILL)

    def restarted() -> bool:
        supervisor.check()
        return child.process.pid != first and child.process.poll() is None

    assert wait_for(restarted)
    supervisor.stop(timeout=5)
    assert child.process.poll() is not None


def test_a_child_that_keeps_dying_is_restarted_ever_more_slowly(tmp_path):
    lines: list[str] = []
    supervisor = Supervisor(cwd=tmp_path, log=lines.append)
    child = supervisor.add("worker", [sys.executable, "-c", "raise SystemExit(3)"])
    assert wait_for(lambda: (supervisor.check(), len(lines) >= 3)[1], seconds=15)
    supervisor.stop(timeout=5)
    assert lines[0] == "worker exited with 3; restarting in 0.5 s"
    assert lines[1].endswith("restarting in 1.0 s")
    assert lines[2].endswith("restarting in 2.0 s")
    assert child.restarts >= 3
