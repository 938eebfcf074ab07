from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from care.admin_base import StatusChangeInline, WorkbenchAdmin, admin_link, run_service, status_badge
from care.models import Customer, Letter, LetterStatus, LetterStatusChange, LetterTemplate
from care.search import customers_matching
from care.services import letters_approve, letters_cancel
from incidents.models import AffectedCustomer


@admin.register(Customer)
class CustomerAdmin(WorkbenchAdmin):
    list_display = ("external_ref", "name", "email", "phone", "language", "loyalty_tier", "reachable")
    list_filter = ("language", "loyalty_tier", "contact_consent", "suppression_reason")
    search_fields = ("=external_ref",)  # enables the search box; search_conditions does the work
    search_help_text = "Customer reference, email or phone, or the start of the name."
    ordering = ("name", "id")
    readonly_fields = ("created_at", "updated_at", "suppressed_at", "suppression_reason")
    fieldsets = (
        (None, {"fields": ("external_ref", "name", "preferred_name", "loyalty_tier")}),
        ("Contact", {"fields": ("email", "phone", "language", "time_zone", "contact_consent")}),
        ("Suppression", {"fields": ("suppressed_at", "suppression_reason")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    class Media:
        css = {"all": ("care/admin.css",)}

    def search_conditions(self, term: str) -> list[Q]:
        return [Q(pk__in=customers_matching(term)), Q(name__istartswith=term)]

    @admin.display(description="email reachable", boolean=True)
    def reachable(self, obj: Customer) -> bool:
        return not obj.is_suppressed and bool(obj.email)


class LetterStatusChangeInline(StatusChangeInline):
    model = LetterStatusChange


@admin.register(Letter)
class LetterAdmin(WorkbenchAdmin):
    list_display = (
        "__str__",
        "status_display",
        "customer_link",
        "incident_reference",
        "channel",
        "approved_by",
        "sent_at",
        "created_at",
    )
    list_select_related = ("customer", "incident", "approved_by")
    list_filter = ("status", "kind", "channel", "incident")
    search_fields = ("=esp_message_id",)  # enables the search box; search_conditions does the work
    search_help_text = "Customer reference, email or phone, booking reference or ESP message id."
    ordering = ("-id",)
    actions = ("approve_letters", "cancel_letters")
    inlines = (LetterStatusChangeInline,)
    readonly_fields = (
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
        "approved_by",
        "approved_at",
        "queued_at",
        "sent_at",
        "delivered_at",
        "esp_message_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "rendered_text",
    )
    fieldsets = (
        (None, {"fields": ("customer", "incident", "affected", "kind", "sequence", "channel", "status")}),
        ("Letter", {"fields": ("to_address", "subject", "rendered_text", "body_text", "body_html")}),
        ("Template", {"fields": ("template", "template_version")}),
        ("Approval", {"fields": ("approved_by", "approved_at")}),
        (
            "Delivery",
            {"fields": ("queued_at", "sent_at", "delivered_at", "esp_message_id", "attempts", "last_error")},
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

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("care.approve_letter")

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Letter) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: Letter) -> str:
        return admin_link(obj.customer, obj.customer.name)

    @admin.display(description="incident", ordering="incident__reference")
    def incident_reference(self, obj: Letter) -> str:
        return admin_link(obj.incident, obj.incident.reference) if obj.incident else "—"

    @admin.display(description="as the customer reads it")
    def rendered_text(self, obj: Letter) -> str:
        return format_html('<div class="letter-body">{}</div>', obj.body_text or "(not rendered yet)")

    @admin.action(description="Approve selected letters", permissions=["approve"])
    def approve_letters(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request, lambda: letters_approve(letter_ids=ids, actor=request.user), done="Approved {count} letter(s)."
        )

    @admin.action(description="Cancel selected letters", permissions=["change"])
    def cancel_letters(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request,
            lambda: letters_cancel(letter_ids=ids, actor=request.user, note="cancelled in the admin"),
            done="Cancelled {count} letter(s).",
        )


@admin.register(LetterTemplate)
class LetterTemplateAdmin(admin.ModelAdmin):
    list_display = ("kind", "language", "version", "is_active", "subject", "updated_at")
    list_filter = ("kind", "language", "is_active")
    search_fields = ("subject",)
    ordering = ("kind", "language", "-version")
