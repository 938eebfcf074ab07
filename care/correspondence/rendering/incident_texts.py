"""What the incident says to customers: the coordinator's paragraphs in each language, and the latest news."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings

from incidents.models import Audience, Incident, IncidentTranslation, IncidentUpdate

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
