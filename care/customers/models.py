from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

phone_validator = RegexValidator(
    r"^\+[1-9][0-9]{6,14}$", "Enter the phone number in international format, e.g. +12125550123."
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Paris.")


class LoyaltyTier(models.TextChoices):
    NONE = "none", "No tier"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    PLATINUM = "platinum", "Platinum"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    COMPLAINT = "complaint", "Spam complaint"
    OPT_OUT = "opt_out", "Opted out"


class ContactChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Customer(models.Model):
    external_ref = models.CharField(
        "customer reference", max_length=64, unique=True, help_text="The reference in the booking system."
    )
    name = models.CharField(max_length=200)
    preferred_name = models.CharField(max_length=100, blank=True, help_text="How the customer likes to be addressed.")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    loyalty_tier = models.CharField(max_length=10, choices=LoyaltyTier.choices, default=LoyaltyTier.NONE)
    contact_consent = models.BooleanField(default=True, help_text="Consents to non-essential contact such as surveys.")
    suppressed_at = models.DateTimeField(null=True, blank=True, help_text="Email is not sent while this is set.")
    suppression_reason = models.CharField(max_length=20, choices=SuppressionReason.choices, blank=True)
    sms_opted_out_at = models.DateTimeField(
        null=True, blank=True, help_text="SMS is not sent while this is set: the customer texted STOP to us."
    )
    preferred_channel = models.CharField(
        max_length=5,
        choices=ContactChannel.choices,
        default=ContactChannel.EMAIL,
        # In the table too: the PostgreSQL import inserts customers with its own INSERT (incidents.ingest.pg).
        db_default=ContactChannel.EMAIL,
        help_text="How notices and updates reach the customer when both are possible; apologies and voucher "
        "letters go by email first whatever this says.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        indexes = [
            models.Index(Upper("external_ref"), name="customer_ref_upper_idx"),
            models.Index(Upper("email"), name="customer_email_upper_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(Upper("name"), name="customer_name_upper_idx"),
            models.Index(fields=["name", "id"], name="customer_name_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(suppressed_at__isnull=True) & Q(suppression_reason=""))
                | (Q(suppressed_at__isnull=False) & ~Q(suppression_reason="")),
                name="customer_suppression_has_reason",
                violation_error_message="A suppressed address needs a reason, and only a suppressed one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_ref})"

    @property
    def greeting_name(self) -> str:
        return self.preferred_name or self.name.split(" ")[0]

    @property
    def is_suppressed(self) -> bool:
        return self.suppressed_at is not None

    @property
    def is_sms_opted_out(self) -> bool:
        return self.sms_opted_out_at is not None
