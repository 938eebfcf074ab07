"""Every write that matters to customers and letters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from care.lifecycle import move_batch
from care.models import LETTER_LIFECYCLE, Letter, LetterStatus, LetterStatusChange


def letters_approve(*, letter_ids: Iterable[int], actor: Any, note: str = "") -> int:
    """Approve draft letters (all or none), recording who approved them and when."""
    return move_batch(
        queryset=Letter.objects.select_related(None),
        ids=letter_ids,
        target=LetterStatus.APPROVED,
        lifecycle=LETTER_LIFECYCLE,
        audit_model=LetterStatusChange,
        audit_fk="letter",
        verb="approve",
        noun="letters",
        actor=actor,
        note=note,
        changes={"approved_by_id": actor.pk, "approved_at": timezone.now()},
        hint="Filter the list by status “Draft” to approve the rest.",
    )


def letters_cancel(*, letter_ids: Iterable[int], actor: Any, note: str = "") -> int:
    """Cancel letters that have not been handed to the email provider yet (all or none)."""
    return move_batch(
        queryset=Letter.objects.all(),
        ids=letter_ids,
        target=LetterStatus.CANCELLED,
        lifecycle=LETTER_LIFECYCLE,
        audit_model=LetterStatusChange,
        audit_fk="letter",
        verb="cancel",
        noun="letters",
        actor=actor,
        note=note,
        hint="Letters already sent cannot be called back.",
    )
