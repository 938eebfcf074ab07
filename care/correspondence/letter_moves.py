"""Moving one letter on a provider's word (an ESP tracking event, an SMS status callback), and recording that
letters reached their customers: shared by email and SMS tracking and by the sender."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from care.correspondence.models.letters import LETTER_LIFECYCLE, Letter, LetterStatusChange
from care.correspondence.streams import covered_rows
from incidents.counters import affected_record_contact


def letters_record_contact(*, affected_ids: Iterable[int], at: datetime, letter_ids: Iterable[int] = ()) -> None:
    """Record that letters reached these affected customers at ``at``: their first and last contact, and their
    incidents' counters (incidents.counters.affected_record_contact). ``letter_ids``: the letters that reached
    them; a letter covering the customer's other incidents too (care.correspondence.streams) reached them on
    those incidents as well, and their rows are recorded with these."""
    affected_record_contact(affected_ids=[*affected_ids, *covered_rows(letter_ids)], at=at)


def letter_move(letter: Letter, *, target: str, at: datetime, note: str, actor_label: str, **changes: Any) -> bool:
    """Move ``letter`` (locked by the caller) to ``target`` if its lifecycle allows, with its trail row; False
    when it may not move (a late or repeated event) or another writer moved it first."""
    if not LETTER_LIFECYCLE.can_move(letter.status, target):
        return False
    moved = Letter.objects.filter(pk=letter.pk, status=letter.status).update(
        status=target, updated_at=timezone.now(), **changes
    )
    if moved:
        LetterStatusChange.objects.create(
            letter_id=letter.pk, from_status=letter.status, to_status=target, actor_label=actor_label, at=at, note=note
        )
        letter.status = target
    return bool(moved)
