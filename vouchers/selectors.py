"""Reads of the compensation policy, shared by the admin, the sweeps, the briefings and the issuance.

``incident_plan`` is the one place that turns an incident's affected customers and rules into planned
vouchers: ``incident_forecast`` sums it and ``vouchers.services.vouchers_issue_for_incident`` inserts it.
Every selector here runs a fixed number of queries, whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from incidents.models import AffectedCustomer, Incident
from vouchers.law import CA_APPR, EU261, UK261, StatutoryAward
from vouchers.models import CompensationRule, IncidentCompensation, Voucher, VoucherStatus
from vouchers.policy import (
    IMPACT_VALUES,
    Impact,
    PlannedVoucher,
    Rule,
    applying_rules,
    goodwill_awards,
    ordered,
    plan_vouchers,
    rule_in_words,
    statutory_for,
)

REGULATION_NAMES = {
    EU261: "EU Regulation 261/2004",
    UK261: "UK261",
    CA_APPR: "Canada's Air Passenger Protection Regulations",
    "us_dot_refund": "US DOT refund rule",
}


# --- Rules in force --------------------------------------------------------------------------------------


def _settings_for(incident_ids: Iterable[int]) -> dict[int, IncidentCompensation]:
    return {
        row.incident_id: row
        for row in IncidentCompensation.objects.filter(incident_id__in=list(incident_ids)).prefetch_related(
            "extra_rules", "excluded_rules"
        )
    }


def _rules_from(standing: Sequence[CompensationRule], settings_row: IncidentCompensation | None) -> list[Rule]:
    rules = {rule.pk: rule for rule in standing}
    if settings_row is not None:
        for rule in settings_row.extra_rules.all():
            if rule.is_active:
                rules[rule.pk] = rule
        for rule in settings_row.excluded_rules.all():
            rules.pop(rule.pk, None)
    return ordered(Rule.of(rule) for rule in rules.values())


def _standing_rules() -> list[CompensationRule]:
    return list(CompensationRule.objects.filter(is_active=True, applies_by_default=True))


def rules_for_incidents(incident_ids: Iterable[int]) -> dict[int, list[Rule]]:
    """The rules in force for each incident: the active standing policy, plus the incident's added rules,
    minus the ones it leaves out. Four queries for any number of incidents."""
    ids = list(incident_ids)
    standing = _standing_rules()
    settings_rows = _settings_for(ids)
    return {incident_id: _rules_from(standing, settings_rows.get(incident_id)) for incident_id in ids}


def rules_for_incident(incident_id: int) -> list[Rule]:
    return rules_for_incidents([incident_id])[incident_id]


def impacts_for(*, incident_id: int | None = None, affected_ids: Iterable[int] | None = None) -> list[Impact]:
    """One Impact per affected customer, in one query."""
    rows = AffectedCustomer.objects.all()
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    if affected_ids is not None:
        rows = rows.filter(pk__in=list(affected_ids))
    return [Impact.from_values(row) for row in rows.order_by("pk").values_list(*IMPACT_VALUES)]


def incident_plan(incident_id: int) -> list[PlannedVoucher]:
    """Every voucher the policy gives the incident's customers (issued already or not)."""
    return plan_vouchers(impacts_for(incident_id=incident_id), rules_for_incident(incident_id))


# --- Forecast --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleForecast:
    rule_id: int
    name: str
    customers: int
    vouchers: int
    total: Decimal
    currency: str


@dataclass(frozen=True)
class TierForecast:
    tier: str
    customers: int
    vouchers: int
    totals: dict[str, Decimal]


@dataclass(frozen=True)
class Forecast:
    """What the policy gives for an incident, before (or after) a single voucher exists, against its budget."""

    incident_id: int
    customers: int  # affected customers
    customers_awarded: int  # of whom get at least one voucher
    count: int  # vouchers
    totals: dict[str, Decimal]  # per currency
    per_rule: list[RuleForecast]
    per_tier: list[TierForecast]
    budget_cap: Decimal | None
    budget_currency: str
    approved_totals: dict[str, Decimal]
    issued: int  # of the planned vouchers, how many exist already (issued, redeemed, void or expired)
    planned: list[PlannedVoucher] = field(repr=False, compare=False, default_factory=list)

    @property
    def to_issue(self) -> int:
        return self.count - self.issued

    @property
    def limits(self) -> dict[str, Decimal]:
        """The most each currency may total: the cap (in its currency), or what a coordinator approved above it."""
        limits = dict(self.approved_totals)
        if self.budget_cap is not None:
            limits[self.budget_currency] = max(self.budget_cap, limits.get(self.budget_currency, Decimal(0)))
        return limits

    @property
    def over_budget(self) -> bool:
        """Whether issuance must wait for a coordinator: a total above its limit, or in a currency the cap does
        not cover (there is no exchange rate here). No cap, no hold."""
        if self.budget_cap is None:
            return False
        limits = self.limits
        return any(total > limits.get(currency, Decimal(0)) for currency, total in self.totals.items())

    @property
    def over_by(self) -> dict[str, Decimal]:
        limits = self.limits
        return {
            currency: total - limits.get(currency, Decimal(0))
            for currency, total in self.totals.items()
            if total > limits.get(currency, Decimal(0))
        }


@dataclass
class _Tally:
    customers: set[int] = field(default_factory=set)
    vouchers: int = 0
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, voucher: PlannedVoucher) -> None:
        self.customers.add(voucher.affected_id)
        self.vouchers += 1
        self.totals[voucher.currency] += voucher.amount


TIER_ORDER = {"platinum": 0, "gold": 1, "silver": 2, "none": 3}


def forecast_from(
    *,
    incident_id: int,
    impacts: Sequence[Impact],
    rules: Sequence[Rule],
    settings_row: IncidentCompensation | None,
    issued_keys: set[tuple[int, int, int]],
) -> Forecast:
    planned = plan_vouchers(impacts, rules)
    names = {rule.id: rule.name for rule in rules}
    rank = {rule.id: position for position, rule in enumerate(ordered(rules))}
    overall = _Tally()
    by_rule: dict[int, _Tally] = defaultdict(_Tally)
    by_tier: dict[str, _Tally] = defaultdict(_Tally)
    for voucher in planned:
        overall.add(voucher)
        by_rule[voucher.rule_id].add(voucher)
        by_tier[voucher.loyalty_tier].add(voucher)
    approved = settings_row.approved_totals if settings_row else {}
    return Forecast(
        incident_id=incident_id,
        customers=len(impacts),
        customers_awarded=len(overall.customers),
        count=overall.vouchers,
        totals=dict(overall.totals),
        per_rule=[
            RuleForecast(
                rule_id=rule_id,
                name=names.get(rule_id, str(rule_id)),
                customers=len(tally.customers),
                vouchers=tally.vouchers,
                # One rule awards in one currency.
                total=sum(tally.totals.values(), Decimal(0)),
                currency=next(iter(tally.totals)),
            )
            for rule_id, tally in sorted(by_rule.items(), key=lambda item: rank.get(item[0], len(rank)))
        ],
        per_tier=[
            TierForecast(tier=tier, customers=len(tally.customers), vouchers=tally.vouchers, totals=dict(tally.totals))
            for tier, tally in sorted(by_tier.items(), key=lambda item: TIER_ORDER.get(item[0], 9))
        ],
        budget_cap=settings_row.budget_cap if settings_row else None,
        budget_currency=settings_row.budget_currency if settings_row else "USD",
        approved_totals={currency: Decimal(str(amount)) for currency, amount in approved.items()},
        issued=sum(1 for voucher in planned if (voucher.affected_id, voucher.rule_id, voucher.sequence) in issued_keys),
        planned=planned,
    )


def incident_forecast(*, incident_id: int) -> Forecast:
    """What the policy would issue for the incident (count, totals per currency, per rule, per tier) against
    its budget cap. Six queries, whatever the number of customers."""
    settings_row = _settings_for([incident_id]).get(incident_id)
    rules = _rules_from(_standing_rules(), settings_row)
    impacts = impacts_for(incident_id=incident_id)
    issued_keys = set(
        Voucher.objects.filter(incident_id=incident_id, rule__isnull=False, affected__isnull=False).values_list(
            "affected_id", "rule_id", "sequence"
        )
    )
    return forecast_from(
        incident_id=incident_id, impacts=impacts, rules=rules, settings_row=settings_row, issued_keys=issued_keys
    )


# --- For the briefings: what a rep can say ------------------------------------------------------------------


@dataclass(frozen=True)
class EntitlementLine:
    kind: Literal["goodwill", "regulation", "refund"]
    label: str
    text: str
    amount: Decimal | None  # goodwill: the total value of the award; regulation: the compensation; refund: None
    currency: str  # "" when there is no amount


def _statutory_line(award: StatutoryAward) -> EntitlementLine:
    name = REGULATION_NAMES.get(award.regulation, award.regulation)
    if award.kind == "refund":
        return EntitlementLine(kind="refund", label=name, text=award.reason, amount=None, currency="")
    return EntitlementLine(
        kind="regulation",
        label=name,
        text=f"{award.reason}. Owed in money; a voucher instead only with the customer's recorded consent.",
        amount=award.amount,
        currency=award.currency or "",
    )


def customer_entitlements(*, affected_ids: list[int], today: dt.date | None = None) -> dict[int, list[EntitlementLine]]:
    """For each affected customer: what the law says is owed (refund first, then compensation), then the
    goodwill award(s). Five queries, whatever the number of ids; unknown ids are left out."""
    on = today or timezone.localdate()
    impacts = impacts_for(affected_ids=affected_ids)
    rules = rules_for_incidents({impact.incident_id for impact in impacts})
    lines: dict[int, list[EntitlementLine]] = {}
    for impact in impacts:
        statutory = [_statutory_line(award) for award in statutory_for(impact, today=on)]
        goodwill = [
            EntitlementLine(
                kind="goodwill",
                label=award.rule_name,
                text=_award_words(
                    award.kind, award.count, award.amount, award.currency, award.validity_days, award.note
                ),
                amount=award.total if award.amount is not None else None,
                currency=award.currency if award.amount is not None else "",
            )
            for award in goodwill_awards(impact, rules[impact.incident_id])
        ]
        lines[impact.affected_id] = statutory + goodwill
    return lines


def _award_words(kind: str, count: int, amount: Decimal | None, currency: str, days: int, note: str) -> str:
    from vouchers.policy import _count_words, _duration_words

    if kind == "voucher" and amount is not None:
        noun = "voucher" if count == 1 else "vouchers"
        each = " each" if count > 1 else ""
        valid = _duration_words(days)
        return f"{_count_words(count).capitalize()} {noun} worth {currency} {amount:,.2f}{each}, valid {valid}."
    cash = f"Cash compensation of {currency} {amount:,.2f}" if amount is not None else "Cash compensation"
    return f"{cash}: {note.strip()}" if note.strip() else f"{cash}."


def offer_in_words(*, incident_id: int, today: dt.date | None = None) -> list[str]:
    """Plain-English sentences a rep can read out: the goodwill award(s) of the incident's policy, then which
    regulations may apply to its customers. Rules that give none of its customers anything are left out
    (all rules are read out while nobody is recorded as affected yet). Five queries."""
    on = today or timezone.localdate()
    rules = rules_for_incident(incident_id)
    impacts = impacts_for(incident_id=incident_id)
    used: set[int] = set()
    statutory: dict[str, list[StatutoryAward]] = defaultdict(list)
    seen_flights: set[tuple[object, ...]] = set()
    for impact in impacts:
        used.update(rule.id for rule in applying_rules(impact, rules))
        flight = (
            impact.origin,
            impact.destination,
            impact.carrier,
            impact.flight_date,
            impact.cancelled,
            impact.delay_minutes,
            impact.cause,
            impact.within_control,
        )
        if flight in seen_flights:
            continue
        seen_flights.add(flight)
        for award in statutory_for(impact, today=on):
            statutory[award.regulation].append(award)
    sentences = [rule_in_words(rule) for rule in rules if not impacts or rule.id in used]
    if not sentences:
        sentences.append("No goodwill voucher applies to this disruption under the current policy.")
    sentences.extend(_regulation_sentence(code, awards) for code, awards in statutory.items())
    if not statutory and impacts:
        sentences.append("No regulation requires a refund or compensation for this disruption's flights.")
    return sentences


def _regulation_sentence(code: str, awards: list[StatutoryAward]) -> str:
    name = REGULATION_NAMES.get(code, code)
    if code == "us_dot_refund":
        cancelled = any("cancelled" in award.reason for award in awards)
        late = any("late" in award.reason for award in awards)
        cases = " and ".join(
            part
            for part, present in (
                ("cancelled flights", cancelled),
                ("flights more than 3 hours late (6 hours international)", late),
            )
            if present
        )
        return f"A refund of the unused ticket is owed for {cases} ({name}) and is offered before any voucher."
    amounts = sorted({award.amount for award in awards if award.amount is not None})
    currency = next((award.currency for award in awards if award.currency), "")
    if not amounts:
        return f"{name} may apply to some customers."
    span = (
        f"{currency} {amounts[0]:,.0f}" if len(amounts) == 1 else f"{currency} {amounts[0]:,.0f} to {amounts[-1]:,.0f}"
    )
    return (
        f"Under {name}, customers may be owed {span} in compensation, paid in money; "
        "a voucher instead needs the customer's recorded consent."
    )


# --- The legal minimum beside the goodwill, for the coordinator ------------------------------------------------


@dataclass(frozen=True)
class StatutorySummary:
    """How many of an incident's customers a regulation owes something, and how much compensation in all."""

    regulation: str
    label: str
    kind: str  # "refund" or "compensation"
    customers: int
    totals: dict[str, Decimal]


def incident_statutory_summary(*, incident_id: int, today: dt.date | None = None) -> list[StatutorySummary]:
    """What the law owes the incident's customers, refund first: one query, one evaluation per distinct flight."""
    on = today or timezone.localdate()
    by_flight: dict[tuple[object, ...], list[StatutoryAward]] = {}
    customers: dict[str, int] = defaultdict(int)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    kinds: dict[str, str] = {}
    for impact in impacts_for(incident_id=incident_id):
        key = (
            impact.origin,
            impact.destination,
            impact.carrier,
            impact.flight_date,
            impact.cancelled,
            impact.delay_minutes,
            impact.cause,
            impact.within_control,
        )
        if key not in by_flight:
            by_flight[key] = statutory_for(impact, today=on)
        for award in by_flight[key]:
            customers[award.regulation] += 1
            kinds[award.regulation] = award.kind
            if award.amount is not None and award.currency:
                totals[award.regulation][award.currency] += award.amount
    return [
        StatutorySummary(
            regulation=code,
            label=REGULATION_NAMES.get(code, code),
            kind=kinds[code],
            customers=count,
            totals=dict(totals[code]),
        )
        for code, count in sorted(customers.items(), key=lambda item: (kinds[item[0]] != "refund", item[0]))
    ]


@dataclass(frozen=True)
class CustomerAward:
    affected_id: int
    customer_ref: str
    impact: str
    lines: list[EntitlementLine]


def incident_customer_awards(*, incident_id: int, limit: int = 25) -> list[CustomerAward]:
    """The first ``limit`` customers of the incident with the legal minimum beside their goodwill award."""
    rows = list(
        AffectedCustomer.objects.filter(incident_id=incident_id)
        .select_related("customer")
        .only(
            "pk",
            "customer__external_ref",
            "cancelled",
            "delay_minutes",
            "diverted",
            "missed_connection",
            "overnight_stay",
            "downgraded",
        )
        .order_by("pk")[:limit]
    )
    lines = customer_entitlements(affected_ids=[row.pk for row in rows])
    return [
        CustomerAward(
            affected_id=row.pk,
            customer_ref=row.customer.external_ref,
            impact=row.impact_summary,
            lines=lines.get(row.pk, []),
        )
        for row in rows
    ]


# --- Liability and redemption ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentVoucherSummary:
    incident_id: int
    issued: int  # every voucher ever issued for the incident
    redeemed: int  # fully or partly redeemed, and not void
    void: int
    expired: int
    outstanding: dict[str, Decimal]  # per currency: issued and not yet redeemed or expired (balance)
    value: dict[str, Decimal]  # per currency: face value of every voucher not void

    @property
    def redemption_rate(self) -> float | None:
        """Share of the vouchers not void that have been (at least partly) redeemed."""
        base = self.issued - self.void
        return None if base <= 0 else self.redeemed / base


def outstanding_liability(*, incident_id: int | None = None, now: dt.datetime | None = None) -> dict[str, Decimal]:
    """Per currency, what issued vouchers are still worth (amount - redeemed) and not past expiry. One query."""
    moment = now or timezone.now()
    rows = Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__gt=moment)
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    return {
        row["currency"]: (row["amount"] or Decimal(0)) - (row["redeemed"] or Decimal(0))
        for row in rows.order_by("currency")
        .values("currency")
        .annotate(amount=Sum("amount"), redeemed=Sum("redeemed_amount"))
    }


def incident_voucher_summaries(
    *, incident_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> list[IncidentVoucherSummary]:
    """Issued, redeemed, void and expired counts, outstanding liability and value per incident. Two queries."""
    moment = now or timezone.now()
    rows = Voucher.objects.filter(incident__isnull=False)
    if incident_ids is not None:
        rows = rows.filter(incident_id__in=list(incident_ids))
    counts = (
        rows.order_by("incident_id")
        .values("incident_id")
        .annotate(
            issued=Count("pk"),
            redeemed=Count("pk", filter=Q(redeemed_amount__gt=0) & ~Q(status=VoucherStatus.VOID)),
            void=Count("pk", filter=Q(status=VoucherStatus.VOID)),
            expired=Count("pk", filter=Q(status=VoucherStatus.EXPIRED)),
        )
    )
    money = (
        rows.order_by("incident_id", "currency")
        .values("incident_id", "currency")
        .annotate(
            outstanding=Sum("amount", filter=Q(status=VoucherStatus.ISSUED, expires_at__gt=moment))
            - Sum("redeemed_amount", filter=Q(status=VoucherStatus.ISSUED, expires_at__gt=moment)),
            value=Sum("amount", filter=~Q(status=VoucherStatus.VOID)),
        )
    )
    outstanding: dict[int, dict[str, Decimal]] = defaultdict(dict)
    value: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in money:
        if row["outstanding"]:
            outstanding[row["incident_id"]][row["currency"]] = row["outstanding"]
        if row["value"]:
            value[row["incident_id"]][row["currency"]] = row["value"]
    return [
        IncidentVoucherSummary(
            incident_id=row["incident_id"],
            issued=row["issued"],
            redeemed=row["redeemed"],
            void=row["void"],
            expired=row["expired"],
            outstanding=outstanding.get(row["incident_id"], {}),
            value=value.get(row["incident_id"], {}),
        )
        for row in counts
    ]


def incident_voucher_summary(*, incident_id: int, now: dt.datetime | None = None) -> IncidentVoucherSummary:
    found = incident_voucher_summaries(incident_ids=[incident_id], now=now)
    return found[0] if found else IncidentVoucherSummary(incident_id, 0, 0, 0, 0, {}, {})


def incident_references(incident_ids: Iterable[int]) -> dict[int, str]:
    return dict(Incident.objects.filter(pk__in=list(incident_ids)).values_list("pk", "reference"))
