"""The demo logins: two coordinators and a frontline rep with random passwords, for development only.

Two coordinators, because a batch of letters whose vouchers are worth more than CARE_SECOND_APPROVAL_ABOVE
needs a second, different coordinator's approval: with one, the README's walkthrough could not be finished.

The passwords live in a file readable by its owner only, so every start prints the same logins and a fresh
database gets the same passwords again.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db import transaction

from care.core.errors import DomainError
from care.core.roles import COORDINATORS, FRONTLINE_REPS

# (username, group, what the login is for; {threshold} is CARE_SECOND_APPROVAL_ABOVE)
DEMO_USERS = (
    ("coordinator", COORDINATORS, ""),
    (
        "coordinator2",
        COORDINATORS,
        "the second approval a batch needs when its vouchers exceed {threshold} (CARE_SECOND_APPROVAL_ABOVE)",
    ),
    ("rep", FRONTLINE_REPS, ""),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    group: str
    password: str | None  # None when we cannot show a password that works
    note: str = ""
    purpose: str = ""


def demo_users_ensure(*, logins_file: Path) -> list[DemoLogin]:
    """Create the demo coordinators and rep if missing, and return the logins that work.

    Passwords are random and kept in ``logins_file`` (readable by the owner only), so every start shows the
    same logins, and a fresh database gets the same passwords again. An existing user's password is never
    overwritten.
    """
    if not settings.DEBUG:
        raise DomainError("Demo users are only created in development (DEBUG=true): their passwords are printed.")
    stored = _read_logins(logins_file)
    user_model = get_user_model()
    missing = [name for name, _group, _purpose in DEMO_USERS if not user_model.objects.filter(username=name).exists()]
    new_passwords = {name: secrets.token_urlsafe(18) for name in missing if name not in stored}
    if new_passwords:
        # Written before the users exist: a crash in between leaves passwords for users that will be created.
        stored |= new_passwords
        _write_logins(logins_file, stored)
    logins = []
    with transaction.atomic():
        for username, group_name, purpose in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com", "is_staff": True}
            )
            if created:
                user.set_password(stored[username])
                user.save(update_fields=["password"])
            elif not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            user.groups.add(Group.objects.get(name=group_name))
            password, note = _usable_password(user, stored.get(username), created)
            threshold = f"{settings.CARE_SECOND_APPROVAL_ABOVE:,}"
            logins.append(DemoLogin(username, group_name, password, note, purpose.format(threshold=threshold)))
    return logins


def _usable_password(user: AbstractBaseUser, password: str | None, created: bool) -> tuple[str | None, str]:
    if password is None:
        return None, "password not on record; set one with manage.py changepassword"
    # Checking costs a hash (about a second); it spares printing a password that no longer works.
    if not created and not user.check_password(password):
        return None, "password changed since it was recorded; use your own"
    return password, ""


def _read_logins(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    os.chmod(path, 0o600)  # tighten a copy that lost its mode
    pairs = (line.split() for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    logins: dict[str, str] = {}
    for fields in pairs:
        match fields:
            case [username, password]:
                logins[username] = password
    return logins


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo logins for the local admin, written by `manage.py bootstrap`. Development only."]
    lines += [f"{username} {password}" for username, password in sorted(logins.items())]
    # mkstemp creates the file 0600 from the start; the rename makes the write all-or-nothing.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".demo-logins-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)
