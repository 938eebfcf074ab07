"""The flight status feed: ``POST /api/v1/flight-events/`` takes a batch of events (incidents.flight_feed).

For the operations system's token with the ``flights`` scope (or a coordinator signed in); a rep may not post.
The answer is 200 with each event's outcome (applied, stale, duplicate, rejected) and the counts: a rejected
event is reported, not fatal, like the ingest's rows.
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
from incidents.flight_feed import BATCH_MAX, flight_events_apply, outcome_counts
from incidents.flight_models import EventOutcome, FlightStatus, FlightStatusEvent
from incidents.flight_validate import KEY_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS, TIME_FIELDS

# About 1 KB an event at most in practice; a body past this is refused before it is parsed.


class FlightEventResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The event's position in the batch, from 0.")
    event_id = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(choices=EventOutcome.choices)
    reason = serializers.CharField(allow_blank=True, help_text="Why it was rejected, stale or a duplicate.")


class FlightEventCountsSerializer(serializers.Serializer[Any]):
    applied = serializers.IntegerField()
    stale = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()


class FlightEventsAnswerSerializer(serializers.Serializer[Any]):
    counts = FlightEventCountsSerializer()
    results = FlightEventResultSerializer(many=True)


def _event_schema() -> dict[str, Any]:
    # OpenAPI 3.0, as drf-spectacular writes it: "nullable", not a list of types.
    time = {"type": "string", "nullable": True, "format": "date-time", "description": "ISO 8601 with its UTC offset."}
    properties: dict[str, Any] = {
        "event_id": {"type": "string", "maxLength": 100, "description": "Unique per sender; a repeat is a duplicate."},
        "occurred_at": {**time, "nullable": False, "description": "The event's own time; orders the events."},
        "carrier": {"type": "string", "description": "IATA airline code, e.g. B6."},
        "flight_number": {"type": "string", "description": "1 to 4 digits."},
        "flight_date": {"type": "string", "format": "date", "description": "The scheduled local date."},
        "origin": {"type": "string", "description": "IATA airport code."},
        "status": {"type": "string", "enum": FlightStatus.values},
        "destination": {"type": "string", "nullable": True},
        "diverted_to": {"type": "string", "nullable": True},
        "delay_minutes": {"type": "integer", "minimum": 0, "description": "Used when no times give the delay."},
        **dict.fromkeys(TIME_FIELDS, time),
    }
    assert set(properties) == {*REQUIRED_FIELDS, *OPTIONAL_FIELDS, *KEY_FIELDS}
    event = {"type": "object", "properties": properties, "required": list(REQUIRED_FIELDS)}
    events = {
        "type": "array",
        "minItems": 1,
        "maxItems": BATCH_MAX,
        # An item that is not such an event does not refuse the batch: it is a rejected event of the answer.
        "items": {"anyOf": [event, {}]},
    }
    return {
        "application/json": {
            "oneOf": [events, {"type": "object", "properties": {"events": events}, "required": ["events"]}],
            "description": f'A JSON array of events, or {{"events": [...]}}; at most {BATCH_MAX} events.',
        }
    }


class FlightEventsView(generics.GenericAPIView[FlightStatusEvent]):
    """Flight status events from the operations system, applied in one batch; each event's outcome.

    Idempotent by ``event_id`` (per token), ordered by ``occurred_at``: a repeat or an older event changes
    nothing. A change of a flight moves every one of its passengers and is audited.
    """

    queryset = FlightStatusEvent.objects.none()
    # The answer's shape (OPTIONS describes it); the body is the raw list of events of the schema below.
    serializer_class = FlightEventsAnswerSerializer
    parser_classes = (SafeJSONParser,)
    write_scope = "flights"
    session_write_perms = ["incidents.add_flightstatusevent"]
    pagination_class = None
    filter_backends = ()

    @extend_schema(
        request=_event_schema(),
        responses={
            200: OpenApiResponse(FlightEventsAnswerSerializer, description="Each event's outcome, and the counts."),
            400: OpenApiResponse(
                ApiErrorSerializer, description=f"A body that is not a list of 1 to {BATCH_MAX} events."
            ),
            413: OpenApiResponse(ApiErrorSerializer, description="A body over 10 MB."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        events = batch_items(request, name="events", limit=BATCH_MAX)
        actor = api_actor(request)
        results = flight_events_apply(events=events, source=str(actor)[:100], actor=actor)
        body = {
            "counts": outcome_counts(results),
            "results": [
                {"index": r.index, "event_id": r.event_id, "outcome": r.outcome, "reason": r.reason} for r in results
            ],
        }
        return Response(body)
