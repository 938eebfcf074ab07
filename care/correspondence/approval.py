"""Approving a batch of letters: a recorded random sample, then one or two coordinators.

The coordinator reads a random sample of the batch (who and how many is recorded), then
approves it; letters the personal-letter check held back stay drafts. When the batch's
vouchers are worth more than CARE_SECOND_APPROVAL_ABOVE in any currency, a second,
different coordinator must approve as well before anything goes out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from care.core.actors import Person
from care.core.audit import MAX_IDS, audit_record
from care.core.errors import DomainError
from care.core.lifecycle import record_status_changes
from care.correspondence.models.letters import BatchStatus, Letter, LetterBatch, LetterStatus, LetterStatusChange
from care.correspondence.sending.queue import letters_queue
from vouchers.models import Voucher, VoucherStatus

_system_random = random.SystemRandom()


@dataclass(frozen=True)
class BatchApproval:
    batch: LetterBatch
    approved: int
    held: int
    queued: int
    awaiting_second: bool


def _approvable(batch: LetterBatch) -> Any:
    return Letter.objects.filter(batch=batch, status=LetterStatus.DRAFT, check_passed=True)


def batch_voucher_totals(batch: LetterBatch) -> dict[str, Decimal]:
    """Value of the issued vouchers the batch's letters carry, per currency."""
    rows = (
        Voucher.objects.filter(affected__letters__batch=batch, status=VoucherStatus.ISSUED)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: row["total"] for row in rows}


def batch_draw_sample(*, batch_id: int, reviewer: Person, size: int | None = None) -> list[int]:
    """Draw (and record) a fresh random sample of the letters that would be approved."""
    wanted = size or settings.CARE_APPROVAL_SAMPLE_SIZE
    if wanted < 1:
        raise DomainError("A sample needs at least one letter.")
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != BatchStatus.OPEN:
            raise DomainError("This batch has already been approved by a first coordinator; its sample is fixed.")
        ids = list(_approvable(batch).values_list("pk", flat=True))
        if not ids:
            raise DomainError("No letter in this batch is ready for approval: see the held letters and their reasons.")
        sample = sorted(_system_random.sample(ids, min(wanted, len(ids))))
        batch.sample_letter_ids = sample
        batch.sample_size = len(sample)
        batch.reviewed_by = reviewer
        batch.reviewed_at = timezone.now()
        batch.voucher_totals = {currency: f"{total:.2f}" for currency, total in batch_voucher_totals(batch).items()}
        batch.save(update_fields=["sample_letter_ids", "sample_size", "reviewed_by", "reviewed_at", "voucher_totals"])
        audit_record(
            actor=reviewer,
            action="letter_batch.sample",
            target=batch,
            details={"sample_size": len(sample), "letter_ids": sample[:MAX_IDS], "ready": len(ids)},
            at=batch.reviewed_at,
        )
    return sample


def _needs_second(totals: dict[str, Decimal]) -> bool:
    return any(total > settings.CARE_SECOND_APPROVAL_ABOVE for total in totals.values())


def batch_approve(*, batch_id: int, actor: Person) -> BatchApproval:
    """First or second approval of a reviewed batch; on final approval its letters are approved and queued."""
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update().get(pk=batch_id)
        now = timezone.now()
        if batch.status == BatchStatus.APPROVED:
            raise DomainError("This batch is already approved.")
        stage = "only"  # one coordinator's approval is enough
        if batch.status == BatchStatus.OPEN:
            if not batch.sample_letter_ids or batch.reviewed_by_id is None:
                raise DomainError("Review a random sample of the batch before approving it.")
            if batch.reviewed_by_id != actor.pk:
                raise DomainError("Approve the batch after reviewing a sample yourself: draw a new sample first.")
            totals = batch_voucher_totals(batch)
            batch.voucher_totals = {currency: f"{total:.2f}" for currency, total in totals.items()}
            batch.approved_by, batch.approved_at = actor, now
            if _needs_second(totals):
                batch.status = BatchStatus.AWAITING_SECOND
                batch.save(update_fields=["voucher_totals", "approved_by", "approved_at", "status"])
                audit_record(
                    actor=actor,
                    action="letter_batch.approve",
                    target=batch,
                    changes={"status": [BatchStatus.OPEN, BatchStatus.AWAITING_SECOND]},
                    details={"stage": "first", "voucher_totals": batch.voucher_totals},
                    at=now,
                )
                held = Letter.objects.filter(batch=batch, status=LetterStatus.DRAFT, check_passed=False).count()
                return BatchApproval(batch=batch, approved=0, held=held, queued=0, awaiting_second=True)
        else:  # awaiting a second coordinator
            stage = "second"
            if batch.approved_by_id == actor.pk:
                raise DomainError(
                    "You gave the first approval; a second coordinator must approve a batch of this value."
                )
            batch.second_approved_by, batch.second_approved_at = actor, now
        before = batch.status if stage == "second" else BatchStatus.OPEN
        batch.status = BatchStatus.APPROVED
        batch.save()
        approved_ids = list(_approvable(batch).values_list("pk", flat=True))
        moved = Letter.objects.filter(pk__in=approved_ids, status=LetterStatus.DRAFT).update(
            status=LetterStatus.APPROVED, approved_by=actor, approved_at=now
        )
        record_status_changes(
            audit_model=LetterStatusChange,
            audit_fk="letter",
            rows=((pk, LetterStatus.DRAFT) for pk in approved_ids),
            to_status=LetterStatus.APPROVED,
            actor=actor,
            at=now,
            note=f"batch approved after a sample of {batch.sample_size}",
        )
        held = Letter.objects.filter(batch=batch, status=LetterStatus.DRAFT).count()

        queued = letters_queue(letter_ids=approved_ids, actor=actor)
        audit_record(
            actor=actor,
            action="letter_batch.approve",
            target=batch,
            changes={"status": [before, BatchStatus.APPROVED]},
            details={
                "stage": stage,
                "approved": moved,
                "held": held,
                "queued": queued,
                "voucher_totals": batch.voucher_totals,
            },
            at=now,
        )
    return BatchApproval(batch=batch, approved=moved, held=held, queued=queued, awaiting_second=False)
