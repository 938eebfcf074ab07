"""The manifest: ``POST /api/v1/flight-bookings/`` takes a batch of bookings (incidents.bookings).

For the operations system's token with the ``flights`` scope (or a coordinator signed in); a rep may not post.
The answer is 200 with each row's outcome (created, existing, rejected) and the counts: a rejected row is
reported, not fatal, like the ingest's rows.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.errors import ApiErrorSerializer
from care.core.api.input import SafeJSONParser, api_actor
from incidents.api.batches import batch_items
from incidents.bookings import BATCH_MAX, OPTIONAL_COLUMNS, OUTCOMES, REQUIRED_COLUMNS, bookings_record
from incidents.models import Booking

# A few hundred bytes a booking in practice; a body past this is refused before it is parsed.


class BookingResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The booking's position in the batch, from 0.")
    outcome = serializers.ChoiceField(choices=[(outcome, outcome) for outcome in OUTCOMES])
    reason = serializers.CharField(allow_blank=True, help_text="Why it was rejected, or that it was recorded before.")


class BookingCountsSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    rejected = serializers.IntegerField()
    customers_created = serializers.IntegerField()
    customers_updated = serializers.IntegerField()
    flights_created = serializers.IntegerField()
    affected_created = serializers.IntegerField(
        help_text="Passengers who joined an incident because their flight is part of it."
    )


class BookingsAnswerSerializer(serializers.Serializer[Any]):
    counts = BookingCountsSerializer()
    results = BookingResultSerializer(many=True)


def _booking_schema() -> dict[str, Any]:
    # OpenAPI 3.0, as drf-spectacular writes it: "nullable", not a list of types.
    text = {"type": "string", "nullable": True}
    properties: dict[str, Any] = {
        "customer_ref": {"type": "string", "description": "The customer's reference in the booking system."},
        "name": {"type": "string"},
        "carrier": {"type": "string", "description": "IATA airline code, e.g. B6."},
        "flight_number": {"type": "string", "description": "1 to 4 digits."},
        "flight_date": {"type": "string", "format": "date", "description": "The scheduled local date."},
        "origin": {"type": "string", "description": "IATA airport code."},
        "destination": {"type": "string", "description": "IATA airport code."},
        **dict.fromkeys(("preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier"), text),
        "scheduled_departure": {**text, "description": "ISO 8601; without an offset, the origin's local time."},
        "booking_reference": {**text, "description": "5 to 8 letters and digits."},
    }
    assert set(properties) == {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS}
    booking = {"type": "object", "properties": properties, "required": list(REQUIRED_COLUMNS)}
    bookings = {
        "type": "array",
        "minItems": 1,
        "maxItems": BATCH_MAX,
        # An item that is not such a booking does not refuse the batch: it is a rejected row of the answer.
        "items": {"anyOf": [booking, {}]},
    }
    return {
        "application/json": {
            "oneOf": [bookings, {"type": "object", "properties": {"bookings": bookings}, "required": ["bookings"]}],
            "description": f'A JSON array of bookings, or {{"bookings": [...]}}; at most {BATCH_MAX} bookings.',
        }
    }


class FlightBookingsView(generics.GenericAPIView[Booking]):
    """Bookings from the reservation system (who is booked on which flight), recorded in one batch; each row's
    outcome.

    The fields of a row are those of the affected-customers import without the impact (FORMAT.md). Idempotent:
    a booking already recorded changes nothing. A booking on a flight already part of a draft or active incident
    joins that incident at once, with the flight's current impact.
    """

    queryset = Booking.objects.none()
    # The answer's shape (OPTIONS describes it); the body is the raw list of bookings of the schema below.
    serializer_class = BookingsAnswerSerializer
    parser_classes = (SafeJSONParser,)
    write_scope = "flights"
    session_write_perms = ["incidents.add_booking"]
    pagination_class = None
    filter_backends = ()

    @extend_schema(
        request=_booking_schema(),
        responses={
            200: OpenApiResponse(BookingsAnswerSerializer, description="Each booking's outcome, and the counts."),
            400: OpenApiResponse(
                ApiErrorSerializer, description=f"A body that is not a list of 1 to {BATCH_MAX} bookings."
            ),
            413: OpenApiResponse(ApiErrorSerializer, description="A body over 10 MB."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = batch_items(request, name="bookings", limit=BATCH_MAX)
        actor = api_actor(request)
        result = bookings_record(rows=rows, source=str(actor)[:100], actor=actor)
        body = {
            "counts": result.counts,
            "results": [{"index": r.index, "outcome": r.outcome, "reason": r.reason} for r in result.results],
        }
        return Response(body)
