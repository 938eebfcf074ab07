"""Affected customers, alerts and sweep runs in the workbench."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from care.core.actors import request_actor
from care.core.admin_base import (
    ActionsOnlyAdminMixin,
    ReadOnlyAdminMixin,
    StationClockAdminMixin,
    WorkbenchAdmin,
    admin_link,
)
from care.core.station_time import station_time
from care.correspondence.models.letters import LetterKind
from care.customers.search import customers_matching, flight_from
from care.operations.alerts import alert_acknowledge
from incidents.models import (
    AffectedCustomer,
    Alert,
    SweepRun,
)
from incidents.services import (
    AFFECTED_FIELDS,
    affected_customer_delete,
    affected_customer_save,
)


@admin.register(AffectedCustomer)
class AffectedCustomerAdmin(StationClockAdminMixin, WorkbenchAdmin):
    list_display = (
        "id",
        "customer_link",
        "incident_reference",
        "flight_display",
        "flight_date",
        "route",
        "impact_summary",
        "booking_reference",
        "first_contacted",
    )
    station_lookup = "incident__stations"
    list_display_links = ("id",)
    list_select_related = ("customer", "incident")
    list_filter = (
        "incident",
        "cancelled",
        "missed_connection",
        "overnight_stay",
        "diverted",
        ("first_contacted_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("=booking_reference",)  # enables the search box; search_conditions does the work
    search_help_text = "Booking reference, customer reference, email, phone or flight (e.g. UA 1545)."
    ordering = ("-id",)
    raw_id_fields = ("customer", "incident")
    readonly_fields = ("first_contacted_at", "last_contacted_at", "created_at", "letter_previews")

    def save_model(self, request: HttpRequest, obj: AffectedCustomer, form: Any, change: bool) -> None:
        names = form.changed_data if change else form.cleaned_data
        fields = {name: form.cleaned_data[name] for name in names if name in AFFECTED_FIELDS}
        saved = affected_customer_save(affected_id=obj.pk if change else None, actor=request_actor(request), **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: AffectedCustomer) -> None:
        affected_customer_delete(affected_id=obj.pk, actor=request_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AffectedCustomer]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            affected_customer_delete(affected_id=pk, actor=request_actor(request))

    fieldsets = (
        (None, {"fields": ("incident", "customer", "booking_reference", "letter_previews")}),
        (
            "Flight",
            {"fields": ("carrier", "flight_number", "flight_date", "origin", "destination", "scheduled_departure_at")},
        ),
        (
            "Impact",
            {"fields": ("cancelled", "delay_minutes", "missed_connection", "overnight_stay", "diverted", "downgraded")},
        ),
        ("Contact", {"fields": ("first_contacted_at", "last_contacted_at", "created_at")}),
    )

    def search_conditions(self, term: str) -> list[Q]:
        conditions = [Q(booking_reference__iexact=term), Q(customer__in=customers_matching(term))]
        if flight := flight_from(term):
            conditions.append(Q(carrier=flight[0], flight_number=flight[1]))
        return conditions

    @admin.display(description="preview a letter")
    def letter_previews(self, obj: AffectedCustomer) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:care_letter_preview")
        kinds = [(value, label) for value, label in LetterKind.choices if value != LetterKind.MANUAL]
        return format_html_join(
            " · ", '<a href="{}?affected={}&kind={}">{}</a>', ((url, obj.pk, value, label) for value, label in kinds)
        )

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: AffectedCustomer) -> str:
        return admin_link(obj.customer, obj.customer.name)

    @admin.display(description="incident", ordering="incident__reference")
    def incident_reference(self, obj: AffectedCustomer) -> str:
        return admin_link(obj.incident, obj.incident.reference)

    @admin.display(description="flight")
    def flight_display(self, obj: AffectedCustomer) -> str:
        return obj.flight_label

    @admin.display(description="route")
    def route(self, obj: AffectedCustomer) -> str:
        return f"{obj.origin} → {obj.destination}"

    @admin.display(description="first contacted", ordering="first_contacted_at")
    def first_contacted(self, obj: AffectedCustomer) -> str:
        return station_time(obj.first_contacted_at, obj.incident)


@admin.register(Alert)
class AlertAdmin(StationClockAdminMixin, ActionsOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("kind", "incident_link", "message", "raised", "notified", "acknowledged_by", "resolved")
    station_lookup = "incident__stations"
    list_filter = (("resolved_at", admin.EmptyFieldListFilter), "kind")
    list_select_related = ("incident", "acknowledged_by")
    ordering = ("resolved_at", "-raised_at")  # open alerts first
    actions = ("acknowledge",)
    readonly_fields = (
        "kind",
        "key",
        "incident",
        "message",
        "raised_at",
        "notified_at",
        "resolved_at",
        "acknowledged_by",
        "acknowledged_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="incident", ordering="incident__reference")
    def incident_link(self, obj: Alert) -> str:
        return admin_link(obj.incident, obj.incident.reference) if obj.incident else "—"

    @admin.display(description="raised", ordering="raised_at")
    def raised(self, obj: Alert) -> str:
        return station_time(obj.raised_at, obj.incident)

    @admin.display(description="notified", ordering="notified_at")
    def notified(self, obj: Alert) -> str:
        return station_time(obj.notified_at, obj.incident)

    @admin.display(description="resolved", ordering="resolved_at")
    def resolved(self, obj: Alert) -> str:
        return station_time(obj.resolved_at, obj.incident)

    @admin.action(description="Acknowledge: I am on it", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        count = alert_acknowledge(alert_ids=list(queryset.values_list("pk", flat=True)), actor=request_actor(request))
        messages.success(request, f"Acknowledged {count} alert(s).")


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("name", "started_at", "duration", "counts_display", "errors_display")
    list_filter = ("name",)
    ordering = ("-started_at", "-id")
    readonly_fields = ("name", "started_at", "finished_at", "counts", "errors")

    @admin.display(description="duration")
    def duration(self, obj: SweepRun) -> str:
        return "running" if obj.duration_ms is None else f"{obj.duration_ms:,} ms"

    @admin.display(description="did")
    def counts_display(self, obj: SweepRun) -> str:
        return ", ".join(f"{key}: {value:,}" for key, value in (obj.counts or {}).items() if value) or "nothing due"

    @admin.display(description="errors")
    def errors_display(self, obj: SweepRun) -> str:
        errors = obj.errors or []
        return format_html('<span class="overdue">{}</span>', "; ".join(errors)) if errors else "—"
