"""The SMS text: segments counted as the network bills them, short wording per kind and language, the check."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from care.core.errors import DomainError
from care.correspondence.sms.check import sms_check
from care.correspondence.sms.segments import GSM_BASIC, GSM_EXTENSION, MAX_SEGMENTS, Segments, sms_segments
from care.correspondence.sms.texts import WORDINGS, SmsFacts, SmsImpact, sms_text

LANGUAGES = ("en", "es", "fr", "de")
KINDS = ("initial_notice", "update", "apology", "voucher")
# A signed URL as long as the lead's will be (domain, signed letter id, timestamp and signature).
LINK = "https://care.example-airline.com/l/eyJsIjoxMjM0NTY3fQ:1uAbCd:Zx9kQ2mN4pR7sT1vW3yB5dF8hJ0lP6qS2uX4zA"
GSM_CHARS = sorted(GSM_BASIC | GSM_EXTENSION)


def _facts(**overrides: object) -> SmsFacts:
    values: dict[str, object] = {
        "first_name": "Maximiliano-Alejandro",
        "flight_label": "IB 31707",
        "flight_date": dt.date(2026, 2, 8),
        "impact": SmsImpact(delay_minutes=999),
        "booking_reference": "ABCDEFGHIJ12",
        "next_update": dt.datetime(2026, 2, 9, 20, 30, tzinfo=dt.UTC),
        "time_zone": "America/Los_Angeles",
        "link": LINK,
    }
    values.update(overrides)
    return SmsFacts(**values)  # type: ignore[arg-type]


# --- segments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments("GSM-7", 0, 0)),
        ("a" * 160, Segments("GSM-7", 160, 1)),
        ("a" * 161, Segments("GSM-7", 161, 2)),
        ("a" * 306, Segments("GSM-7", 306, 2)),
        ("a" * 307, Segments("GSM-7", 307, 3)),
        ("é" * 160, Segments("GSM-7", 160, 1)),  # é is in the GSM-7 basic set
        ("ą" * 70, Segments("UCS-2", 70, 1)),
        ("ą" * 71, Segments("UCS-2", 71, 2)),
        ("ą" * 134, Segments("UCS-2", 134, 2)),
        ("ą" * 135, Segments("UCS-2", 135, 3)),
        ("a" * 159 + "ą", Segments("UCS-2", 160, 3)),  # one character outside GSM-7 turns the whole text UCS-2
        ("😀", Segments("UCS-2", 2, 1)),  # an emoji is two UTF-16 code units
        ("a" * 69 + "😀", Segments("UCS-2", 71, 2)),
    ],
)
def test_segments_of_known_texts(text: str, expected: Segments) -> None:
    assert sms_segments(text) == expected


def test_a_euro_sign_costs_two_septets_and_keeps_the_text_gsm() -> None:
    assert sms_segments("Total 5€") == Segments("GSM-7", 9, 1)
    assert sms_segments("€" * 80) == Segments("GSM-7", 160, 1)
    assert sms_segments("€" * 81) == Segments("GSM-7", 162, 2)
    assert sms_segments("{[]}") == Segments("GSM-7", 8, 1)


def test_an_escaped_character_never_straddles_two_segments() -> None:
    # 306 septets would fill two segments exactly, but the € cannot start in the first and end in the second.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == Segments("GSM-7", 306, 3)
    assert sms_segments("a" * 151 + "€" + "a" * 153) == Segments("GSM-7", 306, 2)


def test_a_surrogate_pair_never_straddles_two_segments() -> None:
    assert sms_segments("a" * 66 + "😀" + "a" * 66) == Segments("UCS-2", 134, 3)
    assert sms_segments("a" * 65 + "😀" + "a" * 67) == Segments("UCS-2", 134, 2)


@given(st.text(alphabet=GSM_CHARS))
def test_gsm_text_is_never_counted_as_ucs2(text: str) -> None:
    counted = sms_segments(text)
    assert counted.encoding == "GSM-7"
    assert counted.units == len(text) + sum(char in GSM_EXTENSION for char in text)


@given(st.text(), st.data())
def test_segments_never_fall_as_a_text_grows(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    shorter, longer = sms_segments(text[:cut]), sms_segments(text)
    assert shorter.segments <= longer.segments
    assert shorter.units <= longer.units


@given(st.text(alphabet="abc€", max_size=700))
def test_gsm_segments_hold_their_units(text: str) -> None:
    counted = sms_segments(text)
    capacity = 160 if counted.segments <= 1 else 153 * counted.segments
    assert counted.units <= capacity
    # At most one septet per segment is lost to an escape pair that had to move on.
    assert counted.segments <= 1 or counted.units > 153 * (counted.segments - 1) - (counted.segments - 1)


# --- wording --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "impact",
    [SmsImpact(delay_minutes=999), SmsImpact(delay_minutes=185, diverted=True), SmsImpact(cancelled=True)],
    ids=["delayed", "diverted_delayed", "cancelled"],
)
def test_every_kind_and_language_fits_two_segments_in_the_worst_case(
    kind: str, language: str, impact: SmsImpact
) -> None:
    text = sms_text(kind=kind, language=language, facts=_facts(impact=impact))

    assert sms_segments(text).segments <= MAX_SEGMENTS
    assert sms_segments(text).encoding == "GSM-7"
    assert sms_check(text) == []
    # The warm wording fits even so: it greets the customer by name.
    assert "Maximiliano-Alejandro" in text
    assert "IB 31707" in text
    assert "ABCDEFGHIJ12" in text
    assert "STOP" in text
    if kind in {"apology", "voucher"}:
        assert LINK in text
    else:
        assert WORDINGS[language].impact["disrupted"] not in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_name_outside_gsm_falls_back_to_the_compact_wording_that_fits(kind: str, language: str) -> None:
    warm_would_be_ucs2 = _facts(first_name="Małgorzata-Aleksandra")

    text = sms_text(kind=kind, language=language, facts=warm_would_be_ucs2)

    assert "Małgorzata" not in text
    assert sms_segments(text).segments <= MAX_SEGMENTS
    assert sms_check(text) == []
    assert "ABCDEFGHIJ12" in text


@pytest.mark.parametrize(
    ("language", "time_zone", "shown"),
    [
        ("en", "America/Los_Angeles", "12:30 PST"),
        ("es", "Europe/Madrid", "21:30 (CET)"),
        ("fr", "Europe/Paris", "21:30 (CET)"),
        ("de", "Europe/Berlin", "21:30 Uhr (CET)"),
        ("en", "Mars/Olympus_Mons", "20:30 UTC"),  # an unknown zone tells UTC, and says so
    ],
)
def test_the_promise_is_told_on_the_customers_clock(language: str, time_zone: str, shown: str) -> None:
    promise = dt.datetime(2026, 2, 8, 20, 30, tzinfo=dt.UTC)

    text = sms_text(kind="initial_notice", language=language, facts=_facts(next_update=promise, time_zone=time_zone))

    assert shown in text


def test_a_promise_on_another_day_than_the_flight_carries_its_date() -> None:
    next_day = dt.datetime(2026, 2, 9, 17, 0, tzinfo=dt.UTC)  # 9 Feb, 09:00 in Los Angeles
    same_day = dt.datetime(2026, 2, 8, 17, 0, tzinfo=dt.UTC)

    assert "by 9 Feb, 09:00 PST." in sms_text(kind="update", language="en", facts=_facts(next_update=next_day))
    assert "by 09:00 PST." in sms_text(kind="update", language="en", facts=_facts(next_update=same_day))
    assert "avant le 09/02 à 09:00 (PST)." in sms_text(kind="update", language="fr", facts=_facts(next_update=next_day))
    assert "am 9. Feb. um 09:00 Uhr (PST)" in sms_text(kind="update", language="de", facts=_facts(next_update=next_day))
    summer = dt.datetime(2026, 7, 8, 17, 0, tzinfo=dt.UTC)
    assert "10:00 PDT" in sms_text(
        kind="update", language="en", facts=_facts(flight_date=dt.date(2026, 7, 8), next_update=summer)
    )


def test_without_a_promise_the_text_says_we_will_write_again() -> None:
    text = sms_text(kind="initial_notice", language="es", facts=_facts(next_update=None))

    assert "Le escribiremos de nuevo en cuanto tengamos novedades." in text


def test_the_impact_is_said_in_a_few_words() -> None:
    delayed = sms_text(kind="initial_notice", language="en", facts=_facts(impact=SmsImpact(delay_minutes=130)))
    cancelled = sms_text(
        kind="initial_notice", language="de", facts=_facts(impact=SmsImpact(delay_minutes=40, cancelled=True))
    )
    diverted = sms_text(kind="update", language="fr", facts=_facts(impact=SmsImpact(diverted=True)))

    assert "is delayed by 2 hours 10 minutes." in delayed
    assert "wurde annulliert." in cancelled
    assert "Verspätung" not in cancelled  # a cancelled flight is not also "late"
    assert "a été dérouté vers un autre aéroport." in diverted


def test_the_text_does_not_depend_on_the_hour_it_is_written(clock) -> None:
    clock.at(dt.datetime(2026, 2, 8, 3, 0, tzinfo=dt.UTC))
    at_night = sms_text(kind="update", language="en", facts=_facts())
    clock.at(dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC))  # another day, another DST offset

    assert sms_text(kind="update", language="en", facts=_facts()) == at_night


def test_a_language_without_sms_wording_gets_english() -> None:
    assert sms_text(kind="update", language="it", facts=_facts()) == sms_text(
        kind="update", language="en", facts=_facts()
    )


@pytest.mark.parametrize("kind", ["survey", "manual"])
def test_a_kind_without_an_sms_is_refused(kind: str) -> None:
    with pytest.raises(DomainError, match="no SMS wording"):
        sms_text(kind=kind, language="en", facts=_facts())


# --- the check ------------------------------------------------------------------------------------------


def test_the_check_holds_a_text_over_two_segments_with_its_count() -> None:
    assert sms_check("ą" * 151) == ["The text needs 3 SMS segments (UCS-2, 151 characters); at most 2 go."]
    assert sms_check("a" * 306) == []
    # 304 characters, but each € costs two septets: 307.
    assert sms_check("a" * 301 + "€€€") == ["The text needs 3 SMS segments (GSM-7, 307 characters); at most 2 go."]


def test_the_check_holds_a_letter_ready_sms_whose_link_is_too_long() -> None:
    text = sms_text(kind="voucher", language="de", facts=_facts(link=LINK + "x" * 250))

    # Even the compact wording cannot carry a link this long.
    assert sms_check(text) == ["The text needs 4 SMS segments (GSM-7, 463 characters); at most 2 go."]


def test_the_check_holds_an_unfilled_link() -> None:
    text = sms_text(kind="apology", language="en", facts=_facts(link=""))

    assert "{link}" in text
    assert sms_check(text) == ["The text still has a placeholder nobody filled in: {link}."]


@pytest.mark.parametrize("text", ["", "   \n"])
def test_the_check_holds_an_empty_text(text: str) -> None:
    assert sms_check(text) == ["The text is empty."]
