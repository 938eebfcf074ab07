"""Reconciling the letters a send run left SENDING and will never finish: its worker was killed, lost its database
connection, or stopped between handing letters to the ESP and recording the answer.

A run claims letters (QUEUED → SENDING, ``sending.claim``), marks the letters of each ESP call as handed over
(``Letter.handover_at``, committed before the call, ``sending.recording``) and records the ESP's answer after it.
:func:`letters_reconcile_sending` (beat, every minute) takes the email letters SENDING for longer than
``settings.CARE_SENDING_STALE_AFTER``, which is past the send task's hard time limit (prefork kills a run that
long after it started, and a run writes its letters only after it started), so no live run still holds them:
a live run is never second-guessed. (Where the pool enforces no time limit, solo or threads or eager, a run still
starts no ESP call after care.tasks.SEND_TIME_BUDGET, 60 s, and each call is bounded by the ESP client's timeout,
so it ends well inside the bound; a run that outlived it anyway could hand nothing over, since the hand-over mark
is refused for letters no longer SENDING and unmarked.) Each such letter is decided by what is known of its
hand-over:

- **never handed over** (no mark): its run stopped before the call, so the ESP never saw it. It goes back to
  QUEUED and is published again: sending it is safe.
- **handed over, to a backend that can be asked** (the local outbox; Django's and anymail's in-memory test
  backends, ``sending.lookup``): SENT, with the message id and time the backend recorded, when the backend has
  it; back to QUEUED and published again when it does not (the run stopped before the ESP took it).
- **handed over to a real ESP**, which cannot be asked "do you have letter 42?": a tracking event for the letter
  (any but "unknown") proves the ESP has it, and the letter is SENT. Without one it stays SENDING,
  *unconfirmed*: its ``last_error`` says what is known (written once), and after
  care.operations.alerts.STUCK_SENDING_AFTER (the longer bound, 15 minutes) the escalation alert asks the on-call
  coordinator to look in the provider's log, which answers in one search what we cannot.

The trade-off of that last case, decided on purpose: the letter is not resent automatically. The call went out,
and an ESP keeps a message once the request has reached it, so a timed resend would most likely send these
customers a second copy; and an ESP whose delivery webhooks are not set up never confirms anything, so a timed
resend would duplicate every one of them. Leaving the letter unconfirmed risks a customer who has not
been reached, which is why it is never silent: the letter says so, the alert names the incident and the count,
and the coordinator decides with the provider's log. At most one ESP call's letters per crash are in this state
(one letter for ESPs that take one message per letter, one batch for those that batch).

Every move writes the letter's status trail (by "sweep: sending reconciliation", with a note saying why) and each
chunk one ``letters.reconcile`` audit entry (how many, which, and how each was decided), as ``letters.queue``.
At most :data:`RECONCILE_PER_RUN` letters are taken per run, in chunks locked with SKIP LOCKED, so two runs (or a
tracking event being applied) never decide the same letter twice; what is left waits for the next minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from anymail.signals import EventType
from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.audit import MAX_IDS, audit_record, batch_details
from care.core.bulk import rows_update
from care.correspondence.models.letters import Channel, Letter, LetterEvent, LetterStatus
from care.correspondence.models.sms import SmsEvent
from care.correspondence.sending.lookup import (
    Held,
    backend_can_tell,
    letters_held,
    sms_backend_can_tell,
    sms_letters_held,
    sms_status_events,
)
from care.correspondence.sending.queue import enqueue_sending
from care.correspondence.sending.recording import letters_record_contact
from care.correspondence.sending.rows import id_chunks, record_moves
from care.correspondence.sms.backends import sms_backend

logger = logging.getLogger(__package__)

RECONCILER = SystemActor("sweep: sending reconciliation")
# Letters decided per run: one run's reconciled letters are published in chunks of CARE_SEND_CHUNK, so this keeps
# a run to at most 50 send tasks; a bigger crash is settled over the next minutes.
RECONCILE_PER_RUN = 5_000

NEVER_HANDED_OVER = "its send run stopped before handing it to the {provider}; queued again"
NOT_RECEIVED = "handed to the {provider}, which never got it (the run stopped during the call); queued again"
HELD = "the {provider} has it (reconciled from its record: the run stopped before recording the answer)"
TRACKED = "the {provider} has it (reconciled from its tracking event: the run stopped before the answer)"


@dataclass(frozen=True)
class _Channel:
    """How one channel's stale letters are settled: which letters its backend has (None: it cannot tell), which
    its provider's events prove it has, and the provider's name in the notes."""

    channel: str
    provider: str
    can_tell: bool
    held: Callable[[list[int]], dict[int, Held] | None]
    tracked: Callable[[list[int]], dict[int, Held]]
    tracked_filter: Q  # on Letter: a letter with such an event

    def note(self, template: str) -> str:
        return template.format(provider=self.provider)


def _email_channel() -> _Channel:
    connection = get_connection(fail_silently=False)
    tracked = LetterEvent.objects.filter(letter=OuterRef("pk")).exclude(event_type=EventType.UNKNOWN)
    return _Channel(
        channel=Channel.EMAIL,
        provider="email provider",
        can_tell=backend_can_tell(connection),
        held=lambda ids: letters_held(connection, ids),
        tracked=_tracking_events,
        tracked_filter=Q(Exists(tracked)),
    )


def _sms_channel() -> _Channel:
    backend = sms_backend()
    return _Channel(
        channel=Channel.SMS,
        provider="SMS provider",
        can_tell=sms_backend_can_tell(backend),
        held=lambda ids: sms_letters_held(backend, ids),
        tracked=sms_status_events,
        tracked_filter=Q(Exists(SmsEvent.objects.filter(letter_id=OuterRef("pk")))),
    )


@dataclass
class ReconcileSummary:
    """What one run decided."""

    requeued: int = 0  # never handed over, or the backend does not have them: sent again
    sent: int = 0  # the backend's record or a tracking event says the ESP has them
    unconfirmed: int = 0  # handed to an ESP that cannot be asked, and no tracking event yet: left to the alert


def _unconfirmed_note(handover_at: datetime, provider: str) -> str:
    return (
        f"Handed to the {provider} at {handover_at:%d %b %Y %H:%M:%S} UTC; the send run stopped before its "
        "answer was recorded and no tracking event has come since. It may or may not have been delivered: check "
        "the provider's log before sending it again."
    )


def _tracking_events(letter_ids: list[int]) -> dict[int, Held]:
    """The letters among ``letter_ids`` with a tracking event: the ESP has them."""
    held: dict[int, Held] = {}
    events = (
        LetterEvent.objects.filter(letter_id__in=letter_ids)
        .exclude(event_type=EventType.UNKNOWN)
        .order_by("pk")
        .values_list("letter_id", "esp_message_id", "occurred_at", "received_at")
    )
    for letter_id, message_id, occurred_at, received_at in events:
        if letter_id is not None:
            held.setdefault(letter_id, Held(message_id=message_id, at=occurred_at or received_at))
    return held


def _mark_sent(held: dict[int, Held], handed_at: dict[int, datetime], *, note: str, now: datetime) -> None:
    """SENT with what the backend (or the event) recorded; the customers' contact at the hand-over."""
    letters = []
    for pk, record in held.items():
        sent_at = min(record.at or handed_at[pk], now)
        letters.append(Letter(pk=pk, status=LetterStatus.SENT, sent_at=sent_at, esp_message_id=record.message_id[:255]))
    for letter in letters:
        letter.last_error, letter.updated_at = "", now
    rows_update(letters, fields=["status", "sent_at", "esp_message_id", "last_error", "updated_at"])
    record_moves(
        ((pk, LetterStatus.SENDING) for pk in held), to_status=LetterStatus.SENT, at=now, note=note, actor=RECONCILER
    )


def _reconcile_chunk(
    chunk: list[int], *, cutoff: datetime, now: datetime, channel: _Channel, summary: ReconcileSummary
) -> None:
    with transaction.atomic():
        # Locked and read again: a letter recorded, tracked or taken by another run since the selection is skipped.
        rows = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=chunk, status=LetterStatus.SENDING, updated_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", "handover_at", "affected_id", "last_error")
        )
        if not rows:
            return
        handed_at = {pk: handover_at for pk, handover_at, _affected, _error in rows if handover_at is not None}
        affected = {pk: affected_id for pk, _handover, affected_id, _error in rows if affected_id is not None}
        held = channel.held(list(handed_at))
        tracked = channel.tracked(list(handed_at)) if held is None else {}
        requeue: dict[int, str] = {}
        unconfirmed: dict[int, str] = {}
        for pk, handover_at, _affected, last_error in rows:
            if handover_at is None:
                requeue[pk] = NEVER_HANDED_OVER
            elif held is not None:
                if pk not in held:
                    requeue[pk] = NOT_RECEIVED
            elif pk not in tracked and not last_error:
                unconfirmed[pk] = _unconfirmed_note(handover_at, channel.provider)
        found = {pk: record for pk, record in (held or tracked).items() if pk in handed_at}
        if found:
            _mark_sent(found, handed_at, note=channel.note(HELD if held is not None else TRACKED), now=now)
            contact_at = min(max(record.at or handed_at[pk] for pk, record in found.items()), now)
            letters_record_contact(
                affected_ids=[affected[pk] for pk in found if pk in affected], at=contact_at, letter_ids=list(found)
            )
        for note in (NEVER_HANDED_OVER, NOT_RECEIVED):
            moved = [pk for pk, why in requeue.items() if why == note]
            if moved:
                rows_update(
                    [
                        Letter(pk=pk, status=LetterStatus.QUEUED, queued_at=now, last_error="", updated_at=now)
                        for pk in moved
                    ],
                    fields=["status", "queued_at", "last_error", "updated_at"],
                )
                record_moves(
                    ((pk, LetterStatus.SENDING) for pk in moved),
                    to_status=LetterStatus.QUEUED,
                    at=now,
                    note=channel.note(note),
                    actor=RECONCILER,
                )
        if unconfirmed:
            # The explanation only: ``updated_at`` keeps counting the time in SENDING for the escalation alert.
            rows_update([Letter(pk=pk, last_error=note) for pk, note in unconfirmed.items()], fields=["last_error"])
        decided = [*found, *requeue, *unconfirmed]
        if decided:
            audit_record(
                actor=RECONCILER,
                action="letters.reconcile",
                target=("care.letter", None),
                details=batch_details(
                    decided,
                    requeued=sorted(requeue)[:MAX_IDS],
                    sent=sorted(found)[:MAX_IDS],
                    unconfirmed=sorted(unconfirmed)[:MAX_IDS],
                    stale_after_seconds=int((now - cutoff).total_seconds()),
                ),
                at=now,
            )
        if requeue:
            enqueue_sending(sorted(requeue))  # after commit
    summary.requeued += len(requeue)
    summary.sent += len(found)
    summary.unconfirmed += len(unconfirmed)


def letters_reconcile_sending(
    *, stale_after: timedelta | None = None, now: datetime | None = None, limit: int = RECONCILE_PER_RUN
) -> ReconcileSummary:
    """The sweep: settle the email and SMS letters SENDING longer than ``stale_after`` (see the module's docstring).

    ``stale_after`` defaults to ``settings.CARE_SENDING_STALE_AFTER``; a shorter bound would take letters from a
    run that may still be working on them.
    """
    now = now or timezone.now()
    cutoff = now - (stale_after or settings.CARE_SENDING_STALE_AFTER)
    summary = ReconcileSummary()
    stale_count = 0
    stale = Letter.objects.filter(status=LetterStatus.SENDING, updated_at__lt=cutoff)
    builders: tuple[tuple[str, Callable[[], _Channel]], ...] = (
        (Channel.EMAIL, _email_channel),
        (Channel.SMS, _sms_channel),
    )
    for name, build in builders:
        channel_stale = stale.filter(channel=name)
        if not channel_stale.exists():
            continue  # the channel's backend is not even built
        channel = build()
        if not channel.can_tell:
            # An unconfirmed letter already explained waits for the coordinator: it would otherwise fill every run.
            channel_stale = channel_stale.filter(
                Q(handover_at__isnull=True) | Q(last_error="") | channel.tracked_filter
            )
        due = list(channel_stale.order_by("pk").values_list("pk", flat=True)[: limit - stale_count])
        stale_count += len(due)
        for chunk in id_chunks(due):
            _reconcile_chunk(chunk, cutoff=cutoff, now=now, channel=channel, summary=summary)
    logger.info(
        "letters_reconcile_sending stale=%d requeued=%d sent=%d unconfirmed=%d",
        stale_count,
        summary.requeued,
        summary.sent,
        summary.unconfirmed,
    )
    return summary
