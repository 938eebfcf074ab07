from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from care.lifecycle import Lifecycle, StatusChange

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use the ISO 4217 currency code, e.g. USD.")


class CompensationRule(models.Model):
    """One rule of the compensation policy; its conditions and award are worked out in the vouchers app."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="The rule in words, as a rep would explain it.")
    is_active = models.BooleanField(default=True)
    voucher_count = models.PositiveSmallIntegerField(default=1)
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code])
    validity_days = models.PositiveIntegerField(default=365)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    REDEEMED = "redeemed", "Redeemed"
    VOID = "void", "Void"
    EXPIRED = "expired", "Expired"


V = VoucherStatus
VOUCHER_LIFECYCLE = Lifecycle(
    name="voucher",
    moves={V.ISSUED: frozenset({V.REDEEMED, V.VOID, V.EXPIRED})},
    labels=dict(VoucherStatus.choices),
)


class Voucher(models.Model):
    code = models.CharField(max_length=32, unique=True, editable=False)
    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="vouchers")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers"
    )
    affected = models.ForeignKey(
        "incidents.AffectedCustomer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name="affected customer",
    )
    rule = models.ForeignKey(CompensationRule, null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers")
    # A rule may award several vouchers (two round trips); they are numbered 1..count.
    sequence = models.PositiveSmallIntegerField(default=1)
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, validators=[currency_code])
    redeemed_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    status = models.CharField(max_length=20, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by_label = models.CharField(
        max_length=100, blank=True, help_text="The process that issued it, when not a person."
    )
    reason = models.TextField(help_text="Why this voucher was issued.")

    class Meta:
        ordering = ("-issued_at", "-id")
        permissions = [
            ("issue_voucher", "Can issue vouchers"),
            ("void_voucher", "Can void vouchers"),
        ]
        indexes = [
            models.Index(fields=["incident", "status"], name="voucher_incident_status_idx"),
            models.Index(fields=["status", "expires_at"], name="voucher_status_expiry_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["affected", "rule", "sequence"],
                condition=Q(affected__isnull=False, rule__isnull=False),
                name="voucher_unique_per_rule_and_affected",
                violation_error_message="This customer already has this voucher from this rule.",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="voucher_amount_positive"),
            models.CheckConstraint(
                condition=Q(redeemed_amount__gte=0) & Q(redeemed_amount__lte=F("amount")),
                name="voucher_redeemed_within_amount",
            ),
            models.CheckConstraint(condition=Q(status__in=VoucherStatus.values), name="voucher_status_valid"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("issued_at")), name="voucher_expires_after_issue"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.amount} {self.currency})"

    @property
    def balance(self) -> Decimal:
        return self.amount - self.redeemed_amount

    def is_redeemable(self, now: object | None = None) -> bool:
        moment = now or timezone.now()
        return self.status == VoucherStatus.ISSUED and self.expires_at > moment  # type: ignore[operator]


class VoucherStatusChange(StatusChange):
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="status_changes")

    class Meta(StatusChange.Meta):
        verbose_name = "voucher status change"


class VoucherRedemption(models.Model):
    """One redemption by the booking system. The idempotency key makes a retried request a replay:
    the same key from the same token returns the first answer instead of redeeming again."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, validators=[currency_code])
    token = models.ForeignKey("care.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100)
    booking_reference = models.CharField(max_length=64, blank=True, help_text="The booking the voucher paid for.")
    redeemed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-redeemed_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["token", "idempotency_key"],
                condition=Q(token__isnull=False),
                name="redemption_idempotent_per_token",
            ),
            models.UniqueConstraint(
                fields=["redeemed_by", "idempotency_key"],
                condition=Q(redeemed_by__isnull=False),
                name="redemption_idempotent_per_user",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="redemption_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} of voucher {self.voucher_id}"
