"""Tracking: what the ESP tells us about sent letters, stored once and applied to the letters.

anymail's webhook views authenticate each post (basic auth with ANYMAIL["WEBHOOK_SECRET"], plus the
ESP's signature where it signs), normalise it into ``AnymailTrackingEvent`` and send the
``anymail.signals.tracking`` signal. ``tracking_received`` (connected in care.apps) stores the event
as a ``LetterEvent`` (once: a replay hits the (esp_name, event_id) unique constraint) and enqueues
``care.tasks.process_letter_event`` after commit, so the ESP gets its answer fast. The task calls
``letter_event_process``, which moves the letter along its lifecycle and suppresses the customer's
address after a hard bounce or a complaint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import QueryDict
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.correspondence.letter_moves import letter_move, letters_record_contact
from care.correspondence.models.letters import Letter, LetterEvent, LetterStatus
from care.customers.models import Customer, SuppressionReason

logger = logging.getLogger(__name__)

WEBHOOK = "ESP webhook"
# Letters whose customer could not be reached by email: someone should phone them.
UNREACHABLE_STATUSES = (LetterStatus.BOUNCED, LetterStatus.COMPLAINED, LetterStatus.SUPPRESSED, LetterStatus.FAILED)
# Bounce reasons that mean the address itself is bad, not the day.
HARD_BOUNCE_REASONS = frozenset({RejectReason.BOUNCED, RejectReason.INVALID})


def _field(model_field: str) -> int:
    return getattr(LetterEvent._meta.get_field(model_field), "max_length", None) or 255


def _jsonable(esp_event: Any) -> dict[str, Any]:
    """The ESP's raw event as JSON for LetterEvent.raw (a Mailgun legacy post is a QueryDict)."""
    if isinstance(esp_event, QueryDict):
        return dict(esp_event.lists())
    try:
        value = json.loads(json.dumps(esp_event, default=str))
    except (TypeError, ValueError):
        return {"unserialisable": type(esp_event).__name__}
    return value if isinstance(value, dict) else {"event": value}


def stable_event_id(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """The ESP's event id, or, when it gives none (e.g. Postmark deliveries), a hash of what identifies the event."""
    if event.event_id:
        return str(event.event_id)[: _field("event_id")]
    timestamp = event.timestamp.isoformat() if isinstance(event.timestamp, datetime) else ""
    parts = [esp_name, str(event.message_id or ""), str(event.event_type or ""), timestamp, str(event.recipient or "")]
    if not timestamp:  # nothing time-like to tell two events apart: the whole payload does
        parts.append(json.dumps(_jsonable(event.esp_event), sort_keys=True))
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _letter_id_for(event: AnymailTrackingEvent) -> int | None:
    """The letter an event is about: by the letter id we sent as metadata, else by the ESP's message id."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    try:
        letter_id = int(str(metadata.get("letter_id", "")).strip())
    except ValueError:
        letter_id = None
    if letter_id is not None and Letter.objects.filter(pk=letter_id).exists():
        return letter_id
    if not event.message_id:
        return None
    candidates = list(
        Letter.objects.filter(esp_message_id=str(event.message_id)).values_list("pk", "to_address")[:1000]
    )
    if len(candidates) > 1 and event.recipient:
        # One batch call can share a message id between its recipients (Mailgun): the recipient decides.
        candidates = [c for c in candidates if c[1].casefold() == str(event.recipient).casefold()]
    return candidates[0][0] if len(candidates) == 1 else None


def letter_event_store(*, event: AnymailTrackingEvent, esp_name: str) -> LetterEvent:
    """Store a tracking event once and enqueue its processing after commit (again if a replay finds it pending)."""
    event_id = stable_event_id(event=event, esp_name=esp_name)
    occurred_at = event.timestamp if isinstance(event.timestamp, datetime) else None
    with transaction.atomic():
        # get_or_create retries the read after an IntegrityError, so two concurrent posts of one event
        # end with one row: the unique constraint decides, not this code.
        stored, created = LetterEvent.objects.get_or_create(
            esp_name=esp_name[: _field("esp_name")],
            event_id=event_id,
            defaults={
                "letter_id": _letter_id_for(event),
                "event_type": str(event.event_type or EventType.UNKNOWN)[: _field("event_type")],
                "occurred_at": occurred_at,
                "recipient": str(event.recipient or "")[: _field("recipient")],
                "esp_message_id": str(event.message_id or "")[: _field("esp_message_id")],
                "reject_reason": str(event.reject_reason or "")[: _field("reject_reason")],
                "description": str(event.description or event.mta_response or ""),
                "raw": _jsonable(event.esp_event),
            },
        )
        if stored.processed_at is None:
            enqueue_on_commit("care.tasks.process_letter_event", stored.pk)
    logger.info(
        "tracking event=%s esp=%s type=%s letter=%s created=%s",
        stored.pk,
        esp_name,
        stored.event_type,
        stored.letter_id,
        created,
    )
    return stored


def tracking_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """Receiver for ``anymail.signals.tracking`` (webhooks, and the outbox's simulated events)."""
    letter_event_store(event=event, esp_name=esp_name)


# --- Processing ---------------------------------------------------------------------------


def _suppression_reason(event: LetterEvent) -> str | None:  # noqa: PLR0911 - one answer per ESP reason
    """Why this event should stop future mail to the address, or None."""
    if event.event_type == EventType.COMPLAINED:
        return SuppressionReason.COMPLAINT
    if event.event_type not in (EventType.BOUNCED, EventType.REJECTED):
        return None
    if event.esp_name == "Postmark" and event.raw.get("Type") == "SoftBounce":
        return None  # anymail reports Postmark's soft bounces as "bounced"; the address itself is fine
    if event.reject_reason in HARD_BOUNCE_REASONS:
        return SuppressionReason.HARD_BOUNCE
    if event.reject_reason == RejectReason.SPAM:
        return SuppressionReason.COMPLAINT
    if event.event_type == EventType.REJECTED and event.reject_reason == RejectReason.UNSUBSCRIBED:
        return SuppressionReason.OPT_OUT
    return None


def _target_for(event_type: str) -> str | None:
    if event_type == EventType.DELIVERED:
        return LetterStatus.DELIVERED
    # Bounced by the receiving server, or rejected/failed by the ESP after it took the letter: either
    # way it did not arrive (the reason and any suppression come from the event).
    if event_type in (EventType.BOUNCED, EventType.REJECTED, EventType.FAILED):
        return LetterStatus.BOUNCED
    if event_type == EventType.COMPLAINED:
        return LetterStatus.COMPLAINED
    return None  # opened, clicked, queued, sent, deferred, unsubscribed …: recorded only


def _move(letter: Letter, *, target: str, at: datetime, note: str, **changes: Any) -> bool:
    return letter_move(letter, target=target, at=at, note=note, actor_label=WEBHOOK, **changes)


def _suppress(letter: Letter, event: LetterEvent, reason: str) -> bool:
    address = event.recipient or letter.to_address
    # Only the address that failed: a customer who has since given a new address keeps it.
    suppressed = Customer.objects.filter(
        pk=letter.customer_id, suppressed_at__isnull=True, email__iexact=address
    ).update(suppressed_at=timezone.now(), suppression_reason=reason, updated_at=timezone.now())
    return bool(suppressed)


def _apply(event: LetterEvent, letter_id: int) -> None:
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    now = timezone.now()
    at = min(event.occurred_at or now, now)
    note = f"{event.esp_name} {event.event_type} event {event.pk}"
    if letter.status == LetterStatus.SENDING and event.event_type != EventType.UNKNOWN:
        # Any event from the ESP proves it has the letter: a crash after the hand-over left it SENDING.
        changes: dict[str, Any] = {"sent_at": letter.sent_at or at, "last_error": ""}
        if not letter.esp_message_id and event.esp_message_id:
            changes["esp_message_id"] = event.esp_message_id
        if _move(letter, target=LetterStatus.SENT, at=at, note=f"{note}: reconciled, the ESP has it", **changes):
            letters_record_contact(
                affected_ids=[letter.affected_id] if letter.affected_id else [], at=at, letter_ids=[letter.pk]
            )
    target = _target_for(event.event_type)
    if target is not None:
        changes = {}
        if target == LetterStatus.DELIVERED:
            changes["delivered_at"] = at
        else:
            why = event.description or event.reject_reason or event.event_type
            changes["last_error"] = f"{event.esp_name} reported {event.event_type}: {why}"[:1000]
        if not _move(letter, target=target, at=at, note=note, **changes):
            logger.info("tracking event=%s letter=%s skipped: %s → %s", event.pk, letter.pk, letter.status, target)
    reason = _suppression_reason(event)
    if reason is not None and not _suppress(letter, event, reason):
        logger.info(
            "tracking event=%s customer=%s not suppressed (already, or address changed)", event.pk, letter.customer_id
        )


def letter_event_process(*, event_id: int) -> bool:
    """Apply a stored event to its letter; False if it was already processed (a redelivered task)."""
    with transaction.atomic():
        event = LetterEvent.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
        if event is None:
            return False
        if event.letter_id is not None:
            _apply(event, event.letter_id)
        LetterEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(processed_at=timezone.now())
    return True


def letter_events_process_stale(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """The sweep: enqueue processing again for events stored but still unprocessed after ``older_than``.

    At most 10,000 events per run, oldest first. During a burst of webhooks some of them are only waiting in the
    broker, not lost: their second message is a no-op (processing is guarded by ``processed_at``) costing one
    indexed lookup, and the bound keeps those to 10,000 small messages a minute.
    """
    pending = list(
        LetterEvent.objects.filter(processed_at__isnull=True, received_at__lt=timezone.now() - older_than)
        .order_by("pk")
        .values_list("pk", flat=True)[:10_000]
    )
    with transaction.atomic():
        for pk in pending:
            enqueue_on_commit("care.tasks.process_letter_event", pk)
    logger.info("letter_events_process_stale enqueued=%d", len(pending))
    return len(pending)


# --- Selectors ----------------------------------------------------------------------------


def customers_unreachable(incident_id: int | None = None) -> QuerySet[Customer]:
    """Customers email did not reach (bounced, complained, suppressed, or refused by the ESP): phone them.

    Each customer carries ``unreachable_letters`` (newest first, with incident and affected customer
    selected), so the list shows which letter failed and why without a query per row.
    """
    letters = Letter.objects.filter(status__in=UNREACHABLE_STATUSES)
    if incident_id is not None:
        letters = letters.filter(incident_id=incident_id)
    return (
        Customer.objects.filter(Exists(letters.filter(customer_id=OuterRef("pk"))))
        .prefetch_related(
            Prefetch(
                "letters",
                queryset=letters.select_related("incident", "affected").order_by("-id"),
                to_attr="unreachable_letters",
            )
        )
        .order_by("name", "id")
    )
