from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from care.core.admin_base import (
    CustomerIncidentColumns,
    StatusChangeInline,
    WorkbenchAdmin,
    run_service,
    status_badge,
)
from care.core.errors import DomainError
from care.customers.models import LoyaltyTier
from care.customers.search import customers_matching
from incidents.models import Cause, Incident
from vouchers.models import CompensationRule, DistanceBand, IncidentCompensation, Voucher, VoucherStatusChange
from vouchers.policy import Rule, rule_in_words
from vouchers.selectors import (
    incident_customer_awards,
    incident_forecast,
    incident_references,
    incident_statutory_summary,
    incident_voucher_summaries,
    incident_voucher_summary,
    outstanding_liability,
)
from vouchers.services import (
    voucher_issue_in_lieu,
    vouchers_approve_over_budget,
    vouchers_issue_for_incident,
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


EXPORT_COLUMNS = (
    ("voucher_id", "pk"),
    ("code", "code"),
    ("status", "status"),
    ("currency", "currency"),
    ("amount", "amount"),
    ("redeemed_amount", "redeemed_amount"),
    ("incident", "incident__reference"),
    ("customer_ref", "customer__external_ref"),
    ("rule", "rule__slug"),
    ("issued_at", "issued_at"),
    ("expires_at", "expires_at"),
    ("redeemed_at", "redeemed_at"),
    ("voided_at", "voided_at"),
    ("void_reason", "void_reason"),
    ("in_lieu_of", "in_lieu_of"),
)
# A spreadsheet runs a cell starting with these as a formula (CSV injection): such cells get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_safe(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_lines(header: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


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
                    actor=request.user,
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
        rows = queryset.order_by("pk").values_list(*(column for _header, column in EXPORT_COLUMNS))
        response = StreamingHttpResponse(
            _csv_lines([header for header, _column in EXPORT_COLUMNS], rows.iterator(chunk_size=2000)),
            content_type="text/csv; charset=utf-8",
        )
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
            lambda: vouchers_void(voucher_ids=ids, actor=request.user, reason=reason),
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


class CompensationRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    causes = forms.MultipleChoiceField(
        choices=Cause.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: any cause."
    )
    loyalty_tiers = forms.MultipleChoiceField(
        choices=LoyaltyTier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every customer.",
    )
    distance_bands = forms.MultipleChoiceField(
        choices=DistanceBand.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any distance.",
    )

    class Meta:
        model = CompensationRule
        fields = (
            "name",
            "slug",
            "description",
            "is_active",
            "applies_by_default",
            "when_cancelled",
            "min_delay_minutes",
            "when_missed_connection",
            "when_overnight_stay",
            "when_diverted",
            "when_downgraded",
            "causes",
            "control",
            "loyalty_tiers",
            "distance_bands",
            "award_kind",
            "voucher_count",
            "amount",
            "currency",
            "validity_days",
            "cash_note",
            "priority",
            "exclusive",
        )


@admin.register(CompensationRule)
class CompensationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CompensationRuleForm
    list_display = ("name", "priority", "exclusive", "in_words", "applies_by_default", "is_active")
    list_filter = ("is_active", "applies_by_default", "award_kind", "currency")
    list_editable = ("priority",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("priority", "id")
    readonly_fields = ("in_words",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "is_active", "applies_by_default", "in_words")}),
        (
            "When it applies: any of these impacts (none ticked: any impact)",
            {
                "fields": (
                    "when_cancelled",
                    "min_delay_minutes",
                    "when_missed_connection",
                    "when_overnight_stay",
                    "when_diverted",
                    "when_downgraded",
                )
            },
        ),
        ("…and all of these", {"fields": ("causes", "control", "loyalty_tiers", "distance_bands")}),
        ("Award", {"fields": ("award_kind", "voucher_count", "amount", "currency", "validity_days", "cash_note")}),
        ("Order", {"fields": ("priority", "exclusive")}),
    )

    @admin.display(description="in words")
    def in_words(self, obj: CompensationRule) -> str:
        if obj.pk is None:
            return "—"
        return rule_in_words(Rule.of(obj))


# --- Per-incident compensation: budget, overrides, forecast --------------------------------------------------


def _compensation_url(incident_id: int) -> str:
    """The incident's compensation page (budget, rules, forecast), or the form that creates it."""
    if IncidentCompensation.objects.filter(incident_id=incident_id).exists():
        return reverse("admin:vouchers_incidentcompensation_change", args=[incident_id])
    return reverse("admin:vouchers_incidentcompensation_add") + f"?incident={incident_id}"


def forecast_panel(incident_id: int, *, customers: int = 0) -> SafeString:
    """The forecast against the budget and the vouchers' liability and redemption, for an incident's pages."""
    forecast = incident_forecast(incident_id=incident_id)
    summary = incident_voucher_summary(incident_id=incident_id)
    settings_url = _compensation_url(incident_id)
    return mark_safe(  # noqa: S308 - rendered by a template with autoescaping
        render_to_string(
            "admin/vouchers/forecast_panel.html",
            {
                "forecast": forecast,
                "summary": summary,
                "statutory": incident_statutory_summary(incident_id=incident_id),
                "customers": incident_customer_awards(incident_id=incident_id, limit=customers) if customers else [],
                "settings_url": settings_url,
                "vouchers_url": reverse("admin:vouchers_voucher_changelist") + f"?incident__id__exact={incident_id}",
            },
        )
    )


CUSTOMERS_SHOWN = 25  # customers listed with their awards on the compensation page


@admin.register(IncidentCompensation)
class IncidentCompensationAdmin(WorkbenchAdmin):
    list_display = ("incident", "budget_display", "approval_display")
    list_select_related = ("incident", "approved_by")
    raw_id_fields = ("incident",)
    filter_horizontal = ("extra_rules", "excluded_rules")
    search_fields = ("incident__reference",)
    readonly_fields = ("forecast", "approved_totals", "approved_by", "approved_at")
    fieldsets = (
        (None, {"fields": ("incident", "budget_cap", "budget_currency", "note")}),
        ("Rules for this incident", {"fields": ("extra_rules", "excluded_rules")}),
        ("Forecast", {"fields": ("forecast",)}),
        ("Approval above the budget", {"fields": ("approved_totals", "approved_by", "approved_at")}),
    )
    actions = ("approve_over_budget", "issue_vouchers")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if "incident" in request.GET:
            initial["incident"] = request.GET["incident"]
        return initial

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("vouchers.approve_incidentcompensation")

    def has_issue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("vouchers.issue_voucher")

    @admin.display(description="budget")
    def budget_display(self, obj: IncidentCompensation) -> str:
        return f"{obj.budget_cap:,.2f} {obj.budget_currency}" if obj.budget_cap is not None else "no cap"

    @admin.display(description="approved above budget")
    def approval_display(self, obj: IncidentCompensation) -> str:
        if not obj.approved_at:
            return "—"
        totals = ", ".join(f"{currency} {amount}" for currency, amount in sorted(obj.approved_totals.items()))
        return f"{totals} by {obj.approved_by} on {obj.approved_at:%d %b %Y %H:%M}"

    @admin.display(description="what the policy would issue")
    def forecast(self, obj: IncidentCompensation) -> SafeString | str:
        if not obj.incident_id:
            return "Save first: the forecast follows the incident."
        return forecast_panel(obj.incident_id, customers=CUSTOMERS_SHOWN)

    @admin.action(description="Approve the forecast total above the budget", permissions=["approve"])
    def approve_over_budget(self, request: HttpRequest, queryset: QuerySet[IncidentCompensation]) -> None:
        for row in queryset:

            def approve(incident_id: int = row.incident_id) -> int:
                return vouchers_approve_over_budget(incident_id=incident_id, actor=request.user).count

            run_service(request, approve, done=f"{row.incident}: approved; {{count}} vouchers may now be issued.")

    @admin.action(description="Issue the vouchers now", permissions=["issue"])
    def issue_vouchers(self, request: HttpRequest, queryset: QuerySet[IncidentCompensation]) -> None:
        for row in queryset:
            result = vouchers_issue_for_incident(incident_id=row.incident_id, actor=request.user)
            if result.held:
                messages.warning(request, f"{row.incident}: {result.message}")
            else:
                messages.success(
                    request, f"{row.incident}: issued {result.issued} vouchers ({result.already} already)."
                )


# Above this many affected customers the incident's page links to the forecast instead of computing it inline.
FORECAST_INLINE_LIMIT = 5_000


def incident_compensation_panel(incident: Incident) -> SafeString | str:
    """For incidents.admin: the compensation panel on the incident's page."""
    if incident.pk is None:
        return "—"
    if incident.affected_count > FORECAST_INLINE_LIMIT:
        # The forecast applies the policy to every affected customer: at this size it takes seconds, too long
        # for every view of the incident's page. It is worked out when the coordinator opens it.
        return format_html(
            'The voucher forecast for {} affected customers is worked out on <a href="{}">this incident\'s '
            "compensation page</a> (budget, rules and forecast); it takes a few seconds at this size.",
            f"{incident.affected_count:,}",
            _compensation_url(incident.pk),
        )
    return forecast_panel(incident.pk)


def voucher_report_link() -> str:
    return format_html('<a href="{}">Liability and redemption report</a>', reverse("admin:vouchers_voucher_report"))
