"""Replay the demo's real days (8 and 9 February 2013) as flight status events, at an accelerated clock (issue 14).

The events come from incidents.demo_data.day_events (each flight's status evolving from its real departure delay);
incidents.replay steps a simulated clock through them, feeding each step's batch to the status feed with source
"replay", then calling the hooks of AFTER_EACH_STEP with the step's moment.
"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import time_machine
from celery import current_app as celery_app
from django.core.management.base import BaseCommand, CommandError

from care.core.actors import SystemActor
from care.core.errors import DomainError
from care.correspondence.models.letters import Letter
from care.operations.demo import demo_scenario_loaded
from care.operations.demo_export import demo_booking_rows
from care.tasks import sweep_queued_letters
from incidents.bookings import bookings_record
from incidents.demo_data import NEW_YORK, Flight, read_flights
from incidents.demo_data.day_events import DEFAULT_SEED, day_events
from incidents.flight_models import EventOutcome
from incidents.models import Incident
from incidents.replay import StepReport, hooks_resolve, replay_run

# What runs after each step, in this order, called as ``hook(now=<the step's simulated moment>)``; a hook returns
# its counts ({name: number}), printed when one is not zero. What a beat would run each minute: detection (rules per
# station that open or extend incidents from the feed's events), the first notices, the kept promises (which end by
# telling the passengers whose flight got worse), and the letters queued for a customer's morning. The follow-ups
# and surveys act on resolved incidents, which a replay of the day does not resolve.
AFTER_EACH_STEP: tuple[str, ...] = (
    "care.operations.detection.detection_sweep",
    "care.operations.sweeps.first_notices.sweep_first_notices",
    "care.operations.sweeps.kept_promises.sweep_kept_promises",
    "incidents.management.commands.replay_day.release_queued_letters",
)
DAYS = (dt.date(2013, 2, 8), dt.date(2013, 2, 9))
STATIONS = ("EWR", "JFK", "LGA")
SOURCE = "replay"


def release_queued_letters(*, now: dt.datetime) -> dict[str, int]:
    """The queued-letters beat at ``now``: what waited for the customer's morning goes once it is morning."""
    del now  # on the replay's clock already (the step travels there)
    return {"letters": sweep_queued_letters()}


@contextmanager
def _travel(moment: dt.datetime) -> Iterator[None]:
    """The step's moment for everything that reads the time, held while the step runs."""
    with time_machine.travel(moment, tick=False):
        yield


@contextmanager
def _tasks_in_process() -> Iterator[None]:
    """What the sweeps publish runs here, on the replay's clock: a worker elsewhere would read the real one."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def _list(value: str) -> list[str]:
    return [item.strip().upper() for item in value.split(",") if item.strip()]


def _aware(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{name} must be an ISO 8601 time, e.g. 2013-02-08T06:00-05:00") from exc
    if moment.tzinfo is None:
        raise CommandError(f"{name} needs its UTC offset, e.g. 2013-02-08T06:00-05:00")
    return moment


def _clock(moment: dt.datetime) -> str:
    local = moment.astimezone(NEW_YORK)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def _counts(values: Any) -> str:
    if isinstance(values, dict):
        return ", ".join(f"{name} {number}" for name, number in values.items())
    return str(values)


class Command(BaseCommand):
    help = (
        "Replay the demo's days as flight status events through the status feed (source 'replay'), step by step "
        "on a simulated clock, running the after-step hooks (the sweeps) at each step's moment. A second run with "
        "the same source changes nothing (duplicates)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date", default=DAYS[0].isoformat(), help="2013-02-08, 2013-02-09, or both, comma-separated."
        )
        parser.add_argument("--stations", default=",".join(STATIONS), help="Origins, comma-separated.")
        parser.add_argument("--flights", default="", help="Only these flights, e.g. UA1545,DL2003.")
        parser.add_argument("--step-minutes", type=int, default=1, help="Simulated minutes per step.")
        parser.add_argument(
            "--speed", type=float, default=60, help="Simulated minutes per real minute; 0: as fast as possible."
        )
        parser.add_argument("--start", help="Simulated start (ISO 8601 with offset); default: the first event.")
        parser.add_argument("--end", help="Simulated end (ISO 8601 with offset); default: the last event.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="The same seed gives the same events.")
        parser.add_argument("--source", default=SOURCE, help="The sender the events' ids are unique for.")
        parser.add_argument("--no-hooks", action="store_true", help="Only feed the events; run nothing after a step.")
        parser.add_argument(
            "--passengers-per-flight",
            type=int,
            default=2,
            help="The demo's passengers booked on each disrupted flight first (the reservation system's manifest).",
        )
        parser.add_argument("--no-bookings", action="store_true", help="Do not record the demo's bookings first.")

    def _flights(self, options: dict[str, Any]) -> list[Flight]:
        try:
            days = {dt.date.fromisoformat(day) for day in _list(options["date"])}
        except ValueError as exc:
            raise CommandError("--date takes dates like 2013-02-08, comma-separated.") from exc
        if not days or not days <= set(DAYS):
            raise CommandError(f"The demo's days are {' and '.join(day.isoformat() for day in DAYS)}.")
        stations = set(_list(options["stations"]))
        if not stations or not stations <= set(STATIONS):
            raise CommandError(f"The demo's stations are {', '.join(STATIONS)}.")
        labels = set(_list(options["flights"]))
        flights = [
            flight
            for flight in read_flights()
            if flight.date in days
            and flight.origin in stations
            and (not labels or f"{flight.carrier}{flight.number}" in labels)
        ]
        if not flights:
            raise CommandError("No flight of the demo matches these dates, stations and flights.")
        return flights

    def handle(self, *args: Any, **options: Any) -> None:
        step_minutes, speed = options["step_minutes"], options["speed"]
        if step_minutes < 1 or speed < 0:
            raise CommandError("--step-minutes must be 1 or more, and --speed 0 or more.")
        events = day_events(flights=self._flights(options), seed=options["seed"])
        first, last = (dt.datetime.fromisoformat(events[i]["occurred_at"]) for i in (0, -1))
        start = _aware(options["start"], "--start") or first
        end = _aware(options["end"], "--end") or last
        if end < start:
            raise CommandError("--end is before --start.")
        try:
            hooks = [] if options["no_hooks"] else hooks_resolve(AFTER_EACH_STEP)
        except ImportError as exc:
            raise CommandError(f"An after-step hook does not exist: {exc}") from exc
        if not options["no_hooks"] and demo_scenario_loaded():
            # The loader's incidents were not opened from the feed: detection drafts its own beside them.
            self.stdout.write(
                "Note: the demo scenario is loaded here; the replay is clearest on a database of its own, e.g. "
                "DATABASE_URL=sqlite:///var/replay.sqlite3 (manage.py migrate first)."
            )
        source = str(options["source"])[:100]
        if not options["no_bookings"]:
            self._book(events, options)
        self.stdout.write(
            f"Replaying {len(events):,} events from {_clock(start)} to {_clock(end)}, "
            f"{step_minutes} min a step, {'as fast as possible' if speed == 0 else f'{speed:g} min a minute'}."
        )
        # Real seconds per step: the simulated step at ``speed`` simulated minutes per real minute.
        interval = 0.0 if speed == 0 else 60 * step_minutes / speed
        started, totals = time.monotonic(), _Totals()
        steps = replay_run(
            events, start=start, end=end, step=dt.timedelta(minutes=step_minutes), source=source,
            actor=SystemActor(f"manage.py replay_day ({source})"[:100]), hooks=hooks, clock=_travel,
        )  # fmt: skip
        try:
            with _tasks_in_process():
                self._run(steps, interval=interval, started=started, totals=totals, verbosity=options["verbosity"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{outcome} {totals.outcomes[outcome]}" for outcome in EventOutcome.values)
        self.stdout.write(
            f"{totals.steps} steps, {totals.events:,} events: {summary}; "
            f"{totals.flights:,} flight changes, {totals.passengers:,} passengers moved."
        )
        if not options["no_hooks"]:
            self._outcome(start=start)

    def _run(
        self, steps: Iterator[StepReport], *, interval: float, started: float, totals: _Totals, verbosity: int
    ) -> None:
        for number, report in enumerate(steps, start=1):
            totals.add(report)
            self._report(report, verbose=verbosity >= 2)  # noqa: PLR2004 - -v 2 shows every step
            if interval:
                time.sleep(max(0.0, started + number * interval - time.monotonic()))

    def _book(self, events: list[dict[str, Any]], options: dict[str, Any]) -> None:
        """Who is on the replayed flights, as the reservation system had them before the day began."""
        flights = {(e["carrier"], e["flight_number"], e["flight_date"], e["origin"]) for e in events}
        days = {dt.date.fromisoformat(day) for _carrier, _number, day, _origin in flights}
        try:
            rows = [
                row
                for row in demo_booking_rows(days=days, passengers_per_flight=options["passengers_per_flight"])
                if (row["carrier"], row["flight_number"], row["flight_date"], row["origin"]) in flights
            ]
            with time_machine.travel(dt.datetime.fromisoformat(events[0]["occurred_at"]), tick=False):
                result = bookings_record(rows=rows, source="demo reservations", actor=SystemActor("replay_day"))
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Bookings: {_counts(result.counts)}.")

    def _outcome(self, *, start: dt.datetime) -> None:
        """What the day came to: the incidents detection opened, whom they told, and the letters by kind."""
        for incident in Incident.objects.filter(created_at__gte=start - dt.timedelta(days=1)).order_by("pk"):
            self.stdout.write(
                f"{incident.reference} {incident.stations} ({incident.get_status_display()}): "
                f"{incident.affected_count:,} passengers, {incident.contacted_count:,} told. {incident.title}"
            )
        kinds = Counter(
            Letter.objects.filter(combined_into__isnull=True, created_at__gte=start).values_list("kind", flat=True)
        )
        self.stdout.write(
            "Letters: " + (", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items())) or "none")
        )

    def _report(self, report: StepReport, *, verbose: bool) -> None:
        hooks = {name: result for name, result in report.hooks.items() if verbose or _did_something(result)}
        if not (verbose or report.events or hooks):
            return
        outcomes = ", ".join(f"{name} {number}" for name, number in report.outcomes.items())
        self.stdout.write(
            f"{_clock(report.moment)}: {report.events} events ({outcomes}); "
            f"{report.flights_moved} flights moved, {report.passengers_moved} passengers moved"
        )
        for name, result in hooks.items():
            self.stdout.write(f"  {name.rsplit('.', 1)[-1]}: {_counts(result)}")


# Counts a sweep reports of what it looked at, not of what it did: a step that only has these says nothing.
LOOKED_AT = frozenset({"stations", "unchanged", "below_threshold", "incidents", "conditions"})


def _did_something(result: Any) -> bool:
    if isinstance(result, dict):
        return any(value for name, value in result.items() if name not in LOOKED_AT)
    return bool(result)


class _Totals:
    def __init__(self) -> None:
        self.steps = self.events = self.flights = self.passengers = 0
        self.outcomes: Counter[str] = Counter()

    def add(self, report: StepReport) -> None:
        self.steps += 1
        self.events += report.events
        self.flights += report.flights_moved
        self.passengers += report.passengers_moved
        self.outcomes.update(report.outcomes)
