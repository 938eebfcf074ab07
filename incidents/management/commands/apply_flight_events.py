"""Apply a file of flight status events (JSON lines, one event a line) through the status feed, in batches."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from care.core.actors import SystemActor
from care.core.errors import DomainError
from incidents.flight_feed import BATCH_MAX, flight_events_apply
from incidents.flight_models import EventOutcome

DEFAULT_BATCH = 5_000


class Command(BaseCommand):
    help = (
        "Apply flight status events from a JSON-lines file (the fields of POST /api/v1/flight-events/), in "
        "batches of one transaction each. A rerun of the same file changes nothing twice (duplicates)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The .jsonl file, one event per line.")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"Events per batch (max {BATCH_MAX}).")
        parser.add_argument("--source", default="command", help="The sender the events' ids are unique for.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        size = options["batch"]
        if not 1 <= size <= BATCH_MAX:
            raise CommandError(f"--batch must be between 1 and {BATCH_MAX}.")
        source = str(options["source"])[:100]
        actor = SystemActor(f"manage.py apply_flight_events ({source})"[:100])
        totals: Counter[str] = Counter()
        batch: list[Any] = []
        numbers: list[int] = []  # the file's line of each event of the batch, for the rejections
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    batch.append(json.loads(line))
                except ValueError:
                    # Kept in the batch as text, so the feed records it as rejected with the others.
                    batch.append(f"line {number} is not JSON")
                numbers.append(number)
                if len(batch) >= size:
                    totals.update(self._apply(batch, numbers, source, actor))
                    batch, numbers = [], []
        if batch:
            totals.update(self._apply(batch, numbers, source, actor))
        summary = ", ".join(f"{outcome} {totals.get(outcome, 0)}" for outcome in EventOutcome.values)
        self.stdout.write(f"{sum(totals.values())} events: {summary}.")

    def _apply(self, batch: list[Any], numbers: list[int], source: str, actor: SystemActor) -> Counter[str]:
        try:
            results = flight_events_apply(events=batch, source=source, actor=actor)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        for result in results:
            if result.outcome == EventOutcome.REJECTED:
                line = numbers[result.index]
                why = "not JSON" if isinstance(batch[result.index], str) else result.reason
                self.stderr.write(f"line {line} ({result.event_id or 'no id'}): {why}")
        return Counter(result.outcome for result in results)
