"""The incidents API (/api/v1/): incidents, their transitions and timeline, affected customers, imports.

Views parse and render; every write goes through incidents.services or incidents.ingest.services.
Tokens read with the ``read`` scope and write with ``ingest``; staff sessions follow the roles' model
permissions (a rep's session reads, a coordinator's writes).
"""

from __future__ import annotations

import json
from typing import IO, Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.errors import ApiErrorSerializer
from care.core.api.filters import ApiFilterSet, BooleanFilter, DateTimeFilter
from care.core.api.input import SafeJSONParser, StrictSerializerMixin, actor_of, model_errors_as_400
from incidents.ingest.format import COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, json_rows
from incidents.ingest.services import (
    JSON_MAX_ROWS,
    SYNC_MAX_BYTES,
    import_job_create,
    import_job_enqueue,
    import_job_run,
)
from incidents.ingest.validate import reference_data
from incidents.models import (
    AffectedCustomer,
    Audience,
    ImportFormat,
    ImportJob,
    ImportRejection,
    ImportSource,
    ImportStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)
from incidents.services import (
    INCIDENT_EDITABLE_FIELDS,
    TRANSITION_VERBS,
    incident_create,
    incident_post_update,
    incident_update,
    incidents_transition,
)

# A JSON body is parsed whole, so it is refused before parsing beyond this size; send CSV instead.
JSON_MAX_BYTES = 5 << 20
# A file is stored before it is imported; beyond this (about 2.5 million rows) the sender splits it.
UPLOAD_MAX_BYTES = 500 << 20


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


# --- incidents ----------------------------------------------------------------------
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


def _incident_or_404(view: Any) -> Incident:
    incident = getattr(view, "_incident", None)
    if incident is None:
        incident = get_object_or_404(Incident, pk=view.kwargs["incident_pk"])
        view._incident = incident
    return incident


# --- timeline -------------------------------------------------------------------------
class IncidentUpdateSerializer(StrictSerializerMixin, serializers.ModelSerializer[IncidentUpdate]):
    audience = serializers.ChoiceField(choices=Audience.choices)
    text = serializers.CharField(max_length=10_000)

    class Meta:
        model = IncidentUpdate
        fields = ("id", "incident", "audience", "text", "posted_at", "next_update_due_at")
        read_only_fields = ("id", "incident", "posted_at")


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
        return IncidentUpdate.objects.filter(incident=_incident_or_404(self))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = _incident_or_404(self)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor, _label = actor_of(request)
        update = incident_post_update(incident=incident, author=actor, **serializer.validated_data)
        return Response(self.get_serializer(update).data, status=status.HTTP_201_CREATED)


# --- affected customers -----------------------------------------------------------------
class AffectedCustomerSerializer(serializers.ModelSerializer[AffectedCustomer]):
    customer_ref = serializers.CharField(source="customer.external_ref", read_only=True)
    impact_summary = serializers.CharField(read_only=True)

    class Meta:
        model = AffectedCustomer
        fields = (
            "id",
            "incident",
            "customer",
            "customer_ref",
            "delay_minutes",
            "cancelled",
            "missed_connection",
            "overnight_stay",
            "diverted",
            "downgraded",
            "impact_summary",
            "carrier",
            "flight_number",
            "flight_date",
            "origin",
            "destination",
            "scheduled_departure_at",
            "booking_reference",
            "first_contacted_at",
            "last_contacted_at",
            "created_at",
        )
        read_only_fields = fields


class AffectedFilter(ApiFilterSet):
    customer_ref = django_filters.CharFilter(field_name="customer__external_ref")
    contacted = BooleanFilter(field_name="first_contacted_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = AffectedCustomer
        fields = (
            "carrier",
            "flight_number",
            "flight_date",
            "origin",
            "destination",
            "cancelled",
            "booking_reference",
        )


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    fraction_done = serializers.FloatField(read_only=True)
    seconds_left = serializers.SerializerMethodField()
    rejections_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (
            "id",
            "incident",
            "source",
            "file_format",
            "file_name",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "bytes_total",
            "bytes_done",
            "fraction_done",
            "seconds_left",
            "rows_done",
            "rows_rejected",
            "customers_created",
            "customers_updated",
            "affected_created",
            "affected_existing",
            "error",
            "rejections_url",
        )
        read_only_fields = fields

    def get_seconds_left(self, job: ImportJob) -> float | None:
        return job.seconds_left()

    def get_rejections_url(self, job: ImportJob) -> str:
        return reverse("v1:import-rejections-csv", kwargs={"pk": job.pk})


class _StreamParser(BaseParser):
    """Hands the request body on as a stream, so a big file goes to storage without being held in memory."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream


class CsvParser(_StreamParser):
    media_type = "text/csv"


class JsonLinesParser(_StreamParser):
    media_type = "application/x-ndjson"


def _affected_import_bodies() -> dict[str, dict[str, Any]]:
    """The three bodies an import takes (incidents/ingest/FORMAT.md), as far as a schema can say."""
    optional = "".join(f"(,{column})?" for column in OPTIONAL_COLUMNS)
    row = {
        "type": "object",
        "description": "One affected customer: column name to a text, number, true/false or null value.",
        "properties": {column: {"description": "See FORMAT.md."} for column in COLUMNS},
        "required": list(REQUIRED_COLUMNS),
    }
    rows = {
        "type": "array",
        "minItems": 1,
        "maxItems": JSON_MAX_ROWS,
        # A row that is not such an object is not a reason to refuse the body: it is a rejected row of the
        # import, reported with its number like a row with a bad email.
        "items": {"anyOf": [row, {}]},
    }
    return {
        "text/csv": {
            "type": "string",
            "minLength": 1,
            # The header as FORMAT.md writes it; the server also takes the columns in any order.
            "pattern": f"^{','.join(REQUIRED_COLUMNS)}{optional}\\r?\\n",
            "description": "UTF-8 CSV: a header row naming the columns, then one row per affected customer.",
        },
        "application/x-ndjson": {
            "type": "string",
            "minLength": 1,
            "description": "JSON lines: an object of column: value per line; a line that is not one is a rejected row.",
        },
        "application/json": {
            "oneOf": [
                rows,
                {"type": "object", "properties": {"rows": rows}, "required": ["rows"]},
            ],
            "description": f'A JSON array of rows, or {{"rows": [...]}}; at most {JSON_MAX_ROWS} rows and 5 MB.',
        },
    }


class IncidentAffectedView(generics.ListAPIView[AffectedCustomer]):
    """The incident's affected customers: list them, or add many at once (CSV, JSON lines or a JSON array).

    A body up to 1 MB (and every JSON array, at most 5,000 rows) is imported in the request: 201 with the
    finished import. A bigger CSV or JSON-lines body is stored and imported in the background: 202 with the
    import to poll at /api/v1/imports/{id}/. Bad rows are reported, not fatal; see FORMAT.md.
    """

    queryset = AffectedCustomer.objects.all()
    serializer_class = AffectedCustomerSerializer
    filterset_class = AffectedFilter
    ordering = ("-id",)
    ordering_fields = ("id", "delay_minutes", "flight_date")
    parser_classes = (SafeJSONParser, CsvParser, JsonLinesParser)
    write_scope = "ingest"

    def get_queryset(self) -> QuerySet[AffectedCustomer]:
        return AffectedCustomer.objects.filter(incident=_incident_or_404(self)).select_related("customer")

    @extend_schema(
        request=_affected_import_bodies(),
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[202],
                description="The import to poll, /api/v1/imports/{id}/.",
            )
        ],
        responses={
            201: OpenApiResponse(ImportJobSerializer, description="Imported in the request."),
            202: OpenApiResponse(ImportJobSerializer, description="Stored; importing in the background."),
            400: OpenApiResponse(
                ApiErrorSerializer, description="A body that is empty or not rows, or a file refused whole."
            ),
            413: OpenApiResponse(ApiErrorSerializer, description="A JSON body over 5 MB, or a file over 500 MB."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = _incident_or_404(self)
        length = _content_length(request)
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media == "application/json" and length > JSON_MAX_BYTES:
            raise PayloadTooLarge("A JSON body is limited to 5 MB; send larger files as text/csv.")
        if length > UPLOAD_MAX_BYTES:
            raise PayloadTooLarge("A file is limited to 500 MB; split it and send the parts one after the other.")
        data = request.data
        actor, label = actor_of(request)
        if media == "application/json":
            values = data.get("rows") if isinstance(data, dict) else data
            if not isinstance(values, list) or not values:
                raise ValidationError({"rows": ['Send a non-empty JSON array of rows (or {"rows": [...]}).']})
            if len(values) > JSON_MAX_ROWS:
                raise ValidationError({"rows": [f"At most {JSON_MAX_ROWS} rows per JSON body; send CSV."]})
            job = import_job_create(
                incident=incident,
                source=ImportSource.API,
                file_format=ImportFormat.JSON,
                created_by=actor,
                created_by_label=label,
            )
            job = import_job_run(job_id=job.pk, rows=json_rows(values))
            return _job_response(job)
        if not hasattr(data, "read"):
            raise ParseError(
                "The body is empty." if length == 0 else "Send the rows as text/csv or application/x-ndjson."
            )
        job = import_job_create(
            incident=incident,
            source=ImportSource.API,
            file_format=ImportFormat.CSV if media == "text/csv" else ImportFormat.JSONL,
            upload=cast("IO[bytes]", data),
            file_name=f"api-{incident.reference}.{'csv' if media == 'text/csv' else 'jsonl'}",
            created_by=actor,
            created_by_label=label,
        )
        if job.bytes_total == 0:
            job.delete()
            raise ParseError("The body is empty.")
        if 0 < length <= SYNC_MAX_BYTES:
            return _job_response(import_job_run(job_id=job.pk))
        import_job_enqueue(job)
        return Response(
            ImportJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("v1:import-detail", kwargs={"pk": job.pk})},
        )


def _content_length(request: Request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _job_response(job: ImportJob) -> Response:
    if job.status == ImportStatus.FAILED:
        return Response(
            {"code": "invalid_file", "message": job.error, "errors": {"import": [str(job.pk)]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)


class AffectedDetailView(generics.RetrieveAPIView[AffectedCustomer]):
    """One affected customer: their impact, flight and when we first contacted them."""

    queryset = AffectedCustomer.objects.select_related("customer")
    serializer_class = AffectedCustomerSerializer


# --- imports ----------------------------------------------------------------------------
class ImportJobFilter(ApiFilterSet):
    class Meta:
        model = ImportJob
        fields = ("incident", "status", "source")


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet[ImportJob]):
    """Imports of affected customers and their progress (rows done, rejected, seconds left)."""

    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    filterset_class = ImportJobFilter
    ordering = ("-id",)
    ordering_fields = ("id", "created_at")


class ImportRejectionSerializer(serializers.ModelSerializer[ImportRejection]):
    raw = serializers.DictField(child=serializers.CharField(allow_blank=True, allow_null=True), read_only=True)

    class Meta:
        model = ImportRejection
        fields = ("row_number", "reason", "raw")
        read_only_fields = fields


class ImportRejectionsView(generics.ListAPIView[ImportRejection]):
    """The rows an import refused, by row number, with the reason."""

    queryset = ImportRejection.objects.all()
    serializer_class = ImportRejectionSerializer
    ordering = ("row_number",)
    ordering_fields = ("row_number",)

    def get_queryset(self) -> QuerySet[ImportRejection]:
        job = get_object_or_404(ImportJob, pk=self.kwargs["pk"])
        return ImportRejection.objects.filter(job=job)


class CsvRenderer(BaseRenderer):
    """Lets a client ask for text/csv; the CSV itself is streamed, only error bodies are rendered (as JSON)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode()


class ImportRejectionsCsvView(generics.GenericAPIView[ImportRejection]):
    """The rejection report as CSV (row, reason, then the file's columns), for a spreadsheet."""

    queryset = ImportRejection.objects.all()
    pagination_class = None
    filter_backends = ()
    renderer_classes = (JSONRenderer, CsvRenderer)

    def handle_exception(self, exc: Exception) -> Response:
        # An error is the JSON error body even for a client that asked for text/csv.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        from incidents.ingest.services import rejection_report_lines

        job = get_object_or_404(ImportJob, pk=pk)
        response = StreamingHttpResponse(rejection_report_lines(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejections.csv"'
        return response
