"""The coordinators' paragraphs in the other customer languages (Spanish, French and German).

Each language module holds the six apologies and six prevention paragraphs, written by hand as a native
care coordinator would write them (formal address: usted, vous, Sie), the apologies per impact
(``APOLOGY_VARIANTS``, read through ``incidents.demo_data.apology_variants``), and an explanation built from the
same flight facts as the English one, so the counts and clock times cannot differ between languages.
"""

from __future__ import annotations

from dataclasses import dataclass

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
