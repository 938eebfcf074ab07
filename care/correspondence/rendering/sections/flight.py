"""The flight section: the customer's flight, its stations, and its departure in the station's time and theirs."""

from __future__ import annotations

from typing import Any

from care.core.station_time import zone_named
from care.core.stations import station
from care.correspondence.phrases import phrases_for
from care.correspondence.rendering.formatting import (
    LetterFormats,
    date_text,
    moment_text,
    time_text,
    zone_abbreviation,
)
from incidents.models import AffectedCustomer


def flight_section(affected: AffectedCustomer, *, formats: LetterFormats) -> dict[str, Any]:
    """The departure is told in the station's local time, and in the customer's as well when their zone's
    offset differs (a Parisian reading about a Newark departure); without a departure time those keys are ""."""
    language, customer_zone = formats.language, formats.zone
    origin, destination = station(affected.origin), station(affected.destination)
    # A station whose zone is unknown is told in the customer's zone rather than in none.
    origin_zone = zone_named(origin.time_zone) or customer_zone
    flight: dict[str, Any] = {
        "label": affected.flight_label.strip(),
        "carrier": affected.carrier,
        "number": affected.flight_number,
        "date": formats.date(affected.flight_date),
        "origin": affected.origin,
        "origin_name": origin.city,
        "origin_airport": origin.airport,
        "destination": affected.destination,
        "destination_name": destination.city,
        "destination_airport": destination.airport,
        "booking_reference": affected.booking_reference,
        "departure_local": "",
        "departure_customer_time": "",
        "departure_customer_date": "",
        "departure_customer": "",
        "departure_text": "",
    }
    if affected.scheduled_departure_at is None:
        return flight
    phrases = phrases_for(language)
    at_station = affected.scheduled_departure_at.astimezone(origin_zone)
    for_customer = affected.scheduled_departure_at.astimezone(customer_zone)
    flight["departure_local"] = time_text(at_station, language)
    flight["departure_customer_time"] = f"{time_text(for_customer, language)} {zone_abbreviation(for_customer)}"
    flight["departure_customer_date"] = date_text(for_customer.date(), language)
    flight["departure_customer"] = moment_text(for_customer, customer_zone, language)
    if at_station.utcoffset() == for_customer.utcoffset():
        flight["departure_text"] = phrases.clock.format(
            time=flight["departure_local"], zone=zone_abbreviation(at_station)
        )
    else:
        flight["departure_text"] = phrases.two_zones.format(
            local=flight["departure_local"],
            time=time_text(for_customer, language),
            zone=zone_abbreviation(for_customer),
        )
    return flight
