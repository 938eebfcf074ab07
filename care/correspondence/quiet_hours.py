"""Quiet hours: a letter that can wait does not wake the customer up.

Notices and updates about a disruption in progress are urgent and go at any hour. Apologies, surveys and
voucher letters queued during the customer's local night wait for their local morning: the letter gets a
``send_after`` and the periodic sweep of queued letters
(``care.correspondence.sending.letters_send_stale_queued``) hands
it over once that time has come. No task is published with an ETA for the morning, since a broker such as
Redis redelivers a message held longer than its visibility timeout.
"""

from __future__ import annotations

import datetime as dt

from care.core.station_time import zone_named
from care.correspondence.models.letters import LetterKind

QUIET_START = dt.time(21)
QUIET_END = dt.time(8)
# Kinds that wait for the morning when queued at night; every other kind goes at once.
KINDS_THAT_WAIT = frozenset({LetterKind.APOLOGY, LetterKind.SURVEY, LetterKind.VOUCHER})


def _is_night(clock: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start > end:  # the night spans midnight, e.g. 21:00 to 08:00
        return clock >= start or clock < end
    return start <= clock < end


def release_time(
    *, now: dt.datetime, time_zone: str, start: dt.time = QUIET_START, end: dt.time = QUIET_END
) -> dt.datetime | None:
    """None when it is daytime for the customer; otherwise their next local ``end`` o'clock, in UTC.

    The local clock is read through zoneinfo, so the night of a DST change is as long as it really is:
    02:30 on a spring-forward night is already 03:30 local time, and 08:00 the next morning is 08:00 local
    whatever the offset was at bedtime. An unknown time zone counts as UTC.
    """
    if now.tzinfo is None:
        raise ValueError("release_time needs an aware datetime.")
    zone = zone_named(time_zone) or dt.UTC
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if not _is_night(clock, start, end):
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    # A wall time inside a spring-forward gap does not exist; zoneinfo then reads it with the offset before
    # the change (fold=0), which lands just after the gap: still "the morning".
    morning = dt.datetime.combine(day, end, tzinfo=zone)
    return morning.astimezone(dt.UTC)
