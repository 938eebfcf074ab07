"""Sending letters through django-anymail: queue, claim, hand to the ESP once, record the answer.

The letter row is the outbox. ``letters_queue`` (``queue``) moves letters that may go to QUEUED and enqueues
``care.tasks.send_letters`` after commit. ``letters_send`` (``send``) then

(a) claims, in a short transaction, the rows still QUEUED (``SELECT … FOR UPDATE SKIP LOCKED``, so
    two workers never claim the same letter) and marks them SENDING, or SUPPRESSED when the
    customer's address may not be mailed (``claim``);
(b) hands the claimed letters to the ESP: one batch API call with per-recipient merge data where the
    ESP merges inline, otherwise one message per letter over one connection (``messages`` builds them,
    ``handover`` sends them, ``esp_errors`` says what the ESP's errors mean); before each call its letters
    are marked as handed over (``handover_at``), committed, so that a crash during or after the call is visible;
(c) records each letter's outcome in one transaction (``recording``; the incidents' contact counters move
    in ``incidents.counters``).

A run that stops between (a) and (c) (its worker killed, its database connection lost) leaves letters in
SENDING. Once they have been there longer than the send task's hard time limit, so that no live run holds them,
``letters_reconcile_sending`` (``reconcile``, beat every minute) settles them: never handed over → queued and sent
again; handed over → marked sent when the backend has them (``lookup``: the local outbox, the test backends) or a
tracking event says so, queued again when the backend can tell it never got them, and otherwise left
"unconfirmed" for the coordinator (the escalation alert). An ESP that answered "not now" (5xx, 429) or could not
be reached at all queues its letters again at once, and ``TransientSendError`` makes the task retry.

The package re-exports its public names; new code imports them from the module that defines them.
"""

from __future__ import annotations

from care.correspondence.sending.claim import Outgoing
from care.correspondence.sending.esp_errors import TransientSendError, classify_error
from care.correspondence.sending.outcomes import SendSummary
from care.correspondence.sending.queue import enqueue_sending, letters_queue, letters_send_stale_queued
from care.correspondence.sending.reconcile import ReconcileSummary, letters_reconcile_sending
from care.correspondence.sending.recording import letters_record_contact
from care.correspondence.sending.rows import SENDER
from care.correspondence.sending.send import letters_send

__all__ = [
    "SENDER",
    "Outgoing",
    "ReconcileSummary",
    "SendSummary",
    "TransientSendError",
    "classify_error",
    "enqueue_sending",
    "letters_queue",
    "letters_reconcile_sending",
    "letters_record_contact",
    "letters_send",
    "letters_send_stale_queued",
]
