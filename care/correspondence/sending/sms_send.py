"""Sending SMS letters with the guarantees of email: claimed by one sender only (``claim.claim_moves``), each
provider call's letters marked as handed over before it (``recording._mark_handed_over``), and every answer
recorded in one transaction (``recording._record``). A crash leaves at most one call's letters unconfirmed
(``BaseSmsBackend.messages_per_call``: one for Twilio), which the reconciliation settles (``reconcile``).

A customer who texted STOP is never sent an SMS: the claim holds their letters as suppressed. A number the
provider says has opted out (Twilio 21610, e.g. STOP sent to the provider before our webhook heard it) fails
its letter and opts the customer out, so the next letters are held at the claim.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from care.core.actors import SystemActor
from care.correspondence.models.letters import Channel, Letter, LetterStatus
from care.correspondence.sending.claim import claim_moves
from care.correspondence.sending.outcomes import FAILED, REQUEUE, SENT, UNCONFIRMED, Outcome, SendSummary
from care.correspondence.sending.recording import _mark_handed_over, _record
from care.correspondence.sending.rows import id_chunks
from care.correspondence.sms.backends import TWILIO_OPTED_OUT_CODE, BaseSmsBackend, SmsMessage, sms_backend
from care.customers.services import customer_sms_opt_out

logger = logging.getLogger(__package__)

PROVIDER = "the SMS provider"
OPTED_OUT_BY_PROVIDER = SystemActor("SMS provider: the number has opted out")


@dataclass(frozen=True)
class SmsOutgoing:
    """A claimed SMS letter, as the sender needs it after the claim has committed."""

    letter_id: int
    to: str
    body: str


def _claim_sms(letter_ids: list[int]) -> tuple[list[SmsOutgoing], int]:
    """Claim the QUEUED SMS letters among ``letter_ids``; return them and how many were held as SUPPRESSED."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=letter_ids, status=LetterStatus.QUEUED, channel=Channel.SMS)
            # Quiet hours: a letter-ready SMS waiting for the customer's morning is not claimed before it.
            .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
            .order_by("pk")
            .values_list("pk", "to_address", "sms_body", "customer__phone", "customer__sms_opted_out_at")
        )
        held: dict[int, str] = {}
        going: list[SmsOutgoing] = []
        for pk, to_address, body, phone, opted_out_at in rows:
            if opted_out_at is not None:
                held[pk] = (
                    f"Not sent: the customer texted STOP ({opted_out_at:%d %b %Y %H:%M} UTC), so no SMS goes to "
                    "them. Reach them another way."
                )
            elif not (to_address or phone):
                held[pk] = "Not sent: the customer has no phone number. Reach them another way."
            else:
                going.append(SmsOutgoing(letter_id=pk, to=to_address or phone, body=body))
        claim_moves(
            held=held,
            going=[outgoing.letter_id for outgoing in going],
            now=now,
            held_note="the customer may not be texted",
        )
    return going, len(held)


def _verdict(result_status: str, error: str) -> Outcome:
    if result_status == SENT:
        return Outcome(SENT, "")
    if result_status == FAILED:
        return Outcome(FAILED, error or "The SMS provider refused the message.")
    if result_status == REQUEUE:
        return Outcome(REQUEUE, error or "The SMS provider could not take the message now; will retry.")
    return Outcome(UNCONFIRMED, f"{error or 'No answer from the SMS provider'}; waiting for its status callback.")


class _SmsRun:
    """One run's hand-over: the outcomes so far and the numbers the provider says have opted out."""

    def __init__(self, backend: BaseSmsBackend, summary: SendSummary) -> None:
        self.backend = backend
        self.summary = summary
        self.outcomes: dict[int, Outcome] = {}
        self.opted_out: set[str] = set()
        self.calls = 0

    def _messages(self, call: list[SmsOutgoing]) -> list[SmsMessage]:
        messages = []
        for outgoing in call:
            try:
                messages.append(
                    SmsMessage(
                        to=outgoing.to,
                        body=outgoing.body,
                        letter_id=outgoing.letter_id,
                        status_callback=self.backend.status_callback(outgoing.letter_id),
                    )
                )
            except ValueError as exc:  # a number not in E.164, or an empty text: this letter only
                self.outcomes[outgoing.letter_id] = Outcome(FAILED, f"Not sent: {exc}")
        return messages

    def _not_attempted(self, rest: list[SmsOutgoing], reason: str) -> None:
        for outgoing in rest:
            self.outcomes.setdefault(outgoing.letter_id, Outcome(REQUEUE, reason))

    def hand_over(self, letters: list[SmsOutgoing], deadline: float | None) -> bool:
        """Send the claimed letters; False when the provider asked to retry later or time ran out."""
        size = max(1, self.backend.messages_per_call)
        for start in range(0, len(letters), size):
            if deadline is not None and time.monotonic() > deadline:
                self._not_attempted(letters[start:], "Not attempted: this run ran out of time; retried.")
                return False
            messages = self._messages(letters[start : start + size])
            ids = [message.letter_id for message in messages if message.letter_id is not None]
            if not ids:
                continue
            # Committed before the call: a crash from here on leaves letters the reconciliation asks about.
            if not _mark_handed_over(ids):
                logger.warning("sms_send skipped a call: its %d letters are no longer this run's", len(ids))
                continue
            self.summary.api_calls += 1
            self.calls += 1
            try:
                results = self.backend.send_messages(messages)
            except Exception as exc:  # a backend's own failure: the messages may or may not have left
                logger.error("sms_send unexpected %s for %d letters", type(exc).__name__, len(ids))
                reason = f"Unexpected {type(exc).__name__} while handing the SMS to the provider"
                for pk in ids:
                    self.outcomes[pk] = _verdict(UNCONFIRMED, reason)
                self._not_attempted(letters[start + size :], "Not attempted: the SMS provider failed just before.")
                return False
            for message, result in zip(messages, results, strict=True):
                outcome = _verdict(result.status, result.error)
                if outcome.kind == SENT:
                    outcome = Outcome(SENT, result.provider_id)
                self.outcomes[message.letter_id] = outcome  # type: ignore[index]
                if result.code == str(TWILIO_OPTED_OUT_CODE):
                    self.opted_out.add(message.to)
            if any(result.status == REQUEUE for result in results):
                self._not_attempted(letters[start + size :], "Not attempted: the SMS provider asked to retry later.")
                return False
        return True


def sms_letters_send(*, letter_ids: list[int], summary: SendSummary, deadline: float | None) -> bool:
    """Claim the QUEUED SMS letters among ``letter_ids`` (sorted), send them and record the outcome into
    ``summary``. False when some were queued again for a retry (the caller raises TransientSendError)."""
    backend: BaseSmsBackend | None = None
    claimed: list[SmsOutgoing] = []
    for chunk in id_chunks(letter_ids):
        if backend is None and not Letter.objects.filter(pk__in=chunk, channel=Channel.SMS).exists():
            continue  # no SMS among them (the common case): the backend is not even built
        # Before claiming: a backend that cannot be configured must not strand letters in SENDING.
        backend = backend or sms_backend()
        going, held = _claim_sms(chunk)
        claimed += going
        summary.suppressed += held
    if not claimed or backend is None:
        return True
    run = _SmsRun(backend, summary)
    summary.claimed += len(claimed)
    try:
        completed = run.hand_over(claimed, deadline)
    finally:
        _record(run.outcomes, summary, provider=PROVIDER)
    now = timezone.now()
    for number in sorted(run.opted_out):
        customer_sms_opt_out(phone=number, at=now, actor=OPTED_OUT_BY_PROVIDER)
    logger.info(
        "sms_letters_send provider=%s claimed=%d api_calls=%d outcomes=%d opted_out=%d",
        backend.provider_name,
        len(claimed),
        run.calls,
        len(run.outcomes),
        len(run.opted_out),
    )
    return completed
