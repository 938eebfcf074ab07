from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from care.admin_base import (
    CustomerIncidentColumns,
    StatusChangeInline,
    WorkbenchAdmin,
    run_service,
    status_badge,
)
from care.search import customers_matching
from vouchers.models import CompensationRule, Voucher, VoucherStatusChange
from vouchers.services import vouchers_void


class VoucherStatusChangeInline(StatusChangeInline):
    model = VoucherStatusChange


@admin.register(Voucher)
class VoucherAdmin(CustomerIncidentColumns, WorkbenchAdmin):
    list_display = (
        "code",
        "status_display",
        "value",
        "customer_link",
        "incident_reference",
        "rule",
        "issued_at",
        "expires_at",
        "redeemed_at",
    )
    list_select_related = ("customer", "incident", "rule")
    list_filter = ("status", "incident", "currency", "rule", "expires_at")
    search_fields = ("=code",)  # enables the search box; search_conditions does the work
    search_help_text = "Voucher code, customer reference, email or phone."
    ordering = ("-id",)
    actions = ("void_vouchers",)
    inlines = (VoucherStatusChangeInline,)
    readonly_fields = (
        "code",
        "customer",
        "incident",
        "affected",
        "rule",
        "sequence",
        "amount",
        "currency",
        "redeemed_amount",
        "status",
        "issued_at",
        "expires_at",
        "redeemed_at",
        "voided_at",
        "void_reason",
        "issued_by",
        "issued_by_label",
        "reason",
    )

    class Media:
        css = {"all": ("care/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Vouchers are issued by the compensation policy, never typed in.

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("vouchers.void_voucher")

    def search_conditions(self, term: str) -> list[Q]:
        return [Q(code=term.strip().upper()), Q(customer__in=customers_matching(term))]

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Voucher) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="value", ordering="amount")
    def value(self, obj: Voucher) -> str:
        return f"{obj.amount:,.2f} {obj.currency}"

    @admin.action(description="Void selected vouchers…", permissions=["void"])
    def void_vouchers(self, request: HttpRequest, queryset: QuerySet[Voucher]) -> HttpResponse | None:
        reason = request.POST.get("void_reason", "").strip()
        if "confirm" not in request.POST:
            return TemplateResponse(
                request,
                "admin/vouchers/void_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Void vouchers",
                    "opts": self.model._meta,
                    "vouchers": queryset.select_related("customer")[:200],
                    "count": queryset.count(),
                    "selected_ids": request.POST.getlist(ACTION_CHECKBOX_NAME),
                    "select_across": request.POST.get("select_across", "0"),
                },
            )
        ids = list(queryset.values_list("pk", flat=True))
        run_service(
            request,
            lambda: vouchers_void(voucher_ids=ids, actor=request.user, reason=reason),
            done="Voided {count} voucher(s).",
        )
        return None


@admin.register(CompensationRule)
class CompensationRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "voucher_count", "amount", "currency", "validity_days", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
