"""The goodwill policy (vouchers.policy) and what reps and briefings read of it (vouchers.selectors)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import (
    AffectedCustomerFactory,
    CompensationRuleFactory,
    CustomerFactory,
    IncidentFactory,
    paris_new_york_cancelled,
)
from vouchers.models import CompensationRule, IncidentCompensation
from vouchers.policy import (
    Impact,
    Rule,
    goodwill_awards,
    policy_award_for,
    rule_applies,
    rule_in_words,
    statutory_not_in_force,
)
from vouchers.selectors import EntitlementLine, customer_entitlements, offer_in_words, rules_for_incident

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def shipped_policy(db: Any) -> None:
    # From a data migration, which a transactional test's flush removes: install it again (idempotent).
    from django.apps import apps as django_apps

    from vouchers.default_policy import default_policy_install

    default_policy_install(django_apps)


def impact(**changes: Any) -> Impact:
    """A customer on a Newark-Chicago flight with no recorded impact, weather, outside our control."""
    base = Impact(
        affected_id=1,
        customer_id=1,
        incident_id=1,
        cancelled=False,
        delay_minutes=0,
        missed_connection=False,
        overnight_stay=False,
        diverted=False,
        downgraded=False,
        cause="weather",
        within_control=False,
        loyalty_tier="none",
        origin="EWR",
        destination="ORD",
        carrier="UA",
        flight_number="1545",
        flight_date=dt.date(2013, 2, 8),
    )
    return replace(base, **changes)


_ids = iter(range(1, 10_000))


def rule(**changes: Any) -> Rule:
    """A voucher rule with no conditions at all (it applies to everyone), one USD 100 voucher."""
    base = Rule(
        id=next(_ids),
        slug="r",
        name="Rule",
        description="",
        priority=100,
        exclusive=False,
        when_cancelled=False,
        min_delay_minutes=None,
        when_missed_connection=False,
        when_overnight_stay=False,
        when_diverted=False,
        when_downgraded=False,
        causes=frozenset(),
        control="any",
        loyalty_tiers=frozenset(),
        distance_bands=frozenset(),
        award_kind="voucher",
        voucher_count=1,
        amount=Decimal("100.00"),
        currency="USD",
        validity_days=365,
        cash_note="",
    )
    return replace(base, **changes)


# --- Each condition ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "hit", "miss"),
    [
        ({"when_cancelled": True}, {"cancelled": True}, {}),
        ({"min_delay_minutes": 180}, {"delay_minutes": 180}, {"delay_minutes": 179}),
        ({"when_missed_connection": True}, {"missed_connection": True}, {"delay_minutes": 600}),
        ({"when_overnight_stay": True}, {"overnight_stay": True}, {"cancelled": True}),
        ({"when_diverted": True}, {"diverted": True}, {"downgraded": True}),
        ({"when_downgraded": True}, {"downgraded": True}, {"diverted": True}),
        ({"causes": frozenset({"crew", "mechanical"})}, {"cause": "crew"}, {"cause": "weather"}),
        ({"control": "within"}, {"within_control": True}, {"within_control": False}),
        ({"control": "outside"}, {"within_control": False}, {"within_control": True}),
        ({"loyalty_tiers": frozenset({"gold"})}, {"loyalty_tier": "gold"}, {"loyalty_tier": "silver"}),
        # EWR-ORD is about 1,160 km (short), EWR-LAX about 3,950 km (long), EWR-SFO about 4,130 km.
        ({"distance_bands": frozenset({"long"})}, {"destination": "LAX"}, {"destination": "ORD"}),
        ({"distance_bands": frozenset({"short"})}, {"destination": "ORD"}, {"destination": "SFO"}),
        ({"distance_bands": frozenset({"medium"})}, {"destination": "DEN"}, {"destination": "BOS"}),
    ],
)
def test_each_condition_decides_on_its_own_fact(
    condition: dict[str, Any], hit: dict[str, Any], miss: dict[str, Any]
) -> None:
    tested = rule(**condition)
    assert rule_applies(tested, impact(**hit))
    assert not rule_applies(tested, impact(**miss))


def test_a_rule_without_conditions_applies_to_everyone_affected() -> None:
    assert rule_applies(rule(), impact())


def test_impact_conditions_are_alternatives_the_others_all_must_hold() -> None:
    tested = rule(when_cancelled=True, min_delay_minutes=120, loyalty_tiers=frozenset({"gold"}), control="within")
    gold_mine = {"loyalty_tier": "gold", "within_control": True}
    assert rule_applies(tested, impact(cancelled=True, **gold_mine))
    assert rule_applies(tested, impact(delay_minutes=130, **gold_mine))
    assert not rule_applies(tested, impact(delay_minutes=60, **gold_mine))
    assert not rule_applies(tested, impact(cancelled=True, loyalty_tier="gold", within_control=False))
    assert not rule_applies(tested, impact(cancelled=True, loyalty_tier="none", within_control=True))


def test_an_unknown_airport_matches_no_distance_condition() -> None:
    assert not rule_applies(rule(distance_bands=frozenset({"short", "medium", "long"})), impact(destination="ZZZ"))
    assert rule_applies(rule(), impact(destination="ZZZ"))


# --- Stacking and exclusive rules -------------------------------------------------------------------------


def test_stacking_rules_all_apply() -> None:
    first, second = rule(priority=10), rule(priority=20, amount=Decimal("50.00"))
    awards = goodwill_awards(impact(cancelled=True), [second, first])
    assert [award.rule_id for award in awards] == [first.id, second.id]


def test_an_exclusive_rule_stops_the_rules_after_it_but_keeps_those_before() -> None:
    uplift = rule(priority=10, loyalty_tiers=frozenset({"gold"}))
    cancelled = rule(priority=20, exclusive=True, when_cancelled=True, voucher_count=2, amount=Decimal("200.00"))
    delay = rule(priority=30, exclusive=True, min_delay_minutes=60)
    rules = [delay, cancelled, uplift]
    gold = goodwill_awards(impact(cancelled=True, delay_minutes=300, loyalty_tier="gold"), rules)
    assert [award.rule_id for award in gold] == [uplift.id, cancelled.id]
    assert sum(award.total for award in gold) == Decimal("500.00")
    # Not cancelled: the exclusive cancellation rule does not apply, so it stops nothing.
    delayed = goodwill_awards(impact(delay_minutes=90), rules)
    assert [award.rule_id for award in delayed] == [delay.id]


def test_an_exclusive_rule_that_does_not_apply_stops_nothing() -> None:
    exclusive = rule(priority=10, exclusive=True, when_diverted=True)
    later = rule(priority=20)
    assert [award.rule_id for award in goodwill_awards(impact(), [exclusive, later])] == [later.id]


def test_equal_priorities_are_ordered_by_id_so_the_outcome_is_stable() -> None:
    a = rule(priority=10, exclusive=True)
    b = rule(priority=10, exclusive=True)
    assert [award.rule_id for award in goodwill_awards(impact(), [b, a])] == [a.id]


def test_a_cash_note_rule_awards_no_voucher() -> None:
    note = rule(
        award_kind="cash_note", voucher_count=0, amount=None, cash_note="hotel reimbursed", when_overnight_stay=True
    )
    [award] = goodwill_awards(impact(overnight_stay=True), [note])
    assert award.kind == "cash_note"
    assert award.count == 0
    assert award.total == Decimal(0)


# --- Statutory awards beside the goodwill --------------------------------------------------------------------


def test_policy_award_shows_the_legal_minimum_beside_the_goodwill() -> None:
    # Paris to New York on Air France, cancelled for a crew shortage in 2025: EU261 band 3 (EUR 600), and as
    # the route touches the US and the flight is after 28 Oct 2024, the US DOT refund, first.
    flight = impact(
        origin="CDG", destination="JFK", carrier="AF", cancelled=True, cause="crew", flight_date=dt.date(2025, 6, 1)
    )
    award = policy_award_for(flight, [rule(when_cancelled=True)])
    assert [a.regulation for a in award.statutory] == ["us_dot_refund", "eu261"]
    assert award.statutory[1].amount == Decimal(600)
    assert award.statutory[1].currency == "EUR"
    assert award.cash_owed
    assert len(award.goodwill) == 1


def test_the_us_dot_refund_is_decided_by_the_flights_date_not_todays() -> None:
    # The same flight in 2023, whenever the question is asked: EU261 was in force, the US DOT refund rule not yet.
    flight = impact(
        origin="CDG", destination="JFK", carrier="AF", cancelled=True, cause="crew", flight_date=dt.date(2023, 6, 1)
    )
    assert [a.regulation for a in policy_award_for(flight, []).statutory] == ["eu261"]
    assert statutory_not_in_force(flight) == [("us_dot_refund", "not in force for flights before 28 October 2024")]
    the_day_before = replace(flight, flight_date=dt.date(2024, 10, 27))
    assert [a.regulation for a in policy_award_for(the_day_before, []).statutory] == ["eu261"]
    the_first_day = replace(flight, flight_date=dt.date(2024, 10, 28))
    assert [a.regulation for a in policy_award_for(the_first_day, []).statutory] == ["us_dot_refund", "eu261"]
    assert statutory_not_in_force(the_first_day) == []
    # A flight the rule would not cover anyway is not said to miss it.
    assert statutory_not_in_force(replace(flight, origin="CDG", destination="LHR")) == []


def test_weather_owes_no_eu261_compensation() -> None:
    flight = impact(
        origin="CDG", destination="JFK", carrier="AF", cancelled=True, cause="weather", flight_date=dt.date(2025, 6, 1)
    )
    assert [a.regulation for a in policy_award_for(flight, []).statutory] == ["us_dot_refund"]


# --- Words --------------------------------------------------------------------------------------------------


def test_rule_in_words_reads_like_a_rep_would_say_it() -> None:
    text = rule_in_words(rule(when_cancelled=True, voucher_count=2, amount=Decimal("200.00"), exclusive=True))
    assert text == "Customers whose flight was cancelled receive two vouchers worth USD 200.00 each, valid 12 months."
    uplift = rule_in_words(rule(min_delay_minutes=180, loyalty_tiers=frozenset({"gold", "platinum"})))
    assert uplift.startswith("Gold or Platinum members whose flight arrived 3 hours or more late receive one voucher")
    assert uplift.endswith("on top of any other voucher.")


# --- Selectors (database) -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("shipped_policy")
def test_the_shipped_policy_gives_cancelled_customers_two_round_trips() -> None:
    affected = AffectedCustomerFactory.create(cancelled=True)
    rules = rules_for_incident(affected.incident_id)
    assert {r.slug for r in rules} >= {"cancelled-round-trips", "long-delay", "loyalty-uplift"}
    award = policy_award_for(affected, rules)
    assert [(a.rule_slug, a.count, a.amount) for a in award.goodwill] == [
        ("cancelled-round-trips", 2, Decimal("200.00"))
    ]


@pytest.mark.usefixtures("shipped_policy")
def test_an_incident_adds_and_leaves_out_rules() -> None:
    incident = IncidentFactory.create()
    special = CompensationRuleFactory.create(slug="special", applies_by_default=False)
    standing = CompensationRule.objects.get(slug="long-delay")
    assert "special" not in {r.slug for r in rules_for_incident(incident.pk)}
    settings_row = IncidentCompensation.objects.create(incident=incident)
    settings_row.extra_rules.add(special)
    settings_row.excluded_rules.add(standing)
    slugs = {r.slug for r in rules_for_incident(incident.pk)}
    assert "special" in slugs
    assert "long-delay" not in slugs


@pytest.mark.usefixtures("shipped_policy")
def test_offer_in_words_names_the_award_and_the_refund_first() -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create(incident=incident, cancelled=True, flight_date=TODAY)
    sentences = offer_in_words(incident_id=incident.pk)
    assert "Customers whose flight was cancelled receive two vouchers worth USD 200.00 each, valid 12 months." in (
        sentences
    )
    # Only rules that give one of its customers something are read out (nobody here was only delayed).
    assert not any("1 hour or more late" in sentence for sentence in sentences)
    assert sentences[-1] == (
        "A refund of the unused ticket is owed for cancelled flights (US DOT refund rule) and is offered before any "
        "voucher."
    )


@pytest.mark.usefixtures("shipped_policy")
def test_offer_in_words_says_why_no_refund_is_owed_for_flights_before_the_rule() -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create(incident=incident, cancelled=True, flight_date=dt.date(2013, 2, 8))
    sentences = offer_in_words(incident_id=incident.pk)
    assert not any("A refund of the unused ticket is owed" in sentence for sentence in sentences)
    assert sentences[-2:] == [
        "No regulation requires a refund or compensation for this disruption's flights.",
        "US DOT refund rule: not in force for flights before 28 October 2024.",
    ]


@pytest.mark.usefixtures("shipped_policy")
def test_offer_in_words_without_customers_reads_the_whole_policy() -> None:
    incident = IncidentFactory.create()
    sentences = offer_in_words(incident_id=incident.pk)
    assert len(sentences) == CompensationRule.objects.filter(is_active=True, applies_by_default=True).count()


@pytest.mark.usefixtures("shipped_policy")
def test_customer_entitlements_in_a_bounded_number_of_queries(django_assert_max_num_queries: Any) -> None:
    incident = IncidentFactory.create(cause="crew", within_control=True)
    gold = CustomerFactory.create(loyalty_tier="gold")
    rows = [AffectedCustomerFactory.create(incident=incident, cancelled=True, customer=gold, flight_date=TODAY)]
    rows += AffectedCustomerFactory.create_batch(
        20, incident=incident, cancelled=False, delay_minutes=200, flight_date=TODAY
    )
    rows.append(AffectedCustomerFactory.create(cancelled=True))  # another incident, its flight in 2013
    with django_assert_max_num_queries(6):
        lines = customer_entitlements(affected_ids=[row.pk for row in rows] + [999_999])
    assert set(lines) == {row.pk for row in rows}
    first = lines[rows[0].pk]
    assert first[0] == EntitlementLine(
        kind="refund",
        label="US DOT refund rule",
        text="US DOT: cancelled; a refund in money must be offered before any voucher.",
        amount=None,
        currency="",
    )
    goodwill = [line for line in first if line.kind == "goodwill"]
    # Gold uplift, our-fault uplift (crew), then the two round trips.
    assert [(line.label, line.amount) for line in goodwill] == [
        ("Gold and Platinum uplift", Decimal("100.00")),
        ("Our fault uplift", Decimal("100.00")),
        ("Cancelled flight: two round trips", Decimal("400.00")),
    ]
    assert goodwill[2].text == "Two vouchers worth USD 200.00 each, valid 12 months."
    delayed = [line.label for line in lines[rows[1].pk] if line.kind == "goodwill"]
    assert delayed == ["Our fault uplift", "Delay of 3 hours or more"]
    # The 2013 flight is owed no refund, and the line says why.
    assert lines[rows[-1].pk][0] == EntitlementLine(
        kind="not_in_force",
        label="US DOT refund rule",
        text="not in force for flights before 28 October 2024",
        amount=None,
        currency="",
    )
    assert not any(line.kind == "refund" for line in lines[rows[-1].pk])


# --- Letters: the cash owed comes first ----------------------------------------------------------------------


@pytest.mark.usefixtures("shipped_policy")
def test_letters_offer_the_refund_and_eu261_compensation_before_the_vouchers() -> None:
    from django.apps import apps as django_apps
    from django.utils import timezone

    from care.correspondence.default_templates import default_templates_install
    from care.correspondence.models.letters import Letter, LetterKind
    from care.correspondence.services import letters_prepare
    from incidents.models import IncidentStatus
    from vouchers.law import entitlements_for
    from vouchers.models import Voucher
    from vouchers.services import vouchers_issue_for_incident

    default_templates_install(django_apps)
    incident = IncidentFactory.create(
        cause="crew",
        within_control=True,
        status=IncidentStatus.RESOLVED,
        resolved_at=timezone.now(),
        apology="We are truly sorry: we did not have the crew to fly you to New York, and that is on us.",
    )
    affected = paris_new_york_cancelled(incident=incident)
    found = entitlements_for(affected)
    assert [(e.regulation_code, e.amount, e.currency) for e in found] == [
        ("us_dot_refund", None, ""),
        ("eu261", Decimal(600), "EUR"),
    ]
    vouchers_issue_for_incident(incident_id=incident.pk)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, affected_ids=[affected.pk])

    body = Letter.objects.get(affected=affected, kind=LetterKind.APOLOGY).body_text
    refund = body.index("refund")
    compensation = body.index("EUR 600.00")
    codes = Voucher.objects.filter(affected=affected).values_list("code", flat=True)
    first_code = min(body.index(code) for code in codes)
    assert refund < compensation < first_code
