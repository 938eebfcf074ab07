"""The local SMS outbox in the admin: read what was "sent", and simulate the provider's delivery or failure."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from care.core.admin_base import ReadOnlyAdminMixin, WorkbenchAdmin
from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage, SmsStatus
from care.correspondence.sms.backends import OutboxSmsBackend
from care.correspondence.sms.tracking import sms_outbox_simulate

OUTBOX_BACKEND = f"{OutboxSmsBackend.__module__}.{OutboxSmsBackend.__qualname__}"
# One click simulates events for at most this many messages.
SIMULATE_LIMIT = 500


@admin.register(SmsOutboxMessage)
class SmsOutboxMessageAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("to", "status", "created_at", "letter_link")
    list_filter = ("status",)
    search_fields = ("=provider_id",)  # enables the search box; search_conditions does the work
    search_help_text = "The exact message id or phone number (E.164)."
    ordering = ("-id",)
    actions = ("simulate_delivered", "simulate_failed")
    fields = ("provider_id", "created_at", "to", "status", "letter", "body")
    readonly_fields = fields

    def search_conditions(self, term: str) -> list[Q]:
        return [Q(provider_id=term), Q(to=term)]

    def has_simulate_permission(self, request: HttpRequest) -> bool:
        # Simulated statuses stand for the provider's: only for coordinators, and only while the outbox is
        # the backend (with a real provider, its own callbacks are the truth).
        return settings.SMS_BACKEND == OUTBOX_BACKEND and request.user.has_perm("care.change_letter")

    @admin.display(description="letter")
    def letter_link(self, obj: SmsOutboxMessage) -> str:
        if obj.letter_id is None:
            return "—"
        url = reverse("admin:care_letter_change", args=[obj.letter_id])
        return format_html('<a href="{}">L-{}</a>', url, obj.letter_id)

    def _simulate(self, request: HttpRequest, queryset: QuerySet[SmsOutboxMessage], *, status: str) -> None:
        chosen = list(queryset.order_by("pk").values_list("pk", flat=True)[: SIMULATE_LIMIT + 1])
        if len(chosen) > SIMULATE_LIMIT:
            messages.error(request, f"Select at most {SIMULATE_LIMIT} messages at a time.")
            return
        moved = sms_outbox_simulate(message_ids=chosen, status=status, at=timezone.now())
        messages.success(request, f"{moved} of {len(chosen)} messages are now {status} (simulated).")

    @admin.action(description="Simulate delivered", permissions=["simulate"])
    def simulate_delivered(self, request: HttpRequest, queryset: QuerySet[SmsOutboxMessage]) -> None:
        self._simulate(request, queryset, status=SmsStatus.DELIVERED)

    @admin.action(description="Simulate failed", permissions=["simulate"])
    def simulate_failed(self, request: HttpRequest, queryset: QuerySet[SmsOutboxMessage]) -> None:
        self._simulate(request, queryset, status=SmsStatus.FAILED)


@admin.register(SmsEvent)
class SmsEventAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("provider_id", "status", "error_code", "received_at")
    list_filter = ("status",)
    search_fields = ("=provider_id",)
    search_help_text = "The exact message id."
    ordering = ("-id",)
