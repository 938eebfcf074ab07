"""Who acts: a signed-in person, or a system process that acts on its own (a sweep, an API token, a command).

Services take an ``Actor`` and write it into their audit rows: a person as the user (with the username kept
beside it, so the record survives the account), a process by its label ("sweep: first notices",
"API token: ops-feed", "demo loader").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    # The project's user model (the default one): what the user columns (approved_by, created_by) hold.
    from django.contrib.auth.models import User as Person
else:
    Person = AbstractBaseUser

LABEL_LENGTH = 100  # the actor_label columns


@dataclass(frozen=True)
class SystemActor:
    """A process acting on its own; ``label`` says which, in words a coordinator reads in the audit log."""

    label: str

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("A system actor needs a label that says which process it is.")

    def __str__(self) -> str:
        return self.label


Actor: TypeAlias = Person | SystemActor

# For a write whose caller did not say who it was (an older caller): the audit row says so.
UNATTRIBUTED = SystemActor("system (caller not recorded)")


def acting(actor: Actor | None, label: str = "", *, default: SystemActor = UNATTRIBUTED) -> Actor:
    """The actor for services that still take the pair (actor, actor_label): the person, else the label."""
    if isinstance(actor, SystemActor):
        return actor
    if actor is not None and actor.pk is not None:
        return actor
    return SystemActor(label[:LABEL_LENGTH]) if label.strip() else default


def person(actor: Actor | None) -> Person | None:
    """The user behind ``actor`` for a row's user column (``approved_by``, ``created_by``), None for a process."""
    if actor is None or isinstance(actor, SystemActor) or actor.pk is None:
        return None
    return actor


def status_change_actor(actor: Actor | None, label: str = "") -> tuple[Person | None, str]:
    """(user, label) as a StatusChange row records them: the user for a person, the label for a process."""
    if isinstance(actor, SystemActor):
        return None, actor.label[:LABEL_LENGTH]
    return person(actor), label[:LABEL_LENGTH]


def audit_actor(actor: Actor) -> tuple[Person | None, str]:
    """(user, label) as an AuditEntry records them: a person's username is kept too, should the account go."""
    if isinstance(actor, SystemActor):
        return None, actor.label[:LABEL_LENGTH]
    return person(actor), actor.get_username()[:LABEL_LENGTH]


class _SignedRequest(Protocol):
    @property
    def user(self) -> Any: ...


def request_actor(request: _SignedRequest) -> Person:
    """The signed-in person behind an admin, frontline or session API request (403 for anyone else)."""
    user = request.user
    if not isinstance(user, Person) or not user.is_authenticated:
        raise PermissionDenied
    return user
