"""Handing the claimed letters to the ESP, each once, over one connection, and reading its answer per letter."""

from __future__ import annotations

import logging
import time
from typing import Any

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives

from care.correspondence.esp_formats import batch_format_for
from care.correspondence.sending.claim import Outgoing
from care.correspondence.sending.esp_errors import ACCEPTED_STATUSES, REFUSED_STATUSES, _reason, classify_error
from care.correspondence.sending.messages import _batch_message, _batches, _normalise_addresses, _single_message
from care.correspondence.sending.outcomes import (
    FAILED,
    REQUEUE,
    SENT,
    UNCONFIRMED,
    Outcome,
    SendSummary,
    _Delivery,
)
from care.correspondence.sending.recording import _mark_handed_over

# One logger for the package: its lines keep the name they are filtered on.
logger = logging.getLogger(__package__)


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
            # Committed before the call: a crash from here on leaves letters the reconciliation asks the ESP about.
            if not _mark_handed_over([outgoing.letter_id for outgoing in carried]):
                logger.warning("letters_send skipped a call: its %d letters are no longer this run's", len(carried))
                continue
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
