"""The kept-promises sweep: every promised update that falls due goes out, with the news or "no news yet".

``sweep_kept_promises`` (beat) numbers the next update of each due incident under a row lock, writes the
"no news yet" timeline entry when there is no news, renews the promise and publishes
``incidents.tasks.send_updates`` per chunk (resuming a batch whose publish was lost); ``updates_for`` is the
chunk's work. An incident whose promise cannot be kept raises a PROMISE_BROKEN alert.

One language per letter: when the update's news has no translation in some customers' languages and was posted
less than CARE_UNTRANSLATED_NEWS_HOLD ago, the batch holds those languages (``LetterBatch.waiting_languages``)
and their customers' letters are not written yet, while the others go. Each run releases what is due: a
language whose translation has arrived, every language once the bound has passed (the news then goes in English,
introduced as quoted: care.correspondence.rendering.incident_texts.latest_news), and whatever an older batch
still holds once a newer update is numbered. The release is a conditional write on the locked batch, so one run
fans the held customers out; the letters' unique constraint stays the last word.

Each run ends with care.operations.sweeps.impact_changes: the passengers whose flight got worse since their last
letter are told at once, in an update of their own, numbered among the incident's updates (``for_impact_change``
batches are left out of the news's "since", of the resumed fan-outs and of the releases above).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.core.station_time import station_time
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind
from care.operations.sweeps.impact_changes import tell_impact_changes
from care.operations.sweeps.letters import letters_prepare_and_queue
from care.operations.sweeps.runs import record_error, sweep_chunks
from incidents.models import (
    ACTIVE_STATUSES,
    AffectedCustomer,
    Alert,
    AlertKind,
    Audience,
    Incident,
    IncidentUpdate,
    IncidentUpdateTranslation,
)
from incidents.services import incident_post_update
from incidents.update_translations import hold_ends_at, latest_news_update, waiting_for_translation

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
        updates = LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE)
        newest = updates.order_by("-sequence").values_list("sequence", flat=True).first()
        # The news is what is new since the last update to everyone: one written only to the passengers whose
        # flight got worse (care.operations.sweeps.impact_changes) did not tell the others.
        previous = updates.filter(for_impact_change=False).order_by("-sequence").values_list("created_at", flat=True)
        sequence = (newest or 0) + 1
        since = previous.first() or incident.opened_at or incident.created_at
        has_news = IncidentUpdate.objects.filter(
            incident=incident, audience=Audience.CUSTOMERS, posted_at__gt=since
        ).exists()
        promise = now + timedelta(minutes=max(1, incident.update_interval_minutes))
        hold: dict[str, object] = {}
        if has_news:
            Incident.objects.filter(pk=incident.pk).update(next_update_due_at=promise)
            hold = _hold_for_translations(latest_news_update(incident.pk), now=now)
        else:
            incident_post_update(
                incident=incident,
                audience=Audience.CUSTOMERS,
                text=NO_NEWS_TEXT.format(due=station_time(promise, incident, utc=True)),
                next_update_due_at=promise,
                posted_at=now,
                no_news=True,
            )
        LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=sequence, **hold)
    return sequence


def _hold_for_translations(news: IncidentUpdate | None, *, now: datetime) -> dict[str, object]:
    """The batch's hold: the languages whose customers wait for a translation of ``news``, within the bound."""
    if news is None or now >= hold_ends_at(news):
        return {}
    waiting = list(waiting_for_translation(news))
    if not waiting:
        return {}
    return {"waiting_languages": waiting, "waiting_for_update": news, "waiting_until": hold_ends_at(news)}


def _not_held(affected: Any, batch_languages: list[str]) -> Any:
    """The affected customers (a queryset) whose update letter the batch does not hold."""
    return affected.exclude(customer__language__in=batch_languages) if batch_languages else affected


def _release_held_updates(*, now: datetime, writing: set[int]) -> int:
    """Release what the update batches hold and is due (see the module's docstring); return how many held
    customers were fanned out. Each release is a write on the locked batch, published after its commit."""
    fanned_out = 0
    held = list(
        LetterBatch.objects.filter(kind=LetterKind.UPDATE, incident__status__in=ACTIVE_STATUSES)
        .exclude(waiting_languages=[])
        .order_by("pk")
        .values_list("pk", "incident_id", "sequence")
    )
    for batch_id, incident_id, sequence in held:
        with transaction.atomic():
            batch = LetterBatch.objects.select_for_update().get(pk=batch_id)
            waiting = list(batch.waiting_languages)
            newer = LetterBatch.objects.filter(
                incident_id=incident_id, kind=LetterKind.UPDATE, sequence__gt=sequence, for_impact_change=False
            ).exists()
            if newer or batch.waiting_until is None or now >= batch.waiting_until:
                released = waiting
            else:
                released = list(
                    IncidentUpdateTranslation.objects.filter(
                        update_id=batch.waiting_for_update_id, language__in=waiting
                    ).values_list("language", flat=True)
                )
            if not released:
                continue
            LetterBatch.objects.filter(pk=batch_id).update(
                waiting_languages=[code for code in waiting if code not in released]
            )
            missing = list(
                AffectedCustomer.objects.filter(incident_id=incident_id, customer__language__in=released)
                .filter(
                    ~Exists(Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.UPDATE, sequence=sequence))
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if missing:
                _fan_out_updates(incident_id=incident_id, sequence=sequence, affected_ids=missing)
                fanned_out += len(missing)
                writing.add(incident_id)
    return fanned_out


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
            kind=LetterKind.UPDATE,
            incident__status__in=ACTIVE_STATUSES,
            created_at__lte=now - RESUME_AFTER,
            # Written to some passengers only; care.operations.sweeps.impact_changes finds who is still due.
            for_impact_change=False,
        )
        .order_by("incident_id", "-sequence")
        .values_list("incident_id", "sequence", "created_at", "waiting_languages")
    )
    latest: dict[int, tuple[int, datetime, list[str]]] = {}
    for incident_id, sequence, created_at, waiting in batches:
        latest.setdefault(incident_id, (sequence, created_at, waiting))
    for incident_id, (sequence, created_at, waiting) in latest.items():
        rows = AffectedCustomer.objects.filter(incident_id=incident_id, created_at__lte=created_at)
        missing = list(
            _not_held(rows, waiting)  # the customers held for a translation are not lost: they are waiting
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
    counts = {"incidents": 0, "updates": 0, "chunks": 0, "resumed": 0, "released": 0, "errors": 0}
    due = list(
        Incident.objects.filter(status__in=ACTIVE_STATUSES, next_update_due_at__lte=now)
        .order_by("next_update_due_at", "pk")
        .values_list("pk", flat=True)
    )
    # The incidents whose updates this run writes (numbered, released, resumed): a passenger of theirs whose flight
    # got worse is told by those letters, being written now, not by a second one (impact_changes skips them).
    writing: set[int] = set()
    for incident_id in due:
        counts["incidents"] += 1
        try:
            sequence = _keep_promise(incident_id=incident_id, now=now)
            if sequence is None:
                continue
            writing.add(incident_id)
            waiting = LetterBatch.objects.values_list("waiting_languages", flat=True).get(
                incident_id=incident_id, kind=LetterKind.UPDATE, sequence=sequence
            )
            rows = _not_held(AffectedCustomer.objects.filter(incident_id=incident_id), waiting)
            affected_ids = list(rows.order_by("pk").values_list("pk", flat=True))
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
        counts["released"] = _release_held_updates(now=now, writing=writing)
    except Exception as exc:
        record_error("releasing held updates", exc)
        counts["errors"] += 1
    try:
        for incident_id, sequence, missing in _unsent_latest_updates(now=now):
            counts["chunks"] += _fan_out_updates(incident_id=incident_id, sequence=sequence, affected_ids=missing)
            counts["resumed"] += 1
            writing.add(incident_id)
    except Exception as exc:
        record_error("resuming updates", exc)
        counts["errors"] += 1
    # After the promised updates: a passenger whose flight got worse and who just got one is told by it.
    impact = tell_impact_changes(now=now, skip=writing)
    counts["errors"] += impact.pop("impact_errors")
    counts.update(impact)
    return counts


def updates_for(*, incident_id: int, sequence: int, affected_ids: list[int]) -> int:
    """Prepare and queue update number ``sequence`` for these affected customers; return how many were queued."""
    return letters_prepare_and_queue(
        incident_id=incident_id, kind=LetterKind.UPDATE, sequence=sequence, affected_ids=affected_ids
    )
