"""Reads about incidents shared by the admin, the briefings and the API."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from incidents.models import AffectedCustomer, Incident


def _count_of(queryset: QuerySet[AffectedCustomer]) -> Coalesce:
    counted = (
        queryset.filter(incident=OuterRef("pk")).order_by().values("incident").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def incidents_with_counts(queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Incidents with ``affected_count`` and ``contacted_count``.

    Correlated subqueries rather than JOIN + GROUP BY: the database counts only
    the incidents on the page (index on affected(incident, first_contacted_at)),
    not every affected row of every incident.
    """
    base = Incident.objects.all() if queryset is None else queryset
    return base.select_related("owner").annotate(
        affected_count=_count_of(AffectedCustomer.objects.all()),
        contacted_count=_count_of(AffectedCustomer.objects.filter(first_contacted_at__isnull=False)),
    )
