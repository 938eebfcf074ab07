"""Customer updates in the customers' languages: who still waits for a translation, until when, and the
coordinator's alert about it.

A customer update is written in the default language (settings.LANGUAGE_CODE). A customer who reads another
language gets the coordinator's translation (``IncidentUpdateTranslation``); without one, their update letter is
held for ``CARE_UNTRANSLATED_NEWS_HOLD`` after the update was posted (care.operations.sweeps.kept_promises), and
past that bound the news goes in English, introduced as quoted in their language
(care.correspondence.rendering.incident_texts). The coordinator is told at once, on the form and by a
NEWS_UNTRANSLATED alert that is resolved when the translations arrive or the bound passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import translation

from care.core.errors import DomainError
from care.core.station_time import station_time
from incidents.models import AffectedCustomer, Alert, AlertKind, Audience, Incident, IncidentUpdate


def other_languages() -> list[str]:
    """The customer languages an update is translated into: every one but the default, in settings order."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def language_name(code: str) -> str:
    """The language's name in English, as the coordinators read it ("French", not "Français")."""
    try:
        return str(translation.get_language_info(code)["name"])
    except KeyError:
        return code


def translations_cleaned(translations: Mapping[str, str] | None) -> dict[str, str]:
    """The translations of one update by language, stripped, blank ones left out; another language is refused."""
    unknown = sorted(set(translations or {}) - set(other_languages()))
    if unknown:
        allowed = ", ".join(other_languages())
        raise DomainError(f"An update cannot be translated into {', '.join(unknown)}: use {allowed}.")
    return {code: text.strip() for code, text in (translations or {}).items() if text.strip()}


def needs_translation(update: IncidentUpdate) -> bool:
    """Whether customers read this entry as news: a customer update that is not the sweep's "no news yet"."""
    return update.audience == Audience.CUSTOMERS and not update.no_news


def hold_ends_at(update: IncidentUpdate) -> dt.datetime:
    """Until when a customer whose language the update lacks is held for its translation."""
    ends: dt.datetime = update.posted_at + settings.CARE_UNTRANSLATED_NEWS_HOLD
    return ends


def untranslated_languages(update: IncidentUpdate) -> list[str]:
    """The customer languages this news has no translation in (none for an entry that is not news)."""
    if not needs_translation(update):
        return []
    have = set(update.translations.values_list("language", flat=True))
    return [code for code in other_languages() if code not in have]


def waiting_for_translation(update: IncidentUpdate) -> dict[str, int]:
    """How many of the incident's customers read the update in each language it lacks (languages with none left
    out): the customers who wait for a translation, or get the news quoted in English."""
    missing = untranslated_languages(update)
    if not missing:
        return {}
    rows = (
        AffectedCustomer.objects.filter(incident_id=update.incident_id, customer__language__in=missing)
        .values_list("customer__language")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = dict(rows)
    return {code: counts[code] for code in missing if counts.get(code)}


def waiting_message(*, incident: Incident, update: IncidentUpdate, waiting: Mapping[str, int]) -> str:
    """What the coordinator reads: "12 customers wait for a French translation of this update; they get it in
    English, quoted, at 11:20 EST unless you add one." The time is when their letter goes without one: the end of
    the hold, or the promised update if that is later (the letter goes when the promise falls due)."""
    total = sum(waiting.values())
    names = [language_name(code) for code in waiting]
    languages = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    each = "" if len(waiting) == 1 else " (" + ", ".join(f"{language_name(c)} {n:,}" for c, n in waiting.items()) + ")"
    promise = update.next_update_due_at or incident.next_update_due_at
    goes = max(hold_ends_at(update), promise) if promise is not None else hold_ends_at(update)
    when = station_time(goes, incident, date=False)
    people = "customer waits" if total == 1 else "customers wait"
    return (
        f"{incident.reference}: {total:,} {people} for a {languages} translation of this update{each}; they get "
        f"it in English, quoted, at {when} unless you add one."
    )


def news_alert_sync(*, incident: Incident, update: IncidentUpdate | None, now: dt.datetime) -> dict[str, int]:
    """Open (or reword) the incident's NEWS_UNTRANSLATED alert while customers wait for a translation of its
    latest news ``update`` (None: it has none), resolve it once none does; return who waits, by language.
    Runs in the caller's transaction."""
    waiting = waiting_for_translation(update) if update is not None and now < hold_ends_at(update) else {}
    key = f"incident:{incident.pk}"
    if not waiting:
        Alert.objects.filter(kind=AlertKind.NEWS_UNTRANSLATED, key=key, resolved_at__isnull=True).update(
            resolved_at=now
        )
        return {}
    assert update is not None
    message = waiting_message(incident=incident, update=update, waiting=waiting)
    try:
        with transaction.atomic():
            alert, created = Alert.objects.get_or_create(
                kind=AlertKind.NEWS_UNTRANSLATED,
                key=key,
                resolved_at=None,
                defaults={"incident": incident, "message": message, "raised_at": now},
            )
    except IntegrityError:
        return waiting  # another request opened it at the same moment; the sweep rewords it
    if not created and alert.message != message:
        Alert.objects.filter(pk=alert.pk).update(message=message)
    return waiting


def latest_news_update(incident_id: int) -> IncidentUpdate | None:
    """The incident's latest customer update, the news its letters carry (None for none, or "no news yet")."""
    update = (
        IncidentUpdate.objects.filter(incident_id=incident_id, audience=Audience.CUSTOMERS)
        .order_by("-posted_at", "-id")
        .first()
    )
    return update if update is not None and not update.no_news else None
