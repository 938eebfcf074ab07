"""The personal-letter check: form letters don't cut it.

Two questions, asked at two different costs:

- Per letter (``personal_letter_reasons``), run for every one of possibly 100,000 letters: does the rendered
  text name this customer, their own flight, what happened to them, the incident's explanation and the
  coordinator's apology paragraph? Plain substring tests on whitespace-normalised text. And does it speak to
  this reader alone, telling them only what happened to them (no "some of you", no "your flight was cancelled"
  to a customer who was delayed)? That is ``reader_claims``, which reads each sentence once per batch.
- Per incident (``recycled_paragraph_reasons``), run once per incident per batch: is the coordinator's apology
  paragraph written for this incident, or empty, too short, or copied from an earlier incident or a template?

How "copied" is measured: the share of the paragraph's words that lie inside an 8-word run (shingle) also
found in the other text, after lower-casing and dropping punctuation. A paragraph counts as copied when 60%
or more of it is covered. Unlike a similarity ratio over the whole text (difflib), this still catches a
paragraph pasted into a longer text (a template) or with its sentences reordered, and an edit of a few words
(another station name, another date) leaves the long unchanged runs between them covered, so it is caught
too. Eight words is longer than the stock phrases every apology shares ("we are sorry for the"), so
independent paragraphs on the same storm score near zero. It is linear in the text's length.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from care.correspondence.models.letters import LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.phrases import DEFAULT_LANGUAGE
from care.correspondence.reader_claims import reader_claim_reasons
from incidents.models import Incident

SHINGLE_WORDS = 8
COPIED_COVERAGE = 0.6
MIN_APOLOGY_CHARS = 120
# Incidents of one cause that began within this of each other are one event and may share their apology.
SAME_EVENT_WITHIN = dt.timedelta(hours=24)

# Which facts each kind of letter must state.
NAME, FLIGHT, IMPACT, EXPLANATION, APOLOGY, OFFER = "name", "flight", "impact", "explanation", "apology", "offer"
FACTS_BY_KIND: dict[str, frozenset[str]] = {
    LetterKind.INITIAL_NOTICE: frozenset({NAME, FLIGHT, IMPACT, EXPLANATION}),
    LetterKind.UPDATE: frozenset({NAME, FLIGHT, IMPACT, EXPLANATION}),
    LetterKind.APOLOGY: frozenset({NAME, FLIGHT, IMPACT, EXPLANATION, APOLOGY, OFFER}),
    LetterKind.VOUCHER: frozenset({NAME, FLIGHT, IMPACT, APOLOGY, OFFER}),
    LetterKind.SURVEY: frozenset({NAME, FLIGHT}),
    LetterKind.MANUAL: frozenset({NAME}),
}

_WORD_RE = re.compile(r"\w+")


class RenderedText(Protocol):
    """What the check reads of a rendered letter (``rendering.letter.RenderedLetter``). A protocol, not that
    class: rendering runs this check, so the check must not import rendering (no import cycle)."""

    @property
    def body_text(self) -> str: ...


def _flat(text: str) -> str:
    return " ".join(text.split())


def personal_letter_reasons(  # noqa: PLR0912 - one branch per check, read as the checklist
    *, rendered: RenderedText, context: Mapping[str, Any], kind: str
) -> list[str]:
    """Why this rendered letter is not yet a personal letter; empty when it is."""
    facts = FACTS_BY_KIND.get(kind, FACTS_BY_KIND[LetterKind.MANUAL])
    body = _flat(rendered.body_text)
    customer, flight = context.get("customer", {}), context.get("flight", {})
    impact, incident = context.get("impact", {}), context.get("incident", {})
    reasons: list[str] = []
    if NAME in facts:
        names = [_flat(str(customer.get(key, ""))) for key in ("greeting_name", "name")]
        if not any(name and name in body for name in names):
            reasons.append(f"Does not name the customer ({names[0] or names[1] or 'no name on file'}).")
    if FLIGHT in facts:
        label = _flat(str(flight.get("label", "")))
        if not label or label not in body:
            reasons.append(f"Does not name the customer's flight ({label or 'none recorded'}).")
    if IMPACT in facts:
        summary, delay = _flat(str(impact.get("summary", ""))), _flat(str(impact.get("delay_text", "")))
        if not any(text and text in body for text in (summary, delay)):
            reasons.append(f"Does not say what happened to the customer ({summary or 'no impact recorded'}).")
    if EXPLANATION in facts:
        explanation = _flat(str(incident.get("explanation", "")))
        if not explanation:
            reasons.append("The incident has no explanation for customers: write what happened first.")
        elif explanation not in body:
            reasons.append("Does not include the incident's explanation of what happened.")
    if APOLOGY in facts:
        apology = _flat(str(incident.get("apology", "")))
        if not apology:
            reasons.append("The incident has no apology paragraph: write one for this incident.")
        elif apology not in body:
            reasons.append("Does not include the coordinator's apology paragraph, only the template's wording.")
    if OFFER in facts:
        reasons += _offer_reasons(body, context)
    return reasons + _reader_reasons(body, context)


def _reader_reasons(body: str, context: Mapping[str, Any]) -> list[str]:
    """The letter speaks to one reader, and tells them only what happened to them (``reader_claims``).

    What the letter states from the facts is left out of the reading, because it is true by construction and may
    speak of the customer's other flights: the impact sentence, the entitlements, the other disrupted flights,
    and the flights a combined notice or update covers (their incidents' words are about those flights).
    """
    stated = [str(context.get("impact", {}).get("summary", ""))]
    stated += [str(entitlement.get("text", "")) for entitlement in context.get("entitlements", [])]
    stated += [str(line) for line in (*context.get("also_incidents", []), *context.get("also_open", []))]
    for other in context.get("combined", []):
        stated += [str(other.get(key, "")) for key in ("summary", "explanation", "news")]
    text = body
    for piece in stated:
        if flat := _flat(piece):
            text = text.replace(flat, " ")
    language = str(context.get("language") or DEFAULT_LANGUAGE)
    return reader_claim_reasons(text, context.get("impact", {}), language=language)


def _offer_reasons(body: str, context: Mapping[str, Any]) -> list[str]:
    """Every voucher code is given, every entitlement is stated, and what the law owes comes first."""
    reasons: list[str] = []
    first_voucher = len(body)
    for voucher in context.get("vouchers", []):
        position = body.find(str(voucher["code"]))
        if position < 0:
            reasons.append(f"Does not give the voucher code ({voucher['code']}).")
        else:
            first_voucher = min(first_voucher, position)
    for entitlement in context.get("entitlements", []):
        position = body.find(_flat(str(entitlement["text"])))
        if position < 0:
            reasons.append(f"Does not tell the customer what they are owed ({entitlement['regulation']}).")
        elif position > first_voucher:
            reasons.append(
                f"Offers a voucher before saying what the customer is owed ({entitlement['regulation']}): "
                "the refund or compensation comes first."
            )
    return reasons


def combined_flight_reasons(*, rendered: RenderedText, context: Mapping[str, Any]) -> list[str]:
    """A notice or update covering the customer's other open incidents too (``combined``, care.correspondence.streams)
    names each of those flights, says what happened on it and, in an update, gives its news: those incidents write no
    letter of their own to the customer this time, so nothing else would tell them."""
    body = _flat(rendered.body_text)
    reasons: list[str] = []
    for other in context.get("combined", []):
        label = _flat(str(other.get("label", "")))
        if not label or label not in body:
            reasons.append(f"Does not name the customer's other flight {label}, which this letter covers too.")
        summary, delay = _flat(str(other.get("summary", ""))), _flat(str(other.get("delay_text", "")))
        if not any(text and text in body for text in (summary, delay)):
            reasons.append(
                f"Does not say what happened to the customer on {label} ({summary or 'no impact recorded'})."
            )
        news = _flat(str(other.get("news", "")))
        if news and news not in body:
            reasons.append(f"Does not give the news about {label}, which this letter covers too.")
    return reasons


# --- the apology paragraph, once per incident ---------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.casefold())


def _shingles(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[index : index + size]) for index in range(len(words) - size + 1)}


def copied_share(paragraph: str, other: str | set[tuple[str, ...]]) -> float:
    """The share (0 to 1) of ``paragraph``'s words inside an 8-word run that also occurs in ``other``."""
    words = _words(paragraph)
    if not words:
        return 0.0
    size = min(SHINGLE_WORDS, len(words))
    theirs = other if isinstance(other, set) else _shingles(_words(other), size)
    covered = [False] * len(words)
    for start in range(len(words) - size + 1):
        if tuple(words[start : start + size]) in theirs:
            covered[start : start + size] = [True] * size
    return sum(covered) / len(words)


@dataclass(frozen=True)
class _Source:
    label: str  # "INC-20130208-0001's" or "the template “Apology (en) v1”"
    shingles: set[tuple[str, ...]]


def _template_sources() -> list[_Source]:
    sources = []
    for template in LetterTemplate.objects.filter(is_active=True).order_by("kind", "language"):
        text = " ".join(
            (template.part_acknowledgement, template.part_explanation, template.part_remedy, template.body_text)
        )
        sources.append(_Source(f"the template “{template}”", _shingles(_words(text), SHINGLE_WORDS)))
    return sources


def recycled_paragraph_reasons(*, incidents: Collection[Incident]) -> dict[int, str | None]:
    """For each incident, why its apology paragraph is not its own (or None when it is). Two queries."""
    results: dict[int, str | None] = {}
    to_compare: list[tuple[Incident, str]] = []
    for incident in incidents:
        paragraph = _flat(incident.apology)
        if not paragraph:
            results[incident.pk] = "The incident has no apology paragraph: write one for this incident."
        elif len(paragraph) < MIN_APOLOGY_CHARS:
            results[incident.pk] = (
                f"The apology paragraph is only {len(paragraph)} characters long: write at least "
                f"{MIN_APOLOGY_CHARS} in your own words for this incident."
            )
        else:
            to_compare.append((incident, paragraph))
    if not to_compare:
        return results
    latest = max(incident.created_at for incident, _ in to_compare)
    earlier = list(
        Incident.objects.filter(created_at__lte=latest)
        .exclude(apology="")
        .order_by("created_at", "pk")
        .values_list("pk", "reference", "created_at", "apology", "cause", "started_at")
    )
    incident_shingles: dict[int, set[tuple[str, ...]]] = {}
    templates = _template_sources()
    for incident, paragraph in to_compare:
        own = (incident.created_at, incident.pk)
        sources: Iterable[_Source] = [
            *(
                _Source(f"{reference}'s", incident_shingles.setdefault(pk, _shingles(_words(text), SHINGLE_WORDS)))
                for pk, reference, created_at, text, cause, started_at in earlier
                if (created_at, pk) < own and not _same_event(incident, cause=cause, started_at=started_at)
            ),
            *templates,
        ]
        results[incident.pk] = _copied_reason(paragraph, sources)
    return results


def _same_event(incident: Incident, *, cause: str, started_at: dt.datetime) -> bool:
    """One storm at three stations is one event: incidents of the same cause that began within a day of each
    other may share their apology (the check is for form letters across unrelated disruptions)."""
    return cause == incident.cause and abs(started_at - incident.started_at) < SAME_EVENT_WITHIN


def _copied_reason(paragraph: str, sources: Iterable[_Source]) -> str | None:
    best_share, best_label = 0.0, ""
    short = len(_words(paragraph)) < SHINGLE_WORDS
    for source in sources:
        # A paragraph shorter than a shingle is never "copied" by this measure; the length rule catches it.
        share = 0.0 if short else copied_share(paragraph, source.shingles)
        if share > best_share:
            best_share, best_label = share, source.label
    if best_share >= COPIED_COVERAGE:
        return (
            f"The apology paragraph is {round(best_share * 100)}% the same as {best_label}: "
            "write one for this incident."
        )
    return None


def recycled_paragraph_reason(*, incident: Incident) -> str | None:
    """Why this incident's apology paragraph is not its own, or None when it is."""
    return recycled_paragraph_reasons(incidents=[incident])[incident.pk]
