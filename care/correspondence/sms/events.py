"""The provider's delivery statuses of SMS, stored once each.

A status event is the provider's own record of what became of a message, so it is stored as it came and not
audited again. What it does to its letter is ``sms.tracking``'s.
"""

from __future__ import annotations

import datetime as dt

from care.correspondence.models.sms import SmsEvent

PROVIDER_ID_MAX = SmsEvent._meta.get_field("provider_id").max_length or 64
STATUS_MAX = SmsEvent._meta.get_field("status").max_length or 20
ERROR_CODE_MAX = SmsEvent._meta.get_field("error_code").max_length or 16


def sms_event_store(
    *, provider_id: str, status: str, error_code: str = "", at: dt.datetime, letter_id: int | None = None
) -> bool:
    """Store that message ``provider_id`` reached ``status``; False if that was stored already (a replay)."""
    if not provider_id or not status:
        raise ValueError("An SMS status event needs the message id and the status.")
    # The unique (provider_id, status) decides: of two posts of the same callback at once, get_or_create's
    # insert fails for one, which then reads the other's row.
    _event, created = SmsEvent.objects.get_or_create(
        provider_id=provider_id[:PROVIDER_ID_MAX],
        status=status[:STATUS_MAX],
        defaults={"error_code": error_code[:ERROR_CODE_MAX], "received_at": at, "letter_id": letter_id},
    )
    return created
