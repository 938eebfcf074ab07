"""Briefings over the API, read-only: the published version of an incident's frontline briefing.

``GET /api/v1/briefings/`` lists the latest published version of each incident's briefing (filter by
``incident`` id or ``incident_reference``); ``GET /api/v1/briefings/{id}/`` is one version. Drafts are never
shown: what a rep or another system reads is what the coordinator published.
"""

from __future__ import annotations

import django_filters
from django.db.models import Max, OuterRef, QuerySet, Subquery
from rest_framework import serializers, viewsets

from care.briefings.models import IncidentBriefing
from care.core.api.filters import ApiFilterSet, BooleanFilter, IdFilter


class BriefingSerializer(serializers.ModelSerializer[IncidentBriefing]):
    incident_reference = serializers.CharField(source="incident.reference", read_only=True)
    published_by = serializers.SerializerMethodField()

    class Meta:
        model = IncidentBriefing
        fields = (
            "id",
            "incident",
            "incident_reference",
            "version",
            "what_happened",
            "talking_points",
            "offer_text",
            "what_not_to_say",
            "faq",
            "change_note",
            "published_at",
            "published_by",
        )
        read_only_fields = fields

    def get_published_by(self, briefing: IncidentBriefing) -> str:
        user = briefing.published_by
        return (user.get_full_name() or user.get_username()) if user is not None else ""


class BriefingFilter(ApiFilterSet):
    incident = IdFilter(field_name="incident_id", help_text="The incident's id.")
    incident_reference = django_filters.CharFilter(field_name="incident__reference")
    all_versions = BooleanFilter(method="filter_all_versions", label="Every published version, not only the latest")

    class Meta:
        model = IncidentBriefing
        fields = ("incident",)

    def filter_all_versions(
        self, queryset: QuerySet[IncidentBriefing], name: str, value: bool
    ) -> QuerySet[IncidentBriefing]:
        return queryset  # the view narrows to the latest versions unless this is set


class BriefingViewSet(viewsets.ReadOnlyModelViewSet[IncidentBriefing]):
    """Published frontline briefings: the latest version of each incident's, or all with ``all_versions``."""

    serializer_class = BriefingSerializer
    filterset_class = BriefingFilter
    queryset = IncidentBriefing.objects.filter(version__isnull=False)
    ordering = ("-id",)
    ordering_fields = ("id", "published_at")

    def get_queryset(self) -> QuerySet[IncidentBriefing]:
        published = IncidentBriefing.objects.filter(version__isnull=False).select_related("incident", "published_by")
        if self.action == "list" and self.request.query_params.get("all_versions") != "true":
            latest = (
                IncidentBriefing.objects.filter(incident=OuterRef("incident"), version__isnull=False)
                .values("incident")
                .annotate(latest=Max("version"))
                .values("latest")
            )
            published = published.filter(version=Subquery(latest))
        return published
