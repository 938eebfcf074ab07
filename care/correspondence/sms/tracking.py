"""What a provider's SMS status does to its letter: "delivered" delivers it, "failed" or "undelivered" means it did
not arrive (BOUNCED, with the provider's reason), and any status proves the provider has a letter a crashed send
run left SENDING (SENT, the customer's contact recorded). Other statuses (queued, sending, sent) are stored only.

An SMS status for "opted out" (Twilio 21610) also opts the customer out, so the next letters are held.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from care.core.actors import SystemActor
from care.correspondence.letter_moves import letter_move, letters_record_contact
from care.correspondence.models.letters import Channel, Letter, LetterStatus
from care.correspondence.models.sms import SmsOutboxMessage, SmsStatus
from care.correspondence.sms.backends import TWILIO_OPTED_OUT_CODE
from care.correspondence.sms.events import sms_event_store
from care.customers.services import customer_sms_opt_out

SMS_WEBHOOK = "SMS status callback"
# The error code a simulated failure carries: Twilio's 30003, "Unreachable destination handset".
SIMULATED_FAILURE_CODE = "30003"
DELIVERED_STATUSES = frozenset({"delivered", "read"})
FAILED_STATUSES = frozenset({"failed", "undelivered"})
# Twilio's statuses before the handset's answer: the provider has the message, nothing more.
PENDING_STATUSES = frozenset({"accepted", "scheduled", "queued", "sending", "sent"})


def _letter_for(*, provider_id: str, letter_id: int | None) -> Letter | None:
    letters = Letter.objects.select_for_update().filter(channel=Channel.SMS)
    if letter_id is not None:
        letter = letters.filter(pk=letter_id).first()
        # A status for another message than the one the letter recorded is not this letter's news.
        if letter is not None and letter.esp_message_id and letter.esp_message_id != provider_id:
            return None
        return letter
    return letters.filter(esp_message_id=provider_id).order_by("pk").first()


def sms_status_received(
    *, provider_id: str, status: str, error_code: str = "", at: dt.datetime, letter_id: int | None = None
) -> bool:
    """Store the status once and apply it to its letter; False when it was a replay and changed nothing."""
    status = status.strip().lower()
    with transaction.atomic():
        if not sms_event_store(
            provider_id=provider_id, status=status, error_code=error_code, at=at, letter_id=letter_id
        ):
            return False
        letter = _letter_for(provider_id=provider_id, letter_id=letter_id)
        if letter is None:
            return True
        now = timezone.now()
        at = min(at, now)
        note = f"SMS provider status {status}" + (f" (error {error_code})" if error_code else "")
        if letter.status == LetterStatus.SENDING and status in PENDING_STATUSES | DELIVERED_STATUSES | FAILED_STATUSES:
            # The provider has it: the send run stopped between the hand-over and recording the answer.
            reconciled = letter_move(
                letter,
                target=LetterStatus.SENT,
                at=at,
                note=f"{note}: reconciled, the provider has it",
                actor_label=SMS_WEBHOOK,
                sent_at=at,
                esp_message_id=provider_id,
                last_error="",
            )
            if reconciled:
                letters_record_contact(
                    affected_ids=[letter.affected_id] if letter.affected_id else [], at=at, letter_ids=[letter.pk]
                )
        if status in DELIVERED_STATUSES:
            letter_move(
                letter, target=LetterStatus.DELIVERED, at=at, note=note, actor_label=SMS_WEBHOOK, delivered_at=at
            )
        elif status in FAILED_STATUSES:
            reason = f"The SMS provider reported it {status}" + (f" (error {error_code})." if error_code else ".")
            letter_move(
                letter, target=LetterStatus.BOUNCED, at=at, note=note, actor_label=SMS_WEBHOOK, last_error=reason
            )
            if error_code == str(TWILIO_OPTED_OUT_CODE) and letter.to_address:
                customer_sms_opt_out(phone=letter.to_address, at=at, actor=SystemActor(SMS_WEBHOOK))
    return True


def sms_outbox_simulate(*, message_ids: Iterable[int], status: str, at: dt.datetime) -> int:
    """Move these outbox messages to ``status`` (delivered or failed) and store the event a provider would post.

    Returns how many messages took a new status; a second click is a replay and changes nothing.
    """
    if status not in (SmsStatus.DELIVERED, SmsStatus.FAILED):
        raise ValueError("The outbox simulates delivered or failed.")
    moved = 0
    with transaction.atomic():
        for message in SmsOutboxMessage.objects.select_for_update().filter(pk__in=list(message_ids)).order_by("pk"):
            code = SIMULATED_FAILURE_CODE if status == SmsStatus.FAILED else ""
            sms_status_received(
                provider_id=message.provider_id, status=status, error_code=code, at=at, letter_id=message.letter_id
            )
            if message.status != status:
                message.status = status
                message.save(update_fields=["status"])
                moved += 1
    return moved
