"""A customer update's words and its promise name the same time.

A coordinator writes "Our next update will come by 11:00" and sets the promise in a field of its own; the letters
quote the words and state the promise, so the two must agree. ``promise_contradiction`` reads the sentences of
the text that speak of the next update (they say "update" or "hear from us") and each clock time in them
("11:00", "11:00 EST", "16:00 UTC", "4 pm"). A time with no zone, or the zone the station's clock shows at the
promise, is read on the station's clock (``care.core.station_time``); one marked UTC or GMT on UTC; a time with
any other zone is not judged. Only the time of day is compared: "07:00 on Saturday" is 07:00.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from care.core.station_time import clock_of, station_time

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ABOUT_THE_NEXT_UPDATE = re.compile(r"\bupdates?\b|\bhear from us\b", re.IGNORECASE)
# "11:00", "7:30 pm", "4 pm", each optionally followed by a zone: "11:00 EST", "(16:00 UTC)".
_CLOCK_TIME = re.compile(
    r"(?<![\d:])(?P<hour>[01]?\d|2[0-3])(?::(?P<minute>[0-5]\d))?(?![\d:])"
    r"(?:\s*(?P<half>(?i:[ap]m)\b))?"
    r"(?:\s+\(?(?P<zone>[A-Z]{2,5})\b)?"
)
_UTC_NAMES = frozenset({"UTC", "GMT", "Z"})
NOON = 12


@dataclass(frozen=True)
class NamedTime:
    words: str  # as written: "11:00 EST"
    hour: int
    minute: int
    zone: str  # "" when none was written


def times_named_for_the_next_update(text: str) -> Iterator[NamedTime]:
    """The clock times in the sentences of ``text`` that speak of the next update."""
    for sentence in _SENTENCE_END.split(text):
        if not _ABOUT_THE_NEXT_UPDATE.search(sentence):
            continue
        for match in _CLOCK_TIME.finditer(sentence):
            minute, half = match["minute"], (match["half"] or "").lower()
            if minute is None and not half:
                continue  # "3 hours", "terminal 4": a number, not a time
            hour = int(match["hour"])
            if half:
                if hour > NOON:
                    continue  # "14 pm" is no time
                hour = hour % NOON + (NOON if half == "pm" else 0)
            yield NamedTime(match.group(0).strip(), hour, int(minute or 0), match["zone"] or "")


def promise_contradiction(*, text: str, promise: dt.datetime | None, place: object) -> str | None:
    """Why ``text`` contradicts ``promise`` (the next update due, on the clock of ``place``), or None.

    A text that names a time for the next update needs a promise, and the promise's time of day on the clock
    the text names.
    """
    named = list(times_named_for_the_next_update(text))
    if not named:
        return None
    if promise is None:
        return (
            f"The text promises the next update by {named[0].words}, but no time is promised for it: "
            "fill in when the next update is due, or take the time out of the text."
        )
    clock = clock_of(place)
    local = promise.astimezone(clock.zone)
    for time in named:
        if time.zone in _UTC_NAMES:
            on_that_clock = promise.astimezone(dt.UTC)
        elif not time.zone or time.zone == local.tzname():
            on_that_clock = local
        else:
            continue  # another zone's clock: not ours to judge
        if (on_that_clock.hour, on_that_clock.minute) != (time.hour, time.minute):
            return (
                f"The text says the next update comes by {time.words}, but its promise is "
                f"{station_time(promise, place, utc=True)}: make the text and the promise agree."
            )
    return None


def promise_out_of_reach(due: dt.datetime, *, now: dt.datetime) -> str | None:
    """Why ``due`` cannot be promised to customers at ``now``, or None when it can.

    A promise in the past is broken the moment it is made; one beyond ``settings.CARE_PROMISE_HORIZON``
    (24 h unless configured) is not a promise anyone can hold us to, and a typo such as 2030 for 2013 would
    put it on every letter. The coordinator renews a promise instead.
    """
    if due <= now:
        return f"The next update must be promised for a time ahead; {station_time(due, None)} has passed."
    horizon = settings.CARE_PROMISE_HORIZON
    if due > now + horizon:
        hours = int(horizon.total_seconds() // 3600)
        return (
            f"A next update on {station_time(due, None)} is more than {hours} hours ahead: promise one within "
            f"{hours} hours, and renew the promise when it falls due."
        )
    return None
