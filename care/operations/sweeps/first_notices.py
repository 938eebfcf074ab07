"""The first-notice sweep: every affected customer of an open incident gets an initial notice, at once.

``sweep_first_notices`` (beat) finds who has none, or a draft left unfinished, and publishes
``incidents.tasks.notify_affected`` per chunk; ``first_notices_for`` is the chunk's work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.operations.sweeps.letters import letters_prepare_and_queue
from care.operations.sweeps.runs import record_error, sweep_chunks
from incidents.models import ACTIVE_STATUSES, AffectedCustomer, Incident

# A first notice younger than this is being worked on by a chunk (rendered, queued, sent): the beat sweep
# does not publish its customer again, so two runs never contend for the same letters.
FIRST_NOTICE_GRACE = timedelta(minutes=2)


def _without_initial_notice(*, started_before: datetime | None = None) -> Q:
    """Affected rows whose initial notice is not done: none yet, or a draft left unrendered or unqueued.

    The second half recovers a chunk that crashed between creating its letters and queueing them; a
    letter held by the personal-letter check (check_passed False) waits for a coordinator instead. With
    ``started_before``, a draft created after it is taken to be still in the hands of its chunk and is
    left alone.
    """
    notice = Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.INITIAL_NOTICE)
    stuck = notice.filter(status=LetterStatus.DRAFT).filter(Q(check_passed__isnull=True) | Q(check_passed=True))
    if started_before is not None:
        stuck = stuck.filter(created_at__lt=started_before)
    return ~Q(Exists(notice)) | Q(Exists(stuck))


def sweep_first_notices(*, now: datetime | None = None, grace: timedelta = timedelta(0)) -> dict[str, int]:
    """Every affected customer of an open (or monitored) incident that sends notices gets one, at once.

    ``grace``: a customer whose notice was created less than this long ago is not published again (its
    chunk is still working on it, e.g. when beat runs again before a big incident's chunks are done);
    only customers without a notice and drafts older than that are. The beat task passes
    FIRST_NOTICE_GRACE; the default (none) sweeps every unfinished draft at once.
    """
    started_before = (now or timezone.now()) - grace if grace > timedelta(0) else None
    unfinished = _without_initial_notice(started_before=started_before)
    pending = AffectedCustomer.objects.filter(incident=OuterRef("pk")).filter(unfinished)
    incident_ids = list(
        Incident.objects.filter(status__in=ACTIVE_STATUSES, auto_send_notices=True)
        .filter(Exists(pending))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts = {"incidents": 0, "customers": 0, "chunks": 0, "errors": 0}
    for incident_id in incident_ids:
        try:
            affected_ids = list(
                AffectedCustomer.objects.filter(incident_id=incident_id)
                .filter(unfinished)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            with transaction.atomic():
                for chunk in sweep_chunks(affected_ids):
                    enqueue_on_commit("incidents.tasks.notify_affected", incident_id, chunk)
                    counts["chunks"] += 1
        except Exception as exc:
            record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            continue
        counts["incidents"] += 1
        counts["customers"] += len(affected_ids)
    return counts


def first_notices_for(*, incident_id: int, affected_ids: list[int]) -> int:
    """Prepare and queue the initial notices of these affected customers; return how many were queued.

    Safe to run twice or in parallel with another chunk: letters are created once, rendered by the
    chunk that owns them, and queued only from DRAFT.
    """
    incident = Incident.objects.filter(pk=incident_id).values("status", "auto_send_notices").first()
    if incident is None or incident["status"] not in ACTIVE_STATUSES or not incident["auto_send_notices"]:
        return 0  # the incident moved on (resolved, or notices taken off automatic) since the sweep
    return letters_prepare_and_queue(
        incident_id=incident_id, kind=LetterKind.INITIAL_NOTICE, sequence=1, affected_ids=affected_ids
    )
