"""The words of an incident that detection drafts: its title for staff, and what customers are told, in four
languages.

Facts only. Detection knows that flights from a station are being cancelled, diverted or delayed, and since when;
it does not know why, so the explanation says what is happening and that we are confirming the cause, never a
cause (weather, a strike) that nobody has confirmed. A coordinator rewrites it once the cause is known. The
translations say the same facts (letters hold a customer's letter whose incident has no text in their language).
No sentence speaks of the customer's own flight: a letter to a delayed passenger must not say it was cancelled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from care.core.station_time import clock_of, station_time
from care.core.stations import station

# Hours at which the station's day turns to the next part: the explanation says "this morning" or "tonight".
AFTERNOON, EVENING, NIGHT = 12, 18, 22


@dataclass(frozen=True)
class DisruptionCounts:
    """The station's disrupted departures of the day, by what happened to them."""

    cancelled: int
    diverted: int
    delayed: int


@dataclass(frozen=True)
class DraftTexts:
    title: str
    explanation: str
    translations: dict[str, str]  # language -> explanation


def _part_of_day(moment: dt.datetime, code: str) -> str:
    hour = moment.astimezone(clock_of(code).zone).hour
    # The small hours are the morning to whoever reads the letter later that day ("tonight" at 03:30 reads wrong
    # at noon); "tonight" is for the late evening only.
    if hour < AFTERNOON:
        return "morning"
    if AFTERNOON <= hour < EVENING:
        return "afternoon"
    if EVENING <= hour < NIGHT:
        return "evening"
    return "night"


def _listed(words: list[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _happening(counts: DisruptionCounts) -> list[str]:
    """What is happening to the station's departures, in the order the sentences list it."""
    found = [("cancelled", counts.cancelled), ("diverted", counts.diverted), ("delayed", counts.delayed)]
    return [name for name, count in found if count] or ["delayed"]


_PARTS = {
    "en": {"morning": "this morning", "afternoon": "this afternoon", "evening": "this evening", "night": "tonight"},
    "es": {"morning": "esta mañana", "afternoon": "esta tarde", "evening": "esta tarde", "night": "esta noche"},
    "fr": {"morning": "ce matin", "afternoon": "cet après-midi", "evening": "ce soir", "night": "cette nuit"},
    "de": {
        "morning": "heute Morgen",
        "afternoon": "heute Nachmittag",
        "evening": "heute Abend",
        "night": "heute Nacht",
    },
}
_VERBS = {
    "en": {"cancelled": "cancelled", "diverted": "diverted", "delayed": "delayed"},
    "es": {"cancelled": "cancelando", "diverted": "desviando", "delayed": "retrasando"},
    "fr": {"cancelled": "annulés", "diverted": "déroutés", "delayed": "retardés"},
}
# German places the time of day inside the first phrase ("fallen heute Morgen aus").
_DE_PHRASES = {
    "cancelled": "fallen {part} aus",
    "diverted": "werden {part} umgeleitet",
    "delayed": "verspäten sich {part}",
}
_CAUSE = {
    "en": "We are confirming the cause and will tell you as soon as we know.",
    "es": "Estamos confirmando la causa y se la comunicaremos en cuanto la conozcamos.",
    "fr": "Nous en vérifions la cause et vous la communiquerons dès que nous la connaîtrons.",
    "de": "Wir klären die Ursache und teilen sie Ihnen mit, sobald wir sie kennen.",
}


def explanation_in(language: str, *, city: str, counts: DisruptionCounts, part: str) -> str:
    """What customers are told, in ``language`` (en, es, fr or de)."""
    happening = _happening(counts)
    when = _PARTS[language][part]
    if language == "en":
        first = f"Flights from {city} are being {_listed([_VERBS['en'][w] for w in happening], 'and')} {when}."
    elif language == "es":
        first = f"Se están {_listed([_VERBS['es'][w] for w in happening], 'y')} vuelos con salida de {city} {when}."
    elif language == "fr":
        verbs = _listed([_VERBS["fr"][w] for w in happening], "ou")
        first = f"Des vols au départ de {city} sont {verbs} {when}."
    else:
        phrases = [
            " ".join(_DE_PHRASES[w].format(part=when if n == 0 else "").split()) for n, w in enumerate(happening)
        ]
        first = f"Flüge ab {city} {_listed(phrases, 'oder')}."
    return f"{first} {_CAUSE[language]}"


def title_for(code: str, counts: DisruptionCounts, since: dt.datetime) -> str:
    """For staff: "Newark (EWR): disruption detected 8 Feb 2013, 08:00 EST (12 flights cancelled, 30 delayed)".

    The counts are those that opened it, said as such: the incident's counters say how many it covers now. The
    code tells apart two stations of one city (Kennedy and LaGuardia are both New York)."""
    found = [(n, words) for n, words in ((counts.cancelled, "cancelled"), (counts.diverted, "diverted"),
                                         (counts.delayed, "delayed")) if n]  # fmt: skip
    parts = [f"{n} {words}" for n, words in found]
    if found:
        n, words = found[0]
        parts[0] = f"{n} {'flight' if n == 1 else 'flights'} {words}"
    summary = ", ".join(parts) or "flights disrupted"
    return f"{station(code).city} ({code}): disruption detected {station_time(since, code)} ({summary})"[:200]


def draft_texts(*, code: str, counts: DisruptionCounts, since: dt.datetime) -> DraftTexts:
    """The title and the customer-facing explanation (and its translations) of a detected disruption."""
    city = station(code).city
    part = _part_of_day(since, code)
    return DraftTexts(
        title=title_for(code, counts, since),
        explanation=explanation_in("en", city=city, counts=counts, part=part),
        translations={
            language: explanation_in(language, city=city, counts=counts, part=part) for language in ("es", "fr", "de")
        },
    )
