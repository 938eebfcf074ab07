from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from care.lifecycle import Lifecycle, StatusChange


class LetterKind(models.TextChoices):
    INITIAL_NOTICE = "initial_notice", "Initial notice"
    UPDATE = "update", "Update"
    APOLOGY = "apology", "Apology / follow-up"
    VOUCHER = "voucher", "Voucher letter"
    SURVEY = "survey", "Survey"
    MANUAL = "manual", "Manual"


# Kinds that wait for a coordinator's approval before they can be queued.
KINDS_NEEDING_APPROVAL = frozenset({LetterKind.APOLOGY, LetterKind.VOUCHER, LetterKind.MANUAL})


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    POST = "post", "Post"


class LetterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    CANCELLED = "cancelled", "Cancelled"


S = LetterStatus
LETTER_LIFECYCLE = Lifecycle(
    name="letter",
    moves={
        S.DRAFT: frozenset({S.APPROVED, S.QUEUED, S.CANCELLED}),
        S.APPROVED: frozenset({S.QUEUED, S.CANCELLED}),
        S.QUEUED: frozenset({S.SENDING, S.SUPPRESSED, S.CANCELLED}),
        # Back to queued only for a transient ESP error that will be retried.
        S.SENDING: frozenset({S.SENT, S.FAILED, S.QUEUED, S.SUPPRESSED}),
        S.SENT: frozenset({S.DELIVERED, S.BOUNCED, S.COMPLAINED}),
        S.DELIVERED: frozenset({S.BOUNCED, S.COMPLAINED}),
        S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    },
    labels=dict(LetterStatus.choices),
)


class Letter(models.Model):
    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="letters")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    affected = models.ForeignKey(
        "incidents.AffectedCustomer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters",
        verbose_name="affected customer",
    )
    kind = models.CharField(max_length=20, choices=LetterKind.choices)
    # Updates are numbered 1, 2, 3 … per affected customer; every other kind has sequence 1.
    sequence = models.PositiveSmallIntegerField(default=1)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=20, choices=LetterStatus.choices, default=LetterStatus.DRAFT)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    template = models.ForeignKey(
        "care.LetterTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="letters"
    )
    template_version = models.PositiveIntegerField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField("ESP message id", max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        permissions = [("approve_letter", "Can approve letters for sending")]
        indexes = [
            models.Index(fields=["status", "kind"], name="letter_status_kind_idx"),
            models.Index(fields=["incident", "status"], name="letter_incident_status_idx"),
            models.Index(fields=["esp_message_id"], name="letter_esp_message_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["affected", "kind", "sequence"],
                condition=Q(affected__isnull=False),
                name="letter_unique_kind_sequence_per_affected",
                violation_error_message="This customer already has this letter for this incident.",
            ),
            models.CheckConstraint(condition=Q(status__in=LetterStatus.values), name="letter_status_valid"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="letter_sequence_positive"),
        ]

    def __str__(self) -> str:
        number = f" #{self.sequence}" if self.kind == LetterKind.UPDATE else ""
        return f"L-{self.pk}: {self.get_kind_display()}{number}"

    @property
    def needs_approval(self) -> bool:
        return self.kind in KINDS_NEEDING_APPROVAL


class LetterStatusChange(StatusChange):
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="status_changes")

    class Meta(StatusChange.Meta):
        verbose_name = "letter status change"
