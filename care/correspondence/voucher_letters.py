"""Letters follow the vouchers they carry: receivers of ``vouchers.signals``, connected in ``CareConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from care.core.actors import Actor
from care.core.errors import DomainError
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.rendering.services import letters_render
from care.correspondence.services import letters_cancel
from vouchers.models import Voucher


def letters_carry_new_vouchers(*, customer_ids: set[int], **_signal: Any) -> None:
    """Render the customers' draft apology and voucher letters again, so that they carry the vouchers just
    issued (an apology prepared before its vouchers has none, and a customer's apology carries the vouchers of
    every incident of theirs). Only drafts: they are what a coordinator reviews and approves; a letter already
    approved one by one, queued or sent keeps what its approver read."""
    if not customer_ids:
        return
    drafts = list(
        Letter.objects.filter(
            customer_id__in=customer_ids,
            kind__in=(LetterKind.VOUCHER, LetterKind.APOLOGY),
            status=LetterStatus.DRAFT,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if drafts:
        letters_render(letter_ids=drafts)


def letters_withdraw_voided_vouchers(*, voucher_ids: list[int], actor: Actor, **_signal: Any) -> None:
    """A voided code must never reach the customer: unsent apology and voucher letters carrying it are rendered
    again without it (drafts, approved) or cancelled (queued, failed), in the transaction of the void."""
    vouchers = list(Voucher.objects.filter(pk__in=voucher_ids).values_list("customer_id", "code"))
    customer_ids = {customer_id for customer_id, _code in vouchers}
    codes = [code for _customer_id, code in vouchers]
    unsent = Letter.objects.filter(
        customer_id__in=customer_ids,
        kind__in=(LetterKind.VOUCHER, LetterKind.APOLOGY),
        status__in=(LetterStatus.DRAFT, LetterStatus.APPROVED, LetterStatus.QUEUED, LetterStatus.FAILED),
    )
    to_cancel: list[int] = []
    to_render: list[int] = []
    for pk, status, body in unsent.values_list("pk", "status", "body_text"):
        if status in (LetterStatus.DRAFT, LetterStatus.APPROVED):
            # Rendered again without the code; a voucher letter left with no voucher fails the personal-letter
            # check and is held, so it cannot be queued.
            to_render.append(pk)
        elif any(code in body for code in codes):
            to_cancel.append(pk)
    if to_cancel:
        try:
            with transaction.atomic():
                letters_cancel(letter_ids=to_cancel, actor=actor, note="a voucher it carries was voided")
        except DomainError:
            # One of them was handed to the email provider meanwhile: the void still stands, and the letter
            # that went cannot be called back; cancel the ones that are still ours to stop.
            still = Letter.objects.filter(pk__in=to_cancel, status__in=(LetterStatus.QUEUED, LetterStatus.FAILED))
            letters_cancel(
                letter_ids=list(still.values_list("pk", flat=True)), actor=actor, note="a voucher it carries was voided"
            )
    if to_render:
        letters_render(letter_ids=to_render)
