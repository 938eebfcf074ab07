"""One error body for every 4xx: ``{"code": ..., "message": ..., "errors": {field: [messages]}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from care.errors import DomainError


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [str(item) for entry in detail for item in _flatten(entry)]
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    return [str(detail)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        # A refusal of the domain (wrong state, already done): the request was understood, the state says no.
        return Response({"code": "conflict", "message": str(exc), "errors": {}}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        errors: dict[str, list[str]] = {}
        if isinstance(detail, dict):
            errors = {str(field): _flatten(messages) for field, messages in detail.items()}
        else:
            errors = {"non_field_errors": _flatten(detail)}
        first = next(iter(errors.values()), ["Invalid input."])
        message = first[0] if len(errors) == 1 and len(first) == 1 else "The request has invalid fields."
        body = {"code": "invalid", "message": message, "errors": errors}
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = {"code": str(code), "message": " ".join(_flatten(detail)), "errors": {}}
    response.data = body
    return response
