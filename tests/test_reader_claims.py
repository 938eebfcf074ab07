"""The personal-letter check holds a letter that speaks to a crowd, or tells its reader what did not happen to them
(care.correspondence.reader_claims), in each customer language, and passes the letters that are true to them."""

from __future__ import annotations

from typing import Any

import pytest

from care.correspondence.letter_check import personal_letter_reasons
from care.correspondence.models.letters import LetterKind, LetterStatus
from care.correspondence.reader_claims import CLAIMS, KEYWORDS, REASONS, reader_claim_reasons
from care.correspondence.rendering.choice import template_for
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.letter import render_letter
from tests.clock import Clock
from tests.letters_snapshot import demo_letters
from tests.test_rendering import OWN_APOLOGY, WRITTEN_AT, letter_for, passenger, render_now, storm_incident

DELAYED_64 = {"cancelled": False, "delay_minutes": 64, "missed_connection": False, "overnight_stay": False}
CANCELLED = {"cancelled": True, "delay_minutes": 0, "missed_connection": False, "overnight_stay": False}
STRANDED = {"cancelled": True, "delay_minutes": 0, "overnight_stay": True, "missed_connection": False}
MISSED = {"cancelled": False, "delay_minutes": 64, "missed_connection": True, "overnight_stay": False}
CROWD_REASON = "Speaks to the customer as one of many (“{}”): write to them alone."


@pytest.mark.parametrize(
    ("language", "text", "quote"),
    [
        ("en", "Some of you waited at the gate for hours.", "Some of you"),
        ("en", "We know that many of you missed dinner with your family.", "many of you"),
        ("en", "For most of you the evening was lost.", "most of you"),
        ("en", "We owe all of you an apology.", "all of you"),
        ("en", "Those of you who were rebooked will hear from us.", "Those of you"),
        ("es", "Algunos de ustedes esperaron horas en la puerta.", "de ustedes"),
        ("es", "Sabemos que muchos de ustedes perdieron la cena.", "de ustedes"),
        ("fr", "Certains d'entre vous ont attendu des heures.", "Certains d'entre vous"),
        ("fr", "Pour beaucoup d\u2019entre vous, la soirée était perdue.", "beaucoup d\u2019entre vous"),  # typographic
        ("fr", "La plupart d'entre vous ont été replacés.", "plupart d'entre vous"),
        ("de", "Einige von Ihnen haben stundenlang gewartet.", "Einige von Ihnen"),
        ("de", "Wir wissen, dass viele von Ihnen den Abend verloren haben.", "viele von Ihnen"),
        # English words in another language's letter (a paragraph still waiting for its translation).
        ("fr", "Some of you waited at the gate for hours.", "Some of you"),
    ],
)
def test_a_letter_speaking_to_a_crowd_is_held(language: str, text: str, quote: str) -> None:
    assert reader_claim_reasons(text, DELAYED_64, language=language) == [CROWD_REASON.format(quote)]


@pytest.mark.parametrize(
    ("language", "text", "facts", "reason"),
    [
        ("en", "We are sorry your flight was cancelled.", DELAYED_64, "Says the customer's flight was cancelled"),
        (
            "en",
            "We are sorry that your cancelled flight cost you the evening.",
            MISSED,
            "Says the customer's flight was cancelled",
        ),
        ("en", "We are sorry for your night at the airport hotel.", CANCELLED, "Speaks of a hotel or a night away"),
        ("en", "We have paid for your hotel.", DELAYED_64, "Speaks of a hotel or a night away"),
        ("en", "We know you had to spend the night in Newark.", CANCELLED, "Speaks of a hotel or a night away"),
        ("en", "We are sorry you missed your connecting flight.", DELAYED_64, "Speaks of a missed connection"),
        ("en", "Your flight was diverted to Albany.", DELAYED_64, "Says the customer's flight was diverted"),
        ("en", "Your flight left hours late.", DELAYED_64, "Says the customer's flight was hours late"),
        ("en", "We are sorry your flight was delayed.", CANCELLED, "Says the customer's flight was delayed"),
        # The customer, an hour and four minutes late, told of "a cancelled or badly delayed flight".
        (
            "en",
            "We are sorry that your Friday at Kennedy ended with a cancelled or badly delayed flight.",
            MISSED,
            "Hedges about what happened to the customer",
        ),
        ("es", "Lamentamos que su vuelo fuera cancelado.", DELAYED_64, "Says the customer's flight was cancelled"),
        ("es", "Hemos pagado su hotel.", DELAYED_64, "Speaks of a hotel or a night away"),
        ("es", "Lamentamos que perdiera su vuelo de conexión.", DELAYED_64, "Speaks of a missed connection"),
        ("fr", "Nous regrettons que votre vol ait été annulé.", DELAYED_64, "Says the customer's flight was cancelled"),
        ("fr", "Votre vol a été annulé hier soir.", DELAYED_64, "Says the customer's flight was cancelled"),
        ("fr", "Vous avez passé la nuit à l'aéroport.", CANCELLED, "Speaks of a hotel or a night away"),
        ("fr", "Vous avez manqué votre correspondance.", DELAYED_64, "Speaks of a missed connection"),
        ("de", "Ihr Flug wurde annulliert.", DELAYED_64, "Says the customer's flight was cancelled"),
        ("de", "Es tut uns leid, dass Ihr Flug annulliert wurde.", MISSED, "Says the customer's flight was cancelled"),
        ("de", "Wir haben Ihr Hotel bezahlt.", DELAYED_64, "Speaks of a hotel or a night away"),
        ("de", "Sie haben Ihren Anschlussflug verpasst.", DELAYED_64, "Speaks of a missed connection"),
    ],
)
def test_a_letter_telling_the_customer_what_did_not_happen_to_them_is_held(
    language: str, text: str, facts: dict[str, Any], reason: str
) -> None:
    (found,) = reader_claim_reasons(text, facts, language=language)
    assert found.startswith(reason)
    quote = found.partition("(“")[2].partition("”)")[0]
    assert quote in text  # the reason quotes the letter's own words


@pytest.mark.parametrize(
    ("language", "text", "facts"),
    [
        # True to this reader.
        ("en", "We are sorry your flight was cancelled and that you had to spend the night away.", STRANDED),
        ("en", "We are sorry that your flight left late and that you missed your connection.", MISSED),
        ("de", "Es tut uns leid, dass Ihr Flug annulliert wurde.", CANCELLED),
        # Conditionals, and general statements about the day, say nothing of this reader.
        ("en", "If your flight was cancelled, you have a new booking.", DELAYED_64),
        ("en", "Of the 341 departures scheduled from Newark, 177 were cancelled.", DELAYED_64),
        ("en", "Hotel rooms near Newark are now reserved in advance for evening departures.", DELAYED_64),
        ("en", "Every customer on a cancelled or delayed flight gets a new booking.", DELAYED_64),
        ("en", "We have been thinking of you all evening.", DELAYED_64),
        ("en", "Your night flight to Los Angeles left on time after the storm.", CANCELLED),
        ("es", "Si su vuelo fue cancelado, ya tiene una nueva reserva.", DELAYED_64),
        ("fr", "Si votre vol a été annulé, vous avez une nouvelle réservation.", DELAYED_64),
        ("fr", "Sur les 341 vols prévus, 177 ont été annulés.", DELAYED_64),
        ("de", "Falls Ihr Flug annulliert wurde, haben Sie schon eine neue Buchung.", DELAYED_64),
        ("de", "Die Kundin erzählte uns, ihr Flug wurde annulliert.", DELAYED_64),  # her flight, not the reader's
        ("de", "Wir melden uns am Freitag, 8. Februar, wieder bei Ihnen.", DELAYED_64),
    ],
)
def test_what_is_true_to_the_reader_or_not_about_them_passes(language: str, text: str, facts: dict[str, Any]) -> None:
    assert reader_claim_reasons(text, facts, language=language) == []


def test_every_phrase_holds_a_keyword_of_its_claim() -> None:
    """A phrase is only looked for in a sentence with one of its claim's keywords: one without could never fire."""
    for language, claims in CLAIMS.items():
        for claim, patterns in claims.items():
            assert claim in REASONS
            for pattern in patterns:
                assert any(word in pattern for word in KEYWORDS[language][claim]), (language, claim, pattern)


# --- through the renderer ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_crowd_in_the_coordinators_paragraph_holds_the_letter_as_a_draft(clock: Clock) -> None:
    clock.at(WRITTEN_AT)
    incident = storm_incident(apology=f"{OWN_APOLOGY} Many of you waited at the gate for hours.")
    (letter,) = render_now([letter_for(passenger(incident, cancelled=True))])
    assert letter.check_passed is False
    assert letter.status == LetterStatus.DRAFT
    assert letter.check_reasons == [CROWD_REASON.format("Many of you")]


@pytest.mark.django_db
def test_a_template_telling_every_reader_their_flight_was_cancelled_is_held_for_the_delayed(clock: Clock) -> None:
    clock.at(WRITTEN_AT)
    template = template_for(kind=LetterKind.INITIAL_NOTICE, language="en")
    delayed = passenger(storm_incident(), cancelled=False, delay_minutes=64)
    cancelled = passenger(storm_incident(), cancelled=True)
    template.body_text += "\n\nWe are so sorry that your flight was cancelled."
    for affected, expected in ((delayed, False), (cancelled, True)):
        context = letter_context(affected=affected, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT)
        reasons = personal_letter_reasons(
            rendered=render_letter(template=template, context=context), context=context, kind=LetterKind.INITIAL_NOTICE
        )
        assert (reasons == []) is expected, reasons
    # The impact sentence the letter words from the facts is the customer's own, and never read as a claim.
    context = letter_context(affected=cancelled, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT)
    assert "was cancelled" in context["impact"]["summary"]


@pytest.mark.django_db
def test_the_demo_letters_pass_the_check(clock: Clock) -> None:
    """Every letter of the demo walk (notices, updates with and without news, apologies, voucher letters, surveys;
    four languages) speaks to its reader alone and tells them only what happened to them."""
    letters = demo_letters(clock)
    claims = [reason.split(" (“")[0] for reason in REASONS.values()]
    held = [
        (letter.key, reason)
        for letter in letters
        for reason in letter.check_reasons
        if reason.startswith(tuple(claims))
    ]
    assert not held, held[:5]
    apologies = [letter for letter in letters if letter.kind == LetterKind.APOLOGY and letter.language]
    assert len(apologies) > 100
    assert all(letter.check_passed for letter in apologies), [
        letter.key for letter in apologies if not letter.check_passed
    ][:5]
