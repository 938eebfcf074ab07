"""The frontline pages under /briefings/: the board, a briefing, customer search and the one-customer view.

Only active users in "Frontline reps" or "Coordinators" (or superusers) get in: anonymous visitors go to the
login page, anyone else gets 403. The views parse input, call selectors and services, and render.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from care.briefings import selectors
from care.briefings.forms import ContactNoteForm, CustomerSearchForm
from care.briefings.services import briefing_mark_read, contact_note_add, customer_page_view_record
from care.core.actors import request_actor
from care.core.errors import DomainError
from care.core.roles import COORDINATORS, FRONTLINE_REPS
from care.correspondence.reach import incident_reach
from incidents.models import Incident

logger = logging.getLogger(__name__)

# How often open boards and briefings ask for fresh news; settings.BRIEFINGS_REFRESH_SECONDS overrides it.
REFRESH_SECONDS = 15

View = Callable[..., HttpResponse]


def frontline_required(view: View) -> View:
    """Anonymous → login page; a user in neither role → 403. Sets ``request.frontline_roles``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("briefings:login"))
        roles = set(user.groups.filter(name__in=(COORDINATORS, FRONTLINE_REPS)).values_list("name", flat=True))
        if user.is_superuser:
            roles.add(COORDINATORS)
        if not user.is_active or not roles:
            raise PermissionDenied("The frontline pages are for frontline reps and coordinators.")
        request.frontline_roles = roles  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _is_coordinator(request: HttpRequest) -> bool:
    return COORDINATORS in getattr(request, "frontline_roles", set())


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "is_coordinator": _is_coordinator(request),
        "refresh_seconds": getattr(settings, "BRIEFINGS_REFRESH_SECONDS", REFRESH_SECONDS),
        "now": timezone.now(),
        **extra,
    }


def _signature(*parts: object) -> str:
    """A short fingerprint of what a fragment shows, so the page can tell the reader when something changed."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class LoginView(auth_views.LoginView):
    template_name = "briefings/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("briefings:board")


class LogoutView(auth_views.LogoutView):
    next_page = "briefings:login"


# --- Board ---------------------------------------------------------------------------------------------------


def _board_context(request: HttpRequest) -> dict[str, Any]:
    incidents = selectors.board_incidents(user=request.user)
    signature = _signature(
        [(i.pk, i.status, i.severity, i.affected_count, i.contacted_count, i.next_update_due_at) for i in incidents]
        + [(getattr(i, "last_update_at", None), getattr(i, "latest_version", None)) for i in incidents]
    )
    return _context(request, incidents=incidents, signature=signature)


@require_GET
@frontline_required
def board(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "briefings/board.html", _board_context(request))


@require_GET
@frontline_required
def board_fragment(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "briefings/_board_rows.html", _board_context(request))


# --- Briefing ------------------------------------------------------------------------------------------------


def _incident_or_404(reference: str) -> Incident:
    incident = selectors.incident_for_frontline(reference)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _live_context(request: HttpRequest, incident: Incident, shown_version: int | None) -> dict[str, Any]:
    timeline = selectors.incident_timeline(incident=incident)
    latest_version = selectors.latest_published_version(incident=incident)
    reach = incident_reach(incident_id=incident.pk)
    signature = _signature(
        incident.status,
        incident.next_update_due_at,
        incident.affected_count,
        incident.contacted_count,
        [update.pk for update in timeline],
        latest_version,
        [(row.channel, row.counts) for row in reach],
    )
    return _context(
        request,
        incident=incident,
        timeline=timeline,
        reach=reach,
        latest_version=latest_version,
        shown_version=shown_version,
        newer_version=latest_version is not None and latest_version != shown_version,
        signature=signature,
    )


@require_GET
@frontline_required
def briefing(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident_or_404(reference)
    page = selectors.briefing_page(incident=incident, user=request.user, with_readers=_is_coordinator(request))
    if page.briefing is not None:
        briefing_mark_read(briefing=page.briefing, user=request_actor(request))
    shown_version = page.briefing.version if page.briefing else None
    context = _live_context(request, incident, shown_version)
    return TemplateResponse(request, "briefings/briefing.html", {**context, "page": page})


@require_GET
@frontline_required
def briefing_live(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident_or_404(reference)
    raw_version = request.GET.get("version", "")
    shown_version = int(raw_version) if raw_version.isdigit() else None
    return TemplateResponse(request, "briefings/_briefing_live.html", _live_context(request, incident, shown_version))


# --- Customers -----------------------------------------------------------------------------------------------


@require_GET
@frontline_required
def customer_search(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET or None)
    result = None
    if form.is_bound and form.is_valid() and form.cleaned_data["q"].strip():
        result = selectors.customer_search(form.cleaned_data["q"])
        if len(result.customers) == 1 and request.GET.get("go") != "list":
            # One match is the usual case on a call: straight to the customer.
            return redirect("briefings:customer", pk=result.customers[0].pk)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return TemplateResponse(
        request, "briefings/customer_search.html", _context(request, form=form, result=result), status=status
    )


def _customer_page(request: HttpRequest, pk: int, note_form: ContactNoteForm | None, status: int = 200) -> HttpResponse:
    overview = selectors.customer_overview(customer_id=pk)
    if overview is None:
        raise Http404("No such customer.")
    customer_page_view_record(customer_id=pk, viewer=request_actor(request))
    incidents = [row.affected.incident for row in overview.affected]
    can_add_note = request.user.has_perm("care.add_contactnote")
    if note_form is None and can_add_note:
        note_form = ContactNoteForm(incidents=incidents)
    context = _context(request, overview=overview, note_form=note_form, can_add_note=can_add_note)
    return TemplateResponse(request, "briefings/customer.html", context, status=status)


@require_GET
@frontline_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _customer_page(request, pk, None)


@require_http_methods(["POST"])
@frontline_required
def contact_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("care.add_contactnote"):
        raise PermissionDenied("You cannot add contact notes.")
    incidents = list(Incident.objects.filter(affected__customer_id=pk).distinct())
    form = ContactNoteForm(request.POST, incidents=incidents)
    if form.is_valid():
        try:
            contact_note_add(
                customer_id=pk,
                author=request_actor(request),
                text=form.cleaned_data["text"],
                promise=form.cleaned_data["promise"],
                promised_by=form.cleaned_data["promised_by"],
                incident_id=form.cleaned_data["incident"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Contact note saved; coordinators can see it.")
            return redirect(reverse("briefings:customer", kwargs={"pk": pk}) + "#notes")
    return _customer_page(request, pk, form, status=400)
