"""How the OpenAPI schema describes the API: the token scheme, and the answers every operation can give.

``ApiAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) adds to each operation the error answers it can really give,
each with the one error body (the ``ApiError`` component, see :mod:`care.core.api.errors`), from what the
view is: authenticated (401, 403), with query parameters or a body to refuse (400), with something to
look up (404: a path id, a pagination cursor, a ``format``), a write the domain can refuse (409), a body
whose media type may be wrong (415), throttled (429). An operation's own ``extend_schema`` responses (a
413, a 422) are kept. It also marks the optional query parameters that the server reads as absent when
they are sent empty (``?incident=&cursor=``, as a browser's filter form sends them) with
``allowEmptyValue``; a repeated (array) parameter is not marked, because an empty value is an invalid
choice there. Request bodies are described as JSON (the browsable API's forms are not the contract), and
a serializer that refuses unknown fields says so with ``additionalProperties: false``.

Imported by care.api_urls, before the schema is generated, so that the token scheme is registered.
"""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import SAFE_METHODS

from care.core.api.errors import ApiErrorSerializer
from care.core.api.input import JsonTypesMixin, StrictSerializerMixin

ERROR_MEDIA_TYPES = ["application/json"]
_MIXIN_DOCS = frozenset(inspect.cleandoc(mixin.__doc__ or "") for mixin in (JsonTypesMixin, StrictSerializerMixin))
_FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Query parameters no value of which is a 400: an unknown ordering is ignored, a bad cursor or format is a 404.
_NEVER_REFUSED = frozenset({"ordering", "cursor", "format"})

ERROR_DESCRIPTIONS = {
    400: "Invalid input: a field, filter, header or body the endpoint cannot accept; `errors` names each one.",
    401: "No credentials, or a token that is not valid, has expired or was revoked.",
    403: "The token lacks the scope, or the staff login the permission, for this.",
    404: "Nothing here: an unknown id, a pagination cursor that is not one of ours, or an unknown `format`.",
    409: "Understood, but the current state refuses it (e.g. a closed incident, a move its lifecycle forbids).",
    415: "The body's Content-Type is not one this endpoint reads.",
    429: "Too many requests of this kind from this client; wait and try again.",
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "care.core.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration token from the admin (API tokens), sent as `Authorization: Bearer pct_…`. "
            "Scopes: read (GET), ingest (incidents and affected customers), redeem (vouchers).",
        }


class ApiAutoSchema(AutoSchema):
    def map_parsers(self) -> list[Any]:
        media_types = super().map_parsers()
        if "application/json" in media_types:
            # The browsable API's HTML forms post these as well, but an integration sends JSON, and a form
            # cannot say null or nest a value: the JSON bodies are the ones described.
            media_types = [media_type for media_type in media_types if media_type not in _FORM_MEDIA_TYPES]
        return media_types

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        if schema.get("description") in _MIXIN_DOCS:
            del schema["description"]  # a mixin's docstring, not what the serializer is
        if direction == "request" and isinstance(serializer, StrictSerializerMixin):
            schema["additionalProperties"] = False  # an unknown field is refused, not ignored
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A raw schema given for a media type (the affected-customer files) is the whole body: it must be sent.
        return schema, required or isinstance(serializer, dict)

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if _read_as_absent_when_empty(parameter):
                parameter["allowEmptyValue"] = True
        responses: dict[str, Any] = operation["responses"]
        for status, description in self._error_statuses(operation).items():
            code = str(status)
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ApiErrorSerializer, description=description), code, ERROR_MEDIA_TYPES
                )
            elif not responses[code].get("description"):
                responses[code]["description"] = description
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> dict[int, str]:
        parameters = operation.get("parameters", [])
        writes = self.method not in SAFE_METHODS
        has_body = "requestBody" in operation
        statuses: list[int] = []
        if operation.get("security") and {} not in operation["security"]:
            statuses += [401, 403]
        if has_body or any(p["in"] in ("query", "header") and p["name"] not in _NEVER_REFUSED for p in parameters):
            statuses.append(400)
        if any(p["in"] == "path" or p["name"] in ("cursor", "format") for p in parameters):
            statuses.append(404)
        if writes:
            statuses.append(409)
        if has_body:
            statuses.append(415)
        if self.view.get_throttles():
            statuses.append(429)
        return {status: ERROR_DESCRIPTIONS[status] for status in statuses}


def _read_as_absent_when_empty(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    return parameter["in"] == "query" and not parameter.get("required") and schema.get("type") != "array"
