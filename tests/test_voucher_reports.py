"""Vouchers in the admin: liability and redemption, the CSV export for finance, the forecast panels, rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from care.core.csv_export import csv_safe
from tests.factories import AffectedCustomerFactory, IncidentFactory, VoucherFactory
from vouchers.default_policy import default_policy_install
from vouchers.models import CompensationRule, IncidentCompensation, Voucher, VoucherStatus
from vouchers.selectors import incident_voucher_summary, outstanding_liability

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shipped_policy() -> None:
    default_policy_install(django_apps)


def some_vouchers() -> Any:
    """One incident: a USD 200 voucher half redeemed, one fully redeemed, one void, one expired, one in EUR."""
    incident = IncidentFactory.create()
    rows = AffectedCustomerFactory.create_batch(5, incident=incident)
    VoucherFactory.create(affected=rows[0], amount=Decimal("200.00"), redeemed_amount=Decimal("50.00"))
    VoucherFactory.create(
        affected=rows[1], amount=Decimal("100.00"), redeemed_amount=Decimal("100.00"), status=VoucherStatus.REDEEMED
    )
    VoucherFactory.create(affected=rows[2], amount=Decimal("100.00"), status=VoucherStatus.VOID, void_reason="=1+2")
    VoucherFactory.create(affected=rows[3], amount=Decimal("100.00"), status=VoucherStatus.EXPIRED)
    VoucherFactory.create(affected=rows[4], amount=Decimal("80.00"), currency="EUR")
    return incident


def test_outstanding_liability_is_what_live_vouchers_are_still_worth() -> None:
    incident = some_vouchers()
    other = VoucherFactory.create(amount=Decimal("30.00"))
    # Issued but past its date and not yet swept: no longer a liability.
    VoucherFactory.create(
        amount=Decimal("999.00"),
        issued_at=timezone.now() - dt.timedelta(days=400),
        expires_at=timezone.now() - dt.timedelta(days=1),
    )

    assert outstanding_liability(incident_id=incident.pk) == {"USD": Decimal("150.00"), "EUR": Decimal("80.00")}
    assert outstanding_liability() == {"USD": Decimal("180.00"), "EUR": Decimal("80.00")}
    summary = incident_voucher_summary(incident_id=incident.pk)
    assert (summary.issued, summary.redeemed, summary.void, summary.expired) == (5, 2, 1, 1)
    assert summary.redemption_rate == 0.5  # 2 of the 4 not void
    assert summary.value == {"USD": Decimal("400.00"), "EUR": Decimal("80.00")}
    assert other.incident_id is not None
    assert incident_voucher_summary(incident_id=other.incident_id).redemption_rate == 0


def test_the_report_page_reads_for_reps_and_coordinators(
    coordinator_client: Any, rep_client: Any, django_assert_max_num_queries: Any
) -> None:
    incident = some_vouchers()
    url = reverse("admin:vouchers_voucher_report")
    with django_assert_max_num_queries(12):
        page = coordinator_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert incident.reference in text
    assert "150.00" in text
    assert "50 %" in text
    assert "Export every voucher as CSV" in text
    rep_page = rep_client.get(url)
    assert rep_page.status_code == 200
    assert "Export every voucher" not in rep_page.content.decode()


def test_the_csv_export_streams_the_filtered_vouchers_safely(coordinator_client: Any) -> None:
    incident = some_vouchers()
    VoucherFactory.create()  # another incident, filtered out
    url = reverse("admin:vouchers_voucher_export") + f"?incident__id__exact={incident.pk}"

    response = coordinator_client.get(url)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 5
    assert {row["incident"] for row in rows} == {incident.reference}
    void = next(row for row in rows if row["status"] == "void")
    assert void["void_reason"] == "'=1+2"
    assert {row["code"] for row in rows} == set(
        Voucher.objects.filter(incident=incident).values_list("code", flat=True)
    )


def test_reps_may_not_export(rep_client: Any) -> None:
    some_vouchers()
    assert rep_client.get(reverse("admin:vouchers_voucher_export")).status_code == 403


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (None, ""),
        (Decimal("12.50"), "12.50"),
    ],
)
def test_csv_cells_never_start_a_formula(value: Any, cell: str) -> None:
    assert csv_safe(value) == cell


def test_voucher_changelist_filters_by_incident_status_and_expiry(
    coordinator_client: Any, django_assert_max_num_queries: Any
) -> None:
    incident = some_vouchers()
    soon = VoucherFactory.create(expires_at=timezone.now() + dt.timedelta(days=10))
    url = reverse("admin:vouchers_voucher_changelist")
    with django_assert_max_num_queries(12):
        page = coordinator_client.get(url, {"incident__id__exact": incident.pk, "status__exact": "issued"})
    assert page.status_code == 200
    assert list(page.context["cl"].queryset.values_list("amount", flat=True).order_by("amount")) == [
        Decimal("80.00"),
        Decimal("200.00"),
    ]
    expiring = coordinator_client.get(url, {"expiry": "30d"})
    assert [v.pk for v in expiring.context["cl"].queryset] == [soon.pk]


def test_the_incident_page_shows_the_forecast_against_the_budget(coordinator_client: Any) -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create_batch(3, incident=incident, cancelled=True)
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("1000.00"))

    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()

    assert "6 vouchers" in page
    assert "USD 1,200.00" in page or "USD 1200.00" in page
    assert "Over the budget by USD 200" in page
    settings_page = coordinator_client.get(reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]))
    assert "Over the budget by USD 200" in settings_page.content.decode()


def test_a_large_incidents_page_links_to_the_forecast_instead_of_computing_it(coordinator_client: Any) -> None:
    from incidents.models import Incident
    from vouchers.admin import FORECAST_INLINE_LIMIT

    incident = IncidentFactory.create()
    AffectedCustomerFactory.create_batch(3, incident=incident, cancelled=True)
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("1000.00"))
    Incident.objects.filter(pk=incident.pk).update(affected_count=FORECAST_INLINE_LIMIT + 1)

    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()

    assert f"The voucher forecast for {FORECAST_INLINE_LIMIT + 1:,} affected customers" in page
    assert reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]) in page
    assert "Over the budget" not in page  # not computed here
    settings_page = coordinator_client.get(reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]))
    assert "Over the budget by USD 200" in settings_page.content.decode()  # but there, on demand


def test_a_coordinator_approves_and_issues_from_the_admin_a_rep_cannot(
    coordinator_client: Any, rep_client: Any
) -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create_batch(3, incident=incident, cancelled=True)
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("1000.00"))
    url = reverse("admin:vouchers_incidentcompensation_changelist")
    post = {ACTION_CHECKBOX_NAME: [incident.pk]}

    assert rep_client.post(url, {**post, "action": "approve_over_budget"}).status_code == 403
    coordinator_client.post(url, {**post, "action": "issue_vouchers"})
    assert not Voucher.objects.exists()  # held above the budget
    coordinator_client.post(url, {**post, "action": "approve_over_budget"})
    coordinator_client.post(url, {**post, "action": "issue_vouchers"})

    assert Voucher.objects.filter(incident=incident).count() == 6


def test_a_rule_is_edited_with_checkboxes_and_read_back_in_words(coordinator_client: Any) -> None:
    url = reverse("admin:vouchers_compensationrule_add")
    response = coordinator_client.post(
        url,
        {
            "name": "Crew shortage, long haul",
            "slug": "crew-long-haul",
            "is_active": "on",
            "applies_by_default": "on",
            "when_cancelled": "on",
            "causes": ["crew", "mechanical"],
            "control": "any",
            "loyalty_tiers": [],
            "distance_bands": ["long"],
            "award_kind": "voucher",
            "voucher_count": "1",
            "amount": "300.00",
            "currency": "USD",
            "validity_days": "365",
            "priority": "8",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = CompensationRule.objects.get(slug="crew-long-haul")
    assert rule.causes == ["crew", "mechanical"]
    assert rule.distance_bands == ["long"]
    page = coordinator_client.get(reverse("admin:vouchers_compensationrule_change", args=[rule.pk])).content.decode()
    assert "whose flight was cancelled on a long-haul flight when the cause was crew or mechanical" in page


def test_a_voucher_rule_without_a_value_is_refused(coordinator_client: Any) -> None:
    response = coordinator_client.post(
        reverse("admin:vouchers_compensationrule_add"),
        {
            "name": "Broken",
            "slug": "broken",
            "control": "any",
            "award_kind": "voucher",
            "voucher_count": "1",
            "currency": "USD",
            "validity_days": "365",
            "priority": "8",
        },
    )
    assert response.status_code == 200
    assert "A voucher rule awards at least one voucher with a value." in response.content.decode()
    assert not CompensationRule.objects.filter(slug="broken").exists()


def test_the_compensation_page_shows_the_legal_minimum_beside_the_goodwill(coordinator_client: Any) -> None:
    incident = IncidentFactory.create(cause="crew", within_control=True)
    after_the_dot_rule = dt.date(2025, 6, 1)  # the US DOT refund rule is decided by the flight's date
    AffectedCustomerFactory.create(
        incident=incident,
        cancelled=True,
        origin="CDG",
        destination="JFK",
        carrier="AF",
        customer__external_ref="C-1",
        flight_date=after_the_dot_rule,
    )
    AffectedCustomerFactory.create(
        incident=incident,
        cancelled=False,
        delay_minutes=200,
        customer__external_ref="C-2",
        flight_date=after_the_dot_rule,
    )
    IncidentCompensation.objects.create(incident=incident)

    page = coordinator_client.get(reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]))

    text = page.content.decode()
    assert "US DOT refund rule: 2 customers (refund of the unused ticket)" in text
    assert "EU Regulation 261/2004: 1 customer, EUR 600" in text
    assert "C-1" in text
    assert "Two vouchers worth USD 200.00 each, valid 12 months." in text
    assert "Not owed:" not in text


def test_the_compensation_page_says_why_flights_before_the_us_dot_rule_are_owed_no_refund(
    coordinator_client: Any,
) -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create_batch(2, incident=incident, cancelled=True, flight_date=dt.date(2013, 2, 8))
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=30)  # not covered anyway
    IncidentCompensation.objects.create(incident=incident)

    page = coordinator_client.get(reverse("admin:vouchers_incidentcompensation_change", args=[incident.pk]))

    text = page.content.decode()
    assert "refund of the unused ticket" not in text
    assert "Not owed: US DOT refund rule: not in force for flights before 28 October 2024 (2 customers)." in text
    assert "US DOT refund rule: not in force for flights before 28 October 2024</div>" in text  # per customer


def test_a_coordinator_records_a_voucher_instead_of_cash_with_consent(coordinator_client: Any, rep_client: Any) -> None:
    incident = IncidentFactory.create(cause="crew", within_control=True)
    affected = AffectedCustomerFactory.create(
        incident=incident, cancelled=True, origin="CDG", destination="JFK", carrier="AF"
    )
    url = reverse("admin:vouchers_voucher_in_lieu")
    data = {
        "affected": affected.pk,
        "regulation": "eu261",
        "amount": "500.00",
        "currency": "EUR",
        "validity_days": "365",
        "consent_note": "Phone call, customer prefers a voucher",
    }
    assert rep_client.post(url, data).status_code == 403

    too_little = coordinator_client.post(url, data)

    assert too_little.status_code == 200
    assert "must be worth at least that" in too_little.content.decode()
    assert not Voucher.objects.exists()
    done = coordinator_client.post(url, {**data, "amount": "650.00"})
    assert done.status_code == 302
    voucher = Voucher.objects.get()
    assert (voucher.in_lieu_of, voucher.amount, voucher.consent_note) == (
        "eu261",
        Decimal("650.00"),
        "Phone call, customer prefers a voucher",
    )
