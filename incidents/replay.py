"""Replaying a stream of flight status events against a simulated clock (issue 14's replay tool, its driver).

The clock moves in steps; at each step the events that fell due since the last one go through the status feed
(``flight_events_apply``, one batch per step), then the hooks that run after each step are called with the
step's moment as ``now=`` (the sweeps: what a beat would have run at that time). ``manage.py replay_day`` drives
it with the demo's real days (incidents.demo_data.day_events) and prints each step's report.

The hooks are named, not imported: what runs after a step (detection, the sweeps of care.operations) lives in
layers above this one, so they are resolved by dotted name when the replay starts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from care.core.actors import Actor
from care.core.audit import AuditEntry
from incidents.flight_feed import BATCH_MAX, flight_events_apply, outcome_counts
from incidents.flight_models import EventOutcome

Hook = Callable[..., Any]


def _occurred_at(event: Any) -> dt.datetime | None:
    """The event's own time, or None when it has none the feed would accept (it is then due at once)."""
    raw = event.get("occurred_at") if isinstance(event, dict) else None
    try:
        moment = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def replay_batches(
    events: Iterable[Any], *, start: dt.datetime, end: dt.datetime, step: dt.timedelta
) -> Iterator[tuple[dt.datetime, list[Any]]]:
    """(moment, the events due at it) for every step from ``start`` to ``end``, both included, quiet steps too.

    The first step takes every event up to ``start`` (the history before the replay begins), each later step
    those after the previous moment up to its own; ``end`` is the last moment even off the step's grid, and
    events after it are not replayed. A batch keeps the order of (occurred_at, event_id). An event without a
    time the feed accepts goes in the first batch, where the feed rejects it with its reason.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("replay_batches needs aware start and end times")
    if step <= dt.timedelta(0):
        raise ValueError("the replay's step must be positive")
    if end < start:
        raise ValueError("the replay ends before it starts")
    timed: list[tuple[dt.datetime, str, int, Any]] = []
    untimed: list[Any] = []
    for index, event in enumerate(events):
        at = _occurred_at(event)
        if at is None:
            untimed.append(event)
        else:
            timed.append((at, str(event.get("event_id", "")), index, event))
    timed.sort(key=lambda item: item[:3])
    position, moment, first = 0, start, True
    while True:
        batch: list[Any] = untimed if first else []
        while position < len(timed) and timed[position][0] <= moment:
            batch.append(timed[position][3])
            position += 1
        yield moment, batch
        first = False
        if moment >= end:
            return
        moment = min(moment + step, end)


@dataclass(frozen=True)
class StepReport:
    """What one step did: the feed's outcomes, the flights it changed and the passengers it moved, the hooks'."""

    moment: dt.datetime
    outcomes: dict[str, int]
    flights_moved: int
    passengers_moved: int
    hooks: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(self.outcomes.values())


def _moved(*, source: str, applied_ids: list[str], since: dt.datetime) -> tuple[int, int]:
    """(flights changed, passengers moved), as the feed's own audit entries of this batch record them.

    The feed writes one ``flight.status_change`` entry per flight it changed, naming the last event applied to it
    (unique per source) and how many passengers it moved; nothing else counts them.
    """
    if not applied_ids:
        return 0, 0
    details = list(
        AuditEntry.objects.filter(
            action="flight.status_change", at__gte=since, details__source=source, details__event_id__in=applied_ids
        ).values_list("details", flat=True)
    )
    return len(details), sum(int(detail.get("passengers_moved") or 0) for detail in details)


def replay_step(*, moment: dt.datetime, events: Sequence[Any], source: str, actor: Actor) -> StepReport:
    """Feed one step's events (in batches of at most BATCH_MAX, each its own transaction) and report."""
    outcomes: Counter[str] = Counter(dict.fromkeys(EventOutcome.values, 0))
    flights = passengers = 0
    for start in range(0, len(events), BATCH_MAX):
        since = timezone.now()
        results = flight_events_apply(events=events[start : start + BATCH_MAX], source=source, actor=actor)
        outcomes.update(outcome_counts(results))
        applied = [result.event_id for result in results if result.outcome == EventOutcome.APPLIED]
        moved = _moved(source=source, applied_ids=applied, since=since)
        flights, passengers = flights + moved[0], passengers + moved[1]
    return StepReport(moment=moment, outcomes=dict(outcomes), flights_moved=flights, passengers_moved=passengers)


def hooks_resolve(names: Iterable[str]) -> list[tuple[str, Hook]]:
    """The hooks by dotted name (ImportError for one that does not exist: the replay refuses to start)."""
    return [(name, import_string(name)) for name in names]


def replay_run(
    events: Sequence[Any],
    *,
    start: dt.datetime,
    end: dt.datetime,
    step: dt.timedelta,
    source: str,
    actor: Actor,
    hooks: Sequence[tuple[str, Hook]] = (),
    clock: Callable[[dt.datetime], AbstractContextManager[Any]] | None = None,
) -> Iterator[StepReport]:
    """Replay ``events`` step by step, as fast as the caller iterates (it paces the steps), one report per step.

    A quiet step still runs the hooks: a promise falls due whether or not a flight moved. ``clock``: what holds
    the time at the step's moment while it runs (``manage.py replay_day`` travels there with time-machine, the
    tests with their own clock), so that every timestamp the feed, the sweeps and the letters write is on the
    replay's clock; without it they read the real one.
    """
    for moment, batch in replay_batches(events, start=start, end=end, step=step):
        with clock(moment) if clock is not None else nullcontext():
            report = (
                replay_step(moment=moment, events=batch, source=source, actor=actor)
                if batch
                else StepReport(moment=moment, outcomes=dict.fromkeys(EventOutcome.values, 0), flights_moved=0,
                                passengers_moved=0)
            )  # fmt: skip
            for name, hook in hooks:
                report.hooks[name] = hook(now=moment)
        yield report
