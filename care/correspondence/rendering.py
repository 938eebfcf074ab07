"""Rendering personal letters from the coordinator-editable templates.

Three steps, kept apart so each can be tested and reused (the admin preview calls the first two):

1. ``letter_context`` turns one affected customer into a plain dict (strings, numbers, booleans, lists, dicts):
   their flight and what happened to them in their own language and local times, the incident's explanation,
   the coordinator's apology paragraph, what they are owed and the vouchers they were given. Templates never
   see a model instance, so an edited template cannot reach ``customer.delete`` or a related manager.
2. ``render_letter`` renders a ``LetterTemplate`` with that context in a sandboxed engine of its own and
   refuses (``LetterRenderError``) a letter that fails to render, uses a variable letters do not have, or
   lacks a fact the letter needs.
3. ``letters_render`` does both for stored letters in bulk, runs the personal-letter check
   (``care.correspondence.letter_check``) and stores the result, in a number of queries that does not grow
   with the letters.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template import (
    Context,
    Engine,
    Library,
    Template,
    TemplateDoesNotExist,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import VariableDoesNotExist
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from care.core.bulk import rows_update
from care.core.errors import DomainError
from care.core.lifecycle import record_status_changes
from care.core.stations import station
from care.correspondence.letter_check import personal_letter_reasons, recycled_paragraph_reasons
from care.correspondence.models.letters import KINDS_NEEDING_APPROVAL, Letter, LetterKind, LetterStatus
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.phrases import duration_text, joined, letter_language, phrases_for, route_text
from incidents.models import AffectedCustomer, Audience, Incident, IncidentTranslation, IncidentUpdate
from vouchers.law import Entitlement, entitlements_for
from vouchers.models import Voucher, VoucherStatus

if TYPE_CHECKING:
    from incidents.models import Incident

PART_KEYS = ("acknowledgement", "explanation", "remedy")
# Kinds whose letter is about the disruption itself, so they must say what happened.
KINDS_NEEDING_EXPLANATION = frozenset({LetterKind.APOLOGY, LetterKind.INITIAL_NOTICE, LetterKind.UPDATE})
# The kinds that carry the coordinator's apology paragraph, so the paragraph must be this incident's own.
KINDS_WITH_APOLOGY = frozenset({LetterKind.APOLOGY, LetterKind.VOUCHER})
RENDERABLE_STATUSES = (LetterStatus.DRAFT, LetterStatus.APPROVED)
SUBJECT_MAX = Letter._meta.get_field("subject").max_length or 255
ERRORS_KEPT = 50

# What an unknown variable renders as: invisible separators around a marker nobody types into a template,
# so it can be found in the output and named in the refusal.
_MARK = "\u2063"
UNKNOWN_VARIABLE = f"{_MARK}unknown-variable:%s{_MARK}"
_UNKNOWN_VARIABLE_RE = re.compile(f"{_MARK}unknown-variable:(.*?){_MARK}")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TRAILING_SPACE_RE = re.compile(r"[ \t]+\n")

# Tags and filters a letter template may not use: they print server internals ({% debug %}), load code
# ({% load %}), reverse URLs, or mark text as safe HTML so a customer's name could inject markup.
_BLOCKED_TAGS = frozenset({"debug", "load", "url", "csrf_token", "autoescape"})
_BLOCKED_FILTERS = frozenset({"safe", "safeseq"})
_PLAIN_TYPES = (str, int, float, bool, Decimal, type(None))


class LetterRenderError(DomainError):
    """A letter that could not be rendered; ``reasons`` are short sentences a coordinator can act on."""

    def __init__(self, reasons: Sequence[str], *, customer_reference: str = "", customer_name: str = "") -> None:
        self.reasons = list(reasons)
        self.customer_reference = customer_reference
        who = f"customer {customer_reference}" if customer_reference else "this customer"
        if customer_name:
            who += f" ({customer_name})"
        super().__init__(f"The letter for {who} was not rendered and will not be sent: {' '.join(self.reasons)}")


class NoActiveTemplate(DomainError):
    pass


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body_text: str
    body_html: str
    parts: dict[str, str]
    template_id: int | None
    template_version: int


@dataclass(frozen=True)
class RenderSummary:
    rendered: int = 0  # rendered and passed the personal-letter check
    held: int = 0  # rendered but held as drafts by the check
    failed: int = 0  # could not be rendered; nothing will be sent for them
    skipped: int = 0  # not found, or no longer a draft or approved
    errors: tuple[str, ...] = field(default_factory=tuple)  # the first failures, with their customer


# --- 1. the context ------------------------------------------------------------------------------------


@cache
def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _date_text(value: dt.date, language: str) -> str:
    phrases = phrases_for(language)
    pattern = phrases.first_of_month if value.day == 1 and phrases.first_of_month else phrases.date_format
    return date_format(value, pattern)


def _time_text(moment: dt.datetime, language: str) -> str:
    return date_format(moment, phrases_for(language).time_format)


def _zone_abbreviation(moment: dt.datetime) -> str:
    return moment.tzname() or ""


def _moment_text(moment: dt.datetime, zone: dt.tzinfo, language: str) -> str:
    """ "Friday 8 February 2013 at 19:30 EST", "viernes 8 de febrero de 2013 a las 19:30 (EST)"."""
    local = moment.astimezone(zone)
    phrases = phrases_for(language)
    clock = phrases.clock.format(time=_time_text(local, language), zone=_zone_abbreviation(local))
    return phrases.moment.format(date=_date_text(local.date(), language), clock=clock)


def _money_text(amount: Decimal, currency: str) -> str:
    return f"{number_format(amount, decimal_pos=2, force_grouping=True)} {currency}"


def _impact_summary(affected: AffectedCustomer, *, language: str, flight: Mapping[str, str], delay: str) -> str:
    phrases = phrases_for(language)
    if affected.cancelled:
        key = "cancelled"
    elif affected.diverted:
        key = "diverted_delayed" if affected.delay_minutes else "diverted"
    elif affected.delay_minutes:
        key = "delayed"
    else:
        key = "disrupted"
    main = phrases.impact[key].format(
        label=flight["label"],
        route=route_text(flight["origin_name"], flight["destination_name"], language),
        date=flight["date"],
        delay=delay,
    )
    extras = [
        phrases.extras[name]
        for name in ("missed_connection", "overnight_stay", "downgraded")
        if getattr(affected, name)
    ]
    return joined(main, extras, language)


def _also_text(other: AffectedCustomer, language: str) -> str:
    phrases = phrases_for(language)
    if other.cancelled:
        what = phrases.also_what["cancelled"]
    elif other.delay_minutes:
        what = phrases.also_what["delayed"].format(delay=duration_text(other.delay_minutes, language))
    elif other.diverted:
        what = phrases.also_what["diverted"]
    else:
        what = phrases.also_what["disrupted"]
    return phrases.also.format(label=other.flight_label, date=_date_text(other.flight_date, language), what=what)


def _entitlement_wording(entitlement: Entitlement) -> str:
    # Compensation in money (EU261, UK261, APPR) shares one wording per language, with the regulation's name.
    return "compensation" if entitlement.amount is not None else entitlement.regulation_code


def _entitlement_dicts(entitlements: Iterable[Entitlement], *, label: str, language: str) -> list[dict[str, str]]:
    """One sentence per entitlement; how a kind of entitlement is paid is said once, after the last of its kind
    (a combined apology owing two refunds explains the refund rule once, not twice)."""
    owed = list(entitlements)
    wordings = [_entitlement_wording(entitlement) for entitlement in owed]
    return [
        _entitlement_dict(entitlement, label=label, language=language, explain=wording not in wordings[index + 1 :])
        for index, (entitlement, wording) in enumerate(zip(owed, wordings, strict=True))
    ]


def _entitlement_dict(entitlement: Entitlement, *, label: str, language: str, explain: bool = True) -> dict[str, str]:
    table = phrases_for(language).entitlements
    prefix = _entitlement_wording(entitlement)
    head = table.get(f"{prefix}:{entitlement.reason}")
    how = table.get(f"{prefix}:how", "") if explain else ""
    name = table.get(f"name:{entitlement.regulation_code}", entitlement.regulation)
    if head is None:  # a regulation this language has no wording for yet: the English text, never nothing
        text = entitlement.text
    else:
        amount = _money_text(entitlement.amount, entitlement.currency) if entitlement.amount is not None else ""
        filled = head.format(
            label=entitlement.flight_label or label,
            hours=entitlement.threshold_hours or "",
            amount=amount,
            regulation=name,
        )
        text = f"{filled} {how}".strip()
    return {"kind": entitlement.kind, "regulation": entitlement.regulation, "text": text}


def letter_entitlements(
    affected: AffectedCustomer, *, kind: str, also_affected: Iterable[AffectedCustomer] = ()
) -> list[Entitlement]:
    """What the letter must tell the customer they are owed by law: this flight's refund and compensation and,
    for an apology or a voucher letter, those of the customer's other disrupted flights (``also_affected``).

    Those letters acknowledge every incident the customer was affected by and carry the vouchers of all of them
    (``_shared_inputs``), so they state what is owed for each: a combined apology (care.operations.sweeps) must not
    give the vouchers of the disruption it absorbed and leave out the refund owed for it. ``also_affected``
    rows need their incident loaded (the cause decides EU261, UK261 and APPR).
    """
    owed = entitlements_for(affected)
    if kind in KINDS_WITH_APOLOGY:
        for other in also_affected:
            if other.pk != affected.pk:
                owed += entitlements_for(other)
    return owed


def letter_context(
    *,
    affected: AffectedCustomer,
    kind: str,
    sequence: int = 1,
    vouchers: Iterable[Voucher] = (),
    entitlements: Iterable[Entitlement] = (),
    also_affected: Iterable[AffectedCustomer] = (),
    language: str | None = None,
    news: str = "",
    now: dt.datetime | None = None,
    texts: Mapping[str, str] | None = None,
    formats: dict[tuple[Any, ...], str] | None = None,
) -> dict[str, Any]:
    """Everything a letter template may use about this customer's disruption, as plain data.

    ``language`` is the letter's language (the template's, when the customer's language has no template);
    it defaults to the customer's. ``also_affected`` are the customer's rows in other incidents, ``news``
    the latest customer-facing timeline entry (for updates). A promised next update already past is left
    out: a letter never promises a time that has gone. ``formats`` is a memo of formatted dates and moments
    that a caller rendering many letters shares between them (many letters share a flight date or a
    promised next update); the text is the same with or without it.
    """
    customer = affected.customer
    incident: Incident = affected.incident
    lang = letter_language(language or customer.language)
    phrases = phrases_for(lang)
    customer_zone = _zone(customer.time_zone) or dt.UTC
    origin, destination = station(affected.origin), station(affected.destination)
    origin_zone = _zone(origin.time_zone) or customer_zone
    moment = now or timezone.now()
    memo = formats if formats is not None else {}

    def date_text(value: dt.date) -> str:
        key = ("date", value, lang)
        text = memo.get(key)
        if text is None:
            text = memo[key] = _date_text(value, lang)
        return text

    def moment_text(value: dt.datetime) -> str:
        key = ("moment", value, customer_zone, lang)
        text = memo.get(key)
        if text is None:
            text = memo[key] = _moment_text(value, customer_zone, lang)
        return text

    with translation.override(lang):
        flight: dict[str, Any] = {
            "label": affected.flight_label.strip(),
            "carrier": affected.carrier,
            "number": affected.flight_number,
            "date": date_text(affected.flight_date),
            "origin": affected.origin,
            "origin_name": origin.city,
            "origin_airport": origin.airport,
            "destination": affected.destination,
            "destination_name": destination.city,
            "destination_airport": destination.airport,
            "booking_reference": affected.booking_reference,
            "departure_local": "",
            "departure_customer_time": "",
            "departure_customer_date": "",
            "departure_customer": "",
            "departure_text": "",
        }
        if affected.scheduled_departure_at is not None:
            at_station = affected.scheduled_departure_at.astimezone(origin_zone)
            for_customer = affected.scheduled_departure_at.astimezone(customer_zone)
            customer_clock = f"{_time_text(for_customer, lang)} {_zone_abbreviation(for_customer)}"
            flight["departure_local"] = _time_text(at_station, lang)
            flight["departure_customer_time"] = customer_clock
            flight["departure_customer_date"] = _date_text(for_customer.date(), lang)
            flight["departure_customer"] = _moment_text(for_customer, customer_zone, lang)
            if at_station.utcoffset() == for_customer.utcoffset():
                flight["departure_text"] = phrases.clock.format(
                    time=flight["departure_local"], zone=_zone_abbreviation(at_station)
                )
            else:
                flight["departure_text"] = phrases.two_zones.format(
                    local=flight["departure_local"],
                    time=_time_text(for_customer, lang),
                    zone=_zone_abbreviation(for_customer),
                )
        delay = duration_text(affected.delay_minutes, lang) if affected.delay_minutes else ""
        impact = {
            "cancelled": affected.cancelled,
            "delay_minutes": affected.delay_minutes,
            "delay_text": delay,
            "missed_connection": affected.missed_connection,
            "overnight_stay": affected.overnight_stay,
            "diverted": affected.diverted,
            "downgraded": affected.downgraded,
            "summary": _impact_summary(affected, language=lang, flight=flight, delay=delay),
        }
        due = incident.next_update_due_at
        next_update = moment_text(due) if due is not None and due > moment else ""
        voucher_rows = [
            {
                "code": voucher.code,
                "value": _money_text(voucher.balance, voucher.currency),
                "amount": f"{voucher.balance:.2f}",
                "currency": voucher.currency,
                "expires": date_text(voucher.expires_at.astimezone(customer_zone).date()),
            }
            for voucher in vouchers
        ]
        entitlement_rows = _entitlement_dicts(entitlements, label=flight["label"], language=lang)
        also = [_also_text(other, lang) for other in also_affected if other.pk != affected.pk]
    owner = incident.owner if incident.owner_id else None
    return {
        "kind": kind,
        "sequence": sequence,
        "language": lang,
        "customer": {
            "name": customer.name.strip(),
            "greeting_name": customer.greeting_name.strip(),
            "language": lang,
            "time_zone": str(customer_zone),
            "reference": customer.external_ref,
        },
        "flight": flight,
        "impact": impact,
        "incident": {
            "reference": incident.reference,
            "title": incident.title,
            **(texts if texts is not None else incident_texts(incident, language=lang, translations={})[0]),
            "within_control": incident.within_control,
        },
        "next_update": next_update,
        "news": news.strip(),
        "vouchers": voucher_rows,
        "entitlements": entitlement_rows,
        "also_incidents": also,
        "sender": {"name": owner.get_full_name() if owner else "", "team": phrases.team},
        "contact": {"phone": str(getattr(settings, "CARE_CONTACT_PHONE", ""))},
    }


# --- 2. rendering ----------------------------------------------------------------------------------------


def _letter_library() -> Library:
    library = Library()
    library.tags = {name: tag for name, tag in defaulttags.register.tags.items() if name not in _BLOCKED_TAGS}
    library.filters = {
        name: function for name, function in defaultfilters.register.filters.items() if name not in _BLOCKED_FILTERS
    }
    return library


def _engine(*, autoescape: bool) -> Engine:
    """An engine of our own: no loaders (no {% include %} or {% extends %}), no libraries to {% load %}."""
    engine = Engine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        autoescape=autoescape,
        string_if_invalid=UNKNOWN_VARIABLE,
        debug=False,
    )
    # Replaces Django's default builtins (which include {% debug %}, {% load %} and |safe) with the vetted set.
    engine.template_builtins = [_letter_library()]
    return engine


_TEXT_ENGINE = _engine(autoescape=False)
_HTML_ENGINE = _engine(autoescape=True)


@lru_cache(maxsize=512)
def _compiled(source: str, *, html: bool) -> Template:
    # Keyed by the source itself, so an edited template can never be served from a stale compilation.
    return (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(source)


def _render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    if not source:
        return ""
    return _compiled(source, html=html).render(Context(dict(context), autoescape=html))


def _tidy(text: str) -> str:
    """Template tags on lines of their own leave blank lines and trailing spaces behind; an email should not."""
    text = _TRAILING_SPACE_RE.sub("\n", text.replace("\r\n", "\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


_PLAIN_EXACT = frozenset(_PLAIN_TYPES)


def _require_plain(value: Any, path: str = "context") -> None:
    kind = type(value)
    if kind in _PLAIN_EXACT:  # the common case, without the (slow) Mapping ABC check
        return
    if kind is dict:
        for key, item in value.items():
            if type(item) not in _PLAIN_EXACT:
                _require_plain(item, f"{path}.{key}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _require_plain(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _require_plain(item, f"{path}.{index}")
    elif not isinstance(value, _PLAIN_TYPES):
        raise TypeError(f"{path} is a {type(value).__name__}: letter templates get plain data only.")


def _missing_facts(context: Mapping[str, Any], kind: str) -> list[str]:
    reasons = []
    if not str(context.get("customer", {}).get("name", "")).strip():
        reasons.append("The customer has no name on file, so the letter cannot address them.")
    if not str(context.get("flight", {}).get("label", "")).strip():
        reasons.append("No flight is recorded for this customer.")
    if kind in KINDS_NEEDING_EXPLANATION and not str(context.get("incident", {}).get("explanation", "")).strip():
        reasons.append("The incident has no explanation for customers yet: write what happened first.")
    if kind == LetterKind.VOUCHER and not context.get("vouchers"):
        reasons.append("The customer has no issued voucher, so there is nothing for a voucher letter to give.")
    return reasons


HTML_LAYOUT = (
    '<!DOCTYPE html>\n<html lang="{}">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{}</title>\n</head>\n'
    '<body style="margin:0;padding:0;background-color:#f3f4f6;">\n'
    '<div role="article" aria-roledescription="email" aria-label="{}" lang="{}" '
    'style="max-width:600px;margin:0 auto;padding:32px 24px;background-color:#ffffff;color:#1f2937;'
    "font-family:Georgia,'Times New Roman',serif;font-size:17px;line-height:1.6;\">\n{}\n</div>\n</body>\n</html>"
)
_PARAGRAPH_STYLE = '<p style="margin:0 0 16px 0;">'
_PARAGRAPH_SPLIT_RE = re.compile("\n{2,}")


def html_from_text(text: str) -> SafeString:
    """The plain text as escaped HTML paragraphs (blank lines separate them; single newlines become <br>).

    The same HTML as Django's ``linebreaks(text, autoescape=True)`` (a test holds them equal), written
    with the standard library's escape: the lazy-string wrappers around Django's filters cost more than
    the work for every letter the sweeps render.
    """
    paragraphs = _PARAGRAPH_SPLIT_RE.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    return mark_safe(  # noqa: S308 - every paragraph is escaped
        "\n\n".join(
            f"{_PARAGRAPH_STYLE}{html.escape(paragraph).replace(chr(10), '<br>')}</p>" for paragraph in paragraphs
        )
    )


def html_document(*, content: SafeString | str, subject: str, language: str) -> str:
    return str(format_html(HTML_LAYOUT, language, subject, subject, language, content))


def _unknown_variables(*texts: str) -> list[str]:
    names: set[str] = set()
    for text in texts:
        names.update(_UNKNOWN_VARIABLE_RE.findall(text))
    return sorted(names)


def render_letter(*, template: LetterTemplate, context: Mapping[str, Any]) -> RenderedLetter:
    """Render ``template`` for one customer, or raise ``LetterRenderError`` with every reason it cannot be sent."""
    _require_plain(context)
    customer = context.get("customer", {})
    kind = str(context.get("kind") or template.kind)
    language = str(context.get("language") or template.language)
    reasons = _missing_facts(context, kind)
    subject = body_text = body_html = ""
    parts: dict[str, str] = {}
    try:
        with translation.override(language):
            parts = {key: _tidy(_render(getattr(template, f"part_{key}"), context)) for key in PART_KEYS}
            body_context = {**context, "parts": parts}
            subject = " ".join(_render(template.subject, body_context).split())
            body_text = _tidy(_render(template.body_text, body_context))
            if template.body_html.strip():
                body_html = _render(template.body_html, body_context, html=True)
    except TemplateSyntaxError as exc:
        reasons.append(f"The template “{template}” has an error: {exc}.")
    except (TemplateDoesNotExist, VariableDoesNotExist, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        reasons.append(f"The template “{template}” could not be rendered: {exc}.")
    else:
        unknown = _unknown_variables(subject, body_text, body_html, *parts.values())
        reasons += [f"The template “{template}” uses {{{{ {name} }}}}, which letters do not have." for name in unknown]
        if not subject:
            reasons.append(f"The template “{template}” gives an empty subject.")
        elif len(subject) > SUBJECT_MAX:
            reasons.append(
                f"The subject is {len(subject)} characters long; an email subject takes at most {SUBJECT_MAX}."
            )
        if not body_text:
            reasons.append(f"The template “{template}” gives an empty letter.")
    if reasons:
        raise LetterRenderError(
            reasons, customer_reference=str(customer.get("reference", "")), customer_name=str(customer.get("name", ""))
        )
    if not body_html:
        body_html = html_document(content=html_from_text(body_text), subject=subject, language=language)
    elif "<html" not in body_html.lower():
        body_html = html_document(content=mark_safe(body_html), subject=subject, language=language)  # noqa: S308
    return RenderedLetter(
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        parts=parts,
        template_id=template.pk,
        template_version=template.version,
    )


# --- templates -------------------------------------------------------------------------------------------


def _pick(templates: Iterable[LetterTemplate], *, kind: str, language: str) -> LetterTemplate | None:
    by_language = {template.language: template for template in templates if template.kind == kind}
    return by_language.get(language) or by_language.get(settings.LANGUAGE_CODE)


def _no_template(kind: str, language: str) -> NoActiveTemplate:
    kind_label = LetterKind(kind).label if kind in LetterKind.values else kind
    return NoActiveTemplate(
        f"There is no active “{kind_label}” template in {language} or in English: add one under Letter templates."
    )


def template_for(*, kind: str, language: str) -> LetterTemplate:
    """The active template of ``kind`` in ``language``, else the active English one."""
    candidates = LetterTemplate.objects.filter(
        kind=kind, is_active=True, language__in={language, settings.LANGUAGE_CODE}
    )
    chosen = _pick(candidates, kind=kind, language=language)
    if chosen is None:
        raise _no_template(kind, language)
    return chosen


# --- 3. rendering stored letters in bulk ---------------------------------------------------------------


Translations = Mapping[tuple[int, str], IncidentTranslation]


def incident_translations(
    incident_ids: Iterable[int], languages: Iterable[str]
) -> dict[tuple[int, str], IncidentTranslation]:
    rows = IncidentTranslation.objects.filter(incident_id__in=set(incident_ids), language__in=set(languages))
    return {(row.incident_id, row.language): row for row in rows}


def incident_texts(
    incident: Incident, *, language: str, translations: Translations
) -> tuple[dict[str, str], str | None]:
    """The coordinator's explanation, apology and prevention in ``language``, and a reason when they are missing.

    Without a translation the default-language text is used (a first notice must not wait for a
    translator); the reason lets the personal-letter check hold an apology written in two languages.
    """
    own = {
        "explanation": incident.explanation.strip(),
        "apology": incident.apology.strip(),
        "prevention": incident.prevention.strip(),
    }
    if language == settings.LANGUAGE_CODE:
        return own, None
    translated = translations.get((incident.pk, language))
    label = dict(settings.LANGUAGES).get(language, language)
    if translated is None or not translated.apology.strip():
        return own, (
            f"The coordinator's paragraphs have no {label} version yet: add one under "
            f"“Texts in other languages” on {incident.reference}."
        )
    return {key: (getattr(translated, key).strip() or value) for key, value in own.items()}, None


def latest_news(incident_ids: set[int]) -> dict[int, str]:
    """The latest customer-facing timeline entry of each incident; "" when it is the sweep's "no news yet"
    entry (care.operations.sweeps), so each letter says so in its own language instead of quoting the English."""
    from care.operations.sweeps import NO_NEWS_PREFIX

    news: dict[int, str] = {}
    rows = (
        IncidentUpdate.objects.filter(incident_id__in=incident_ids, audience=Audience.CUSTOMERS)
        .order_by("incident_id", "-posted_at", "-id")
        .values_list("incident_id", "text", "author_id")
    )
    for incident_id, text, author_id in rows:
        no_news = author_id is None and text.startswith(NO_NEWS_PREFIX)
        news.setdefault(incident_id, "" if no_news else text)
    return news


@dataclass
class _Shared:
    """What the letters rendered together share, loaded once for all of them."""

    vouchers: dict[int, list[Voucher]]  # by affected customer
    customer_vouchers: dict[int, list[Voucher]]  # by customer, for apologies
    others: dict[int, list[AffectedCustomer]]
    news: dict[int, str]
    translations: dict[tuple[int, str], IncidentTranslation]
    active: list[LetterTemplate]
    recycled: Mapping[int, str | None]
    now: dt.datetime
    chosen: dict[tuple[str, str], LetterTemplate | None] = field(default_factory=dict)
    formats: dict[tuple[Any, ...], str] = field(default_factory=dict)  # formatted dates and moments


def _shared_inputs(
    *,
    affected_ids: set[int],
    customer_ids: set[int],
    incidents: Iterable[Incident],
    kinds: set[str],
    languages: set[str],
) -> _Shared:
    """Vouchers, the customers' other incidents, news, translations, templates and the paragraph check:
    a fixed number of queries however many letters share them."""
    incident_ids = {incident.pk for incident in incidents}
    vouchers: dict[int, list[Voucher]] = defaultdict(list)
    # An apology acknowledges every incident the customer was affected by (also_incidents), so it carries
    # the vouchers of all of them: a combined apology must not drop the codes of the incident it absorbed.
    apology_customers = customer_ids if kinds & KINDS_WITH_APOLOGY else set()
    customer_vouchers: dict[int, list[Voucher]] = defaultdict(list)
    for voucher in Voucher.objects.filter(
        Q(affected_id__in=affected_ids) | Q(customer_id__in=apology_customers, affected__isnull=False),
        status=VoucherStatus.ISSUED,
    ).order_by("affected_id", "sequence", "pk"):
        vouchers[voucher.affected_id].append(voucher)  # type: ignore[index]
        customer_vouchers[voucher.customer_id].append(voucher)
    others: dict[int, list[AffectedCustomer]] = defaultdict(list)
    other_rows = AffectedCustomer.objects.filter(customer_id__in=customer_ids).order_by("flight_date", "pk")
    if apology_customers:
        # With their incidents: an apology states what the law owes for each of them (letter_entitlements).
        other_rows = other_rows.select_related("incident")
    for other in other_rows:
        others[other.customer_id].append(other)
    languages = languages | {settings.LANGUAGE_CODE}
    checked = set(incidents) if kinds & KINDS_WITH_APOLOGY else set()
    return _Shared(
        vouchers=vouchers,
        customer_vouchers=customer_vouchers,
        others=others,
        news=latest_news(incident_ids) if LetterKind.UPDATE in kinds else {},
        translations=incident_translations(incident_ids, languages),
        active=list(LetterTemplate.objects.filter(is_active=True, kind__in=kinds, language__in=languages)),
        recycled=recycled_paragraph_reasons(incidents=checked) if checked else {},
        now=timezone.now(),
    )


@dataclass(frozen=True)
class _Rendered:
    """One letter's stored fields after rendering and the check, and how it went."""

    fields: dict[str, Any]
    outcome: str  # "rendered", "held" or "failed"
    reasons: list[str]


def _render_one(shared: _Shared, *, affected: AffectedCustomer, kind: str, sequence: int) -> _Rendered:
    """Render and check the letter of ``kind`` for ``affected`` (its customer and incident already set)."""
    customer = affected.customer
    key = (kind, letter_language(customer.language))
    if key not in shared.chosen:
        shared.chosen[key] = _pick(shared.active, kind=key[0], language=key[1])
    template = shared.chosen[key]
    try:
        if template is None:
            raise _no_template(*key)
        texts, untranslated = incident_texts(
            affected.incident, language=template.language, translations=shared.translations
        )
        context = letter_context(
            affected=affected,
            kind=kind,
            sequence=sequence,
            vouchers=(
                shared.customer_vouchers.get(affected.customer_id, ())
                if kind in KINDS_WITH_APOLOGY
                else shared.vouchers.get(affected.pk, ())
            ),
            entitlements=letter_entitlements(
                affected, kind=kind, also_affected=shared.others.get(affected.customer_id, ())
            ),
            also_affected=shared.others.get(affected.customer_id, ()),
            language=template.language,
            news=shared.news.get(affected.incident_id, ""),
            now=shared.now,
            texts=texts,
            formats=shared.formats,
        )
        rendered = render_letter(template=template, context=context)
    except DomainError as exc:
        reasons = list(getattr(exc, "reasons", [str(exc)]))
        fields: dict[str, Any] = {**_FAILED_FIELDS, "to_address": customer.email, "check_reasons": reasons}
        message = str(exc) if isinstance(exc, LetterRenderError) else _failure_message(customer, reasons)
        return _Rendered(fields=fields, outcome="failed", reasons=[message])
    reasons = personal_letter_reasons(rendered=rendered, context=context, kind=kind)
    if kind in KINDS_WITH_APOLOGY and (paragraph := shared.recycled.get(affected.incident_id)):
        reasons.append(paragraph)
    if kind in KINDS_WITH_APOLOGY and untranslated:
        reasons.append(untranslated)
    fields = {
        "subject": rendered.subject,
        "body_text": rendered.body_text,
        "body_html": rendered.body_html,
        "parts": rendered.parts,
        "template": template,
        "template_version": rendered.template_version,
        "to_address": customer.email,
        "check_passed": not reasons,
        "check_reasons": reasons,
    }
    return _Rendered(fields=fields, outcome="held" if reasons else "rendered", reasons=reasons)


_RENDERED_FIELDS = [
    "subject",
    "body_text",
    "body_html",
    "parts",
    "template",
    "template_version",
    "to_address",
    "check_passed",
    "check_reasons",
    "updated_at",
]


def letters_render(*, letter_ids: Sequence[int]) -> RenderSummary:
    """Render (or re-render) these letters and run the personal-letter check, storing the outcome on each.

    Only drafts and approved letters are rendered; the others are counted as skipped. A letter that cannot
    be rendered keeps an empty text, ``check_passed=False`` and the reasons; the rest of the batch goes on.
    The queries do not grow with the letters: letters, vouchers, the customers' other incidents, news,
    templates, the paragraph check (two), and one UPDATE per 500 letters.
    """
    wanted = sorted(set(letter_ids))
    if not wanted:
        return RenderSummary()
    with transaction.atomic():
        letters = list(
            Letter.objects.select_for_update(of=("self",))
            .select_related("customer", "affected")
            .filter(pk__in=wanted, status__in=RENDERABLE_STATUSES)
            .order_by("pk")
        )
        if not letters:
            return RenderSummary(skipped=len(wanted))
        # One instance per incident shared by its letters (hundreds of letters, usually one incident),
        # rather than a copy joined onto every letter row.
        incidents = Incident.objects.select_related("owner").in_bulk(
            {letter.incident_id for letter in letters if letter.incident_id}
        )
        for letter in letters:
            if letter.incident_id:
                letter.incident = incidents[letter.incident_id]
        shared = _shared_inputs(
            affected_ids={letter.affected_id for letter in letters if letter.affected_id},
            customer_ids={letter.customer_id for letter in letters},
            incidents=[incident for incident in incidents.values() if incident is not None],
            kinds={letter.kind for letter in letters},
            languages={letter_language(letter.customer.language) for letter in letters},
        )
        counts = {"rendered": 0, "held": 0, "failed": 0}
        errors: list[str] = []
        for letter in letters:
            try:
                affected = _affected_of(letter)
            except DomainError as exc:
                result = _Rendered(
                    fields={**_FAILED_FIELDS, "to_address": letter.customer.email, "check_reasons": [str(exc)]},
                    outcome="failed",
                    reasons=[_failure_message(letter.customer, [str(exc)])],
                )
            else:
                result = _render_one(shared, affected=affected, kind=letter.kind, sequence=letter.sequence)
            for name, value in result.fields.items():
                setattr(letter, name, value)
            letter.updated_at = shared.now
            counts[result.outcome] += 1
            if result.outcome == "failed" and len(errors) < ERRORS_KEPT:
                errors.extend(result.reasons)
        rows_update(letters, fields=_RENDERED_FIELDS, batch_size=500)
    return RenderSummary(**counts, skipped=len(wanted) - len(letters), errors=tuple(errors))


_FAILED_FIELDS: dict[str, Any] = {
    "subject": "",
    "body_text": "",
    "body_html": "",
    "parts": {},
    "template": None,
    "template_version": None,
    "check_passed": False,
}


@dataclass(frozen=True)
class CreatedLetters:
    summary: RenderSummary
    queued_ids: list[int]  # inserted already QUEUED (see letters_create_rendered)


def letters_create_rendered(
    *,
    incident: Incident,
    kind: str,
    sequence: int,
    batch_id: int,
    affected_ids: Sequence[int],
    queue_ready: bool = False,
    actor_label: str = "",
) -> CreatedLetters:
    """Create the letters these affected customers do not have yet, rendered and checked as they are written.

    One INSERT per letter instead of an empty draft rendered by a later UPDATE: the sweeps write thousands
    of letters a minute and every rewrite of a rendered row costs as much as writing it. Concurrent chunks
    are safe: the unique (affected, kind, sequence) constraint keeps the first row and drops the other.
    With ``queue_ready``, a letter that may go at once (its check passed; a kind that needs no approval
    and never waits for the customer's morning; an incident that sends without approval) is written
    QUEUED with its audit row, exactly as ``care.correspondence.sending.letters_queue`` would have moved it; the caller
    enqueues ``queued_ids`` for sending after commit. The others are written as drafts.
    Call inside a transaction.
    """
    from care.correspondence.models.letters import Channel, LetterStatusChange
    from care.correspondence.quiet_hours import KINDS_THAT_WAIT

    existing = Letter.objects.filter(affected_id=OuterRef("pk"), kind=kind, sequence=sequence)
    rows = list(
        AffectedCustomer.objects.select_related("customer")
        .filter(pk__in=list(affected_ids), incident_id=incident.pk)
        .exclude(Exists(existing))
        .order_by("pk")
    )
    if not rows:
        return CreatedLetters(summary=RenderSummary(), queued_ids=[])
    for affected in rows:
        affected.incident = incident
    shared = _shared_inputs(
        affected_ids={affected.pk for affected in rows},
        customer_ids={affected.customer_id for affected in rows},
        incidents=[incident],
        kinds={kind},
        languages={letter_language(affected.customer.language) for affected in rows},
    )
    may_queue = (
        queue_ready
        and kind not in KINDS_NEEDING_APPROVAL
        and kind not in KINDS_THAT_WAIT
        and incident.auto_send_notices
    )
    counts = {"rendered": 0, "held": 0, "failed": 0}
    errors: list[str] = []
    letters: list[Letter] = []
    for affected in rows:
        result = _render_one(shared, affected=affected, kind=kind, sequence=sequence)
        counts[result.outcome] += 1
        if result.outcome == "failed" and len(errors) < ERRORS_KEPT:
            errors.extend(result.reasons)
        goes = may_queue and result.outcome == "rendered"
        letters.append(
            Letter(
                customer_id=affected.customer_id,
                incident=incident,
                affected=affected,
                kind=kind,
                sequence=sequence,
                batch_id=batch_id,
                channel=Channel.EMAIL,
                status=LetterStatus.QUEUED if goes else LetterStatus.DRAFT,
                queued_at=shared.now if goes else None,
                created_at=shared.now,
                updated_at=shared.now,
                **result.fields,
            )
        )
    Letter.objects.bulk_create(letters, ignore_conflicts=True)
    queued_ids: list[int] = []
    if may_queue:
        # Ours are the rows queued at this moment (a concurrent chunk's rows carry its own moment).
        queued_ids = list(
            Letter.objects.filter(
                affected_id__in=[affected.pk for affected in rows],
                kind=kind,
                sequence=sequence,
                status=LetterStatus.QUEUED,
                queued_at=shared.now,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        record_status_changes(
            audit_model=LetterStatusChange,
            audit_fk="letter",
            rows=[(pk, LetterStatus.DRAFT) for pk in queued_ids],
            to_status=LetterStatus.QUEUED,
            actor_label=actor_label,
            note="queued for sending",
            at=shared.now,
        )
    return CreatedLetters(
        summary=RenderSummary(**counts, errors=tuple(errors)),
        queued_ids=queued_ids,
    )


def _affected_of(letter: Letter) -> AffectedCustomer:
    affected = letter.affected
    if affected is None:
        raise DomainError("This letter is not about a disrupted flight (it has no affected-customer record).")
    if affected.customer_id != letter.customer_id or affected.incident_id != letter.incident_id:
        raise DomainError("The letter's customer or incident does not match its affected-customer record.")
    # Already loaded with the letter: share them instead of loading them again per letter.
    affected.customer = letter.customer
    affected.incident = letter.incident  # type: ignore[assignment]
    return affected


def _failure_message(customer: Any, reasons: list[str]) -> str:
    return f"The letter for customer {customer.external_ref} was not rendered: {' '.join(reasons)}"
