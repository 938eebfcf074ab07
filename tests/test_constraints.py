"""The database itself refuses rows that break the domain's rules.

Every refusal is provoked with a plain ``save()`` or queryset ``update()`` (no
``full_clean``), inside ``transaction.atomic()`` so the test can re-read the
table afterwards and show that nothing was written. These are plain CHECK and
(partial) UNIQUE constraints, so they run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.customers.models import Customer, SuppressionReason
from incidents.models import MAX_DELAY_MINUTES, AffectedCustomer, Incident, IncidentStatus
from tests.factories import (
    AffectedCustomerFactory,
    CompensationRuleFactory,
    CustomerFactory,
    IncidentFactory,
    LetterFactory,
    LetterTemplateFactory,
    VoucherFactory,
)
from vouchers.models import Voucher, VoucherStatus

pytestmark = pytest.mark.django_db


# --- Letters -------------------------------------------------------------------------------------


def test_same_letter_twice_for_one_affected_customer_is_refused() -> None:
    affected = AffectedCustomerFactory.create()
    first = LetterFactory.create(affected=affected, kind=LetterKind.APOLOGY, sequence=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterFactory.create(affected=affected, kind=LetterKind.APOLOGY, sequence=1)

    assert list(Letter.objects.values_list("pk", flat=True)) == [first.pk]


def test_numbered_updates_for_one_affected_customer_are_accepted() -> None:
    affected = AffectedCustomerFactory.create()

    LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=1)
    LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=2)

    assert sorted(Letter.objects.filter(affected=affected).values_list("kind", "sequence")) == [
        (LetterKind.UPDATE, 1),
        (LetterKind.UPDATE, 2),
    ]


def test_same_update_number_twice_is_refused() -> None:
    affected = AffectedCustomerFactory.create()
    LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=1)
    LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=2)

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=2)

    assert Letter.objects.filter(affected=affected).count() == 2


def test_same_kind_and_sequence_for_two_affected_customers_is_accepted() -> None:
    incident = IncidentFactory.create()
    first, second = AffectedCustomerFactory.create_batch(2, incident=incident)

    LetterFactory.create(affected=first, kind=LetterKind.APOLOGY)
    LetterFactory.create(affected=second, kind=LetterKind.APOLOGY)

    assert Letter.objects.filter(incident=incident, kind=LetterKind.APOLOGY).count() == 2


def test_letters_outside_an_incident_are_not_deduplicated() -> None:
    # The uniqueness is partial (affected IS NOT NULL): a rep may write the same customer twice by hand.
    customer = CustomerFactory.create()

    LetterFactory.create(affected=None, customer=customer, incident=None, kind=LetterKind.MANUAL)
    LetterFactory.create(affected=None, customer=customer, incident=None, kind=LetterKind.MANUAL)

    assert Letter.objects.filter(customer=customer, kind=LetterKind.MANUAL).count() == 2


def test_letter_sequence_zero_is_refused() -> None:
    affected = AffectedCustomerFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterFactory.create(affected=affected, kind=LetterKind.UPDATE, sequence=0)

    assert not Letter.objects.exists()


# --- Vouchers ------------------------------------------------------------------------------------


def test_same_voucher_from_one_rule_twice_for_one_affected_customer_is_refused() -> None:
    affected = AffectedCustomerFactory.create()
    rule = CompensationRuleFactory.create()
    first = VoucherFactory.create(affected=affected, rule=rule, sequence=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherFactory.create(affected=affected, rule=rule, sequence=1)

    assert list(Voucher.objects.values_list("pk", flat=True)) == [first.pk]


def test_numbered_vouchers_and_other_rules_for_one_affected_customer_are_accepted() -> None:
    affected = AffectedCustomerFactory.create()
    rule = CompensationRuleFactory.create(voucher_count=2)

    VoucherFactory.create(affected=affected, rule=rule, sequence=1)
    VoucherFactory.create(affected=affected, rule=rule, sequence=2)
    VoucherFactory.create(affected=affected, rule=CompensationRuleFactory.create(), sequence=1)

    assert Voucher.objects.filter(affected=affected).count() == 3


def test_vouchers_without_a_rule_are_not_deduplicated() -> None:
    # Goodwill issued by hand has no rule; the rule+sequence uniqueness does not apply to it.
    affected = AffectedCustomerFactory.create()

    VoucherFactory.create(affected=affected, rule=None, sequence=1)
    VoucherFactory.create(affected=affected, rule=None, sequence=1)

    assert Voucher.objects.filter(affected=affected, rule=None).count() == 2


def test_duplicate_voucher_code_is_refused() -> None:
    VoucherFactory.create(code="SNOW-0001")

    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherFactory.create(code="SNOW-0001")

    assert Voucher.objects.filter(code="SNOW-0001").count() == 1


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-0.01"), Decimal("-150.00")])
def test_voucher_amount_must_be_positive(amount: Decimal) -> None:
    affected = AffectedCustomerFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherFactory.create(affected=affected, amount=amount)

    assert not Voucher.objects.exists()


def test_smallest_positive_voucher_amount_is_accepted() -> None:
    voucher = VoucherFactory.create(amount=Decimal("0.01"))

    assert Voucher.objects.get(pk=voucher.pk).amount == Decimal("0.01")


@pytest.mark.parametrize("redeemed", [Decimal("150.01"), Decimal("-0.01")])
def test_redeemed_amount_outside_zero_to_amount_is_refused(redeemed: Decimal) -> None:
    voucher = VoucherFactory.create(amount=Decimal("150.00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.filter(pk=voucher.pk).update(redeemed_amount=redeemed)

    assert Voucher.objects.get(pk=voucher.pk).redeemed_amount == Decimal("0")


def test_redeeming_the_whole_amount_is_accepted() -> None:
    voucher = VoucherFactory.create(amount=Decimal("150.00"))

    Voucher.objects.filter(pk=voucher.pk).update(redeemed_amount=Decimal("150.00"))

    assert Voucher.objects.get(pk=voucher.pk).balance == Decimal("0")


@pytest.mark.parametrize("validity", [dt.timedelta(0), -dt.timedelta(seconds=1), -dt.timedelta(days=1)])
def test_voucher_must_expire_after_it_is_issued(validity: dt.timedelta) -> None:
    issued_at = timezone.now()
    affected = AffectedCustomerFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherFactory.create(affected=affected, issued_at=issued_at, expires_at=issued_at + validity)

    assert not Voucher.objects.exists()


def test_voucher_expiring_a_second_after_issue_is_accepted() -> None:
    issued_at = timezone.now()

    voucher = VoucherFactory.create(issued_at=issued_at, expires_at=issued_at + dt.timedelta(seconds=1))

    assert Voucher.objects.filter(pk=voucher.pk).exists()


# --- Affected customers and customers --------------------------------------------------------------


def test_same_customer_twice_on_one_flight_of_an_incident_is_refused() -> None:
    first = AffectedCustomerFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        AffectedCustomerFactory.create(
            incident=first.incident,
            customer=first.customer,
            carrier=first.carrier,
            flight_number=first.flight_number,
            flight_date=first.flight_date,
        )

    assert list(AffectedCustomer.objects.values_list("pk", flat=True)) == [first.pk]


def test_same_customer_on_two_flights_of_an_incident_is_accepted() -> None:
    """Booking legs (issue 18): rebooked from a cancelled flight onto another that was disrupted too."""
    first = AffectedCustomerFactory.create(flight_number="10")

    second = AffectedCustomerFactory.create(incident=first.incident, customer=first.customer, flight_number="20")

    assert AffectedCustomer.objects.filter(incident=first.incident, customer=first.customer).count() == 2
    assert second.pk != first.pk


def test_same_customer_on_two_incidents_is_accepted() -> None:
    customer = CustomerFactory.create()

    AffectedCustomerFactory.create(customer=customer)
    AffectedCustomerFactory.create(customer=customer)

    assert AffectedCustomer.objects.filter(customer=customer).values("incident").distinct().count() == 2


def test_delay_up_to_a_week_is_accepted() -> None:
    affected = AffectedCustomerFactory.create(delay_minutes=MAX_DELAY_MINUTES)

    assert AffectedCustomer.objects.get(pk=affected.pk).delay_minutes == 7 * 24 * 60


def test_delay_beyond_a_week_is_refused() -> None:
    incident = IncidentFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        AffectedCustomerFactory.create(incident=incident, delay_minutes=MAX_DELAY_MINUTES + 1)

    assert not AffectedCustomer.objects.exists()


def test_delay_beyond_a_week_is_refused_on_update() -> None:
    affected = AffectedCustomerFactory.create(delay_minutes=90)

    with pytest.raises(IntegrityError), transaction.atomic():
        AffectedCustomer.objects.filter(pk=affected.pk).update(delay_minutes=MAX_DELAY_MINUTES + 1)

    assert AffectedCustomer.objects.get(pk=affected.pk).delay_minutes == 90


def test_duplicate_customer_reference_is_refused() -> None:
    CustomerFactory.create(external_ref="FF-1234567")

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory.create(external_ref="FF-1234567")

    assert Customer.objects.filter(external_ref="FF-1234567").count() == 1


@pytest.mark.parametrize(
    ("suppressed", "reason"),
    [
        pytest.param(True, "", id="suppressed-without-reason"),
        pytest.param(False, SuppressionReason.HARD_BOUNCE, id="reason-without-suppression"),
    ],
)
def test_suppression_and_its_reason_go_together(suppressed: bool, reason: str) -> None:
    suppressed_at = timezone.now() if suppressed else None

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory.create(suppressed_at=suppressed_at, suppression_reason=reason)

    assert not Customer.objects.exists()


def test_suppressed_customer_with_reason_is_accepted() -> None:
    customer = CustomerFactory.create(suppressed_at=timezone.now(), suppression_reason=SuppressionReason.COMPLAINT)

    assert Customer.objects.get(pk=customer.pk).is_suppressed


def test_clearing_only_the_suppression_reason_is_refused() -> None:
    suppressed_at = timezone.now()
    customer = CustomerFactory.create(suppressed_at=suppressed_at, suppression_reason=SuppressionReason.OPT_OUT)

    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(suppression_reason="")

    assert Customer.objects.values_list("suppressed_at", "suppression_reason").get(pk=customer.pk) == (
        suppressed_at,
        SuppressionReason.OPT_OUT,
    )


# --- Letter templates ------------------------------------------------------------------------------


@pytest.fixture
def no_templates() -> None:
    # The data migration installs the default templates; these tests start from an empty table.
    LetterTemplate.objects.all().delete()


@pytest.mark.usefixtures("no_templates")
def test_two_active_templates_for_one_kind_and_language_are_refused() -> None:
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=1, is_active=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=2, is_active=True)

    assert list(LetterTemplate.objects.values_list("version", flat=True)) == [1]


@pytest.mark.usefixtures("no_templates")
def test_inactive_second_version_and_other_languages_are_accepted() -> None:
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=1, is_active=True)
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=2, is_active=False)
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="fr", version=1, is_active=True)
    LetterTemplateFactory.create(kind=LetterKind.UPDATE, language="en", version=1, is_active=True)

    assert LetterTemplate.objects.filter(kind=LetterKind.APOLOGY, language="en").count() == 2
    assert LetterTemplate.objects.filter(is_active=True).count() == 3


@pytest.mark.usefixtures("no_templates")
def test_activating_a_second_version_while_the_first_is_active_is_refused() -> None:
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=1, is_active=True)
    draft = LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=2, is_active=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterTemplate.objects.filter(pk=draft.pk).update(is_active=True)

    assert list(LetterTemplate.objects.filter(is_active=True).values_list("version", flat=True)) == [1]


@pytest.mark.usefixtures("no_templates")
def test_same_template_version_twice_is_refused_even_inactive() -> None:
    LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=1, is_active=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        LetterTemplateFactory.create(kind=LetterKind.APOLOGY, language="en", version=1, is_active=False)

    assert LetterTemplate.objects.count() == 1


# --- Status values and ranges ----------------------------------------------------------------------


def _incident() -> Any:
    return IncidentFactory.create()


def _letter() -> Any:
    return LetterFactory.create()


def _voucher() -> Any:
    return VoucherFactory.create()


@pytest.mark.parametrize(
    ("make", "model", "valid_status"),
    [
        pytest.param(_incident, Incident, IncidentStatus.DRAFT, id="incident"),
        pytest.param(_letter, Letter, "draft", id="letter"),
        pytest.param(_voucher, Voucher, VoucherStatus.ISSUED, id="voucher"),
    ],
)
@pytest.mark.parametrize("bogus", ["reopened", "", "DRAFT"])
def test_unknown_status_via_queryset_update_is_refused(
    make: Any, model: type[models.Model], valid_status: str, bogus: str
) -> None:
    row = make()

    with pytest.raises(IntegrityError), transaction.atomic():
        model._default_manager.filter(pk=row.pk).update(status=bogus)

    assert model._default_manager.filter(pk=row.pk).values_list("status", flat=True).get() == valid_status


@pytest.mark.parametrize("severity", [0, 5])
def test_incident_severity_outside_one_to_four_is_refused(severity: int) -> None:
    incident = IncidentFactory.create(severity=2)

    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(severity=severity)

    assert Incident.objects.get(pk=incident.pk).severity == 2
