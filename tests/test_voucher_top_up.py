"""Vouchers follow a worsening impact (issue 14): topped up, never issued twice; what no longer applies stays with
the customer, and the coordinator sees the difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from incidents.flight_feed import flight_events_apply
from incidents.flights import flights_for_affected
from incidents.models import AffectedCustomer
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory
from tests.sweep_harness import run_threads
from vouchers.default_policy import default_policy_install
from vouchers.models import CompensationRule, IncidentCompensation, Voucher, VoucherStatus
from vouchers.redemption import voucher_redeem
from vouchers.selectors import compensation_differences, incident_forecast
from vouchers.services import issuance, vouchers_issue_for_incident, vouchers_take_over

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2013, 2, 9, 15, 0, tzinfo=dt.UTC)
EST = dt.timezone(dt.timedelta(hours=-5))
DEPARTURE = dt.datetime(2013, 2, 8, 14, 0, tzinfo=EST)


@pytest.fixture(autouse=True)
def _policy_at_a_fixed_moment(clock: Clock) -> None:
    default_policy_install(django_apps)  # from a data migration, which a transactional test's flush removes
    clock.at(NOW)


def rule(slug: str) -> CompensationRule:
    return CompensationRule.objects.get(slug=slug)


def delayed(minutes: int, **fields: Any) -> AffectedCustomer:
    return AffectedCustomerFactory.create(cancelled=False, delay_minutes=minutes, **fields)


def impact(row: AffectedCustomer, **fields: Any) -> None:
    """The impact changes after the fact, as the flight feed writes it (tests/test_flight_feed.py)."""
    AffectedCustomer.objects.filter(pk=row.pk).update(**fields)


def held(row: AffectedCustomer) -> list[tuple[str, Decimal, int, str]]:
    return [
        (voucher.rule.slug if voucher.rule else "", voucher.amount, voucher.sequence, voucher.status)
        for voucher in Voucher.objects.filter(affected=row).exclude(status=VoucherStatus.VOID).order_by("pk")
    ]


def top_up_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="voucher.top_up").order_by("pk"))


def redeem(voucher: Voucher, amount: str) -> None:
    token, _raw = api_token_create(name="Booking engine", scopes=["redeem"])
    voucher_redeem(code=voucher.code, amount=amount, currency="USD", idempotency_key=f"k{voucher.pk}", token=token)


# --- the Done-when: a delay that grew from 70 to 200 minutes ends with the 3-hour voucher, not both -------------


def test_a_delay_grown_through_the_feed_ends_with_the_3_hour_voucher_not_both() -> None:
    incident = IncidentFactory.create()
    row = AffectedCustomerFactory.create(
        incident=incident, carrier="UA", flight_number="1545", origin="EWR", cancelled=False, delay_minutes=0
    )
    flights_for_affected(incident_ids=[incident.pk])

    def feed(n: int, minutes: int) -> None:
        estimated = DEPARTURE + dt.timedelta(minutes=minutes)
        event = {
            "event_id": f"E{n}",
            "occurred_at": (DEPARTURE + dt.timedelta(minutes=n)).isoformat(),
            "carrier": "UA",
            "flight_number": "1545",
            "flight_date": "2013-02-08",
            "origin": "EWR",
            "status": "delayed",
            "scheduled_departure_at": DEPARTURE.isoformat(),
            "estimated_departure_at": estimated.isoformat(),
        }
        flight_events_apply(events=[event], source="OCC", actor=SystemActor("API token OCC"))

    feed(1, 70)
    row.refresh_from_db()
    assert row.delay_minutes == 70
    assert vouchers_issue_for_incident(incident_id=incident.pk).issued == 1
    (first,) = Voucher.objects.filter(affected=row)
    assert (first.rule, first.amount) == (rule("delay"), Decimal("50.00"))

    feed(2, 200)
    result = vouchers_issue_for_incident(incident_id=incident.pk)

    assert (result.issued, result.topped_up) == (0, 1)
    (voucher,) = Voucher.objects.filter(affected=row)
    assert voucher.code == first.code
    assert (voucher.rule, voucher.sequence, voucher.amount, voucher.status) == (
        rule("long-delay"),
        1,
        Decimal("150.00"),
        VoucherStatus.ISSUED,
    )
    assert (voucher.expires_at, voucher.issued_at, voucher.redeemed_amount) == (
        first.expires_at,
        first.issued_at,
        Decimal("0.00"),
    )
    assert "Delay of 3 hours or more" in voucher.reason
    (entry,) = top_up_entries()
    assert (entry.target_type, entry.target_id, entry.actor_label) == (
        "vouchers.voucher",
        str(voucher.pk),
        "compensation policy",
    )
    assert entry.changes == {"rule": [rule("delay").pk, rule("long-delay").pk], "amount": ["50.00", "150.00"]}
    assert entry.details["top_up"] == "100.00"
    assert first.code not in str(entry.changes) + str(entry.details)  # a code is a bearer secret

    again = vouchers_issue_for_incident(incident_id=incident.pk)

    assert (again.issued, again.topped_up) == (0, 0)
    assert len(top_up_entries()) == 1
    assert Voucher.objects.filter(affected=row).count() == 1


def test_a_delay_corrected_down_keeps_its_voucher_issues_nothing_and_shows_the_difference() -> None:
    row = delayed(200, customer=CustomerFactory.create(external_ref="C-200"), flight_number="1545")
    vouchers_issue_for_incident(incident_id=row.incident_id)
    (before,) = Voucher.objects.filter(affected=row)
    impact(row, delay_minutes=70)
    assert compensation_differences(incident_id=row.incident_id)[0].difference == {"USD": Decimal("100.00")}

    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert result.issued == 0
    (after,) = Voucher.objects.filter(affected=row)
    assert (after.code, after.amount) == (before.code, Decimal("150.00"))  # never lowered, never withdrawn
    assert after.rule == rule("delay")  # the award it now stands for
    (entry,) = top_up_entries()
    assert "amount" not in entry.changes
    (difference,) = compensation_differences(incident_id=row.incident_id)
    assert (difference.customer_ref, difference.flight, difference.impact) == (
        "C-200",
        "UA 1545 on 08 Feb 2013",
        "delayed 1 h 10 min",
    )
    assert difference.holds == ("Delay of 1 hour or more: USD 150.00",)
    assert difference.gives == ("Delay of 1 hour or more: USD 50.00",)
    assert difference.difference == {"USD": Decimal("100.00")}
    assert vouchers_issue_for_incident(incident_id=row.incident_id).topped_up == 0


def test_a_delay_that_became_a_cancellation_ends_with_two_round_trips() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    (delay_voucher,) = Voucher.objects.filter(affected=row)
    impact(row, cancelled=True)

    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert (result.issued, result.topped_up) == (1, 1)
    assert held(row) == [
        ("cancelled-round-trips", Decimal("200.00"), 1, VoucherStatus.ISSUED),
        ("cancelled-round-trips", Decimal("200.00"), 2, VoucherStatus.ISSUED),
    ]
    assert Voucher.objects.get(affected=row, sequence=1).code == delay_voucher.code
    assert compensation_differences(incident_id=row.incident_id) == []


def test_a_stacking_uplift_is_issued_beside_the_topped_up_voucher() -> None:
    row = delayed(70, customer=CustomerFactory.create(loyalty_tier="gold"))
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)

    vouchers_issue_for_incident(incident_id=row.incident_id)

    # The highest planned award takes the voucher over; the uplift is new.
    assert sorted(held(row)) == [
        ("long-delay", Decimal("150.00"), 1, VoucherStatus.ISSUED),
        ("loyalty-uplift", Decimal("100.00"), 1, VoucherStatus.ISSUED),
    ]


def test_a_redeemed_superseded_voucher_gets_a_top_up_voucher_of_the_difference() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    (spent,) = Voucher.objects.filter(affected=row)
    redeem(spent, "50.00")
    impact(row, delay_minutes=200)

    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert (result.issued, result.topped_up) == (1, 0)
    assert held(row) == [
        ("delay", Decimal("50.00"), 1, VoucherStatus.REDEEMED),
        ("long-delay", Decimal("100.00"), 1, VoucherStatus.ISSUED),
    ]
    top_up = Voucher.objects.get(affected=row, rule__slug="long-delay")
    assert top_up.reason.startswith(f"Top-up of {spent.code} (USD 50.00, redeemed) to USD 150.00: Delay of 3 hours")
    assert top_up.status_changes.get().to_status == VoucherStatus.ISSUED
    (entry,) = top_up_entries()
    assert (entry.target_id, entry.details["beside_voucher_id"]) == (str(top_up.pk), spent.pk)
    assert compensation_differences(incident_id=row.incident_id) == []
    assert vouchers_issue_for_incident(incident_id=row.incident_id).issued == 0
    assert Voucher.objects.filter(affected=row).count() == 2


def test_a_partly_redeemed_voucher_is_taken_over_and_keeps_what_was_spent() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    (voucher,) = Voucher.objects.filter(affected=row)
    redeem(voucher, "20.00")
    impact(row, delay_minutes=200)

    vouchers_issue_for_incident(incident_id=row.incident_id)

    voucher.refresh_from_db()
    assert (voucher.amount, voucher.redeemed_amount, voucher.balance) == (
        Decimal("150.00"),
        Decimal("20.00"),
        Decimal("130.00"),
    )
    assert Voucher.objects.filter(affected=row).count() == 1


def test_an_expired_superseded_voucher_gets_a_top_up_not_a_take_over(clock: Clock) -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)
    clock.at(NOW + dt.timedelta(days=366))  # past its validity; the expiry sweep has not run yet

    vouchers_issue_for_incident(incident_id=row.incident_id)

    assert held(row) == [
        ("delay", Decimal("50.00"), 1, VoucherStatus.ISSUED),
        ("long-delay", Decimal("100.00"), 1, VoucherStatus.ISSUED),
    ]
    assert "(USD 50.00, expired)" in Voucher.objects.get(affected=row, rule__slug="long-delay").reason


def test_a_redeemed_voucher_worth_more_than_the_new_award_covers_it() -> None:
    row = delayed(200)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    redeem(Voucher.objects.get(affected=row), "150.00")
    impact(row, delay_minutes=70)

    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert (result.issued, result.topped_up) == (0, 0)
    assert held(row) == [("long-delay", Decimal("150.00"), 1, VoucherStatus.REDEEMED)]
    assert incident_forecast(incident_id=row.incident_id).to_issue == 0
    assert compensation_differences(incident_id=row.incident_id)[0].difference == {"USD": Decimal("100.00")}


def test_a_voucher_no_award_takes_over_stays_with_the_customer() -> None:
    row = delayed(200)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=10)  # no award at all now

    assert vouchers_issue_for_incident(incident_id=row.incident_id).issued == 0

    assert held(row) == [("long-delay", Decimal("150.00"), 1, VoucherStatus.ISSUED)]
    (difference,) = compensation_differences(incident_id=row.incident_id)
    assert (difference.gives, difference.difference) == ((), {"USD": Decimal("150.00")})


# --- the guards: a take-over happens once, whoever runs it ---------------------------------------------------


def test_a_take_over_planned_before_another_run_did_it_changes_nothing() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)
    stale = incident_forecast(incident_id=row.incident_id).reconciliation
    assert stale is not None
    assert len(stale.take_overs) == 1
    assert len(vouchers_take_over(take_overs=stale.take_overs, actor=SystemActor("first"))) == 1

    assert vouchers_take_over(take_overs=stale.take_overs, actor=SystemActor("second")) == []

    assert held(row) == [("long-delay", Decimal("150.00"), 1, VoucherStatus.ISSUED)]  # not 250
    assert len(top_up_entries()) == 1


def test_a_take_over_planned_before_the_voucher_was_redeemed_changes_nothing() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)
    stale = incident_forecast(incident_id=row.incident_id).reconciliation
    assert stale is not None
    redeem(Voucher.objects.get(affected=row), "50.00")

    assert vouchers_take_over(take_overs=stale.take_overs, actor=SystemActor("late")) == []
    vouchers_issue_for_incident(incident_id=row.incident_id)  # plans again: a top-up beside the spent voucher
    assert held(row) == [
        ("delay", Decimal("50.00"), 1, VoucherStatus.REDEEMED),
        ("long-delay", Decimal("100.00"), 1, VoucherStatus.ISSUED),
    ]


def test_an_impact_moved_between_the_forecast_and_the_write_is_left_to_the_next_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)
    real_forecast = issuance.incident_forecast

    def feed_lands_meanwhile(**kwargs: Any) -> Any:
        forecast = real_forecast(**kwargs)
        impact(row, cancelled=True)  # the feed commits after the forecast read the 200 minutes
        return forecast

    monkeypatch.setattr(issuance, "incident_forecast", feed_lands_meanwhile)
    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert (result.issued, result.topped_up, result.changed) == (0, 0, 1)
    assert held(row) == [("delay", Decimal("50.00"), 1, VoucherStatus.ISSUED)]
    monkeypatch.setattr(issuance, "incident_forecast", real_forecast)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    assert [amount for _slug, amount, _seq, _status in held(row)] == [Decimal("200.00"), Decimal("200.00")]


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_issuances_at_once_after_the_impact_grew_take_over_and_top_up_each_voucher_once() -> None:
    default_policy_install(django_apps)
    incident = IncidentFactory.create()
    rows = [delayed(70, incident=incident) for _ in range(30)]
    vouchers_issue_for_incident(incident_id=incident.pk)
    codes = dict(Voucher.objects.filter(incident=incident).values_list("affected_id", "code"))
    spent = rows[:10]
    for row in spent:
        redeem(Voucher.objects.get(affected=row), "50.00")
    AffectedCustomer.objects.filter(incident=incident).update(delay_minutes=200)
    results: list[Any] = []

    def issue() -> None:
        results.append(vouchers_issue_for_incident(incident_id=incident.pk))

    assert run_threads([issue] * 4) == []

    assert sum(result.topped_up for result in results) == 20
    assert sum(result.issued for result in results) == 10
    for row in rows:
        vouchers = Voucher.objects.filter(affected=row)
        assert sum(voucher.amount for voucher in vouchers) == Decimal("150.00")
        if row in spent:
            assert sorted(v.amount for v in vouchers) == [Decimal("50.00"), Decimal("100.00")]
        else:
            (voucher,) = vouchers
            assert (voucher.code, voucher.rule, voucher.amount) == (codes[row.pk], rule("long-delay"), 150)
    assert len(top_up_entries()) == 30  # 20 take-overs and 10 top-up vouchers, each written once
    again = vouchers_issue_for_incident(incident_id=incident.pk)
    assert (again.issued, again.topped_up) == (0, 0)


# --- the budget counts what is held ------------------------------------------------------------------------


def test_the_budget_counts_a_take_over_by_its_difference() -> None:
    row = delayed(70)
    IncidentCompensation.objects.create(incident_id=row.incident_id, budget_cap=Decimal("150.00"))
    vouchers_issue_for_incident(incident_id=row.incident_id)
    impact(row, delay_minutes=200)

    forecast = incident_forecast(incident_id=row.incident_id)

    # Held 50, topped up by 100: 150, within the cap; counting the planned 150 beside the 50 held would be 200.
    assert forecast.totals == forecast.planned_totals == {"USD": Decimal("150.00")}
    assert forecast.to_issue_totals == {"USD": Decimal("100.00")}
    assert not forecast.over_budget
    assert vouchers_issue_for_incident(incident_id=row.incident_id).topped_up == 1
    IncidentCompensation.objects.filter(incident_id=row.incident_id).update(budget_cap=Decimal("120.00"))
    assert not incident_forecast(incident_id=row.incident_id).over_budget  # nothing left to give


def test_the_budget_holds_a_top_up_above_it() -> None:
    row = delayed(70)
    vouchers_issue_for_incident(incident_id=row.incident_id)
    IncidentCompensation.objects.create(incident_id=row.incident_id, budget_cap=Decimal("120.00"))
    impact(row, delay_minutes=200)

    result = vouchers_issue_for_incident(incident_id=row.incident_id)

    assert result.held
    assert result.forecast.over_by == {"USD": Decimal("30.00")}
    assert held(row) == [("delay", Decimal("50.00"), 1, VoucherStatus.ISSUED)]


def test_a_voucher_kept_from_a_rule_that_no_longer_applies_still_counts_against_the_budget() -> None:
    row = delayed(200)
    incident_id = row.incident_id
    vouchers_issue_for_incident(incident_id=incident_id)
    impact(row, delay_minutes=70)
    IncidentCompensation.objects.create(incident_id=incident_id, budget_cap=Decimal("180.00"))

    forecast = incident_forecast(incident_id=incident_id)

    assert forecast.planned_totals == {"USD": Decimal("50.00")}
    assert forecast.totals == {"USD": Decimal("150.00")}  # what the customer actually holds
    assert not forecast.over_budget
    delayed(75, incident_id=incident_id)  # another 50 to give: 200 held in all, above the cap
    later = incident_forecast(incident_id=incident_id)
    assert later.over_by == {"USD": Decimal("20.00")}
    assert vouchers_issue_for_incident(incident_id=incident_id).held


# --- the coordinator sees the differences --------------------------------------------------------------------


def test_the_compensation_page_shows_the_differences_with_a_count(
    coordinator_client: Any, django_assert_max_num_queries: Any
) -> None:
    incident = IncidentFactory.create()
    corrected = delayed(200, incident=incident, customer=CustomerFactory.create(external_ref="C-DOWN"))
    grown = delayed(70, incident=incident, customer=CustomerFactory.create(external_ref="C-UP"))
    delayed(90, incident=incident, customer=CustomerFactory.create(external_ref="C-SAME"))
    IncidentCompensation.objects.create(incident=incident)
    vouchers_issue_for_incident(incident_id=incident.pk)
    impact(corrected, delay_minutes=70)
    impact(grown, delay_minutes=200)
    forecast = incident_forecast(incident_id=incident.pk)
    with django_assert_max_num_queries(1):
        differences = compensation_differences(incident_id=incident.pk, forecast=forecast)
    assert [difference.customer_ref for difference in differences] == ["C-DOWN"]

    page = coordinator_client.get(reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]))

    text = page.content.decode()
    assert "1 customer holds other than what the policy gives them now" in text
    table = text.split('<table class="compensation-differences">')[1].split("</table>")[0]
    assert "C-DOWN" in table
    assert "UA " in table
    assert "+USD 100.00" in table
    assert "Delay of 1 hour or more: USD 150.00" in table
    assert "C-UP" not in table  # topped up when issued: no difference
    assert "Held once issued, counted against the budget: USD 350.00" in text
