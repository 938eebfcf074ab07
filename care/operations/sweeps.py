"""The scheduled sweeps: every promise to every affected customer, kept exactly once.

Celery beat runs each sweep every few minutes (incidents.tasks). A sweep is level-triggered: it looks for
everything that is due and not done, so a beat that fires twice, late, or across a DST change ends in the
same state, and a run that finds nothing to do changes nothing. Exactly-once comes from the database: the
unique (affected, kind, sequence) letter constraint with ``bulk_create(ignore_conflicts=True)``, the
unique (incident, kind, sequence) batch constraint, a row lock on the incident before an update is
numbered, and ``letters_queue`` moving only DRAFT/APPROVED letters under a status guard.

Work for many customers is fanned out in chunks of ``settings.CARE_SWEEP_CHUNK`` affected ids per task,
published after commit; never one message per customer.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.core.errors import DomainError
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus, LetterStatusChange
from care.correspondence.rendering import letters_render
from care.correspondence.sending import letters_queue
from care.correspondence.services import letters_prepare
from care.customers.models import Customer
from incidents.models import (
    ACTIVE_STATUSES,
    AffectedCustomer,
    Alert,
    AlertKind,
    Audience,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    SweepRun,
)
from incidents.services import incident_post_update
from vouchers.services import vouchers_issue_for_incident_or_hold

logger = logging.getLogger(__name__)

SWEEPER = "sweep"
ERROR_MAX = 300
# An update batch whose letters were never created (the publish after commit was lost) is fanned out
# again once it is this old; younger ones are most likely still waiting for a worker.
RESUME_AFTER = timedelta(minutes=5)
# Apologies sent longer ago than this get no survey: a survey months later asks about a forgotten trip,
# and a newly deployed sweep must not survey every customer in the archive.
SURVEY_TOO_LATE = timedelta(days=30)
# The timeline entry for a promised update that falls due without news. English, as the timeline is the
# coordinators'; each customer's letter says "no news yet" in their own language (the update template).
# care.correspondence.rendering.latest_news recognises it by its prefix (and no author) and gives the letters no news.
NO_NEWS_PREFIX = "No news yet:"
NO_NEWS_TEXT = NO_NEWS_PREFIX + " we are still working on it. Our next update will follow by {due:%d %b %Y %H:%M} UTC."
RESOLVED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)

# The errors of the sweep run in progress (set by run_sweep), so per-incident failures reach its SweepRun.
_run_errors: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("sweep_run_errors", default=None)


# --- Running and recording ----------------------------------------------------------------------------


def _short_error(exc: BaseException) -> str:
    """The exception type, and a domain error's own message (written for coordinators, no personal data).

    Other messages are left out: a database or driver error can quote the row it failed on.
    """
    name = type(exc).__name__
    if isinstance(exc, DomainError) and not hasattr(exc, "reasons"):
        return f"{name}: {str(exc)[:ERROR_MAX]}"
    return name


def _record_error(context: str, exc: BaseException) -> str:
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
        _record_error(name, exc)
    finally:
        _run_errors.reset(token)
    run.counts = counts
    run.errors = errors
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "errors", "finished_at"])
    logger.info("sweep %s counts=%s errors=%d", name, counts, len(errors))
    return run


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    size = max(1, int(getattr(settings, "CARE_SWEEP_CHUNK", 500)))
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


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


# --- First notices --------------------------------------------------------------------------------------


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
                for chunk in _chunks(affected_ids):
                    enqueue_on_commit("incidents.tasks.notify_affected", incident_id, chunk)
                    counts["chunks"] += 1
        except Exception as exc:
            _record_error(f"incident {incident_id}", exc)
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
    prepared = letters_prepare(
        incident_id=incident_id,
        kind=LetterKind.INITIAL_NOTICE,
        affected_ids=affected_ids,
        queue_ready=True,
        actor_label=SWEEPER,
    )
    ready = Letter.objects.filter(
        affected_id__in=affected_ids,
        kind=LetterKind.INITIAL_NOTICE,
        sequence=1,
        status=LetterStatus.DRAFT,
        check_passed=True,
    ).values_list("pk", flat=True)
    # Drafts left ready by an earlier run (e.g. a crash between writing and queueing) go now too.
    return prepared.queued + letters_queue(letter_ids=list(ready), actor_label=SWEEPER)


# --- Kept promises -----------------------------------------------------------------------------------------


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
                text=NO_NEWS_TEXT.format(due=promise.astimezone(UTC)),
                next_update_due_at=promise,
                posted_at=now,
            )
        LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=sequence)
    return sequence


def _fan_out_updates(*, incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    chunks = 0
    with transaction.atomic():
        for chunk in _chunks(affected_ids):
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
            message = _record_error(f"incident {incident_id}", exc)
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
        _record_error("resuming updates", exc)
        counts["errors"] += 1
    return counts


def updates_for(*, incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    """Prepare and queue update number ``sequence`` for these affected customers; return how many were queued."""
    prepared = letters_prepare(
        incident_id=incident_id,
        kind=LetterKind.UPDATE,
        sequence=sequence,
        affected_ids=affected_ids,
        queue_ready=True,
        actor_label=SWEEPER,
    )
    ready = Letter.objects.filter(
        affected_id__in=affected_ids,
        kind=LetterKind.UPDATE,
        sequence=sequence,
        status=LetterStatus.DRAFT,
        check_passed=True,
    ).values_list("pk", flat=True)
    # Drafts left ready by an earlier run (e.g. a crash between writing and queueing) go now too.
    return prepared.queued + letters_queue(letter_ids=list(ready), actor_label=SWEEPER)


# --- Follow-ups (apologies) ----------------------------------------------------------------------------


def _without_apology() -> Q:
    return ~Q(Exists(Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.APOLOGY)))


def _follow_up_chunk(*, incident_id: int, affected_ids: list[int], now: datetime) -> tuple[int, int]:
    """Prepare the apologies of one chunk; return (letters created, customers combined into another letter).

    One apology per customer for disruptions close together: a customer who already has a DRAFT apology
    for another incident, created within settings.CARE_COMBINE_WINDOW, gets no second letter. That draft
    is rendered again instead, and the rendering names every incident the customer was affected by
    (``also_incidents``), so it acknowledges this one too. This incident's row is marked done with a
    CANCELLED apology that says which letter covers it, so that no later run (after the draft is sent)
    writes a second apology. A sent or approved apology is never reopened: past the window, or once the
    other letter has gone, the customer gets a letter of their own.
    The customers are locked first, so two sweeps cannot both decide a customer has no letter yet.
    """
    window_start = now - settings.CARE_COMBINE_WINDOW
    with transaction.atomic():
        rows = list(
            AffectedCustomer.objects.filter(pk__in=affected_ids, incident_id=incident_id)
            .filter(_without_apology())
            .values_list("pk", "customer_id")
        )
        customer_ids = sorted({customer_id for _pk, customer_id in rows})
        list(Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk").values_list("pk"))
        other_drafts: dict[int, int] = {}
        for letter_id, customer_id in (
            Letter.objects.filter(
                customer_id__in=customer_ids,
                kind=LetterKind.APOLOGY,
                status=LetterStatus.DRAFT,
                created_at__gte=window_start,
            )
            .exclude(incident_id=incident_id)
            .order_by("-created_at", "-pk")
            .values_list("pk", "customer_id")
        ):
            other_drafts.setdefault(customer_id, letter_id)
        combined = [(pk, customer_id) for pk, customer_id in rows if customer_id in other_drafts]
        own = [pk for pk, customer_id in rows if customer_id not in other_drafts]
        created = 0
        if own:
            created = letters_prepare(incident_id=incident_id, kind=LetterKind.APOLOGY, affected_ids=own).created
        if combined:
            Letter.objects.bulk_create(
                [
                    Letter(
                        customer_id=customer_id,
                        incident_id=incident_id,
                        affected_id=pk,
                        kind=LetterKind.APOLOGY,
                        status=LetterStatus.CANCELLED,
                        check_reasons=[
                            f"Combined into the apology L-{other_drafts[customer_id]}, "
                            "which acknowledges this disruption too."
                        ],
                    )
                    for pk, customer_id in combined
                ],
                ignore_conflicts=True,
            )
            marker_ids = list(
                Letter.objects.filter(
                    affected_id__in=[pk for pk, _customer_id in combined],
                    kind=LetterKind.APOLOGY,
                    status=LetterStatus.CANCELLED,
                    incident_id=incident_id,
                ).values_list("pk", flat=True)
            )
            LetterStatusChange.objects.bulk_create(
                [
                    LetterStatusChange(
                        letter_id=letter_id,
                        from_status="",
                        to_status=LetterStatus.CANCELLED,
                        actor_label=SWEEPER,
                        at=now,
                        note="combined into the customer's apology for another disruption",
                    )
                    for letter_id in marker_ids
                ]
            )
            letters_render(letter_ids=sorted({other_drafts[customer_id] for _pk, customer_id in combined}))
    return created, len(combined)


def sweep_follow_ups(*, now: datetime | None = None) -> dict[str, int]:
    """Prepare apologies (drafts, for the coordinator's batch approval) once incidents have been resolved
    for settings.CARE_FOLLOW_UP_AFTER. Nothing is queued here."""
    now = now or timezone.now()
    pending = AffectedCustomer.objects.filter(incident=OuterRef("pk")).filter(_without_apology())
    incident_ids = list(
        Incident.objects.filter(status__in=RESOLVED_STATUSES, resolved_at__lte=now - settings.CARE_FOLLOW_UP_AFTER)
        .filter(Exists(pending))
        .order_by("resolved_at", "pk")
        .values_list("pk", flat=True)
    )
    counts = {"incidents": 0, "letters": 0, "combined": 0, "held_for_budget": 0, "errors": 0}
    for incident_id in incident_ids:
        try:
            # Vouchers first, so the apologies carry their codes; above the budget cap the apologies wait with them.
            if vouchers_issue_for_incident_or_hold(incident_id=incident_id, actor_label=SWEEPER, now=now):
                counts["held_for_budget"] += 1
                continue
            affected_ids = list(
                AffectedCustomer.objects.filter(incident_id=incident_id)
                .filter(_without_apology())
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for chunk in _chunks(affected_ids):
                created, combined = _follow_up_chunk(incident_id=incident_id, affected_ids=chunk, now=now)
                counts["letters"] += created
                counts["combined"] += combined
        except Exception as exc:
            _record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            continue
        counts["incidents"] += 1
    return counts


# --- Surveys -------------------------------------------------------------------------------------------------


def sweep_surveys(*, now: datetime | None = None) -> dict[str, int]:
    """Ask consenting customers how we did, settings.CARE_SURVEY_AFTER after their apology went out."""
    now = now or timezone.now()
    latest = now - settings.CARE_SURVEY_AFTER
    apologised = Letter.objects.filter(
        affected=OuterRef("pk"),
        kind=LetterKind.APOLOGY,
        status__in=(LetterStatus.SENT, LetterStatus.DELIVERED),
        sent_at__lte=latest,
        sent_at__gt=latest - SURVEY_TOO_LATE,
    )
    surveyed = Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.SURVEY)
    rows = (
        AffectedCustomer.objects.filter(customer__contact_consent=True)
        .filter(Exists(apologised))
        .filter(~Exists(surveyed))
        .order_by("incident_id", "pk")
        .values_list("incident_id", "pk")
    )
    by_incident: dict[int, list[int]] = {}
    for incident_id, pk in rows:
        by_incident.setdefault(incident_id, []).append(pk)
    counts = {"incidents": 0, "letters": 0, "queued": 0, "errors": 0}
    for incident_id, affected_ids in by_incident.items():
        try:
            for chunk in _chunks(affected_ids):
                prepared = letters_prepare(incident_id=incident_id, kind=LetterKind.SURVEY, affected_ids=chunk)
                counts["letters"] += prepared.created
                ready = Letter.objects.filter(
                    affected_id__in=chunk, kind=LetterKind.SURVEY, status=LetterStatus.DRAFT, check_passed=True
                ).values_list("pk", flat=True)
                counts["queued"] += letters_queue(letter_ids=list(ready), actor_label=SWEEPER, now=now)
        except Exception as exc:
            _record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            continue
        counts["incidents"] += 1
    return counts
