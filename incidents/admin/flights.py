"""Flights and the status events the feed received, in the workbench: read-only (the feed writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from care.core.admin_base import ReadOnlyAdminMixin, WorkbenchAdmin, admin_link
from care.core.station_time import station_time
from incidents.models import AffectedCustomer, Flight, FlightStatusEvent


@admin.register(Flight)
class FlightAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("flight", "date", "route", "status", "delay_minutes", "diverted_to", "passengers", "last_event")
    list_filter = ("status", "date", "origin")
    search_fields = ("=number", "=carrier", "=origin")
    ordering = ("-date", "carrier", "number")
    readonly_fields = tuple(field.name for field in Flight._meta.fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flight]:
        # Counted per row of the page (a correlated subquery on the passengers' flight index), not by grouping
        # the whole table: the changelist stays fast at millions of passengers.
        passengers = (
            AffectedCustomer.objects.filter(flight=OuterRef("pk"))
            .order_by()
            .values("flight")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(passenger_count=Coalesce(Subquery(passengers, output_field=IntegerField()), 0))
        )

    @admin.display(description="flight", ordering="number")
    def flight(self, obj: Flight) -> str:
        return obj.label

    @admin.display(description="route")
    def route(self, obj: Flight) -> str:
        return f"{obj.origin} → {obj.destination or '?'}"

    @admin.display(description="passengers")
    def passengers(self, obj: Flight) -> int:
        return int(getattr(obj, "passenger_count", 0))

    @admin.display(description="last event", ordering="last_event_at")
    def last_event(self, obj: Flight) -> str:
        if obj.last_event_at is None:
            return "—"
        return f"{obj.last_event_id} at {station_time(obj.last_event_at, obj.origin)}"


@admin.register(FlightStatusEvent)
class FlightStatusEventAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("event_id", "source", "flight_link", "status", "occurred", "received", "outcome", "reason")
    list_filter = ("outcome", "status", "source")
    list_select_related = ("flight",)
    search_fields = ("=event_id",)
    ordering = ("-received_at", "-id")
    readonly_fields = tuple(field.name for field in FlightStatusEvent._meta.fields)

    @admin.display(description="flight")
    def flight_link(self, obj: FlightStatusEvent) -> str:
        if obj.flight is None:
            return f"{obj.carrier} {obj.flight_number}".strip() or "—"
        return admin_link(obj.flight, str(obj.flight))

    @admin.display(description="occurred", ordering="occurred_at")
    def occurred(self, obj: FlightStatusEvent) -> str:
        return station_time(obj.occurred_at, obj.origin or None)

    @admin.display(description="received", ordering="received_at")
    def received(self, obj: FlightStatusEvent) -> str:
        return station_time(obj.received_at, obj.origin or None)
