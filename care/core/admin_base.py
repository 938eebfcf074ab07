"""Admin plumbing shared by the three apps' workbenches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from care.core.errors import DomainError
from care.core.station_time import clock_of, station_time

# Up to this many rows a changelist shows the exact count; beyond it, on PostgreSQL,
# the planner's estimate, so that no page load counts a million rows.
EXACT_COUNT_LIMIT = 10_000
# An indexed search term never yields more rows than this to the changelist.
SEARCH_LIMIT = 5_000


def _planner_estimate(queryset: QuerySet[Any]) -> int:
    if not queryset.query.where:
        sql, params = "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return int(row[0]) if row else 0
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows, then (on PostgreSQL) trusts the planner's estimate."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connection.vendor != "postgresql" or not isinstance(queryset, QuerySet):
            return super().count
        capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        return max(capped, _planner_estimate(queryset))


class WorkbenchAdmin(admin.ModelAdmin):
    """A ModelAdmin for big tables, whose actions refuse (403) users without the permission.

    Django drops actions a user may not run from the menu, and a forged POST of
    one merely reports "no action selected"; a frontline rep should get a plain
    403 instead, so that the refusal is explicit and testable.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def search_conditions(self, term: str) -> list[Q]:
        """Conditions that each match ``term`` through one index; empty means Django's own search."""
        return []

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Django ORs every search field into one WHERE, across joins, which no index can serve:
        # at a million rows that is a sequential scan per keystroke. Each condition here runs on
        # its own index and the changelist shows the union of their (bounded) matches.
        term = search_term.strip()
        conditions = self.search_conditions(term) if term else []
        if not conditions:
            return super().get_search_results(request, queryset, search_term)
        manager = queryset.model._default_manager
        pks: set[int] = set()
        for condition in conditions:
            pks.update(manager.filter(condition).order_by().values_list("pk", flat=True)[:SEARCH_LIMIT])
        return queryset.filter(pk__in=pks), False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            known = {name for _func, name, _desc in self._get_base_actions()}  # type: ignore[attr-defined]
            if action in known:
                raise PermissionDenied
        return super().changelist_view(request, extra_context)


def run_service(request: HttpRequest, call: Callable[[], int], *, done: str) -> None:
    """Call a service from an admin action and report the outcome as a message."""
    try:
        count = call()
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(count=count))


def admin_link(obj: Any, label: str | None = None) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def changelist_link(model: Any, label: str, **filters: Any) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


def status_badge(value: str, label: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', value, label)


class StatusChangeInline(admin.TabularInline):
    """Read-only audit trail of a row's status changes, newest first."""

    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor", "actor_label", "note")
    readonly_fields = fields
    ordering = ("-at", "-id")
    verbose_name_plural = "status history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdminMixin:
    """A record nobody edits in the admin: it is written by the system and only read here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActionsOnlyAdminMixin:
    """A record a coordinator changes only through the admin's actions and buttons, each of which calls a service.

    Change permission is what lets a coordinator run the actions, but the change form itself must write
    nothing: Django's own save would rewrite the row with no audit entry. So the form has no Save buttons,
    and a posted form is refused.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied("This record changes only through its actions, which keep the audit log.")

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(  # type: ignore[misc]
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )


class StationClockAdminMixin:
    """A change form on the station's clock (care.core.station_time): its times are shown, and typed, in the zone
    of the row's station, and Django's formats say which zone (``config.formats``: "8 Feb 2013, 11:00 EST").

    ``station_lookup`` leads from the model to the station codes (``"incident__stations"``). The add form, and a
    row whose stations have no known zone, stay on UTC and say so. Changelists mix stations, so their columns
    format each row's times on its own clock instead (``station_clock_column``).
    """

    station_lookup = "stations"
    model: Any

    def station_codes(self, object_id: str | None) -> str:
        if not object_id or not str(object_id).isdigit():
            return ""
        rows = self.model._default_manager.filter(pk=object_id).values_list(self.station_lookup, flat=True)
        return rows.first() or ""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        with timezone.override(clock_of(self.station_codes(object_id)).zone):
            response = super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
            # A TemplateResponse renders after the view returns: render it on the station's clock, here.
            render = getattr(response, "render", None)
            if callable(render):
                render()
            return response


def station_clock_column(field: str, *, description: str, place: str = "incident") -> Callable[[Any, Any], str]:
    """A changelist column, or read-only field, telling the row's ``field`` on its incident's station clock with the
    zone ("10 Jun 2026, 13:21 EDT"), or in UTC, saying so, when the row has no incident or its station no zone.

    ``place`` is the dotted path from the row to what holds the stations ("incident", "affected.incident"; "" for
    an incident itself). A changelist mixes stations, so its times cannot follow one ``timezone.override`` as a
    change page's do (StationClockAdminMixin): put the path's relations in ``list_select_related``, so that no row
    costs a query of its own.
    """

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> str:
        holder = obj
        for name in filter(None, place.split(".")):
            holder = getattr(holder, name, None)
        return station_time(getattr(obj, field), holder)

    column.__name__ = f"{field}_on_the_stations_clock"
    return column


class CustomerIncidentColumns:
    """Linked customer and incident columns for rows that belong to both (letters, vouchers)."""

    @admin.display(description="customer", ordering="customer__name")
    def customer_link(self, obj: Any) -> str:
        return admin_link(obj.customer, obj.customer.name)

    @admin.display(description="incident", ordering="incident__reference")
    def incident_reference(self, obj: Any) -> str:
        return admin_link(obj.incident, obj.incident.reference) if obj.incident else "—"
