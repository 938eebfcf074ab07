"""The manifest (bookings, read-only: the reservation system writes them) and the detection rules coordinators
edit, in the workbench."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest

from care.core.actors import request_actor
from care.core.admin_base import ReadOnlyAdminMixin, WorkbenchAdmin, admin_link
from care.core.station_time import station_time
from care.customers.search import customers_matching, flight_from
from incidents.detection_rules import detection_rule_save
from incidents.models import Booking, DetectionRule, Flight


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("id", "customer_link", "flight_link", "flight_date", "booking_reference", "recorded")
    list_display_links = ("id",)
    list_select_related = ("customer", "flight")
    search_fields = ("=booking_reference",)  # enables the search box; search_conditions does the work
    search_help_text = "Booking reference, customer reference, email, phone or flight (e.g. UA 1545)."
    ordering = ("-id",)
    readonly_fields = ("flight", "customer", "booking_reference", "created_at")

    def search_conditions(self, term: str) -> list[Q]:
        conditions = [Q(booking_reference__iexact=term), Q(customer__in=customers_matching(term))]
        if flight := flight_from(term):
            conditions.append(Q(flight__in=Flight.objects.filter(carrier=flight[0], number=flight[1])))
        return conditions

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: Booking) -> str:
        return admin_link(obj.customer, obj.customer.name)

    @admin.display(description="flight")
    def flight_link(self, obj: Booking) -> str:
        return admin_link(obj.flight, f"{obj.flight.label} {obj.flight.origin} → {obj.flight.destination or '?'}")

    @admin.display(description="date", ordering="flight__date")
    def flight_date(self, obj: Booking) -> str:
        return f"{obj.flight.date:%d %b %Y}"

    @admin.display(description="recorded", ordering="created_at")
    def recorded(self, obj: Booking) -> str:
        return station_time(obj.created_at, obj.flight.origin)


@admin.register(DetectionRule)
class DetectionRuleAdmin(admin.ModelAdmin):
    list_display = (
        "station_display",
        "is_active",
        "window_minutes",
        "min_cancellations",
        "min_delayed",
        "delay_minutes",
        "auto_open_severity",
    )
    list_display_links = ("station_display",)
    list_filter = ("is_active",)
    ordering = ("station",)
    fieldsets = (
        (None, {"fields": ("station", "is_active")}),
        (
            "Draft an incident when, within the window…",
            {"fields": ("window_minutes", "min_cancellations", "min_delayed", "delay_minutes")},
        ),
        ("Open it without waiting for a coordinator", {"fields": ("auto_open_severity",)}),
    )

    def save_model(self, request: HttpRequest, obj: DetectionRule, form: Any, change: bool) -> None:
        detection_rule_save(rule=obj, fields=form.changed_data, actor=request_actor(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a station is switched off by unticking "watched", which the audit log keeps

    @admin.display(description="station", ordering="station")
    def station_display(self, obj: DetectionRule) -> str:
        return obj.station or "every other station (default)"
