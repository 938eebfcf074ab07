"""What a rep can say, for the briefings: each customer's entitlements (what the law owes, then the goodwill
award) and the incident's offer in plain words; and the names of the regulations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from vouchers.law import CA_APPR, EU261, UK261, StatutoryAward
from vouchers.policy import (
    applying_rules,
    count_words,
    duration_words,
    goodwill_awards,
    rule_in_words,
    statutory_for,
    statutory_not_in_force,
)
from vouchers.selectors.rules import impacts_for, rules_for_incident, rules_for_incidents

REGULATION_NAMES = {
    EU261: "EU Regulation 261/2004",
    UK261: "UK261",
    CA_APPR: "Canada's Air Passenger Protection Regulations",
    "us_dot_refund": "US DOT refund rule",
}


@dataclass(frozen=True)
class EntitlementLine:
    # "not_in_force": a regulation that owes nothing because it did not apply yet on the flight's date; its text
    # says so ("not in force for flights before 28 October 2024"), for staff, who would otherwise wonder why.
    kind: Literal["goodwill", "regulation", "refund", "not_in_force"]
    label: str
    text: str
    amount: Decimal | None  # goodwill: the total value of the award; regulation: the compensation; else None
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


def customer_entitlements(*, affected_ids: list[int]) -> dict[int, list[EntitlementLine]]:
    """For each affected customer: what the law says is owed by the flight's date (refund first, then
    compensation; then the rules not yet in force that would have owed something, saying so), then the goodwill
    award(s). Five queries, whatever the number of ids; unknown ids are left out."""
    impacts = impacts_for(affected_ids=affected_ids)
    rules = rules_for_incidents({impact.incident_id for impact in impacts})
    lines: dict[int, list[EntitlementLine]] = {}
    for impact in impacts:
        statutory = [_statutory_line(award) for award in statutory_for(impact)]
        statutory += [
            EntitlementLine(kind="not_in_force", label=REGULATION_NAMES[code], text=why, amount=None, currency="")
            for code, why in statutory_not_in_force(impact)
        ]
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
    if kind == "voucher" and amount is not None:
        noun = "voucher" if count == 1 else "vouchers"
        each = " each" if count > 1 else ""
        valid = duration_words(days)
        return f"{count_words(count).capitalize()} {noun} worth {currency} {amount:,.2f}{each}, valid {valid}."
    cash = f"Cash compensation of {currency} {amount:,.2f}" if amount is not None else "Cash compensation"
    return f"{cash}: {note.strip()}" if note.strip() else f"{cash}."


def offer_in_words(*, incident_id: int) -> list[str]:
    """Plain-English sentences a rep can read out: the goodwill award(s) of the incident's policy, then which
    regulations may apply to its customers (by their flights' dates), and which would but were not in force yet.
    Rules that give none of its customers anything are left out (all rules are read out while nobody is recorded
    as affected yet). Five queries."""
    rules = rules_for_incident(incident_id)
    impacts = impacts_for(incident_id=incident_id)
    used: set[int] = set()
    statutory: dict[str, list[StatutoryAward]] = defaultdict(list)
    not_in_force: dict[str, str] = {}
    seen_flights: set[tuple[object, ...]] = set()
    for impact in impacts:
        used.update(rule.id for rule in applying_rules(impact, rules))
        flight = impact.flight_key
        if flight in seen_flights:
            continue
        seen_flights.add(flight)
        for award in statutory_for(impact):
            statutory[award.regulation].append(award)
        not_in_force.update(statutory_not_in_force(impact))
    sentences = [rule_in_words(rule) for rule in rules if not impacts or rule.id in used]
    if not sentences:
        sentences.append("No goodwill voucher applies to this disruption under the current policy.")
    sentences.extend(_regulation_sentence(code, awards) for code, awards in statutory.items())
    if not statutory and impacts:
        sentences.append("No regulation requires a refund or compensation for this disruption's flights.")
    sentences.extend(f"{REGULATION_NAMES[code]}: {why}." for code, why in not_in_force.items())
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
