"""The kept-promises sweep: every promised update that falls due goes out, with the news or "no news yet".

``sweep_kept_promises`` (beat) numbers the next update of each due incident under a row lock, writes the
"no news yet" timeline entry when there is no news, renews the promise and publishes
``incidents.tasks.send_updates`` per chunk (resuming a batch whose publish was lost); ``updates_for`` is the
chunk's work. An incident whose promise cannot be kept raises a PROMISE_BROKEN alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.core.station_time import station_time
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind
from care.operations.sweeps.letters import letters_prepare_and_queue
from care.operations.sweeps.runs import record_error, sweep_chunks
from incidents.models import ACTIVE_STATUSES, AffectedCustomer, Alert, AlertKind, Audience, Incident, IncidentUpdate
from incidents.services import incident_post_update

# An update batch whose letters were never created (the publish after commit was lost) is fanned out
# again once it is this old; younger ones are most likely still waiting for a worker.
RESUME_AFTER = timedelta(minutes=5)
# The timeline entry for a promised update that falls due without news. English, as the timeline is the
# coordinators'; each customer's letter says "no news yet" in their own language (the update template).
# It is marked ``no_news``, so care.correspondence.rendering.incident_texts.latest_news gives the letters no news.
# ``due`` is the new promise on the station's clock with UTC beside it (care.core.station_time), as staff read it.
NO_NEWS_PREFIX = "No news yet:"
NO_NEWS_TEXT = NO_NEWS_PREFIX + " we are still working on it. Our next update will follow by {due}."


def _raise_alert(*, incident_id: int, kind: str, message: str, now: datetime) -> None:
    """Open the alert unless one is already open for this incident (the lead's alerts module notifies)."""
    try:
        with transaction.atomic():
            Alert.objects.get_or_create(
                kind=kind,
                key=f"incident:{incident_id}",
                resolved_at=None,
                defaults={"incident_id": incident_id, "message": message, "raised_at": now},
            )
    except IntegrityError:
        pass  # another sweep opened it at the same moment


def _keep_promise(*, incident_id: int, now: datetime) -> int | None:
    """Number the next update of a due incident and renew its promise; return the update number.

    None when, on the locked row, the promise turns out not to be due (another sweep kept it first).
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if (
            incident.status not in ACTIVE_STATUSES
            or incident.next_update_due_at is None
            or incident.next_update_due_at > now
        ):
            return None
        previous = (
            LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE)
            .order_by("-sequence")
            .values_list("sequence", "created_at")
            .first()
        )
        sequence = previous[0] + 1 if previous else 1
        since = previous[1] if previous else (incident.opened_at or incident.created_at)
        has_news = IncidentUpdate.objects.filter(
            incident=incident, audience=Audience.CUSTOMERS, posted_at__gt=since
        ).exists()
        promise = now + timedelta(minutes=max(1, incident.update_interval_minutes))
        if has_news:
            Incident.objects.filter(pk=incident.pk).update(next_update_due_at=promise)
        else:
            incident_post_update(
                incident=incident,
                audience=Audience.CUSTOMERS,
                text=NO_NEWS_TEXT.format(due=station_time(promise, incident, utc=True)),
                next_update_due_at=promise,
                posted_at=now,
                no_news=True,
            )
        LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=sequence)
    return sequence


def _fan_out_updates(*, incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    chunks = 0
    with transaction.atomic():
        for chunk in sweep_chunks(affected_ids):
            enqueue_on_commit("incidents.tasks.send_updates", incident_id, sequence, chunk)
            chunks += 1
    return chunks


def _unsent_latest_updates(*, now: datetime) -> Iterable[tuple[int, int, list[int]]]:
    """The latest update batch of each active incident whose letters were never created, for customers
    affected when it was numbered: a publish lost after commit. Resumed once older than RESUME_AFTER."""
    batches = (
        LetterBatch.objects.filter(
            kind=LetterKind.UPDATE, incident__status__in=ACTIVE_STATUSES, created_at__lte=now - RESUME_AFTER
        )
        .order_by("incident_id", "-sequence")
        .values_list("incident_id", "sequence", "created_at")
    )
    latest: dict[int, tuple[int, datetime]] = {}
    for incident_id, sequence, created_at in batches:
        latest.setdefault(incident_id, (sequence, created_at))
    for incident_id, (sequence, created_at) in latest.items():
        missing = list(
            AffectedCustomer.objects.filter(incident_id=incident_id, created_at__lte=created_at)
            .filter(~Exists(Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.UPDATE, sequence=sequence)))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if missing:
            yield incident_id, sequence, missing


def sweep_kept_promises(*, now: datetime | None = None) -> dict[str, int]:
    """Keep every promised update that has fallen due: with the news, or with "no news yet" and a new promise.

    A failure for one incident is recorded in the sweep run and raises a PROMISE_BROKEN alert; the other
    incidents go on.
    """
    now = now or timezone.now()
    counts = {"incidents": 0, "updates": 0, "chunks": 0, "resumed": 0, "errors": 0}
    due = list(
        Incident.objects.filter(status__in=ACTIVE_STATUSES, next_update_due_at__lte=now)
        .order_by("next_update_due_at", "pk")
        .values_list("pk", flat=True)
    )
    for incident_id in due:
        counts["incidents"] += 1
        try:
            sequence = _keep_promise(incident_id=incident_id, now=now)
            if sequence is None:
                continue
            affected_ids = list(
                AffectedCustomer.objects.filter(incident_id=incident_id).order_by("pk").values_list("pk", flat=True)
            )
            counts["chunks"] += _fan_out_updates(incident_id=incident_id, sequence=sequence, affected_ids=affected_ids)
            counts["updates"] += 1
        except Exception as exc:
            message = record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            _raise_alert(
                incident_id=incident_id,
                kind=AlertKind.PROMISE_BROKEN,
                message=f"The promised update could not be sent ({message}).",
                now=now,
            )
    try:
        for incident_id, sequence, missing in _unsent_latest_updates(now=now):
            counts["chunks"] += _fan_out_updates(incident_id=incident_id, sequence=sequence, affected_ids=missing)
            counts["resumed"] += 1
    except Exception as exc:
        record_error("resuming updates", exc)
        counts["errors"] += 1
    return counts


def updates_for(*, incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    """Prepare and queue update number ``sequence`` for these affected customers; return how many were queued."""
    return letters_prepare_and_queue(
        incident_id=incident_id, kind=LetterKind.UPDATE, sequence=sequence, affected_ids=affected_ids
    )
