"""Sending claimed letters: claim, hand to the ESP once, record the answer; retry what the ESP refused for now."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.mail import get_connection

from care.correspondence.sending.claim import Outgoing, _claim
from care.correspondence.sending.esp_errors import TransientSendError
from care.correspondence.sending.handover import _hand_over
from care.correspondence.sending.outcomes import SendSummary, _Delivery
from care.correspondence.sending.recording import _record
from care.correspondence.sending.rows import id_chunks
from care.correspondence.sending.sms_send import sms_letters_send

# One logger for the package: its lines keep the name they are filtered on.
logger = logging.getLogger(__package__)


def letters_send(*, letter_ids: Iterable[int], deadline: float | None = None) -> SendSummary:
    """Claim the QUEUED letters among ``letter_ids``, hand them to the ESP (or the SMS provider, for SMS
    letters: ``sending.sms_send``) once, and record the outcome.

    Raises TransientSendError after recording when the ESP asked to retry later, or when the
    ``deadline`` (a time.monotonic() value) passed before every API call was made; those letters are
    QUEUED again, and a retry with the same ids claims them (and only them) again.
    """
    ids = sorted(set(letter_ids))
    summary = SendSummary()
    completed = _send_emails(ids, summary, deadline)
    completed = sms_letters_send(letter_ids=ids, summary=summary, deadline=deadline) and completed
    if not completed:
        raise TransientSendError(f"{summary.requeued} letters queued again for a retry.")
    return summary


def _send_emails(ids: list[int], summary: SendSummary, deadline: float | None) -> bool:
    """The email letters among ``ids``: False when some were queued again for a retry."""
    # Before claiming: a backend that cannot even be configured must not strand letters in SENDING.
    connection = get_connection(fail_silently=False)
    esp_name = getattr(connection, "esp_name", None)
    claimed: list[Outgoing] = []
    for chunk in id_chunks(ids):
        going, held = _claim(chunk)
        claimed += going
        summary.suppressed += held
    summary.claimed = len(claimed)
    if not claimed:
        logger.info("letters_send requested=%d claimed=0 suppressed=%d", len(ids), summary.suppressed)
        return True
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
    return completed
