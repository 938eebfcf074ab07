"""Running and recording a sweep: its SweepRun (counts and short error messages) and its chunks of work.

Shared by every sweep: ``run_sweep`` records a run, ``record_error`` adds a per-incident failure to the
run in progress without personal data, and ``sweep_chunks`` cuts affected ids into ``settings.CARE_SWEEP_CHUNK``.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections.abc import Callable, Iterator, Sequence

from django.conf import settings
from django.utils import timezone

from care.core.errors import DomainError
from incidents.models import SweepRun

logger = logging.getLogger(__name__)

SWEEPER = "sweep"
ERROR_MAX = 300

# The errors of the sweep run in progress (set by run_sweep), so per-incident failures reach its SweepRun.
_run_errors: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("sweep_run_errors", default=None)


def _short_error(exc: BaseException) -> str:
    """The exception type, and a domain error's own message (written for coordinators, no personal data).

    Other messages are left out: a database or driver error can quote the row it failed on.
    """
    name = type(exc).__name__
    if isinstance(exc, DomainError) and not hasattr(exc, "reasons"):
        return f"{name}: {str(exc)[:ERROR_MAX]}"
    return name


def record_error(context: str, exc: BaseException) -> str:
    message = f"{context}: {_short_error(exc)}"
    # Where it failed, without the exception's own text: a database error's detail can quote a customer's row.
    logger.warning("sweep error %s\n%s", message, "".join(traceback.format_tb(exc.__traceback__)))
    errors = _run_errors.get()
    if errors is not None:
        errors.append(message)
    return message


def run_sweep(name: str, work: Callable[[], dict[str, int]]) -> SweepRun:
    """Run one sweep and record what it did (counts) and what failed (short messages) as a SweepRun.

    A failure of the whole sweep is stored, not raised: beat runs it again at its next tick.
    """
    run = SweepRun.objects.create(name=name, started_at=timezone.now())
    errors: list[str] = []
    token = _run_errors.set(errors)
    counts: dict[str, int] = {}
    try:
        counts = dict(work())
    except Exception as exc:
        record_error(name, exc)
    finally:
        _run_errors.reset(token)
    run.counts = counts
    run.errors = errors
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "errors", "finished_at"])
    logger.info("sweep %s counts=%s errors=%d", name, counts, len(errors))
    return run


def sweep_chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    size = max(1, int(getattr(settings, "CARE_SWEEP_CHUNK", 500)))
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
