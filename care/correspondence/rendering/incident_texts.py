"""What the incident says to customers: the coordinator's paragraphs in each language and for each impact, and
the latest news."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings

from care.correspondence.phrases import quoted_english
from care.correspondence.rendering.kinds import KINDS_NEEDING_EXPLANATION, KINDS_WITH_APOLOGY
from incidents.models import Audience, Incident, IncidentTranslation, IncidentUpdate, IncidentUpdateTranslation
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

    A paragraph without a translation is the default-language text, introduced as quoted in English in the
    letter's language (``phrases.quoted_english``): a first notice must not wait for a translator, and must not
    mix two languages silently. The reason lets the personal-letter check hold an apology without its own words.
    """
    own = {
        "explanation": incident.explanation.strip(),
        "apology": incident.apology.strip(),
        "prevention": incident.prevention.strip(),
    }
    if language == settings.LANGUAGE_CODE:
        return own, None
    translated = translations.get((incident.pk, language))
    texts = {
        key: (getattr(translated, key).strip() if translated is not None else "") or quoted_english(value, language)
        for key, value in own.items()
    }
    if translated is None or not translated.apology.strip():
        label = dict(settings.LANGUAGES).get(language, language)
        return texts, (
            f"The coordinator's paragraphs have no {label} version yet: add one under "
            f"“Texts in other languages” on {incident.reference}."
        )
    return texts, None


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


# By (incident, language).
News = Mapping[tuple[int, str], str]


def latest_news(incident_ids: set[int], languages: Iterable[str]) -> dict[tuple[int, str], str]:
    """The latest customer-facing timeline entry of each incident in each of ``languages``: the coordinator's
    translation, or their English introduced as quoted (``phrases.quoted_english``; the kept-promises sweep held
    those customers for a translation first). "" when it is a "no news yet" entry (``IncidentUpdate.no_news``,
    written by care.operations.sweeps), so each letter says so in its own language."""
    latest: dict[int, tuple[int, str, bool]] = {}
    rows = (
        IncidentUpdate.objects.filter(incident_id__in=incident_ids, audience=Audience.CUSTOMERS)
        .order_by("incident_id", "-posted_at", "-id")
        .values_list("incident_id", "pk", "text", "no_news")
    )
    for incident_id, pk, text, no_news in rows:
        latest.setdefault(incident_id, (pk, text, no_news))
    wanted = set(languages) | {settings.LANGUAGE_CODE}
    translated = {
        (row.update_id, row.language): row.text
        for row in IncidentUpdateTranslation.objects.filter(
            update_id__in=[pk for pk, _text, no_news in latest.values() if not no_news], language__in=wanted
        )
    }
    news: dict[tuple[int, str], str] = {}
    for incident_id, (pk, text, no_news) in latest.items():
        for language in wanted:
            if no_news:
                news[incident_id, language] = ""
            elif language == settings.LANGUAGE_CODE:
                news[incident_id, language] = text
            else:
                news[incident_id, language] = translated.get((pk, language), "").strip() or quoted_english(
                    text, language
                )
    return news
