"""The passengers of the disrupted flights, made up deterministically from a seed.

Pure: builds unsaved ``Customer`` and ``AffectedCustomer`` objects and never touches the database, so the
same seed can be generated twice and compared. Randomness comes only from one ``random.Random(seed)`` and
Faker instances seeded per instance; the module-level ``random`` and ``Faker.seed`` are shared global state.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from faker import Faker

from care.customers.models import ContactChannel, Customer, LoyaltyTier
from incidents.demo_data import DISRUPTION_DELAY_MINUTES, Flight
from incidents.models import AffectedCustomer

# Faker locale, the customer's language, and how often it occurs.
LOCALES = (("en_US", "en", 70), ("es_ES", "es", 10), ("fr_FR", "fr", 10), ("de_DE", "de", 10))
TIERS = ((LoyaltyTier.NONE, 60), (LoyaltyTier.SILVER, 25), (LoyaltyTier.GOLD, 11), (LoyaltyTier.PLATINUM, 4))
# New York area codes; 555-0100 to 555-0199 are the numbers reserved for fiction, so nobody real is called.
AREA_CODES = ("212", "646", "718", "917", "347", "201", "973", "914")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved by RFC 2606: mail goes nowhere
BOOKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0 or 1 to misread on the phone
HOME_TIME_ZONE = "America/New_York"
CONSENT_RATE = 0.85
DESTINATION_TIME_ZONE_RATE = 0.35
REBOOKED_RATE = 0.10  # of the passengers of a cancelled Friday flight
MISSED_CONNECTION_RATE = 0.15  # of the passengers delayed by an hour or more
OVERNIGHT_RATE = 0.60  # of the passengers of a cancelled evening flight
EVENING = 1700
NUMBERED_HANDLE_RATE = 0.5  # of e-mail handles with a number, as in jane.doe42
# Customers who gave the airline a phone number and no email (booked at the counter, by phone, through an agent),
# and customers who asked for notices by text: both hear from us by SMS.
PHONE_ONLY_RATE = 0.03
PREFERS_SMS_RATE = 0.02

StationDay = tuple[str, dt.date]


@dataclass
class DemoPlan:
    customers: list[Customer] = field(default_factory=list)
    # Each passenger row with the station-day whose incident it belongs to (the incident does not exist yet).
    passengers: list[tuple[StationDay, AffectedCustomer]] = field(default_factory=list)

    @property
    def customers_affected_twice(self) -> int:
        return len(self.passengers) - len(self.customers)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


class _Generator:
    def __init__(self, *, seed: int, time_zones: dict[str, str]) -> None:
        self.rng = random.Random(seed)
        # Its own stream: who is phone-only leaves every other draw (and so every other letter) as it was.
        self.contact_rng = random.Random(seed + 1_000_003)
        # Unweighted draws are five times faster (Faker recomputes the frequency table on every weighted draw),
        # and a demo needs plausible names, not census frequencies.
        self.fakers = {locale: Faker(locale, use_weighting=False) for locale, _, _ in LOCALES}
        for offset, faker in enumerate(self.fakers.values()):
            faker.seed_instance(seed + offset)
        self.time_zones = time_zones
        self.booking_references: set[str] = set()
        self.plan = DemoPlan()

    def customer(self, flight: Flight) -> Customer:
        rng = self.rng
        locale, language, _ = rng.choices(LOCALES, weights=[weight for *_, weight in LOCALES])[0]
        faker = self.fakers[locale]
        first, last = faker.first_name(), faker.last_name()
        handle = f"{_ascii(first) or 'guest'}.{_ascii(last) or 'traveller'}"
        if rng.random() < NUMBERED_HANDLE_RATE:
            handle += str(rng.randint(1, 99))
        time_zone = HOME_TIME_ZONE
        if rng.random() < DESTINATION_TIME_ZONE_RATE:
            time_zone = self.time_zones.get(flight.destination, HOME_TIME_ZONE)
        email = f"{handle}@{rng.choice(EMAIL_DOMAINS)}"
        contact = self.contact_rng.random()
        customer = Customer(
            external_ref=f"DEMO-{len(self.plan.customers) + 1:06d}",
            name=f"{first} {last}",
            preferred_name=first,
            email="" if contact < PHONE_ONLY_RATE else email,
            preferred_channel=(
                ContactChannel.SMS
                if PHONE_ONLY_RATE <= contact < PHONE_ONLY_RATE + PREFERS_SMS_RATE
                else ContactChannel.EMAIL
            ),
            phone=f"+1{rng.choice(AREA_CODES)}55501{rng.randrange(100):02d}",
            language=language,
            time_zone=time_zone,
            loyalty_tier=rng.choices([tier for tier, _ in TIERS], weights=[weight for _, weight in TIERS])[0],
            contact_consent=rng.random() < CONSENT_RATE,
        )
        self.plan.customers.append(customer)
        return customer

    def booking_reference(self) -> str:
        while True:
            reference = "".join(self.rng.choices(BOOKING_ALPHABET, k=6))
            if reference not in self.booking_references:
                self.booking_references.add(reference)
                return reference

    def board(self, flight: Flight, customer: Customer, booking_reference: str) -> AffectedCustomer:
        delay = flight.delay_minutes
        passenger = AffectedCustomer(
            customer=customer,
            cancelled=flight.cancelled,
            delay_minutes=delay,
            diverted=flight.diverted,
            missed_connection=not flight.cancelled
            and delay >= DISRUPTION_DELAY_MINUTES
            and self.rng.random() < MISSED_CONNECTION_RATE,
            overnight_stay=flight.cancelled
            and flight.scheduled_departure >= EVENING
            and self.rng.random() < OVERNIGHT_RATE,
            carrier=flight.carrier,
            flight_number=flight.number,
            flight_date=flight.date,
            origin=flight.origin,
            destination=flight.destination,
            scheduled_departure_at=flight.scheduled_departure_at,
            booking_reference=booking_reference,
        )
        self.plan.passengers.append(((flight.origin, flight.date), passenger))
        return passenger


def _rebooking_target(
    rng: random.Random,
    flight: Flight,
    next_day: Sequence[Flight],
    seats: dict[Flight, list[tuple[Customer, str]]],
    size: int,
) -> Flight | None:
    """A disrupted flight of the next day from the same airport with a free seat, same destination if possible."""
    free = [candidate for candidate in next_day if candidate.origin == flight.origin and len(seats[candidate]) < size]
    same_destination = [candidate for candidate in free if candidate.destination == flight.destination]
    candidates = same_destination or free
    return rng.choice(candidates) if candidates else None


def plan_passengers(
    *, flights: Sequence[Flight], time_zones: dict[str, str], passengers_per_flight: int, seed: int
) -> DemoPlan:
    """Every disrupted flight gets exactly ``passengers_per_flight`` passengers.

    About one in ten passengers of a cancelled flight on the first day was rebooked onto a disrupted flight
    of the second day and is disrupted again: the same customer (and booking reference) takes one of that
    flight's seats, so a customer appears in two incidents but never twice in one.
    """
    generator = _Generator(seed=seed, time_zones=time_zones)
    rng = generator.rng
    disrupted = [flight for flight in flights if flight.disrupted]
    first_day = min(flight.date for flight in disrupted)
    first = [flight for flight in disrupted if flight.date == first_day]
    second = [flight for flight in disrupted if flight.date != first_day]
    seats: dict[Flight, list[tuple[Customer, str]]] = {flight: [] for flight in second}
    for flight in first:
        for _ in range(passengers_per_flight):
            customer, reference = generator.customer(flight), generator.booking_reference()
            generator.board(flight, customer, reference)
            if flight.cancelled and rng.random() < REBOOKED_RATE:
                target = _rebooking_target(rng, flight, second, seats, passengers_per_flight)
                if target is not None:
                    seats[target].append((customer, reference))
    for flight in second:
        for customer, reference in seats[flight]:
            generator.board(flight, customer, reference)
        for _ in range(passengers_per_flight - len(seats[flight])):
            generator.board(flight, generator.customer(flight), generator.booking_reference())
    return generator.plan
