"""Issuing vouchers by the policy: forecast equals issuance, idempotent, budget cap, expiry, void, sweep."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.errors import DomainError
from care.correspondence.default_templates import default_templates_install
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.services import letters_prepare
from care.operations.sweeps import sweep_follow_ups
from incidents.models import Alert, IncidentStatus
from tests.factories import (
    AffectedCustomerFactory,
    CustomerFactory,
    IncidentFactory,
    LetterFactory,
    paris_new_york_cancelled,
)
from vouchers import codes, services
from vouchers.default_policy import default_policy_install
from vouchers.models import IncidentCompensation, Voucher, VoucherStatus, VoucherStatusChange
from vouchers.selectors import incident_forecast
from vouchers.services import (
    ALERT_OVER_BUDGET,
    vouchers_approve_over_budget,
    vouchers_expire,
    vouchers_issue_for_incident,
    vouchers_void,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shipped_policy_and_templates() -> None:
    # Both come from data migrations, which a transactional test's flush removes: install them again (idempotent).
    default_policy_install(django_apps)
    default_templates_install(django_apps)


def mixed_incident(**fields: Any) -> Any:
    """Cancelled (one Gold), long delay, short delay, no impact: every branch of the shipped policy."""
    incident = IncidentFactory.create(**fields)
    AffectedCustomerFactory.create(
        incident=incident, cancelled=True, customer=CustomerFactory.create(loyalty_tier="gold")
    )
    AffectedCustomerFactory.create_batch(2, incident=incident, cancelled=True)
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=200)
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=75)
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=10)
    return incident


def test_the_forecast_is_what_issuance_then_issues(coordinator: Any) -> None:
    incident = mixed_incident()
    forecast = incident_forecast(incident_id=incident.pk)
    # 3 cancelled x 2 x 200, a Gold uplift of 100, a long delay of 150, a delay of 50.
    assert forecast.count == 3 * 2 + 1 + 1 + 1
    assert forecast.totals == {"USD": Decimal("1500.00")}
    assert forecast.customers == 6
    assert forecast.customers_awarded == 5
    assert {line.name: line.vouchers for line in forecast.per_rule} == {
        "Gold and Platinum uplift": 1,
        "Cancelled flight: two round trips": 6,
        "Delay of 3 hours or more": 1,
        "Delay of 1 hour or more": 1,
    }
    assert [(tier.tier, tier.vouchers) for tier in forecast.per_tier] == [("gold", 3), ("none", 6)]
    assert Voucher.objects.count() == 0

    result = vouchers_issue_for_incident(incident_id=incident.pk, actor=coordinator)

    assert result.issued == forecast.count
    assert not result.held
    vouchers = Voucher.objects.filter(incident=incident)
    assert vouchers.count() == forecast.count
    assert sum(v.amount for v in vouchers) == forecast.totals["USD"]
    assert Counter(v.rule.name for v in vouchers if v.rule) == {line.name: line.vouchers for line in forecast.per_rule}
    assert all(codes.check(v.code) is codes.CodeCheck.VALID_FORM for v in vouchers)
    assert all(v.expires_at == v.issued_at + dt.timedelta(days=365) for v in vouchers)
    audit = VoucherStatusChange.objects.filter(voucher__incident=incident)
    assert audit.count() == forecast.count
    assert set(audit.values_list("from_status", "to_status", "actor_id")) == {("", "issued", coordinator.pk)}
    after = incident_forecast(incident_id=incident.pk)
    assert after.issued == after.count == forecast.count
    assert after.to_issue == 0


def test_issuing_twice_issues_nothing_new_and_a_customer_added_later_gets_theirs() -> None:
    incident = mixed_incident()
    first = vouchers_issue_for_incident(incident_id=incident.pk)
    codes_before = set(Voucher.objects.values_list("code", flat=True))

    again = vouchers_issue_for_incident(incident_id=incident.pk)

    assert again.issued == 0
    assert again.already == first.issued
    assert set(Voucher.objects.values_list("code", flat=True)) == codes_before
    late = AffectedCustomerFactory.create(incident=incident, cancelled=True)

    third = vouchers_issue_for_incident(incident_id=incident.pk)

    assert third.issued == 2
    assert set(Voucher.objects.filter(affected=late).values_list("sequence", flat=True)) == {1, 2}
    assert VoucherStatusChange.objects.filter(actor_label="compensation policy").count() == first.issued + 2


def test_a_code_collision_is_retried_with_a_fresh_code(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = codes.generate_code()
    incident = IncidentFactory.create()
    other = AffectedCustomerFactory.create(cancelled=True)
    Voucher.objects.create(
        code=taken,
        customer=other.customer,
        amount=Decimal("10.00"),
        currency="USD",
        expires_at=timezone.now() + dt.timedelta(days=1),
        reason="test",
    )
    AffectedCustomerFactory.create(incident=incident, cancelled=True)
    supply: Iterator[str] = iter([taken, taken])

    def colliding() -> str:
        return next(supply, None) or codes.encode(codes.secrets.randbits(codes.RANDOM_BITS))

    monkeypatch.setattr(services.issuance, "generate_code", colliding)

    result = vouchers_issue_for_incident(incident_id=incident.pk)

    assert result.issued == 2
    assert Voucher.objects.filter(incident=incident).exclude(code=taken).count() == 2


def test_above_the_budget_nothing_is_issued_until_a_coordinator_approves(coordinator: Any) -> None:
    incident = mixed_incident()
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("1000.00"), budget_currency="USD")
    forecast = incident_forecast(incident_id=incident.pk)
    assert forecast.over_budget
    assert forecast.over_by == {"USD": Decimal("500.00")}

    held = vouchers_issue_for_incident(incident_id=incident.pk)

    assert held.held
    assert "USD 500.00" in held.message
    assert Voucher.objects.count() == 0
    with pytest.raises(DomainError, match="signed in"):
        vouchers_approve_over_budget(incident_id=incident.pk, actor=None)

    approved = vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator, note="Blizzard, worth it")

    assert not approved.over_budget
    row = IncidentCompensation.objects.get(incident=incident)
    assert row.approved_by == coordinator
    assert row.approved_totals == {"USD": "1500.00"}
    assert vouchers_issue_for_incident(incident_id=incident.pk).issued == forecast.count
    # The approval covered the total as forecast: a customer added later, pushing it higher, holds it again.
    AffectedCustomerFactory.create(incident=incident, cancelled=True)
    assert vouchers_issue_for_incident(incident_id=incident.pk).held
    IncidentCompensation.objects.filter(incident=incident).update(budget_cap=Decimal("5000"))
    with pytest.raises(DomainError, match="within the budget"):
        vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator)


def test_within_the_budget_issuance_goes_ahead() -> None:
    incident = mixed_incident()
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("1500.00"))
    assert vouchers_issue_for_incident(incident_id=incident.pk).issued == 9


def test_a_cap_in_another_currency_holds_until_approved() -> None:
    incident = mixed_incident()
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("100000"), budget_currency="EUR")
    assert vouchers_issue_for_incident(incident_id=incident.pk).held


def test_expiry_marks_only_vouchers_past_their_date_with_an_audit_row() -> None:
    incident = mixed_incident()
    issued_at = timezone.now()
    vouchers_issue_for_incident(incident_id=incident.pk, now=issued_at)
    short = Voucher.objects.filter(incident=incident, rule__slug="delay").get()
    Voucher.objects.filter(pk=short.pk).update(expires_at=issued_at + dt.timedelta(days=30))
    redeemed = Voucher.objects.filter(incident=incident, rule__slug="long-delay").get()
    Voucher.objects.filter(pk=redeemed.pk).update(
        status=VoucherStatus.REDEEMED, redeemed_amount=redeemed.amount, expires_at=issued_at + dt.timedelta(days=1)
    )

    assert vouchers_expire(now=issued_at + dt.timedelta(days=29)) == 0
    assert vouchers_expire(now=issued_at + dt.timedelta(days=30)) == 1
    assert vouchers_expire(now=issued_at + dt.timedelta(days=31)) == 0

    short.refresh_from_db()
    assert short.status == VoucherStatus.EXPIRED
    change = short.status_changes.get(to_status=VoucherStatus.EXPIRED)
    assert (change.from_status, change.actor_label) == (VoucherStatus.ISSUED, "expiry")
    assert Voucher.objects.get(pk=redeemed.pk).status == VoucherStatus.REDEEMED
    assert Voucher.objects.filter(status=VoucherStatus.ISSUED).count() == 7
    assert vouchers_expire(now=issued_at + dt.timedelta(days=366)) == 7


def test_the_expiry_task_is_registered_for_beat() -> None:
    from django_celery_beat.models import PeriodicTask

    from incidents.schedules import schedules_ensure

    schedules_ensure()
    assert PeriodicTask.objects.filter(task="vouchers.tasks.vouchers_expire_task").count() == 1


def test_a_voided_vouchers_letters_are_never_sent(coordinator: Any) -> None:
    incident = IncidentFactory.create(
        status=IncidentStatus.RESOLVED,
        apology="We are truly sorry that the blizzard kept you from getting home on time.",
        resolved_at=timezone.now(),
    )
    affected = AffectedCustomerFactory.create(incident=incident, cancelled=True)
    vouchers_issue_for_incident(incident_id=incident.pk)
    first, second = Voucher.objects.filter(affected=affected).order_by("sequence")
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, affected_ids=[affected.pk])
    apology = Letter.objects.get(affected=affected, kind=LetterKind.APOLOGY)
    assert first.code in apology.body_text
    assert second.code in apology.body_text
    queued_voucher_letter = LetterFactory.create(
        affected=affected, kind=LetterKind.VOUCHER, status=LetterStatus.QUEUED, body_text=f"Your code {first.code}"
    )

    vouchers_void(voucher_ids=[first.pk], actor=coordinator, reason="issued twice by mistake")

    queued_voucher_letter.refresh_from_db()
    assert queued_voucher_letter.status == LetterStatus.CANCELLED
    apology.refresh_from_db()
    assert apology.status == LetterStatus.DRAFT
    assert first.code not in apology.body_text
    assert second.code in apology.body_text


def test_a_voucher_letter_left_without_vouchers_is_held() -> None:
    incident = IncidentFactory.create(status=IncidentStatus.RESOLVED, resolved_at=timezone.now())
    affected = AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=90)
    vouchers_issue_for_incident(incident_id=incident.pk)
    (voucher,) = Voucher.objects.filter(affected=affected)
    letter = LetterFactory.create(affected=affected, kind=LetterKind.VOUCHER, status=LetterStatus.DRAFT)

    vouchers_void(voucher_ids=[voucher.pk], actor=SystemActor("finance desk"), reason="customer took the cash instead")

    letter.refresh_from_db()
    assert letter.check_passed is False
    assert voucher.code not in letter.body_text


# --- Through the follow-up sweep -----------------------------------------------------------------------------


def resolved(**fields: Any) -> Any:
    fields.setdefault("apology", "We are truly sorry that the blizzard kept you from getting home on time.")
    return IncidentFactory.create(
        status=IncidentStatus.RESOLVED, resolved_at=timezone.now() - dt.timedelta(days=1), **fields
    )


def test_the_follow_up_sweep_issues_vouchers_and_the_apologies_carry_the_codes() -> None:
    incident = resolved()
    rows = AffectedCustomerFactory.create_batch(3, incident=incident, cancelled=True)

    counts = sweep_follow_ups()

    assert counts["letters"] == 3
    assert counts["held_for_budget"] == 0
    for row in rows:
        letter = Letter.objects.get(affected=row, kind=LetterKind.APOLOGY)
        codes_ = list(Voucher.objects.filter(affected=row).values_list("code", flat=True))
        assert len(codes_) == 2
        assert all(code in letter.body_text for code in codes_)
    assert set(Voucher.objects.values_list("issued_by_label", flat=True)) == {"sweep"}
    sweep_follow_ups()
    assert Voucher.objects.count() == 6


def test_the_follow_up_sweep_holds_apologies_above_the_budget_until_approved(coordinator: Any) -> None:
    incident = resolved()
    AffectedCustomerFactory.create_batch(3, incident=incident, cancelled=True)
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("500.00"))

    counts = sweep_follow_ups()

    assert counts["held_for_budget"] == 1
    assert counts["letters"] == 0
    assert not Letter.objects.filter(incident=incident).exists()
    assert not Voucher.objects.exists()
    alert = Alert.objects.get(kind=ALERT_OVER_BUDGET, resolved_at__isnull=True)
    assert alert.incident_id == incident.pk
    assert sweep_follow_ups()["held_for_budget"] == 1
    assert Alert.objects.filter(kind=ALERT_OVER_BUDGET).count() == 1

    vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    counts = sweep_follow_ups()

    assert counts["letters"] == 3
    assert Voucher.objects.filter(incident=incident).count() == 6


def test_a_combined_apology_carries_the_vouchers_of_both_incidents() -> None:
    now = timezone.now()
    customer = CustomerFactory.create()
    first = resolved(title="Blizzard at Newark")
    AffectedCustomerFactory.create(incident=first, customer=customer, cancelled=True, flight_number="1545")
    sweep_follow_ups(now=now)
    second = resolved(title="Crew shortage at O'Hare")
    AffectedCustomerFactory.create(
        incident=second, customer=customer, cancelled=False, delay_minutes=200, flight_number="2202"
    )

    counts = sweep_follow_ups(now=now)

    assert counts["combined"] == 1
    (letter,) = Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT)
    all_codes = list(Voucher.objects.filter(customer=customer).values_list("code", flat=True))
    assert len(all_codes) == 3
    assert all(code in letter.body_text for code in all_codes)


def test_the_demo_gives_newark_friday_a_budget_below_its_forecast(coordinator: Any) -> None:
    from care.operations.demo import DEMO_REFERENCES, demo_scenario_load
    from incidents.models import Incident
    from vouchers.demo import TIGHT_BUDGET_REFERENCE

    demo_scenario_load(passengers_per_flight=1)

    over = {
        incident.reference: incident_forecast(incident_id=incident.pk).over_budget
        for incident in Incident.objects.filter(reference__in=DEMO_REFERENCES)
    }
    assert over == {reference: reference == TIGHT_BUDGET_REFERENCE for reference in DEMO_REFERENCES}
    newark = Incident.objects.get(reference=TIGHT_BUDGET_REFERENCE)
    assert vouchers_issue_for_incident(incident_id=newark.pk).held
    forecast = vouchers_approve_over_budget(incident_id=newark.pk, actor=coordinator)
    assert vouchers_issue_for_incident(incident_id=newark.pk).issued == forecast.count > 0


# --- A voucher instead of cash owed by law -------------------------------------------------------------------


def eu_crew_cancellation() -> Any:
    incident = IncidentFactory.create(cause="crew", within_control=True)
    return paris_new_york_cancelled(incident=incident)


def test_a_voucher_in_place_of_eu261_cash_needs_consent_and_at_least_the_amount(coordinator: Any) -> None:
    affected = eu_crew_cancellation()
    common = {"affected_id": affected.pk, "regulation": "eu261", "currency": "EUR", "actor": coordinator}
    with pytest.raises(DomainError, match="how and when the customer agreed"):
        services.voucher_issue_in_lieu(amount=Decimal("700"), consent_note=" ", **common)
    with pytest.raises(DomainError, match="at least that"):
        services.voucher_issue_in_lieu(amount=Decimal("599.99"), consent_note="Phone call, agreed", **common)
    with pytest.raises(DomainError, match="owes this customer nothing"):
        services.voucher_issue_in_lieu(
            amount=Decimal("700"), consent_note="Phone call", **{**common, "regulation": "uk261"}
        )
    assert not Voucher.objects.exists()

    voucher = services.voucher_issue_in_lieu(
        amount=Decimal("700"), consent_note="Phone call 23 Nov, customer chose the voucher", **common
    )

    assert (voucher.in_lieu_of, voucher.amount, voucher.currency) == ("eu261", Decimal("700"), "EUR")
    assert voucher.consent_recorded_at is not None
    assert voucher.status_changes.get().to_status == VoucherStatus.ISSUED
    with pytest.raises(DomainError, match="already has a voucher in place"):
        services.voucher_issue_in_lieu(amount=Decimal("700"), consent_note="again", **common)


def test_the_database_refuses_a_voucher_in_place_of_cash_without_consent() -> None:
    from django.db import IntegrityError

    affected = eu_crew_cancellation()
    with pytest.raises(IntegrityError):
        Voucher.objects.create(
            code=codes.generate_code(),
            customer=affected.customer,
            affected=affected,
            amount=Decimal("700"),
            currency="EUR",
            expires_at=timezone.now() + dt.timedelta(days=1),
            reason="test",
            in_lieu_of="eu261",
        )


# --- Concurrency ---------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_four_issuances_at_once_issue_and_audit_each_voucher_once() -> None:
    import threading

    from django.db import connection

    incident = IncidentFactory.create()
    AffectedCustomerFactory.create_batch(50, incident=incident, cancelled=True)
    barrier = threading.Barrier(4)
    issued: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            issued.append(vouchers_issue_for_incident(incident_id=incident.pk).issued)
        except BaseException as exc:  # reported below: a thread's exception does not fail the test by itself
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sum(issued) == 100
    assert Voucher.objects.filter(incident=incident).count() == 100
    assert VoucherStatusChange.objects.filter(voucher__incident=incident).count() == 100


def test_forecast_and_issuance_queries_do_not_grow_with_the_customers(django_assert_max_num_queries: Any) -> None:
    incident = IncidentFactory.create()
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("100000"))
    AffectedCustomerFactory.create_batch(40, incident=incident, cancelled=True)
    with django_assert_max_num_queries(6):
        forecast = incident_forecast(incident_id=incident.pk)
    assert forecast.count == 80
    # Forecast (6), then per chunk of about 1,000: savepoint, the chunk's impacts read again under a row lock, their
    # vouchers, insert (two on SQLite, whose statements hold fewer values), read back, status-change insert, the
    # drafts to render again, the run's audit entry, release.
    with django_assert_max_num_queries(16):
        assert vouchers_issue_for_incident(incident_id=incident.pk).issued == 80
