"""The incidents and their timeline: incident serializers and filter, IncidentViewSet (with the transition
action) and the timeline's updates view.

Writes go through incidents.services. ``incident_or_404`` finds the incident of a nested URL
(/incidents/{incident_pk}/...) for the views here and in incidents.api.affected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.filters import ApiFilterSet, DateTimeFilter
from care.core.api.input import StrictSerializerMixin, actor_of, model_errors_as_400
from care.core.errors import DomainError
from incidents.ingest.validate import reference_data
from incidents.models import Audience, Incident, IncidentStatus, IncidentUpdate
from incidents.promises import promise_out_of_reach
from incidents.services import (
    INCIDENT_EDITABLE_FIELDS,
    TRANSITION_VERBS,
    incident_create,
    incident_post_update,
    incident_update,
    incidents_transition,
)
from incidents.update_translations import other_languages, translations_cleaned, waiting_for_translation


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    class Meta:
        model = Incident
        fields = (
            "id",
            "reference",
            "title",
            "kind",
            "cause",
            "within_control",
            "severity",
            "status",
            "started_at",
            "created_at",
            "opened_at",
            "monitoring_at",
            "resolved_at",
            "closed_at",
            "stations",
            "flights",
            "explanation",
            "apology",
            "prevention",
            "next_update_due_at",
            "first_contact_target_minutes",
            "update_interval_minutes",
            "auto_send_notices",
            "affected_count",
            "contacted_count",
        )
        read_only_fields = fields


@extend_schema_field({"type": "string", "maxLength": 255, "pattern": r"^\s*([A-Za-z]{3}(\s+[A-Za-z]{3})*)?\s*$"})
class StationsField(serializers.CharField):
    """IATA station codes separated by spaces; each must be one airportsdata knows (validate_stations)."""


class IncidentWriteSerializer(StrictSerializerMixin, serializers.ModelSerializer[Incident]):
    stations = StationsField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="IATA codes of the stations involved, separated by spaces, e.g. JFK LGA.",
    )

    class Meta:
        model = Incident
        # Exactly what incident_update may change: one list, kept in the service.
        fields = tuple(sorted(INCIDENT_EDITABLE_FIELDS))

    def validate_stations(self, value: str) -> str:
        codes = [code.upper() for code in value.split()]
        known = reference_data().stations
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValidationError(f"Unknown station code(s): {', '.join(unknown[:10])}.")
        return " ".join(codes)

    def validate_next_update_due_at(self, value: datetime | None) -> datetime | None:
        return _within_reach(value)


def _within_reach(value: datetime | None) -> datetime | None:
    """A promise is input like any other: one in the past or beyond the horizon is a 400, not a conflict."""
    problem = None if value is None else promise_out_of_reach(value, now=timezone.now())
    if problem:
        raise ValidationError(problem)
    return value


class IncidentFilter(ApiFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    started_after = DateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = DateTimeFilter(field_name="started_at", lookup_expr="lt")
    station = django_filters.CharFilter(field_name="stations", lookup_expr="icontains")

    class Meta:
        model = Incident
        fields = ("status", "kind", "cause", "severity", "reference")


class TransitionSerializer(StrictSerializerMixin, serializers.Serializer[Any]):
    to = serializers.ChoiceField(choices=sorted(TRANSITION_VERBS), help_text="The status to move to.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Incident],
):
    """Incidents: list, read, create (as a draft), change, and move through their lifecycle."""

    queryset = Incident.objects.all()
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    ordering = ("-id",)
    ordering_fields = ("id", "started_at", "severity", "affected_count")
    write_scope = "ingest"
    # Set per action (transition); None: the model's add/change permission decides.
    session_write_perms: list[str] | None = None
    http_method_names = ("get", "post", "patch", "head", "options")

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action in ("create", "partial_update"):
            return IncidentWriteSerializer
        return IncidentSerializer

    @extend_schema(request=IncidentWriteSerializer, responses={201: IncidentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = IncidentWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor, label = actor_of(request)
        with model_errors_as_400():
            incident = incident_create(actor=actor, actor_label=label, **serializer.validated_data)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentWriteSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        serializer = IncidentWriteSerializer(incident, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with model_errors_as_400():
            incident = incident_update(incident=incident, **serializer.validated_data)
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=TransitionSerializer, responses={200: IncidentSerializer})
    @action(detail=True, methods=["post"], session_write_perms=["incidents.transition_incident"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Open, monitor, resolve or close the incident (409 when its status does not allow it)."""
        incident = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor, label = actor_of(request)
        incidents_transition(
            incident_ids=[incident.pk],
            target=serializer.validated_data["to"],
            actor=actor,
            actor_label=label,
            note=serializer.validated_data["note"],
        )
        incident.refresh_from_db()
        return Response(IncidentSerializer(incident).data)


def incident_or_404(view: Any) -> Incident:
    """The incident of a nested URL (``incident_pk``), looked up once per request; 404 when there is none."""
    incident = getattr(view, "_incident", None)
    if incident is None:
        incident = get_object_or_404(Incident, pk=view.kwargs["incident_pk"])
        view._incident = incident
    return incident


# --- timeline -------------------------------------------------------------------------
@extend_schema_field(
    {
        "type": "object",
        "properties": {code: {"type": "string", "maxLength": 10_000} for code in other_languages()},
        "additionalProperties": False,
    }
)
class TranslationsField(serializers.DictField):
    """The update's words by language code, read from its translation rows."""

    def get_attribute(self, instance: IncidentUpdate) -> dict[str, str]:
        return {row.language: row.text for row in instance.translations.all()}


class IncidentUpdateSerializer(StrictSerializerMixin, serializers.ModelSerializer[IncidentUpdate]):
    audience = serializers.ChoiceField(choices=Audience.choices)
    text = serializers.CharField(max_length=10_000)
    translations = TranslationsField(
        child=serializers.CharField(max_length=10_000, allow_blank=True),
        required=False,
        help_text='The update in other customer languages, by language code: {"fr": "…", "de": "…"}. Customers '
        "whose language it lacks are held for a translation for a while, then get it in English, quoted.",
    )

    class Meta:
        model = IncidentUpdate
        fields = ("id", "incident", "audience", "text", "translations", "posted_at", "next_update_due_at")
        read_only_fields = ("id", "incident", "posted_at")

    def validate_next_update_due_at(self, value: datetime | None) -> datetime | None:
        return _within_reach(value)

    def validate_translations(self, value: dict[str, str]) -> dict[str, str]:
        try:
            return translations_cleaned(value)
        except DomainError as exc:
            raise ValidationError(str(exc)) from exc


class PostedUpdateSerializer(IncidentUpdateSerializer):
    """The answer to posting an update: the update, and how many customers wait for a translation per language."""

    waiting_for_translation = serializers.SerializerMethodField()

    class Meta(IncidentUpdateSerializer.Meta):
        fields = (*IncidentUpdateSerializer.Meta.fields, "waiting_for_translation")  # type: ignore[assignment]

    def get_waiting_for_translation(self, instance: IncidentUpdate) -> dict[str, int]:
        return waiting_for_translation(instance)


class IncidentUpdateFilter(ApiFilterSet):
    class Meta:
        model = IncidentUpdate
        fields = ("audience",)


class IncidentUpdatesView(generics.ListCreateAPIView[IncidentUpdate]):
    """The incident's timeline: read it, or post an update (a customer update's promise becomes the next one)."""

    queryset = IncidentUpdate.objects.all()
    serializer_class = IncidentUpdateSerializer
    ordering = ("-posted_at", "-id")
    ordering_fields = ("posted_at", "id")
    filterset_class = IncidentUpdateFilter
    write_scope = "ingest"

    def get_queryset(self) -> QuerySet[IncidentUpdate]:
        return IncidentUpdate.objects.filter(incident=incident_or_404(self)).prefetch_related("translations")

    @extend_schema(request=IncidentUpdateSerializer, responses={201: PostedUpdateSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = incident_or_404(self)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor, _label = actor_of(request)
        update = incident_post_update(incident=incident, author=actor, **serializer.validated_data)
        return Response(PostedUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
