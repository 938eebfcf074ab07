"""The coordinator's workbench: roles, actions through the services, bounded queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.customers.models import Customer
from incidents.models import AffectedCustomer, Incident, IncidentStatus, IncidentStatusChange
from incidents.services import incidents_refresh_counts
from tests.factories import (
    AffectedCustomerFactory,
    CompensationRuleFactory,
    IncidentFactory,
    LetterFactory,
    VoucherFactory,
)
from vouchers.models import Voucher, VoucherStatus

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:incidents_incident_changelist",
    "admin:incidents_affectedcustomer_changelist",
    "admin:care_letter_changelist",
    "admin:vouchers_voucher_changelist",
    "admin:care_customer_changelist",
]


def make_rows(count: int) -> None:
    """``count`` customers, affected rows, letters and vouchers over three incidents, in bulk."""
    incidents = IncidentFactory.create_batch(3, status=IncidentStatus.OPEN)
    rule = CompensationRuleFactory.create()
    customers = Customer.objects.bulk_create(
        [Customer(external_ref=f"BULK-{n:07d}", name=f"Passenger {n}", email=f"p{n}@example.com") for n in range(count)]
    )
    affected = AffectedCustomer.objects.bulk_create(
        [
            AffectedCustomer(
                incident=incidents[n % 3],
                customer=customer,
                cancelled=n % 2 == 0,
                delay_minutes=0 if n % 2 == 0 else 95,
                carrier="B6",
                flight_number=str(100 + n % 50),
                flight_date=dt.date(2013, 2, 8),
                origin="JFK",
                destination="BOS",
                booking_reference=f"Q{n:05d}",
                first_contacted_at=timezone.now() if n % 3 == 0 else None,
            )
            for n, customer in enumerate(customers)
        ]
    )
    Letter.objects.bulk_create(
        [Letter(customer=a.customer, incident=a.incident, affected=a, kind=LetterKind.INITIAL_NOTICE) for a in affected]
    )
    Voucher.objects.bulk_create(
        [
            Voucher(
                code=f"BULK-{n:08d}",
                customer=a.customer,
                incident=a.incident,
                affected=a,
                rule=rule,
                amount=Decimal("100.00"),
                currency="USD",
                expires_at=timezone.now() + dt.timedelta(days=365),
                reason="test",
            )
            for n, a in enumerate(affected)
        ]
    )


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelists_render_with_bounded_queries(
    coordinator_client: Any, django_assert_max_num_queries: Any, rows: int, url_name: str
) -> None:
    make_rows(rows)
    # The same ceiling at 10 and at 1,000 rows: no query per row.
    with django_assert_max_num_queries(10):
        response = coordinator_client.get(reverse(url_name))
    assert response.status_code == 200


def test_incident_changelist_shows_counts_and_overdue_promise(coordinator_client: Any) -> None:
    incident = IncidentFactory.create(
        status=IncidentStatus.OPEN, next_update_due_at=timezone.now() - dt.timedelta(minutes=5)
    )
    AffectedCustomerFactory.create_batch(3, incident=incident)
    AffectedCustomerFactory.create(incident=incident, first_contacted_at=timezone.now())
    incidents_refresh_counts(incident_ids=[incident.pk])
    response = coordinator_client.get(reverse("admin:incidents_incident_changelist"))
    content = response.content.decode()
    assert f'?incident__id__exact={incident.pk}">4</a>' in content
    assert '<span class="contact-pending">1</span>' in content
    assert "(overdue)" in content


def test_incident_search_by_flight_and_station(coordinator_client: Any) -> None:
    IncidentFactory.create(stations="EWR", flights="UA 1545, B6 22", title="Newark")
    IncidentFactory.create(stations="LGA", flights="DL 1959", title="LaGuardia")
    url = reverse("admin:incidents_incident_changelist")
    assert "Newark" in coordinator_client.get(url, {"q": "1545"}).content.decode()
    found = coordinator_client.get(url, {"q": "LGA"}).content.decode()
    assert "LaGuardia" in found
    assert "Newark" not in found


def test_rep_can_look_but_not_touch(rep_client: Any) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN)
    letter = LetterFactory.create(affected__incident=incident)
    change_url = reverse("admin:incidents_incident_change", args=[incident.pk])

    for url_name in CHANGELISTS:
        assert rep_client.get(reverse(url_name)).status_code == 200
    page = rep_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only form

    assert rep_client.post(change_url, {"title": "hijacked"}).status_code == 403
    assert rep_client.get(reverse("admin:incidents_incident_add")).status_code == 403
    assert (
        rep_client.post(
            reverse("admin:care_letter_changelist"),
            {"action": "approve_letters", ACTION_CHECKBOX_NAME: [letter.pk]},
        ).status_code
        == 403
    )
    assert (
        rep_client.post(
            reverse("admin:incidents_incident_transition", args=[incident.pk]), {"target": "resolved"}
        ).status_code
        == 403
    )
    incident.refresh_from_db()
    letter.refresh_from_db()
    assert incident.title != "hijacked"
    assert incident.status == IncidentStatus.OPEN
    assert letter.status == LetterStatus.DRAFT


def test_coordinator_approves_letters_from_the_changelist(coordinator_client: Any, coordinator: Any) -> None:
    letters = LetterFactory.create_batch(3)
    response = coordinator_client.post(
        reverse("admin:care_letter_changelist"),
        {"action": "approve_letters", ACTION_CHECKBOX_NAME: [letter.pk for letter in letters]},
        follow=True,
    )
    assert "Approved 3 letter(s)." in response.content.decode()
    assert set(Letter.objects.values_list("status", "approved_by")) == {(LetterStatus.APPROVED, coordinator.pk)}


def test_approving_a_sent_letter_is_refused_and_changes_nothing(coordinator_client: Any) -> None:
    draft = LetterFactory.create()
    sent = LetterFactory.create(status=LetterStatus.SENT)
    response = coordinator_client.post(
        reverse("admin:care_letter_changelist"),
        {"action": "approve_letters", ACTION_CHECKBOX_NAME: [draft.pk, sent.pk]},
        follow=True,
    )
    assert "Cannot approve 1 of the 2 selected letters" in response.content.decode()
    assert Letter.objects.get(pk=draft.pk).status == LetterStatus.DRAFT
    assert Letter.objects.get(pk=sent.pk).status == LetterStatus.SENT


def test_coordinator_moves_an_incident_through_its_lifecycle(coordinator_client: Any) -> None:
    incident = IncidentFactory.create()
    url = reverse("admin:incidents_incident_transition", args=[incident.pk])
    for target in ("open", "monitoring", "resolved", "closed"):
        coordinator_client.post(url, {"target": target})
        incident.refresh_from_db()
        assert incident.status == target
    assert list(
        IncidentStatusChange.objects.filter(incident=incident).order_by("at", "id").values_list("to_status", flat=True)
    ) == ["open", "monitoring", "resolved", "closed"]
    assert incident.opened_at
    assert incident.monitoring_at
    assert incident.resolved_at
    assert incident.closed_at


def test_closing_a_draft_is_refused_with_a_message(coordinator_client: Any) -> None:
    incident = IncidentFactory.create()
    response = coordinator_client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "close_incidents", ACTION_CHECKBOX_NAME: [incident.pk]},
        follow=True,
    )
    assert "Cannot close 1 of the 1 selected incidents" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DRAFT
    assert incident.closed_at is None


def test_change_form_offers_only_the_allowed_transitions(coordinator_client: Any) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN)
    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert 'value="monitoring"' in page
    assert 'value="resolved"' in page
    assert 'value="closed"' not in page


def test_coordinator_creates_an_incident_with_a_reference(coordinator_client: Any) -> None:
    response = coordinator_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "title": "Check-in system outage",
            "kind": "it_outage",
            "cause": "it",
            "within_control": "on",
            "severity": "3",
            "started_at_0": "2026-11-23",
            "started_at_1": "06:00:00",
            "first_contact_target_minutes": "15",
            "translations-TOTAL_FORMS": "0",
            "translations-INITIAL_FORMS": "0",
            "paragraph_variants-TOTAL_FORMS": "0",
            "paragraph_variants-INITIAL_FORMS": "0",
            "updates-TOTAL_FORMS": "0",
            "updates-INITIAL_FORMS": "0",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(title="Check-in system outage")
    assert incident.reference == "INC-20261123-0001"
    assert incident.status == IncidentStatus.DRAFT


def test_void_vouchers_asks_for_a_reason_then_voids(coordinator_client: Any) -> None:
    issued = VoucherFactory.create()
    url = reverse("admin:vouchers_voucher_changelist")
    confirm = coordinator_client.post(url, {"action": "void_vouchers", ACTION_CHECKBOX_NAME: [issued.pk]})
    assert "Reason for voiding" in confirm.content.decode()
    issued.refresh_from_db()
    assert issued.status == VoucherStatus.ISSUED
    coordinator_client.post(
        url,
        {"action": "void_vouchers", ACTION_CHECKBOX_NAME: [issued.pk], "confirm": "yes", "void_reason": "Duplicate"},
    )
    issued.refresh_from_db()
    assert issued.status == VoucherStatus.VOID
    assert issued.void_reason == "Duplicate"


def test_voiding_a_redeemed_voucher_is_refused(coordinator_client: Any) -> None:
    redeemed = VoucherFactory.create(status=VoucherStatus.REDEEMED, redeemed_at=timezone.now())
    response = coordinator_client.post(
        reverse("admin:vouchers_voucher_changelist"),
        {"action": "void_vouchers", ACTION_CHECKBOX_NAME: [redeemed.pk], "confirm": "yes", "void_reason": "x"},
        follow=True,
    )
    assert "Cannot void 1 of the 1 selected vouchers" in response.content.decode()
    redeemed.refresh_from_db()
    assert redeemed.status == VoucherStatus.REDEEMED


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:incidents_incident_change",
        "admin:care_letter_change",
        "admin:vouchers_voucher_change",
        "admin:incidents_affectedcustomer_change",
        "admin:care_customer_change",
    ],
)
def test_change_forms_render_for_coordinator(coordinator_client: Any, url_name: str) -> None:
    voucher = VoucherFactory.create()
    letter = LetterFactory.create(affected=voucher.affected, customer=voucher.customer, incident=voucher.incident)
    target: Any = {
        "admin:incidents_incident_change": voucher.incident,
        "admin:care_letter_change": letter,
        "admin:vouchers_voucher_change": voucher,
        "admin:incidents_affectedcustomer_change": voucher.affected,
        "admin:care_customer_change": voucher.customer,
    }[url_name]
    assert coordinator_client.get(reverse(url_name, args=[target.pk])).status_code == 200


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("bk0001", "booking reference, any case"),
        ("ua 1545", "flight with a space"),
        ("UA1545", "flight without a space"),
        ("ADA@EXAMPLE.COM", "email, any case"),
        ("cust-ada", "customer reference, any case"),
        ("+1 (212) 555-0199", "phone as people write it"),
    ],
)
def test_affected_search_finds_by_every_key(coordinator_client: Any, typed: str, expected: str) -> None:
    from tests.factories import CustomerFactory

    ada = CustomerFactory.create(external_ref="CUST-ADA", email="ada@example.com", phone="+12125550199", name="Ada L")
    AffectedCustomerFactory.create(customer=ada, booking_reference="BK0001", carrier="UA", flight_number="1545")
    other = AffectedCustomerFactory.create(booking_reference="ZZ9999", carrier="B6", flight_number="22")
    page = coordinator_client.get(reverse("admin:incidents_affectedcustomer_changelist"), {"q": typed})
    assert page.status_code == 200
    shown = {row.pk for row in page.context["cl"].result_list}
    assert len(shown) == 1, expected
    assert other.pk not in shown, expected


def test_letter_and_voucher_search_by_customer_and_code(coordinator_client: Any) -> None:
    voucher = VoucherFactory.create(code="ABCD-EFGH-JKMN")
    letter = LetterFactory.create(affected=voucher.affected, customer=voucher.customer, incident=voucher.incident)
    LetterFactory.create()
    VoucherFactory.create()
    letters = coordinator_client.get(reverse("admin:care_letter_changelist"), {"q": voucher.customer.email.upper()})
    assert [row.pk for row in letters.context["cl"].result_list] == [letter.pk]
    vouchers = coordinator_client.get(reverse("admin:vouchers_voucher_changelist"), {"q": "abcd-efgh-jkmn"})
    assert [row.pk for row in vouchers.context["cl"].result_list] == [voucher.pk]


@pytest.mark.postgres
def test_big_changelists_do_not_count_every_row(coordinator_client: Any, django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Customer.objects.bulk_create(
        [Customer(external_ref=f"MANY-{n:06d}", name=f"Passenger {n}") for n in range(10_050)], batch_size=5000
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE care_customer")
    with CaptureQueriesContext(connection) as queries:
        page = coordinator_client.get(reverse("admin:care_customer_changelist"))
    assert page.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # One count, bounded by a LIMIT: never a COUNT(*) over the whole table.
    assert counts
    assert all("LIMIT" in sql.upper() for sql in counts), counts
    assert page.context["cl"].result_count >= 10_000


def test_coordinator_sees_whom_email_did_not_reach(coordinator_client: Any) -> None:
    bounced = LetterFactory.create(status=LetterStatus.BOUNCED)
    LetterFactory.create(affected__incident=bounced.incident, status=LetterStatus.DELIVERED)
    elsewhere = LetterFactory.create(status=LetterStatus.COMPLAINED)
    url = reverse("admin:care_customer_changelist")

    everywhere = coordinator_client.get(url, {"unreachable": "yes"})
    assert {row.pk for row in everywhere.context["cl"].result_list} == {bounced.customer_id, elsewhere.customer_id}

    one_incident = coordinator_client.get(
        url, {"unreachable": "yes", "affected__incident__id__exact": bounced.incident_id}
    )
    assert [row.pk for row in one_incident.context["cl"].result_list] == [bounced.customer_id]
    incident_page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[bounced.incident_id]))
    assert "customers email did not reach (phone them)" in incident_page.content.decode()
