"""Times on the station's clock, for templates: ``{% load station_time %}``.

``{{ incident.started_at|station_time:incident }}`` → "8 Feb 2013, 06:00 EST";
``{{ incident.next_update_due_at|station_time_utc:incident }}`` → "8 Feb 2013, 11:00 EST (16:00 UTC)";
``{{ now|station_clock:incident }}`` → "14:03:12 EST". The argument is a place (care.core.station_time): an
incident, station codes, a customer, or nothing for UTC.
"""

from __future__ import annotations

import datetime as dt

from django import template

from care.core.station_time import station_time as _station_time

register = template.Library()


@register.filter
def station_time(moment: dt.datetime | None, place: object = None) -> str:
    return _station_time(moment, place)


@register.filter
def station_time_utc(moment: dt.datetime | None, place: object = None) -> str:
    """For a promise: the station's clock and UTC beside it."""
    return _station_time(moment, place, utc=True)


@register.filter
def station_clock(moment: dt.datetime | None, place: object = None) -> str:
    """The time of day to the second, for "last refreshed at …"."""
    return _station_time(moment, place, date=False, seconds=True)
