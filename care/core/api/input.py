"""Input handling every write endpoint shares: strict fields, model refusals as 400s, who is acting."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from care.core.actors import Actor, Person, SystemActor, request_actor
from care.core.api.models import ApiToken


def actor_of(request: Request) -> tuple[Person | None, str]:
    """The user for the audit trail, or (for a token) None and the token's name."""
    if isinstance(request.auth, ApiToken):
        return None, f"API token {request.auth.name}"[:100]
    user = request.user
    return (user if isinstance(user, Person) and user.pk is not None else None), ""


def api_actor(request: Request) -> Actor:
    """Who makes this API request: the integration (by its token's name), or the signed-in person."""
    if isinstance(request.auth, ApiToken):
        return SystemActor(f"API token {request.auth.name}"[:100])
    return request_actor(request)


@contextmanager
def model_errors_as_400() -> Iterator[None]:
    """A model's full_clean refusal becomes the API's 400 with field errors, never a 500."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(exc.message_dict) from exc
        raise ValidationError({"non_field_errors": exc.messages}) from exc


def _json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """Why a JSON value does not have the type the schema gives the field (None: it has), null aside."""
    if value is None or isinstance(field, serializers.DecimalField | serializers.MultipleChoiceField):
        return None  # a decimal is "25.00" or a number; a multiple choice is a list
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.IntegerField) or (
        isinstance(field, serializers.ChoiceField) and all(isinstance(key, int) for key in field.choices)
    ):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be a whole number."
    if isinstance(
        field, serializers.CharField | serializers.ChoiceField | serializers.DateTimeField | serializers.DateField
    ):
        return None if isinstance(value, str) else "Must be text (a JSON string)."
    return None


class JsonTypesMixin:
    """A JSON body's values must have the JSON type the schema gives them.

    DRF reads 5 as the text "5", "5" or 5.0 as the integer 5 and "yes" as true; the schema promises text,
    integers and booleans, so a value of another type is refused. A form body (the browsable API) is all
    text and is read as DRF reads it.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            fields: Mapping[str, serializers.Field[Any, Any, Any, Any]] = self.fields  # type: ignore[attr-defined]
            wrong = {
                name: [error]
                for name, field in fields.items()
                if name in data and not field.read_only and (error := _json_type_error(field, data[name]))
            }
            if wrong:
                raise ValidationError(wrong)
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializerMixin(JsonTypesMixin):
    """Refuse fields the endpoint does not know, instead of silently dropping a misspelt one."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields: Mapping[str, serializers.Field[Any, Any, Any, Any]] = self.fields  # type: ignore[attr-defined]
            writable = {name for name, field in fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise ValidationError({key[:64]: ["This field is not known here."] for key in unknown[:20]})
        return super().to_internal_value(data)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python can decode is a 400, not a RecursionError 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
