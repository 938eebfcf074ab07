"""End to end through real Celery: beat fires the first-notice sweep, a worker works it, the letters go out.

A real worker and a real beat process run against Redis (a dedicated database, flushed first) and the test
database, with the embedded outbox as the ESP. Locally the test is skipped when Redis is not reachable;
under CI (CI=true) an unreachable Redis fails the test instead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from care.correspondence.models.letters import LetterStatus
from tests.conftest import redis_or_skip
from tests.sweep_harness import (
    OUTBOX_BACKEND,
    initial_notices,
    open_incident_with,
    outbox_count_per_letter,
    subprocess_env,
)

E2E_BROKER_URL = os.environ.get("CELERY_E2E_BROKER_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent
SWEEP_TASK = "incidents.tasks.sweep_first_notices_task"
TIMEOUT = 60


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def celery_processes(tmp_path: Path) -> Iterator[Any]:
    """Start a worker and a beat on the test database; always stopped (SIGTERM, then SIGKILL) afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    logs: dict[str, Path] = {}

    def start() -> None:
        env = subprocess_env(
            CELERY_BROKER_URL=E2E_BROKER_URL,
            EMAIL_BACKEND=OUTBOX_BACKEND,
            CELERY_TASK_ALWAYS_EAGER="false",
            CONN_MAX_AGE="0",
        )
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        commands = {
            "worker": [*celery, "worker", "--pool=solo", "-Q", "celery", "--loglevel=INFO", "--without-mingle",
                       "--without-gossip", "--without-heartbeat", "-n", f"e2e-{os.getpid()}@%h"],
            "beat": [*celery, "beat", "--loglevel=INFO", "--max-interval=1",
                     "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                     "--pidfile", str(tmp_path / "beat.pid")],
        }  # fmt: skip
        for name, command in commands.items():
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("wb") as log:
                started.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))

    def log_tail() -> str:
        return "\n".join(f"--- {name} ---\n{path.read_text()[-3000:]}" for name, path in logs.items() if path.exists())

    try:
        yield start, log_tail, started
    finally:
        _stop(started)


@pytest.mark.celery
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_real_worker_send_every_initial_notice(celery_processes: Any) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    redis_or_skip(E2E_BROKER_URL).flushdb()  # its own database, emptied
    start, log_tail, processes = celery_processes
    every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    # Only this schedule runs: the project's own (registered after migrate) would fire other sweeps.
    PeriodicTask.objects.exclude(task=SWEEP_TASK).update(enabled=False)
    PeriodicTask.objects.filter(task=SWEEP_TASK).delete()
    PeriodicTask.objects.create(name="e2e first notices", task=SWEEP_TASK, interval=every_two_seconds)
    incident, affected_ids = open_incident_with(5)
    connection.close()

    start()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"a Celery process exited early:\n{log_tail()}"
        if initial_notices(incident).filter(status=LetterStatus.SENT).count() == len(affected_ids):
            break
        time.sleep(0.5)
    else:
        statuses = list(initial_notices(incident).values_list("status", flat=True))
        pytest.fail(f"not every initial notice was sent within {TIMEOUT} s: {statuses}\n{log_tail()}")

    letters = dict(initial_notices(incident).values_list("pk", "affected_id"))
    assert sorted(letters.values()) == affected_ids
    handed = outbox_count_per_letter()
    assert {pk: handed[pk] for pk in letters} == dict.fromkeys(letters, 1)


def test_every_retry_delay_and_eta_stays_below_the_visibility_timeout() -> None:
    """Redis redelivers an unacknowledged message after the visibility timeout, and a task held for its ETA
    or retry countdown is unacknowledged: any delay at or above the timeout means a second delivery."""
    import importlib

    from celery.utils.time import get_exponential_backoff_interval

    from care import tasks as care_tasks
    from config.celery import app

    limit = settings.CELERY_VISIBILITY_TIMEOUT
    assert limit > care_tasks.SEND_RETRY_BACKOFF_MAX
    modules = [care_tasks]
    for name in ("incidents.tasks", "incidents.alert_tasks", "vouchers.tasks"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue  # a module not written (yet) has no delays to check
    # Module-level delay settings, by the naming the project uses (…_BACKOFF_MAX, …_COUNTDOWN, …_ETA…).
    delays = {
        f"{module.__name__}.{name}": value
        for module in modules
        for name, value in vars(module).items()
        if name.isupper()
        and isinstance(value, int | float)
        and any(word in name for word in ("BACKOFF", "COUNTDOWN", "ETA", "RETRY_DELAY", "DELAY_SECONDS"))
    }
    assert "care.tasks.SEND_RETRY_BACKOFF_MAX" in delays
    too_long = {name: value for name, value in delays.items() if value >= limit}
    assert too_long == {}, f"delays at or above the visibility timeout ({limit} s): {too_long}"

    # No literal countdown or ETA hides in a call: a delay must be a named setting checked above.
    pattern = re.compile(r"\b(countdown|eta)\s*=\s*(?![A-Z_]+\b)")
    literal = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("care", "incidents", "vouchers", "config")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert literal == [], f"countdown/ETA not taken from a named, checked setting: {literal}"

    # Every registered project task's own retry policy: its longest backoff and its default retry delay.
    app.loader.import_default_modules()
    project_tasks = [
        task for name, task in app.tasks.items() if name.split(".")[0] in {"care", "incidents", "vouchers"}
    ]
    assert any(task.name == "care.tasks.send_letters" for task in project_tasks)
    for task in project_tasks:
        if getattr(task, "autoretry_for", ()) and getattr(task, "retry_backoff", False):
            longest = get_exponential_backoff_interval(
                factor=int(getattr(task, "retry_backoff", 1)),
                retries=task.max_retries or 0,
                maximum=getattr(task, "retry_backoff_max", 600),
                full_jitter=False,
            )
            assert longest < limit, f"{task.name} may wait {longest} s before a retry"
        assert task.default_retry_delay < limit, f"{task.name}: default_retry_delay {task.default_retry_delay}"
