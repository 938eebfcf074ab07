"""Bookings (who is booked on which flight, known before anything goes wrong: the manifest) and the flights an
incident covers.

A booking is a customer on a flight (unique per flight and customer), recorded by incidents.bookings from the
reservation system. When flights join an incident (``IncidentFlight``, written by
``incidents.bookings.incident_flights_add``: detection, care.operations.detection), their bookings become the
incident's affected rows, and a booking recorded later on one of those flights joins the incident at once. Defined
here, beside incidents.models (which imports them so Django registers them), like the flights.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from incidents.flight_models import Flight


class Booking(models.Model):
    # No index of its own: the unique (flight, customer) below starts with the flight.
    flight = models.ForeignKey(Flight, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="bookings")
    booking_reference = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["flight", "customer"], name="booking_unique_customer_per_flight"),
        ]
        indexes = [models.Index(Upper("booking_reference"), name="booking_reference_upper_idx")]

    def __str__(self) -> str:
        return f"Booking {self.booking_reference or self.pk} on flight {self.flight_id}"


class IncidentFlight(models.Model):
    """A flight that is part of an incident, whether or not anyone is booked on it yet.

    The affected rows say who was on the incident's flights; this says which flights it covers, so that a
    disrupted flight with no bookings recorded yet still belongs to its incident (its bookings join it when they
    come), and detection knows which station and day an incident covers.
    """

    # No index of its own: the unique (incident, flight) below starts with the incident.
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="flight_links", db_index=False
    )
    flight = models.ForeignKey(Flight, on_delete=models.PROTECT, related_name="incident_links")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "flight of an incident"
        verbose_name_plural = "flights of incidents"
        constraints = [models.UniqueConstraint(fields=["incident", "flight"], name="incident_flight_once")]

    def __str__(self) -> str:
        return f"Flight {self.flight_id} of incident {self.incident_id}"
