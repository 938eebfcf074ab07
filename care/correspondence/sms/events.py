"""The provider's delivery statuses of SMS, stored once each; and the outbox's simulated ones.

A status event is the provider's own record of what became of a message, so it is stored as it came and not
audited again. Letters do not move on these events yet: the lead wires SMS into sending and tracking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage, SmsStatus

PROVIDER_ID_MAX = SmsEvent._meta.get_field("provider_id").max_length or 64
STATUS_MAX = SmsEvent._meta.get_field("status").max_length or 20
ERROR_CODE_MAX = SmsEvent._meta.get_field("error_code").max_length or 16
# The error code a simulated failure carries: Twilio's 30003, "Unreachable destination handset".
SIMULATED_FAILURE_CODE = "30003"


def sms_event_store(*, provider_id: str, status: str, error_code: str = "", at: dt.datetime) -> bool:
    """Store that message ``provider_id`` reached ``status``; False if that was stored already (a replay)."""
    if not provider_id or not status:
        raise ValueError("An SMS status event needs the message id and the status.")
    # The unique (provider_id, status) decides: of two posts of the same callback at once, get_or_create's
    # insert fails for one, which then reads the other's row.
    _event, created = SmsEvent.objects.get_or_create(
        provider_id=provider_id[:PROVIDER_ID_MAX],
        status=status[:STATUS_MAX],
        defaults={"error_code": error_code[:ERROR_CODE_MAX], "received_at": at},
    )
    return created


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
            sms_event_store(provider_id=message.provider_id, status=status, error_code=code, at=at)
            if message.status != status:
                message.status = status
                message.save(update_fields=["status"])
                moved += 1
    return moved
