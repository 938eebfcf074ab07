"""Imports of affected customers: create a job, run it (in the request, a Celery task or a command), report.

The three entry points (admin upload, API body, ``manage.py import_affected``) all end in
:func:`import_job_run`, so the same file gives the same customers, affected rows and rejections whichever
way it came in. A job reads its file as a stream, validates each row (incidents.ingest.validate), hands the
good rows to a sink in chunks (PostgreSQL: COPY into a staging table, pg.py; elsewhere: ORM batches,
orm.py) and records the bad ones with their row number. Counters are written after every chunk, outside
the merge's transaction, so the coordinator watches them move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from care.core.actors import Actor, SystemActor, acting, person
from care.core.audit import audit_record
from care.core.background import enqueue_on_commit
from care.core.csv_export import csv_lines
from care.core.errors import DomainError
from incidents.ingest.format import COLUMNS, BadRow, FileRefused, Row, RowReader
from incidents.ingest.orm import OrmSink
from incidents.ingest.pg import CopySink
from incidents.ingest.validate import CleanRow, validate
from incidents.models import ImportJob, ImportRejection, ImportStatus, Incident, IncidentStatus

logger = logging.getLogger(__name__)

# Rows validated and handed to the sink at a time: big enough that COPY and the counters cost little per
# row, small enough that memory stays flat (a chunk of 5,000 rows is about 2 MB).
CHUNK_ROWS = 5_000
# Seconds between the progress an import job reports to the admin.
PROGRESS_EVERY = 0.5
# An API body up to this size is imported in the request (about 5,000 rows of a typical file);
# anything bigger is stored and imported by a Celery task the caller can poll.
SYNC_MAX_BYTES = 1 << 20
# A JSON array body is parsed whole by the API, so it is kept small; bigger loads are CSV or JSON lines.
JSON_MAX_ROWS = 5_000
# A job still "running" this long after it started lost its worker (the task's hard time limit is
# shorter); the redelivered task may take it over.
STALE_AFTER = timedelta(minutes=35)

ProgressCallback = Callable[[ImportJob], None]
RETENTION = SystemActor("retention")


def import_job_create(
    *,
    incident: Incident,
    source: str,
    file_format: str = "csv",
    upload: IO[bytes] | None = None,
    file_name: str = "",
    created_by: Actor | None = None,
    created_by_label: str = "",
) -> ImportJob:
    """Record an import (and store its file, streamed to the media storage) before it runs.

    One audit entry for the job when it is created and one when it has run (``import_job_run``): never one
    per customer, whose rows the job's counters and rejection report account for.
    """
    if incident.status == IncidentStatus.CLOSED:
        raise DomainError(f"{incident.reference} is closed; open a new incident for customers affected now.")
    job = ImportJob(
        incident=incident,
        source=source,
        file_format=file_format,
        file_name=file_name[:255],
        created_by=person(created_by),
        created_by_label=(created_by_label or (str(created_by) if isinstance(created_by, SystemActor) else ""))[:100],
    )
    if upload is not None:
        # The storage copies the stream in chunks; the file is never held whole in memory.
        job.file.save(f"incident-{incident.pk}.{file_format}", File(upload), save=False)
        job.bytes_total = job.file.size
    with transaction.atomic():
        job.save()
        audit_record(
            actor=_job_actor(job),
            action="import_job.create",
            target=job,
            details={
                "incident_id": incident.pk,
                "source": source,
                "file_format": file_format,
                "file_name": job.file_name,
                "bytes": job.bytes_total,
            },
            at=job.created_at,
        )
    return job


def _job_actor(job: ImportJob) -> Actor:
    """Who sent the file: the person, or the token or command that sent it."""
    if job.created_by_id is not None and job.created_by is not None:
        return job.created_by
    return acting(None, job.created_by_label or f"{job.get_source_display()} import")


def _audit_run(job: ImportJob) -> None:
    audit_record(
        actor=_job_actor(job),
        action="import_job.run",
        target=job,
        changes={"status": [ImportStatus.RUNNING, job.status]},
        details={
            "incident_id": job.incident_id,
            "rows_done": job.rows_done,
            "rows_rejected": job.rows_rejected,
            "customers_created": job.customers_created,
            "customers_updated": job.customers_updated,
            "customers_in_file": job.customers_in_file,
            "affected_created": job.affected_created,
            "affected_updated": job.affected_updated,
            "affected_existing": job.affected_existing,
            "affected_flight_kept": job.affected_flight_kept,
            "error": job.error,
        },
        at=job.finished_at,
    )


def import_job_enqueue(job: ImportJob) -> None:
    """Import in the background once the job (and its file) is committed."""
    enqueue_on_commit("incidents.tasks.import_affected_task", job.pk)


# A queued job older than this lost its message (the publish after commit, or the broker); it is sent again.
# A job is published right after its commit and a worker takes it within seconds, so a minute is ample; a second
# message for a job that was only slow to be picked up does nothing (``_claim`` is a guarded UPDATE).
QUEUED_GRACE = timedelta(minutes=1)


def imports_resume_stuck(*, now: Any = None) -> int:
    """Publish again every stored import still queued after the grace, or running on a lost worker.

    A running job is taken over only STALE_AFTER (35 min) after it started: past the import task's hard time
    limit (31 min), so a live import is never second-guessed; a job has no heartbeat that would tell sooner.

    Level-triggered and safe to run twice: a job claimed by a live worker (or done) is left alone by
    ``import_job_run``, so a second message for it does nothing.
    """
    moment = now or timezone.now()
    stuck = list(
        ImportJob.objects.filter(
            Q(status=ImportStatus.QUEUED, created_at__lt=moment - QUEUED_GRACE)
            | Q(status=ImportStatus.RUNNING, started_at__lt=moment - STALE_AFTER)
        )
        .exclude(file="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for job_id in stuck:
        enqueue_on_commit("incidents.tasks.import_affected_task", job_id)
    return len(stuck)


def imports_purge_refused_files(*, now: Any = None) -> int:
    """Delete the stored files of imports refused longer ago than ``settings.CARE_REFUSED_IMPORT_RETENTION``.

    A refused file (a bad header, an unreadable file) is kept for a while so the coordinator can look at what
    was sent; after that it is personal data with no use. The job keeps its counters, error and rejections;
    only its file goes, with an audit entry each. Returns how many files were deleted.
    """
    moment = now or timezone.now()
    due = list(
        ImportJob.objects.filter(
            status=ImportStatus.FAILED, finished_at__lt=moment - settings.CARE_REFUSED_IMPORT_RETENTION
        )
        .exclude(file="")
        .order_by("pk")
    )
    storage = ImportJob._meta.get_field("file").storage
    for job in due:
        with transaction.atomic():
            name = job.file.name or ""
            ImportJob.objects.filter(pk=job.pk).update(file="")
            audit_record(
                actor=RETENTION,
                action="import_job.purge_file",
                target=job,
                changes={"file": [name, ""]},
                details={"incident": job.incident_id, "bytes": job.bytes_total},
                at=moment,
            )
            # The file goes once the row no longer names it: a crash in between can leave an orphan file in
            # the media folder, never a job that names a file that is gone.
            transaction.on_commit(partial(storage.delete, name))
    return len(due)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    runnable = Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.RUNNING, started_at__lt=now - STALE_AFTER)
    return bool(
        ImportJob.objects.filter(runnable, pk=job_id).update(
            status=ImportStatus.RUNNING,
            started_at=now,
            finished_at=None,
            error="",
            bytes_done=0,
            rows_done=0,
            rows_rejected=0,
            customers_created=0,
            customers_updated=0,
            customers_in_file=0,
            affected_created=0,
            affected_updated=0,
            affected_existing=0,
            affected_flight_kept=0,
        )
    )


def _sink(job: ImportJob, method: str | None) -> CopySink | OrmSink:
    use_copy = connection.vendor == "postgresql" if method is None else method == "copy"
    kind = CopySink if use_copy else OrmSink
    # The sink audits the impacts it changes in the merge's transaction, in the name of whoever sent the file.
    return kind(job_id=job.pk, incident_id=job.incident_id, actor=_job_actor(job))


def _chunks(rows: Iterable[Row]) -> Iterator[tuple[list[tuple[int, CleanRow]], list[ImportRejection]]]:
    good: list[tuple[int, CleanRow]] = []
    bad: list[ImportRejection] = []
    for number, fields in rows:
        if isinstance(fields, BadRow):
            bad.append(ImportRejection(row_number=number, reason=fields.reason, raw=fields.raw))
        else:
            clean, reasons = validate(fields)
            if clean is None:
                bad.append(ImportRejection(row_number=number, reason="; ".join(reasons), raw=fields))
            else:
                good.append((number, clean))
        if len(good) + len(bad) >= CHUNK_ROWS:
            yield good, bad
            good, bad = [], []
    if good or bad:
        yield good, bad


def import_job_run(  # noqa: PLR0915 - the import's one loop, kept whole so its transaction reads top to bottom
    *,
    job_id: int,
    rows: Iterable[Row] | None = None,
    on_progress: ProgressCallback | None = None,
    method: str | None = None,
) -> ImportJob:
    """Run a queued job to the end; return it (status done or failed, with its counters).

    ``rows``: rows already read (a JSON body); otherwise the job's stored file is streamed. ``method``:
    "copy" or "orm" to force a path (the benchmark and tests compare them); by default COPY on PostgreSQL.
    Safe to call twice: a job already claimed by a live worker, or done, is left alone.
    """
    if not _claim(job_id):
        return ImportJob.objects.get(pk=job_id)
    job = ImportJob.objects.select_related("incident").get(pk=job_id)
    ImportRejection.objects.filter(job=job).delete()  # a rerun after a lost worker reports afresh
    sink = _sink(job, method)
    handle: IO[bytes] | None = None
    try:
        reader: RowReader | None = None
        if rows is None:
            handle = job.file.open("rb")
            reader = RowReader(handle, job.file_format)
            rows = reader
        last_report = time.monotonic()
        for good, bad in _chunks(rows):
            sink.add(good)
            for rejection in bad:
                rejection.job = job
            ImportRejection.objects.bulk_create(bad, ignore_conflicts=True)
            job.rows_done += len(good) + len(bad)
            job.rows_rejected += len(bad)
            job.bytes_done = reader.bytes_read if reader is not None else 0
            if time.monotonic() - last_report >= PROGRESS_EVERY or on_progress is not None:
                last_report = time.monotonic()
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_done=job.rows_done, rows_rejected=job.rows_rejected, bytes_done=job.bytes_done
                )
                if on_progress is not None:
                    on_progress(job)
        counts = sink.finish()
    except FileRefused as exc:
        _fail(job, str(exc))
        return job
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        _fail(job, f"The import stopped on an unexpected error ({type(exc).__name__}); nothing was merged.")
        raise
    finally:
        sink.close()
        if handle is not None:
            handle.close()
    job.status = ImportStatus.DONE
    job.finished_at = timezone.now()
    job.bytes_done = job.bytes_total
    job.rows_rejected += counts["duplicates"]
    job.customers_created = counts["customers_created"]
    job.customers_updated = counts["customers_updated"]
    job.customers_in_file = counts["customers_in_file"]
    job.affected_created = counts["affected_created"]
    job.affected_updated = counts["affected_updated"]
    job.affected_existing = counts["affected_existing"]
    job.affected_flight_kept = counts["affected_flight_kept"]
    with transaction.atomic():
        job.save(
            update_fields=[
                "status",
                "finished_at",
                "bytes_done",
                "rows_done",
                "rows_rejected",
                "customers_created",
                "customers_updated",
                "customers_in_file",
                "affected_created",
                "affected_updated",
                "affected_existing",
                "affected_flight_kept",
            ]
        )
        _audit_run(job)
    if job.file:
        # Every row is now in the database or in the rejection report: the stored copy (personal data, and
        # up to 500 MB) is not kept. A refused job keeps its file to be looked at, for the retention that
        # imports_purge_refused_files keeps.
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")
    logger.info(
        "import %s into incident %s: %s rows, %s rejected, %s affected added, %s updated",
        job.pk,
        job.incident_id,
        job.rows_done,
        job.rows_rejected,
        job.affected_created,
        job.affected_updated,
    )
    if on_progress is not None:
        on_progress(job)
    return job


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportStatus.FAILED
    job.error = message
    job.finished_at = timezone.now()
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=job.status, error=message, finished_at=job.finished_at)
        _audit_run(job)


def rejection_report_lines(job: ImportJob) -> Iterator[str]:
    """The rejected rows as CSV lines (row, reason, then the file's columns), streamed from the database.

    The cells are the file's own values, so a refused row can carry a formula: the shared writer
    (care.core.csv_export) makes every cell text a spreadsheet will not run.
    """
    rows = (
        [rejection.row_number, rejection.reason, *(_raw(rejection.raw).get(column) for column in COLUMNS)]
        for rejection in job.rejections.order_by("row_number").iterator(chunk_size=2_000)
    )
    return csv_lines(["row", "reason", *COLUMNS], rows)


def _raw(raw: object) -> dict[str, object]:
    return raw if isinstance(raw, dict) else {}
