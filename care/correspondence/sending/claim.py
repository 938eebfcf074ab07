"""Claiming queued letters: each is locked and moved out of QUEUED by one sender only, to SENDING, or to
SUPPRESSED when the customer's address may not be mailed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from care.core.bulk import rows_update
from care.correspondence.models.letters import Channel, Letter, LetterStatus
from care.correspondence.sending.rows import record_moves
from care.customers.models import SuppressionReason


@dataclass(frozen=True)
class Outgoing:
    """A claimed letter, as the sender needs it after the claim transaction has committed."""

    letter_id: int
    address: str
    subject: str
    body_text: str
    body_html: str
    kind: str
    incident_reference: str


def _claim(letter_ids: Sequence[int]) -> tuple[list[Outgoing], int]:
    """Claim the QUEUED letters among ``letter_ids``; return them and how many were held as SUPPRESSED."""
    now = timezone.now()
    with transaction.atomic():
        # Plain values, not model instances: the claim runs for every letter sent, and building a Letter,
        # its Customer and its Incident per row cost more than the query.
        rows = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=letter_ids, status=LetterStatus.QUEUED, channel=Channel.EMAIL)
            # Quiet hours: a letter waiting for the customer's morning is not claimed before it.
            .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
            .order_by("pk")
            .values_list(
                "pk",
                "to_address",
                "subject",
                "body_text",
                "body_html",
                "kind",
                "incident__reference",
                "customer__email",
                "customer__suppressed_at",
                "customer__suppression_reason",
            )
        )
        held: dict[int, str] = {}
        going: list[Outgoing] = []
        unaddressed: dict[int, str] = {}
        reasons = dict(SuppressionReason.choices)
        for pk, to_address, subject, body_text, body_html, kind, reference, email, suppressed_at, why in rows:
            if suppressed_at is not None:
                reason = str(reasons.get(why, ""))
                held[pk] = (
                    f"Not sent: the customer's address is suppressed ({reason.lower() or 'no reason given'}, "
                    f"since {suppressed_at:%d %b %Y %H:%M} UTC). Reach them another way."
                )
            elif not (to_address or email):
                held[pk] = "Not sent: the customer has no email address. Reach them another way."
            else:
                if not to_address:
                    unaddressed[pk] = email
                going.append(
                    Outgoing(
                        letter_id=pk,
                        address=to_address or email,
                        subject=subject,
                        body_text=body_text,
                        body_html=body_html,
                        kind=kind,
                        incident_reference=reference or "",
                    )
                )
        claim_moves(
            held=held,
            going=[outgoing.letter_id for outgoing in going],
            now=now,
            held_note="customer's email address cannot be used",
        )
        # Keep on the letter the address it is sent to, for the coordinator and for matching bounces.
        if unaddressed:
            rows_update(
                [Letter(pk=pk, to_address=address) for pk, address in unaddressed.items()], fields=["to_address"]
            )
    return going, len(held)


def claim_moves(*, held: dict[int, str], going: list[int], now: datetime, held_note: str) -> None:
    """Move claimed QUEUED letters (locked by the caller): ``held`` to SUPPRESSED with their reason, ``going`` to
    SENDING, not handed over yet in this attempt. One UPDATE per batch, and their trail rows."""
    # The rows are locked and QUEUED: each is written with its own values in one UPDATE per batch.
    if held:
        rows_update(
            [
                Letter(pk=pk, status=LetterStatus.SUPPRESSED, last_error=reason, updated_at=now)
                for pk, reason in held.items()
            ],
            fields=["status", "last_error", "updated_at"],
        )
        record_moves(
            ((pk, LetterStatus.QUEUED) for pk in held), to_status=LetterStatus.SUPPRESSED, at=now, note=held_note
        )
    if going:
        Letter.objects.filter(pk__in=going, status=LetterStatus.QUEUED).update(
            status=LetterStatus.SENDING,
            attempts=F("attempts") + 1,
            last_error="",
            # Not handed over in this attempt yet: the mark is written just before its provider call.
            handover_at=None,
            updated_at=now,
        )
        record_moves(
            ((pk, LetterStatus.QUEUED) for pk in going),
            to_status=LetterStatus.SENDING,
            at=now,
            note="claimed for sending",
        )
