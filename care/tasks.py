"""Thin Celery tasks for correspondence: they take ids, call a service, and own the retry policy."""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from care.correspondence.sending.esp_errors import TransientSendError
from care.correspondence.sending.queue import letters_send_stale_queued
from care.correspondence.sending.reconcile import letters_reconcile_sending
from care.correspondence.sending.send import letters_send
from care.correspondence.tracking import letter_event_process, letter_events_process_stale

SEND_MAX_RETRIES = 8
# A retry is published with an ETA that the worker holds unacknowledged until it is due; Redis gives an
# unacknowledged message to another worker after the visibility timeout. So every countdown stays well
# below it: exponential backoff (1, 2, 4 … s, with full jitter) capped at half the timeout and at 10 min.
SEND_RETRY_BACKOFF_MAX = max(1, min(600, settings.CELERY_VISIBILITY_TIMEOUT // 2))
# The send task's own limits (settings.CARE_SEND_SOFT_TIME_LIMIT / CARE_SEND_TIME_LIMIT, 120 / 150 s by default):
# the hard one bounds how long a killed run's letters wait for the reconciliation (CARE_SENDING_STALE_AFTER).
SEND_SOFT_TIME_LIMIT = settings.CARE_SEND_SOFT_TIME_LIMIT
SEND_TIME_LIMIT = settings.CARE_SEND_TIME_LIMIT
# A run starts no new ESP call after this many seconds, so that one slow call (anymail's requests time out
# after 30 s) and the recording still end before the soft time limit; the rest is retried at once.
SEND_TIME_BUDGET = max(10, SEND_SOFT_TIME_LIMIT // 2)
# A letter queued again for a retry is published again by the sweep only once its retry is surely overdue.
SEND_RETRY_OVERDUE_AFTER = timedelta(seconds=SEND_RETRY_BACKOFF_MAX + 300)


@shared_task(
    autoretry_for=(TransientSendError,),
    retry_backoff=True,
    retry_backoff_max=SEND_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=SEND_MAX_RETRIES,
    acks_late=True,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
)
def send_letters(letter_ids: list[int]) -> None:
    """Hand these letters to the ESP. On a transient ESP error the service has queued them again, and the
    retry (same ids) claims exactly those: letters already sent or still SENDING are not claimable."""
    letters_send(letter_ids=letter_ids, deadline=time.monotonic() + SEND_TIME_BUDGET)


@shared_task(acks_late=True)
def process_letter_event(event_id: int) -> None:
    """Apply one stored tracking event to its letter (idempotent)."""
    letter_event_process(event_id=event_id)


@shared_task(acks_late=True)
def sweep_queued_letters(older_than_minutes: float = 1) -> int:
    """Beat: re-enqueue letters left QUEUED (a lost publish, a broker that lost its messages, a task out of
    retries); a letter waiting for its retry is left to it until the retry is overdue."""
    return letters_send_stale_queued(
        older_than=timedelta(minutes=older_than_minutes), retry_older_than=SEND_RETRY_OVERDUE_AFTER
    )


@shared_task(acks_late=True)
def sweep_sending_letters() -> dict[str, int]:
    """Beat: settle letters left SENDING by a send run that died (care.correspondence.sending.reconcile)."""
    summary = letters_reconcile_sending(stale_after=settings.CARE_SENDING_STALE_AFTER)
    return {"requeued": summary.requeued, "sent": summary.sent, "unconfirmed": summary.unconfirmed}


@shared_task(acks_late=True)
def sweep_letter_events(older_than_minutes: float = 1) -> int:
    """Beat: re-enqueue tracking events stored but never processed."""
    return letter_events_process_stale(older_than=timedelta(minutes=older_than_minutes))
