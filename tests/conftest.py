"""Shared fixtures and the rules that keep the test run honest.

- Under CI (CI=true) the tests must run on PostgreSQL: the session fails at once
  if the database is anything else, instead of silently skipping the tests that
  matter most.
- Locally on SQLite, tests marked ``postgres`` are skipped with the reason shown.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from care.roles import COORDINATORS, FRONTLINE_REPS

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionstart(session: pytest.Session) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if ON_CI and "postgresql" not in engine:
        pytest.exit(f"CI=true but the tests are configured for {engine}; set DATABASE_URL to PostgreSQL.", returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI always runs these)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


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
