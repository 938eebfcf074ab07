"""The goodwill compensation policy as pure functions: which rules apply to one customer's disruption, and
what they award, beside what the regulations say is owed.

No database and no clock here: callers pass ``Impact`` rows (one per affected customer, read in bulk by
``vouchers.selectors``) and ``Rule`` snapshots of the ``CompensationRule`` rows in force. The forecast and
the issuance both go through ``plan_vouchers``, so what the coordinator approves is what gets issued.

How rules combine
-----------------
Rules are considered by ascending ``priority`` (then id). A rule applies when
- ANY of its ticked impact conditions happened (cancelled, delayed at least N minutes, missed connection,
  overnight stay, diverted, downgraded; none ticked means any customer of the incident), and
- ALL of its other conditions hold: the incident's cause is one of ``causes``, its control matches
  ``control``, the customer's loyalty tier is one of ``loyalty_tiers``, the flight's distance band is one of
  ``distance_bands`` (an empty list is no condition).
An applying rule awards its vouchers (or its cash note). An exclusive rule that applies ends the walk: rules
after it are not considered; rules before it that applied stay (so a loyalty uplift placed first stacks on
top of an exclusive cancellation award).

Data the impact conditions rely on comes from ``incidents.AffectedCustomer``, which records all six impacts.
The distance band needs both airports in airportsdata; a flight with an unknown airport matches no rule with
a distance condition.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from vouchers.law import (
    US_DOT_REFUND,
    US_DOT_REFUND_IN_FORCE,
    US_DOT_REFUND_NOT_IN_FORCE,
    FlightFacts,
    StatutoryAward,
    canada_appr,
    distance_band,
    eu261,
    great_circle_km,
    uk261,
    us_dot_refund,
)

if TYPE_CHECKING:
    from incidents.models import AffectedCustomer
    from vouchers.models import CompensationRule

BAND_NAMES = {1: "short", 2: "medium", 3: "long"}
# What each impact condition means, as a clause about the flight ("whose flight ...") or the person ("who ...").
IMPACT_WORDS = {
    "when_cancelled": ("flight", "was cancelled"),
    "when_diverted": ("flight", "was diverted"),
    "when_missed_connection": ("person", "missed a connection"),
    "when_overnight_stay": ("person", "had to stay overnight"),
    "when_downgraded": ("person", "were downgraded"),
}

# AffectedCustomer.values() lookups that make an Impact, in the constructor's order.
IMPACT_VALUES = (
    "pk",
    "customer_id",
    "incident_id",
    "cancelled",
    "delay_minutes",
    "missed_connection",
    "overnight_stay",
    "diverted",
    "downgraded",
    "incident__cause",
    "incident__within_control",
    "customer__loyalty_tier",
    "origin",
    "destination",
    "carrier",
    "flight_number",
    "flight_date",
)


@dataclass(frozen=True)
class Impact:
    """What happened to one affected customer, with the facts the rules look at."""

    affected_id: int
    customer_id: int
    incident_id: int
    cancelled: bool
    delay_minutes: int
    missed_connection: bool
    overnight_stay: bool
    diverted: bool
    downgraded: bool
    cause: str
    within_control: bool
    loyalty_tier: str
    origin: str
    destination: str
    carrier: str
    flight_number: str
    flight_date: dt.date

    @property
    def flight_key(self) -> tuple[object, ...]:
        """What the law looks at in a flight: customers with the same key are owed the same statutory award."""
        return (
            self.origin,
            self.destination,
            self.carrier,
            self.flight_date,
            self.cancelled,
            self.delay_minutes,
            self.cause,
            self.within_control,
        )

    @classmethod
    def of(cls, affected: AffectedCustomer) -> Impact:
        return cls(
            affected_id=affected.pk,
            customer_id=affected.customer_id,
            incident_id=affected.incident_id,
            cancelled=affected.cancelled,
            delay_minutes=affected.delay_minutes,
            missed_connection=affected.missed_connection,
            overnight_stay=affected.overnight_stay,
            diverted=affected.diverted,
            downgraded=affected.downgraded,
            cause=affected.incident.cause,
            within_control=affected.incident.within_control,
            loyalty_tier=affected.customer.loyalty_tier,
            origin=affected.origin,
            destination=affected.destination,
            carrier=affected.carrier,
            flight_number=affected.flight_number,
            flight_date=affected.flight_date,
        )

    @classmethod
    def from_values(cls, row: Sequence[Any]) -> Impact:
        """From one ``values_list(*IMPACT_VALUES)`` row."""
        return cls(*row)


@dataclass(frozen=True)
class Rule:
    """A snapshot of one CompensationRule, so the policy can be evaluated without the database."""

    id: int
    slug: str
    name: str
    description: str
    priority: int
    exclusive: bool
    when_cancelled: bool
    min_delay_minutes: int | None
    when_missed_connection: bool
    when_overnight_stay: bool
    when_diverted: bool
    when_downgraded: bool
    causes: frozenset[str]
    control: str
    loyalty_tiers: frozenset[str]
    distance_bands: frozenset[str]
    award_kind: str
    voucher_count: int
    amount: Decimal | None
    currency: str
    validity_days: int
    cash_note: str

    @classmethod
    def of(cls, rule: CompensationRule) -> Rule:
        return cls(
            id=rule.pk,
            slug=rule.slug,
            name=rule.name,
            description=rule.description,
            priority=rule.priority,
            exclusive=rule.exclusive,
            when_cancelled=rule.when_cancelled,
            min_delay_minutes=rule.min_delay_minutes,
            when_missed_connection=rule.when_missed_connection,
            when_overnight_stay=rule.when_overnight_stay,
            when_diverted=rule.when_diverted,
            when_downgraded=rule.when_downgraded,
            causes=frozenset(rule.causes or ()),
            control=rule.control,
            loyalty_tiers=frozenset(rule.loyalty_tiers or ()),
            distance_bands=frozenset(rule.distance_bands or ()),
            award_kind=rule.award_kind,
            voucher_count=rule.voucher_count,
            amount=rule.amount,
            currency=rule.currency,
            validity_days=rule.validity_days,
            cash_note=rule.cash_note,
        )

    @property
    def issues_vouchers(self) -> bool:
        return self.award_kind == "voucher" and self.voucher_count > 0 and self.amount is not None

    @property
    def has_impact_condition(self) -> bool:
        return self.min_delay_minutes is not None or any(getattr(self, name) for name in IMPACT_WORDS)


@dataclass(frozen=True)
class GoodwillAward:
    rule_id: int
    rule_slug: str
    rule_name: str
    kind: Literal["voucher", "cash_note"]
    count: int  # vouchers; 0 for a cash note
    amount: Decimal | None  # per voucher, or the cash note's amount
    currency: str
    validity_days: int
    note: str

    @property
    def total(self) -> Decimal:
        return (self.amount or Decimal(0)) * (self.count if self.kind == "voucher" else 1)


@dataclass(frozen=True)
class PolicyAward:
    """Everything one customer gets: the goodwill award(s) and, beside them, the legal minimum."""

    affected_id: int
    goodwill: tuple[GoodwillAward, ...]
    statutory: tuple[StatutoryAward, ...]

    @property
    def cash_owed(self) -> bool:
        """Whether a refund or cash compensation is owed: a voucher in its place needs recorded consent."""
        return bool(self.statutory)


@dataclass(frozen=True)
class PlannedVoucher:
    """One voucher the policy would issue: unique by (affected, rule, sequence), like Voucher itself."""

    affected_id: int
    customer_id: int
    incident_id: int
    rule_id: int
    sequence: int
    amount: Decimal
    currency: str
    validity_days: int
    loyalty_tier: str
    reason: str


# --- Conditions ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def band_of(origin: str, destination: str) -> str | None:
    """ "short", "medium" or "long" by great-circle distance, or None for an airport airportsdata lacks."""
    try:
        km = great_circle_km(origin, destination)
    except ValueError:
        return None
    return BAND_NAMES[distance_band(km, intra=False)]


def impact_matches(rule: Rule, impact: Impact) -> bool:
    """ANY ticked impact condition holds; a rule without impact conditions matches every impact."""
    if not rule.has_impact_condition:
        return True
    return (
        (rule.when_cancelled and impact.cancelled)
        or (rule.min_delay_minutes is not None and impact.delay_minutes >= rule.min_delay_minutes)
        or (rule.when_missed_connection and impact.missed_connection)
        or (rule.when_overnight_stay and impact.overnight_stay)
        or (rule.when_diverted and impact.diverted)
        or (rule.when_downgraded and impact.downgraded)
    )


def rule_applies(rule: Rule, impact: Impact) -> bool:
    if not impact_matches(rule, impact):
        return False
    if rule.causes and impact.cause not in rule.causes:
        return False
    if rule.control == "within" and not impact.within_control:
        return False
    if rule.control == "outside" and impact.within_control:
        return False
    if rule.loyalty_tiers and impact.loyalty_tier not in rule.loyalty_tiers:
        return False
    return not (rule.distance_bands and band_of(impact.origin, impact.destination) not in rule.distance_bands)


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda rule: (rule.priority, rule.id))


def applying_rules(impact: Impact, rules: Sequence[Rule]) -> list[Rule]:
    """The rules that award something to this customer, in priority order, honouring exclusive rules."""
    chosen: list[Rule] = []
    for rule in ordered(rules):
        if rule_applies(rule, impact):
            chosen.append(rule)
            if rule.exclusive:
                break
    return chosen


def goodwill_awards(impact: Impact, rules: Sequence[Rule]) -> list[GoodwillAward]:
    return [
        GoodwillAward(
            rule_id=rule.id,
            rule_slug=rule.slug,
            rule_name=rule.name,
            kind="voucher" if rule.issues_vouchers else "cash_note",
            count=rule.voucher_count if rule.issues_vouchers else 0,
            amount=rule.amount,
            currency=rule.currency,
            validity_days=rule.validity_days,
            note=rule.cash_note,
        )
        for rule in applying_rules(impact, rules)
    ]


def _flight_facts(impact: Impact) -> FlightFacts:
    return FlightFacts(
        origin=impact.origin,
        destination=impact.destination,
        carrier=impact.carrier,
        flight_date=impact.flight_date,
        cancelled=impact.cancelled,
        arrival_delay_minutes=impact.delay_minutes,
        rerouted_arrival_delay_minutes=None,  # AffectedCustomer does not record re-routing
        cause=impact.cause,
        within_control=impact.within_control,
    )


def statutory_for(impact: Impact) -> list[StatutoryAward]:
    """The legal minimum beside the goodwill award: EU261, UK261, APPR and the US DOT refund rule, each by
    the rules in force on the flight's date (as the letters state them, ``vouchers.law.entitlements_for``)."""
    facts = _flight_facts(impact)
    awards: list[StatutoryAward] = []
    for regulation in (eu261, uk261, canada_appr):
        try:
            award = regulation(facts)
        except ValueError:  # an airport without coordinates: the distance, hence the amount, is unknown
            award = None
        if award is not None:
            awards.append(award)
    refund = us_dot_refund(facts)
    # The refund comes first: it must be offered before any voucher.
    return ([refund] if refund is not None else []) + awards


def statutory_not_in_force(impact: Impact) -> list[tuple[str, str]]:
    """(regulation, why) for each rule that would owe this flight something had it been in force on the flight's
    date, so staff can see why it owes nothing: ("us_dot_refund", "not in force for flights before 28 October
    2024")."""
    facts = _flight_facts(impact)
    if (
        facts.flight_date >= US_DOT_REFUND_IN_FORCE
        or us_dot_refund(replace(facts, flight_date=US_DOT_REFUND_IN_FORCE)) is None
    ):
        return []
    return [(US_DOT_REFUND, US_DOT_REFUND_NOT_IN_FORCE)]


def policy_award_for(affected: AffectedCustomer | Impact, rules: Sequence[Rule | CompensationRule]) -> PolicyAward:
    """Goodwill award(s) and statutory awards for one affected customer under ``rules`` (the rules in force
    for its incident; see ``vouchers.selectors.rules_for_incident``)."""
    impact = affected if isinstance(affected, Impact) else Impact.of(affected)
    snapshots = [rule if isinstance(rule, Rule) else Rule.of(rule) for rule in rules]
    return PolicyAward(
        affected_id=impact.affected_id,
        goodwill=tuple(goodwill_awards(impact, snapshots)),
        statutory=tuple(statutory_for(impact)),
    )


def plan_vouchers(impacts: Iterable[Impact], rules: Sequence[Rule]) -> list[PlannedVoucher]:
    """Every voucher the policy gives these customers, numbered 1..count per rule. The forecast sums this list
    and the issuance inserts it, so the two cannot disagree."""
    ranked = ordered(rules)
    planned: list[PlannedVoucher] = []
    for impact in impacts:
        for rule in applying_rules(impact, ranked):
            if not rule.issues_vouchers:
                continue
            assert rule.amount is not None  # issues_vouchers checked it
            reason = f"{rule.name}: {impact.carrier} {impact.flight_number} on {impact.flight_date:%d %b %Y}"
            planned.extend(
                PlannedVoucher(
                    affected_id=impact.affected_id,
                    customer_id=impact.customer_id,
                    incident_id=impact.incident_id,
                    rule_id=rule.id,
                    sequence=sequence,
                    amount=rule.amount,
                    currency=rule.currency,
                    validity_days=rule.validity_days,
                    loyalty_tier=impact.loyalty_tier,
                    reason=reason,
                )
                for sequence in range(1, rule.voucher_count + 1)
            )
    return planned


# --- Words -------------------------------------------------------------------------------------------------


def count_words(count: int) -> str:
    """A small count in words ("two vouchers"), larger ones in figures."""
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
    return words.get(count, str(count))


def duration_words(days: int) -> str:
    """A validity as a customer says it: "12 months", "2 years", "6 months", else in days."""
    if days % 365 == 0:
        years = days // 365
        return "12 months" if years == 1 else f"{years} years"
    if days % 30 == 0:
        return f"{days // 30} months"
    return f"{days} days"


def _delay_words(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def rule_in_words(rule: Rule) -> str:
    """One sentence a rep can read out, e.g. "Customers whose flight was cancelled receive two vouchers worth
    USD 200.00 each, valid 12 months."."""
    flight = [words for name, (about, words) in IMPACT_WORDS.items() if about == "flight" and getattr(rule, name)]
    person = [words for name, (about, words) in IMPACT_WORDS.items() if about == "person" and getattr(rule, name)]
    if rule.min_delay_minutes is not None:
        flight.insert(1 if rule.when_cancelled else 0, f"arrived {_delay_words(rule.min_delay_minutes)} or more late")
    who = "Customers"
    if rule.loyalty_tiers:
        tiers = " or ".join(sorted(tier.title() for tier in rule.loyalty_tiers))
        who = f"{tiers} members"
    clauses = ([f"whose flight {_or(flight)}"] if flight else []) + ([f"who {_or(person)}"] if person else [])
    who += " " + (" or ".join(clauses) if clauses else "affected by this disruption")
    if rule.distance_bands:
        who += " on a " + " or ".join(sorted(rule.distance_bands)) + "-haul flight"
    if rule.causes:
        who += " when the cause was " + _or(sorted(rule.causes))
    if rule.control in ("within", "outside"):
        who += f" {'and' if rule.causes else 'when'} the cause was {rule.control} our control"
    if rule.issues_vouchers:
        count = rule.voucher_count
        noun = "voucher" if count == 1 else "vouchers"
        worth = f"worth {rule.currency} {rule.amount:,.2f}" + (" each" if count > 1 else "")
        award = f"receive {count_words(count)} {noun} {worth}, valid {duration_words(rule.validity_days)}"
    else:
        amount = f"{rule.currency} {rule.amount:,.2f} " if rule.amount is not None else ""
        award = f"are owed {amount}in money" + (f": {rule.cash_note.strip().rstrip('.')}" if rule.cash_note else "")
    extra = " on top of any other voucher" if not rule.exclusive and rule.issues_vouchers else ""
    return f"{who} {award}{extra}."
