from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.customers.models import Customer
from incidents.models import AffectedCustomer, Cause, Incident, IncidentKind, IncidentStatus
from vouchers.models import CompensationRule, Voucher


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    external_ref = factory.Sequence(lambda n: f"CUST-{n:07d}")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    language = "en"
    time_zone = "America/New_York"


class IncidentFactory(factory.django.DjangoModelFactory[Incident]):
    class Meta:
        model = Incident

    reference = factory.Sequence(lambda n: f"INC-20130208-{n + 1:04d}")
    title = factory.Sequence(lambda n: f"Blizzard cancellations, wave {n}")
    kind = IncidentKind.CANCELLATION
    cause = Cause.WEATHER
    status = IncidentStatus.DRAFT
    stations = "EWR"
    explanation = "A blizzard closed the runways at Newark from the early afternoon."
    next_update_due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=30))


class AffectedCustomerFactory(factory.django.DjangoModelFactory[AffectedCustomer]):
    class Meta:
        model = AffectedCustomer

    incident = factory.SubFactory(IncidentFactory)
    customer = factory.SubFactory(CustomerFactory)
    cancelled = True
    carrier = "UA"
    flight_number = factory.Sequence(lambda n: str(1000 + n % 8000))
    flight_date = dt.date(2013, 2, 8)
    origin = "EWR"
    destination = "ORD"
    booking_reference = factory.Sequence(lambda n: f"BK{n:04d}"[:6])


class LetterFactory(factory.django.DjangoModelFactory[Letter]):
    class Meta:
        model = Letter

    affected = factory.SubFactory(AffectedCustomerFactory)
    customer = factory.SelfAttribute("affected.customer")
    incident = factory.SelfAttribute("affected.incident")
    kind = LetterKind.APOLOGY
    subject = "We are sorry about your flight"
    body_text = "Dear customer"
    check_passed = True


class LetterTemplateFactory(factory.django.DjangoModelFactory[LetterTemplate]):
    class Meta:
        model = LetterTemplate

    kind = LetterKind.APOLOGY
    language = "en"
    subject = "About your flight {{ flight.label }}"
    body_text = "Dear {{ customer.greeting_name }},"


class CompensationRuleFactory(factory.django.DjangoModelFactory[CompensationRule]):
    class Meta:
        model = CompensationRule

    slug = factory.Sequence(lambda n: f"goodwill-{n}")
    name = factory.Sequence(lambda n: f"Goodwill {n}")
    amount = Decimal("150.00")
    currency = "USD"


class VoucherFactory(factory.django.DjangoModelFactory[Voucher]):
    class Meta:
        model = Voucher

    code = factory.Sequence(lambda n: f"TEST-{n:08d}")
    affected = factory.SubFactory(AffectedCustomerFactory)
    customer = factory.SelfAttribute("affected.customer")
    incident = factory.SelfAttribute("affected.incident")
    rule = factory.SubFactory(CompensationRuleFactory)
    amount = Decimal("150.00")
    currency = "USD"
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=365))
    reason = "Goodwill after the blizzard"


def paris_new_york_cancelled(*, incident: Incident, **overrides: Any) -> AffectedCustomer:
    """Air France CDG to JFK, cancelled on 1 June 2025: EU261's longest band (EUR 600) when the cause was within
    the carrier's control, and the US DOT refund, as the route touches the United States and the flight is after
    28 October 2024, when the rule came into force."""
    fields: dict[str, Any] = {
        "cancelled": True,
        "origin": "CDG",
        "destination": "JFK",
        "carrier": "AF",
        "flight_date": dt.date(2025, 6, 1),
    }
    return AffectedCustomerFactory.create(incident=incident, **(fields | overrides))
