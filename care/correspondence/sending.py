"""Sending letters through django-anymail: queue, claim, hand to the ESP once, record the answer.

The letter row is the outbox. ``letters_queue`` moves letters that may go to QUEUED and enqueues
``care.tasks.send_letters`` after commit. ``letters_send`` then

(a) claims, in a short transaction, the rows still QUEUED (``SELECT … FOR UPDATE SKIP LOCKED``, so
    two workers never claim the same letter) and marks them SENDING, or SUPPRESSED when the
    customer's address may not be mailed;
(b) hands the claimed letters to the ESP: one batch API call with per-recipient merge data where the
    ESP merges inline, otherwise one message per letter over one connection;
(c) records each letter's outcome in one transaction.

A crash between (b) and (c) leaves letters in SENDING, where the coordinator sees them and where the
ESP's tracking webhook reconciles them (care.correspondence.tracking); nothing here resends a SENDING letter. The
only way back from SENDING to QUEUED is an ESP that answered "not now" (5xx, 429) or could not be
reached at all: then the letters are queued again and ``TransientSendError`` makes the task retry.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailSerializationError,
    AnymailUnsupportedFeature,
)
from anymail.utils import parse_single_address
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from care.core.background import enqueue_on_commit
from care.core.bulk import rows_update
from care.core.lifecycle import record_status_changes
from care.correspondence.esp_formats import HTML_KEY, SUBJECT_KEY, TEXT_KEY, MergeFormat, batch_format_for, max_tags
from care.correspondence.models.letters import KINDS_NEEDING_APPROVAL, Channel, Letter, LetterStatus, LetterStatusChange
from care.customers.models import SuppressionReason
from incidents.models import AffectedCustomer, Incident

logger = logging.getLogger(__name__)

SENDER = "sender"
# Rows handled per query, to stay below every database's limit on bound parameters.
QUERY_CHUNK = 1000
# What is kept of an ESP's error message in Letter.last_error.
REASON_MAX = 1000


class TransientSendError(Exception):
    """The ESP could not take the letters now; they are QUEUED again and the task retries later."""


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    requeued: int = 0
    # Left in SENDING: the ESP may or may not have them; its tracking events will tell.
    unconfirmed: int = 0
    api_calls: int = 0


def _chunks(ids: Sequence[int], size: int = QUERY_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _audit(
    rows: Iterable[tuple[int, str]],
    *,
    to_status: str,
    at: datetime,
    note: str,
    actor: Any = None,
    actor_label: str = SENDER,
) -> None:
    record_status_changes(
        audit_model=LetterStatusChange,
        audit_fk="letter",
        rows=rows,
        to_status=to_status,
        actor=actor,
        actor_label=actor_label,
        note=note,
        at=at,
    )


# --- Queueing ---------------------------------------------------------------------------


def letters_queue(
    *,
    letter_ids: Iterable[int],
    actor: Any = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> int:
    """Queue the letters that may go and enqueue their sending after commit; return how many were queued.

    A letter may go when it is an email whose personal-letter check passed and that has a subject and a
    body, and it is either APPROVED, or a DRAFT of a kind that needs no approval (notices, updates) for
    an incident that sends those without approval. The others are skipped, not refused: a batch queues
    what is ready.

    Quiet hours: a letter of a kind that can wait (care.correspondence.quiet_hours.KINDS_THAT_WAIT) queued during the
    customer's local night gets ``send_after`` = their next local morning and is not enqueued now; the
    sweep of queued letters enqueues it once that time has come.
    """
    from care.correspondence.quiet_hours import KINDS_THAT_WAIT, release_time

    ids = sorted(set(letter_ids))
    now = now or timezone.now()
    may_go = (
        Letter.objects.filter(check_passed=True, channel=Channel.EMAIL)
        .exclude(subject="")
        .exclude(body_text="")
        .filter(
            Q(status=LetterStatus.APPROVED)
            | (
                Q(status=LetterStatus.DRAFT)
                & ~Q(kind__in=KINDS_NEEDING_APPROVAL)
                & Q(incident_id__in=Incident.objects.filter(auto_send_notices=True).values("pk"))
            )
        )
    )
    queued_ids: list[int] = []
    queued_now: list[int] = []
    waiting = 0
    with transaction.atomic():
        for chunk in _chunks(ids):
            rows = list(
                may_go.select_for_update(of=("self",))
                .filter(pk__in=chunk)
                .order_by("pk")
                .values_list("pk", "status", "kind", "customer__time_zone")
            )
            by_status: dict[tuple[str, datetime | None], list[int]] = {}
            for pk, status, kind, time_zone in rows:
                wait = release_time(now=now, time_zone=time_zone) if kind in KINDS_THAT_WAIT else None
                by_status.setdefault((status, wait), []).append(pk)
            moved: list[tuple[int, str]] = []
            for (status, wait), pks in by_status.items():
                Letter.objects.filter(pk__in=pks, status=status).update(
                    status=LetterStatus.QUEUED, queued_at=now, send_after=wait, last_error="", updated_at=now
                )
                moved += [(pk, status) for pk in pks]
                if wait is None:
                    queued_now += pks
                else:
                    waiting += len(pks)
            _audit(
                moved,
                to_status=LetterStatus.QUEUED,
                at=now,
                note="queued for sending",
                actor=actor,
                actor_label=actor_label,
            )
            queued_ids += [pk for pk, _status in moved]
        if queued_now:
            enqueue_sending(queued_now)
    logger.info("letters_queue requested=%d queued=%d waiting=%d", len(ids), len(queued_ids), waiting)
    return len(queued_ids)


def enqueue_sending(letter_ids: Sequence[int]) -> None:
    """Publish the sending of these QUEUED letters in chunks, after the current transaction commits."""
    size = int(getattr(settings, "CARE_SEND_CHUNK", 100))
    for chunk in _chunks(sorted(letter_ids), size):
        enqueue_on_commit("care.tasks.send_letters", chunk)


def letters_send_stale_queued(*, older_than: timedelta = timedelta(minutes=15), now: datetime | None = None) -> int:
    """The sweep: enqueue sending again for email letters QUEUED longer than ``older_than``.

    Covers a publish lost between commit and broker and a task that ran out of retries. Claiming is
    exclusive, so a letter enqueued twice is still handed to the ESP once.

    It also releases the letters that waited for the customer's morning (``send_after``): nothing was
    published for them when they were queued, so they are enqueued on every run from their release time
    for ``older_than``, and after that treated like any other stale letter. A letter still waiting is never
    enqueued.
    """
    now = now or timezone.now()
    cutoff = now - older_than
    just_released = Q(send_after__lte=now, send_after__gt=cutoff)
    stale = (Q(send_after__isnull=True) | Q(send_after__lte=cutoff)) & (
        Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True)
    )
    due = list(
        Letter.objects.filter(status=LetterStatus.QUEUED, channel=Channel.EMAIL)
        .filter(just_released | stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:50_000]
    )
    if due:
        with transaction.atomic():
            enqueue_sending(due)
    logger.info("letters_send_stale_queued enqueued=%d", len(due))
    return len(due)


# --- Claiming ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed letter, as the sender needs it after the claim transaction has committed."""

    letter_id: int
    address: str
    subject: str
    body_text: str
    body_html: str
    kind: str
    incident_reference: str


def _claim(letter_ids: Sequence[int]) -> tuple[list[Outgoing], int]:
    """Claim the QUEUED letters among ``letter_ids``; return them and how many were held as SUPPRESSED."""
    now = timezone.now()
    with transaction.atomic():
        # Plain values, not model instances: the claim runs for every letter sent, and building a Letter,
        # its Customer and its Incident per row cost more than the query.
        rows = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=letter_ids, status=LetterStatus.QUEUED, channel=Channel.EMAIL)
            # Quiet hours: a letter waiting for the customer's morning is not claimed before it.
            .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
            .order_by("pk")
            .values_list(
                "pk",
                "to_address",
                "subject",
                "body_text",
                "body_html",
                "kind",
                "incident__reference",
                "customer__email",
                "customer__suppressed_at",
                "customer__suppression_reason",
            )
        )
        held: dict[int, str] = {}
        going: list[Outgoing] = []
        unaddressed: dict[int, str] = {}
        reasons = dict(SuppressionReason.choices)
        for pk, to_address, subject, body_text, body_html, kind, reference, email, suppressed_at, why in rows:
            if suppressed_at is not None:
                reason = str(reasons.get(why, ""))
                held[pk] = (
                    f"Not sent: the customer's address is suppressed ({reason.lower() or 'no reason given'}, "
                    f"since {suppressed_at:%d %b %Y %H:%M} UTC). Reach them another way."
                )
            elif not (to_address or email):
                held[pk] = "Not sent: the customer has no email address. Reach them another way."
            else:
                if not to_address:
                    unaddressed[pk] = email
                going.append(
                    Outgoing(
                        letter_id=pk,
                        address=to_address or email,
                        subject=subject,
                        body_text=body_text,
                        body_html=body_html,
                        kind=kind,
                        incident_reference=reference or "",
                    )
                )
        # The rows are locked above and QUEUED: each is written with its own values in one UPDATE per batch.
        if held:
            rows_update(
                [
                    Letter(pk=pk, status=LetterStatus.SUPPRESSED, last_error=reason, updated_at=now)
                    for pk, reason in held.items()
                ],
                fields=["status", "last_error", "updated_at"],
            )
            _audit(
                ((pk, LetterStatus.QUEUED) for pk in held),
                to_status=LetterStatus.SUPPRESSED,
                at=now,
                note="customer's email address cannot be used",
            )
        if going:
            Letter.objects.filter(pk__in=[outgoing.letter_id for outgoing in going], status=LetterStatus.QUEUED).update(
                status=LetterStatus.SENDING, attempts=F("attempts") + 1, last_error="", updated_at=now
            )
            # Keep on the letter the address it is sent to, for the coordinator and for matching bounces.
            if unaddressed:
                rows_update(
                    [Letter(pk=pk, to_address=address) for pk, address in unaddressed.items()], fields=["to_address"]
                )
            _audit(
                ((outgoing.letter_id, LetterStatus.QUEUED) for outgoing in going),
                to_status=LetterStatus.SENDING,
                at=now,
                note="claimed for sending",
            )
    return going, len(held)


# --- Handing to the ESP -------------------------------------------------------------------


SENT, FAILED, REQUEUE, UNCONFIRMED = "sent", "failed", "requeue", "unconfirmed"
ACCEPTED_STATUSES = frozenset({"sent", "queued", "unknown"})  # "unknown": accepted, no per-recipient detail
REFUSED_STATUSES = frozenset({"invalid", "rejected", "failed"})


@dataclass(frozen=True)
class Outcome:
    kind: str  # SENT, FAILED, REQUEUE or UNCONFIRMED
    detail: str = ""  # the ESP message id when SENT, otherwise the reason


@dataclass
class _Delivery:
    """One send run: the connection it uses and each letter's outcome so far."""

    connection: BaseEmailBackend
    esp_name: str | None
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def _reason(exc: BaseException) -> str:
    """The ESP's own words for a refusal, for the coordinator (Letter.last_error), never for the logs."""
    esp = getattr(exc, "esp_name", None) or "The email provider"
    try:
        text = str(exc)
    except Exception:  # AnymailError.__str__ needs the HTTP response when a status code is set
        text = " ".join(str(arg) for arg in exc.args) or type(exc).__name__
    return f"{esp}: {text}"[:REASON_MAX]


def classify_error(exc: BaseException) -> str:
    """REQUEUE for "try again later", FAILED for "never", UNCONFIRMED when the ESP may have the message."""
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        if status is not None:
            if status == 429 or status >= 500:
                return REQUEUE
            if 400 <= status < 500:
                return FAILED
            return UNCONFIRMED  # a 2xx whose answer could not be read: it was probably accepted
        # anymail's requests-based backends raise an exception that is also the requests exception.
        if isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout):
            return UNCONFIRMED  # the request went out and no answer came back in time
        if isinstance(exc, requests.ConnectionError):
            return REQUEUE
        return UNCONFIRMED
    if isinstance(exc, (AnymailRecipientsRefused, AnymailInvalidAddress)):
        return FAILED
    if isinstance(exc, (AnymailUnsupportedFeature, AnymailSerializationError)):
        return FAILED  # the message could not be built, so it never left
    return UNCONFIRMED


def _status_for(message: EmailMultiAlternatives, address: str) -> Any:
    anymail_status = getattr(message, "anymail_status", None)
    if anymail_status is None:
        return None
    recipients = anymail_status.recipients or {}
    if address in recipients:
        return recipients[address]
    folded = {key.casefold(): value for key, value in recipients.items()}
    return folded.get(address.casefold())


def _record_message(delivery: _Delivery, message: EmailMultiAlternatives, letters: list[Outgoing]) -> None:
    """Turn the per-recipient statuses anymail left on a sent message into outcomes."""
    is_anymail = hasattr(message, "anymail_status")
    for outgoing in letters:
        if not is_anymail:  # a plain Django backend: it raised or it sent
            delivery.outcomes[outgoing.letter_id] = Outcome(SENT, str(message.extra_headers.get("Message-ID", "")))
            continue
        status = _status_for(message, outgoing.address)
        if status is None or status.status is None:
            delivery.outcomes[outgoing.letter_id] = Outcome(
                UNCONFIRMED, "The email provider did not report on this recipient; waiting for its tracking events."
            )
        elif status.status in ACCEPTED_STATUSES:
            message_id = "" if status.message_id is None else str(status.message_id)  # the test backend's is 0
            delivery.outcomes[outgoing.letter_id] = Outcome(SENT, message_id)
        elif status.status in REFUSED_STATUSES:
            delivery.outcomes[outgoing.letter_id] = Outcome(
                FAILED, f"{delivery.esp_name or 'The email provider'} refused the address: {status.status}."
            )
        else:
            delivery.outcomes[outgoing.letter_id] = Outcome(
                UNCONFIRMED, f"The email provider answered {status.status!r}; waiting for its tracking events."
            )


def _send_one_message(delivery: _Delivery, message: EmailMultiAlternatives, letters: list[Outgoing]) -> bool:
    """Send one API call's message; return False when the ESP asked us to stop and retry later."""
    try:
        handed = delivery.connection.send_messages([message])
    except AnymailRecipientsRefused:
        _record_message(delivery, message, letters)  # every recipient refused, each with its status
    except Exception as exc:
        outcome = classify_error(exc)
        if outcome == UNCONFIRMED and not isinstance(exc, AnymailError):
            logger.error("letters_send unexpected %s for %d letters", type(exc).__name__, len(letters))
            reason = (
                f"Unexpected {type(exc).__name__} while handing the letter to the email provider; "
                "it may or may not have been sent: waiting for its tracking events."
            )
        elif outcome == UNCONFIRMED:
            reason = f"{_reason(exc)}. It may or may not have been sent: waiting for its tracking events."
        else:
            reason = _reason(exc)
        for outgoing in letters:
            delivery.outcomes[outgoing.letter_id] = Outcome(outcome, reason)
        logger.warning("letters_send %s: %s for %d letters", outcome, type(exc).__name__, len(letters))
        return outcome != REQUEUE
    else:
        if not handed and not hasattr(message, "anymail_status"):
            for outgoing in letters:  # a plain Django backend that quietly sent nothing
                delivery.outcomes[outgoing.letter_id] = Outcome(UNCONFIRMED, "The email backend sent nothing.")
            return True
        _record_message(delivery, message, letters)
    return True


def _metadata_and_tags(outgoing: Outgoing, esp_name: str | None) -> tuple[dict[str, str], list[str]]:
    metadata = {"kind": outgoing.kind}
    tags = [outgoing.kind]
    if outgoing.incident_reference:
        metadata["incident"] = outgoing.incident_reference
        tags.append(outgoing.incident_reference)
    limit = max_tags(esp_name)
    return metadata, tags[:limit] if limit is not None else tags


def _single_message(outgoing: Outgoing, delivery: _Delivery) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=outgoing.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.address],
    )
    if outgoing.body_html:
        message.attach_alternative(outgoing.body_html, "text/html")
    metadata, tags = _metadata_and_tags(outgoing, delivery.esp_name)
    if delivery.esp_name is None:
        # Not an anymail backend: our own Message-ID is the only id we will ever have for it.
        message.extra_headers["Message-ID"] = make_msgid(domain="care.local")
        return message
    # A message with one recipient: the letter id goes in its metadata directly. (merge_metadata would make
    # it a "batch", which e.g. Amazon SES cannot send without a stored template.)
    message.metadata = {**metadata, "letter_id": str(outgoing.letter_id)}  # type: ignore[attr-defined]
    message.tags = tags  # type: ignore[attr-defined]
    return message


def _merge_values(outgoing: Outgoing, fmt: MergeFormat) -> dict[str, str]:
    values = {fmt.data_key(TEXT_KEY): outgoing.body_text}
    if fmt.subject_merges:
        values[fmt.data_key(SUBJECT_KEY)] = outgoing.subject
    if outgoing.body_html:
        values[fmt.data_key(HTML_KEY)] = outgoing.body_html
    return values


def _batch_message(letters: list[Outgoing], fmt: MergeFormat, delivery: _Delivery) -> EmailMultiAlternatives:
    """One API call for many letters: the subject and bodies are merge fields, each letter its own data."""
    first = letters[0]
    message = EmailMultiAlternatives(
        subject=fmt.text_field(SUBJECT_KEY) if fmt.subject_merges else first.subject,
        body=fmt.text_field(TEXT_KEY),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.address for outgoing in letters],
    )
    if first.body_html:
        message.attach_alternative(fmt.html_field(HTML_KEY), "text/html")
    metadata, tags = _metadata_and_tags(first, delivery.esp_name)
    message.merge_data = {o.address: _merge_values(o, fmt) for o in letters}  # type: ignore[attr-defined]
    message.merge_metadata = {o.address: {"letter_id": str(o.letter_id)} for o in letters}  # type: ignore[attr-defined]
    message.metadata = metadata  # type: ignore[attr-defined]
    message.tags = tags  # type: ignore[attr-defined]
    return message


def _batches(letters: list[Outgoing], fmt: MergeFormat) -> tuple[list[list[Outgoing]], list[Outgoing]]:
    """Group letters into batch calls; return the batches and the letters that must go alone.

    A batch shares its metadata and tags (so one incident and kind), its HTML part or its absence, and
    for an ESP that cannot merge the subject, the subject. Within a batch an address appears once, since
    merge data is keyed by address.
    """
    groups: dict[tuple[str, str, bool, str], list[Outgoing]] = {}
    alone: list[Outgoing] = []
    for outgoing in letters:
        if fmt.max_merge_bytes is not None:
            size = len(json.dumps(_merge_values(outgoing, fmt), ensure_ascii=False).encode())
            if size > fmt.max_merge_bytes:
                alone.append(outgoing)
                continue
        key = (
            outgoing.incident_reference,
            outgoing.kind,
            bool(outgoing.body_html),
            "" if fmt.subject_merges else outgoing.subject,
        )
        groups.setdefault(key, []).append(outgoing)
    batches: list[list[Outgoing]] = []
    for group in groups.values():
        open_batches: list[tuple[set[str], list[Outgoing]]] = []
        for outgoing in group:
            address = outgoing.address.casefold()
            for addresses, batch in open_batches:
                if address not in addresses and len(batch) < fmt.max_recipients:
                    addresses.add(address)
                    batch.append(outgoing)
                    break
            else:
                open_batches.append(({address}, [outgoing]))
        batches += [batch for _addresses, batch in open_batches]
    return batches, alone


# local@domain with nothing the parser would rewrite: no quotes, comments, display names or stray dots.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _normalise_addresses(letters: list[Outgoing], delivery: _Delivery) -> list[Outgoing]:
    """Use each address as anymail will key it (addr_spec); an unparsable one fails its letter now."""
    valid: list[Outgoing] = []
    for outgoing in letters:
        if _PLAIN_ADDRESS.fullmatch(outgoing.address):
            # Already in addr_spec form (the common case): the email parser would return it unchanged,
            # at a cost that showed up as a third of the sending time in the sweep benchmark.
            valid.append(outgoing)
            continue
        try:
            address = parse_single_address(outgoing.address, field="to").addr_spec
        except AnymailInvalidAddress:
            delivery.outcomes[outgoing.letter_id] = Outcome(FAILED, "Not sent: the email address is not valid.")
            continue
        valid.append(dataclasses.replace(outgoing, address=address))
    return valid


def _not_attempted(
    calls: list[tuple[EmailMultiAlternatives, list[Outgoing]]], delivery: _Delivery, reason: str
) -> None:
    for _message, carried in calls:
        for outgoing in carried:
            delivery.outcomes[outgoing.letter_id] = Outcome(REQUEUE, reason)


def _hand_over(letters: list[Outgoing], delivery: _Delivery, summary: SendSummary, deadline: float | None) -> bool:
    """Send the claimed letters; return False when the ESP asked to retry later, or time ran out."""
    letters = _normalise_addresses(letters, delivery)
    fmt = batch_format_for(delivery.connection)
    calls: list[tuple[EmailMultiAlternatives, list[Outgoing]]] = []
    if fmt is not None:
        batches, alone = _batches(letters, fmt)
        calls += [(_batch_message(batch, fmt, delivery), batch) for batch in batches]
    else:
        alone = letters
    calls += [(_single_message(outgoing, delivery), [outgoing]) for outgoing in alone]

    try:
        opened = delivery.connection.open()  # one connection (an HTTP session for anymail) for every call
    except Exception as exc:  # e.g. an SMTP server that refuses the connection: nothing has left
        logger.warning("letters_send could not open the connection: %s", type(exc).__name__)
        for _message, carried in calls:
            for outgoing in carried:
                delivery.outcomes[outgoing.letter_id] = Outcome(REQUEUE, f"Not attempted: {_reason(exc)}")
        return False
    try:
        for position, (message, carried) in enumerate(calls):
            if deadline is not None and time.monotonic() > deadline:
                # Stop before the task's time limit kills the worker mid-call: the rest go back to the queue.
                _not_attempted(calls[position:], delivery, "Not attempted: this run ran out of time; retried.")
                return False
            summary.api_calls += 1
            if not _send_one_message(delivery, message, carried):
                # The ESP said "not now": the letters not yet attempted go back to the queue with them.
                _not_attempted(
                    calls[position + 1 :], delivery, "Not attempted: the email provider asked to retry later."
                )
                return False
    finally:
        if opened:
            delivery.connection.close()
    return True


# --- Recording ----------------------------------------------------------------------------


def letters_record_contact(*, affected_ids: Iterable[int], at: datetime) -> None:
    """Record that these affected customers were contacted at ``at`` and keep their incidents' counters.

    Each incident's ``contacted_count`` goes up by the rows whose first contact this records: the guarded
    UPDATE returns their incidents, so two senders never both count the same customer, and no sent batch
    recounts the whole incident. Only when the increment would make the incident count more contacted
    than affected customers (counters left stale, e.g. customers added without incidents_refresh_counts)
    is the incident recounted instead.
    """
    from incidents.services import incidents_refresh_counts

    affected = sorted(set(affected_ids))
    if not affected:
        return
    quote = db_connection.ops.quote_name
    meta = AffectedCustomer._meta
    first_contacted = meta.get_field("first_contacted_at")
    at_param = first_contacted.get_db_prep_save(at, db_connection)  # type: ignore[union-attr]
    table, pk_column = quote(meta.db_table), quote(str(meta.pk.column))  # type: ignore[union-attr]
    contacted_column = quote(str(first_contacted.column))  # type: ignore[union-attr]
    incident_column = quote(str(meta.get_field("incident").column))  # type: ignore[union-attr]
    first_contacts: Counter[int] = Counter()
    for chunk in _chunks(affected):
        with db_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {contacted_column} = %s "  # noqa: S608 - names from the model
                f"WHERE {pk_column} IN ({', '.join(['%s'] * len(chunk))}) AND {contacted_column} IS NULL "
                f"RETURNING {incident_column}",
                [at_param, *chunk],
            )
            first_contacts.update(incident_id for (incident_id,) in cursor.fetchall())
        AffectedCustomer.objects.filter(
            Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=at), pk__in=chunk
        ).update(last_contacted_at=at)
    for incident_id, contacted in sorted(first_contacts.items()):
        counted = Incident.objects.filter(pk=incident_id, contacted_count__lte=F("affected_count") - contacted).update(
            contacted_count=F("contacted_count") + contacted
        )
        if not counted:
            # More contacted than affected: the counters were stale (customers added without a recount).
            incidents_refresh_counts(incident_ids=[incident_id])


def _record(outcomes: dict[int, Outcome], summary: SendSummary) -> None:
    if not outcomes:
        return
    now = timezone.now()
    with transaction.atomic():
        rows = {
            pk: (status, esp_message_id, affected_id, incident_id)
            for pk, status, esp_message_id, affected_id, incident_id in Letter.objects.select_for_update()
            .filter(pk__in=list(outcomes))
            .order_by("pk")
            .values_list("pk", "status", "esp_message_id", "affected_id", "incident_id")
        }
        sending = {pk for pk, row in rows.items() if row[0] == LetterStatus.SENDING}

        def still_sending(kind: str) -> dict[int, str]:
            return {pk: o.detail for pk, o in outcomes.items() if o.kind == kind and pk in sending}

        # The rows are locked above, and still_sending() keeps those still SENDING: each is written with its
        # own values in one UPDATE per batch.
        sent = still_sending(SENT)
        if sent:
            rows_update(
                [
                    Letter(
                        pk=pk,
                        status=LetterStatus.SENT,
                        sent_at=now,
                        esp_message_id=message_id,
                        last_error="",
                        updated_at=now,
                    )
                    for pk, message_id in sent.items()
                ],
                fields=["status", "sent_at", "esp_message_id", "last_error", "updated_at"],
            )
            _audit(
                ((pk, LetterStatus.SENDING) for pk in sent),
                to_status=LetterStatus.SENT,
                at=now,
                note="accepted by the email provider",
            )
        # Sent, but the ESP's tracking webhook got there first and moved the letter on: keep its message id.
        overtaken = {
            pk: o.detail
            for pk, o in outcomes.items()
            if o.kind == SENT and pk in rows and pk not in sending and not rows[pk][1] and o.detail
        }
        if overtaken:  # locked above with an empty esp_message_id
            rows_update(
                [Letter(pk=pk, esp_message_id=message_id) for pk, message_id in overtaken.items()],
                fields=["esp_message_id"],
            )
        contacted = [pk for pk, o in outcomes.items() if o.kind == SENT and pk in rows]
        letters_record_contact(affected_ids=[rows[pk][2] for pk in contacted if rows[pk][2]], at=now)
        for kind, target, note in (
            (FAILED, LetterStatus.FAILED, "refused by the email provider"),
            (REQUEUE, LetterStatus.QUEUED, "not taken by the email provider this time; will retry"),
        ):
            moved = still_sending(kind)
            if moved:
                rows_update(
                    [Letter(pk=pk, status=target, last_error=reason, updated_at=now) for pk, reason in moved.items()],
                    fields=["status", "last_error", "updated_at"],
                )
                _audit(((pk, LetterStatus.SENDING) for pk in moved), to_status=target, at=now, note=note)
        unconfirmed = still_sending(UNCONFIRMED)
        if unconfirmed:
            rows_update(
                [Letter(pk=pk, last_error=reason, updated_at=now) for pk, reason in unconfirmed.items()],
                fields=["last_error", "updated_at"],
            )
    summary.sent = len(contacted)
    summary.failed = len(still_sending(FAILED))
    summary.requeued = len(still_sending(REQUEUE))
    summary.unconfirmed = len(unconfirmed)


def letters_send(*, letter_ids: Iterable[int], deadline: float | None = None) -> SendSummary:
    """Claim the QUEUED letters among ``letter_ids``, hand them to the ESP once, and record the outcome.

    Raises TransientSendError after recording when the ESP asked to retry later, or when the
    ``deadline`` (a time.monotonic() value) passed before every API call was made; those letters are
    QUEUED again, and a retry with the same ids claims them (and only them) again.
    """
    ids = sorted(set(letter_ids))
    summary = SendSummary()
    # Before claiming: a backend that cannot even be configured must not strand letters in SENDING.
    connection = get_connection(fail_silently=False)
    esp_name = getattr(connection, "esp_name", None)
    claimed: list[Outgoing] = []
    for chunk in _chunks(ids):
        going, held = _claim(chunk)
        claimed += going
        summary.suppressed += held
    summary.claimed = len(claimed)
    if not claimed:
        logger.info("letters_send requested=%d claimed=0 suppressed=%d", len(ids), summary.suppressed)
        return summary
    delivery = _Delivery(connection=connection, esp_name=esp_name)
    try:
        completed = _hand_over(claimed, delivery, summary, deadline)
    finally:
        _record(delivery.outcomes, summary)
    logger.info(
        "letters_send esp=%s requested=%d claimed=%d api_calls=%d sent=%d failed=%d suppressed=%d requeued=%d "
        "unconfirmed=%d",
        esp_name or "django",
        len(ids),
        summary.claimed,
        summary.api_calls,
        summary.sent,
        summary.failed,
        summary.suppressed,
        summary.requeued,
        summary.unconfirmed,
    )
    if not completed:
        raise TransientSendError(f"{summary.requeued} letters queued again for a retry.")
    return summary
