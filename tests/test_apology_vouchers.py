"""Unsent apologies follow the customer's vouchers, and state everything the law owes for every flight they cover.

Issuing vouchers renders the customers' draft apology and voucher letters again so they carry the new codes;
voiding one renders them again without it. A customer's apology acknowledges all of their disrupted flights and
carries the vouchers of all of them, so it states the refund (and any compensation) owed for each flight too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from care.correspondence.default_templates import default_templates_install
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.selectors import letter_preview
from care.correspondence.services import letters_prepare
from care.operations.sweeps import sweep_follow_ups
from incidents.models import Incident, IncidentStatus
from tests.factories import (
    AffectedCustomerFactory,
    CustomerFactory,
    IncidentFactory,
    LetterFactory,
    paris_new_york_cancelled,
)
from vouchers.default_policy import default_policy_install
from vouchers.models import Voucher, VoucherStatus
from vouchers.services import voucher_issue_in_lieu, vouchers_issue_for_incident

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 14, 16, 0, tzinfo=dt.UTC)
REFUND = "you are entitled to a full refund of the unused ticket"
# The flights of these tests: a Friday and a Saturday after 28 October 2024, so the US DOT refund rule, decided by
# the flight's date, applies to them.
FRIDAY, SATURDAY = dt.date(2026, 1, 9), dt.date(2026, 1, 10)


@pytest.fixture(autouse=True)
def pinned_clock_policy_and_templates() -> Iterator[None]:
    # Policy and templates come from data migrations, which a transactional test's flush removes.
    default_policy_install(django_apps)
    default_templates_install(django_apps)
    with time_machine.travel(NOW, tick=False):  # the letters' dates, the vouchers' expiry
        yield


def resolved(**fields: Any) -> Incident:
    fields.setdefault(
        "apology",
        "We are truly sorry that the blizzard on Friday left you stranded at Newark without the information you "
        "needed. Waiting without news is something we can and will fix, and we are grateful for your patience.",
    )
    return IncidentFactory.create(status=IncidentStatus.RESOLVED, resolved_at=NOW - dt.timedelta(days=1), **fields)


def codes_of(**filters: Any) -> list[str]:
    return list(Voucher.objects.filter(status=VoucherStatus.ISSUED, **filters).values_list("code", flat=True))


# --- Issuing renders the drafts again -----------------------------------------------------------------------


def test_issuing_vouchers_after_the_apologies_were_drafted_puts_the_codes_in_them() -> None:
    incident = resolved()
    rows = AffectedCustomerFactory.create_batch(2, incident=incident, cancelled=True, flight_date=FRIDAY)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)  # drafted before any voucher exists
    drafts = list(Letter.objects.filter(incident=incident, kind=LetterKind.APOLOGY).order_by("pk"))
    assert all("travel voucher" not in letter.body_text for letter in drafts)
    sent = LetterFactory.create(
        affected__incident=incident, kind=LetterKind.VOUCHER, status=LetterStatus.SENT, body_text="As sent."
    )

    result = vouchers_issue_for_incident(incident_id=incident.pk)

    assert result.issued == 3 * 2
    for row in rows:
        letter = Letter.objects.get(affected=row, kind=LetterKind.APOLOGY)
        assert letter.status == LetterStatus.DRAFT
        assert letter.check_passed, letter.check_reasons
        codes = codes_of(affected=row)
        assert len(codes) == 2
        assert all(code in letter.body_text for code in codes)
        assert letter.body_text.index(REFUND) < letter.body_text.index(codes[0])
    sent.refresh_from_db()
    assert sent.body_text == "As sent."  # what went out is never rewritten


def test_a_voucher_in_place_of_cash_reaches_the_customers_draft_apology(coordinator: Any) -> None:
    incident = resolved(cause="crew", within_control=True)
    affected = paris_new_york_cancelled(incident=incident)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)

    voucher = voucher_issue_in_lieu(
        affected_id=affected.pk,
        regulation="eu261",
        amount=Decimal("700"),
        currency="EUR",
        consent_note="Phone call 13 Jan, the customer chose the voucher",
        actor=coordinator,
    )

    assert voucher.code in Letter.objects.get(affected=affected, kind=LetterKind.APOLOGY).body_text


# --- Voiding renders them again without the code ---------------------------------------------------------------


def test_voiding_a_voucher_in_the_admin_takes_its_code_out_of_the_draft(coordinator_client: Any) -> None:
    incident = resolved()
    affected = AffectedCustomerFactory.create(incident=incident, cancelled=True)
    vouchers_issue_for_incident(incident_id=incident.pk)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)
    voided, kept = Voucher.objects.filter(affected=affected).order_by("sequence")
    apology = Letter.objects.get(affected=affected, kind=LetterKind.APOLOGY)
    assert voided.code in apology.body_text

    coordinator_client.post(
        reverse("admin:vouchers_voucher_changelist"),
        {
            "action": "void_vouchers",
            ACTION_CHECKBOX_NAME: [voided.pk],
            "confirm": "yes",
            "void_reason": "issued twice by mistake",
        },
    )

    voided.refresh_from_db()
    assert voided.status == VoucherStatus.VOID
    apology.refresh_from_db()
    assert apology.status == LetterStatus.DRAFT
    assert voided.code not in apology.body_text
    assert kept.code in apology.body_text
    assert "a travel voucher:" in apology.body_text  # one left, and the letter says so


# --- The statutory refund of every flight an apology covers ------------------------------------------------


def test_a_combined_apology_states_the_refund_owed_for_each_flight() -> None:
    customer = CustomerFactory.create()
    friday = resolved(title="Blizzard at LaGuardia, Friday")
    AffectedCustomerFactory.create(
        incident=friday,
        customer=customer,
        cancelled=True,
        flight_number="2183",
        origin="LGA",
        destination="DCA",
        flight_date=FRIDAY,
    )
    sweep_follow_ups(now=NOW)
    saturday = resolved(title="Blizzard at LaGuardia, Saturday")
    AffectedCustomerFactory.create(
        incident=saturday,
        customer=customer,
        cancelled=True,
        flight_number="2167",
        origin="LGA",
        destination="DCA",
        flight_date=SATURDAY,
    )

    assert sweep_follow_ups(now=NOW)["combined"] == 1

    (letter,) = Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT)
    body = letter.body_text
    assert "Because your flight UA 2183 was cancelled, " + REFUND in body
    assert "Because your flight UA 2167 was cancelled, " + REFUND in body
    # How the refund is paid is said once, after both flights, not repeated for each.
    assert body.count("Under the US Department of Transportation's refund rule") == 1
    assert body.index("UA 2167 was cancelled") < body.index("Under the US Department of Transportation's refund rule")
    codes = codes_of(customer=customer)
    assert len(codes) == 4
    assert all(code in body for code in codes)
    assert max(body.index("UA 2183 was cancelled"), body.index("UA 2167 was cancelled")) < min(
        body.index(code) for code in codes
    )  # everything the law owes comes before the vouchers
    assert letter.check_passed, letter.check_reasons


def test_the_preview_of_an_apology_is_the_letter_that_would_be_written() -> None:
    customer = CustomerFactory.create()
    friday, saturday = resolved(title="Friday"), resolved(title="Saturday")
    first = AffectedCustomerFactory.create(
        incident=friday, customer=customer, cancelled=True, flight_number="2183", flight_date=FRIDAY
    )
    AffectedCustomerFactory.create(
        incident=saturday,
        customer=customer,
        cancelled=False,
        delay_minutes=200,
        flight_number="2167",
        flight_date=SATURDAY,
    )
    vouchers_issue_for_incident(incident_id=friday.pk)
    vouchers_issue_for_incident(incident_id=saturday.pk)

    preview = letter_preview(affected_id=first.pk, kind=LetterKind.APOLOGY)
    letters_prepare(incident_id=friday.pk, kind=LetterKind.APOLOGY)

    written = Letter.objects.get(affected=first, kind=LetterKind.APOLOGY)
    assert preview.body_text == written.body_text
    assert "UA 2167 was more than 3 hours late" in preview.body_text
    assert all(code in preview.body_text for code in codes_of(customer=customer))
    assert preview.reasons == []
