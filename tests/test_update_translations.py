"""One language per letter (issue 13): a customer update reaches each customer in their language.

The coordinator's translation when there is one; without it, the customers of that language are held for
CARE_UNTRANSLATED_NEWS_HOLD (20 minutes) after the update was posted, then get the news in English, introduced
as quoted in their language. The coordinator is told at once (the form's warning, an alert, the API's answer).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from care.core.station_time import station_time
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind
from care.correspondence.phrases import phrases_for
from care.correspondence.services import letters_prepare
from care.operations.alerts import alerts_sweep
from care.operations.sweeps import sweep_kept_promises
from incidents.models import Alert, AlertKind, Audience, Incident, IncidentStatus, IncidentUpdate
from incidents.services import incident_post_update, incident_update_translation_save
from tests.admin_forms import incident_change_form
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory
from tests.sweep_harness import eager_celery

pytestmark = pytest.mark.django_db

# 10:00 in New York (EWR's clock, EDT), on a Wednesday.
START = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
NEWS = "The snow has stopped. Ploughs are clearing the runways now."
FRENCH = "La neige a cessé. Les chasse-neige dégagent les pistes."
INTRODUCTION = {
    "es": "Nuestro equipo lo redactó en inglés:",
    "fr": "Notre équipe l'a rédigé en anglais :",
    "de": "Unser Team hat es auf Englisch verfasst:",
}
TRANSLATOR = SystemActor("translation desk")


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    """Tasks published after commit run inline, as a worker would run them."""
    with eager_celery():
        yield


@pytest.fixture
def sweep(django_capture_on_commit_callbacks: Any) -> Callable[..., dict[str, int]]:
    """The kept-promises sweep at this moment, with everything it publishes after commit."""

    def run() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return sweep_kept_promises(now=timezone.now())

    return run


def storm(clock: Clock, *, languages: tuple[str, ...] = ("en", "es", "fr", "de")) -> Incident:
    """An open incident at EWR with one customer per language, whose promise falls due at 10:05 EDT."""
    clock.at(START)
    incident = IncidentFactory.create(
        status=IncidentStatus.OPEN,
        opened_at=START - dt.timedelta(hours=1),
        next_update_due_at=START + dt.timedelta(minutes=5),
    )
    for language in languages:
        AffectedCustomerFactory.create(incident=incident, customer=CustomerFactory.create(language=language))
    return incident


def post_news(incident: Incident, **translations: str) -> IncidentUpdate:
    return incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text=NEWS,
        next_update_due_at=START + dt.timedelta(minutes=5),
        translations=translations,
    )


def updates_by_language(incident: Incident) -> dict[str, list[Letter]]:
    letters: dict[str, list[Letter]] = {}
    for letter in Letter.objects.filter(incident=incident, kind=LetterKind.UPDATE).select_related("affected__customer"):
        letters.setdefault(letter.affected.customer.language, []).append(letter)  # type: ignore[union-attr]
    return letters


def test_the_translation_is_what_the_customer_reads(clock: Clock, sweep: Any) -> None:
    incident = storm(clock, languages=("en", "fr"))
    post_news(incident, fr=FRENCH)
    clock.at(START + dt.timedelta(minutes=6))

    sweep()

    letters = updates_by_language(incident)
    assert sorted(letters) == ["en", "fr"]
    assert NEWS in letters["en"][0].body_text
    french = letters["fr"][0].body_text
    assert FRENCH in french
    assert NEWS not in french  # neither pasted nor quoted: the translation replaces it
    assert LetterBatch.objects.get(incident=incident, kind=LetterKind.UPDATE).waiting_languages == []


def test_without_a_translation_the_customers_of_that_language_are_held_then_read_it_quoted(
    clock: Clock, sweep: Any
) -> None:
    incident = storm(clock)
    post_news(incident)  # English only
    clock.at(START + dt.timedelta(minutes=6))

    sweep()

    assert sorted(updates_by_language(incident)) == ["en"]  # the others wait for the translation
    batch = LetterBatch.objects.get(incident=incident, kind=LetterKind.UPDATE)
    assert batch.waiting_languages == ["es", "fr", "de"]
    assert batch.waiting_until == START + dt.timedelta(minutes=20)
    # A coordinator's "Prepare letters" does not write them either: the batch holds them.
    letters_prepare(incident_id=incident.pk, kind=LetterKind.UPDATE, sequence=1, actor_label="test")
    assert sorted(updates_by_language(incident)) == ["en"]

    clock.at(START + dt.timedelta(minutes=19, seconds=59))  # within the bound
    sweep()
    assert sorted(updates_by_language(incident)) == ["en"]

    clock.at(START + dt.timedelta(minutes=20))  # the bound: the hold never lasts longer
    counts = sweep()

    assert counts["released"] == 3
    letters = updates_by_language(incident)
    assert sorted(letters) == ["de", "en", "es", "fr"]
    for language in ("es", "fr", "de"):
        body = letters[language][0].body_text
        quoted = phrases_for(language).quoted_english.format(text=NEWS)
        assert quoted in body, language
        assert INTRODUCTION[language] in body, language
        assert body.count(NEWS) == 1, language  # quoted once, never pasted as their own words
    assert INTRODUCTION["fr"] not in letters["en"][0].body_text
    assert LetterBatch.objects.get(pk=batch.pk).waiting_languages == []


def test_a_translation_added_later_releases_its_customers_at_once_and_only_them(clock: Clock, sweep: Any) -> None:
    incident = storm(clock)
    update = post_news(incident)
    clock.at(START + dt.timedelta(minutes=6))
    sweep()
    assert sorted(updates_by_language(incident)) == ["en"]

    clock.at(START + dt.timedelta(minutes=8))
    incident_update_translation_save(update_id=update.pk, language="fr", text=FRENCH, actor=TRANSLATOR)
    clock.at(START + dt.timedelta(minutes=9))
    counts = sweep()

    assert counts["released"] == 1
    letters = updates_by_language(incident)
    assert sorted(letters) == ["en", "fr"]  # Spanish and German still wait, within the bound
    assert FRENCH in letters["fr"][0].body_text
    assert NEWS not in letters["fr"][0].body_text
    assert LetterBatch.objects.get(incident=incident, kind=LetterKind.UPDATE).waiting_languages == ["es", "de"]
    entry = AuditEntry.objects.get(action="incident.update_translation_save")
    assert entry.changes == {f"fr.update.{update.pk}": [None, FRENCH]}


def test_a_held_letter_is_written_exactly_once(clock: Clock, sweep: Any) -> None:
    incident = storm(clock, languages=("en", "fr"))
    post_news(incident)
    clock.at(START + dt.timedelta(minutes=6))
    sweep()

    clock.at(START + dt.timedelta(minutes=21))
    first = sweep()
    second = sweep()
    clock.at(START + dt.timedelta(minutes=40))  # past RESUME_AFTER: the lost-publish resume finds nothing missing
    third = sweep()

    assert (first["released"], second["released"], third["released"]) == (1, 0, 0)
    letters = updates_by_language(incident)
    assert [len(letters["en"]), len(letters["fr"])] == [1, 1]
    assert Letter.objects.filter(incident=incident, kind=LetterKind.UPDATE).count() == 2


def test_the_coordinator_is_warned_on_the_form_and_by_an_alert(clock: Clock, coordinator_client: Any) -> None:
    incident = storm(clock, languages=("en", "fr", "fr", "de"))
    due = (START + dt.timedelta(minutes=10)).astimezone(dt.timezone(dt.timedelta(hours=-4)))  # EDT
    data = incident_change_form(
        incident,
        timeline_rows=1,
        **{
            "updates-0-audience": Audience.CUSTOMERS,
            "updates-0-text": NEWS,
            "updates-0-text_de": "Der Schneefall hat aufgehört.",
            "updates-0-next_update_due_at_0": due.strftime("%Y-%m-%d"),
            "updates-0-next_update_due_at_1": due.strftime("%H:%M:%S"),
        },
    )
    url = reverse("admin:incidents_incident_change", args=[incident.pk])

    response = coordinator_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    update = IncidentUpdate.objects.get(incident=incident, audience=Audience.CUSTOMERS)
    assert dict(update.translations.values_list("language", "text")) == {"de": "Der Schneefall hat aufgehört."}
    # The hold ends at 10:20 EDT, after the promise (10:10): that is when they get it without a translation.
    expected = (
        f"{incident.reference}: 2 customers wait for a French translation of this update; they get it in English, "
        f"quoted, at {station_time(START + dt.timedelta(minutes=20), incident, date=False)} unless you add one."
    )
    assert "10:20 EDT" in expected
    warnings = [str(message) for message in get_messages(response.wsgi_request) if message.level_tag == "warning"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(expected), warnings
    alert = Alert.objects.get(kind=AlertKind.NEWS_UNTRANSLATED, resolved_at__isnull=True)
    assert (alert.incident_id, alert.message) == (incident.pk, expected)
    alerts_sweep(now=timezone.now())  # level-triggered: the condition still holds
    assert Alert.objects.get(pk=alert.pk).resolved_at is None

    # The translation, added on its own page, resolves the alert.
    add = reverse("admin:incidents_incidentupdatetranslation_add")
    response = coordinator_client.post(add, {"update": update.pk, "language": "fr", "text": FRENCH})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Alert.objects.get(pk=alert.pk).resolved_at == timezone.now()


def test_the_alert_is_resolved_when_the_hold_ends(clock: Clock) -> None:
    incident = storm(clock, languages=("en", "es"))
    post_news(incident)
    alert = Alert.objects.get(kind=AlertKind.NEWS_UNTRANSLATED)
    assert "1 customer waits for a Spanish translation" in alert.message

    clock.at(START + dt.timedelta(minutes=19))
    alerts_sweep(now=timezone.now())
    assert Alert.objects.get(pk=alert.pk).resolved_at is None
    clock.at(START + dt.timedelta(minutes=20))
    alerts_sweep(now=timezone.now())
    assert Alert.objects.get(pk=alert.pk).resolved_at == START + dt.timedelta(minutes=20)


def _post(client: Client, url: str, body: Any) -> Any:
    _, raw = api_token_create(name="OCC", scopes=["read", "ingest"])
    headers = {"Authorization": f"Bearer {raw}"}
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def test_the_api_takes_translations_shows_them_and_says_who_waits(clock: Clock, client: Client) -> None:
    incident = storm(clock, languages=("en", "fr", "fr", "es", "de"))
    url = f"/api/v1/incidents/{incident.pk}/updates/"
    due = (START + dt.timedelta(minutes=30)).isoformat()

    response = _post(
        client,
        url,
        {"audience": "customers", "text": NEWS, "next_update_due_at": due, "translations": {"es": "Dejó de nevar."}},
    )

    assert response.status_code == 201, response.content
    assert response.json()["translations"] == {"es": "Dejó de nevar."}
    assert response.json()["waiting_for_translation"] == {"fr": 2, "de": 1}
    _, raw = api_token_create(name="reader", scopes=["read"])
    listed = client.get(url, headers={"Authorization": f"Bearer {raw}"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["translations"] == {"es": "Dejó de nevar."}


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_api_refuses_a_translation_into_another_language(clock: Clock, client: Client, language: str) -> None:
    incident = storm(clock, languages=("en",))

    response = _post(
        client,
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"audience": "customers", "text": NEWS, "translations": {language: "Ha smesso di nevicare."}},
    )

    assert response.status_code == 400, response.content
    assert language in response.content.decode()
    assert not IncidentUpdate.objects.filter(incident=incident).exists()


def test_a_first_notice_quotes_an_untranslated_explanation(clock: Clock) -> None:
    incident = storm(clock, languages=("en", "fr"))

    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE, actor_label="test")

    notices = {
        letter.affected.customer.language: letter.body_text  # type: ignore[union-attr]
        for letter in Letter.objects.filter(incident=incident).select_related("affected__customer")
    }
    assert incident.explanation in notices["en"]
    assert INTRODUCTION["fr"] not in notices["en"]
    assert phrases_for("fr").quoted_english.format(text=incident.explanation) in notices["fr"]
