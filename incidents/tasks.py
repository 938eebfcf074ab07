"""Thin Celery tasks for the scheduled sweeps: beat starts the sweeps, the sweeps fan out chunk tasks.

Every task takes ids and JSON values, calls a service in care.operations.sweeps and is safe to run twice
(acks_late: a worker lost mid-task gives the message back).
"""

from __future__ import annotations

from celery import shared_task

from care.operations.detection import detection_sweep
from care.operations.sweeps import (
    FIRST_NOTICE_GRACE,
    first_notices_for,
    run_sweep,
    sweep_first_notices,
    sweep_follow_ups,
    sweep_kept_promises,
    sweep_surveys,
    updates_for,
)
from incidents.ingest.services import import_job_run, imports_purge_refused_files, imports_resume_stuck


@shared_task(acks_late=True)
def sweep_first_notices_task() -> int:
    """Beat: an initial notice for every affected customer of an open incident who has none yet."""
    return run_sweep("first_notices", lambda: sweep_first_notices(grace=FIRST_NOTICE_GRACE)).pk


@shared_task(acks_late=True)
def sweep_kept_promises_task() -> int:
    """Beat: keep every promised update that has fallen due."""
    return run_sweep("kept_promises", sweep_kept_promises).pk


@shared_task(acks_late=True)
def sweep_follow_ups_task() -> int:
    """Beat: prepare apologies for incidents resolved long enough ago."""
    return run_sweep("follow_ups", sweep_follow_ups).pk


@shared_task(acks_late=True)
def sweep_surveys_task() -> int:
    """Beat: surveys for consenting customers some days after their apology."""
    return run_sweep("surveys", sweep_surveys).pk


@shared_task(acks_late=True)
def sweep_detection_task() -> dict[str, int]:
    """Beat, and after every feed batch that applied an event: disruptions at a station draft, extend or open
    incidents (care.operations.detection)."""
    return run_sweep("detection", detection_sweep).counts


@shared_task(acks_late=True)
def notify_affected(incident_id: int, affected_ids: list[int]) -> int:
    """One chunk of initial notices: prepare, render and queue them."""
    return first_notices_for(incident_id=incident_id, affected_ids=affected_ids)


@shared_task(acks_late=True)
def send_updates(incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    """One chunk of update number ``sequence``: prepare, render and queue it."""
    return updates_for(incident_id=incident_id, sequence=sequence, affected_ids=affected_ids)


@shared_task(acks_late=True, soft_time_limit=30 * 60, time_limit=31 * 60)
def import_affected_task(job_id: int) -> str:
    """Import one stored file of affected customers (incidents.ingest); a second delivery finds it done."""
    return import_job_run(job_id=job_id).status


@shared_task(acks_late=True)
def sweep_stuck_imports_task() -> int:
    """Beat: publish again the imports whose message was lost or whose worker died."""
    return imports_resume_stuck()


@shared_task(acks_late=True)
def purge_refused_import_files_task() -> int:
    """Beat: delete refused import files kept past their retention (incidents.ingest)."""
    return imports_purge_refused_files()
