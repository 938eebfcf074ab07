"""Beat task for the escalation sweep (imported by IncidentsConfig.ready so workers register it)."""

from __future__ import annotations

from celery import shared_task

from care.operations.alerts import alerts_sweep
from care.operations.sweeps import run_sweep


@shared_task(acks_late=True)
def sweep_alerts_task() -> dict[str, int]:
    return run_sweep("escalation alerts", alerts_sweep).counts
