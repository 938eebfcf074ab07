"""``letter_context``: everything a letter template may use about one customer's disruption, as plain data.

It only composes: each section of the letter is built by its own module in ``rendering.sections``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone, translation

from care.core.station_time import zone_named
from care.correspondence.models.letters import LetterKind
from care.correspondence.phrases import letter_language
from care.correspondence.rendering.formatting import FormatMemo, LetterFormats
from care.correspondence.rendering.incident_texts import incident_texts
from care.correspondence.rendering.sections.customer import customer_section
from care.correspondence.rendering.sections.entitlements import entitlement_section
from care.correspondence.rendering.sections.flight import flight_section
from care.correspondence.rendering.sections.impact import also_section, impact_section
from care.correspondence.rendering.sections.incident import incident_section, news_section, promise_section
from care.correspondence.rendering.sections.signature import signature_section
from care.correspondence.rendering.sections.stream import (
    NO_STREAM,
    StreamFacts,
    said_once,
    stream_promise,
    stream_section,
)
from care.correspondence.rendering.sections.vouchers import voucher_section
from incidents.models import AffectedCustomer, Incident
from vouchers.law import Entitlement
from vouchers.models import Voucher


def letter_context(  # noqa: PLR0913 - the facts of one letter, keyword-only, prefetched by the caller
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
    formats: FormatMemo | None = None,
    stream: StreamFacts | None = None,
    told_before: tuple[int, bool, bool] | None = None,
    channel: str = "email",
) -> dict[str, Any]:
    """Everything a letter template may use about this customer's disruption, as plain data.

    ``language`` is the letter's language (the template's, when the customer's language has no template);
    it defaults to the customer's. ``also_affected`` are the customer's rows in other incidents, ``news``
    the latest customer-facing timeline entry (for updates). A promised next update already past is left
    out: a letter never promises a time that has gone. ``formats`` is a memo of formatted dates and moments
    that a caller rendering many letters shares between them (many letters share a flight date or a
    promised next update); the text is the same with or without it. ``stream`` is what a notice or update to a
    customer on several open incidents covers besides this one (care.correspondence.streams): a combined update
    is numbered for the customer (``sequence``) and a combined notice promises the earliest next update.
    ``told_before``: the impact the customer's previous notice or update told them (``impact.change``).
    ``channel``: how the letter reaches them (care.correspondence.channels).
    """
    stream = stream or NO_STREAM
    moment = now or timezone.now()
    customer = affected.customer
    incident: Incident = affected.incident
    lang = letter_language(language or customer.language)
    customer_zone = zone_named(customer.time_zone) or dt.UTC
    letter_formats = LetterFormats(language=lang, zone=customer_zone, memo=formats if formats is not None else {})
    # Month and weekday names, and the digits of money, are Django's: word them in the letter's language.
    with translation.override(lang):
        flight = flight_section(affected, formats=letter_formats)
        impact = impact_section(affected, language=lang, flight=flight, told_before=told_before)
        next_update = promise_section(incident, formats=letter_formats, now=moment)
        earliest = stream_promise(affected, stream=stream, formats=letter_formats, now=moment)
        if kind == LetterKind.INITIAL_NOTICE and earliest is not None:
            next_update = earliest
        streamed = stream_section(affected, stream=stream, flight=flight, formats=letter_formats)
        voucher_rows = voucher_section(vouchers, formats=letter_formats)
        entitlement_rows = entitlement_section(entitlements, label=flight["label"], language=lang)
        also = also_section(affected, also_affected=also_affected, language=lang)
    if texts is None:
        texts = incident_texts(incident, language=lang, translations={})[0]
    said_once(streamed, affected=affected, flight=flight, explanation=texts["explanation"], news=news, language=lang)
    return {
        "kind": kind,
        "channel": channel,
        "sequence": stream.number or sequence,
        "language": lang,
        "customer": customer_section(customer, language=lang, zone=customer_zone),
        "flight": flight,
        "impact": impact,
        "incident": incident_section(incident, texts=texts),
        "next_update": next_update,
        "news": news_section(news),
        "vouchers": voucher_rows,
        "entitlements": entitlement_rows,
        "also_incidents": also,
        **streamed,
        **signature_section(incident, language=lang),
    }
