"""Asking the email backend whether it has letters that were handed to it, for the reconciliation of letters a
send run left SENDING (care.correspondence.sending.reconcile).

Exact where the backend keeps what it took where we can read it:

- the local outbox (care.correspondence.outbox): one ``OutboxMessage`` row per recipient, committed by the call
  itself, whose metadata carries the ``letter_id`` the sender put on the message (``sending.messages``);
- Django's locmem backend and anymail's test backend: the messages in ``django.core.mail.outbox``, tied to their
  letter by the same metadata (anymail) or the ``X-Care-Letter`` header (plain Django). That list lives in the
  memory of the process that sent, so the answer is exact only there: in the tests, which send and reconcile in
  one process.

A real ESP behind anymail offers no lookup by our letter id (anymail sends; it does not read an ESP's logs), so
for those the answer is None, "cannot tell", and the reconciliation turns to the ESP's tracking events instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from care.correspondence.models.letters import OutboxMessage
from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage
from care.correspondence.outbox import OutboxEmailBackend
from care.correspondence.sms.backends import BaseSmsBackend, LocmemSmsBackend, OutboxSmsBackend, sms_outbox

# The header that ties a plain Django message to its letter (anymail messages carry it in their metadata).
LETTER_HEADER = "X-Care-Letter"
_IN_MEMORY = (LocmemBackend, AnymailTestBackend)


@dataclass(frozen=True)
class Held:
    """What the backend recorded of a letter it took: its message id, and when, if it says."""

    message_id: str
    at: datetime | None = None


def backend_can_tell(connection: BaseEmailBackend) -> bool:
    """Whether :func:`letters_held` can answer for this backend (else it returns None)."""
    return isinstance(connection, (OutboxEmailBackend, *_IN_MEMORY))


def letters_held(connection: BaseEmailBackend, letter_ids: Sequence[int]) -> dict[int, Held] | None:
    """The letters among ``letter_ids`` that the backend has, with what it recorded; None when it cannot tell."""
    if isinstance(connection, OutboxEmailBackend):
        return _in_the_outbox(letter_ids)
    if isinstance(connection, _IN_MEMORY):
        return _in_memory(letter_ids)
    return None


def _in_the_outbox(letter_ids: Sequence[int]) -> dict[int, Held]:
    wanted = [str(pk) for pk in letter_ids]
    if not wanted:
        return {}
    # A JSON key lookup (``metadata -> 'letter_id'`` on PostgreSQL): the sender writes the id as a string.
    rows = (
        OutboxMessage.objects.filter(metadata__letter_id__in=wanted)
        .order_by("pk")
        .values_list("metadata", "message_id", "created_at")
    )
    held: dict[int, Held] = {}
    for metadata, message_id, created_at in rows:
        held.setdefault(int(metadata["letter_id"]), Held(message_id=message_id, at=created_at))  # its first copy
    return held


def _letter_ids_of(message: Any) -> Iterable[tuple[int, str]]:
    """(letter id, address) for each letter a message in Django's outbox carries."""
    found: list[tuple[str, str]] = []
    metadata = getattr(message, "metadata", None) or {}
    merge_metadata = getattr(message, "merge_metadata", None) or {}
    recipients = [str(address) for address in getattr(message, "to", [])]
    if "letter_id" in metadata and recipients:
        found.append((str(metadata["letter_id"]), recipients[0]))
    found += [(str(values["letter_id"]), str(address)) for address, values in merge_metadata.items() if values]
    header = (getattr(message, "extra_headers", None) or {}).get(LETTER_HEADER)
    if header is not None and recipients:
        found.append((str(header), recipients[0]))
    return [(int(letter), address) for letter, address in found if letter.isdigit()]


def _message_id_of(message: Any, address: str) -> str:
    status = getattr(message, "anymail_status", None)
    recipient = (getattr(status, "recipients", None) or {}).get(address)
    if recipient is not None and recipient.message_id is not None:
        return str(recipient.message_id)
    return str((getattr(message, "extra_headers", None) or {}).get("Message-ID", ""))


def _in_memory(letter_ids: Sequence[int]) -> dict[int, Held]:
    wanted = set(letter_ids)
    held: dict[int, Held] = {}
    for message in getattr(mail, "outbox", []):
        for letter_id, address in _letter_ids_of(message):
            if letter_id in wanted and letter_id not in held:
                held[letter_id] = Held(message_id=_message_id_of(message, address))
    return held


def sms_backend_can_tell(backend: BaseSmsBackend) -> bool:
    """Whether :func:`sms_letters_held` can answer for this SMS backend (else it returns None)."""
    return isinstance(backend, (OutboxSmsBackend, LocmemSmsBackend))


def sms_letters_held(backend: BaseSmsBackend, letter_ids: Sequence[int]) -> dict[int, Held] | None:
    """The SMS letters among ``letter_ids`` the SMS backend has: the local outbox's rows (committed by the call
    itself) or the messages of the test backend; None for a real provider, which cannot be asked by letter."""
    if isinstance(backend, OutboxSmsBackend):
        rows = (
            SmsOutboxMessage.objects.filter(letter_id__in=list(letter_ids))
            .order_by("pk")
            .values_list("letter_id", "provider_id", "created_at")
        )
        held: dict[int, Held] = {}
        for letter_id, provider_id, created_at in rows:
            if letter_id is not None:
                held.setdefault(letter_id, Held(message_id=provider_id, at=created_at))
        return held
    if isinstance(backend, LocmemSmsBackend):
        wanted = set(letter_ids)
        return {
            m.letter_id: Held(message_id="") for m in sms_outbox if m.letter_id is not None and m.letter_id in wanted
        }
    return None


def sms_status_events(letter_ids: list[int]) -> dict[int, Held]:
    """The SMS letters among ``letter_ids`` with a status callback: the provider has them."""
    held: dict[int, Held] = {}
    events = (
        SmsEvent.objects.filter(letter_id__in=letter_ids)
        .order_by("pk")
        .values_list("letter_id", "provider_id", "received_at")
    )
    for letter_id, provider_id, received_at in events:
        if letter_id is not None:
            held.setdefault(letter_id, Held(message_id=provider_id, at=received_at))
    return held
