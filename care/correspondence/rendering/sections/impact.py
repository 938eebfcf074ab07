"""The impact section: what happened to the customer on their flight, and the other disrupted flights the
letter acknowledges (``also_incidents``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from care.correspondence.phrases import duration_text, joined, phrases_for, route_text
from care.correspondence.rendering.formatting import date_text
from incidents.models import AffectedCustomer


def impact_section(affected: AffectedCustomer, *, language: str, flight: Mapping[str, Any]) -> dict[str, Any]:
    """The facts one by one for templates that word them themselves, and ``summary``, the sentence that says
    them all (the personal-letter check looks for it, or for ``delay_text``). ``flight`` is the flight section."""
    delay = duration_text(affected.delay_minutes, language) if affected.delay_minutes else ""
    return {
        "cancelled": affected.cancelled,
        "delay_minutes": affected.delay_minutes,
        "delay_text": delay,
        "missed_connection": affected.missed_connection,
        "overnight_stay": affected.overnight_stay,
        "diverted": affected.diverted,
        "downgraded": affected.downgraded,
        "summary": _impact_summary(affected, language=language, flight=flight, delay=delay),
    }


def _impact_summary(affected: AffectedCustomer, *, language: str, flight: Mapping[str, Any], delay: str) -> str:
    phrases = phrases_for(language)
    if affected.cancelled:
        key = "cancelled"
    elif affected.diverted:
        key = "diverted_delayed" if affected.delay_minutes else "diverted"
    elif affected.delay_minutes:
        key = "delayed"
    else:
        key = "disrupted"
    main = phrases.impact[key].format(
        label=flight["label"],
        route=route_text(flight["origin_name"], flight["destination_name"], language),
        date=flight["date"],
        delay=delay,
    )
    extras = [
        phrases.extras[name]
        for name in ("missed_connection", "overnight_stay", "downgraded")
        if getattr(affected, name)
    ]
    return joined(main, extras, language)


def also_section(affected: AffectedCustomer, *, also_affected: Iterable[AffectedCustomer], language: str) -> list[str]:
    """One short line per other disrupted flight of the customer ("WN 1141 on Saturday 9 February 2013
    (cancelled)"); ``also_affected`` may include ``affected`` itself, which is left out."""
    return [_also_text(other, language) for other in also_affected if other.pk != affected.pk]


def _also_text(other: AffectedCustomer, language: str) -> str:
    phrases = phrases_for(language)
    if other.cancelled:
        what = phrases.also_what["cancelled"]
    elif other.delay_minutes:
        what = phrases.also_what["delayed"].format(delay=duration_text(other.delay_minutes, language))
    elif other.diverted:
        what = phrases.also_what["diverted"]
    else:
        what = phrases.also_what["disrupted"]
    return phrases.also.format(label=other.flight_label, date=date_text(other.flight_date, language), what=what)
