"""The body of a batch endpoint (flight events, bookings): a JSON array, or an object holding it under its name.

Shared by incidents.api.flights and incidents.api.bookings, so both refuse the same way: a body over 10 MB is a 413
before it is parsed, anything but a non-empty list of at most ``limit`` items is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from incidents.api.affected import PayloadTooLarge

JSON_MAX_BYTES = 10 << 20


def content_length(request: Request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def batch_items(request: Request, *, name: str, limit: int) -> list[Any]:
    """The items of the batch (``[...]`` or ``{name: [...]}``), or the error that refuses the request."""
    if content_length(request) > JSON_MAX_BYTES:
        raise PayloadTooLarge(f"A body of {name} is limited to 10 MB; send smaller batches.")
    data = request.data
    items = data.get(name) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValidationError({name: [f'Send a non-empty JSON array of {name} (or {{"{name}": [...]}}).']})
    if len(items) > limit:
        # A 400 like the import's row limit (the schema's maxItems); 413 is for a body too big to parse.
        raise ValidationError({name: [f"At most {limit} {name} per request; send the rest in another."]})
    return items
