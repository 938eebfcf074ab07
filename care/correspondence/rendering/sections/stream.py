"""The stream section: the customer's other flights a notice or update covers or mentions (care.correspondence.streams).

A customer on several open incidents gets one notice and one update at a time, which names every flight it is
about. The keys it adds to the context, all empty for a letter about one flight (whose text is then what it always
was):

- ``combined``: one item per other flight the letter covers, in the order they fly: ``label``, ``date``,
  ``origin_name``, ``destination_name``, ``booking_reference``, ``reference`` (its incident), ``cancelled``,
  ``delay_text``, ``summary`` (what happened to the customer on it, the sentence ``impact.summary`` is for theirs),
  ``explanation`` (that incident's explanation in the letter's language) and, in an update, ``news`` (that
  incident's latest news, "" for none yet).
- ``also_open``: one short line per other open flight that we already write to them about separately ("WN 1141 on
  Saturday 9 February 2013 (cancelled)"): a first notice that came after the first one went.
- ``flight_labels``: every flight the letter is about, its own first, joined in the letter's language ("EV 4202 and
  EV 4099"); the flight's label alone for a letter about one flight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from care.correspondence.phrases import phrases_for
from care.correspondence.rendering.formatting import LetterFormats
from care.correspondence.rendering.sections.flight import flight_section
from care.correspondence.rendering.sections.impact import also_section, impact_section
from incidents.models import AffectedCustomer


@dataclass(frozen=True)
class CoveredFlight:
    """Another incident's row a letter covers, with that incident's words in the letter's language."""

    affected: AffectedCustomer  # its incident loaded
    explanation: str
    news: str = ""


@dataclass(frozen=True)
class StreamFacts:
    """What the letter says beyond its own incident: prepared by the renderer from a ``streams.Stream``."""

    covered: tuple[CoveredFlight, ...] = ()
    mentioned: tuple[AffectedCustomer, ...] = ()
    number: int | None = None  # a combined update's number for the customer


NO_STREAM = StreamFacts()
# What a letter says of a customer's other flight in the same incident (a leg, care.correspondence.legs) when its
# explanation or news is the one the letter has just given for their first flight: said once, not twice.
SAID_ABOVE = {
    "en": "the same as for your flight {label}, above.",
    "es": "lo mismo que para su vuelo {label}, más arriba.",
    "fr": "la même chose que pour votre vol {label}, ci-dessus.",
    "de": "dasselbe wie für Ihren Flug {label} oben.",
}


def stream_section(
    affected: AffectedCustomer, *, stream: StreamFacts, flight: Mapping[str, Any], formats: LetterFormats
) -> dict[str, Any]:
    """The ``combined``, ``also_open`` and ``flight_labels`` keys. ``flight`` is the letter's own flight section."""
    language = formats.language
    combined = []
    for covered in stream.covered:
        other = flight_section(covered.affected, formats=formats)
        impact = impact_section(covered.affected, language=language, flight=other)
        combined.append(
            {
                "label": other["label"],
                "date": other["date"],
                "origin_name": other["origin_name"],
                "destination_name": other["destination_name"],
                "booking_reference": other["booking_reference"],
                "reference": covered.affected.incident.reference,
                "cancelled": impact["cancelled"],
                "delay_text": impact["delay_text"],
                "summary": impact["summary"],
                "explanation": covered.explanation,
                "news": covered.news.strip(),
            }
        )
    labels = [str(flight["label"]), *(str(item["label"]) for item in combined)]
    return {
        "combined": combined,
        "also_open": also_section(affected, also_affected=stream.mentioned, language=language),
        "flight_labels": _joined(labels, language),
    }


def said_once(
    streamed: dict[str, Any],
    *,
    affected: AffectedCustomer,
    flight: Mapping[str, Any],
    explanation: str,
    news: str,
    language: str,
) -> None:
    """In ``streamed`` (``stream_section``'s keys), the customer's other legs of the letter's own incident point to
    what the letter said for their first flight instead of repeating the same paragraph or news word for word."""
    pointer = SAID_ABOVE.get(language, SAID_ABOVE["en"]).format(label=flight["label"])
    for item in streamed["combined"]:
        if item["reference"] != affected.incident.reference:
            continue
        if item["explanation"] and item["explanation"] == explanation.strip():
            item["explanation"] = pointer
        if item["news"] and item["news"] == news.strip():
            item["news"] = pointer


def stream_promise(
    affected: AffectedCustomer, *, stream: StreamFacts, formats: LetterFormats, now: dt.datetime
) -> str | None:
    """A combined first notice's promise: the earliest next update of the incidents it covers that is still ahead
    (each of them will write, or have its update kept by the one that writes first). None for a letter about one
    incident, which promises its incident's own next update."""
    if not stream.covered:
        return None
    dues = [
        row.incident.next_update_due_at
        for row in (affected, *(covered.affected for covered in stream.covered))
        if row.incident.next_update_due_at is not None and row.incident.next_update_due_at > now
    ]
    return formats.moment(min(dues)) if dues else ""


def _joined(items: Sequence[str], language: str) -> str:
    """ "A", "A and B", "A, B and C" in the letter's language."""
    conjunction = phrases_for(language).conjunction
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])}{conjunction}{items[-1]}"
