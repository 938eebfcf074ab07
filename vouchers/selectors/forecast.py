"""The forecast of an incident's compensation against its budget: what the policy would issue, per rule and
per loyalty tier, what the customers hold once it is issued (the budget is held against that), the cap and what
a coordinator approved above it. A fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from vouchers.models import IncidentCompensation
from vouchers.policy import Impact, PlannedVoucher, Rule, ordered, plan_vouchers
from vouchers.selectors.holdings import Holdings, Reconciliation, holdings_for, reconcile
from vouchers.selectors.rules import _rules_from, _settings_for, _standing_rules, impacts_for


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
    count: int  # vouchers the policy gives now
    # Per currency, what the customers hold once the issuance has run: what they hold now (not void) with the
    # top-ups and the vouchers still to issue. The budget is held against it, so a voucher taken over by a new
    # rule counts once, with its difference, and a voucher kept from a rule that no longer applies still counts.
    totals: dict[str, Decimal]
    per_rule: list[RuleForecast]  # what the policy gives now
    per_tier: list[TierForecast]
    budget_cap: Decimal | None
    budget_currency: str
    approved_totals: dict[str, Decimal]
    # Of the planned vouchers, how many need nothing more: they exist (issued, redeemed, void or expired), or a
    # superseded voucher that cannot grow is worth as much.
    issued: int
    planned_totals: dict[str, Decimal] = field(default_factory=dict)  # per currency, what the policy gives now
    to_issue_totals: dict[str, Decimal] = field(default_factory=dict)  # per currency, the money still to give
    planned: list[PlannedVoucher] = field(repr=False, compare=False, default_factory=list)
    impacts: list[Impact] = field(repr=False, compare=False, default_factory=list)
    reconciliation: Reconciliation | None = field(repr=False, compare=False, default=None)

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
        """Whether issuance must wait for a coordinator: money still to give in a currency whose total (what the
        customers will hold) is above its limit, or that the cap does not cover (there is no exchange rate
        here). No cap, no hold; nothing left to give, nothing to hold."""
        if self.budget_cap is None:
            return False
        limits = self.limits
        return any(
            self.totals.get(currency, Decimal(0)) > limits.get(currency, Decimal(0))
            for currency, amount in self.to_issue_totals.items()
            if amount > 0
        )

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
    holdings: Holdings,
    now: dt.datetime,
) -> Forecast:
    planned = plan_vouchers(impacts, rules)
    reconciliation = reconcile(planned=planned, holdings=holdings, now=now)
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
        totals=reconciliation.totals,
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
        issued=reconciliation.settled,
        planned_totals=dict(overall.totals),
        to_issue_totals=reconciliation.to_issue_totals,
        planned=planned,
        impacts=list(impacts),
        reconciliation=reconciliation,
    )


def incident_forecast(*, incident_id: int, now: dt.datetime | None = None) -> Forecast:
    """What the policy would issue for the incident (count, totals per currency, per rule, per tier), what its
    customers hold once it is issued, against its budget cap. ``now`` tells which held vouchers have expired
    (those cannot be taken over). Six queries, whatever the number of customers."""
    settings_row = _settings_for([incident_id]).get(incident_id)
    rules = _rules_from(_standing_rules(), settings_row)
    impacts = impacts_for(incident_id=incident_id)
    return forecast_from(
        incident_id=incident_id,
        impacts=impacts,
        rules=rules,
        settings_row=settings_row,
        holdings=holdings_for(incident_id=incident_id),
        now=now or timezone.now(),
    )
