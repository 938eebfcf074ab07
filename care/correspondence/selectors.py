"""Reads about letters shared by the admin, the briefings and the API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from care.correspondence.legs import with_other_legs
from care.correspondence.letter_check import (
    combined_flight_reasons,
    personal_letter_reasons,
    recycled_paragraph_reason,
)
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.batch import stream_facts
from care.correspondence.rendering.choice import template_for
from care.correspondence.rendering.context import letter_context
from care.correspondence.rendering.incident_texts import (
    incident_texts,
    incident_translations,
    latest_news,
    paragraph_variants,
    variant_texts,
)
from care.correspondence.rendering.kinds import KINDS_WITH_APOLOGY
from care.correspondence.rendering.letter import LetterRenderError, render_letter
from care.correspondence.rendering.sections.entitlements import letter_entitlements
from care.correspondence.streams import stream_plan
from incidents.models import AffectedCustomer
from incidents.variants import Impact
from vouchers.models import Voucher, VoucherStatus

HELD_SHOWN = 50


@dataclass
class LetterPreview:
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    template_label: str = ""


def letter_preview(
    *, affected_id: int, kind: str, sequence: int = 1, template: LetterTemplate | None = None
) -> LetterPreview:
    """Render, without storing anything, the letter ``kind`` that this affected customer would get.

    Built from the same inputs as care.correspondence.rendering.services.letters_render (vouchers, entitlements, the
    customer's other incidents, the latest news, the coordinator's text in the letter's language).
    """
    affected = AffectedCustomer.objects.select_related("customer", "incident").get(pk=affected_id)
    # As letters_render: an apology or voucher letter carries the vouchers of every incident of the customer.
    every_incident = Q(customer_id=affected.customer_id, affected__isnull=False)
    carried = every_incident if kind in KINDS_WITH_APOLOGY else Q(affected=affected)
    vouchers = list(
        Voucher.objects.filter(carried, status=VoucherStatus.ISSUED).order_by("affected_id", "sequence", "pk")
    )
    others = list(
        AffectedCustomer.objects.filter(customer_id=affected.customer_id)
        .select_related("incident")
        .order_by("flight_date", "pk")
    )
    chosen = template or template_for(kind=kind, language=affected.customer.language)
    texts, untranslated = incident_texts(
        affected.incident,
        language=chosen.language,
        translations=incident_translations([affected.incident_id], [chosen.language]),
    )
    texts, _variant = variant_texts(
        texts,
        incident_id=affected.incident_id,
        facts=affected,
        language=chosen.language,
        kind=kind,
        variants=paragraph_variants([affected.incident_id], [chosen.language]),
    )
    # As a letter written now: a notice or update covers the customer's other open incidents (streams).
    stream = stream_plan(incident=affected.incident, kind=kind, rows=[affected], lock=False).streams.get(affected.pk)
    stream = with_other_legs(stream, affected=affected, kind=kind)  # and their other flights here (legs)
    covered = stream.incident_ids if stream is not None else set()
    context = letter_context(
        affected=affected,
        kind=kind,
        sequence=sequence,
        vouchers=vouchers,
        entitlements=letter_entitlements(affected, kind=kind, also_affected=others),
        also_affected=others,
        language=chosen.language,
        news=latest_news({affected.incident_id}, [chosen.language]).get((affected.incident_id, chosen.language), ""),
        texts=texts,
        stream=stream_facts(
            stream,
            language=chosen.language,
            kind=kind,
            translations=incident_translations(covered, [chosen.language]),
            variants=paragraph_variants(covered, [chosen.language]),
            news=latest_news(covered, [chosen.language]) if covered else {},
        ),
    )
    try:
        rendered = render_letter(template=chosen, context=context)
    except LetterRenderError as exc:
        return LetterPreview(reasons=list(exc.reasons), template_label=str(chosen))
    reasons = personal_letter_reasons(rendered=rendered, context=context, kind=kind)
    reasons += combined_flight_reasons(rendered=rendered, context=context)
    if kind in KINDS_WITH_APOLOGY:
        reasons += [
            reason for reason in (recycled_paragraph_reason(incident=affected.incident), untranslated) if reason
        ]
    return LetterPreview(
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        parts=dict(rendered.parts),
        reasons=reasons,
        template_label=str(chosen),
    )


@dataclass(frozen=True)
class VariantCount:
    """How many letters of a batch carry one variant of the coordinator's paragraph, and in which languages."""

    variant: str  # the impact (incidents.variants.Impact), "" for the general paragraph
    label: str  # "cancelled", "general"
    letters: int
    by_language: list[tuple[str, int]]


@dataclass(frozen=True)
class BatchOverview:
    by_status: dict[str, int]
    ready: int
    held: int
    held_reasons: list[tuple[str, int]]
    held_letters: list[Letter]
    sample: list[Letter]
    paragraph: str = ""  # which of the coordinator's paragraphs varies per impact in this kind of letter
    variants: list[VariantCount] = field(default_factory=list)


def batch_overview(batch: LetterBatch) -> BatchOverview:
    """What a coordinator needs on the batch page, in a fixed number of queries."""
    letters = Letter.objects.filter(batch=batch)
    by_status = dict(letters.order_by().values_list("status").annotate(n=Count("pk")))
    ready = letters.filter(status="draft", check_passed=True).count()
    held_qs: QuerySet[Letter] = letters.filter(status="draft", check_passed=False).select_related("customer")
    held_letters = list(held_qs.order_by("pk")[:HELD_SHOWN])
    reasons: Counter[str] = Counter()
    for reasons_list in held_qs.values_list("check_reasons", flat=True)[:5000]:
        for reason in reasons_list or []:
            reasons[_reason_key(reason)] += 1
    sample = list(
        Letter.objects.filter(pk__in=batch.sample_letter_ids).select_related("customer", "affected").order_by("pk")
    )
    paragraph = VARYING_PARAGRAPH.get(batch.kind, "")
    return BatchOverview(
        by_status=by_status,
        ready=ready,
        held=held_qs.count(),
        held_reasons=reasons.most_common(10),
        held_letters=held_letters,
        sample=sample,
        paragraph=paragraph,
        variants=batch_variant_counts(letters) if paragraph else [],
    )


# The coordinator's paragraph that a kind of letter carries in a variant per impact (rendering.incident_texts).
VARYING_PARAGRAPH: dict[str, str] = {
    LetterKind.APOLOGY: "Apology",
    LetterKind.VOUCHER: "Apology",
    LetterKind.INITIAL_NOTICE: "Explanation",
    LetterKind.UPDATE: "Explanation",
}


def batch_variant_counts(letters: QuerySet[Letter]) -> list[VariantCount]:
    """Which variant of the coordinator's paragraph the rendered letters carry (``Letter.paragraph_variant``, set
    when each is rendered): one grouped query, in the order a customer's impacts pick them, the general last."""
    rows = (
        letters.exclude(status=LetterStatus.CANCELLED)
        .filter(template__isnull=False)
        .order_by()
        .values_list("paragraph_variant", "template__language")
        .annotate(n=Count("pk"))
    )
    by_variant: dict[str, dict[str, int]] = {}
    for variant, language, count in rows:
        languages = by_variant.setdefault(variant, {})
        languages[language] = languages.get(language, 0) + count
    order = [*Impact.values, ""]
    labels = {**{str(value): str(label).lower() for value, label in Impact.choices}, "": "general"}
    return [
        VariantCount(
            variant=variant,
            label=labels.get(variant, variant),
            letters=sum(languages.values()),
            by_language=sorted(languages.items(), key=lambda pair: (-pair[1], pair[0])),
        )
        for variant, languages in sorted(
            by_variant.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)
        )
    ]


def _reason_key(reason: str) -> str:
    # "Does not name the customer's flight (UA 1545)." and "(B6 22)" are the same reason.
    return reason.partition(" (")[0].rstrip(".") if "(" in reason else reason


@dataclass(frozen=True)
class NoticeLatency:
    notified: int
    waiting: int
    median_seconds: float | None
    max_seconds: float | None


def first_notice_latency(incident_id: int) -> NoticeLatency:
    """Time from a customer's import to their first notice being handed to the email provider."""
    pairs = Letter.objects.filter(
        incident_id=incident_id, kind=LetterKind.INITIAL_NOTICE, sent_at__isnull=False
    ).values_list("affected__created_at", "sent_at")
    seconds = sorted(max(0.0, (sent - created).total_seconds()) for created, sent in pairs if created and sent)
    total = AffectedCustomer.objects.filter(incident_id=incident_id).count()
    if not seconds:
        return NoticeLatency(notified=0, waiting=total, median_seconds=None, max_seconds=None)
    return NoticeLatency(
        notified=len(seconds), waiting=total - len(seconds), median_seconds=median(seconds), max_seconds=seconds[-1]
    )


def customers_left_to_notify(*, incident_id: int) -> bool:
    """Whether any affected customer of the incident is still to be told: not contacted yet and without a first
    notice (one held by the personal-letter check, queued or sending is already in hand). One query, which
    stops at the first such customer and reads the (incident, first_contacted_at) index."""
    notice = Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.INITIAL_NOTICE)
    return (
        AffectedCustomer.objects.filter(incident_id=incident_id, first_contacted_at__isnull=True)
        .filter(~Exists(notice))
        .exists()
    )
