"""Compensation in the workbench: the standing rules, an incident's budget, rules and forecast."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from care.core.actors import request_actor
from care.core.admin_base import (
    StationClockAdminMixin,
    WorkbenchAdmin,
    run_service,
)
from care.core.station_time import station_time
from care.customers.models import LoyaltyTier
from incidents.models import Cause, Incident
from vouchers.models import CompensationRule, DistanceBand, IncidentCompensation
from vouchers.policy import Rule, rule_in_words
from vouchers.selectors import (
    compensation_differences,
    incident_customer_awards,
    incident_forecast,
    incident_statutory_not_in_force,
    incident_statutory_summary,
    incident_voucher_summary,
)
from vouchers.services import (
    compensation_rule_save,
    incident_compensation_save,
    vouchers_approve_over_budget,
    vouchers_issue_for_incident,
)


class CompensationRuleForm(forms.ModelForm):
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
class CompensationRuleAdmin(admin.ModelAdmin):
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

    def save_model(self, request: HttpRequest, obj: CompensationRule, form: Any, change: bool) -> None:
        compensation_rule_save(rule=obj, fields=form.changed_data, actor=request_actor(request))

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


DIFFERENCES_SHOWN = 25  # customers listed whose vouchers differ from what the policy gives now


def forecast_panel(incident_id: int, *, customers: int = 0) -> SafeString:
    """The forecast against the budget, the customers who hold other than what the policy gives them now, and
    the vouchers' liability and redemption, for an incident's pages."""
    forecast = incident_forecast(incident_id=incident_id)
    differences = compensation_differences(incident_id=incident_id, forecast=forecast)
    summary = incident_voucher_summary(incident_id=incident_id)
    settings_url = _compensation_url(incident_id)
    return mark_safe(  # noqa: S308 - rendered by a template with autoescaping
        render_to_string(
            "admin/vouchers/forecast_panel.html",
            {
                "forecast": forecast,
                "differences": differences[:DIFFERENCES_SHOWN],
                "differences_count": len(differences),
                "summary": summary,
                "statutory": incident_statutory_summary(incident_id=incident_id),
                "not_in_force": incident_statutory_not_in_force(incident_id=incident_id),
                "customers": incident_customer_awards(incident_id=incident_id, limit=customers) if customers else [],
                "settings_url": settings_url,
                "vouchers_url": reverse("admin:vouchers_voucher_changelist") + f"?incident__id__exact={incident_id}",
            },
        )
    )


CUSTOMERS_SHOWN = 25  # customers listed with their awards on the compensation page


@admin.register(IncidentCompensation)
class IncidentCompensationAdmin(StationClockAdminMixin, WorkbenchAdmin):
    station_lookup = "incident__stations"  # its approval is read on the incident's clock
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

    def save_model(self, request: HttpRequest, obj: IncidentCompensation, form: Any, change: bool) -> None:
        incident_compensation_save(
            settings_row=obj,
            actor=request_actor(request),
            extra_rules=form.cleaned_data.get("extra_rules"),
            excluded_rules=form.cleaned_data.get("excluded_rules"),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the rules were set, and audited, by save_model's service; there are no inlines

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
        return f"{totals} by {obj.approved_by} on {station_time(obj.approved_at, obj.incident)}"

    @admin.display(description="what the policy would issue")
    def forecast(self, obj: IncidentCompensation) -> SafeString | str:
        if not obj.incident_id:
            return "Save first: the forecast follows the incident."
        return forecast_panel(obj.incident_id, customers=CUSTOMERS_SHOWN)

    @admin.action(description="Approve the forecast total above the budget", permissions=["approve"])
    def approve_over_budget(self, request: HttpRequest, queryset: QuerySet[IncidentCompensation]) -> None:
        for row in queryset:

            def approve(incident_id: int = row.incident_id) -> int:
                return vouchers_approve_over_budget(incident_id=incident_id, actor=request_actor(request)).count

            run_service(request, approve, done=f"{row.incident}: approved; {{count}} vouchers may now be issued.")

    @admin.action(description="Issue the vouchers now", permissions=["issue"])
    def issue_vouchers(self, request: HttpRequest, queryset: QuerySet[IncidentCompensation]) -> None:
        for row in queryset:
            result = vouchers_issue_for_incident(incident_id=row.incident_id, actor=request_actor(request))
            if result.held:
                messages.warning(request, f"{row.incident}: {result.message}")
            else:
                topped = f", topped up {result.topped_up}" if result.topped_up else ""
                messages.success(
                    request, f"{row.incident}: issued {result.issued} vouchers{topped} ({result.already} already)."
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
