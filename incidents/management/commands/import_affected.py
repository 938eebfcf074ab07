"""Import a file of affected customers into an incident, with a progress bar on stderr."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from care.core.errors import DomainError
from incidents.ingest.services import import_job_create, import_job_run, rejection_report_lines
from incidents.models import ImportJob, ImportSource, ImportStatus, Incident

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Import affected customers (CSV or JSON lines, see incidents/ingest/FORMAT.md) into an incident. "
        "Rows that cannot be imported are listed in the rejection report (--report or the admin); a rerun "
        "of the same file adds nothing twice."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV (or .jsonl) file.")
        parser.add_argument("--incident", required=True, help="The incident's reference (INC-…) or id.")
        parser.add_argument("--format", choices=("csv", "jsonl"), help="Default: from the file's extension.")
        parser.add_argument("--report", type=Path, help="Write the rejected rows (CSV) to this file.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        incident = self._incident(options["incident"])
        file_format = options["format"] or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        started = time.monotonic()
        try:
            with path.open("rb") as upload:
                job = import_job_create(
                    incident=incident,
                    source=ImportSource.COMMAND,
                    file_format=file_format,
                    upload=upload,
                    file_name=path.name,
                    created_by_label="manage.py import_affected",
                )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        progress = None if options["no_progress"] else self._bar(started)
        job = import_job_run(job_id=job.pk, on_progress=progress)
        if progress is not None:
            self.stderr.write("")
        if options["report"] and job.rows_rejected:
            with options["report"].open("w", encoding="utf-8", newline="") as report:
                report.writelines(rejection_report_lines(job))
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"Import {job.pk} refused the file: {job.error}")
        self.stdout.write(
            f"Import {job.pk} into {incident.reference}: {job.rows_done} rows read, {job.rows_rejected} rejected, "
            f"{job.affected_created} affected customers added, {job.affected_updated} already recorded and "
            f"updated by the file ({job.affected_existing} unchanged; {job.affected_flight_kept} kept their "
            "flight's status from the feed), "
            f"{job.customers_created} customers created, {job.customers_known} already known "
            f"({job.customers_updated} of them changed by the file), "
            f"in {time.monotonic() - started:.1f} s."
        )

    def _incident(self, key: str) -> Incident:
        found = Incident.objects.filter(reference=key).first()
        if found is None and key.isdigit():
            found = Incident.objects.filter(pk=int(key)).first()
        if found is None:
            raise CommandError(f"No incident {key!r}.")
        return found

    def _bar(self, started: float) -> Any:
        def draw(job: ImportJob) -> None:
            fraction = job.fraction_done
            filled = int(BAR_WIDTH * fraction)
            elapsed = time.monotonic() - started
            left = elapsed * (1 - fraction) / fraction if fraction > 0 else 0
            self.stderr.write(
                f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:6.1%} "
                f"{job.rows_done:>9,} rows {job.rows_rejected:>7,} rejected  ~{left:4.0f} s left",
                ending="",
            )
            self.stderr.flush()

        return draw
