"""Shared fixtures and the rules that keep the test run honest.

- Under CI (CI=true) the tests must run on PostgreSQL: the session fails at once
  if the database is anything else, instead of silently skipping the tests that
  matter most.
- Locally on SQLite, tests marked ``postgres`` are skipped with the reason shown.
- No test may depend on the wall clock. A test whose outcome depends on the time pins it with the ``clock``
  fixture (or passes ``now=``). ``CARE_TEST_CLOCK`` ("03:00 America/New_York", or an ISO timestamp) starts the
  whole session at that moment, the clock ticking on from there: CI runs the suite a second time so, in the
  middle of the night in New York, where quiet hours hold most letters back.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from care.core.roles import COORDINATORS, FRONTLINE_REPS
from tests.clock import DAYTIME_IN_NEW_YORK, Clock

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SESSION_CLOCK = os.environ.get("CARE_TEST_CLOCK", "").strip()
_session_travel: Any = None


def session_start_moment(value: str, *, today: dt.date) -> dt.datetime:
    """The aware moment CARE_TEST_CLOCK names: an ISO timestamp with an offset, or "HH:MM Area/City" today."""
    if " " in value:
        clock, zone_name = value.split(None, 1)
        local = dt.datetime.combine(today, dt.time.fromisoformat(clock), tzinfo=zoneinfo.ZoneInfo(zone_name))
        return local.astimezone(dt.UTC)
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"CARE_TEST_CLOCK={value!r} needs an offset or a time zone, e.g. '03:00 America/New_York'.")
    return moment


def pytest_sessionstart(session: pytest.Session) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if ON_CI and "postgresql" not in engine:
        pytest.exit(f"CI=true but the tests are configured for {engine}; set DATABASE_URL to PostgreSQL.", returncode=3)
    if SESSION_CLOCK:
        import time_machine

        global _session_travel
        moment = session_start_moment(SESSION_CLOCK, today=dt.datetime.now(dt.UTC).date())
        # Processes started by the tests inherit the clock through tests/clock_site/sitecustomize.py.
        os.environ["CARE_TEST_CLOCK_OFFSET_SECONDS"] = repr(moment.timestamp() - time.time())
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent / "clock_site"), os.environ.get("PYTHONPATH")])
        )
        _session_travel = time_machine.travel(moment, tick=True)
        _session_travel.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _session_travel is not None:
        _session_travel.stop()


def pytest_report_header(config: pytest.Config) -> str:
    if SESSION_CLOCK:
        return f"clock: the session starts at CARE_TEST_CLOCK={SESSION_CLOCK!r} and ticks on from there"
    return "clock: the wall clock (tests that depend on the time pin it with the clock fixture)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI always runs these)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def redis_or_skip(url: str) -> Any:
    """A client of the Redis at ``url``. When it cannot be reached the test is skipped locally, with the reason,
    and fails under CI, where .ci/run starts Redis: a CI run must not pass by skipping."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {url} is not reachable ({type(exc).__name__})"
        if ON_CI:
            pytest.fail(f"CI=true but {message}; .ci/run starts it.", pytrace=False)
        pytest.skip(f"{message}: start redis-server to run this test; CI always runs it")
    return client


@pytest.fixture(scope="session", autouse=True)
def _database_reachable(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Fail loudly, once, if the configured database cannot be reached."""
    with django_db_blocker.unblock():
        try:
            connection.ensure_connection()
        except Exception as exc:  # any driver error means the same thing here
            pytest.exit(f"Cannot reach the test database: {exc}", returncode=3)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(settings: Any) -> None:
    # Users are created per test; the production hasher would spend most of the run hashing their passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: a count cached by the last test (care.correspondence.reach) could
    otherwise name an incident whose id SQLite hands out again."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def clock() -> Iterator[Clock]:
    controlled = Clock()
    try:
        yield controlled
    finally:
        controlled.stop()


def _user_in(group_name: str, username: str) -> Any:
    from tests.factories import UserFactory

    user = UserFactory.create(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def coordinator(db: Any) -> Any:
    return _user_in(COORDINATORS, "coordinator")


@pytest.fixture
def rep(db: Any) -> Any:
    return _user_in(FRONTLINE_REPS, "rep")


@pytest.fixture
def coordinator_client(client: Any, coordinator: Any) -> Any:
    client.force_login(coordinator)
    return client


@pytest.fixture
def rep_client(rep: Any) -> Any:
    # Its own client: a test may use both roles at once, and one client holds one login.
    from django.test import Client

    rep_only = Client()
    rep_only.force_login(rep)
    return rep_only


# --- Browser tests (@pytest.mark.browser): Playwright driving Debian's chromium, never a downloaded browser ---

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


def chromium_path() -> str | None:
    """CHROMIUM_PATH if set, else the chromium on PATH (Debian's package installs /usr/bin/chromium)."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium for one test module. Locally a missing Chromium skips the browser tests with a
    message; under CI it fails them, so a CI image without a browser cannot pass by skipping."""
    path = chromium_path()
    if path is None:
        message = "no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH"
        if ON_CI:
            pytest.fail(f"CI=true but {message}; .ci/run installs it.", pytrace=False)
        pytest.skip(f"browser tests skipped: {message}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM calls from a
    # thread with a running loop unless told that this synchronous use is deliberate.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--headless=new"])
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, desktop-sized."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture
def eager_outboxes(settings: Any) -> Iterator[None]:
    """Tasks run inline when published (as a worker would); email and SMS land in their local outbox tables, the
    embedded defaults (pytest-django swaps email for locmem)."""
    from config.celery import app

    settings.EMAIL_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"
    settings.SMS_BACKEND = "care.correspondence.sms.backends.OutboxSmsBackend"
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def sweep(django_capture_on_commit_callbacks: Any, clock: Clock) -> Callable[..., dict[str, int]]:
    """Run a sweep ``minutes`` after DAYTIME_IN_NEW_YORK, with everything it publishes after commit (chunks, then
    sending). Modules with a clock of their own define their own ``sweep``."""

    def run(function: Callable[..., dict[str, int]], *, minutes: int = 0) -> dict[str, int]:
        now = clock.at(DAYTIME_IN_NEW_YORK + minutes * dt.timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            return function(now=now)

    return run
