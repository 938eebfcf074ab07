"""The coordinators' paragraphs in the other customer languages (Spanish, French and German).

Each language module holds the six apologies and six prevention paragraphs, written by hand as a native
care coordinator would write them (formal address: usted, vous, Sie), the apologies per impact
(``APOLOGY_VARIANTS``, read through ``incidents.demo_data.apology_variants``), and an explanation built from the
same flight facts as the English one, so the counts and clock times cannot differ between languages, and the
customer updates of the timeline (``customer_updates``), so no letter quotes the coordinators' English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from care.core.station_time import station_time
from incidents.demo_data.story import StationFacts
from incidents.demo_data.story_translations import de, es, fr

TRANSLATED_LANGUAGES = ("es", "fr", "de")


@dataclass(frozen=True)
class StoryTranslation:
    language: str
    explanation: str
    apology: str
    prevention: str


def translations_for(facts: StationFacts) -> tuple[StoryTranslation, ...]:
    """One translation per language in ``TRANSLATED_LANGUAGES``, for this station and day."""
    key = (facts.code, facts.date)
    return (
        StoryTranslation("es", es.explanation(facts), es.APOLOGIES[key], es.PREVENTION[key]),
        StoryTranslation("fr", fr.explanation(facts), fr.APOLOGIES[key], fr.PREVENTION[key]),
        StoryTranslation("de", de.explanation(facts), de.APOLOGIES[key], de.PREVENTION[key]),
    )


def update_translations_for(facts: StationFacts, promises: Sequence[dt.datetime | None]) -> list[dict[str, str]]:
    """The timeline's customer updates in each language of ``TRANSLATED_LANGUAGES``, in the timeline's order, each
    ending with the promise it makes (``promises``, as the loader posts them: the last one is the live promise),
    told on the station's clock as the English update tells it."""
    modules = {"es": es, "fr": fr, "de": de}
    updates: list[dict[str, str]] = []
    for index, promise in enumerate(promises):
        texts = {}
        for language, module in modules.items():
            text = module.customer_updates(facts)[index]
            if promise is not None:
                text = f"{text} {module.PROMISE.format(time=station_time(promise, facts.code, date=False))}"
            texts[language] = text
        updates.append(texts)
    return updates
