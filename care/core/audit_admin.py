"""The audit log in the workbench: read-only, for coordinators (the view permission of their role)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from care.core.admin_base import ReadOnlyAdminMixin, WorkbenchAdmin
from care.core.audit import AUDIT_ACTIONS, AuditEntry
from care.core.station_time import station_time

SUMMARY_FIELDS = 4  # fields shown in the list; the entry's page shows every one
SUMMARY_VALUE = 60  # characters of each old and new value shown in the list
# A moment as the log stores it (care.core.audit.plain): ISO 8601 with its offset, always UTC.
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")


def shown(value: Any) -> str:
    """A stored value as a coordinator reads it: a moment in UTC, saying so ("10 Jun 2026, 15:31:00 UTC"; the log
    spans stations, so it keeps one clock), lists and objects item by item, and "—" for nothing."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        return station_time(dt.datetime.fromisoformat(value), None, seconds=True)
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shown(item)}" for key, item in value.items()) + "}"
    return str(value)


def _short(value: Any) -> str:
    text = shown(value)
    return text if len(text) <= SUMMARY_VALUE else text[: SUMMARY_VALUE - 1] + "…"


def _pairs(changes: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    rows = []
    for name, pair in changes.items():
        match pair:
            case [old, new]:
                pass
            case _:
                old, new = None, pair
        rows.append((name, old, new))
    return rows


def changes_summary(changes: dict[str, Any]) -> str:
    """ "field: old → new; …" for the first few fields that changed."""
    parts = [f"{name}: {_short(old)} → {_short(new)}" for name, old, new in _pairs(changes)[:SUMMARY_FIELDS]]
    more = len(changes) - SUMMARY_FIELDS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def details_summary(details: dict[str, Any]) -> str:
    parts = [f"{name}: {_short(value)}" for name, value in list(details.items())[:SUMMARY_FIELDS]]
    return "; ".join(parts)


class ActionFilter(admin.SimpleListFilter):
    """By action, from a fixed list of the actions seen (no distinct scan over the whole log per page)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        families = sorted({action.split(".")[0] for action in AUDIT_ACTIONS})
        return [(family, f"{family} (all)") for family in families] + [(action, action) for action in AUDIT_ACTIONS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        if not value:
            return queryset
        # "voucher" selects every voucher action; "voucher.void" just that one.
        return queryset.filter(Q(action=value) | Q(action__startswith=f"{value}."))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("at", "who", "action", "target_display", "changes_display")
    list_select_related = ("actor",)
    list_filter = (ActionFilter, ("at", admin.DateFieldListFilter))
    search_fields = ("=target_id",)  # enables the search box; search_conditions does the work
    search_help_text = "The id of what was changed (an incident, voucher, letter …), or app.model:id."
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    # Every change and detail in full, its moments told in UTC with the zone rather than as stored ISO text.
    fields = ("at", "actor", "actor_label", "action", "target_type", "target_id", "all_changes", "all_details", "note")
    readonly_fields = fields

    def search_conditions(self, term: str) -> list[Q]:
        # Each served by the (target_type, target_id, at) index or by the id alone.
        if ":" in term:
            target_type, _, target_id = term.partition(":")
            return [Q(target_type=target_type.strip().lower(), target_id=target_id.strip())]
        return [Q(target_id=term)]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("care.view_auditentry")

    @admin.display(description="who", ordering="actor_label")
    def who(self, obj: AuditEntry) -> str:
        return obj.actor_label or (str(obj.actor) if obj.actor_id else "system")

    @admin.display(description="target")
    def target_display(self, obj: AuditEntry) -> str:
        return obj.target or "—"

    @admin.display(description="changes")
    def all_changes(self, obj: AuditEntry) -> str:
        rows = [(name, shown(old), shown(new)) for name, old, new in _pairs(obj.changes or {})]
        return format_html_join(mark_safe("<br>"), "{}: {} → {}", rows) or "—"

    @admin.display(description="details")
    def all_details(self, obj: AuditEntry) -> str:
        rows = [(name, shown(value)) for name, value in (obj.details or {}).items()]
        return format_html_join(mark_safe("<br>"), "{}: {}", rows) or "—"

    @admin.display(description="changes")
    def changes_display(self, obj: AuditEntry) -> str:
        summary = changes_summary(obj.changes or {}) or details_summary(obj.details or {})
        return format_html("<span>{}</span>", summary or "—")
