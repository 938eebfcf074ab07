"""Reads about incidents shared by the admin, the briefings and the API."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
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
