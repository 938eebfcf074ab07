"""Affected customers: their serializer and filter, the list/import and detail views, the stream parsers
the import takes, the upload size limits and PayloadTooLarge (413).

An import goes through incidents.ingest.services: a small body is imported in the request, a bigger file is
stored and imported in the background (incidents.api.imports shows its progress).
"""

from __future__ import annotations

from typing import IO, Any, cast

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.errors import ApiErrorSerializer
from care.core.api.filters import ApiFilterSet, BooleanFilter
from care.core.api.input import SafeJSONParser, actor_of
from incidents.api.imports import ImportJobSerializer
from incidents.api.incidents import incident_or_404
from incidents.ingest.format import COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, json_rows
from incidents.ingest.services import (
    JSON_MAX_ROWS,
    SYNC_MAX_BYTES,
    import_job_create,
    import_job_enqueue,
    import_job_run,
)
from incidents.models import AffectedCustomer, ImportFormat, ImportJob, ImportSource, ImportStatus

# A JSON body is parsed whole, so it is refused before parsing beyond this size; send CSV instead.
JSON_MAX_BYTES = 5 << 20
# A file is stored before it is imported; beyond this (about 2.5 million rows) the sender splits it.
UPLOAD_MAX_BYTES = 500 << 20


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


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
        return AffectedCustomer.objects.filter(incident=incident_or_404(self)).select_related("customer")

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
        incident = incident_or_404(self)
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
