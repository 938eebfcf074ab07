"""The page a person gets when django-axes has locked their login (``AXES_LOCKOUT_CALLABLE``).

axes' default answer is a bare sentence; this one says what happened, when the person may try again and who
can lift the lock sooner, in the look of the login page they used (the admin's or the frontline's), with 429
and ``Retry-After``. The lock is lifted at ``now + AXES_COOLOFF_TIME``: every attempt while locked is recorded
(``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT``), this one included, so the wait starts again from now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT_STATUS = 429


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    cool_off = get_cool_off(request) or timedelta(0)
    match = getattr(request, "resolver_match", None)
    on_admin = match is not None and match.namespace == admin.site.name
    context: dict[str, Any] = {
        "title": "Too many failed logins",
        "failure_limit": get_failure_limit(request, credentials),
        "retry_at": timezone.now() + cool_off,
        "cool_off_minutes": max(1, round(cool_off.total_seconds() / 60)),
    }
    if on_admin:
        context.update(admin.site.each_context(request))
    template = "admin/locked_out.html" if on_admin else "briefings/locked_out.html"
    response = render(request, template, context, status=LOCKED_OUT_STATUS)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
