"""Imports of affected customers: the import job serializer, filter and viewset, and the rejected rows, as
JSON or as a CSV report (CsvRenderer lets a client ask for text/csv).

The imports themselves are started by incidents.api.affected (or the admin); these views only read them.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.filters import ApiFilterSet
from incidents.ingest.services import rejection_report_lines
from incidents.models import ImportJob, ImportRejection


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    fraction_done = serializers.FloatField(read_only=True)
    customers_known = serializers.IntegerField(
        read_only=True, help_text="Customers of the file already in the database, changed by it or not."
    )
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
            "customers_known",
            "customers_updated",
            "affected_created",
            "affected_updated",
            "affected_existing",
            "affected_flight_kept",
            "error",
            "rejections_url",
        )
        read_only_fields = fields

    def get_seconds_left(self, job: ImportJob) -> float | None:
        return job.seconds_left()

    def get_rejections_url(self, job: ImportJob) -> str:
        return reverse("v1:import-rejections-csv", kwargs={"pk": job.pk})


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
        job = get_object_or_404(ImportJob, pk=pk)
        response = StreamingHttpResponse(rejection_report_lines(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejections.csv"'
        return response
