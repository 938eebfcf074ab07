from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

# Each registers its admin pages: integration tokens, the audit log, the local outboxes (email and SMS), the
# letter templates.
import care.core.api.admin
import care.core.audit_admin
import care.correspondence.outbox_admin
import care.correspondence.sms.outbox_admin
import care.correspondence.template_admin  # noqa: F401
from care.briefings.admin import ContactNoteInline  # also registers briefings, contact notes and page views
from care.core.actors import request_actor
from care.core.admin_base import (
    ActionsOnlyAdminMixin,
    CustomerIncidentColumns,
    StationClockAdminMixin,
    StatusChangeInline,
    WorkbenchAdmin,
    run_service,
    station_clock_column,
    status_badge,
)
from care.core.errors import DomainError
from care.core.station_time import station_time
from care.correspondence.approval import batch_approve, batch_draw_sample
from care.correspondence.models.letters import (
    BatchStatus,
    Letter,
    LetterBatch,
    LetterEvent,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
)
from care.correspondence.selectors import LetterPreview, batch_overview, letter_preview
from care.correspondence.services import (
    LETTER_WORDING_FIELDS,
    letter_draft_edit,
    letters_approve,
    letters_cancel,
)
from care.correspondence.tracking import customers_unreachable
from care.customers.models import Customer
from care.customers.search import customers_matching
from care.customers.services import CUSTOMER_ADMIN_FIELDS, customer_save
from incidents.models import AffectedCustomer
from vouchers.selectors import customer_entitlements


class UnreachableFilter(admin.SimpleListFilter):
    """Customers our email did not reach (bounced, complained, refused, suppressed): someone should phone them."""

    title = "email did not reach them"
    parameter_name = "unreachable"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Could not be reached: phone them")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.value() != "yes":
            return queryset
        incident = request.GET.get("affected__incident__id__exact")
        unreachable = customers_unreachable(int(incident) if incident and incident.isdigit() else None)
        return queryset.filter(pk__in=unreachable.values("pk"))


@admin.register(Customer)
class CustomerAdmin(WorkbenchAdmin):
    list_display = ("external_ref", "name", "email", "phone", "language", "loyalty_tier", "reachable", "textable")
    list_filter = (UnreachableFilter, "language", "loyalty_tier", "contact_consent", "suppression_reason")
    search_fields = ("=external_ref",)  # enables the search box; search_conditions does the work
    search_help_text = "Customer reference, email or phone, or the start of the name."
    ordering = ("name", "id")
    readonly_fields = ("created_at", "updated_at", "suppressed_at", "suppression_reason", "sms_opted_out_at")
    inlines = (ContactNoteInline,)
    fieldsets = (
        (None, {"fields": ("external_ref", "name", "preferred_name", "loyalty_tier")}),
        ("Contact", {"fields": ("email", "phone", "preferred_channel", "language", "time_zone", "contact_consent")}),
        ("Suppression", {"fields": ("suppressed_at", "suppression_reason", "sms_opted_out_at")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    class Media:
        css = {"all": ("care/admin.css",)}

    def search_conditions(self, term: str) -> list[Q]:
        return [Q(pk__in=customers_matching(term)), Q(name__istartswith=term)]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The incident page links here with the incident's unreachable customers.
        return lookup == "affected__incident__id__exact" or super().lookup_allowed(lookup, value, request)

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        names = form.changed_data if change else form.cleaned_data
        fields = {name: form.cleaned_data[name] for name in names if name in CUSTOMER_ADMIN_FIELDS}
        saved = customer_save(customer_id=obj.pk if change else None, actor=request_actor(request), **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.display(description="email reachable", boolean=True)
    def reachable(self, obj: Customer) -> bool:
        return not obj.is_suppressed and bool(obj.email)

    @admin.display(description="SMS reachable", boolean=True)
    def textable(self, obj: Customer) -> bool:
        return not obj.is_sms_opted_out and bool(obj.phone)


class LetterStatusChangeInline(StatusChangeInline):
    model = LetterStatusChange


class LetterEventInline(admin.TabularInline):
    """What the email provider told us about this letter."""

    model = LetterEvent
    extra = 0
    can_delete = False
    fields = ("event_type", "occurred_at", "recipient", "reject_reason", "description", "esp_name", "received_at")
    readonly_fields = fields
    verbose_name_plural = "delivery events"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Letter)
class LetterAdmin(StationClockAdminMixin, CustomerIncidentColumns, WorkbenchAdmin):
    list_display = (
        "__str__",
        "status_display",
        "customer_link",
        "incident_reference",
        "channel",
        "approved_by",
        "sent",
        "created",
    )
    station_lookup = "incident__stations"  # the letter's own text keeps the customer's zone
    list_select_related = ("customer", "incident", "approved_by")
    list_filter = ("status", "kind", "channel", "incident")
    search_fields = ("=esp_message_id",)  # enables the search box; search_conditions does the work
    search_help_text = "Customer reference, email or phone, booking reference or ESP message id."
    ordering = ("-id",)
    actions = ("approve_letters", "cancel_letters")
    inlines = (LetterEventInline, LetterStatusChangeInline)
    readonly_fields = (
        "check_display",
        "owed_by_law",
        "part_acknowledgement",
        "part_explanation",
        "part_remedy",
        "html_preview",
        "batch",
        "customer",
        "incident",
        "affected",
        "kind",
        "sequence",
        "channel",
        "status",
        "to_address",
        "template",
        "template_version",
        "paragraph_variant",
        "approved_by",
        "approved_at",
        "queued_at",
        "handover_at",
        "sent_at",
        "delivered_at",
        "esp_message_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "rendered_text",
        "sms_body",
    )
    fieldsets = (
        (None, {"fields": ("customer", "incident", "affected", "batch", "kind", "sequence", "channel", "status")}),
        ("Personal-letter check", {"fields": ("check_display", "owed_by_law")}),
        (
            "The apology in three parts",
            {"fields": ("part_acknowledgement", "part_explanation", "part_remedy"), "classes": ("collapse",)},
        ),
        ("Letter", {"fields": ("to_address", "sms_body", "subject", "rendered_text", "html_preview")}),
        ("Edit the wording (drafts only)", {"fields": ("body_text", "body_html"), "classes": ("collapse",)}),
        ("Template", {"fields": ("template", "template_version", "paragraph_variant")}),
        ("Approval", {"fields": ("approved_by", "approved_at")}),
        (
            "Delivery",
            {
                "fields": (
                    "queued_at",
                    "handover_at",
                    "sent_at",
                    "delivered_at",
                    "esp_message_id",
                    "attempts",
                    "last_error",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    class Media:
        css = {"all": ("care/admin.css",)}

    def search_conditions(self, term: str) -> list[Q]:
        return [
            Q(customer__in=customers_matching(term)),
            Q(affected__in=AffectedCustomer.objects.filter(booking_reference__iexact=term)),
            Q(esp_message_id=term),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = tuple(self.readonly_fields)
        # Only a draft's wording may still be edited; everything after approval is a record.
        if obj is not None and obj.status != LetterStatus.DRAFT:
            return (*fixed, "subject", "body_text", "body_html")
        return fixed

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Letters are rendered from templates by the correspondence engine, not typed here.

    def save_model(self, request: HttpRequest, obj: Letter, form: Any, change: bool) -> None:
        wording = {name: form.cleaned_data[name] for name in form.changed_data if name in LETTER_WORDING_FIELDS}
        letter_draft_edit(letter_id=obj.pk, actor=request_actor(request), **wording)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:  # approved meanwhile: the wording is a record now
            messages.error(request, f"Nothing was saved: {exc}")
            return HttpResponseRedirect(request.path)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("care.approve_letter")

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Letter) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="sent", ordering="sent_at")
    def sent(self, obj: Letter) -> str:
        return station_time(obj.sent_at, obj.incident)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Letter) -> str:
        return station_time(obj.created_at, obj.incident)

    @admin.display(description="owed by law (by the flight's date)")
    def owed_by_law(self, obj: Letter) -> str:
        """What the law owes this letter's customer for the flight; a rule not yet in force then says so."""
        if obj.affected_id is None:
            return "—"
        lines = customer_entitlements(affected_ids=[obj.affected_id]).get(obj.affected_id, [])
        owed = [f"{line.label}: {line.text}" for line in lines if line.kind != "goodwill"]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in owed)) if owed else "Nothing."

    @admin.display(description="as the customer reads it")
    def rendered_text(self, obj: Letter) -> str:
        return format_html('<div class="letter-body">{}</div>', obj.body_text or "(not rendered yet)")

    @admin.display(description="HTML version")
    def html_preview(self, obj: Letter) -> str:
        if not obj.body_html:
            return "—"
        # A sandboxed frame: the letter's HTML can neither run script nor reach the admin.
        return format_html(
            '<iframe class="letter-html" sandbox="" srcdoc="{}" title="HTML version of the letter"></iframe>',
            obj.body_html,
        )

    @admin.display(description="result")
    def check_display(self, obj: Letter) -> str:
        if obj.combined_into_id is not None:  # one stream per customer: the other letter covers this one
            url = reverse("admin:care_letter_change", args=[obj.combined_into_id])
            reason = " ".join(obj.check_reasons) or f"Combined into L-{obj.combined_into_id}."
            return format_html('{} <a href="{}">Open L-{}</a>', reason, url, obj.combined_into_id)
        if obj.check_passed is None:
            return "Not rendered yet."
        if obj.check_passed:
            return mark_safe('<span class="check-pass">Passed: written to this customer.</span>')
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in obj.check_reasons))
        return format_html('<span class="check-fail">Held as a draft:</span><ul class="check-reasons">{}</ul>', items)

    def _part(self, obj: Letter, key: str) -> str:
        return format_html('<div class="letter-body">{}</div>', (obj.parts or {}).get(key, "") or "—")

    @admin.display(description="1. acknowledgement and apology")
    def part_acknowledgement(self, obj: Letter) -> str:
        return self._part(obj, "acknowledgement")

    @admin.display(description="2. what happened to this customer")
    def part_explanation(self, obj: Letter) -> str:
        return self._part(obj, "explanation")

    @admin.display(description="3. remedy")
    def part_remedy(self, obj: Letter) -> str:
        return self._part(obj, "remedy")

    # --- preview of any letter for any affected customer ------------------------------
    def get_urls(self) -> list[URLPattern]:
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="care_letter_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        kind = request.GET.get("kind", LetterKind.APOLOGY)
        affected_id = request.GET.get("affected", "")
        if kind not in LetterKind.values or not affected_id.isdigit():
            return HttpResponseBadRequest("Choose a letter kind and an affected customer.")
        affected = get_object_or_404(AffectedCustomer.objects.select_related("customer", "incident"), pk=affected_id)
        try:
            preview = letter_preview(affected_id=affected.pk, kind=kind)
        except DomainError as exc:
            preview = LetterPreview(reasons=[str(exc)])
        context = {
            **self.admin_site.each_context(request),
            "title": f"{LetterKind(kind).label} for {affected.customer.name}",
            "opts": self.model._meta,
            "affected": affected,
            "kind": kind,
            "kinds": [choice for choice in LetterKind.choices if choice[0] != LetterKind.MANUAL],
            "preview": preview,
        }
        return TemplateResponse(request, "admin/care/letter/preview.html", context)

    @admin.action(description="Approve selected letters", permissions=["approve"])
    def approve_letters(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request,
            lambda: letters_approve(letter_ids=ids, actor=request_actor(request)),
            done="Approved {count} letter(s).",
        )

    @admin.action(description="Cancel selected letters", permissions=["change"])
    def cancel_letters(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request,
            lambda: letters_cancel(letter_ids=ids, actor=request_actor(request), note="cancelled in the admin"),
            done="Cancelled {count} letter(s).",
        )


@admin.register(LetterBatch)
class LetterBatchAdmin(StationClockAdminMixin, ActionsOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "batch_status",
        "sample_size",
        "reviewed_by",
        "approved_by",
        "second_approved_by",
        "created",
    )
    station_lookup = "incident__stations"
    created = station_clock_column("created_at", description="created at")
    list_filter = ("status", "kind", "incident")
    list_select_related = ("incident", "reviewed_by", "approved_by", "second_approved_by")
    ordering = ("-created_at", "-id")
    change_form_template = "admin/care/letterbatch/change_form.html"
    readonly_fields = (
        "incident",
        "kind",
        "sequence",
        "status",
        "created_at",
        "sample_size",
        "reviewed_by",
        "reviewed_at",
        "approved_by",
        "approved_at",
        "second_approved_by",
        "second_approved_at",
        "voucher_totals",
    )
    exclude = ("sample_letter_ids",)

    class Media:
        css = {"all": ("care/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def batch_status(self, obj: LetterBatch) -> str:
        return status_badge(obj.status, obj.get_status_display())

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(require_POST(view))

        return [
            path("<int:batch_id>/sample/", wrap(self.sample_view), name="care_letterbatch_sample"),
            path("<int:batch_id>/approve/", wrap(self.approve_view), name="care_letterbatch_approve"),
            *super().get_urls(),
        ]

    def _back(self, batch_id: int) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:care_letterbatch_change", args=[batch_id]))

    def sample_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        if not request.user.has_perm("care.approve_letter"):
            raise PermissionDenied
        size = request.POST.get("size", "")
        try:
            sample = batch_draw_sample(
                batch_id=batch_id, reviewer=request_actor(request), size=int(size) if size.isdigit() else None
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.info(
                request, f"A random sample of {len(sample)} letters is shown below. Read them before approving."
            )
        return self._back(batch_id)

    def approve_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        if not request.user.has_perm("care.approve_letter"):
            raise PermissionDenied
        try:
            outcome = batch_approve(batch_id=batch_id, actor=request_actor(request))
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            if outcome.awaiting_second:
                messages.warning(
                    request,
                    "First approval recorded. The vouchers exceed the limit: a second coordinator must approve.",
                )
            else:
                messages.success(
                    request,
                    f"Approved {outcome.approved} letters and queued {outcome.queued} for sending; "
                    f"{outcome.held} held back as drafts.",
                )
        return self._back(batch_id)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        batch = get_object_or_404(LetterBatch.objects.select_related("incident"), pk=object_id)
        extra = {
            **(extra_context or {}),
            "overview": batch_overview(batch),
            "batch": batch,
            "threshold": settings.CARE_SECOND_APPROVAL_ABOVE,
            "sample_size_default": settings.CARE_APPROVAL_SAMPLE_SIZE,
            "can_approve": request.user.has_perm("care.approve_letter"),
            "awaiting_second": batch.status == BatchStatus.AWAITING_SECOND,
        }
        return super().change_view(request, object_id, form_url, extra)
