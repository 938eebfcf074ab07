"""Issue 13's Done-when: on the demo, a letter of every impact kind in all four languages says the customer's own
facts, speaks to them alone, and in one language.

For each impact the demo has (overnight stay, cancelled, diverted, missed connection, delayed) and each letter
language, one demo customer reads their first notice, an update carrying the timeline's latest news (posted by
the demo with its translations), and their apology.
"""

from __future__ import annotations

import re

import pytest

from care.correspondence.models.letters import Letter, LetterKind
from care.correspondence.phrases import duration_text
from care.correspondence.services import letters_prepare
from care.operations.demo import demo_scenario_load
from incidents.models import AffectedCustomer, Incident
from incidents.services import incidents_transition
from incidents.update_translations import latest_news_update
from tests.clock import Clock
from tests.test_impact_variants import CROWD, DEMO_IMPACTS, LANGUAGES, START, _demo_readers

pytestmark = pytest.mark.django_db

KINDS = (LetterKind.INITIAL_NOTICE, LetterKind.UPDATE, LetterKind.APOLOGY)
# Words of another language: English in a Spanish, French or German letter; theirs in an English one.
ENGLISH_WORDS = (" the ", " and ", " we ", " our ", " your ")
OTHER_WORDS = (" nous ", " wir ", " usted ")


def _second_language(body: str, language: str) -> list[str]:
    text = " " + re.sub(r"\s+", " ", body.lower()) + " "
    words = OTHER_WORDS if language == "en" else ENGLISH_WORDS
    return [word for word in words if word in text]


def test_every_impact_reads_its_own_letters_in_one_voice_in_every_language(clock: Clock) -> None:
    clock.at(START)
    demo_scenario_load(passengers_per_flight=2)  # two per flight: four diverted passengers
    readers = _demo_readers()
    assert len(readers) == len(DEMO_IMPACTS) * len(LANGUAGES), sorted(readers)
    incidents = list(Incident.objects.order_by("pk"))
    for incident in incidents:
        letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE, actor_label="test")
        letters_prepare(incident_id=incident.pk, kind=LetterKind.UPDATE, sequence=1, actor_label="test")
    incidents_transition(incident_ids=[incident.pk for incident in incidents], target="resolved", actor_label="test")
    for incident in incidents:
        letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor_label="test")

    read = 0
    for (impact, language), affected in readers.items():
        for kind in KINDS:
            letter = Letter.objects.select_related("template").get(affected=affected, kind=kind)
            who = f"{kind} for {impact} in {language} ({affected.flight_label})"
            assert letter.template is not None, who
            assert letter.template.language == language, who
            body = letter.body_text
            _assert_own_facts(body, affected, impact=impact, language=language, who=who)
            if kind == LetterKind.UPDATE:  # the news, in their language: the coordinator's translation
                assert " ".join(_news(affected.incident_id, language).split()) in " ".join(body.split()), who
            assert not [phrase for phrase in CROWD[language] if phrase in body.lower()], who
            assert not _second_language(body, language), (who, _second_language(body, language), body)
            read += 1
    assert read == len(DEMO_IMPACTS) * len(LANGUAGES) * len(KINDS)


def _news(incident_id: int, language: str) -> str:
    update = latest_news_update(incident_id)
    assert update is not None
    if language == "en":
        return update.text
    return update.translations.get(language=language).text


def _assert_own_facts(body: str, affected: AffectedCustomer, *, impact: str, language: str, who: str) -> None:
    assert affected.flight_label in body, who
    if impact == "delayed":
        assert affected.delay_minutes, who
        assert duration_text(affected.delay_minutes, language) in body, who


def test_the_check_for_a_second_language_finds_one() -> None:
    """The assertion above can fail: a French letter quoting English unannounced, an English one with French."""
    assert _second_language("Ce qui a changé : LaGuardia is clearing the runways now.", "fr") == [" the "]
    assert _second_language("Your flight was cancelled; nous sommes désolés.", "en") == [" nous "]
    assert _second_language("Ce qui a changé : les pistes sont dégagées.", "fr") == []
