"""What the incident says to customers: the coordinator's paragraphs in each language and for each impact, and
the latest news."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings

from care.correspondence.rendering.kinds import KINDS_NEEDING_EXPLANATION, KINDS_WITH_APOLOGY
from incidents.models import Audience, Incident, IncidentTranslation, IncidentUpdate
from incidents.variants import ImpactFacts, ParagraphVariant, impacts_of

Translations = Mapping[tuple[int, str], IncidentTranslation]
# By (incident, language, impact).
Variants = Mapping[tuple[int, str, str], ParagraphVariant]


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


def paragraph_variants(
    incident_ids: Iterable[int], languages: Iterable[str]
) -> dict[tuple[int, str, str], ParagraphVariant]:
    """The incidents' paragraphs per impact in these languages, in one query."""
    rows = ParagraphVariant.objects.filter(incident_id__in=set(incident_ids), language__in=set(languages))
    return {(row.incident_id, row.language, row.impact): row for row in rows}


def variant_texts(
    texts: Mapping[str, str], *, incident_id: int, facts: ImpactFacts, language: str, kind: str, variants: Variants
) -> tuple[dict[str, str], str]:
    """``texts`` (``incident_texts``) with the paragraphs written for this customer's impact, and that impact.

    The variant is that of the customer's first impact, in ``incidents.variants.Impact``'s order, that has one
    in the letter's ``language``: a customer delayed an hour who missed a connection reads the missed-connection
    apology, or the delayed one when there is none. Its explanation, when it has one, replaces the general one.
    The impact comes back "" when the letter carries the general paragraphs: no variant fits, or the letter's
    kind carries neither paragraph the variant gives (a survey; a notice, for a variant without explanation).
    """
    for impact in impacts_of(facts):
        variant = variants.get((incident_id, language, impact))
        if variant is None:
            continue
        explanation = variant.explanation.strip()
        chosen = {**texts, "apology": variant.apology.strip(), "explanation": explanation or texts["explanation"]}
        carried = kind in KINDS_WITH_APOLOGY or (bool(explanation) and kind in KINDS_NEEDING_EXPLANATION)
        return chosen, impact if carried else ""
    return dict(texts), ""


def latest_news(incident_ids: set[int]) -> dict[int, str]:
    """The latest customer-facing timeline entry of each incident; "" when it is a "no news yet" entry
    (``IncidentUpdate.no_news``, written by care.operations.sweeps), so each letter says so in its own language
    instead of quoting the coordinators' English."""
    news: dict[int, str] = {}
    rows = (
        IncidentUpdate.objects.filter(incident_id__in=incident_ids, audience=Audience.CUSTOMERS)
        .order_by("incident_id", "-posted_at", "-id")
        .values_list("incident_id", "text", "no_news")
    )
    for incident_id, text, no_news in rows:
        news.setdefault(incident_id, "" if no_news else text)
    return news
