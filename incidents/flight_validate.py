"""Validation of flight status events, one at a time and without the database, like the ingest's rows.

An event is a JSON object (incidents.flight_feed documents the fields). A bad one is rejected with every reason
at once, in words the operations team can act on; the good ones of the same batch are applied.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from incidents.flight_models import FlightStatus
from incidents.flights import FlightKey
from incidents.ingest.validate import reference_data
from incidents.models import MAX_DELAY_MINUTES

_CARRIER = re.compile(r"^[A-Z0-9]{2}[A-Z]?$")
_FLIGHT_NUMBER = re.compile(r"^[0-9]{1,4}[A-Z]?$")
EVENT_ID_MAX = 100
TIME_FIELDS = (
    "scheduled_departure_at",
    "estimated_departure_at",
    "actual_departure_at",
    "scheduled_arrival_at",
    "estimated_arrival_at",
    "actual_arrival_at",
)
KEY_FIELDS = ("carrier", "flight_number", "flight_date", "origin")
REQUIRED_FIELDS = ("event_id", "occurred_at", *KEY_FIELDS, "status")
OPTIONAL_FIELDS = ("destination", "diverted_to", "delay_minutes", *TIME_FIELDS)
EVENT_FIELDS = frozenset(REQUIRED_FIELDS + OPTIONAL_FIELDS)
STATUSES = frozenset(FlightStatus.values)


@dataclass(frozen=True)
class CleanEvent:
    """A valid event, typed. ``values`` holds the optional fields it gave (a null clears the flight's value)."""

    index: int
    event_id: str
    occurred_at: dt.datetime
    key: FlightKey
    status: str
    values: dict[str, Any] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)  # the optional fields as sent, for the stored event

    @property
    def order(self) -> tuple[dt.datetime, str]:
        return (self.occurred_at, self.event_id)


@dataclass(frozen=True)
class RejectedEvent:
    index: int
    event_id: str
    reason: str
    raw: dict[str, Any]


def _text(value: Any, length: int | None) -> str:
    """``value`` as text that PostgreSQL stores (no NUL character, which neither text nor jsonb can hold)."""
    return str(value)[:length].replace("\x00", "\ufffd")


def _plain(value: Any) -> Any:
    """A value as a JSON column keeps it: numbers and flags as they are (not NaN), anything else as text."""
    if value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return _text(value, 200)


def _moment(value: Any, name: str, reasons: list[str]) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        reasons.append(f"{name} must be an ISO 8601 time with its offset, e.g. 2013-02-08T14:05:00-05:00")
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        reasons.append(f"{name} is not a time: {value[:40]!r}")
        return None
    if moment.tzinfo is None:
        # A time without its offset means a different instant at every station: refused, never guessed.
        reasons.append(f"{name} has no UTC offset: {value[:40]!r}")
        return None
    return moment


def _station(value: Any, name: str, reasons: list[str], *, required: bool) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not code:
        if required or (value is not None and not isinstance(value, str)):
            reasons.append(f"{name} is missing" if required else f"{name} must be an IATA airport code")
        return ""
    if code not in reference_data().stations:
        reasons.append(f"unknown airport {code[:10]!r} in {name}")
    return code


def _key(data: dict[str, Any], reasons: list[str]) -> FlightKey | None:
    carrier = str(data.get("carrier") or "").strip().upper()
    if not _CARRIER.match(carrier):
        reasons.append(
            "carrier must be a two-character IATA airline code, e.g. B6" if carrier else "carrier is missing"
        )
    number = str(data.get("flight_number") or "").strip().upper()
    if not _FLIGHT_NUMBER.match(number):
        reasons.append("flight_number must be 1 to 4 digits" if number else "flight_number is missing")
    date: dt.date | None = None
    raw_date = data.get("flight_date")
    try:
        date = dt.date.fromisoformat(raw_date.strip()) if isinstance(raw_date, str) else None
    except ValueError:
        date = None
    if date is None:
        reasons.append("flight_date must be a date like 2013-02-08" if raw_date else "flight_date is missing")
    origin = _station(data.get("origin"), "origin", reasons, required=True)
    if date is None or not _CARRIER.match(carrier) or not _FLIGHT_NUMBER.match(number) or not origin:
        return None
    return FlightKey(carrier, number, date, origin)


def event_validate(index: int, data: Any) -> CleanEvent | RejectedEvent:  # noqa: PLR0912 - one check per field
    """The typed event, or its rejection with every reason."""
    if not isinstance(data, dict):
        return RejectedEvent(index, "", "an event must be a JSON object of field: value", {"value": _text(data, 200)})
    reasons: list[str] = []
    unknown = sorted(str(name) for name in data if name not in EVENT_FIELDS)
    if unknown:
        reasons.append(f"unknown fields: {', '.join(_text(name, 40) for name in unknown[:10])}")
    raw_id = data.get("event_id")
    event_id = _text(raw_id, None).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    if not event_id:
        reasons.append("event_id is missing")
    elif len(event_id) > EVENT_ID_MAX:
        reasons.append(f"event_id is longer than {EVENT_ID_MAX} characters")
        event_id = event_id[:EVENT_ID_MAX]
    occurred_at = _moment(data.get("occurred_at"), "occurred_at", reasons)
    key = _key(data, reasons)
    status = data.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        reasons.append(f"status must be one of {', '.join(FlightStatus.values)}" if status else "status is missing")
    values: dict[str, Any] = {}
    given: dict[str, Any] = {}
    for name in TIME_FIELDS:
        if name in data:
            given[name] = data[name]
            values[name] = None if data[name] is None else _moment(data[name], name, reasons)
    for name in ("destination", "diverted_to"):
        if name in data:
            given[name] = data[name]
            values[name] = _station(data[name], name, reasons, required=False)
    if "delay_minutes" in data:
        delay = given["delay_minutes"] = data["delay_minutes"]
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MINUTES:
            reasons.append(f"delay_minutes must be a whole number from 0 to {MAX_DELAY_MINUTES}")
        else:
            values["delay_minutes"] = delay
    if reasons or occurred_at is None or key is None:
        raw = {_text(name, 40): _plain(value) for name, value in list(data.items())[:30]}
        return RejectedEvent(index, event_id, "; ".join(reasons), raw)
    return CleanEvent(index, event_id, occurred_at, key, str(status), values, given)
