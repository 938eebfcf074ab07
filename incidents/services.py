"""Every write that matters to incidents and their timeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from care.core.actors import Actor, Person, acting, status_change_actor
from care.core.audit import audit_record, changes_between, snapshot
from care.core.errors import DomainError
from care.core.lifecycle import move_batch
from incidents.flights import flights_for_affected
from incidents.models import (
    INCIDENT_LIFECYCLE,
    STATUS_TIMESTAMP,
    AffectedCustomer,
    Audience,
    Incident,
    IncidentStatus,
    IncidentStatusChange,
    IncidentTranslation,
    IncidentUpdate,
    IncidentUpdateTranslation,
)
from incidents.promises import promise_contradiction, promise_out_of_reach
from incidents.selectors import affected_counts_subqueries
from incidents.update_translations import latest_news_update, news_alert_sync, translations_cleaned
from incidents.variants import Impact, ParagraphVariant

TRANSITION_VERBS: dict[str, str] = {
    IncidentStatus.OPEN: "open",
    IncidentStatus.MONITORING: "move to monitoring",
    IncidentStatus.RESOLVED: "resolve",
    IncidentStatus.CLOSED: "close",
}


def _next_reference(day: datetime) -> str:
    prefix = f"INC-{day:%Y%m%d}-"
    last = (
        Incident.objects.filter(reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    return f"{prefix}{(int(last[-4:]) + 1) if last else 1:04d}"


def incident_create(*, actor: Actor | None = None, actor_label: str = "", **fields: Any) -> Incident:
    """Create a draft incident with the next free reference for its start day (INC-YYYYMMDD-NNNN)."""
    started_at = fields.setdefault("started_at", timezone.now())
    _refuse_out_of_reach(fields.get("next_update_due_at"))
    user, label = status_change_actor(actor, actor_label)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                incident = Incident(reference=_next_reference(started_at), status=IncidentStatus.DRAFT, **fields)
                incident.full_clean(exclude=["reference"])
                incident.save()
                IncidentStatusChange.objects.create(
                    incident=incident, to_status=IncidentStatus.DRAFT, actor=user, actor_label=label, note="created"
                )
                audit_record(
                    actor=acting(actor, actor_label),
                    action="incident.create",
                    target=incident,
                    changes=changes_between(None, incident, sorted(fields)),
                    details={"reference": incident.reference},
                )
                return incident
        except IntegrityError:
            continue  # Another incident took the same reference at the same moment; take the next one.
    raise DomainError("Could not allocate an incident reference; please try again.")


def _open_check(incident: Incident) -> str | None:
    if not incident.explanation.strip():
        return "write the customer-facing explanation first"
    if incident.next_update_due_at is None:
        return "set when customers will hear from us next"
    return None


def incidents_transition(
    *,
    incident_ids: Iterable[int],
    target: str,
    actor: Actor | None = None,
    actor_label: str = "",
    note: str = "",
) -> int:
    """Move the incidents to ``target`` (all or none) and stamp the time the status was entered."""
    if target not in TRANSITION_VERBS:
        raise DomainError(f"{target!r} is not a status an incident can be moved to.")
    now = timezone.now()
    return move_batch(
        queryset=Incident.objects.all(),
        ids=incident_ids,
        target=target,
        lifecycle=INCIDENT_LIFECYCLE,
        audit_model=IncidentStatusChange,
        audit_fk="incident",
        verb=TRANSITION_VERBS[target],
        noun="incidents",
        audit_action="incident.transition",
        actor=actor,
        actor_label=actor_label,
        note=note,
        changes={STATUS_TIMESTAMP[target]: now},
        check=_open_check if target == IncidentStatus.OPEN else None,
    )


def incidents_refresh_counts(*, incident_ids: Iterable[int]) -> None:
    """Recompute the affected and contacted counters of these incidents from their rows, in one UPDATE.

    Called at the end of every batch that adds affected customers, so the counters cannot drift however
    the batch was interrupted. Sending keeps contacted_count by increments
    (care.correspondence.sending.letters_record_contact)
    and calls this only when it finds the counters stale.
    """
    Incident.objects.filter(pk__in=list(incident_ids)).update(**affected_counts_subqueries())


def incident_post_update(  # noqa: PLR0913 - one timeline entry's facts, keyword-only
    *,
    incident: Incident,
    audience: str,
    text: str,
    author: Person | None = None,
    next_update_due_at: datetime | None = None,
    posted_at: datetime | None = None,
    actor_label: str = "",
    no_news: bool = False,
    translations: Mapping[str, str] | None = None,
) -> IncidentUpdate:
    """Add a timeline entry; a customer update's promise becomes the incident's next-update time.

    ``author`` is the person who wrote it; a process posting (the sweep's "no news yet") names itself in
    ``actor_label``. A customer update whose words name a time for the next update that is not its promise
    (its own, or the incident's when it sets none) is refused: letters would quote one time and promise another.
    ``translations`` are the update's words in other customer languages ({"fr": "…"}); a customer update that
    lacks some customers' language opens a NEWS_UNTRANSLATED alert (incidents.update_translations).
    """
    if not text.strip():
        raise DomainError("An update needs some text.")
    translated = translations_cleaned(translations)
    moment = posted_at or timezone.now()
    if next_update_due_at is not None and next_update_due_at <= moment:
        raise DomainError("The next update must be promised for a time after this update.")
    if next_update_due_at is not None and next_update_due_at > timezone.now():
        # A backdated entry (a timeline loaded from history) may keep its own past promise; a live one must be
        # within reach.
        _refuse_out_of_reach(next_update_due_at)
    with transaction.atomic():
        # The caller's copy may predate a colleague closing the incident: decide on the locked row.
        current_status, promised, stations = (
            Incident.objects.select_for_update()
            .values_list("status", "next_update_due_at", "stations")
            .get(pk=incident.pk)
        )
        if current_status == IncidentStatus.CLOSED:
            raise DomainError(
                f"{incident.reference} is closed and its timeline is final; "
                "open a new incident if the disruption returns."
            )
        if audience == Audience.CUSTOMERS and (
            problem := promise_contradiction(text=text, promise=next_update_due_at or promised, place=stations)
        ):
            raise DomainError(problem)
        update = IncidentUpdate.objects.create(
            incident=incident,
            audience=audience,
            text=text.strip(),
            author=author,
            posted_at=moment,
            next_update_due_at=next_update_due_at,
            no_news=no_news,  # a promised update that fell due without news (the sweep's entry)
        )
        IncidentUpdateTranslation.objects.bulk_create(
            IncidentUpdateTranslation(update=update, language=code, text=words) for code, words in translated.items()
        )
        changes = {}
        if audience == Audience.CUSTOMERS and next_update_due_at is not None:
            Incident.objects.filter(pk=incident.pk).update(next_update_due_at=next_update_due_at)
            incident.next_update_due_at = next_update_due_at
            changes = changes_between({"next_update_due_at": promised}, incident, ["next_update_due_at"])
        audit_record(
            actor=acting(author, actor_label),
            action="incident.post_update",
            target=incident,
            changes=changes,
            details={"update_id": update.pk, "audience": audience, "translations": translated},
            at=moment,
        )
        if audience == Audience.CUSTOMERS:  # the latest news is now this one, or none ("no news yet")
            news_alert_sync(incident=incident, update=None if no_news else update, now=timezone.now())
    return update


def incident_update_translation_save(*, update_id: int, language: str, text: str, actor: Actor) -> IncidentUpdate:
    """Write (or correct) a customer update's words in ``language``; a closed incident's timeline is final.

    Customers held for this language get their letter at the next kept-promises sweep
    (care.operations.sweeps.kept_promises), and the alert is resolved once nobody waits any more.
    """
    translated = translations_cleaned({language: text})
    if not translated:
        raise DomainError("Write the update's text in that language.")
    with transaction.atomic():
        update = IncidentUpdate.objects.select_related("incident").get(pk=update_id)
        incident = _unclosed(update.incident_id)
        if update.audience != Audience.CUSTOMERS or update.no_news:
            raise DomainError("Only a customer update with news is translated: letters word the others themselves.")
        before = (
            IncidentUpdateTranslation.objects.filter(update=update, language=language)
            .values_list("text", flat=True)
            .first()
        )
        if before == translated[language]:
            return update
        IncidentUpdateTranslation.objects.update_or_create(
            update=update, language=language, defaults={"text": translated[language]}
        )
        audit_record(
            actor=actor,
            action="incident.update_translation_save",
            target=incident,
            changes={f"{language}.update.{update.pk}": [before, translated[language]]},
            details={"update_id": update.pk},
        )
        news_alert_sync(incident=incident, update=latest_news_update(incident.pk), now=timezone.now())
    return update


# What the API (and any other caller) may change on an incident outside its lifecycle and timeline.
INCIDENT_EDITABLE_FIELDS = frozenset(
    {
        "title",
        "kind",
        "cause",
        "within_control",
        "severity",
        "started_at",
        "stations",
        "flights",
        "explanation",
        "apology",
        "prevention",
        "next_update_due_at",
        "first_contact_target_minutes",
        "update_interval_minutes",
        "auto_send_notices",
    }
)


# The owning coordinator is assigned in the workbench, not by the operations systems, so it is not in the API's list.
INCIDENT_UPDATABLE_FIELDS = INCIDENT_EDITABLE_FIELDS | {"owner"}


def incident_update(
    *, incident: Incident, actor: Actor | None = None, actor_label: str = "", **fields: Any
) -> Incident:
    """Change an incident's descriptive fields (not its status or counters); a closed incident is final.

    The audit entry keeps the old and new value of every field that changed; nothing changed, nothing written.
    """
    unknown = sorted(set(fields) - INCIDENT_UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(unknown)}.")
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status == IncidentStatus.CLOSED:
            raise DomainError(f"{locked.reference} is closed and can no longer be changed.")
        before = snapshot(locked, sorted(fields))
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["reference"])
        changes = changes_between(before, locked, sorted(fields))
        if "next_update_due_at" in changes:
            _refuse_out_of_reach(locked.next_update_due_at)
        if changes:
            locked.save(update_fields=sorted(changes))
            audit_record(actor=acting(actor, actor_label), action="incident.update", target=locked, changes=changes)
    return locked


TRANSLATED_FIELDS = ("explanation", "apology", "prevention")


def incident_translation_save(*, incident_id: int, language: str, actor: Actor, **texts: str) -> IncidentTranslation:
    """Write the incident's customer-facing texts in ``language`` (created or changed); a closed incident is final.

    Audited on the incident, as its own texts are: the incident's trail shows what customers were told, in
    every language.
    """
    unknown = sorted(set(texts) - set(TRANSLATED_FIELDS))
    if unknown:
        raise DomainError(f"These fields cannot be translated: {', '.join(unknown)}.")
    with transaction.atomic():
        incident = _unclosed(incident_id)
        translation = IncidentTranslation.objects.filter(incident=incident, language=language).first()
        created = translation is None
        if translation is None:
            translation = IncidentTranslation(incident=incident, language=language)
        before = {} if created else snapshot(translation, TRANSLATED_FIELDS)
        for name, value in texts.items():
            setattr(translation, name, value)
        translation.full_clean(exclude=["incident"])
        after = snapshot(translation, TRANSLATED_FIELDS)
        changes = {
            f"{language}.{name}": [before.get(name), after[name]]
            for name in TRANSLATED_FIELDS
            if before.get(name) != after[name]
        }
        if changes:
            translation.save()
            audit_record(actor=actor, action="incident.translation_save", target=incident, changes=changes)
    return translation


def incident_translation_delete(*, incident_id: int, language: str, actor: Actor) -> None:
    """Remove the incident's texts in ``language``; customers who read it get the apology held for them again."""
    with transaction.atomic():
        incident = _unclosed(incident_id)
        translation = IncidentTranslation.objects.filter(incident=incident, language=language).first()
        if translation is None:
            return
        before = snapshot(translation, TRANSLATED_FIELDS)
        translation.delete()
        audit_record(
            actor=actor,
            action="incident.translation_delete",
            target=incident,
            changes={f"{language}.{name}": [before[name], None] for name in TRANSLATED_FIELDS},
        )


VARIANT_FIELDS = ("apology", "explanation")


def incident_variant_save(
    *, incident_id: int, language: str, impact: str, actor: Actor, apology: str, explanation: str = ""
) -> ParagraphVariant:
    """Write the paragraphs for the incident's customers of one impact in ``language`` (created or changed);
    a closed incident is final. Audited on the incident, as its other customer-facing texts are."""
    if impact not in Impact.values:
        raise DomainError(f"{impact!r} is not an impact a paragraph can be written for.")
    if not apology.strip():
        raise DomainError("Write the apology for these customers; delete the paragraph to give them the general one.")
    with transaction.atomic():
        incident = _unclosed(incident_id)
        variant = ParagraphVariant.objects.filter(incident=incident, language=language, impact=impact).first()
        created = variant is None
        if variant is None:
            variant = ParagraphVariant(incident=incident, language=language, impact=impact)
        before = {} if created else snapshot(variant, VARIANT_FIELDS)
        variant.apology, variant.explanation = apology.strip(), explanation.strip()
        variant.full_clean(exclude=["incident"], validate_unique=False)
        after = snapshot(variant, VARIANT_FIELDS)
        changes = {
            f"{language}.{impact}.{name}": [before.get(name), after[name]]
            for name in VARIANT_FIELDS
            if before.get(name) != after[name] and (before or after[name])  # a new row: what it says
        }
        if changes:
            variant.save()
            audit_record(actor=actor, action="incident.variant_save", target=incident, changes=changes)
    return variant


def incident_variant_delete(*, incident_id: int, language: str, impact: str, actor: Actor) -> None:
    """Remove the paragraphs for one impact in ``language``: those customers read the general ones again."""
    with transaction.atomic():
        incident = _unclosed(incident_id)
        variant = ParagraphVariant.objects.filter(incident=incident, language=language, impact=impact).first()
        if variant is None:
            return
        before = snapshot(variant, VARIANT_FIELDS)
        variant.delete()
        audit_record(
            actor=actor,
            action="incident.variant_delete",
            target=incident,
            changes={f"{language}.{impact}.{name}": [before[name], None] for name in VARIANT_FIELDS},
        )


def _refuse_out_of_reach(due: datetime | None) -> None:
    problem = None if due is None else promise_out_of_reach(due, now=timezone.now())
    if problem:
        raise DomainError(problem)


def _unclosed(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise DomainError(f"{incident.reference} is closed and its texts can no longer be changed.")
    return incident


# What a coordinator records by hand about one affected customer (a file import writes the same fields).
AFFECTED_FIELDS = (
    "incident",
    "customer",
    "booking_reference",
    "carrier",
    "flight_number",
    "flight_date",
    "origin",
    "destination",
    "scheduled_departure_at",
    "cancelled",
    "delay_minutes",
    "missed_connection",
    "overnight_stay",
    "diverted",
    "downgraded",
)


def affected_customer_save(*, affected_id: int | None, actor: Actor, **fields: Any) -> AffectedCustomer:
    """Record (``affected_id`` None) or correct one customer's experience of an incident, by hand.

    The impact decides the compensation and the letters, so every change is audited with its old and new
    value; the incidents' counters follow in the same transaction.
    """
    unknown = sorted(set(fields) - set(AFFECTED_FIELDS))
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(unknown)}.")
    with transaction.atomic():
        if affected_id is None:
            affected = AffectedCustomer(**fields)
            before: dict[str, Any] = {}
        else:
            affected = AffectedCustomer.objects.select_for_update().get(pk=affected_id)
            before = snapshot(affected, sorted(fields))
            for name, value in fields.items():
                setattr(affected, name, value)
        affected.full_clean()
        changes = changes_between(None if affected_id is None else before, affected, sorted(fields))
        if not changes:
            return affected
        incident_ids = {affected.incident_id}
        if "incident" in changes:
            incident_ids.add(changes["incident"][0])
        if {"carrier", "flight_number", "flight_date", "origin"} & set(changes):
            affected.flight = None  # a corrected flight is another flight: linked (created if new) below
        affected.save()
        flights_for_affected(incident_ids=[affected.incident_id])
        affected.refresh_from_db(fields=["flight"])
        audit_record(
            actor=actor,
            action="affected_customer.create" if affected_id is None else "affected_customer.update",
            target=affected,
            changes=changes,
            details={"incident_id": affected.incident_id, "customer_id": affected.customer_id},
        )
        incidents_refresh_counts(incident_ids=[pk for pk in incident_ids if pk is not None])
    return affected


def affected_customer_delete(*, affected_id: int, actor: Actor) -> None:
    """Remove a customer recorded by mistake (refused by the database once vouchers or letters point at it)."""
    with transaction.atomic():
        affected = AffectedCustomer.objects.select_for_update().get(pk=affected_id)
        before = snapshot(affected, AFFECTED_FIELDS)
        affected.delete()
        audit_record(
            actor=actor,
            action="affected_customer.delete",
            target=("incidents.affectedcustomer", affected_id),
            changes={name: [value, None] for name, value in before.items()},
            details={"incident_id": before["incident"], "customer_id": before["customer"]},
        )
        incidents_refresh_counts(incident_ids=[before["incident"]])
