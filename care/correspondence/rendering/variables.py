"""What a letter template may use: the keys of ``rendering.context.letter_context``, in words, for the template editor.

Shown beside the wording in the admin (care.correspondence.template_admin), so a coordinator editing a template
knows every variable without reading code; tests/test_template_help.py keeps it complete (every key the context
has is listed here). Each section builder (``rendering.sections``) documents its keys in full.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateVariable:
    name: str  # as written in a template, e.g. "flight.label"
    help: str
    letters: str = "every letter"  # which letters have it filled in


TEMPLATE_VARIABLES: tuple[TemplateVariable, ...] = (
    TemplateVariable("customer.name", "The customer's full name."),
    TemplateVariable("customer.greeting_name", "How to greet them (the first name, or the name)."),
    TemplateVariable("customer.reference, customer.language, customer.time_zone", "Their reference and settings."),
    TemplateVariable(
        "flight.label, flight.date",
        "Their flight (“EV 4202”) and its date, in their language.",
    ),
    TemplateVariable(
        "flight.origin_name, flight.destination_name, flight.departure_text, flight.booking_reference",
        "Where it flies from and to, its departure in the station's time (and theirs, when it differs), and the "
        "booking reference. Also flight.carrier, .number, .origin, .destination, .origin_airport, "
        ".destination_airport, .departure_local, .departure_customer.",
    ),
    TemplateVariable(
        "impact.summary",
        "The sentence that says what happened to them on that flight; the personal-letter check looks for it. "
        "Also impact.cancelled, .delay_minutes, .delay_text, .missed_connection, .overnight_stay, .diverted, "
        ".downgraded.",
    ),
    TemplateVariable(
        "incident.explanation, incident.apology, incident.prevention",
        "The coordinator's paragraphs in the letter's language. Also incident.reference, .title, .within_control.",
    ),
    TemplateVariable("news", "The incident's latest news for customers; empty when there is none yet.", "updates"),
    TemplateVariable(
        "next_update",
        "When they will hear from us next, in their time zone; empty once that time has passed.",
        "notices and updates",
    ),
    TemplateVariable(
        "sequence",
        "The update's number. In an update about several flights, the customer's own count of updates on them.",
        "updates",
    ),
    TemplateVariable(
        "combined",
        "The customer's other disrupted flights this letter covers too (they are on several open incidents, and "
        "get one letter for all of them); empty for a letter about one flight. Each has label, date, summary "
        "(what happened to them on it), explanation, news (updates), reference, cancelled, delay_text, "
        "origin_name, destination_name, booking_reference. The personal-letter check holds a letter that does "
        "not name each of them, say what happened on it and, in an update, give its news.",
        "notices and updates",
    ),
    TemplateVariable(
        "also_open",
        "One line per other open disruption of theirs that we already write to them about (“EV 4202 on Friday "
        "8 February 2013 (cancelled)”): a first notice that comes after the first one went.",
        "notices",
    ),
    TemplateVariable(
        "flight_labels",
        "Every flight the letter is about, this one first, joined in the letter's language (“EV 4202 and EV "
        "4099”); the flight's label when there is one.",
    ),
    TemplateVariable(
        "also_incidents",
        "One line per other disrupted flight of the customer, for an apology that acknowledges them all.",
    ),
    TemplateVariable(
        "entitlements",
        "What the law owes them, each with .text (one sentence), .regulation and .kind; say it before any voucher.",
        "apologies and voucher letters",
    ),
    TemplateVariable(
        "vouchers",
        "Their vouchers, each with .code, .value (worded), .amount, .currency and .expires.",
        "apologies and voucher letters",
    ),
    TemplateVariable(
        "parts.acknowledgement, parts.explanation, parts.remedy",
        "The three parts above, rendered, for the body to place.",
        "apologies",
    ),
    TemplateVariable(
        "sender.name, sender.team, contact.phone, contact.email",
        "Who signs the letter, the number to call and the address to write to.",
    ),
    TemplateVariable(
        "kind, language, channel",
        'The letter\'s kind, language and channel: "email", or "sms" for a letter a customer with only a phone '
        'reads on the page their text links to, where "reply to this email" cannot be done '
        '({% if channel == "sms" %}…{% else %}…{% endif %}).',
    ),
)


def documented_names() -> set[str]:
    """The top-level keys the help covers ("flight" for "flight.label, flight.date")."""
    return {
        name.strip().split(".")[0]
        for variable in TEMPLATE_VARIABLES
        for name in variable.name.split(",")
        if name.strip()
    }
