"""Vouchers in the workbench: the list, voiding, the liability report, the finance export, vouchers in lieu."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

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
from care.core.csv_export import csv_lines
from care.core.errors import DomainError
from care.customers.search import customers_matching
from vouchers.models import Voucher, VoucherStatusChange
from vouchers.selectors import (
    incident_references,
    incident_voucher_summaries,
    outstanding_liability,
)
from vouchers.services import (
    voucher_issue_in_lieu,
    vouchers_export,
    vouchers_void,
)


class ExpiryFilter(admin.SimpleListFilter):
    """By expiry, in ranges the expires_at index serves (no distinct scan of dates)."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("past", "Past expiry"),
            ("30d", "Expiring within 30 days"),
            ("later", "Expiring later"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        soon = now + dt.timedelta(days=30)
        if self.value() == "past":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "30d":
            return queryset.filter(expires_at__gt=now, expires_at__lte=soon)
        if self.value() == "later":
            return queryset.filter(expires_at__gt=soon)
        return queryset


class VoucherStatusChangeInline(StatusChangeInline):
    model = VoucherStatusChange


@admin.register(Voucher)
class VoucherAdmin(StationClockAdminMixin, ActionsOnlyAdminMixin, CustomerIncidentColumns, WorkbenchAdmin):
    list_display = (
        "code",
        "status_display",
        "value",
        "customer_link",
        "incident_reference",
        "rule",
        "issued",
        "expires",
        "redeemed",
    )
    station_lookup = "incident__stations"  # staff read a voucher's times on its incident's clock
    list_select_related = ("customer", "incident", "rule")
    list_filter = ("status", "incident", ExpiryFilter, "currency", "rule")
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
        "in_lieu_of",
        "consent_recorded_at",
        "consent_note",
    )

    change_list_template = "admin/vouchers/voucher/change_list.html"

    issued = station_clock_column("issued_at", description="issued at")
    expires = station_clock_column("expires_at", description="expires at")
    redeemed = station_clock_column("redeemed_at", description="redeemed at")

    class Media:
        css = {"all": ("care/admin.css",)}

    def get_urls(self) -> list[URLPattern]:
        return [
            path("report/", self.admin_site.admin_view(self.report_view), name="vouchers_voucher_report"),
            path("export.csv", self.admin_site.admin_view(self.export_view), name="vouchers_voucher_export"),
            path("in-lieu/", self.admin_site.admin_view(self.in_lieu_view), name="vouchers_voucher_in_lieu"),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Outstanding liability per currency and the redemption rate per incident; reps may read it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        summaries = incident_voucher_summaries()
        references = incident_references(summary.incident_id for summary in summaries)
        return TemplateResponse(
            request,
            "admin/vouchers/report.html",
            {
                **self.admin_site.each_context(request),
                "title": "Voucher liability and redemption",
                "opts": self.model._meta,
                "liability": sorted(outstanding_liability().items()),
                "rows": sorted(
                    ((references.get(s.incident_id, "?"), s) for s in summaries), key=lambda row: row[0], reverse=True
                ),
                "can_export": self.has_export_permission(request),
            },
        )

    def in_lieu_view(self, request: HttpRequest) -> HttpResponse:
        """Record a voucher the customer chose instead of the cash the law owes them, with their consent."""
        if not request.user.has_perm("vouchers.issue_voucher"):
            raise PermissionDenied
        form = InLieuForm(request.POST or None, initial={"affected": request.GET.get("affected", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                voucher = voucher_issue_in_lieu(
                    affected_id=data["affected"],
                    regulation=data["regulation"],
                    amount=data["amount"],
                    currency=data["currency"],
                    validity_days=data["validity_days"],
                    consent_note=data["consent_note"],
                    actor=request_actor(request),
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Voucher {voucher.code} recorded in place of the cash, with consent.")
                return HttpResponseRedirect(reverse("admin:vouchers_voucher_change", args=[voucher.pk]))
        return TemplateResponse(
            request,
            "admin/vouchers/in_lieu.html",
            {
                **self.admin_site.each_context(request),
                "title": "A voucher instead of cash owed by law",
                "opts": self.model._meta,
                "form": form,
            },
        )

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("vouchers.export_voucher")

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The vouchers the changelist's filters select, as CSV for finance, streamed row by row.

        Coordinators only: the file carries live codes (bearer value) and customer references in bulk.
        """
        if not self.has_export_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        header, rows = vouchers_export(queryset=queryset, actor=request_actor(request), filters=request.GET.dict())
        response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="vouchers-{stamp}.csv"'
        return response

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
            lambda: vouchers_void(voucher_ids=ids, actor=request_actor(request), reason=reason),
            done="Voided {count} voucher(s).",
        )
        return None


class InLieuForm(forms.Form):
    affected = forms.IntegerField(label="Affected customer (id)", min_value=1)
    regulation = forms.ChoiceField(
        choices=[
            ("us_dot_refund", "US DOT refund"),
            ("eu261", "EU261 compensation"),
            ("uk261", "UK261 compensation"),
            ("ca_appr", "APPR compensation"),
        ]
    )
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", max_length=3, help_text="ISO code, e.g. EUR.")
    validity_days = forms.IntegerField(min_value=1, max_value=3650, initial=365)
    consent_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="How and when the customer agreed (call, email)."
    )
