"""Rendering letters together: what they share, loaded once for all of them, and rendering one of them.

Used by the bulk services (``rendering.services``) so that the queries do not grow with the letters.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from care.core.errors import DomainError
from care.correspondence.channels import SMS_LINK_KINDS, letter_channel
from care.correspondence.letter_check import (
    combined_flight_reasons,
    personal_letter_reasons,
    recycled_paragraph_reasons,
)
from care.correspondence.letter_page import letter_page_url
from care.correspondence.models.letters import Channel, Letter, LetterKind, LetterStatus
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.phrases import letter_language
from care.correspondence.rendering.choice import no_template_error, template_pick
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.formatting import FormatMemo
from care.correspondence.rendering.incident_texts import (
    News,
    Translations,
    Variants,
    incident_texts,
    incident_translations,
    latest_news,
    paragraph_variants,
    variant_texts,
)
from care.correspondence.rendering.kinds import KINDS_WITH_APOLOGY
from care.correspondence.rendering.letter import LetterRenderError, render_letter
from care.correspondence.rendering.sections.entitlements import letter_entitlements
from care.correspondence.rendering.sections.impact import Told, impact_now
from care.correspondence.rendering.sections.stream import CoveredFlight, StreamFacts
from care.correspondence.sms.letter_text import letter_sms
from care.correspondence.streams import STREAM_KINDS, Stream
from incidents.models import AffectedCustomer, Incident, IncidentTranslation
from vouchers.models import Voucher, VoucherStatus

# The stored fields of a letter that could not be rendered: no text, and never sent as it is.
FAILED_FIELDS: dict[str, Any] = {
    "subject": "",
    "body_text": "",
    "body_html": "",
    "parts": {},
    "template": None,
    "template_version": None,
    "paragraph_variant": "",
    "impact_told": None,
    "sms_body": "",
    "check_passed": False,
}


@dataclass
class SharedInputs:
    """What the letters rendered together share, loaded once for all of them."""

    vouchers: dict[int, list[Voucher]]  # by affected customer
    customer_vouchers: dict[int, list[Voucher]]  # by customer, for apologies
    others: dict[int, list[AffectedCustomer]]
    news: News  # by (incident, language)
    translations: dict[tuple[int, str], IncidentTranslation]
    variants: Variants  # the coordinator's paragraphs per impact
    active: list[LetterTemplate]
    recycled: Mapping[int, str | None]
    now: dt.datetime
    # What each affected customer's notices and updates told them of their impact, in order (prior_told).
    told: dict[int, list[tuple[int, Told | None]]] = field(default_factory=dict)
    chosen: dict[tuple[str, str], LetterTemplate | None] = field(default_factory=dict)
    formats: FormatMemo = field(default_factory=dict)  # formatted dates and moments


def shared_inputs(
    *,
    affected_ids: set[int],
    customer_ids: set[int],
    incidents: Iterable[Incident],
    kinds: set[str],
    languages: set[str],
    also_incident_ids: Iterable[int] = (),
) -> SharedInputs:
    """Vouchers, the customers' other incidents, news, translations, paragraphs per impact, templates and the
    paragraph check: a fixed number of queries however many letters share them. ``also_incident_ids``: the other
    incidents the letters cover (care.correspondence.streams), whose news and translations they need too."""
    incident_ids = {incident.pk for incident in incidents} | set(also_incident_ids)
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
    return SharedInputs(
        vouchers=vouchers,
        customer_vouchers=customer_vouchers,
        others=others,
        news=latest_news(incident_ids, languages) if LetterKind.UPDATE in kinds else {},
        translations=incident_translations(incident_ids, languages),
        variants=paragraph_variants(incident_ids, languages),
        active=list(LetterTemplate.objects.filter(is_active=True, kind__in=kinds, language__in=languages)),
        recycled=recycled_paragraph_reasons(incidents=checked) if checked else {},
        now=timezone.now(),
        told=told_impacts(affected_ids) if LetterKind.UPDATE in kinds else {},
    )


def _order(kind: str, sequence: int) -> int:
    """A notice comes first, then the updates by number."""
    return 0 if kind == LetterKind.INITIAL_NOTICE else sequence


def told_impacts(affected_ids: Iterable[int]) -> dict[int, list[tuple[int, Told | None]]]:
    """The notices and updates of these affected customers, in letter order, with what each told them of their
    impact (None for a marker: another letter covered it)."""
    told: dict[int, list[tuple[int, Told | None]]] = defaultdict(list)
    rows = (
        Letter.objects.filter(affected_id__in=list(affected_ids), kind__in=STREAM_KINDS)
        .exclude(status=LetterStatus.CANCELLED, combined_into__isnull=True)  # a letter cancelled by hand told nothing
        .values_list("affected_id", "kind", "sequence", "impact_told")
        .order_by()
    )
    for affected_id, kind, sequence, impact in rows:
        if affected_id is None:
            continue  # excluded by the query; for the type checker
        said = None if impact is None else (int(impact[0]), bool(impact[1]), bool(impact[2]))
        told[affected_id].append((_order(kind, sequence), said))
    for letters in told.values():
        letters.sort(key=lambda letter: letter[0])
    return told


def prior_told(shared: SharedInputs, *, affected_id: int, kind: str, sequence: int) -> Told | None:
    """The impact the letter before this one (notice or update) told the customer; None when there is none."""
    mine = _order(kind, sequence)
    earlier = [impact for order, impact in shared.told.get(affected_id, ()) if order < mine and impact is not None]
    return earlier[-1] if earlier else None


def own_number(shared: SharedInputs, *, affected_id: int, sequence: int) -> int:
    """The update's number for this customer: the incident numbers its updates from its first, and a passenger who
    joined it later (detection adds flights all day) would read "update number 8" in their first update."""
    return 1 + sum(1 for order, _impact in shared.told.get(affected_id, ()) if 0 < order < sequence)


@dataclass(frozen=True)
class RenderOutcome:
    """One letter's stored fields after rendering and the check, and how it went."""

    fields: dict[str, Any]
    outcome: str  # "rendered", "held" or "failed"
    reasons: list[str]


def render_one(
    shared: SharedInputs, *, affected: AffectedCustomer, kind: str, sequence: int, stream: Stream | None = None
) -> RenderOutcome:
    """Render and check the letter of ``kind`` for ``affected`` (its customer and incident already set);
    ``stream``: the customer's other open incidents the letter covers or mentions (care.correspondence.streams)."""
    customer = affected.customer
    channel = letter_channel(customer, kind)
    address = customer.phone if channel == Channel.SMS else customer.email
    key = (kind, letter_language(customer.language))
    if key not in shared.chosen:
        shared.chosen[key] = template_pick(shared.active, kind=key[0], language=key[1])
    template = shared.chosen[key]
    try:
        if template is None:
            raise no_template_error(*key)
        texts, untranslated = incident_texts(
            affected.incident, language=template.language, translations=shared.translations
        )
        texts, variant = variant_texts(
            texts,
            incident_id=affected.incident_id,
            facts=affected,
            language=template.language,
            kind=kind,
            variants=shared.variants,
        )
        context = letter_context(
            affected=affected,
            kind=kind,
            sequence=own_number(shared, affected_id=affected.pk, sequence=sequence)
            if kind == LetterKind.UPDATE
            else sequence,
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
            news=shared.news.get((affected.incident_id, template.language), ""),
            now=shared.now,
            texts=texts,
            formats=shared.formats,
            stream=stream_facts(
                stream,
                language=template.language,
                kind=kind,
                translations=shared.translations,
                variants=shared.variants,
                news=shared.news,
            ),
            told_before=(
                prior_told(shared, affected_id=affected.pk, kind=kind, sequence=sequence)
                if kind == LetterKind.UPDATE
                else None
            ),
            channel=channel,
        )
        rendered = render_letter(template=template, context=context)
    except DomainError as exc:
        reasons = list(getattr(exc, "reasons", [str(exc)]))
        fields: dict[str, Any] = {
            **FAILED_FIELDS,
            "channel": channel,
            "to_address": address,
            "check_reasons": reasons,
        }
        message = str(exc) if isinstance(exc, LetterRenderError) else failure_message(customer, reasons)
        return RenderOutcome(fields=fields, outcome="failed", reasons=[message])
    reasons = personal_letter_reasons(rendered=rendered, context=context, kind=kind)
    reasons += combined_flight_reasons(rendered=rendered, context=context)
    if kind in KINDS_WITH_APOLOGY and (paragraph := shared.recycled.get(affected.incident_id)):
        reasons.append(paragraph)
    if kind in KINDS_WITH_APOLOGY and untranslated:
        reasons.append(untranslated)
    sms_body = ""
    if channel == Channel.SMS:
        link = letter_page_url(affected_id=affected.pk, kind=kind, sequence=sequence) if kind in SMS_LINK_KINDS else ""
        sms_body, sms_reasons = letter_sms(affected, kind=kind, language=template.language, now=shared.now, link=link)
        reasons += sms_reasons
    fields = {
        "subject": rendered.subject,
        "body_text": rendered.body_text,
        "body_html": rendered.body_html,
        "parts": rendered.parts,
        "template": template,
        "template_version": rendered.template_version,
        "paragraph_variant": variant,
        "impact_told": list(impact_now(affected)) if kind in STREAM_KINDS else None,
        "channel": channel,
        "to_address": address,
        "sms_body": sms_body,
        "check_passed": not reasons,
        "check_reasons": reasons,
    }
    return RenderOutcome(fields=fields, outcome="held" if reasons else "rendered", reasons=reasons)


def stream_facts(
    stream: Stream | None,
    *,
    language: str,
    kind: str,
    translations: Translations,
    variants: Variants,
    news: News,
) -> StreamFacts | None:
    """The other incidents' words for the flights a letter covers (care.correspondence.streams), chosen as their own
    letters would choose them: the translation, then the paragraphs for the customer's impact on that flight."""
    if stream is None:
        return None
    covered = []
    for row in stream.covered:
        texts, _untranslated = incident_texts(row.incident, language=language, translations=translations)
        texts, _variant = variant_texts(
            texts, incident_id=row.incident_id, facts=row, language=language, kind=kind, variants=variants
        )
        said = news.get((row.incident_id, language), "") if kind == LetterKind.UPDATE else ""
        covered.append(CoveredFlight(affected=row, explanation=texts["explanation"], news=said))
    return StreamFacts(covered=tuple(covered), mentioned=stream.mentioned, number=stream.number)


def failure_message(customer: Any, reasons: list[str]) -> str:
    """The line a batch's errors keep for a letter that was not rendered, naming the customer by reference."""
    return f"The letter for customer {customer.external_ref} was not rendered: {' '.join(reasons)}"
