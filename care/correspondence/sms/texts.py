"""What an SMS says, per kind and language: a first notice, an update, and "your letter is ready".

Plain ``str.format`` templates, short enough for two segments (care.correspondence.sms.segments). Each kind has
a warm wording that greets the customer by name and a compact one without the greeting and with abbreviated
durations; ``sms_text`` sends the warm one when it fits and the compact one when it does not (a long name, a
name outside the GSM alphabet that makes the whole text UCS-2, a long signed link). Whatever is sent must
still pass ``sms_check`` before it goes.

The wording avoids letters outside the GSM-7 alphabet (Spanish "está", "más", "aquí"; French "ê", "ç", and
"août", hence French dates in figures), so only a customer's name can turn a text UCS-2, which costs more
than twice as much room; the compact wording, without the name, is GSM-7 again.
Customers are addressed formally (usted, vous, Sie), as in the letters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import translation
from django.utils.formats import date_format

from care.core.errors import DomainError
from care.core.station_time import zone_named
from care.correspondence.models.letters import LetterKind
from care.correspondence.phrases import duration_text, letter_language, phrases_for
from care.correspondence.sms.segments import MAX_SEGMENTS, sms_segments

# Left in the text when the caller has no link yet: sms_check holds a text that still carries it.
LINK_PLACEHOLDER = "{link}"


@dataclass(frozen=True, slots=True)
class SmsImpact:
    delay_minutes: int = 0
    cancelled: bool = False
    diverted: bool = False


@dataclass(frozen=True, slots=True)
class SmsFacts:
    first_name: str
    flight_label: str
    flight_date: dt.date  # the scheduled departure's date, as on the ticket
    impact: SmsImpact
    booking_reference: str
    next_update: dt.datetime | None  # aware; the promised next update, None when nothing was promised
    time_zone: str  # the customer's IANA zone name; an unknown one tells the time in UTC, and says so
    # The signed URL of the letter (letter-ready SMS only). Pass it here rather than filling it in later:
    # which wording fits two segments is judged on the real text.
    link: str = ""


@dataclass(frozen=True)
class KindTexts:
    warm: str  # greets the customer by name
    compact: str  # when the warm one does not fit two segments


@dataclass(frozen=True)
class Promise:
    """When we will write again: on the flight's day the clock alone, on another day its date too, so
    "by 14:30" never leaves the customer guessing which day."""

    warm: str  # {clock}
    warm_dated: str  # {date}, {clock}
    compact: str
    compact_dated: str
    none: str  # nothing was promised


@dataclass(frozen=True)
class SmsWording:
    short_date: str  # Django date format: day and abbreviated month
    short_units: tuple[str, str]  # hours, minutes, abbreviated: "2 h 10 min"
    # What happened to the flight, after its subject; keys: cancelled, delayed, diverted, diverted_delayed,
    # disrupted.
    impact: dict[str, str]
    promise: Promise
    templates: dict[str, KindTexts]  # per kind: "initial_notice", "update", "ready"


WORDINGS: dict[str, SmsWording] = {
    "en": SmsWording(
        short_date="j M",
        short_units=("h", "min"),
        impact={
            "cancelled": "has been cancelled",
            "delayed": "is delayed by {delay}",
            "diverted": "has been diverted to another airport",
            "diverted_delayed": "has been diverted and is {delay} late",
            "disrupted": "is not going as planned",
        },
        promise=Promise(
            warm="We will text you again by {clock}.",
            warm_dated="We will text you again by {date}, {clock}.",
            compact="Next news by {clock}.",
            compact_dated="Next news by {date}, {clock}.",
            none="We will text you again as soon as we know more.",
        ),
        templates={
            "initial_notice": KindTexts(
                warm=(
                    "Hello {name}, we are so sorry: your flight {label} on {date} {impact}. Booking {booking}. "
                    "{promise} Reply STOP to opt out."
                ),
                compact=(
                    "Sorry: your flight {label} on {date} {impact}. Booking {booking}. {promise} Reply STOP to opt out."
                ),
            ),
            "update": KindTexts(
                warm=(
                    "Hello {name}, news of your flight {label} on {date}: it {impact}. Sorry for the trouble. "
                    "Booking {booking}. {promise} Reply STOP to opt out."
                ),
                compact=(
                    "Flight {label} on {date} {impact}. Sorry. Booking {booking}. {promise} Reply STOP to opt out."
                ),
            ),
            "ready": KindTexts(
                warm=(
                    "Hello {name}, sorry again about your flight {label} on {date}. We have written to you "
                    "(booking {booking}), read it here: {link} Reply STOP to opt out."
                ),
                compact=(
                    "Sorry again about flight {label} on {date}. Our letter (booking {booking}): {link} "
                    "Reply STOP to opt out."
                ),
            ),
        },
    ),
    "es": SmsWording(
        short_date="j b",
        short_units=("h", "min"),
        impact={
            "cancelled": "ha sido cancelado",
            "delayed": "tiene un retraso de {delay}",
            "diverted": "ha sido desviado a otro aeropuerto",
            "diverted_delayed": "ha sido desviado y lleva {delay} de retraso",
            "disrupted": "tiene incidencias",
        },
        promise=Promise(
            warm="Le escribiremos de nuevo antes de las {clock}.",
            warm_dated="Le escribiremos de nuevo antes del {date} a las {clock}.",
            compact="Novedades antes de las {clock}.",
            compact_dated="Novedades antes del {date} a las {clock}.",
            none="Le escribiremos de nuevo en cuanto tengamos novedades.",
        ),
        templates={
            "initial_notice": KindTexts(
                warm=(
                    "Hola {name}, lo sentimos mucho: su vuelo {label} del {date} {impact}. Reserva {booking}. "
                    "{promise} Responda STOP para darse de baja."
                ),
                compact=(
                    "Lo sentimos: su vuelo {label} del {date} {impact}. Reserva {booking}. {promise} "
                    "Responda STOP para darse de baja."
                ),
            ),
            "update": KindTexts(
                warm=(
                    "Hola {name}, novedades de su vuelo {label} del {date}: {impact}. Disculpe las molestias. "
                    "Reserva {booking}. {promise} Responda STOP para darse de baja."
                ),
                compact=(
                    "Su vuelo {label} del {date} {impact}. Disculpe. Reserva {booking}. {promise} "
                    "Responda STOP para darse de baja."
                ),
            ),
            "ready": KindTexts(
                warm=(
                    "Hola {name}, sentimos de nuevo lo ocurrido con su vuelo {label} del {date}. Le hemos escrito "
                    "(reserva {booking}), puede leerlo en {link} Responda STOP para darse de baja."
                ),
                compact=(
                    "Sentimos lo ocurrido con el vuelo {label} del {date}. Nuestra carta (reserva {booking}): {link} "
                    "Responda STOP para darse de baja."
                ),
            ),
        },
    ),
    "fr": SmsWording(
        # "08/08": the month's name would be "août", whose û is outside GSM-7 and would make every text of
        # August UCS-2 (70 characters a segment instead of 160).
        short_date="d/m",
        short_units=("h", "min"),
        impact={
            "cancelled": "a été annulé",
            "delayed": "a {delay} de retard",
            "diverted": "a été dérouté vers un autre aéroport",
            "diverted_delayed": "a été dérouté et a {delay} de retard",
            "disrupted": "ne se passe pas comme prévu",
        },
        promise=Promise(
            warm="Nous vous écrirons à nouveau avant {clock}.",
            warm_dated="Nous vous écrirons à nouveau avant le {date} à {clock}.",
            compact="Nouvelles avant {clock}.",
            compact_dated="Nouvelles avant le {date} à {clock}.",
            none="Nous vous écrirons dès que nous en saurons plus.",
        ),
        templates={
            "initial_notice": KindTexts(
                warm=(
                    "Bonjour {name}, nous sommes désolés : votre vol {label} du {date} {impact}. "
                    "Réservation {booking}. {promise} Répondez STOP pour vous désabonner."
                ),
                compact=(
                    "Désolés : votre vol {label} du {date} {impact}. Réservation {booking}. {promise} "
                    "Répondez STOP pour vous désabonner."
                ),
            ),
            "update": KindTexts(
                warm=(
                    "Bonjour {name}, du nouveau pour votre vol {label} du {date} : il {impact}. Toutes nos excuses. "
                    "Réservation {booking}. {promise} Répondez STOP pour vous désabonner."
                ),
                compact=(
                    "Votre vol {label} du {date} {impact}. Désolés. Réservation {booking}. {promise} "
                    "Répondez STOP pour vous désabonner."
                ),
            ),
            "ready": KindTexts(
                warm=(
                    "Bonjour {name}, encore désolés pour votre vol {label} du {date}. Nous vous avons écrit "
                    "(réservation {booking}), à lire ici : {link} Répondez STOP pour vous désabonner."
                ),
                compact=(
                    "Encore désolés pour le vol {label} du {date}. Notre lettre (réservation {booking}) : {link} "
                    "Répondez STOP pour vous désabonner."
                ),
            ),
        },
    ),
    "de": SmsWording(
        short_date="j. N",  # "8. Feb.", "8. März"; templates never end a sentence on it ("8. Aug..")
        short_units=("Std.", "Min."),
        impact={
            "cancelled": "wurde annulliert",
            "delayed": "hat {delay} Verspätung",
            "diverted": "wurde zu einem anderen Flughafen umgeleitet",
            "diverted_delayed": "wurde umgeleitet und hat {delay} Verspätung",
            "disrupted": "verläuft nicht wie geplant",
        },
        promise=Promise(
            warm="Wir melden uns spätestens um {clock} wieder.",
            warm_dated="Wir melden uns spätestens am {date} um {clock} wieder.",
            compact="Neues bis {clock}.",
            compact_dated="Neues bis {date}, {clock}.",
            none="Wir melden uns wieder, sobald wir mehr wissen.",
        ),
        templates={
            "initial_notice": KindTexts(
                warm=(
                    "Guten Tag {name}, es tut uns sehr leid: Ihr Flug {label} am {date} {impact}. "
                    "Buchung {booking}. {promise} Antworten Sie STOP zum Abmelden."
                ),
                compact=(
                    "Es tut uns leid: Ihr Flug {label} am {date} {impact}. Buchung {booking}. {promise} "
                    "Antworten Sie STOP zum Abmelden."
                ),
            ),
            "update": KindTexts(
                warm=(
                    "Guten Tag {name}, Neues zu Ihrem Flug {label} am {date}: Er {impact}. Bitte entschuldigen Sie. "
                    "Buchung {booking}. {promise} Antworten Sie STOP zum Abmelden."
                ),
                compact=(
                    "Ihr Flug {label} am {date} {impact}. Entschuldigung. Buchung {booking}. {promise} "
                    "Antworten Sie STOP zum Abmelden."
                ),
            ),
            "ready": KindTexts(
                warm=(
                    "Guten Tag {name}, noch einmal Entschuldigung für Ihren Flug {label} am {date}: Wir haben "
                    "Ihnen geschrieben (Buchung {booking}), hier zu lesen: {link} Antworten Sie STOP zum Abmelden."
                ),
                compact=(
                    "Entschuldigung für Flug {label} am {date}, unser Brief (Buchung {booking}): {link} "
                    "Antworten Sie STOP zum Abmelden."
                ),
            ),
        },
    ),
}

# The letters an SMS tells the customer of by a link: they stay email-first and are too long for an SMS.
_READY_KINDS = frozenset({LetterKind.APOLOGY, LetterKind.VOUCHER})
_OWN_KINDS = frozenset({LetterKind.INITIAL_NOTICE, LetterKind.UPDATE})


def _impact_key(impact: SmsImpact) -> str:
    # The same precedence as the letter's impact sentence (care.correspondence.rendering.sections.impact).
    if impact.cancelled:
        return "cancelled"
    if impact.diverted:
        return "diverted_delayed" if impact.delay_minutes else "diverted"
    return "delayed" if impact.delay_minutes else "disrupted"


def _short_duration(minutes: int, wording: SmsWording) -> str:
    hours, rest = divmod(minutes, 60)
    hour_unit, minute_unit = wording.short_units
    pieces = [f"{hours} {hour_unit}"] if hours else []
    if rest or not hours:
        pieces.append(f"{rest} {minute_unit}")
    return " ".join(pieces)


def _promise(facts: SmsFacts, *, language: str, wording: SmsWording, compact: bool) -> str:
    """The promised next update on the customer's clock, with their zone's abbreviation."""
    promise = wording.promise
    if facts.next_update is None:
        return promise.none
    zone = zone_named(facts.time_zone) or dt.UTC
    local = facts.next_update.astimezone(zone)
    phrases = phrases_for(language)
    # The letters' clock (rendering.formatting), read here too: SMS sits below rendering, which calls it.
    clock = phrases.clock.format(time=date_format(local, phrases.time_format), zone=local.tzname() or "")
    if local.date() == facts.flight_date:
        return (promise.compact if compact else promise.warm).format(clock=clock)
    dated = promise.compact_dated if compact else promise.warm_dated
    return dated.format(date=date_format(local.date(), wording.short_date), clock=clock)


def _template_kind(kind: str) -> str:
    if kind in _OWN_KINDS:
        return kind
    if kind in _READY_KINDS:
        return "ready"
    named = LetterKind(kind).label.lower() if kind in LetterKind.values else kind
    raise DomainError(f"There is no SMS wording for a {named} letter; send it by email.")


def _render(template: str, facts: SmsFacts, *, language: str, wording: SmsWording, compact: bool) -> str:
    delay = (
        _short_duration(facts.impact.delay_minutes, wording)
        if compact
        else duration_text(facts.impact.delay_minutes, language)
    )
    return template.format(
        name=facts.first_name.strip(),
        label=facts.flight_label,
        date=date_format(facts.flight_date, wording.short_date),
        impact=wording.impact[_impact_key(facts.impact)].format(delay=delay),
        booking=facts.booking_reference,
        promise=_promise(facts, language=language, wording=wording, compact=compact),
        link=facts.link or LINK_PLACEHOLDER,
    )


def sms_text(*, kind: str, language: str, facts: SmsFacts) -> str:
    """The SMS for a letter of ``kind`` in the customer's ``language`` (English when we have no wording in it).

    The warm wording when it fits two segments, else the compact one; if even that does not fit, it is
    returned all the same and ``sms_check`` holds it with the reason. A letter-ready SMS without
    ``facts.link`` keeps ``{link}``, which ``sms_check`` holds too. Raises DomainError for a kind that has no
    SMS (surveys, manual letters).
    """
    template_kind = _template_kind(kind)
    language = letter_language(language)
    wording = WORDINGS.get(language, WORDINGS["en"])
    texts = wording.templates[template_kind]
    # Month names are Django's translations.
    with translation.override(language):
        text = _render(texts.warm, facts, language=language, wording=wording, compact=False)
        if sms_segments(text).segments <= MAX_SEGMENTS:
            return text
        return _render(texts.compact, facts, language=language, wording=wording, compact=True)
