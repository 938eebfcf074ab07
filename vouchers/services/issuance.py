"""Every write that matters to vouchers: issuing by the policy, approving above a budget, voiding, expiring,
exporting the live codes, and the compensation settings (rules, an incident's budget and rules)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from care.core.actors import Actor, SystemActor, acting, person
from care.core.audit import audit_record, audit_record_many, batch_details, changes_between, snapshot
from care.core.errors import DomainError
from care.core.lifecycle import move_batch, record_status_changes
from incidents.models import AffectedCustomer, Alert, AlertKind
from vouchers.codes import generate_code
from vouchers.models import (
    VOUCHER_LIFECYCLE,
    IncidentCompensation,
    Voucher,
    VoucherStatus,
    VoucherStatusChange,
)
from vouchers.policy import IMPACT_VALUES, Impact, PlannedVoucher, statutory_for
from vouchers.selectors import (
    REGULATION_NAMES,
    Forecast,
    holdings_for,
    incident_forecast,
    reconcile,
)
from vouchers.services.top_up import vouchers_take_over
from vouchers.signals import vouchers_issued, vouchers_voided

logger = logging.getLogger(__name__)

ISSUER = "compensation policy"
EXPIRER = "expiry"
INSERT_CHUNK = 1000
# A code collision (2**-80 per pair) or a concurrent run leaves a planned voucher uninserted; it is tried again
# with fresh codes this many times before the run gives up (and the next run carries on).
CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class IssueResult:
    issued: int  # vouchers created by this run (top-ups among them)
    already: int  # planned vouchers that needed nothing before this run
    held: bool  # above the budget: nothing issued until a coordinator approves
    forecast: Forecast = field(repr=False)
    message: str = ""
    topped_up: int = 0  # vouchers taken over by the rule the policy gives now (same code, raised if lower)
    changed: int = 0  # customers whose impact changed while this run worked: left to the next run


def vouchers_issue_for_incident(
    *, incident_id: int, actor: Actor | None = None, actor_label: str = "", now: dt.datetime | None = None
) -> IssueResult:
    """Issue every voucher the policy gives the incident's customers and they do not have yet.

    Idempotent: the unique (affected, rule, sequence) constraint with ``ignore_conflicts`` means a second run,
    or one running at the same time, creates nothing twice; a customer added since the last run gets theirs.
    Above the incident's budget cap nothing is issued (``held``) until a coordinator approves the total
    (``vouchers_approve_over_budget``). Every voucher issued gets an audit row from "" to issued, and the
    customers' draft apology and voucher letters are rendered again to carry it, in the same transaction.
    A run that issued vouchers writes an audit entry with its counts per chunk of about INSERT_CHUNK vouchers (a
    held run, or one with nothing left to issue, changes nothing and writes nothing: the follow-up sweep asks
    every few minutes).

    A customer whose impact changed since their vouchers were issued is brought to what the policy gives now
    without issuing twice (``vouchers.selectors.holdings``): a voucher from a rule that no longer applies is
    taken over by the planned one (same code, topped up by the difference, ``vouchers_take_over``), or, when
    it was redeemed or has expired, gets a top-up voucher for the difference beside it; one nothing takes over
    stays with the customer. Each chunk locks its customers' affected rows (in id order, as the feed and the
    sender do) and reads their impact and vouchers again under the lock: a customer whose impact moved since
    the forecast is left to the next run, whose forecast (and budget check) sees the new impact.
    """
    moment = now or timezone.now()
    who = acting(actor, actor_label, default=SystemActor(ISSUER))
    label = "" if person(who) is not None else str(who)
    forecast = incident_forecast(incident_id=incident_id, now=moment)
    if forecast.over_budget:
        over = ", ".join(f"{currency} {amount:,.2f}" for currency, amount in sorted(forecast.over_by.items()))
        return IssueResult(
            issued=0,
            already=forecast.issued,
            held=True,
            forecast=forecast,
            message=f"The vouchers would exceed this incident's budget by {over}: a coordinator must approve "
            "the total before any is issued.",
        )
    work = forecast.reconciliation
    assert work is not None  # incident_forecast always reconciles
    plan = _Plan(forecast)
    issued = topped_up = changed = 0
    for chunk in work.customer_chunks(INSERT_CHUNK):
        made, took, moved = _issue_chunk(chunk, plan=plan, actor=who, label=label, now=moment)
        issued, topped_up, changed = issued + made, topped_up + took, changed + moved
    if issued or topped_up:
        logger.info("issued %d and topped up %d vouchers for incident %d", issued, topped_up, incident_id)
    return IssueResult(
        issued=issued, already=forecast.issued, held=False, forecast=forecast, topped_up=topped_up, changed=changed
    )


class _Plan:
    """The forecast's impacts and planned vouchers by customer, for the chunks to check and take theirs."""

    def __init__(self, forecast: Forecast) -> None:
        self.forecast = forecast
        self.impacts = {impact.affected_id: impact for impact in forecast.impacts}
        self.planned: dict[int, list[PlannedVoucher]] = defaultdict(list)
        for voucher in forecast.planned:
            self.planned[voucher.affected_id].append(voucher)


def _impacts_locked(affected_ids: list[int]) -> dict[int, Impact]:
    """The customers' impact as it is now, their affected rows locked until the chunk commits.

    FOR NO KEY UPDATE, in id order: the flight feed (FOR UPDATE) cannot move their impact while the chunk
    decides, a second issuance waits for this one and then sees what it wrote, and letters (whose inserts take
    FOR KEY SHARE) are not held up. Ignored where the database has no row locks (SQLite serialises writers)."""
    rows = (
        AffectedCustomer.objects.filter(pk__in=affected_ids)
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
        .values_list(*IMPACT_VALUES)
    )
    return {impact.affected_id: impact for impact in map(Impact.from_values, rows)}


def _issue_chunk(
    affected_ids: list[int], *, plan: _Plan, actor: Actor, label: str, now: dt.datetime
) -> tuple[int, int, int]:
    """Take over, top up and issue for these customers in one transaction; (issued, topped up, changed)."""
    with transaction.atomic():
        current = _impacts_locked(affected_ids)
        same = [pk for pk in affected_ids if pk in current and current[pk] == plan.impacts.get(pk)]
        if not same:
            return 0, 0, len(affected_ids)
        work = reconcile(
            planned=[voucher for pk in same for voucher in plan.planned.get(pk, [])],
            holdings=holdings_for(affected_ids=same),
            now=now,
        )
        taken = vouchers_take_over(take_overs=work.take_overs, actor=actor, now=now) if work.take_overs else []
        created = _insert(work.to_insert, actor=actor, label=label, now=now, already=plan.forecast.issued)
        ours = [top_up for top_up in work.top_ups if _key(top_up.voucher) in created]
        if ours:
            audit_record_many(
                actor=actor,
                action="voucher.top_up",
                entries=[
                    (
                        ("vouchers.voucher", created[_key(top_up.voucher)]),
                        {"amount": [None, top_up.voucher.amount]},
                        {
                            "affected_id": top_up.voucher.affected_id,
                            "incident_id": top_up.voucher.incident_id,
                            "beside_voucher_id": top_up.beside.id,
                            "beside_status": top_up.beside.status,
                            "top_up": top_up.voucher.amount,
                            "currency": top_up.voucher.currency,
                        },
                    )
                    for top_up in ours
                ],
                at=now,
            )
    return len(created), len(taken), len(affected_ids) - len(same)


# Alert kind for an incident whose vouchers (and apologies) wait for an over-budget approval.
ALERT_OVER_BUDGET = AlertKind.VOUCHERS_OVER_BUDGET


def vouchers_issue_for_incident_or_hold(*, incident_id: int, actor_label: str, now: dt.datetime | None = None) -> bool:
    """For the follow-up sweep: issue the incident's vouchers; return True when held above its budget, after
    opening an alert for the coordinator (one open alert per incident)."""
    result = vouchers_issue_for_incident(incident_id=incident_id, actor_label=actor_label, now=now)
    if result.held:
        try:
            with transaction.atomic():
                Alert.objects.get_or_create(
                    kind=ALERT_OVER_BUDGET,
                    key=f"incident:{incident_id}",
                    resolved_at=None,
                    defaults={
                        "incident_id": incident_id,
                        "message": result.message + " The apology letters wait for the vouchers.",
                        "raised_at": now or timezone.now(),
                    },
                )
        except IntegrityError:
            pass  # another sweep opened it at the same moment
    return result.held


def _key(voucher: PlannedVoucher) -> tuple[int, int, int]:
    return (voucher.affected_id, voucher.rule_id, voucher.sequence)


def _insert(
    chunk: list[PlannedVoucher], *, actor: Actor, label: str, now: dt.datetime, already: int
) -> dict[tuple[int, int, int], int]:
    """Insert one chunk with fresh codes and audit what this call created; retry what a code collision
    dropped. A key another run inserted meanwhile is theirs (and their audit). Returns the keys created, with
    their voucher ids.

    Runs in the caller's transaction (one per chunk, ``_issue_chunk``), so each chunk writes its own audit entry
    with its vouchers: a crash between chunks leaves no voucher without the entry that issued it."""
    pending = chunk
    created: dict[tuple[int, int, int], int] = {}
    for _attempt in range(CODE_ATTEMPTS):
        if not pending:
            break
        rows = [(generate_code(), voucher) for voucher in pending]
        Voucher.objects.bulk_create(
            [
                Voucher(
                    code=code,
                    customer_id=voucher.customer_id,
                    incident_id=voucher.incident_id,
                    affected_id=voucher.affected_id,
                    rule_id=voucher.rule_id,
                    sequence=voucher.sequence,
                    amount=voucher.amount,
                    currency=voucher.currency,
                    issued_at=now,
                    expires_at=now + dt.timedelta(days=voucher.validity_days),
                    issued_by=person(actor),
                    issued_by_label=label,
                    reason=voucher.reason,
                )
                for code, voucher in rows
            ],
            ignore_conflicts=True,
        )
        # Ours are the rows that carry a code we generated for that very (affected, rule, sequence): a code
        # may already belong to another voucher, and a key may have been inserted by a concurrent run.
        wanted = {(code, _key(voucher)) for code, voucher in rows}
        mine = [
            (pk, key)
            for pk, code, affected_id, rule_id, sequence in Voucher.objects.filter(
                code__in=[code for code, _ in rows]
            ).values_list("pk", "code", "affected_id", "rule_id", "sequence")
            if (code, key := (affected_id, rule_id, sequence)) in wanted
        ]
        record_status_changes(
            audit_model=VoucherStatusChange,
            audit_fk="voucher",
            rows=((pk, "") for pk, _key_ in mine),
            to_status=VoucherStatus.ISSUED,
            actor=actor,
            actor_label=label,
            note="issued by the compensation policy",
            at=now,
        )
        if mine:
            audit_record(
                actor=actor,
                action="vouchers.issue",
                target=("incidents.incident", chunk[0].incident_id),
                details=batch_details((pk for pk, _key_ in mine), issued=len(mine), already=already),
                at=now,
            )
        created |= {key: pk for pk, key in mine}
        done = {key for _pk, key in mine}
        # In the same transaction as the vouchers: a draft prepared before them must not go without them.
        vouchers_issued.send(
            sender=Voucher, customer_ids={voucher.customer_id for _code, voucher in rows if _key(voucher) in done}
        )
        left = [voucher for voucher in pending if _key(voucher) not in done]
        if left:
            taken = set(
                Voucher.objects.filter(affected_id__in={v.affected_id for v in left}).values_list(
                    "affected_id", "rule_id", "sequence"
                )
            )
            left = [voucher for voucher in left if _key(voucher) not in taken]
        pending = left
    if pending:
        raise DomainError(f"{len(pending)} vouchers could not get a unique code; run the issuance again.")
    return created


def voucher_issue_in_lieu(
    *,
    affected_id: int,
    regulation: str,
    amount: Decimal,
    currency: str,
    consent_note: str,
    actor: Actor,
    validity_days: int = 365,
    now: dt.datetime | None = None,
) -> Voucher:
    """A voucher in place of cash the customer is owed by law (a refund, EU261/UK261/APPR compensation), only
    with their recorded consent: how and when they agreed goes into ``consent_note``.

    Refused when the regulation does not apply to the customer's flight, when the voucher is worth less than
    the cash owed in the same currency, or when the customer already has one in place of it (a constraint).
    """
    moment = now or timezone.now()
    if not consent_note.strip():
        raise DomainError("Record how and when the customer agreed to a voucher instead of the money they are owed.")
    if amount <= 0 or validity_days < 1:
        raise DomainError("A voucher needs a positive value and at least a day of validity.")
    affected = AffectedCustomer.objects.select_related("incident", "customer").filter(pk=affected_id).first()
    if affected is None:
        raise DomainError("That affected customer does not exist.")
    owed = {award.regulation: award for award in statutory_for(Impact.of(affected))}
    name = REGULATION_NAMES.get(regulation, regulation)
    award = owed.get(regulation)
    if award is None:
        raise DomainError(f"{name} owes this customer nothing for this flight, so there is no cash to replace.")
    if award.amount is not None and award.currency == currency and amount < award.amount:
        raise DomainError(f"A voucher in place of {currency} {award.amount:,.2f} must be worth at least that.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create(
                    code=generate_code(),
                    customer=affected.customer,
                    incident=affected.incident,
                    affected=affected,
                    amount=amount,
                    currency=currency,
                    issued_at=moment,
                    expires_at=moment + dt.timedelta(days=validity_days),
                    issued_by=person(actor),
                    issued_by_label="" if person(actor) is not None else str(actor),
                    reason=f"In place of {name} ({award.reason}), with the customer's consent.",
                    in_lieu_of=regulation,
                    consent_recorded_at=moment,
                    consent_note=consent_note.strip(),
                )
        except IntegrityError as exc:
            raise DomainError(f"This customer already has a voucher in place of {name}.") from exc
        record_status_changes(
            audit_model=VoucherStatusChange,
            audit_fk="voucher",
            rows=[(voucher.pk, "")],
            to_status=VoucherStatus.ISSUED,
            actor=actor,
            note=f"in place of {name}, with consent",
            at=moment,
        )
        audit_record(
            actor=actor,
            action="voucher.issue_in_lieu",
            target=voucher,
            details={
                "affected_id": affected.pk,
                "regulation": regulation,
                "amount": voucher.amount,
                "currency": currency,
                "cash_owed": award.amount,
            },
            note=voucher.consent_note,
            at=moment,
        )
        vouchers_issued.send(sender=Voucher, customer_ids={affected.customer_id})
    return voucher


_APPROVAL_FIELDS = ("approved_totals", "approved_by", "approved_at", "note")


def vouchers_approve_over_budget(*, incident_id: int, actor: Actor | None, note: str = "") -> Forecast:
    """Approve the current forecast's totals above the incident's budget cap, so issuance goes ahead.

    The approval covers the totals as forecast now: customers added later who push the total higher hold the
    issuance again until approved again. The row keeps only the latest approval; the audit entry keeps the one
    it replaced as its old values, so every approval stays on record.
    """
    if not isinstance(actor, AbstractBaseUser) or actor.pk is None:
        raise DomainError("Only a coordinator signed in can approve vouchers above a budget.")
    with transaction.atomic():
        settings_row = IncidentCompensation.objects.select_for_update().filter(incident_id=incident_id).first()
        if settings_row is None or settings_row.budget_cap is None:
            raise DomainError("This incident has no budget cap, so there is nothing to approve.")
        forecast = incident_forecast(incident_id=incident_id)
        if not forecast.over_budget:
            raise DomainError("The forecast is within the budget: nothing needs approval.")
        before = snapshot(settings_row, _APPROVAL_FIELDS)
        settings_row.approved_totals = {currency: str(total) for currency, total in forecast.totals.items()}
        settings_row.approved_by = actor
        settings_row.approved_at = timezone.now()
        if note.strip():
            settings_row.note = (settings_row.note + "\n" if settings_row.note else "") + note.strip()
        settings_row.save(update_fields=["approved_totals", "approved_by", "approved_at", "note"])
        audit_record(
            actor=actor,
            action="vouchers.approve_over_budget",
            target=settings_row,
            changes=changes_between(before, settings_row, _APPROVAL_FIELDS),
            details={"incident_id": incident_id, "budget_cap": settings_row.budget_cap, "over_by": forecast.over_by},
            note=note.strip(),
            at=settings_row.approved_at,
        )
        Alert.objects.filter(kind=ALERT_OVER_BUDGET, key=f"incident:{incident_id}", resolved_at__isnull=True).update(
            resolved_at=settings_row.approved_at, acknowledged_by=actor, acknowledged_at=settings_row.approved_at
        )
    logger.info("over-budget vouchers approved for incident %d", incident_id)
    return incident_forecast(incident_id=incident_id)


def vouchers_void(*, voucher_ids: Iterable[int], actor: Actor, reason: str) -> int:
    """Void issued vouchers (all or none); the reason is kept on the voucher and in its audit trail.

    A voided code must never reach the customer: the customer's unsent apology and voucher letters are rendered
    again without it (drafts and approved letters; a voucher letter left with nothing to give is held by the
    personal-letter check) or cancelled (queued or failed letters that carry it, which cannot be rendered
    again), in the same transaction as the void.
    """
    if not reason.strip():
        raise DomainError("Give a reason for voiding: finance and the customer's rep will read it.")
    ids = list(voucher_ids)
    with transaction.atomic():
        moved = move_batch(
            queryset=Voucher.objects.all(),
            ids=ids,
            target=VoucherStatus.VOID,
            lifecycle=VOUCHER_LIFECYCLE,
            audit_model=VoucherStatusChange,
            audit_fk="voucher",
            verb="void",
            noun="vouchers",
            audit_action="voucher.void",
            actor=actor,
            note=reason.strip(),
            changes={"voided_at": timezone.now(), "void_reason": reason.strip()},
            hint="Redeemed or expired vouchers cannot be voided.",
        )
        vouchers_voided.send(sender=Voucher, voucher_ids=ids, actor=actor)
    return moved


def vouchers_expire(*, now: dt.datetime | None = None, chunk: int = INSERT_CHUNK) -> int:
    """Mark issued vouchers past their expiry as expired, with an audit row each; return how many.

    Level-triggered and safe beside redemption: rows are taken with SKIP LOCKED (one being redeemed is left for
    the next run) and moved with an UPDATE guarded by the status.
    """
    moment = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            ids = list(
                Voucher.objects.select_for_update(skip_locked=True)
                .filter(status=VoucherStatus.ISSUED, expires_at__lte=moment)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                break
            Voucher.objects.filter(pk__in=ids, status=VoucherStatus.ISSUED).update(status=VoucherStatus.EXPIRED)
            record_status_changes(
                audit_model=VoucherStatusChange,
                audit_fk="voucher",
                rows=((pk, VoucherStatus.ISSUED) for pk in ids),
                to_status=VoucherStatus.EXPIRED,
                actor_label=EXPIRER,
                note="expired at the end of its validity",
                at=moment,
            )
            expired += len(ids)
        if len(ids) < chunk:
            break
    if expired:
        # Each chunk committed with its status changes; the run's entry says how many went (none: no entry).
        with transaction.atomic():
            audit_record(
                actor=SystemActor(EXPIRER),
                action="vouchers.expire",
                target=None,
                details={"expired": expired},
                at=moment,
            )
    return expired
