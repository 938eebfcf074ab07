"""Reads about incidents shared by the admin, the briefings and the API."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from incidents.models import AffectedCustomer


def affected_counts_subqueries() -> dict[str, Coalesce]:
    """Correlated counts of an incident's affected and contacted customers (for recomputing the counters)."""

    def count(condition: Q) -> Coalesce:
        counted = (
            AffectedCustomer.objects.filter(condition, incident=OuterRef("pk"))
            .order_by()
            .values("incident")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return {"affected_count": count(Q()), "contacted_count": count(Q(first_contacted_at__isnull=False))}


@dataclass(frozen=True)
class NoticeLatency:
    notified: int
    waiting: int
    median_seconds: float | None
    max_seconds: float | None


def first_notice_latency(incident_id: int) -> NoticeLatency:
    """Time from a customer's import to their first notice being handed to the email provider."""
    from care.models import Letter, LetterKind

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
    from care.models import Letter, LetterKind

    notice = Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.INITIAL_NOTICE)
    return (
        AffectedCustomer.objects.filter(incident_id=incident_id, first_contacted_at__isnull=True)
        .filter(~Exists(notice))
        .exists()
    )
