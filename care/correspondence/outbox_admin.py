"""The local outbox in the admin: read what was "sent", and simulate the ESP's tracking events for a demo."""

from __future__ import annotations

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from care.core.admin_base import ReadOnlyAdminMixin, WorkbenchAdmin
from care.correspondence.models.letters import OutboxMessage
from care.correspondence.outbox import OutboxEmailBackend

OUTBOX_BACKEND = f"{OutboxEmailBackend.__module__}.{OutboxEmailBackend.__qualname__}"
# One click simulates events for at most this many messages.
SIMULATE_LIMIT = 500


def simulated_event(message: OutboxMessage, *, event_type: str) -> AnymailTrackingEvent:
    """The tracking event an ESP would post for this message, as anymail would hand it to us.

    The event id is derived from the message and the event type, so a second click on the same
    message is a replay, stored once like any other.
    """
    bounce = event_type == EventType.BOUNCED
    return AnymailTrackingEvent(
        event_type=event_type,
        timestamp=timezone.now(),
        event_id=f"outbox-{event_type}-{message.message_id}",
        message_id=message.message_id,
        recipient=message.to,
        metadata=dict(message.metadata),
        tags=list(message.tags),
        reject_reason=RejectReason.BOUNCED if bounce else None,
        description="Simulated hard bounce: the mailbox does not exist." if bounce else "Simulated delivery.",
        mta_response="550 5.1.1 User unknown (simulated)" if bounce else "250 OK (simulated)",
        esp_event={"simulated": True, "event": event_type, "message_id": message.message_id},
    )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, WorkbenchAdmin):
    list_display = ("to", "subject", "created_at", "letter_link")
    search_fields = ("=message_id",)  # enables the search box; search_conditions does the work
    search_help_text = "The exact message id or recipient address."
    ordering = ("-id",)
    actions = ("simulate_delivered", "simulate_hard_bounce")
    fields = ("message_id", "created_at", "from_email", "to", "subject", "body_text", "body_html", "metadata", "tags")
    readonly_fields = fields

    def search_conditions(self, term: str) -> list[Q]:
        return [Q(message_id=term), Q(to__iexact=term)]

    def has_simulate_permission(self, request: HttpRequest) -> bool:
        # Simulated events move real letters: only for coordinators, and only while the outbox is the
        # backend (with a real ESP, its own events are the truth).
        return settings.EMAIL_BACKEND == OUTBOX_BACKEND and request.user.has_perm("care.change_letter")

    @admin.display(description="letter")
    def letter_link(self, obj: OutboxMessage) -> str:
        letter_id = obj.metadata.get("letter_id") if isinstance(obj.metadata, dict) else None
        if not letter_id or not str(letter_id).isdigit():
            return "—"
        url = reverse("admin:care_letter_change", args=[int(letter_id)])
        return format_html('<a href="{}">L-{}</a>', url, letter_id)

    def _simulate(self, request: HttpRequest, queryset: QuerySet[OutboxMessage], *, event_type: str) -> None:
        chosen = list(queryset.order_by("pk")[: SIMULATE_LIMIT + 1])
        if len(chosen) > SIMULATE_LIMIT:
            messages.error(request, f"Select at most {SIMULATE_LIMIT} messages at a time.")
            return
        for message in chosen:
            # The same path as an ESP's webhook post: anymail's tracking signal, esp_name "Outbox".
            tracking.send(
                sender=OutboxEmailBackend,
                event=simulated_event(message, event_type=event_type),
                esp_name=OutboxEmailBackend.esp_name,
            )
        messages.success(
            request,
            f"{len(chosen)} simulated {event_type} events stored; their letters move as soon as the worker "
            "has processed them.",
        )

    @admin.action(description="Simulate a delivered event", permissions=["simulate"])
    def simulate_delivered(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        self._simulate(request, queryset, event_type=EventType.DELIVERED)

    @admin.action(description="Simulate a hard bounce", permissions=["simulate"])
    def simulate_hard_bounce(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        self._simulate(request, queryset, event_type=EventType.BOUNCED)
