"""One error body for every 4xx: ``{"code": ..., "message": ..., "errors": {field: [messages]}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from care.core.errors import DomainError


class ApiErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx answer: what went wrong for a program (code), for a person (message), per field."""

    code = serializers.CharField(help_text="e.g. invalid, not_found, permission_denied, code_unknown, conflict")
    message = serializers.CharField(help_text="A sentence a person can read.")
    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors at run time.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The messages for each field, filter or header at fault; empty when none is.",
    )

    class Meta:
        ref_name = "ApiError"


def error_body(*, code: str, message: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or {}}


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


@csrf_exempt  # it changes nothing, and a POST to a wrong URL must get the 404, not the CSRF page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The answer to a URL under /api/ that names no endpoint: the error body, never Django's HTML page.

    Routed last under ``api/``, so every URL there resolves and CommonMiddleware's APPEND_SLASH no longer
    redirects; this does it instead for a GET or HEAD whose URL with a slash is an endpoint.
    """
    message = "There is no API endpoint at this URL."
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/") and _is_endpoint(f"{path}/"):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        message = f"There is no API endpoint at this URL; did you mean {path}/ (with the slash)?"
    return JsonResponse(error_body(code="not_found", message=message), status=status.HTTP_404_NOT_FOUND)


def _is_endpoint(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found
