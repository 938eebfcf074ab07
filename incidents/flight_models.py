"""Flights as facts of their own, and the status events the operations system sends about them.

A flight is one row (carrier, number, scheduled local date, origin); its passengers' affected rows point at it
(``AffectedCustomer.flight``) and keep a copy of its impact, which the status feed (incidents.flight_feed)
writes through when the flight changes. Defined here, beside incidents.models (which imports them so Django
registers them), so that neither module passes the size limit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class FlightStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DELAYED = "delayed", "Delayed"
    CANCELLED = "cancelled", "Cancelled"
    DIVERTED = "diverted", "Diverted"
    DEPARTED = "departed", "Departed"
    ARRIVED = "arrived", "Arrived"


class Flight(models.Model):
    """One flight on one day; the source of truth for its status, delay and diversion."""

    carrier = models.CharField(max_length=3)
    number = models.CharField(max_length=5)
    date = models.DateField(help_text="The scheduled local date of departure.")
    origin = models.CharField(max_length=3)
    destination = models.CharField(max_length=3, blank=True)
    scheduled_departure_at = models.DateTimeField(null=True, blank=True)
    estimated_departure_at = models.DateTimeField(null=True, blank=True)
    actual_departure_at = models.DateTimeField(null=True, blank=True)
    scheduled_arrival_at = models.DateTimeField(null=True, blank=True)
    estimated_arrival_at = models.DateTimeField(null=True, blank=True)
    actual_arrival_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=FlightStatus.choices, default=FlightStatus.SCHEDULED)
    diverted_to = models.CharField(max_length=3, blank=True)
    # Derived by incidents.flights.derived_delay from the estimated or actual departure against the schedule.
    delay_minutes = models.PositiveIntegerField(default=0)
    # The newest applied event (its own timestamp, then source and id to break ties): an event ordered before it
    # is stale and changes nothing, whenever it arrives.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_source = models.CharField(max_length=100, blank=True)
    last_event_id = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-date", "carrier", "number", "origin")
        constraints = [
            models.UniqueConstraint(fields=["carrier", "number", "date", "origin"], name="flight_unique_key"),
            models.CheckConstraint(condition=Q(status__in=FlightStatus.values), name="flight_status_valid"),
        ]
        indexes = [models.Index(fields=["date", "origin", "status"], name="flight_date_origin_status_idx")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.number} {self.origin} on {self.date:%d %b %Y}"

    @property
    def label(self) -> str:
        return f"{self.carrier} {self.number}"


class EventOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Stale (older than the flight's last event)"
    DUPLICATE = "duplicate", "Duplicate (already received)"
    REJECTED = "rejected", "Rejected"


class FlightStatusEvent(models.Model):
    """One status event as the operations system sent it, and what the feed did with it.

    Idempotent by (source, event_id): the first copy of an event is applied or stale; a later copy is recorded as
    a duplicate and changes nothing, and a rejected one may be sent again corrected under the same id.
    """

    source = models.CharField(max_length=100, help_text="Who sent it: the API token's name, or the command.")
    event_id = models.CharField(max_length=100, blank=True)
    carrier = models.CharField(max_length=3, blank=True)
    flight_number = models.CharField(max_length=5, blank=True)
    flight_date = models.DateField(null=True, blank=True)
    origin = models.CharField(max_length=3, blank=True)
    flight = models.ForeignKey(Flight, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField(null=True, blank=True, help_text="The event's own timestamp.")
    status = models.CharField(max_length=10, choices=FlightStatus.choices, blank=True)
    # The fields the event carried, as given (times in ISO 8601), for the coordinator to read.
    fields = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=EventOutcome.choices)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = "flight status event"
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=Q(outcome__in=("applied", "stale")),
                name="flight_event_once_per_source",
            ),
            models.CheckConstraint(condition=Q(outcome__in=EventOutcome.values), name="flight_event_outcome_valid"),
        ]
        indexes = [
            models.Index(fields=["flight", "-occurred_at"], name="flight_event_flight_idx"),
            models.Index(fields=["outcome", "-received_at"], name="flight_event_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} event {self.event_id or '(no id)'}: {self.outcome}"
