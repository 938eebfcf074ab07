"""Issue 14's Done-when, on PostgreSQL: the demo's two days (8 and 9 February 2013, the blizzard) replayed through the
flight status feed alone, no import file at all.

The reservation system has recorded who is on which flight (the demo's passengers, as bookings); the operations
system then sends the days' status events (incidents.demo_data.day_events: each flight evolving from its real
departure delay), minute by minute on the test's clock, and what a beat runs each minute runs after each step. It
must open the blizzard incidents by itself (detection: one per station and day), tell every passenger within 5
minutes of their flight's disruption, tell again exactly the passengers whose flight got worse since, once per
worsening and within 5 minutes; a passenger whose delay grew from 70-odd to 200-odd minutes ends with the 3-hour
voucher, not both; and the same events sent again change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from care.core.actors import SystemActor
from care.correspondence.models.letters import Letter, LetterKind
from care.operations.demo_export import demo_booking_rows
from care.operations.detection import detection_sweep
from care.operations.sweeps import sweep_first_notices, sweep_kept_promises
from incidents.bookings import bookings_record
from incidents.demo_data import read_flights
from incidents.demo_data.day_events import day_events, shuffled_with_repeats
from incidents.flight_feed import flight_events_apply, outcome_counts
from incidents.flights import impact_worsened
from incidents.models import AffectedCustomer, Booking, ImportJob, Incident, IncidentStatus
from incidents.replay import replay_run
from tests.clock import Clock
from tests.test_streams import _eager_celery_and_outbox  # noqa: F401 - autouse: tasks inline, mail to the outbox
from vouchers.models import Voucher, VoucherStatus
from vouchers.services import vouchers_issue_for_incident

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FRIDAY, SATURDAY = dt.date(2013, 2, 8), dt.date(2013, 2, 9)
STATIONS = {"EWR", "JFK", "LGA"}
SOURCE = "operations"
FEED = SystemActor("replay test: operations system")
WITHIN = dt.timedelta(minutes=5)
HOOKS = (
    ("detection", detection_sweep),
    ("first notices", sweep_first_notices),
    ("kept promises", sweep_kept_promises),
)
Key = tuple[str, str, str, str]  # carrier, number, date, origin
Impact = tuple[int, bool, bool]


def _key(event: dict[str, Any]) -> Key:
    return (event["carrier"], event["flight_number"], event["flight_date"], event["origin"])


def _impact(event: dict[str, Any]) -> Impact:
    return (int(event["delay_minutes"] or 0), event["status"] == "cancelled", event["status"] == "diverted")


def _at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["occurred_at"])


def _disrupting(impact: Impact) -> bool:
    return impact[1] or impact[2] or impact[0] >= 60  # the default rule's delay


def timelines(events: list[dict[str, Any]]) -> dict[Key, list[tuple[dt.datetime, Impact]]]:
    """Each flight's impact as the events move it, worked out from the events alone (not from what we stored)."""
    moves: dict[Key, list[tuple[dt.datetime, Impact]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (_at(e), e["event_id"])):
        impact = _impact(event)
        if event["status"] in ("departed", "arrived"):
            impact = (impact[0], False, False)
        if not moves[_key(event)] or moves[_key(event)][-1][1] != impact:
            moves[_key(event)].append((_at(event), impact))
    return moves


def impact_at(timeline: list[tuple[dt.datetime, Impact]], moment: dt.datetime) -> Impact:
    current: Impact = (0, False, False)
    for at, impact in timeline:
        if at > moment:
            break
        current = impact
    return current


def row_key(row: AffectedCustomer) -> Key:
    return (row.carrier, row.flight_number, row.flight_date.isoformat(), row.origin)


@contextmanager
def on_the_step(clock: Clock, capture: Any, moment: dt.datetime) -> Iterator[None]:
    """The test's clock at the step's moment, and what the step publishes after commit run as a worker would."""
    clock.at(moment)
    with capture(execute=True):
        yield


def test_the_blizzard_days_through_the_feed_alone(clock: Clock, django_capture_on_commit_callbacks: Any) -> None:
    flights = [flight for flight in read_flights() if flight.origin in STATIONS]
    events = day_events(flights=flights)
    moves = timelines(events)
    first, last = _at(events[0]), _at(events[-1])
    # Before the days: the reservation system's manifest (a passenger on each flight the days disrupted; some of
    # Friday's rebooked onto Saturday, some on flights from two stations).
    clock.at(first - dt.timedelta(hours=1))
    rows = demo_booking_rows(days=[FRIDAY, SATURDAY], passengers_per_flight=1)
    booked = bookings_record(rows=rows, source="reservations", actor=SystemActor("reservation system"))
    assert booked.counts["rejected"] == 0
    assert Booking.objects.count() == len(rows)

    # A passenger told "about an hour" who ends past three: DL 2003 from LaGuardia (102 minutes first, 273 last).
    dl2003 = ("DL", "2003", FRIDAY.isoformat(), "LGA")
    early_estimate = next(at for at, impact in moves[dl2003] if 60 <= impact[0] < 180)
    worse_estimate = next(at for at, impact in moves[dl2003] if impact[0] >= 180)
    issued_early: dict[int, str] = {}
    for report in replay_run(
        events, start=first, end=last + dt.timedelta(minutes=10), step=dt.timedelta(minutes=1), source=SOURCE,
        actor=FEED, hooks=HOOKS,
        clock=lambda moment: on_the_step(clock, django_capture_on_commit_callbacks, moment),
    ):  # fmt: skip
        if early_estimate + dt.timedelta(minutes=10) <= report.moment < worse_estimate and not issued_early:
            # A coordinator gives the LaGuardia passengers their goodwill early, while DL 2003 is at its first estimate.
            with on_the_step(clock, django_capture_on_commit_callbacks, report.moment):
                incident = Incident.objects.get(flight_links__flight__carrier="DL", flight_links__flight__number="2003")
                vouchers_issue_for_incident(incident_id=incident.pk, actor_label="coordinator")
            early = Voucher.objects.filter(affected__carrier="DL", affected__flight_number="2003")
            assert {(voucher.rule and voucher.rule.slug, voucher.amount) for voucher in early} == {("delay", 50)}
            issued_early = {voucher.affected_id or 0: voucher.code for voucher in early}
    assert ImportJob.objects.count() == 0  # no file at all

    # The blizzard incidents, opened by detection: one per station, open, covering every booked passenger.
    incidents = list(Incident.objects.order_by("started_at", "stations"))
    assert [(incident.stations, incident.started_at.date(), incident.status) for incident in incidents] == [
        (station, day, IncidentStatus.OPEN) for day in (FRIDAY, SATURDAY) for station in sorted(STATIONS)
    ]
    # Every passenger booked on a flight the events disrupted (the demo also counts flights that left on time and
    # landed an hour late: the feed's delay is the departure's, and nobody is told before they land).
    affected = list(AffectedCustomer.objects.select_related("customer"))
    disrupted_keys = {key for key, timeline in moves.items() if any(_disrupting(impact) for _at, impact in timeline)}
    expected = {
        (row["customer_ref"], key)
        for row in rows
        if (key := (row["carrier"], row["flight_number"], row["flight_date"], row["origin"])) in disrupted_keys
    }
    assert len(expected) > len(rows) * 0.8  # nearly all: the blizzard cancelled half the day
    assert {(row.customer.external_ref, row_key(row)) for row in affected} == expected

    # Every passenger told within 5 minutes of their flight's disruption (its first cancellation, diversion or delay
    # of an hour or more, as the events say).
    for row in affected:
        disrupted = next(at for at, impact in moves[row_key(row)] if _disrupting(impact))
        assert row.first_contacted_at is not None, row_key(row)
        assert disrupted <= row.first_contacted_at <= disrupted + WITHIN, (row_key(row), disrupted)

    # Told again, within 5 minutes, each time their flight got worse after that; the impact updates go to nobody else.
    updates = defaultdict(list)
    for affected_id, created_at in Letter.objects.filter(kind=LetterKind.UPDATE).values_list(
        "affected_id", "created_at"
    ):
        updates[affected_id].append(created_at)
    worsened_customers = set()
    for row in affected:
        timeline = moves[row_key(row)]
        assert row.first_contacted_at is not None
        for at, impact in timeline:
            if at <= row.first_contacted_at or not impact_worsened(
                old=impact_at(timeline, at - dt.timedelta(seconds=1)), new=impact
            ):
                continue
            worsened_customers.add(row.customer_id)
            assert any(at <= created <= at + WITHIN for created in updates[row.pk]), (row_key(row), at)
    told_of_a_change = set(Letter.objects.filter(batch__for_impact_change=True).values_list("customer_id", flat=True))
    assert told_of_a_change  # the day has flights that got worse after their passengers were first told
    assert told_of_a_change <= worsened_customers

    # DL 2003's passengers: the early voucher (1 hour or more, 50) became the 3-hour one (150), same code, not both.
    assert issued_early, "the coordinator issued early"
    for incident in incidents:
        vouchers_issue_for_incident(incident_id=incident.pk, actor_label="coordinator")
    for affected_id, code in issued_early.items():
        held = {
            voucher.code: (voucher.rule and voucher.rule.slug, voucher.amount)
            for voucher in Voucher.objects.filter(affected_id=affected_id).exclude(status=VoucherStatus.VOID)
        }
        assert held[code] == ("long-delay", 150)
        # Not both: nothing left of the 1-hour rule (an uplift for a Gold member, say, comes on top as the policy says).
        assert "delay" not in {slug for slug, _amount in held.values()}
        assert {slug for slug, _amount in held.values()} <= {"long-delay", "loyalty-uplift"}

    # The same events again, repeated and out of order: nothing changes twice.
    letters_before = Letter.objects.count()
    impacts_before = set(AffectedCustomer.objects.values_list("pk", "delay_minutes", "cancelled", "diverted"))
    with on_the_step(clock, django_capture_on_commit_callbacks, last + dt.timedelta(minutes=20)):
        results = flight_events_apply(events=shuffled_with_repeats(events, seed=7)[:10_000], source=SOURCE, actor=FEED)
        # What the events could set off (promised updates falling due are another matter).
        detection_sweep(now=last + dt.timedelta(minutes=20))
        sweep_first_notices(now=last + dt.timedelta(minutes=20))
    assert outcome_counts(results)["applied"] == 0
    assert Letter.objects.count() == letters_before
    assert set(AffectedCustomer.objects.values_list("pk", "delay_minutes", "cancelled", "diverted")) == impacts_before
