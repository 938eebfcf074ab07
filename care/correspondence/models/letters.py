from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from care.core.lifecycle import Lifecycle, StatusChange


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
        # Back to queued for a transient ESP error that will be retried, or when the reconciliation of a dead
        # send run finds the ESP never got the letter (care.correspondence.sending.reconcile).
        S.SENDING: frozenset({S.SENT, S.FAILED, S.QUEUED, S.SUPPRESSED}),
        S.SENT: frozenset({S.DELIVERED, S.BOUNCED, S.COMPLAINED}),
        S.DELIVERED: frozenset({S.BOUNCED, S.COMPLAINED}),
        S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    },
    labels=dict(LetterStatus.choices),
)


class Letter(models.Model):
    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="letters")
    # No index of their own: (incident, status) and the unique (affected, kind, sequence) lead with these
    # columns and serve the same lookups; every letter is written three times on its way out, and each
    # write of a row updates every index.
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters",
        db_index=False,
    )
    affected = models.ForeignKey(
        "incidents.AffectedCustomer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters",
        verbose_name="affected customer",
        db_index=False,
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
    # What an SMS letter sends, exactly (channel SMS): a notice or update in two segments at most, or for an
    # apology or voucher letter the text with the signed link to the page that shows the letter above.
    sms_body = models.TextField("SMS text", blank=True, db_default="")
    parts = models.JSONField(default=dict, blank=True, help_text="The rendered parts of an apology, for review.")
    batch = models.ForeignKey(
        "care.LetterBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    # The personal-letter check: None until rendered; False holds the letter as a draft.
    check_passed = models.BooleanField("personal-letter check passed", null=True, blank=True)
    check_reasons = models.JSONField(default=list, blank=True)
    # One stream per customer (care.correspondence.streams): a letter whose place another letter to the same
    # customer takes, because that one covers this incident too. Such a letter is CANCELLED, never rendered,
    # and holds its (affected, kind, sequence) so that no second letter is written for it; the other letter's
    # delivery counts as this customer's contact on this incident too.
    combined_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="combined_letters",
        db_index=False,  # the partial index below: almost every letter has none
    )
    template = models.ForeignKey(
        "care.LetterTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="letters"
    )
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # The impact whose variant of the coordinator's paragraphs the letter carries (incidents.variants.Impact),
    # set when it is rendered; "" for the incident's general paragraphs, or a letter that carries none.
    paragraph_variant = models.CharField(max_length=20, blank=True, default="", editable=False)
    # What a notice or update told the customer of their impact, as it was rendered: [delay_minutes, cancelled,
    # diverted]. The impact sweep (care.operations.sweeps.impact_changes) compares it with the flight's impact now,
    # so a passenger whose flight got worse since is told, and nobody twice; None for other kinds and markers.
    impact_told = models.JSONField(null=True, blank=True, editable=False)
    # No index: nothing looks letters up by who approved them, and every letter written would update it (a
    # coordinator's account is deactivated, not deleted, so SET_NULL's scan does not come up).
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # Quiet hours: a non-urgent letter queued at night waits for the customer's local morning.
    send_after = models.DateTimeField(null=True, blank=True)
    # Written, and committed, just before the ESP call that carries the letter; cleared when the letter is
    # claimed. A letter left SENDING without it was never handed over, so it can be sent again safely; with
    # it, the ESP may have it (care.correspondence.sending.reconcile).
    handover_at = models.DateTimeField("handed to the email provider at", null=True, blank=True)
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
            models.Index(
                fields=["combined_into"], condition=Q(combined_into__isnull=False), name="letter_combined_into_idx"
            ),
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


class BatchStatus(models.TextChoices):
    OPEN = "open", "Awaiting review"
    AWAITING_SECOND = "awaiting_second", "Awaiting a second coordinator"
    APPROVED = "approved", "Approved"


class LetterBatch(models.Model):
    """The letters of one kind (and update number) for one incident, reviewed and approved together."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="letter_batches")
    kind = models.CharField(max_length=20, choices=LetterKind.choices)
    sequence = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    sample_letter_ids = models.JSONField(default=list, blank=True)
    sample_size = models.PositiveIntegerField(default=0)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    # Voucher value carried by the batch's letters, per currency: {"USD": "12300.00"}.
    voucher_totals = models.JSONField(default=dict, blank=True)
    # An update whose news has no translation in some customers' languages holds those customers' letters
    # (care.operations.sweeps.kept_promises): the languages still held, the news they wait for, and the bound
    # past which they get it in English, introduced as quoted. Emptied as each language is released.
    waiting_languages = models.JSONField(default=list, blank=True)
    waiting_for_update = models.ForeignKey(
        "incidents.IncidentUpdate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waiting_until = models.DateTimeField(null=True, blank=True)
    # An update written only to the customers whose impact got worse since their last letter (the flight feed:
    # a delay crossing a threshold, a cancellation, a diversion), ahead of the incident's promised update.
    for_impact_change = models.BooleanField("for a worsened impact", default=False)

    class Meta:
        verbose_name_plural = "letter batches"
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "sequence"], name="batch_unique_kind_sequence_per_incident"
            ),
            models.CheckConstraint(
                condition=Q(second_approved_by__isnull=True) | ~Q(second_approved_by=models.F("approved_by")),
                name="batch_second_approver_differs",
                violation_error_message="The second approval must come from another coordinator.",
            ),
        ]

    def __str__(self) -> str:
        number = f" #{self.sequence}" if self.kind == LetterKind.UPDATE else ""
        return f"{self.get_kind_display()}{number} letters for {self.incident.reference}"


class LetterEvent(models.Model):
    """One tracking event from the email provider, stored once whatever the number of replays."""

    letter = models.ForeignKey(Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    esp_name = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=30)
    occurred_at = models.DateTimeField(null=True, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)
    reject_reason = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-received_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["esp_name", "event_id"], name="event_unique_per_esp"),
        ]
        indexes = [models.Index(fields=["processed_at"], name="event_unprocessed_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} from {self.esp_name}"


class OutboxMessage(models.Model):
    """What the embedded default email backend "sent": the local stand-in for an ESP, readable in the admin."""

    message_id = models.CharField(max_length=64, unique=True)
    to = models.CharField(max_length=254)
    from_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = "outbox message"

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
