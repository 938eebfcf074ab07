"""Imports of affected customers in the admin: upload a CSV, watch its progress, download the rejected rows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from care.core.actors import request_actor
from care.core.admin_base import (
    StationClockAdminMixin,
    WorkbenchAdmin,
    admin_link,
    station_clock_column,
    status_badge,
)
from care.core.errors import DomainError
from incidents.ingest.services import (
    SYNC_MAX_BYTES,
    import_job_create,
    import_job_enqueue,
    import_job_run,
    rejection_report_lines,
)
from incidents.models import ImportFormat, ImportJob, ImportSource, Incident, IncidentStatus


class ImportUploadForm(forms.ModelForm):
    upload = forms.FileField(
        label="File", help_text="CSV (or JSON lines) in the format of incidents/ingest/FORMAT.md; the header is line 1."
    )

    class Meta:
        model = ImportJob
        fields = ("incident", "file_format")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["incident"]
        field.queryset = Incident.objects.exclude(status=IncidentStatus.CLOSED).order_by("-started_at")  # type: ignore[attr-defined]
        self.fields["file_format"].choices = [  # type: ignore[attr-defined]
            (ImportFormat.CSV, "CSV"),
            (ImportFormat.JSONL, "JSON lines"),
        ]


@admin.register(ImportJob)
class ImportJobAdmin(StationClockAdminMixin, WorkbenchAdmin):
    list_display = (
        "id",
        "incident_link",
        "source",
        "status_display",
        "rows_done",
        "rows_rejected",
        "affected_created",
        "affected_updated",
        "affected_existing",
        "created",
    )
    station_lookup = "incident__stations"  # the progress page, on the clock of the incident it imports into
    created = station_clock_column("created_at", description="created at")
    list_filter = ("status", "source")
    list_select_related = ("incident",)
    search_fields = ("incident__reference",)
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "incident",
        "source",
        "file_format",
        "file_name",
        "status_display",
        "progress_display",
        "rows_done",
        "rows_rejected",
        "rejections_link",
        "customers_created",
        "customers_known_display",
        "customers_updated",
        "affected_created",
        "affected_updated",
        "affected_existing",
        "affected_flight_kept",
        "error",
        "created_by",
        "created_by_label",
        "created_at",
        "started_at",
        "finished_at",
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ImportUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("incident", "file_format", "upload")
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a job is written by the import only; the page is for watching it

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="incident", ordering="incident__reference")
    def incident_link(self, obj: ImportJob) -> str:
        return admin_link(obj.incident, obj.incident.reference)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: ImportJob) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="progress")
    def progress_display(self, obj: ImportJob) -> str:
        left = obj.seconds_left()
        if obj.is_finished:
            estimate = "finished"
        elif left is None:
            estimate = "estimating the time left…"
        else:
            estimate = f"about {left:.0f} s left"
        return format_html(
            '<progress max="100" value="{}"></progress> {}% of the file read, {}',
            f"{obj.fraction_done * 100:.0f}",
            f"{obj.fraction_done * 100:.0f}",
            estimate,
        )

    @admin.display(description="customers already known")
    def customers_known_display(self, obj: ImportJob) -> int:
        """Beside "customers created": the file's other customers, whether it changed their details or not."""
        return obj.customers_known

    @admin.display(description="rejected rows")
    def rejections_link(self, obj: ImportJob) -> str:
        if not obj.rows_rejected:
            return "none"
        url = reverse("admin:incidents_importjob_rejections", args=[obj.pk])
        return format_html('<a href="{}">Download the rejection report (CSV, {} rows)</a>', url, obj.rows_rejected)

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        upload = form.cleaned_data["upload"]
        job = import_job_create(
            incident=form.cleaned_data["incident"],
            source=ImportSource.ADMIN,
            file_format=form.cleaned_data["file_format"],
            upload=upload,
            file_name=upload.name or "",
            created_by=request_actor(request),
        )
        obj.pk = job.pk
        obj._state.adding = False
        if job.bytes_total <= SYNC_MAX_BYTES:
            import_job_run(job_id=job.pk)  # a small file is done before the page shows
        else:
            import_job_enqueue(job)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.path)

    def response_add(self, request: HttpRequest, obj: ImportJob, post_url_continue: str | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:incidents_importjob_change", args=[obj.pk]))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        obj = kwargs.get("obj")
        # The progress page reloads itself while the import runs.
        context["refresh_seconds"] = 2 if obj is not None and not obj.is_finished else None
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:object_id>/rejections.csv",
                self.admin_site.admin_view(self.rejections_view),
                name="incidents_importjob_rejections",
            )
        ]
        return extra + super().get_urls()

    def rejections_view(self, request: HttpRequest, object_id: int) -> StreamingHttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=object_id)
        response = StreamingHttpResponse(rejection_report_lines(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejections.csv"'
        return response
