"""Rendering personal letters: the context, the sandboxed templates, the bulk service and the default templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from care.correspondence.default_templates import DEFAULT_TEMPLATES, default_templates_install
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.choice import NoActiveTemplate, template_for
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.letter import LetterRenderError, render_letter
from care.correspondence.rendering.services import letters_render
from incidents.demo_data.story import APOLOGIES, FRIDAY, PREVENTION
from incidents.models import AffectedCustomer, Incident, IncidentTranslation
from tests.factories import AffectedCustomerFactory, IncidentFactory, LetterFactory, VoucherFactory
from vouchers.law import US_DOT_REFUND_NAME, entitlements_for
from vouchers.models import VoucherStatus

pytestmark = pytest.mark.django_db

# 22:30 UTC on Friday 8 February 2013: 17:30 in New York (EST), 23:30 in Paris (CET).
DEPARTURE = dt.datetime(2013, 2, 8, 22, 30, tzinfo=dt.UTC)
# The promised next update, and "now" when the letter is written: the promise still lies ahead.
NEXT_UPDATE = dt.datetime(2013, 2, 9, 0, 30, tzinfo=dt.UTC)
WRITTEN_AT = dt.datetime(2013, 2, 8, 20, 0, tzinfo=dt.UTC)
# The same flight on Friday 7 February 2025 (17:30 EST): one the US DOT refund rule covers, as it is decided by the
# flight's date and applies from 28 October 2024. The 2013 flight is owed no refund under it.
AFTER_THE_DOT_RULE: dict[str, Any] = {
    "flight_date": dt.date(2025, 2, 7),
    "scheduled_departure_at": dt.datetime(2025, 2, 7, 22, 30, tzinfo=dt.UTC),
}
EXPLANATION = (
    "A blizzard brought heavy snow and high winds to the New York area on Friday 8 February 2013, and flight "
    "operations at Newark were suspended for the rest of the day."
)
# A paragraph of our own, so that no default-template test depends on the demo's wording.
OWN_APOLOGY = (
    "We let you down on Friday, and we are sorry. You planned your evening around a flight we could not fly, "
    "and for too long you did not hear from us what that meant for you. That part was ours to get right."
)


# --- helpers ---------------------------------------------------------------------------------------------


def storm_incident(*, translated: bool = True, **fields: Any) -> Incident:
    values = {
        "explanation": EXPLANATION,
        "apology": APOLOGIES[("EWR", FRIDAY)],
        "prevention": PREVENTION[("EWR", FRIDAY)],
        "next_update_due_at": NEXT_UPDATE,
        **fields,
    }
    incident = IncidentFactory.create(**values)
    if translated:
        # The coordinator's paragraphs in each customer language (stand-ins: the wording is not under test).
        IncidentTranslation.objects.bulk_create(
            IncidentTranslation(
                incident=incident,
                language=language,
                explanation=f"[{language}] {incident.explanation}",
                apology=f"[{language}] {incident.apology}",
                prevention=f"[{language}] {incident.prevention}",
            )
            for language in ("es", "fr", "de")
        )
    return incident


def passenger(
    incident: Incident | None = None,
    *,
    name: str = "Margaret Ellis",
    preferred_name: str = "Maggie",
    language: str = "en",
    time_zone: str = "America/New_York",
    **fields: Any,
) -> AffectedCustomer:
    values = {
        "incident": incident or storm_incident(),
        "customer__name": name,
        "customer__preferred_name": preferred_name,
        "customer__language": language,
        "customer__time_zone": time_zone,
        "carrier": "UA",
        "flight_number": "1545",
        "origin": "EWR",
        "destination": "ORD",
        "scheduled_departure_at": DEPARTURE,
        **fields,
    }
    return AffectedCustomerFactory.create(**values)


def letter_for(affected: AffectedCustomer, kind: str = LetterKind.APOLOGY, **fields: Any) -> Letter:
    values = {"subject": "", "body_text": "", "check_passed": None, "check_reasons": [], **fields}
    return LetterFactory.create(affected=affected, kind=kind, **values)


def use_template(*, kind: str = LetterKind.APOLOGY, language: str = "en", **fields: Any) -> LetterTemplate:
    """Make a new version of (kind, language) the active one, the way a coordinator's edit does."""
    versions = LetterTemplate.objects.filter(kind=kind, language=language)
    latest = max(versions.values_list("version", flat=True), default=0)
    versions.filter(is_active=True).update(is_active=False)
    fields.setdefault("subject", "About your flight {{ flight.label }}")
    return LetterTemplate.objects.create(kind=kind, language=language, version=latest + 1, is_active=True, **fields)


def render_now(letters: list[Letter]) -> list[Letter]:
    letters_render(letter_ids=[letter.pk for letter in letters])
    return [Letter.objects.get(pk=letter.pk) for letter in letters]


# --- the context: local times and languages -----------------------------------------------------------------


def test_context_gives_times_in_each_customers_zone_and_language() -> None:
    incident = storm_incident()
    kwargs: dict[str, Any] = {"delay_minutes": 192, "cancelled": False, "missed_connection": True}
    new_yorker = passenger(incident, **kwargs)
    parisian = passenger(
        incident, name="Lucía Martín", preferred_name="Lucía", language="es", time_zone="Europe/Paris", **kwargs
    )

    en = letter_context(affected=new_yorker, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT)
    es = letter_context(affected=parisian, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT)

    assert en["flight"]["label"] == "UA 1545"
    assert (en["flight"]["departure_local"], es["flight"]["departure_local"]) == ("17:30", "17:30")
    assert en["flight"]["departure_customer_time"] == "17:30 EST"
    assert es["flight"]["departure_customer_time"] == "23:30 CET"
    assert en["flight"]["date"] == "Friday 8 February 2013"
    assert es["flight"]["date"] == "viernes 8 de febrero de 2013"
    assert en["flight"]["departure_text"] == "17:30 EST"
    assert es["flight"]["departure_text"] == "17:30, hora local (23:30 CET en su zona horaria)"
    assert en["next_update"] == "Friday 8 February 2013 at 19:30 EST"
    assert es["next_update"] == "sábado 9 de febrero de 2013 a las 01:30 (CET)"
    assert en["impact"]["delay_text"] == "3 hours 12 minutes"
    assert es["impact"]["delay_text"] == "3 horas y 12 minutos"
    assert en["impact"]["summary"] == (
        "Your flight UA 1545 from Newark to Chicago on Friday 8 February 2013 was delayed by 3 hours 12 minutes "
        "and you missed your connecting flight."
    )
    assert es["impact"]["summary"] == (
        "Su vuelo UA 1545 de Newark a Chicago del viernes 8 de febrero de 2013 sufrió un retraso de 3 horas y "
        "12 minutos y perdió su vuelo de conexión."
    )
    assert en["customer"] == {
        "name": "Margaret Ellis",
        "greeting_name": "Maggie",
        "language": "en",
        "time_zone": "America/New_York",
        "reference": new_yorker.customer.external_ref,
    }


def test_rendered_letters_show_the_customers_own_local_times() -> None:
    incident = storm_incident()
    kwargs: dict[str, Any] = {"delay_minutes": 75, "cancelled": False}
    new_yorker = passenger(incident, **kwargs)
    parisian = passenger(
        incident, name="Lucía Martín", preferred_name="Lucía", language="es", time_zone="Europe/Paris", **kwargs
    )

    en = render_letter(
        template=template_for(kind=LetterKind.INITIAL_NOTICE, language="en"),
        context=letter_context(affected=new_yorker, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT),
    )
    es = render_letter(
        template=template_for(kind=LetterKind.INITIAL_NOTICE, language="es"),
        context=letter_context(affected=parisian, kind=LetterKind.INITIAL_NOTICE, now=WRITTEN_AT),
    )

    assert "Your flight was due to leave Newark at 17:30 EST." in en.body_text
    assert "You will hear from us again by Friday 8 February 2013 at 19:30 EST, even if" in en.body_text
    assert "delayed by 1 hour 15 minutes" in en.body_text
    assert en.subject == "Your flight UA 1545 on Friday 8 February 2013: what we know so far"
    assert "Su vuelo tenía prevista la salida de Newark a las 17:30, hora local (23:30 CET en su zona horaria)." in (
        es.body_text
    )
    assert "Volveremos a escribirle antes del sábado 9 de febrero de 2013 a las 01:30 (CET)" in es.body_text
    assert "sufrió un retraso de 1 hora y 15 minutos" in es.body_text
    assert es.subject == "Su vuelo UA 1545 del viernes 8 de febrero de 2013: lo que sabemos hasta ahora"
    assert es.body_html.startswith('<!DOCTYPE html>\n<html lang="es">')


@pytest.mark.parametrize(
    ("language", "flight_date", "expected"),
    [
        ("fr", dt.date(2013, 2, 8), "vendredi 8 février 2013"),
        ("fr", dt.date(2013, 3, 1), "vendredi 1er mars 2013"),
        ("de", dt.date(2013, 2, 8), "Freitag, 8. Februar 2013"),
        ("en", dt.date(2013, 3, 1), "Friday 1 March 2013"),
    ],
)
def test_dates_are_written_the_way_each_language_writes_them(
    language: str, flight_date: dt.date, expected: str
) -> None:
    affected = passenger(language=language, time_zone="Europe/Berlin", flight_date=flight_date)
    assert letter_context(affected=affected, kind=LetterKind.APOLOGY)["flight"]["date"] == expected


def test_a_promise_already_past_is_not_repeated() -> None:
    affected = passenger(storm_incident(next_update_due_at=WRITTEN_AT - dt.timedelta(minutes=1)))
    assert letter_context(affected=affected, kind=LetterKind.UPDATE, now=WRITTEN_AT)["next_update"] == ""


def test_unknown_airport_falls_back_to_its_code_and_the_customers_zone() -> None:
    affected = passenger(origin="QQQ", destination="ZZQ", time_zone="Europe/Paris", language="en")
    flight = letter_context(affected=affected, kind=LetterKind.APOLOGY)["flight"]
    assert (flight["origin_name"], flight["destination_name"]) == ("QQQ", "ZZQ")
    assert flight["departure_local"] == "23:30"  # the customer's own zone, for want of the station's
    assert flight["departure_text"] == "23:30 CET"


def test_context_is_plain_data_only() -> None:
    affected = passenger()
    VoucherFactory.create(affected=affected)
    context = letter_context(
        affected=affected,
        kind=LetterKind.APOLOGY,
        vouchers=affected.vouchers.all(),
        entitlements=entitlements_for(affected),
    )

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            assert isinstance(value, str | int | bool), f"{value!r} is a {type(value).__name__}"

    walk(context)
    assert context["vouchers"][0]["value"] == "150.00 USD"


def test_render_refuses_a_model_instance_in_the_context() -> None:
    affected = passenger()
    context = letter_context(affected=affected, kind=LetterKind.APOLOGY)
    context["customer"]["record"] = affected.customer
    with pytest.raises(TypeError, match=r"context\.customer\.record is a Customer"):
        render_letter(template=template_for(kind=LetterKind.APOLOGY, language="en"), context=context)


def test_a_customer_affected_twice_hears_about_both() -> None:
    affected = passenger(cancelled=True)
    AffectedCustomerFactory.create(
        customer=affected.customer,
        incident=storm_incident(),
        carrier="B6",
        flight_number="22",
        flight_date=dt.date(2013, 2, 9),
        cancelled=True,
    )
    (letter,) = render_now([letter_for(affected)])
    assert "it was not the only time we let you down: B6 22 on Saturday 9 February 2013 (cancelled)." in (
        letter.body_text
    )


# --- HTML and escaping -----------------------------------------------------------------------------------


def test_html_is_escaped_and_text_is_verbatim() -> None:
    incident = storm_incident()
    script = passenger(incident, name="<script>alert(1)</script>", preferred_name="<script>alert(1)</script>")
    sons = passenger(incident, name="O'Brien & Sons", preferred_name="O'Brien & Sons")

    script_letter, sons_letter = render_now([letter_for(script), letter_for(sons)])

    assert "Dear <script>alert(1)</script>," in script_letter.body_text
    assert "<script>" not in script_letter.body_html
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt;," in script_letter.body_html
    assert "Dear O'Brien & Sons," in sons_letter.body_text
    assert "Dear O&#x27;Brien &amp; Sons," in sons_letter.body_html
    assert "O'Brien & Sons" not in sons_letter.body_html
    assert '<html lang="en">' in sons_letter.body_html
    assert sons_letter.check_passed is True


def test_a_coordinator_written_html_body_is_escaped_too() -> None:
    use_template(
        body_text="Dear {{ customer.greeting_name }}, about {{ flight.label }}.",
        body_html="<p>Dear <strong>{{ customer.greeting_name }}</strong></p>{{ parts.acknowledgement|linebreaks }}",
        part_acknowledgement="We are sorry, {{ customer.name }}.",
    )
    affected = passenger(name="Tom <b>Bold</b> & Co", preferred_name="Tom <b>")
    rendered = render_letter(
        template=template_for(kind=LetterKind.APOLOGY, language="en"),
        context=letter_context(affected=affected, kind=LetterKind.APOLOGY),
    )
    assert "<p>Dear <strong>Tom &lt;b&gt;</strong></p>" in rendered.body_html
    assert "<p>We are sorry, Tom &lt;b&gt;Bold&lt;/b&gt; &amp; Co.</p>" in rendered.body_html
    assert rendered.parts["acknowledgement"] == "We are sorry, Tom <b>Bold</b> & Co."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ customer.name|safe }}", "Invalid filter: 'safe'"),
        ("{% autoescape off %}{{ customer.name }}{% endautoescape %}", "Invalid block tag"),
        ("{% debug %}", "Invalid block tag"),
        ("{% load static %}", "Invalid block tag"),
        ('{% include "admin/base.html" %}', "Invalid block tag"),
    ],
)
def test_templates_cannot_unescape_load_or_peek(body: str, reason: str) -> None:
    use_template(body_text=f"Dear {{{{ customer.name }}}} {{{{ flight.label }}}} {body}")
    affected = passenger()
    with pytest.raises(LetterRenderError, match=reason) as refused:
        render_letter(
            template=template_for(kind=LetterKind.APOLOGY, language="en"),
            context=letter_context(affected=affected, kind=LetterKind.APOLOGY),
        )
    assert affected.customer.external_ref in str(refused.value)


# --- refusals ----------------------------------------------------------------------------------------------


def test_broken_templates_are_refused_per_customer_and_the_batch_goes_on() -> None:
    use_template(language="fr", body_text="Bonjour {{ customer.name }}, {% if %}")
    use_template(language="de", body_text="Guten Tag {{ customer.nmae }}, {{ flight.label }}")
    incident = storm_incident()
    english = passenger(incident)
    french = passenger(incident, name="Claire Dubois", preferred_name="Claire", language="fr")
    german = passenger(incident, name="Jonas Weber", preferred_name="Jonas", language="de")
    letters = [letter_for(english), letter_for(french), letter_for(german)]

    summary = letters_render(letter_ids=[letter.pk for letter in letters])
    en_letter, fr_letter, de_letter = (Letter.objects.get(pk=letter.pk) for letter in letters)

    assert (summary.rendered, summary.held, summary.failed) == (1, 0, 2)
    assert en_letter.check_passed is True
    assert en_letter.body_text.startswith("Dear Maggie,")
    assert fr_letter.check_passed is False
    assert fr_letter.body_text == fr_letter.subject == fr_letter.body_html == ""
    assert fr_letter.template is None
    assert "has an error" in fr_letter.check_reasons[0]
    assert de_letter.check_passed is False
    assert de_letter.check_reasons == [
        "The template “Apology / follow-up (de) v2” uses {{ customer.nmae }}, which letters do not have."
    ]
    assert de_letter.status == LetterStatus.DRAFT
    assert any(french.customer.external_ref in error for error in summary.errors)
    assert any(german.customer.external_ref in error and "customer.nmae" in error for error in summary.errors)


def test_missing_variable_is_refused_with_the_customer_reference() -> None:
    use_template(body_text="Dear {{ customer.greeting_name }}, {{ flight.label }} {{ incident.sorry }}")
    affected = passenger()
    with pytest.raises(LetterRenderError) as refused:
        render_letter(
            template=template_for(kind=LetterKind.APOLOGY, language="en"),
            context=letter_context(affected=affected, kind=LetterKind.APOLOGY),
        )
    assert affected.customer.external_ref in str(refused.value)
    assert refused.value.reasons == [
        "The template “Apology / follow-up (en) v2” uses {{ incident.sorry }}, which letters do not have."
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"customer__name": " "}, "The customer has no name on file"),
        ({"flight": ""}, "No flight is recorded"),
        ({"explanation": ""}, "The incident has no explanation for customers yet"),
    ],
)
def test_letters_lacking_a_required_fact_are_refused(change: dict[str, str], reason: str) -> None:
    incident = storm_incident(explanation=change.get("explanation", EXPLANATION))
    fields: dict[str, Any] = {}
    if "customer__name" in change:
        fields["name"], fields["preferred_name"] = change["customer__name"], ""
    if "flight" in change:
        fields["carrier"], fields["flight_number"] = "", ""
    affected = passenger(incident, **fields)
    (letter,) = render_now([letter_for(affected)])
    assert letter.check_passed is False
    assert letter.body_text == ""
    assert any(reason in text for text in letter.check_reasons), letter.check_reasons


def test_voucher_letter_without_a_voucher_is_refused() -> None:
    (letter,) = render_now([letter_for(passenger(), kind=LetterKind.VOUCHER)])
    assert letter.check_passed is False
    assert letter.check_reasons == [
        "The customer has no issued voucher, so there is nothing for a voucher letter to give."
    ]


def test_subject_is_one_line() -> None:
    use_template(subject="About\n  {{ flight.label }}\r\non {{ flight.date }}\n", body_text="{{ customer.name }}")
    rendered = render_letter(
        template=template_for(kind=LetterKind.APOLOGY, language="en"),
        context=letter_context(affected=passenger(), kind=LetterKind.APOLOGY),
    )
    assert rendered.subject == "About UA 1545 on Friday 8 February 2013"


def test_only_drafts_and_approved_letters_are_rendered() -> None:
    incident = storm_incident()
    sent = letter_for(passenger(incident), status=LetterStatus.SENT, body_text="As sent")
    approved = letter_for(passenger(incident), status=LetterStatus.APPROVED)
    summary = letters_render(letter_ids=[sent.pk, approved.pk, 999_999])
    assert (summary.rendered, summary.skipped) == (1, 2)
    assert Letter.objects.get(pk=sent.pk).body_text == "As sent"
    assert Letter.objects.get(pk=approved.pk).body_text.startswith("Dear Maggie,")


def test_template_falls_back_to_english_and_the_letter_is_then_english() -> None:
    LetterTemplate.objects.filter(kind=LetterKind.SURVEY, language="de").update(is_active=False)
    affected = passenger(name="Jonas Weber", preferred_name="Jonas", language="de", time_zone="Europe/Berlin")
    (letter,) = render_now([letter_for(affected, kind=LetterKind.SURVEY)])
    assert letter.template is not None
    assert letter.template.language == "en"
    assert letter.body_text.startswith("Dear Jonas,")
    assert "Friday 8 February 2013" in letter.body_text  # worded in the letter's language, not half German
    LetterTemplate.objects.filter(kind=LetterKind.SURVEY, language="en").update(is_active=False)
    with pytest.raises(NoActiveTemplate, match="no active “Survey” template in de or in English"):
        template_for(kind=LetterKind.SURVEY, language="de")


# --- apology structure: parts, refund before voucher ----------------------------------------------------


def test_apology_states_the_refund_before_the_voucher_and_keeps_its_three_parts() -> None:
    affected = passenger(cancelled=True, **AFTER_THE_DOT_RULE)
    voucher = VoucherFactory.create(affected=affected, amount=Decimal("1250.00"), code="SORRY-EWR-0001")
    VoucherFactory.create(affected=affected, code="VOID-0001", status=VoucherStatus.VOID)

    (letter,) = render_now([letter_for(affected)])

    body = letter.body_text
    refund = "Because your flight UA 1545 was cancelled, you are entitled to a full refund of the unused ticket"
    assert refund in body
    assert body.index(refund) < body.index(voucher.code)
    assert "- SORRY-EWR-0001: 1,250.00 USD, valid until" in body
    assert "VOID-0001" not in body
    assert set(letter.parts) == {"acknowledgement", "explanation", "remedy"}
    assert APOLOGIES[("EWR", FRIDAY)] in letter.parts["acknowledgement"]
    assert voucher.code not in letter.parts["acknowledgement"]
    assert letter.parts["explanation"].startswith("Your flight UA 1545 from Newark to Chicago on Friday")
    assert EXPLANATION in letter.parts["explanation"]
    assert letter.parts["remedy"].startswith("First, what you are entitled to. " + refund)
    assert PREVENTION[("EWR", FRIDAY)] in letter.parts["remedy"]
    assert body.index(letter.parts["acknowledgement"]) < body.index(letter.parts["explanation"])
    assert body.index(letter.parts["explanation"]) < body.index(letter.parts["remedy"])
    assert letter.check_passed is True, letter.check_reasons
    assert letter.to_address == affected.customer.email
    assert letter.template_version == 1


# --- entitlements: the US DOT refund rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "owed"),
    [
        ({"cancelled": True}, "cancellation"),
        ({"cancelled": False, "delay_minutes": 181}, "significant_change"),  # domestic: more than 3 hours
        ({"cancelled": False, "delay_minutes": 180}, None),
        ({"cancelled": False, "delay_minutes": 300, "destination": "CDG"}, None),  # international: 6 hours
        ({"cancelled": False, "delay_minutes": 361, "destination": "CDG"}, "significant_change"),
        ({"cancelled": True, "origin": "CDG", "destination": "LHR"}, None),  # never touches the US
        ({"cancelled": True, "destination": "SJU"}, "cancellation"),  # Puerto Rico is domestic
        ({"cancelled": False, "delay_minutes": 200, "destination": "STT"}, "significant_change"),  # USVI
    ],
)
def test_us_dot_refund_rule(fields: dict[str, Any], owed: str | None) -> None:
    affected = passenger(**{"flight_date": dt.date(2026, 1, 5), **fields})
    found = entitlements_for(affected)
    assert [entitlement.reason for entitlement in found] == ([owed] if owed else [])
    if owed:
        assert (found[0].kind, found[0].regulation) == ("refund", US_DOT_REFUND_NAME)


def test_us_dot_refund_rule_applies_to_flights_from_28_october_2024() -> None:
    assert entitlements_for(passenger(cancelled=True, flight_date=dt.date(2024, 10, 27))) == []
    assert len(entitlements_for(passenger(cancelled=True, flight_date=dt.date(2024, 10, 28)))) == 1
    # Decided by the flight's date, like every regulation, not by the day the letter is written: a letter
    # written today about a flight of 2013 owes no refund under the rule.
    assert entitlements_for(passenger(cancelled=True, flight_date=dt.date(2013, 2, 8))) == []


def test_entitlements_are_worded_in_the_customers_language() -> None:
    affected = passenger(
        cancelled=True, language="fr", name="Claire Dubois", time_zone="Europe/Paris", **AFTER_THE_DOT_RULE
    )
    context = letter_context(affected=affected, kind=LetterKind.APOLOGY, entitlements=entitlements_for(affected))
    assert context["entitlements"][0]["text"].startswith("Votre vol UA 1545 ayant été annulé, vous avez droit")


# --- bulk rendering: queries -------------------------------------------------------------------------------


def make_letters(count: int) -> list[int]:
    incident = storm_incident()
    ids = []
    for n in range(count):
        language = ("en", "es", "fr", "de")[n % 4]
        affected = passenger(incident, language=language, cancelled=n % 2 == 0, delay_minutes=0 if n % 2 == 0 else 95)
        if n % 3 == 0:
            VoucherFactory.create(affected=affected)
        if n % 5 == 0:  # affected by another incident as well
            AffectedCustomerFactory.create(customer=affected.customer, incident=storm_incident())
        ids.append(letter_for(affected, kind=(LetterKind.APOLOGY, LetterKind.UPDATE)[n % 2]).pk)
    return ids


@pytest.mark.parametrize("count", [5, 50])
def test_rendering_queries_do_not_grow_with_the_letters(count: int, django_assert_max_num_queries: Any) -> None:
    ids = make_letters(count)
    # 17: letters, incidents, vouchers, other incidents, news, translations, paragraphs per impact, templates, the
    # paragraph check (two), the UPDATE, and the savepoint and its release; what the updates to customers on
    # another open incident cover (care.correspondence.streams): their markers, those incidents' rows, their letters;
    # and what the updates' customers were told of their impact before (impact.change).
    with django_assert_max_num_queries(17):
        summary = letters_render(letter_ids=ids)
    assert summary.rendered + summary.held == count
    assert Letter.objects.filter(pk__in=ids, check_passed=True).count() == count


def test_five_and_fifty_letters_take_the_same_queries() -> None:
    few, many = make_letters(5), make_letters(50)
    with CaptureQueriesContext(connection) as for_few:
        letters_render(letter_ids=few)
    with CaptureQueriesContext(connection) as for_many:
        letters_render(letter_ids=many)
    assert len(for_few) == len(for_many)


# --- the default templates -----------------------------------------------------------------------------------


def test_migration_installed_all_twenty_templates_once() -> None:
    pairs = set(LetterTemplate.objects.filter(is_active=True, version=1).values_list("kind", "language"))
    kinds = (LetterKind.INITIAL_NOTICE, LetterKind.UPDATE, LetterKind.APOLOGY, LetterKind.VOUCHER, LetterKind.SURVEY)
    assert pairs == {(kind, language) for kind in kinds for language in ("en", "es", "fr", "de")}
    assert len(DEFAULT_TEMPLATES) == 20
    assert default_templates_install(django_apps) == 0  # idempotent
    LetterTemplate.objects.filter(kind=LetterKind.SURVEY, language="fr").update(is_active=False)
    assert default_templates_install(django_apps) == 1
    assert LetterTemplate.objects.get(kind=LetterKind.SURVEY, language="fr", is_active=True).version == 2


@pytest.mark.parametrize("default", DEFAULT_TEMPLATES, ids=lambda d: f"{d.kind}-{d.language}")
def test_every_default_template_renders_a_passing_letter(default: Any) -> None:
    incident = storm_incident(apology=OWN_APOLOGY)
    assert len(incident.apology) >= 200
    affected = passenger(
        incident,
        name="Sam Okafor",
        preferred_name="Sam",
        language=default.language,
        time_zone="Europe/Paris",
        cancelled=False,
        delay_minutes=200,
        overnight_stay=True,
    )
    if default.kind == LetterKind.VOUCHER:
        VoucherFactory.create(affected=affected)
    sequence = 2 if default.kind == LetterKind.UPDATE else 1
    (letter,) = render_now([letter_for(affected, kind=default.kind, sequence=sequence)])

    assert letter.check_reasons == []
    assert letter.check_passed is True
    assert letter.template is not None
    assert (letter.template.kind, letter.template.language, letter.template_version) == (
        default.kind,
        default.language,
        1,
    )
    assert "\u2063" not in letter.body_text + letter.subject
    assert "\n\n\n" not in letter.body_text
    assert "UA 1545" in letter.body_text
    assert f'<html lang="{default.language}">' in letter.body_html


def test_an_apology_without_the_coordinators_words_in_the_customers_language_is_held() -> None:
    incident = storm_incident(translated=False)
    spanish = passenger(incident, language="es", name="Lucía Pérez", preferred_name="Lucía")
    (apology,) = render_now([letter_for(spanish, kind=LetterKind.APOLOGY)])
    assert apology.check_passed is False
    assert any("no Español version" in reason for reason in apology.check_reasons)
    # A first notice must not wait for a translator: it goes out with the coordinator's own text.
    (notice,) = render_now([letter_for(spanish, kind=LetterKind.INITIAL_NOTICE)])
    assert notice.check_passed is True
    assert EXPLANATION.split(".", maxsplit=1)[0] in notice.body_text


def test_the_customers_language_version_of_the_coordinators_words_is_used() -> None:
    incident = storm_incident()
    french = passenger(incident, language="fr", name="Claire Dubois", preferred_name="Claire")
    (apology,) = render_now([letter_for(french, kind=LetterKind.APOLOGY)])
    assert apology.check_passed is True
    assert f"[fr] {incident.apology}" in apology.body_text
