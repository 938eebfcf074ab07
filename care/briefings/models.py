"""The frontline side: versioned incident briefings, who read which version, reps' contact notes, page views.

A briefing row is either the incident's one draft (``version`` empty) that a coordinator edits in the admin,
or a published version, numbered 1, 2, 3 … per incident and never edited again, so that "what changed since
the version I opened" always compares two fixed texts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# The sections a rep reads and that are compared between versions, in reading order.
BRIEFING_SECTIONS: tuple[tuple[str, str], ...] = (
    ("what_happened", "What happened"),
    ("talking_points", "Talking points"),
    ("offer_text", "What we are offering"),
    ("what_not_to_say", "What not to say"),
    ("faq", "Frequently asked questions"),
)


class IncidentBriefing(models.Model):
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="briefings")
    version = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="Empty while a draft; numbered when published."
    )
    what_happened = models.TextField(
        "what happened", help_text="Plain words, facts only. If we do not know yet, say when we will know."
    )
    talking_points = models.TextField(blank=True, help_text="One point per line: what reps should say.")
    offer_notes = models.TextField(
        "about the offer",
        blank=True,
        help_text="Anything reps need to know about the offer beyond the compensation policy, one point per line.",
    )
    # The compensation policy in words, taken from the vouchers app when the version is published, so a
    # version always says what was on offer when it went out and a policy change shows as a change.
    offer_text = models.TextField("what we are offering", blank=True, editable=False)
    what_not_to_say = models.TextField(
        "what not to say",
        blank=True,
        help_text="One point per line. No speculation: if we do not know, say when we will know.",
    )
    faq = models.TextField(
        "frequently asked questions",
        blank=True,
        help_text="Questions and answers: a line starting “Q:” then a line starting “A:”, a blank line between pairs.",
    )
    change_note = models.CharField(
        "what changed", max_length=255, blank=True, help_text="One sentence for reps, e.g. “Hotel vouchers added.”"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "incident briefing"
        ordering = ("incident", "-version", "-id")
        permissions = [("publish_incidentbriefing", "Can publish incident briefings to frontline reps")]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "version"],
                condition=Q(version__isnull=False),
                name="briefing_unique_version_per_incident",
                violation_error_message="This incident already has a briefing with this version.",
            ),
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(version__isnull=True),
                name="briefing_one_draft_per_incident",
                violation_error_message="This incident already has a draft briefing: edit that one.",
            ),
            models.CheckConstraint(
                condition=(Q(version__isnull=True) & Q(published_at__isnull=True))
                | (Q(version__gte=1) & Q(published_at__isnull=False)),
                name="briefing_version_iff_published",
            ),
        ]

    def __str__(self) -> str:
        reference = self.incident.reference
        return f"{reference} briefing v{self.version}" if self.version else f"{reference} draft briefing"

    @property
    def is_published(self) -> bool:
        return self.version is not None


class BriefingRead(models.Model):
    """When a user first opened one published version of a briefing."""

    briefing = models.ForeignKey(IncidentBriefing, on_delete=models.CASCADE, related_name="reads")
    # Denormalised from the briefing so "the last version this rep opened" is one indexed lookup.
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="briefing_reads")
    read_at = models.DateTimeField()

    class Meta:
        verbose_name = "briefing read"
        ordering = ("-read_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["briefing", "user"], name="briefing_read_once_per_user"),
        ]
        indexes = [models.Index(fields=["user", "incident", "-read_at"], name="briefingread_user_incident_idx")]

    def __str__(self) -> str:
        return f"Read of briefing {self.briefing_id} by user {self.user_id}"


class ContactNote(models.Model):
    """A rep's record of a conversation with a customer and of what was promised in it."""

    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="contact_notes")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="contact_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_notes")
    text = models.TextField("what was said")
    promise = models.CharField("what was promised", max_length=500, blank=True)
    promised_by = models.DateTimeField("promised by", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "contact note"
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["customer", "-created_at"], name="contactnote_customer_idx")]

    def __str__(self) -> str:
        return f"Contact note {self.pk} on customer {self.customer_id}"


class CustomerPageView(models.Model):
    """Who looked at whose customer page, when: personal data is shown only with a trace."""

    customer = models.ForeignKey("care.Customer", on_delete=models.CASCADE, related_name="page_views")
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewed_at = models.DateTimeField()

    class Meta:
        verbose_name = "customer page view"
        ordering = ("-viewed_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-viewed_at"], name="pageview_customer_idx"),
            models.Index(fields=["viewer", "-viewed_at"], name="pageview_viewer_idx"),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} viewed by user {self.viewer_id}"
