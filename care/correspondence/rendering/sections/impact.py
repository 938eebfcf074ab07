"""The impact section: what happened to the customer on their flight, and the other disrupted flights the
letter acknowledges (``also_incidents``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from care.correspondence.phrases import duration_text, joined, phrases_for, route_text
from care.correspondence.rendering.formatting import date_text
from incidents.flights import impact_worsened
from incidents.models import AffectedCustomer

# [delay_minutes, cancelled, diverted], as a letter told them (Letter.impact_told).
Told = tuple[int, bool, bool]


def impact_now(affected: AffectedCustomer) -> Told:
    return (affected.delay_minutes, affected.cancelled, affected.diverted)


def impact_section(
    affected: AffectedCustomer, *, language: str, flight: Mapping[str, Any], told_before: Told | None = None
) -> dict[str, Any]:
    """The facts one by one for templates that word them themselves, and ``summary``, the sentence that says
    them all (the personal-letter check looks for it, or for ``delay_text``). ``flight`` is the flight section.
    ``told_before``: the impact the customer's previous notice or update told them; ``change`` says what got
    worse since (empty when nothing did), so an update written for a worsened impact leads with it."""
    delay = duration_text(affected.delay_minutes, language) if affected.delay_minutes else ""
    return {
        "change": _change_text(affected, language=language, label=flight["label"], delay=delay, before=told_before),
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


def _change_text(affected: AffectedCustomer, *, language: str, label: str, delay: str, before: Told | None) -> str:
    if before is None or not impact_worsened(old=before, new=impact_now(affected)):
        return ""
    phrases = phrases_for(language).changed
    if affected.cancelled:
        now = phrases["cancelled"].format(label=label)
    elif affected.diverted and not before[2]:
        now = phrases["diverted"].format(label=label)
    else:
        now = phrases["delayed"].format(label=label, delay=delay)
    if before[0] and not before[1]:
        return f"{now} {phrases['before'].format(before=duration_text(before[0], language))}"
    return now


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
