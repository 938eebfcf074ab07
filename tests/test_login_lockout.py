"""Brute-force protection on both password logins, /admin/login/ and /briefings/login/ (issue 11, django-axes).

Real posts through the test client to the real login views. The lock covers one username from one address
(AXES_LOCKOUT_PARAMETERS = username+ip_address); every test pins the clock, so the cool-off is driven, not
waited for.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from care.core.api.tokens import api_token_create
from care.core.client_ip import client_ip
from care.core.roles import FRONTLINE_REPS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
ADDRESS = "203.0.113.5"
OTHER_ADDRESS = "198.51.100.77"
PROXY = "10.0.0.2"
MOMENT = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
LIMIT = 5
COOL_OFF = dt.timedelta(minutes=15)

PAGES = [
    pytest.param("admin:login", "admin/locked_out.html", id="admin"),
    pytest.param("briefings:login", "briefings/locked_out.html", id="briefings"),
]


@pytest.fixture(autouse=True)
def _lockout_settings(settings: Any) -> Iterator[time_machine.Traveller]:
    """The shipped defaults, stated here so the test reads on its own, and a stopped clock."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF
    settings.TRUSTED_PROXY_COUNT = 0
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def traveller(_lockout_settings: time_machine.Traveller) -> time_machine.Traveller:
    return _lockout_settings


@pytest.fixture
def agent() -> Any:
    """A frontline rep with staff status (as the demo's), so both login pages accept the right password."""
    user = UserFactory.create(username="gate-agent", is_staff=True)
    user.groups.add(Group.objects.get(name=FRONTLINE_REPS))
    return user


def log_in(client: Client, page: str, password: str, *, username: str = "gate-agent", **meta: str) -> Any:
    meta.setdefault("REMOTE_ADDR", ADDRESS)
    return client.post(reverse(page), {"username": username, "password": password}, **meta)  # type: ignore[arg-type]


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(client: Client, page: str, times: int, **meta: str) -> list[int]:
    return [log_in(client, page, "wrong password", **meta).status_code for _ in range(times)]


def assert_lockout_page(response: Any, template: str, *, retry_at: str) -> None:
    assert response.status_code == 429
    assert template in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert f"{LIMIT} wrong passwords in a row" in page
    assert f"You can try again after {retry_at} UTC" in page
    assert response["Retry-After"] == str(int(COOL_OFF.total_seconds()))


# --- Locking ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "template"), PAGES)
def test_wrong_passwords_lock_the_login_and_then_the_right_password_is_refused(
    client: Client, agent: Any, page: str, template: str
) -> None:
    assert fail(client, page, LIMIT - 1) == [200] * (LIMIT - 1)
    locked = log_in(client, page, "wrong password")
    assert_lockout_page(locked, template, retry_at="14:15")

    response = log_in(client, page, PASSWORD)
    assert_lockout_page(response, template, retry_at="14:15")
    assert not logged_in(client)
    (attempt,) = AccessAttempt.objects.all()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == ("gate-agent", ADDRESS, LIMIT + 1)


@pytest.mark.parametrize(("page", "template"), PAGES)
def test_the_same_username_from_another_address_is_not_locked(
    client: Client, agent: Any, page: str, template: str
) -> None:
    UserFactory.create(username="colleague", is_staff=True).groups.add(Group.objects.get(name=FRONTLINE_REPS))
    fail(client, page, LIMIT)
    assert log_in(client, page, PASSWORD).status_code == 429

    # The real owner, elsewhere: an attacker cannot lock a coordinator out from everywhere.
    elsewhere = Client()
    assert log_in(elsewhere, page, PASSWORD, REMOTE_ADDR=OTHER_ADDRESS).status_code == 302
    assert logged_in(elsewhere)
    # Nor does the lock cover another username from the attacker's address.
    colleague = Client()
    assert log_in(colleague, page, PASSWORD, username="colleague").status_code == 302


@pytest.mark.parametrize(("page", "template"), PAGES)
def test_the_lock_lifts_when_the_cool_off_has_passed(
    client: Client, agent: Any, traveller: time_machine.Traveller, page: str, template: str
) -> None:
    fail(client, page, LIMIT)
    traveller.move_to(MOMENT + COOL_OFF, tick=False)  # 14:15:00, the last failure's cool-off not yet over
    assert AccessAttempt.objects.get().attempt_time == MOMENT
    traveller.move_to(MOMENT + COOL_OFF + dt.timedelta(seconds=1), tick=False)
    response = log_in(client, page, PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_an_attempt_while_locked_starts_the_wait_again(
    client: Client, agent: Any, traveller: time_machine.Traveller
) -> None:
    fail(client, "briefings:login", LIMIT)
    traveller.move_to(MOMENT + dt.timedelta(minutes=14), tick=False)
    impatient = log_in(client, "briefings:login", PASSWORD)
    assert_lockout_page(impatient, "briefings/locked_out.html", retry_at="14:29")
    # Without the restart the lock would have lifted at 14:15.
    traveller.move_to(MOMENT + dt.timedelta(minutes=15, seconds=1), tick=False)
    assert_lockout_page(log_in(client, "briefings:login", PASSWORD), "briefings/locked_out.html", retry_at="14:30")
    traveller.move_to(MOMENT + dt.timedelta(minutes=30, seconds=2), tick=False)
    assert log_in(client, "briefings:login", PASSWORD).status_code == 302


@pytest.mark.parametrize(("page", "template"), PAGES)
def test_a_successful_login_resets_the_count(client: Client, agent: Any, page: str, template: str) -> None:
    assert fail(client, page, LIMIT - 1) == [200] * (LIMIT - 1)
    assert log_in(client, page, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()

    later = Client()
    assert fail(later, page, LIMIT - 1) == [200] * (LIMIT - 1)  # a count carried over would lock at the first
    assert log_in(later, page, "wrong password").status_code == 429


# --- Behind a proxy ---------------------------------------------------------------------------------------------
def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client: Client, agent: Any) -> None:
    """A client cannot escape the lock by making up a new address for every attempt."""
    statuses = [
        log_in(client, "admin:login", "wrong password", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(LIMIT)
    ]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ADDRESS]


def test_behind_a_trusted_proxy_each_client_is_locked_on_its_own(client: Client, agent: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    via_proxy = {"REMOTE_ADDR": PROXY}
    statuses = [
        # The client's own claim (left of what our proxy appended) does not change which client it is.
        log_in(client, "admin:login", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ADDRESS}", **via_proxy).status_code
        for n in range(LIMIT)
    ]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ADDRESS]
    assert log_in(client, "admin:login", PASSWORD, HTTP_X_FORWARDED_FOR=ADDRESS, **via_proxy).status_code == 429

    # Another client through the same proxy is not locked: the proxy's address is not what is counted.
    other = Client()
    response = log_in(other, "admin:login", PASSWORD, HTTP_X_FORWARDED_FOR=OTHER_ADDRESS, **via_proxy)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "header", "meta", "expected"),
    [
        (0, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "192.0.2.1"}, ADDRESS),
        (1, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "192.0.2.1, 198.51.100.7"}, "198.51.100.7"),
        (2, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "192.0.2.1, 198.51.100.7, 10.0.0.9"}, "198.51.100.7"),
        (2, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "198.51.100.7"),  # fewer hops than proxies
        (1, "X-Forwarded-For", {}, ADDRESS),  # no header: the peer
        (1, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "192.0.2.1, not-an-address"}, ADDRESS),
        (1, "X-Forwarded-For", {"HTTP_X_FORWARDED_FOR": "2001:DB8::1"}, "2001:db8::1"),
        (1, "X-Real-IP", {"HTTP_X_REAL_IP": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}, "198.51.100.7"),
        (1, "HTTP_X_REAL_IP", {"HTTP_X_REAL_IP": "198.51.100.7"}, "198.51.100.7"),
    ],
)
def test_client_address(settings: Any, proxies: int, header: str, meta: dict[str, str], expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.CLIENT_IP_HEADER = header
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=ADDRESS, **meta)) == expected  # type: ignore[arg-type]


# --- What is not affected -----------------------------------------------------------------------------------------
def test_api_tokens_are_not_affected(client: Client, agent: Any) -> None:
    _, raw = api_token_create(name="OCC", scopes=["read"])
    fail(client, "admin:login", LIMIT)
    assert log_in(client, "admin:login", PASSWORD).status_code == 429

    api = Client()
    bad = [
        api.get("/api/v1/incidents/", headers={"Authorization": "Bearer pct_wrong"}, REMOTE_ADDR=ADDRESS).status_code
        for _ in range(2 * LIMIT)
    ]
    assert bad == [401] * (2 * LIMIT)
    good = api.get("/api/v1/incidents/", headers={"Authorization": f"Bearer {raw}"}, REMOTE_ADDR=ADDRESS)
    assert good.status_code == 200
    # Token failures are the API's business (401), not login failures: nothing new for axes to count.
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [("gate-agent", LIMIT + 1)]


def test_a_session_already_open_keeps_working(client: Client, agent: Any) -> None:
    working = Client()
    working.force_login(agent)
    fail(client, "briefings:login", LIMIT)
    assert working.get(reverse("briefings:board"), REMOTE_ADDR=ADDRESS).status_code == 200


# --- Coordinators see and lift lockouts; reps do not ---------------------------------------------------------------
def test_coordinators_see_lockouts_and_lift_them_reps_cannot(
    agent: Any, coordinator_client: Client, rep_client: Client
) -> None:
    locked = Client()
    fail(locked, "briefings:login", LIMIT)
    attempt = AccessAttempt.objects.get()
    changelist = reverse("admin:axes_accessattempt_changelist")
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])

    assert rep_client.get(changelist).status_code == 403
    assert rep_client.post(delete, {"post": "yes"}).status_code == 403
    assert b"Access attempts" not in rep_client.get(reverse("admin:index")).content
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()

    page = coordinator_client.get(changelist)
    assert page.status_code == 200
    assert b"gate-agent" in page.content
    assert b"Locked Out" in page.content
    assert b"Access attempts" in coordinator_client.get(reverse("admin:index")).content
    assert coordinator_client.post(delete, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert log_in(locked, "briefings:login", PASSWORD).status_code == 302


# --- Personal data --------------------------------------------------------------------------------------------------
def test_logs_and_records_keep_no_more_than_the_lock_needs(
    client: Client, agent: Any, caplog: pytest.LogCaptureFixture
) -> None:
    browser = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"}
    with caplog.at_level(logging.DEBUG, logger="axes"):
        fail(client, "admin:login", 2, **browser)
        assert log_in(client, "admin:login", PASSWORD, **browser).status_code == 302
    axes_lines = [record.getMessage() for record in caplog.records if record.name.startswith("axes")]
    assert any("login failure" in line for line in axes_lines)
    for line in axes_lines:
        assert "gate-agent" not in line
        assert ADDRESS not in line
        assert "Mozilla" not in line
    assert not AccessLog.objects.exists()  # no record of every successful login

    fail(Client(), "admin:login", 1)
    (attempt,) = AccessAttempt.objects.all()
    assert "wrong password" not in attempt.post_data
    assert "gate-agent" not in attempt.post_data  # the username is in its own column, masked in the form copy


# --- Configuration ---------------------------------------------------------------------------------------------------
def test_system_checks_are_clean() -> None:
    # axes.W002/W003/W006: middleware, backend and an address in every lock are checked at WARNING level.
    call_command("check", fail_level="WARNING")
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert django_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_a_lock_by_username_alone_fails_the_checks() -> None:
    """AXES_LOCKOUT_PARAMETERS=username would let anyone lock a coordinator out from everywhere."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "AXES_LOCKOUT_PARAMETERS": "username"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "axes.W006" in result.stdout + result.stderr
