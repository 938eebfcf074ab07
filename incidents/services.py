"""Every write that matters to incidents and their timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from care.core.errors import DomainError
from care.core.lifecycle import move_batch
from incidents.models import (
    INCIDENT_LIFECYCLE,
    STATUS_TIMESTAMP,
    Audience,
    Incident,
    IncidentStatus,
    IncidentStatusChange,
    IncidentUpdate,
)

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


def incident_create(*, actor: Any = None, actor_label: str = "", **fields: Any) -> Incident:
    """Create a draft incident with the next free reference for its start day (INC-YYYYMMDD-NNNN)."""
    started_at = fields.setdefault("started_at", timezone.now())
    for _attempt in range(5):
        try:
            with transaction.atomic():
                incident = Incident(reference=_next_reference(started_at), status=IncidentStatus.DRAFT, **fields)
                incident.full_clean(exclude=["reference"])
                incident.save()
                IncidentStatusChange.objects.create(
                    incident=incident,
                    to_status=IncidentStatus.DRAFT,
                    actor=actor,
                    actor_label=actor_label,
                    note="created",
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
    actor: Any = None,
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
    from incidents.selectors import affected_counts_subqueries

    Incident.objects.filter(pk__in=list(incident_ids)).update(**affected_counts_subqueries())


def incident_post_update(
    *,
    incident: Incident,
    audience: str,
    text: str,
    author: Any = None,
    next_update_due_at: datetime | None = None,
    posted_at: datetime | None = None,
) -> IncidentUpdate:
    """Add a timeline entry; a customer update's promise becomes the incident's next-update time."""
    if not text.strip():
        raise DomainError("An update needs some text.")
    moment = posted_at or timezone.now()
    if next_update_due_at is not None and next_update_due_at <= moment:
        raise DomainError("The next update must be promised for a time after this update.")
    with transaction.atomic():
        # The caller's copy may predate a colleague closing the incident: decide on the locked row.
        current_status = Incident.objects.select_for_update().values_list("status", flat=True).get(pk=incident.pk)
        if current_status == IncidentStatus.CLOSED:
            raise DomainError(
                f"{incident.reference} is closed and its timeline is final; "
                "open a new incident if the disruption returns."
            )
        update = IncidentUpdate.objects.create(
            incident=incident,
            audience=audience,
            text=text.strip(),
            author=author,
            posted_at=moment,
            next_update_due_at=next_update_due_at,
        )
        if audience == Audience.CUSTOMERS and next_update_due_at is not None:
            Incident.objects.filter(pk=incident.pk).update(next_update_due_at=next_update_due_at)
            incident.next_update_due_at = next_update_due_at
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


def incident_update(*, incident: Incident, **fields: Any) -> Incident:
    """Change an incident's descriptive fields (not its status or counters); a closed incident is final."""
    unknown = sorted(set(fields) - INCIDENT_EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(unknown)}.")
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status == IncidentStatus.CLOSED:
            raise DomainError(f"{locked.reference} is closed and can no longer be changed.")
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["reference"])
        locked.save(update_fields=sorted(fields))
    return locked
