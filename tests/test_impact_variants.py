"""What happened to you, in your words: the coordinator's paragraphs per impact (incidents.variants).

A letter carries the variant of the first of its customer's impacts (``Impact``'s order) that has one in the
letter's language, and the general paragraph (or its translation) when none has; the variant is written through
the services from the incident's page, audited, and counted on the letter batch page before approval.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from care.core.audit import AuditEntry
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind
from care.correspondence.phrases import duration_text
from care.correspondence.rendering.services import letters_render
from care.correspondence.selectors import batch_overview
from care.correspondence.services import letters_prepare
from care.customers.models import Customer
from care.operations.demo import DEMO_CUSTOMER_PREFIX, demo_scenario_load
from incidents.demo_data import apology_variants
from incidents.demo_data.story import FRIDAY, SATURDAY
from incidents.demo_data.story_translations import de, es, fr
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from incidents.services import incidents_refresh_counts, incidents_transition
from incidents.variants import Impact, ParagraphVariant, impacts_of
from tests.clock import Clock
from tests.test_audit import _incident_form
from tests.test_rendering import OWN_APOLOGY, WRITTEN_AT, letter_for, passenger, render_now, storm_incident

pytestmark = pytest.mark.django_db

CANCELLED_EN = "We are sorry that your flight from Newark was cancelled, and that you heard it so late from us."
DELAYED_EN = "We are sorry that your flight from Newark left late, and that nobody told you how late it would be."
MISSED_EN = "We are sorry that your flight from Newark left late and that you missed your connection because of it."
OVERNIGHT_EN = "We are sorry that the storm cost you a night away from home, and that you had to ask us for a room."
CANCELLED_FR = (
    "Nous sommes désolés que votre vol au départ de Newark ait été annulé, et que vous l'ayez appris si tard."
)


@pytest.fixture(autouse=True)
def _written_on_friday_evening(clock: Clock) -> None:
    clock.at(WRITTEN_AT)  # the letters' promised next update (2013-02-09 00:30 UTC) still lies ahead


def variant(incident: Incident, impact: str, apology: str, *, language: str = "en", **fields: str) -> None:
    ParagraphVariant.objects.create(incident=incident, language=language, impact=impact, apology=apology, **fields)


def rendered(affected: AffectedCustomer, kind: str = LetterKind.APOLOGY) -> Letter:
    (letter,) = render_now([letter_for(affected, kind=kind, sequence=1)])
    return letter


# --- which variant a customer reads ---------------------------------------------------------------------------


def test_a_customers_impacts_come_most_telling_first() -> None:
    row = AffectedCustomer(
        cancelled=True, delay_minutes=0, missed_connection=True, overnight_stay=True, diverted=False, downgraded=True
    )
    assert impacts_of(row) == ["overnight_stay", "cancelled", "missed_connection", "downgraded"]
    late = AffectedCustomer(cancelled=False, delay_minutes=64, missed_connection=True, diverted=True)
    assert impacts_of(late) == ["diverted", "missed_connection", "delayed"]
    # A cancelled flight's customer is told of the cancellation, not of a delay recorded with it.
    assert "delayed" not in impacts_of(AffectedCustomer(cancelled=True, delay_minutes=300))
    assert impacts_of(AffectedCustomer(cancelled=False, delay_minutes=0)) == []


def test_each_customer_reads_the_variant_of_their_own_impact() -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    for written_for, text in (
        (Impact.CANCELLED, CANCELLED_EN),
        (Impact.DELAYED, DELAYED_EN),
        (Impact.MISSED_CONNECTION, MISSED_EN),
        (Impact.OVERNIGHT_STAY, OVERNIGHT_EN),
    ):
        variant(incident, written_for, text)
    readers = {
        "overnight_stay": passenger(incident, cancelled=True, overnight_stay=True),
        "cancelled": passenger(incident, cancelled=True),
        # The customer of the issue: an hour and four minutes late, and the connection gone.
        "missed_connection": passenger(incident, cancelled=False, delay_minutes=64, missed_connection=True),
        "delayed": passenger(incident, cancelled=False, delay_minutes=64),
        "": passenger(incident, cancelled=False, delay_minutes=0, downgraded=True),  # no variant for a downgrade
    }
    texts = {
        "overnight_stay": OVERNIGHT_EN,
        "cancelled": CANCELLED_EN,
        "missed_connection": MISSED_EN,
        "delayed": DELAYED_EN,
        "": OWN_APOLOGY,
    }

    for impact, affected in readers.items():
        letter = rendered(affected)
        assert letter.paragraph_variant == impact
        assert texts[impact] in letter.body_text
        assert letter.check_passed is True, letter.check_reasons
        for other, text in texts.items():
            if other != impact:
                assert text not in letter.body_text


def test_without_a_variant_for_the_first_impact_the_next_one_is_used_then_the_general() -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    variant(incident, Impact.DELAYED, DELAYED_EN)
    late_and_stranded = passenger(incident, cancelled=False, delay_minutes=64, missed_connection=True)

    letter = rendered(late_and_stranded)

    assert (letter.paragraph_variant, DELAYED_EN in letter.body_text) == ("delayed", True)
    ParagraphVariant.objects.filter(incident=incident).delete()
    letter = rendered(passenger(incident, cancelled=False, delay_minutes=64, missed_connection=True))
    assert (letter.paragraph_variant, OWN_APOLOGY in letter.body_text) == ("", True)


def test_a_variant_is_read_in_its_own_language_only() -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    variant(incident, Impact.CANCELLED, CANCELLED_FR, language="fr")
    french = passenger(incident, language="fr", name="Claire Dubois", preferred_name="Claire", cancelled=True)
    english = passenger(incident, cancelled=True)
    spanish = passenger(incident, language="es", name="Lucía Pérez", preferred_name="Lucía", cancelled=True)

    for_french, for_english, for_spanish = render_now([letter_for(french), letter_for(english), letter_for(spanish)])

    assert for_french.paragraph_variant == "cancelled"
    assert CANCELLED_FR in for_french.body_text
    assert for_french.check_passed is True, for_french.check_reasons
    # No English variant: the English reader gets the general paragraph, never the French variant …
    assert (for_english.paragraph_variant, OWN_APOLOGY in for_english.body_text) == ("", True)
    assert CANCELLED_FR not in for_english.body_text
    # … and the Spanish reader the paragraph's Spanish translation.
    assert (for_spanish.paragraph_variant, f"[es] {OWN_APOLOGY}" in for_spanish.body_text) == ("", True)


def test_a_variant_with_an_explanation_gives_it_to_notices_too() -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    landed_elsewhere = "Your flight landed in Albany because Newark closed its runways while you were in the air."
    variant(
        incident,
        Impact.DIVERTED,
        "We are sorry that your flight had to land at another airport.",
        explanation=landed_elsewhere,
    )
    variant(incident, Impact.CANCELLED, CANCELLED_EN)  # no explanation of its own
    diverted = passenger(incident, cancelled=False, diverted=True, delay_minutes=95)
    cancelled = passenger(incident, cancelled=True)

    notice = rendered(diverted, LetterKind.INITIAL_NOTICE)
    other_notice = rendered(cancelled, LetterKind.INITIAL_NOTICE)
    survey = rendered(diverted, LetterKind.SURVEY)

    assert (notice.paragraph_variant, landed_elsewhere in notice.body_text) == ("diverted", True)
    assert notice.check_passed is True, notice.check_reasons
    # The cancelled customer's notice carries the general explanation: their variant gives only an apology.
    assert other_notice.paragraph_variant == ""
    assert incident.explanation in other_notice.body_text
    assert survey.paragraph_variant == ""  # a survey carries neither paragraph


def test_variants_cost_one_query_whatever_the_letters() -> None:
    def letters(count: int) -> list[int]:
        incident = storm_incident(apology=OWN_APOLOGY)
        variant(incident, Impact.CANCELLED, CANCELLED_EN)
        variant(incident, Impact.DELAYED, DELAYED_EN)
        return [
            letter_for(passenger(incident, cancelled=n % 2 == 0, delay_minutes=0 if n % 2 == 0 else 70)).pk
            for n in range(count)
        ]

    few, many = letters(4), letters(40)
    with CaptureQueriesContext(connection) as for_few:
        letters_render(letter_ids=few)
    with CaptureQueriesContext(connection) as for_many:
        letters_render(letter_ids=many)

    assert len(for_few) == len(for_many)
    assert sum("incidents_paragraphvariant" in query["sql"] for query in for_many.captured_queries) == 1
    assert Letter.objects.filter(pk__in=many, paragraph_variant="delayed").count() == 20


# --- the incident's page: written through the services, audited ------------------------------------------------


def _variant_form(incident: Incident, *, rows: list[dict[str, str]], initial: int = 0) -> dict[str, str]:
    form = _incident_form(incident) | {
        "paragraph_variants-TOTAL_FORMS": str(len(rows)),
        "paragraph_variants-INITIAL_FORMS": str(initial),
    }
    for index, row in enumerate(rows):
        form |= {f"paragraph_variants-{index}-{name}": value for name, value in row.items()}
    return form


def test_the_incident_page_writes_variants_through_the_service_and_audits_them(
    coordinator_client: Any, coordinator: Any
) -> None:
    incident = storm_incident(apology=OWN_APOLOGY, status=IncidentStatus.RESOLVED)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = coordinator_client.get(url).content.decode()
    assert "Paragraphs per impact" in page
    assert 'name="paragraph_variants-TOTAL_FORMS"' in page

    row = {"language": "fr", "impact": "cancelled", "apology": CANCELLED_FR, "explanation": ""}
    response = coordinator_client.post(url, _variant_form(incident, rows=[row]))

    assert response.status_code == 302, response.content.decode()[:3000]
    stored = ParagraphVariant.objects.get(incident=incident)
    assert (stored.language, stored.impact, stored.apology) == ("fr", "cancelled", CANCELLED_FR)
    entry = AuditEntry.objects.get(action="incident.variant_save")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        coordinator.pk,
        "incidents.incident",
        str(incident.pk),
    )
    assert entry.changes == {"fr.cancelled.apology": [None, CANCELLED_FR]}

    # Deleted on the same form: through the service, audited with the words that are gone.
    deleting = {**row, "id": str(stored.pk), "incident": str(incident.pk), "DELETE": "on"}
    response = coordinator_client.post(url, _variant_form(incident, rows=[deleting], initial=1))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert not ParagraphVariant.objects.filter(incident=incident).exists()
    removed = AuditEntry.objects.get(action="incident.variant_delete")
    assert removed.changes["fr.cancelled.apology"] == [CANCELLED_FR, None]


def test_a_second_paragraph_for_the_same_impact_and_language_is_refused(coordinator_client: Any) -> None:
    incident = storm_incident(apology=OWN_APOLOGY, status=IncidentStatus.RESOLVED)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    rows = [
        {"language": "en", "impact": "delayed", "apology": DELAYED_EN, "explanation": ""},
        {"language": "en", "impact": "delayed", "apology": MISSED_EN, "explanation": ""},
    ]

    response = coordinator_client.post(url, _variant_form(incident, rows=rows))

    assert response.status_code == 200  # the form again, with the error
    assert not ParagraphVariant.objects.exists()
    assert not AuditEntry.objects.filter(action="incident.variant_save").exists()


# --- the letter batch page: how many letters carry each variant, before approval --------------------------------


def test_the_batch_page_counts_the_letters_of_each_variant(coordinator_client: Any) -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    variant(incident, Impact.CANCELLED, CANCELLED_EN)
    variant(incident, Impact.DELAYED, DELAYED_EN)
    for _ in range(3):
        passenger(incident, cancelled=True)
    for _ in range(2):
        passenger(incident, cancelled=False, delay_minutes=75)
    passenger(incident, cancelled=False, delay_minutes=0, downgraded=True)  # no variant: the general paragraph
    passenger(incident, cancelled=True, language="fr", name="Claire Dubois", preferred_name="Claire")  # no French one
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)

    batch = letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor_label="test").batch

    counts = {row.label: (row.letters, row.by_language) for row in batch_overview(batch).variants}
    assert counts == {
        "cancelled": (3, [("en", 3)]),
        "delayed": (2, [("en", 2)]),
        "general": (2, [("en", 1), ("fr", 1)]),
    }
    assert [row.label for row in batch_overview(batch).variants] == ["cancelled", "delayed", "general"]
    page = coordinator_client.get(reverse("admin:care_letterbatch_change", args=[batch.pk])).content.decode()
    assert "Which apology paragraph the letters carry" in page
    assert "<td>cancelled</td><td>3</td><td>en 3</td>" in page
    assert "<td>delayed</td><td>2</td><td>en 2</td>" in page
    assert "<td>general (no variant fits)</td><td>2</td><td>en 1 · fr 1</td>" in page


def test_the_variant_counts_are_one_query_whatever_the_batch() -> None:
    def batch(count: int) -> LetterBatch:
        incident = storm_incident(apology=OWN_APOLOGY, status=IncidentStatus.RESOLVED)
        variant(incident, Impact.CANCELLED, CANCELLED_EN)
        for n in range(count):
            passenger(incident, cancelled=n % 2 == 0, delay_minutes=0 if n % 2 == 0 else 70)
        return letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor_label="test").batch

    small, large = batch(3), batch(30)
    with CaptureQueriesContext(connection) as for_small:
        batch_overview(small)
    with CaptureQueriesContext(connection) as for_large:
        overview = batch_overview(large)
    assert len(for_small) == len(for_large)
    assert {row.label: row.letters for row in overview.variants} == {"cancelled": 15, "general": 15}


# --- the demo: every impact, in every language, reads as written to that customer ------------------------------

START = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
LANGUAGES = ("en", "es", "fr", "de")
# The demo's impacts, each as the first of a customer's impacts (a diversion only on Friday, at EWR and LGA).
DEMO_IMPACTS = ("overnight_stay", "cancelled", "diverted", "missed_connection", "delayed")
VARIANTS = {"en": apology_variants.APOLOGY_VARIANTS, "es": es.APOLOGY_VARIANTS, "fr": fr.APOLOGY_VARIANTS}
VARIANTS["de"] = de.APOLOGY_VARIANTS
# Addressing a crowd, in each language: the demo's paragraphs before this issue said all of these.
CROWD = {
    "en": ("some of you", "many of you", "most of you", "all of you", "those of you"),
    "es": ("ustedes", "algunos pasajeros", "muchos pasajeros"),
    "fr": ("d'entre vous", "d\u2019entre vous"),
    "de": ("von Ihnen",),
}
# Words of an impact the customer did not have: a cancellation, a night away.
CANCELLATION = {"en": "cancel", "es": "cancel", "fr": "annul", "de": "annull"}
NIGHT = {"en": "night", "es": "noche", "fr": "nuit", "de": "Nacht"}
STATIONS = {"INC-20130208-0001": ("EWR", FRIDAY), "INC-20130208-0002": ("JFK", FRIDAY)}
STATIONS |= {"INC-20130208-0003": ("LGA", FRIDAY), "INC-20130209-0001": ("EWR", SATURDAY)}
STATIONS |= {"INC-20130209-0002": ("JFK", SATURDAY), "INC-20130209-0003": ("LGA", SATURDAY)}


def _demo_readers() -> dict[tuple[str, str], AffectedCustomer]:
    """Four demo customers of each impact, disrupted once, given one letter language each (the demo's seed draws
    English for seven in ten, and only three flights were diverted); every other passenger is left out."""
    once = Customer.objects.annotate(flights=Count("affected")).filter(flights=1).values("pk")
    rows_once = list(AffectedCustomer.objects.select_related("customer").filter(customer__in=once).order_by("pk"))
    readers: dict[tuple[str, str], AffectedCustomer] = {}
    for impact in DEMO_IMPACTS:
        rows = [row for row in rows_once if impacts_of(row)[:1] == [impact]][: len(LANGUAGES)]
        for row, language in zip(rows, LANGUAGES, strict=False):
            Customer.objects.filter(pk=row.customer_id).update(language=language)
            row.customer.language = language
            readers[(impact, language)] = row
    kept = [row.pk for row in readers.values()]
    AffectedCustomer.objects.exclude(pk__in=kept).delete()
    Customer.objects.filter(external_ref__startswith=DEMO_CUSTOMER_PREFIX).exclude(affected__pk__in=kept).delete()
    incidents_refresh_counts(incident_ids=list(Incident.objects.values_list("pk", flat=True)))
    return readers


def test_on_the_demo_every_impact_reads_its_own_apology_in_every_language(clock: Clock) -> None:
    clock.at(START)
    demo_scenario_load(passengers_per_flight=2)  # two per flight: four diverted passengers
    readers = _demo_readers()
    assert len(readers) == len(DEMO_IMPACTS) * len(LANGUAGES), sorted(readers)
    incidents_transition(
        incident_ids=list(Incident.objects.values_list("pk", flat=True)), target="resolved", actor_label="test"
    )
    for incident in Incident.objects.all():
        letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor_label="test")

    for (impact, language), affected in readers.items():
        letter = Letter.objects.select_related("template", "incident").get(affected=affected, kind=LetterKind.APOLOGY)
        paragraph = VARIANTS[language][STATIONS[letter.incident.reference]][impact]  # type: ignore[union-attr]
        body, opening = letter.body_text, letter.parts["acknowledgement"]
        who = f"{impact} in {language} ({letter.incident.reference}, {affected.flight_label})"  # type: ignore[union-attr]
        assert letter.template is not None, who
        assert letter.template.language == language, who
        assert letter.check_passed is True, (who, letter.check_reasons)
        assert letter.paragraph_variant == impact, who
        # Their own facts: their flight, their variant of the apology, and how late they were.
        assert affected.flight_label in body, who
        assert " ".join(paragraph.split()) in " ".join(body.split()), who
        if impact in ("delayed", "missed_connection"):
            assert duration_text(affected.delay_minutes, language) in body, who
        # Spoken to them alone, and nothing said of what did not happen to them.
        assert not [phrase for phrase in CROWD[language] if phrase in body.lower()], who
        if not affected.cancelled:
            assert CANCELLATION[language] not in opening.lower(), who
        if not affected.overnight_stay:
            assert NIGHT[language].lower() not in opening.lower(), who
