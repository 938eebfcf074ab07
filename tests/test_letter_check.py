"""The personal-letter check: letters that are not personal enough are held as drafts, with the reasons."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone

from care.correspondence.letter_check import (
    COPIED_COVERAGE,
    copied_share,
    personal_letter_reasons,
    recycled_paragraph_reason,
    recycled_paragraph_reasons,
)
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.rendering.choice import template_for
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.letter import render_letter
from incidents.demo_data import read_flights
from incidents.demo_data.story import APOLOGIES, FRIDAY, SATURDAY, StationFacts, Story, story_for
from incidents.models import Incident
from tests.factories import IncidentFactory, VoucherFactory
from tests.test_rendering import (
    AFTER_THE_DOT_RULE,
    OWN_APOLOGY,
    letter_for,
    passenger,
    render_now,
    storm_incident,
    use_template,
)
from vouchers.law import entitlements_for

pytestmark = pytest.mark.django_db

# The demo's Newark Friday paragraph, written to one reader.
EWR_FRIDAY = APOLOGIES[("EWR", FRIDAY)]
# The same paragraph with the station and the day changed: what a hurried coordinator might paste.
EWR_FRIDAY_EDITED = (
    EWR_FRIDAY.replace("Friday 8 February", "Saturday 9 February").replace("Newark", "Kennedy").replace(" truly", "")
)


def demo_stories() -> dict[tuple[str, Any], Story]:
    flights = read_flights()
    stories = {}
    for station in ("EWR", "JFK", "LGA"):
        for day in (FRIDAY, SATURDAY):
            mine = [flight for flight in flights if flight.origin == station and flight.date == day]
            stories[(station, day)] = story_for(StationFacts.of(mine))
    return stories


def demo_incident(station: str = "EWR", day: Any = FRIDAY) -> Incident:
    story = demo_stories()[(station, day)]
    return storm_incident(
        title=story.title, explanation=story.explanation, apology=story.apology, prevention=story.prevention
    )


# --- the demo passes -------------------------------------------------------------------------------------


def test_the_demo_letter_passes() -> None:
    incident = demo_incident()
    affected = passenger(incident, flight_number="250", destination="LAX", cancelled=True, overnight_stay=True)
    VoucherFactory.create(affected=affected)
    (letter,) = render_now([letter_for(affected)])
    assert letter.check_reasons == []
    assert letter.check_passed is True


def test_the_six_demo_paragraphs_are_each_their_own() -> None:
    incidents = [demo_incident(station, day) for day in (FRIDAY, SATURDAY) for station in ("EWR", "JFK", "LGA")]
    assert recycled_paragraph_reasons(incidents=incidents) == {incident.pk: None for incident in incidents}
    stories = list(demo_stories().values())
    shares = [copied_share(a.apology, b.apology) for a in stories for b in stories if a is not b]
    assert max(shares) < 0.2  # independent paragraphs about the same storm share no long runs of words


# --- letters that lack a customer fact -------------------------------------------------------------------------


def test_a_template_that_omits_the_flight_is_held() -> None:
    use_template(
        body_text=(
            "Dear {{ customer.greeting_name }},\n\n{{ incident.apology }}\n\nYou were {{ impact.delay_text }} late."
            "\n\n{{ incident.explanation }}"
        )
    )
    affected = passenger(cancelled=False, delay_minutes=150)  # under 3 hours: no refund to mention
    (letter,) = render_now([letter_for(affected)])
    assert letter.check_passed is False
    assert letter.check_reasons == ["Does not name the customer's flight (UA 1545)."]
    assert letter.status == LetterStatus.DRAFT
    assert letter.body_text.startswith("Dear Maggie,")  # rendered, so the coordinator can see what is missing


def test_a_form_letter_is_held_with_every_reason() -> None:
    use_template(body_text="Dear customer,\n\nWe are sorry for the disruption to your travel.")
    (letter,) = render_now([letter_for(passenger(cancelled=True, **AFTER_THE_DOT_RULE))])
    assert letter.check_reasons == [
        "Does not name the customer (Maggie).",
        "Does not name the customer's flight (UA 1545).",
        (
            "Does not say what happened to the customer (Your flight UA 1545 from Newark to Chicago on Friday "
            "7 February 2025 was cancelled.)."
        ),
        "Does not include the incident's explanation of what happened.",
        "Does not include the coordinator's apology paragraph, only the template's wording.",
        "Does not tell the customer what they are owed (US DOT refund rule).",
    ]


def test_a_voucher_offered_before_the_refund_is_held() -> None:
    use_template(
        body_text=(
            "Dear {{ customer.greeting_name }}, {{ impact.summary }} {{ incident.explanation }} {{ incident.apology }}"
            "{% for voucher in vouchers %} {{ voucher.code }}{% endfor %}"
            "{% for entitlement in entitlements %} {{ entitlement.text }}{% endfor %}"
        )
    )
    affected = passenger(cancelled=True, **AFTER_THE_DOT_RULE)
    VoucherFactory.create(affected=affected)
    (letter,) = render_now([letter_for(affected)])
    assert letter.check_reasons == [
        (
            "Offers a voucher before saying what the customer is owed (US DOT refund rule): the refund or "
            "compensation comes first."
        )
    ]


def test_a_letter_that_leaves_out_the_voucher_or_the_refund_is_held() -> None:
    use_template(
        body_text=(
            "Dear {{ customer.greeting_name }}, {{ impact.summary }} {{ incident.explanation }} {{ incident.apology }}"
        )
    )
    affected = passenger(cancelled=True, **AFTER_THE_DOT_RULE)
    voucher = VoucherFactory.create(affected=affected)
    (letter,) = render_now([letter_for(affected)])
    assert letter.check_reasons == [
        f"Does not give the voucher code ({voucher.code}).",
        "Does not tell the customer what they are owed (US DOT refund rule).",
    ]


# --- the coordinator's paragraph -----------------------------------------------------------------------------


def _days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def test_a_paragraph_copied_from_an_earlier_incident_is_held() -> None:
    earlier = storm_incident(apology=EWR_FRIDAY, started_at=_days_ago(7))  # another disruption
    later = IncidentFactory.create(apology=EWR_FRIDAY_EDITED, next_update_due_at=earlier.next_update_due_at)
    first, second = render_now([letter_for(passenger(earlier)), letter_for(passenger(later))])
    assert first.check_passed is True
    assert second.check_passed is False
    (reason,) = second.check_reasons
    share = round(copied_share(EWR_FRIDAY_EDITED, EWR_FRIDAY) * 100)
    assert share >= 80
    assert (
        reason == f"The apology paragraph is {share}% the same as {earlier.reference}'s: write one for this incident."
    )


def test_a_paragraph_is_judged_against_earlier_incidents_only() -> None:
    later_written = storm_incident(apology=EWR_FRIDAY, started_at=_days_ago(7))
    assert recycled_paragraph_reason(incident=later_written) is None
    copy = IncidentFactory.create(apology=EWR_FRIDAY)
    assert recycled_paragraph_reason(incident=later_written) is None
    assert f"100% the same as {later_written.reference}'s" in (recycled_paragraph_reason(incident=copy) or "")


def test_a_paragraph_with_its_sentences_reordered_is_still_a_copy() -> None:
    sentences = [sentence.strip() + "." for sentence in EWR_FRIDAY.split(".") if sentence.strip()]
    reordered = " ".join(reversed(sentences))
    assert copied_share(reordered, EWR_FRIDAY) >= 0.9
    storm_incident(apology=EWR_FRIDAY, started_at=_days_ago(7))
    assert "the same as" in (recycled_paragraph_reason(incident=IncidentFactory.create(apology=reordered)) or "")


def test_a_paragraph_taken_from_the_template_is_held() -> None:
    boilerplate = template_for(kind=LetterKind.APOLOGY, language="en").body_text.split("\n\n")[-3]
    paragraph = "We are sorry. " + boilerplate.replace("{% if flight.booking_reference %}", "").replace(
        "{% endif %}", ""
    )
    assert len(paragraph) >= 120
    reason = recycled_paragraph_reason(incident=storm_incident(apology=paragraph))
    assert reason is not None
    assert "the same as the template “Apology / follow-up (en) v1”" in reason


@pytest.mark.parametrize(
    ("apology", "reason"),
    [
        ("", "The incident has no apology paragraph: write one for this incident."),
        (
            "We are sorry for the delay.",
            "The apology paragraph is only 27 characters long: write at least 120 in your own words for this incident.",
        ),
    ],
)
def test_an_empty_or_short_paragraph_is_held(apology: str, reason: str) -> None:
    incident = storm_incident(apology=apology)
    assert recycled_paragraph_reason(incident=incident) == reason
    (letter,) = render_now([letter_for(passenger(incident))])
    assert letter.check_passed is False
    assert reason in letter.check_reasons


def test_a_new_paragraph_passes_even_after_many_incidents() -> None:
    for _ in range(5):
        storm_incident(apology=EWR_FRIDAY)
    assert recycled_paragraph_reason(incident=storm_incident(apology=OWN_APOLOGY)) is None


def test_the_paragraph_check_is_two_queries_whatever_the_incidents(django_assert_num_queries: Any) -> None:
    # Twelve disruptions two days apart, so none is part of another's event.
    incidents = [
        storm_incident(apology=f"{OWN_APOLOGY} Incident number {n}.", started_at=_days_ago(2 * (12 - n)))
        for n in range(12)
    ]
    with django_assert_num_queries(2):
        reasons = recycled_paragraph_reasons(incidents=incidents)
    assert reasons[incidents[0].pk] is None
    assert all(reasons[incident.pk] for incident in incidents[1:])  # each copies the first


def test_incidents_of_one_event_may_share_their_apology() -> None:
    """One storm, three stations: the coordinator writes one apology for the event. The check is for form letters
    across unrelated disruptions, so an incident of the same cause within a day of another may share its text;
    another cause on the same day, or the same cause a week later, may not."""
    from incidents.models import Cause

    newark = storm_incident(apology=EWR_FRIDAY, started_at=_days_ago(1))
    kennedy = storm_incident(apology=EWR_FRIDAY, started_at=newark.started_at + dt.timedelta(hours=3))
    outage = storm_incident(apology=EWR_FRIDAY, started_at=kennedy.started_at, cause=Cause.IT)
    next_week = storm_incident(apology=EWR_FRIDAY, started_at=newark.started_at + dt.timedelta(days=7))
    reasons = recycled_paragraph_reasons(incidents=[newark, kennedy, outage, next_week])
    assert reasons[newark.pk] is None
    assert reasons[kennedy.pk] is None
    assert f"100% the same as {newark.reference}'s" in (reasons[outage.pk] or "")
    assert "100% the same as" in (reasons[next_week.pk] or "")


def test_copied_share_measures_the_covered_words() -> None:
    assert copied_share(EWR_FRIDAY, EWR_FRIDAY) == 1.0
    assert copied_share(EWR_FRIDAY, OWN_APOLOGY) == 0.0
    half = " ".join(EWR_FRIDAY.split()[:40]) + " " + OWN_APOLOGY
    assert 0.4 < copied_share(half, EWR_FRIDAY) < COPIED_COVERAGE


# --- kinds that need fewer facts, and speed ---------------------------------------------------------------


def test_a_survey_needs_only_the_customer_and_the_flight() -> None:
    use_template(kind=LetterKind.SURVEY, body_text="Dear {{ customer.greeting_name }}, how was {{ flight.label }}?")
    (letter,) = render_now([letter_for(passenger(storm_incident(apology="")), kind=LetterKind.SURVEY)])
    assert letter.check_passed is True


def test_the_per_letter_check_is_fast_enough_for_100000_letters() -> None:
    affected = passenger(cancelled=True)
    VoucherFactory.create(affected=affected)
    context = letter_context(
        affected=affected,
        kind=LetterKind.APOLOGY,
        vouchers=affected.vouchers.all(),
        entitlements=entitlements_for(affected),
    )
    rendered = render_letter(template=template_for(kind=LetterKind.APOLOGY, language="en"), context=context)
    assert personal_letter_reasons(rendered=rendered, context=context, kind=LetterKind.APOLOGY) == []
    started = time.perf_counter()
    for _ in range(20_000):
        personal_letter_reasons(rendered=rendered, context=context, kind=LetterKind.APOLOGY)
    # Substring tests take microseconds per letter; any similarity measure here would take seconds per thousand.
    assert (time.perf_counter() - started) * 5 < 30, "100,000 letters would take more than 30 seconds"


def test_held_letters_stay_drafts_and_keep_their_reasons_for_the_coordinator() -> None:
    incident = storm_incident(apology="Sorry.")
    ids = [letter_for(passenger(incident)).pk for _ in range(3)]
    render_now([Letter.objects.get(pk=pk) for pk in ids])
    held = Letter.objects.filter(pk__in=ids, check_passed=False, status=LetterStatus.DRAFT)
    assert held.count() == 3
    assert all("only 6 characters long" in letter.check_reasons[0] for letter in held)
