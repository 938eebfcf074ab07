"""Real Celery processes for the fault tests (tests/test_faults.py): workers and a beat on the test database and a
Redis database of their own, started and killed at will, each with its own view of the clock.

Every process runs from the repository root with it first on PYTHONPATH (so it imports this tree's code), and
with tests/clock_site on it, whose sitecustomize starts the process's clock ``CARE_TEST_CLOCK_OFFSET_SECONDS``
ahead of the real one: the session's own offset (CARE_TEST_CLOCK) plus the ``ahead`` a test asks for. A process
started ``ahead=240`` lives four minutes later than the test, as if the test had waited four minutes before
starting it; the fault tests use that to cross the recovery bounds without waiting for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sweep_harness import OUTBOX_BACKEND, subprocess_env

ROOT = Path(__file__).resolve().parent.parent
CLOCK_SITE = ROOT / "tests" / "clock_site"
STALLING_BACKEND = "tests.fault_backends.StallingOutbox"
WORKER_APP_NAME = "care-fault-worker"  # PGAPPNAME: how a test finds the worker's database connections


class CeleryRig:
    """The processes of one fault test; ``stop_all`` (always called by the fixture) ends every one of them."""

    def __init__(self, tmp_path: Path, broker_url: str) -> None:
        self.tmp_path = tmp_path
        self.broker_url = broker_url
        self.marker = tmp_path / "stalled"
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs: dict[str, Path] = {}

    def env(self, *, ahead: float = 0, **extra: str) -> dict[str, str]:
        session = float(os.environ.get("CARE_TEST_CLOCK_OFFSET_SECONDS", "0") or 0)
        paths = [str(ROOT), str(CLOCK_SITE), os.environ.get("PYTHONPATH", "")]
        settings = {
            "CELERY_BROKER_URL": self.broker_url,
            "EMAIL_BACKEND": STALLING_BACKEND,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CONN_MAX_AGE": "0",
            "CARE_SEND_CHUNK": "10",
            "CARE_FAULT_MARKER": str(self.marker),
            "CARE_FAULT_STALL_AT": "15",
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "CARE_TEST_CLOCK_OFFSET_SECONDS": repr(session + ahead),
        }
        return subprocess_env(**{**settings, **extra})

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.logs[name] = self.tmp_path / f"{name}.log"
        with self.logs[name].open("wb") as log:
            # A session of its own: a test kills a prefork worker with all its children, as a crash would.
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append((name, process))
        return process

    def worker(self, name: str, *, pool: str = "solo", ahead: float = 0, **extra: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}", "--concurrency=1",
                   "-Q", "celery", "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
                   "-n", f"{name}-{os.getpid()}@%h"]  # fmt: skip
        return self._start(name, command, self.env(ahead=ahead, PGAPPNAME=WORKER_APP_NAME, **extra))

    def beat(self, name: str, *, ahead: float = 0) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "--max-interval=1",
                   "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                   "--pidfile", str(self.tmp_path / f"{name}.pid")]  # fmt: skip
        return self._start(name, command, self.env(ahead=ahead, PGAPPNAME="care-fault-beat"))

    def run_python(self, code: str, *, broker_url: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``code`` in a fresh Django process (a web process or a task, say), publishing to ``broker_url``."""
        env = self.env()
        if broker_url is not None:
            env["CELERY_BROKER_URL"] = broker_url
        env["EMAIL_BACKEND"] = OUTBOX_BACKEND
        script = f"import django\ndjango.setup()\n{code}"
        return subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    def stalled_pid(self, *, timeout: float = 60) -> int:
        """Wait for the stalling backend to stall; return the pid of the process that stalled."""
        self.wait_for(self.marker.exists, timeout=timeout, what="the worker to stall mid-send")
        return int(self.marker.read_text())

    def release(self) -> None:
        Path(f"{self.marker}.go").touch()

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its whole group (a prefork worker's children with it), as a crash would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)

    def stop_all(self) -> None:
        for _name, process in self.processes:
            try:
                self.stop(process)
            except ProcessLookupError:
                continue

    def alive(self) -> None:
        for name, process in self.processes:
            if process.returncode is None and process.poll() is not None:
                raise AssertionError(f"{name} exited early ({process.returncode}):\n{self.log_tail()}")

    def wait_for(self, ready: Callable[[], Any], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{path.read_text(errors='replace')[-4000:]}" for name, path in self.logs.items()
        )
