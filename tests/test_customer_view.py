"""The one-customer view: search, what the page shows, contact notes, the page-view trace, access, queries."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from care.briefings.models import ContactNote, CustomerPageView
from care.briefings.selectors import customer_search
from care.correspondence.models.letters import Letter, LetterEvent, LetterStatus
from incidents.models import Incident
from tests.factories import AffectedCustomerFactory, CustomerFactory, LetterFactory, UserFactory, VoucherFactory
from tests.factories_briefings import open_incident
from vouchers.codes import generate_code
from vouchers.models import Voucher, VoucherStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def passenger() -> Any:
    customer = CustomerFactory.create(
        name="Maria Fernández López", external_ref="CUST-0042", email="Maria.F@example.com", phone="+12125550199"
    )
    incident = open_incident(title="Blizzard at Newark")
    affected = AffectedCustomerFactory.create(
        customer=customer, incident=incident, booking_reference="QX7P2K", cancelled=True, flight_number="1545"
    )
    code = generate_code()
    voucher = VoucherFactory.create(
        affected=affected, code=code, amount=Decimal("150.00"), redeemed_amount=Decimal("40.00")
    )
    letter = LetterFactory.create(
        affected=affected, kind="initial_notice", status=LetterStatus.DELIVERED, sent_at=timezone.now()
    )
    LetterEvent.objects.create(
        letter=letter, esp_name="postmark", event_id="e1", event_type="delivered", occurred_at=timezone.now()
    )
    return {"customer": customer, "incident": incident, "affected": affected, "voucher": voucher, "letter": letter}


# --- Search --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "how"),
    [
        ("CUST-0042", "customer reference"),
        ("cust-0042", "customer reference"),
        ("maria.f@EXAMPLE.com", "email"),
        ("+1 (212) 555-0199", "phone"),
        ("12125550199", "phone"),
        ("qx7p2k", "booking reference"),
        (" QX7P2K ", "booking reference"),
        ("maria", "name"),
        ("fernández", "name"),
        ("MARIA FERN", "name"),
    ],
)
def test_search_finds_the_customer_by_any_detail(passenger: Any, typed: str, how: str) -> None:
    CustomerFactory.create(name="Someone Else", external_ref="CUST-0099")
    result = customer_search(typed)
    assert [customer.pk for customer in result.customers] == [passenger["customer"].pk]
    assert how.split(maxsplit=1)[0] in result.matched_by


@pytest.mark.parametrize(
    "shape",
    [
        lambda code: code,
        lambda code: code.lower(),
        lambda code: code.replace("-", " "),
        lambda code: code.replace("-", "").lower(),
        lambda code: " ".join(code.replace("-", "")).lower(),
        lambda code: code.replace("-", " - "),
    ],
)
def test_search_by_voucher_code_forgives_case_spaces_and_dashes(passenger: Any, shape: Any) -> None:
    VoucherFactory.create(code=generate_code())  # someone else's voucher
    typed = shape(passenger["voucher"].code)
    result = customer_search(typed)
    assert [customer.pk for customer in result.customers] == [passenger["customer"].pk], typed
    assert result.matched_by == "voucher code"


def test_a_mistyped_voucher_code_says_so(passenger: Any) -> None:
    code = passenger["voucher"].code
    # Swap two different adjacent symbols: the check symbol catches every transposition.
    symbols = code.replace("-", "")
    i = next(i for i in range(len(symbols) - 1) if symbols[i] != symbols[i + 1])
    swapped = symbols[:i] + symbols[i + 1] + symbols[i] + symbols[i + 2 :]
    result = customer_search(swapped)
    assert result.customers == []
    assert "typing mistake" in result.voucher_note


def test_search_page_goes_straight_to_a_single_match_and_lists_several(rep_client: Client, passenger: Any) -> None:
    response = rep_client.get(reverse("briefings:customer_search"), {"q": "qx7p2k"})
    assert response.status_code == 302
    assert response["Location"] == reverse("briefings:customer", args=[passenger["customer"].pk])
    CustomerFactory.create(name="Maria Other")
    listing = rep_client.get(reverse("briefings:customer_search"), {"q": "maria"})
    assert listing.status_code == 200
    assert b"2 customers found by name" in listing.content


def test_search_with_no_match_or_nonsense_is_a_calm_page(rep_client: Client, passenger: Any) -> None:
    for typed in ("nobody-here", "'; DROP TABLE care_customer; --", "%", "\u0131" * 17):
        response = rep_client.get(reverse("briefings:customer_search"), {"q": typed})
        assert response.status_code == 200, typed
        assert b"No customer found" in response.content
    assert rep_client.get(reverse("briefings:customer_search"), {"q": "x" * 500}).status_code == 400
    empty = rep_client.get(reverse("briefings:customer_search"))
    assert empty.status_code == 200
    assert b'<label for="id_q">' in empty.content


# --- The customer's page -------------------------------------------------------------------------------------


def test_the_customer_page_shows_incidents_impact_entitlements_letters_vouchers_and_promises(
    rep_client: Client, passenger: Any
) -> None:
    response = rep_client.get(reverse("briefings:customer", args=[passenger["customer"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    voucher: Voucher = passenger["voucher"]
    incident: Incident = passenger["incident"]
    for text in (
        "Maria Fernández López",
        "CUST-0042",
        incident.reference,
        "Blizzard at Newark",
        "UA 1545",
        "QX7P2K",
        "Cancelled",  # impact
        "Initial notice",
        "Delivered",
        "delivered ·",  # the delivery event
        voucher.code,
        "150.00 USD",
        "110.00 USD",  # balance
        "Valid",
        "What we have promised",
        "Next update on",
    ):
        assert text in html, text
    overview = response.context["overview"]
    [row] = overview.affected
    assert row.entitlements, "the vouchers app should say what a cancelled passenger is owed"
    assert all(line.text in html for line in row.entitlements)


def test_an_expired_or_void_voucher_is_not_shown_as_valid(rep_client: Client, passenger: Any) -> None:
    Voucher.objects.filter(pk=passenger["voucher"].pk).update(
        issued_at=timezone.now() - dt.timedelta(days=400), expires_at=timezone.now() - dt.timedelta(days=1)
    )
    void = VoucherFactory.create(affected=passenger["affected"], code=generate_code(), status=VoucherStatus.VOID)
    html = rep_client.get(reverse("briefings:customer", args=[passenger["customer"].pk])).content.decode()
    assert "Expired" in html
    assert "Void" in html
    assert void.code in html
    assert '<span class="tag tag--ok">Valid</span>' not in html


def test_every_view_of_a_customer_page_is_logged(rep_client: Client, rep: Any, passenger: Any) -> None:
    url = reverse("briefings:customer", args=[passenger["customer"].pk])
    rep_client.get(url)
    rep_client.get(url)
    views = list(CustomerPageView.objects.filter(customer=passenger["customer"]))
    assert [view.viewer_id for view in views] == [rep.pk, rep.pk]


def test_an_unknown_customer_is_404_and_logs_nothing(rep_client: Client) -> None:
    assert rep_client.get(reverse("briefings:customer", args=[999999])).status_code == 404
    assert not CustomerPageView.objects.exists()


def test_customer_pages_are_refused_to_anonymous_and_outsiders(client: Client, passenger: Any) -> None:
    url = reverse("briefings:customer", args=[passenger["customer"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("briefings:login"))
    client.force_login(UserFactory.create(username="outsider", is_staff=True))
    assert client.get(url).status_code == 403
    assert client.post(reverse("briefings:contact_note_create", args=[passenger["customer"].pk]), {}).status_code == 403
    assert not CustomerPageView.objects.exists()
    assert b"Maria" not in client.get(url).content


def test_the_coordinator_sees_the_page_too(coordinator_client: Client, passenger: Any) -> None:
    response = coordinator_client.get(reverse("briefings:customer", args=[passenger["customer"].pk]))
    assert response.status_code == 200
    assert b"Coordinator's workbench" in response.content


# --- Contact notes -------------------------------------------------------------------------------------------


def test_a_rep_adds_a_contact_note_that_the_coordinator_sees_in_the_admin(
    rep_client: Client, coordinator_client: Client, rep: Any, passenger: Any
) -> None:
    customer = passenger["customer"]
    promised_by = (timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = rep_client.post(
        reverse("briefings:contact_note_create", args=[customer.pk]),
        {
            "text": "Called about the cancelled flight; explained the refund.",
            "promise": "Call back with the new flight",
            "promised_by": promised_by,
            "incident": str(passenger["incident"].pk),
        },
    )
    assert response.status_code == 302
    note = ContactNote.objects.get()
    assert (note.author, note.customer, note.incident) == (rep, customer, passenger["incident"])
    assert note.promise == "Call back with the new flight"
    page = rep_client.get(response["Location"]).content.decode()
    assert "Called about the cancelled flight" in page
    assert "promised “Call back with the new flight”" in page
    admin_page = coordinator_client.get(reverse("admin:care_customer_change", args=[customer.pk])).content.decode()
    assert "contact notes from frontline reps" in admin_page.lower()
    assert "Called about the cancelled flight" in admin_page
    notes_list = coordinator_client.get(reverse("admin:care_contactnote_changelist"))
    assert notes_list.status_code == 200
    assert b"Call back with the new flight" in notes_list.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": ""}, b"This field is required."),
        ({"text": "   "}, b"This field is required."),
        (
            {"text": "ok", "promised_by": "2013-02-08T10:00", "promise": "call"},
            b"A promise must be for a time still ahead.",
        ),
        ({"text": "ok", "promised_by": "2099-01-01T10:00"}, b"Say what was promised by that time."),
        ({"text": "ok", "promised_by": "tomorrow"}, b"Enter a valid date/time."),
        ({"text": "ok", "incident": "999999"}, b"Select a valid choice."),
        ({"text": "x" * 6000}, b"at most 5000 characters"),
    ],
)
def test_a_bad_contact_note_is_refused_with_a_reason_and_saves_nothing(
    rep_client: Client, passenger: Any, data: dict[str, str], message: bytes
) -> None:
    response = rep_client.post(reverse("briefings:contact_note_create", args=[passenger["customer"].pk]), data)
    assert response.status_code == 400
    assert message in response.content
    assert not ContactNote.objects.exists()


def test_a_note_about_an_incident_that_did_not_affect_the_customer_is_refused(
    rep_client: Client, passenger: Any
) -> None:
    other = open_incident()
    response = rep_client.post(
        reverse("briefings:contact_note_create", args=[passenger["customer"].pk]),
        {"text": "ok", "incident": str(other.pk)},
    )
    assert response.status_code == 400
    assert not ContactNote.objects.exists()


def test_a_note_for_an_unknown_customer_is_404(rep_client: Client) -> None:
    assert rep_client.post(reverse("briefings:contact_note_create", args=[999999]), {"text": "x"}).status_code == 404
    assert not ContactNote.objects.exists()


def test_no_personal_data_in_the_logs(rep_client: Client, passenger: Any, caplog: pytest.LogCaptureFixture) -> None:
    customer = passenger["customer"]
    with caplog.at_level(logging.DEBUG):
        rep_client.get(reverse("briefings:customer", args=[customer.pk]))
        rep_client.post(
            reverse("briefings:contact_note_create", args=[customer.pk]), {"text": "Spoke to Maria about her bags."}
        )
        rep_client.get(reverse("briefings:customer_search"), {"q": customer.email})
    assert ContactNote.objects.count() == 1
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("django.db"))
    for personal in (customer.name, "Maria", customer.email, customer.phone, "bags"):
        assert personal not in logged


# --- Reps cannot change letters, vouchers or incidents -------------------------------------------------------


def test_a_rep_cannot_change_letters_vouchers_or_incidents(rep_client: Client, passenger: Any) -> None:
    letter: Letter = passenger["letter"]
    voucher: Voucher = passenger["voucher"]
    incident: Incident = passenger["incident"]
    targets = [
        (reverse("admin:care_letter_change", args=[letter.pk]), {"subject": "changed"}),
        (reverse("admin:vouchers_voucher_change", args=[voucher.pk]), {"reason": "changed"}),
        (reverse("admin:incidents_incident_change", args=[incident.pk]), {"title": "changed"}),
        (reverse("admin:care_contactnote_add"), {"text": "via admin"}),
    ]
    for url, data in targets:
        assert rep_client.post(url, data).status_code == 403, url
    letter.refresh_from_db()
    voucher.refresh_from_db()
    incident.refresh_from_db()
    assert letter.subject != "changed"
    assert voucher.reason != "changed"
    assert incident.title != "changed"
    assert not ContactNote.objects.exists()
    # And the frontline page offers no way to change them: its only form is the contact note.
    html = rep_client.get(reverse("briefings:customer", args=[passenger["customer"].pk])).content.decode()
    assert html.count("<form") == 2  # log out, contact note
    assert reverse("briefings:contact_note_create", args=[passenger["customer"].pk]) in html


# --- Queries -------------------------------------------------------------------------------------------------


def test_a_customer_with_20_incidents_and_200_letters_renders_in_a_bounded_number_of_queries(
    rep_client: Client, django_assert_max_num_queries: Any
) -> None:
    customer = CustomerFactory.create()
    letters = []
    for n in range(20):
        affected = AffectedCustomerFactory.create(customer=customer, incident=open_incident(), delay_minutes=200 + n)
        VoucherFactory.create(affected=affected, code=generate_code())
        letters += [
            Letter(customer=customer, incident=affected.incident, affected=affected, kind="update", sequence=s + 1)
            for s in range(10)
        ]
    Letter.objects.bulk_create(letters)
    LetterEvent.objects.bulk_create(
        LetterEvent(letter=letter, esp_name="postmark", event_id=f"ev-{letter.pk}-{k}", event_type="delivered")
        for letter in Letter.objects.filter(customer=customer)
        for k in range(2)
    )
    ContactNote.objects.bulk_create(
        ContactNote(customer=customer, author=UserFactory.create(username=f"author{n}"), text="x") for n in range(5)
    )
    with django_assert_max_num_queries(20) as captured:
        response = rep_client.get(reverse("briefings:customer", args=[customer.pk]))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert (len(overview.affected), len(overview.letters), len(overview.vouchers)) == (20, 200, 20)
    assert response.content.decode().count("<li>delivered") == 400
    # Half the history gives the same count: nothing grows with the rows.
    other = CustomerFactory.create()
    small = AffectedCustomerFactory.create(customer=other, incident=open_incident())
    LetterFactory.create(affected=small)
    with django_assert_max_num_queries(len(captured.captured_queries)):
        rep_client.get(reverse("briefings:customer", args=[other.pk]))
