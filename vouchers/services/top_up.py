"""Topping up: a voucher from a rule the policy no longer gives its customer is taken over by the one it gives now.

``vouchers.selectors.holdings.reconcile`` decides which voucher takes over which planned one; the issuance
(``vouchers_issue_for_incident``) calls ``vouchers_take_over`` with them, then inserts the top-ups and new
vouchers as it always has.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from care.core.actors import Actor
from care.core.audit import audit_record_many
from vouchers.models import Voucher, VoucherStatus
from vouchers.selectors import TakeOver
from vouchers.signals import vouchers_issued

logger = logging.getLogger(__name__)


def _take_one(take: TakeOver, now: dt.datetime) -> bool:
    """Move one voucher, only if it is still exactly what the plan saw: under its old rule and sequence, at its
    old amount, usable. A second run at the same time (or one that read before this commit) matches no row,
    so no voucher is taken over twice and no top-up added twice; a planned key another writer inserted
    meanwhile is refused by the unique (affected, rule, sequence), and that voucher stays as it is."""
    old = take.voucher
    try:
        with transaction.atomic():
            return (
                Voucher.objects.filter(
                    pk=old.id,
                    rule_id=old.rule_id,
                    sequence=old.sequence,
                    amount=old.amount,
                    currency=take.planned.currency,
                    status=VoucherStatus.ISSUED,
                    expires_at__gt=now,
                ).update(
                    rule_id=take.planned.rule_id, sequence=take.planned.sequence, amount=take.amount, reason=take.reason
                )
                == 1
            )
    except IntegrityError:
        return False


def _changes(take: TakeOver) -> dict[str, list[object]]:
    """Rule, sequence and amount from and to, those that moved (an award smaller than the voucher keeps its value)."""
    pairs: dict[str, list[object]] = {
        "rule": [take.voucher.rule_id, take.planned.rule_id],
        "sequence": [take.voucher.sequence, take.planned.sequence],
        "amount": [take.voucher.amount, take.amount],
    }
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


def vouchers_take_over(
    *, take_overs: Sequence[TakeOver], actor: Actor, now: dt.datetime | None = None
) -> list[TakeOver]:
    """Move each superseded voucher to the planned voucher that takes it over: the same code (and expiry, and
    what was redeemed of it) under the planned rule and sequence, its amount raised to the planned amount when
    that is higher, never lowered. Returns the take-overs done; one whose voucher changed since it was planned
    (taken over already, redeemed, expired) is left out, and the next issuance plans again.

    Each one done writes a ``voucher.top_up`` audit entry (rule, sequence and amount from and to); the status
    stays issued. The customers' draft apology and voucher letters are rendered again to carry the new value,
    in the same transaction (``vouchers_issued``).
    """
    moment = now or timezone.now()
    with transaction.atomic():
        done = [take for take in take_overs if _take_one(take, moment)]
        if not done:
            return []
        audit_record_many(
            actor=actor,
            action="voucher.top_up",
            entries=[
                (
                    ("vouchers.voucher", take.voucher.id),
                    _changes(take),
                    {
                        "affected_id": take.planned.affected_id,
                        "incident_id": take.planned.incident_id,
                        "top_up": take.top_up,
                        "currency": take.planned.currency,
                        "from_rule": take.voucher.rule_name,
                    },
                )
                for take in done
            ],
            at=moment,
        )
        vouchers_issued.send(sender=Voucher, customer_ids={take.planned.customer_id for take in done})
    logger.info("took over %d vouchers", len(done))
    return done
