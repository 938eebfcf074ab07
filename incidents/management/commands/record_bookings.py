"""Record a file of bookings (the manifest: CSV, JSON or JSON lines) through incidents.bookings, in batches."""

from __future__ import annotations

import csv
import json
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from care.core.actors import SystemActor
from care.core.errors import DomainError
from incidents.bookings import ALIASES, BATCH_MAX, COLUMNS, OUTCOMES, REJECTED, REQUIRED_COLUMNS, bookings_record

DEFAULT_BATCH = 5_000


def _csv_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        known = {*COLUMNS, *ALIASES}
        unknown = [name for name in header if name not in known]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if unknown or missing or not header:
            problems = [f"unknown column(s) {', '.join(unknown[:10])}"] if unknown else []
            problems += [f"missing column(s) {', '.join(missing)}"] if missing else []
            raise CommandError(f"The header is not right: {'; '.join(problems) or 'no header'}. See FORMAT.md.")
        reader.fieldnames = header
        for record in reader:
            # A line with too many cells puts the rest under None: the row is then rejected as an unknown field.
            yield reader.line_num, {str(key): value for key, value in record.items()}


def _json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """A .json file: an array of bookings, or {"bookings": [...]}, numbered from 1."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CommandError(f"{path} is not valid JSON: {exc}.") from exc
    rows = data.get("bookings") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise CommandError('A .json file holds an array of bookings, or {"bookings": [...]}.')
    yield from enumerate(rows, start=1)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """JSON lines: one booking a line, numbered by line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError:
                    yield number, f"line {number} is not JSON"


_READERS = {".csv": _csv_rows, ".json": _json_rows, ".jsonl": _jsonl_rows}


class Command(BaseCommand):
    help = (
        "Record bookings (who is booked on which flight) from a CSV file with a header row, a JSON array (or "
        '{"bookings": [...]}) or JSON lines, in batches of one transaction each. The columns are those of the '
        "affected-customers import without the impact (FORMAT.md). A rerun of the same file records nothing twice."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The .csv, .json or .jsonl file.")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"Rows per batch (max {BATCH_MAX}).")
        parser.add_argument("--source", default="command", help="Which reservation system the file comes from.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        size = options["batch"]
        if not 1 <= size <= BATCH_MAX:
            raise CommandError(f"--batch must be between 1 and {BATCH_MAX}.")
        source = str(options["source"])[:100]
        actor = SystemActor(f"manage.py record_bookings ({source})"[:100])
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise CommandError("Give a .csv, .json or .jsonl file.")
        rows = reader(path)
        totals: Counter[str] = Counter()
        batch: list[Any] = []
        numbers: list[int] = []  # the file's line (or position) of each row of the batch, for the rejections
        for number, row in rows:
            batch.append(row)
            numbers.append(number)
            if len(batch) >= size:
                totals.update(self._record(batch, numbers, source, actor))
                batch, numbers = [], []
        if batch:
            totals.update(self._record(batch, numbers, source, actor))
        summary = ", ".join(f"{outcome} {totals.get(outcome, 0)}" for outcome in OUTCOMES)
        self.stdout.write(
            f"{sum(totals[outcome] for outcome in OUTCOMES)} bookings: {summary}; "
            f"{totals['affected_created']} passengers joined an incident."
        )

    def _record(self, batch: list[Any], numbers: list[int], source: str, actor: SystemActor) -> Counter[str]:
        try:
            result = bookings_record(rows=batch, source=source, actor=actor)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        for row in result.results:
            if row.outcome == REJECTED:
                why = "not JSON" if isinstance(batch[row.index], str) else row.reason
                self.stderr.write(f"row {numbers[row.index]}: {why}")
        return Counter({**{outcome: result.counts[outcome] for outcome in OUTCOMES},
                        "affected_created": result.counts["affected_created"]})  # fmt: skip
