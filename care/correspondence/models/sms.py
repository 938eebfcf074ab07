"""SMS rows: what the local SMS outbox "sent", and the delivery status events the provider reported."""

from __future__ import annotations

from django.db import models


class SmsStatus(models.TextChoices):
    """The statuses of an outbox message, as a provider's status callbacks name them."""

    QUEUED = "queued", "Queued"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNDELIVERED = "undelivered", "Undelivered"


class SmsOutboxMessage(models.Model):
    """What the embedded default SMS backend "sent": the local stand-in for a provider, readable in the admin."""

    provider_id = models.CharField(max_length=64, unique=True)
    to = models.CharField(max_length=16, help_text="The recipient in E.164, e.g. +12125550123.")
    body = models.TextField()
    letter = models.ForeignKey(
        "care.Letter", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_outbox_messages"
    )
    status = models.CharField(max_length=12, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = "SMS outbox message"

    def __str__(self) -> str:
        return f"SMS {self.provider_id} ({self.status})"


class SmsEvent(models.Model):
    """One delivery status the provider reported for one message, stored once however often it is posted."""

    provider_id = models.CharField(max_length=64, help_text="The provider's message id (Twilio: MessageSid).")
    status = models.CharField(max_length=20, help_text="The provider's status word (Twilio: MessageStatus).")
    error_code = models.CharField(max_length=16, blank=True, help_text="The provider's error code, if any.")
    # From the status callback URL we gave the message (signed with it): which letter it was, even when the send
    # run stopped before recording the provider's message id (the reconciliation reads it).
    letter_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ("-id",)
        verbose_name = "SMS event"
        constraints = [
            # A provider retries a callback it thinks we missed: the database, not the code, keeps it once.
            models.UniqueConstraint(fields=["provider_id", "status"], name="sms_event_once_per_status"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}: {self.status}"
