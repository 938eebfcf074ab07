"""Letter templates in the workbench: versioned wording, edited with a live preview for a real customer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from care.core.actors import request_actor
from care.core.errors import DomainError
from care.correspondence.models.letters import LetterKind
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.variables import TEMPLATE_VARIABLES
from care.correspondence.selectors import LetterPreview, letter_preview
from care.correspondence.services import (
    TEMPLATE_FIELDS,
    letter_template_delete,
    letter_template_revise,
    letter_template_save,
)
from incidents.models import AffectedCustomer


@admin.register(LetterTemplate)
class LetterTemplateAdmin(admin.ModelAdmin):
    list_display = ("kind", "language", "version", "is_active", "subject", "updated_at")
    list_filter = ("kind", "language", "is_active")
    search_fields = ("subject",)
    ordering = ("kind", "language", "-version")
    readonly_fields = ("version", "created_at", "updated_at")
    change_form_template = "admin/care/lettertemplate/change_form.html"
    fieldsets = (
        (None, {"fields": ("kind", "language", "is_active", "version")}),
        ("Wording (Django template language)", {"fields": TEMPLATE_FIELDS}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # The help beside the wording: every variable a template may use (rendering.variables).
        extra_context = {**(extra_context or {}), "template_variables": TEMPLATE_VARIABLES}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "preview/",
                self.admin_site.admin_view(require_POST(self.preview_view)),
                name="care_lettertemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Render the unsaved wording in the form for one affected customer: the live preview."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        affected_id = request.POST.get("preview_affected", "").strip()
        kind = request.POST.get("kind", "")
        if not affected_id.isdigit() or kind not in LetterKind.values:
            return HttpResponseBadRequest("Enter the id of an affected customer to preview the letter for.")
        draft = LetterTemplate(
            kind=kind,
            language=request.POST.get("language", "en"),
            **{name: request.POST.get(name, "") for name in TEMPLATE_FIELDS},
        )
        if not AffectedCustomer.objects.filter(pk=affected_id).exists():
            return HttpResponseBadRequest(f"There is no affected customer {affected_id}.")
        try:
            preview = letter_preview(affected_id=int(affected_id), kind=kind, template=draft)
        except DomainError as exc:
            preview = LetterPreview(reasons=[str(exc)])
        return TemplateResponse(request, "admin/care/letter/preview_fragment.html", {"preview": preview})

    def save_model(self, request: HttpRequest, obj: LetterTemplate, form: Any, change: bool) -> None:
        if change and obj.letters.exists():
            # Letters record the version they were rendered from: wording they were sent with is never rewritten.
            revised = letter_template_revise(
                template_id=obj.pk,
                fields={name: form.cleaned_data[name] for name in TEMPLATE_FIELDS},
                actor=request_actor(request),
            )
            obj.pk, obj.version = revised.pk, revised.version
            self.message_user(request, f"Saved as version {revised.version}; letters keep the version they used.")
            return
        letter_template_save(template=obj, actor=request_actor(request))

    def delete_model(self, request: HttpRequest, obj: LetterTemplate) -> None:
        letter_template_delete(template_id=obj.pk, actor=request_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LetterTemplate]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            letter_template_delete(template_id=pk, actor=request_actor(request))
