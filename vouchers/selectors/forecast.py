"""The forecast of an incident's compensation against its budget: what the policy would issue, per rule and
per loyalty tier, the cap and what a coordinator approved above it. A fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from vouchers.models import IncidentCompensation, Voucher
from vouchers.policy import Impact, PlannedVoucher, Rule, ordered, plan_vouchers
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
