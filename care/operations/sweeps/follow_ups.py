"""The follow-up sweep: vouchers, then apology drafts, once an incident has been resolved for a while.

``sweep_follow_ups`` (beat) issues each resolved incident's vouchers (or holds them over the budget cap),
then prepares one apology per customer for the coordinator's batch approval, combining a customer's
disruptions close together into one letter (``_follow_up_chunk``). Nothing is queued here.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus, LetterStatusChange
from care.correspondence.rendering.services import letters_render
from care.correspondence.services import letters_prepare
from care.customers.models import Customer
from care.operations.sweeps.runs import SWEEPER, record_error, sweep_chunks
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from vouchers.services import vouchers_issue_for_incident_or_hold

RESOLVED_STATUSES = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


def _without_apology() -> Q:
    return ~Q(Exists(Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.APOLOGY)))


def _follow_up_chunk(*, incident_id: int, affected_ids: list[int], now: datetime) -> tuple[int, int]:
    """Prepare the apologies of one chunk; return (letters created, customers combined into another letter).

    One apology per customer for disruptions close together: a customer who already has a DRAFT apology
    for another incident, created within settings.CARE_COMBINE_WINDOW, gets no second letter. That draft
    is rendered again instead, and the rendering names every incident the customer was affected by
    (``also_incidents``), so it acknowledges this one too. This incident's row is marked done with a
    CANCELLED apology that says which letter covers it (``combined_into``), so that no later run (after the draft
    is sent) writes a second apology. A sent or approved apology is never reopened: past the window, or once the
    other letter has gone, the customer gets a letter of their own.
    The customers are locked first, so two sweeps cannot both decide a customer has no letter yet.
    """
    window_start = now - settings.CARE_COMBINE_WINDOW
    with transaction.atomic():
        rows = list(
            AffectedCustomer.objects.filter(pk__in=affected_ids, incident_id=incident_id)
            .filter(_without_apology())
            .values_list("pk", "customer_id")
        )
        customer_ids = sorted({customer_id for _pk, customer_id in rows})
        list(Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk").values_list("pk"))
        other_drafts: dict[int, int] = {}
        for letter_id, customer_id in (
            Letter.objects.filter(
                customer_id__in=customer_ids,
                kind=LetterKind.APOLOGY,
                status=LetterStatus.DRAFT,
                created_at__gte=window_start,
            )
            .exclude(incident_id=incident_id)
            .order_by("-created_at", "-pk")
            .values_list("pk", "customer_id")
        ):
            other_drafts.setdefault(customer_id, letter_id)
        combined = [(pk, customer_id) for pk, customer_id in rows if customer_id in other_drafts]
        own = [pk for pk, customer_id in rows if customer_id not in other_drafts]
        created = 0
        if own:
            created = letters_prepare(incident_id=incident_id, kind=LetterKind.APOLOGY, affected_ids=own).created
        if combined:
            Letter.objects.bulk_create(
                [
                    Letter(
                        customer_id=customer_id,
                        incident_id=incident_id,
                        affected_id=pk,
                        kind=LetterKind.APOLOGY,
                        status=LetterStatus.CANCELLED,
                        combined_into_id=other_drafts[customer_id],
                        check_reasons=[
                            (
                                f"Combined into the apology L-{other_drafts[customer_id]}, "
                                "which acknowledges this disruption too."
                            )
                        ],
                    )
                    for pk, customer_id in combined
                ],
                ignore_conflicts=True,
            )
            marker_ids = list(
                Letter.objects.filter(
                    affected_id__in=[pk for pk, _customer_id in combined],
                    kind=LetterKind.APOLOGY,
                    status=LetterStatus.CANCELLED,
                    incident_id=incident_id,
                ).values_list("pk", flat=True)
            )
            LetterStatusChange.objects.bulk_create(
                [
                    LetterStatusChange(
                        letter_id=letter_id,
                        from_status="",
                        to_status=LetterStatus.CANCELLED,
                        actor_label=SWEEPER,
                        at=now,
                        note="combined into the customer's apology for another disruption",
                    )
                    for letter_id in marker_ids
                ]
            )
            letters_render(letter_ids=sorted({other_drafts[customer_id] for _pk, customer_id in combined}))
    return created, len(combined)


def sweep_follow_ups(*, now: datetime | None = None) -> dict[str, int]:
    """Prepare apologies (drafts, for the coordinator's batch approval) once incidents have been resolved
    for settings.CARE_FOLLOW_UP_AFTER. Nothing is queued here."""
    now = now or timezone.now()
    pending = AffectedCustomer.objects.filter(incident=OuterRef("pk")).filter(_without_apology())
    incident_ids = list(
        Incident.objects.filter(status__in=RESOLVED_STATUSES, resolved_at__lte=now - settings.CARE_FOLLOW_UP_AFTER)
        .filter(Exists(pending))
        .order_by("resolved_at", "pk")
        .values_list("pk", flat=True)
    )
    counts = {"incidents": 0, "letters": 0, "combined": 0, "held_for_budget": 0, "errors": 0}
    for incident_id in incident_ids:
        try:
            # Vouchers first, so the apologies carry their codes; above the budget cap the apologies wait with them.
            if vouchers_issue_for_incident_or_hold(incident_id=incident_id, actor_label=SWEEPER, now=now):
                counts["held_for_budget"] += 1
                continue
            affected_ids = list(
                AffectedCustomer.objects.filter(incident_id=incident_id)
                .filter(_without_apology())
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for chunk in sweep_chunks(affected_ids):
                created, combined = _follow_up_chunk(incident_id=incident_id, affected_ids=chunk, now=now)
                counts["letters"] += created
                counts["combined"] += combined
        except Exception as exc:
            record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            continue
        counts["incidents"] += 1
    return counts
