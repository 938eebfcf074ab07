from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from care.core.lifecycle import Lifecycle, StatusChange
from care.customers.models import LoyaltyTier
from incidents.models import Cause

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use the ISO 4217 currency code, e.g. USD.")


class AwardKind(models.TextChoices):
    VOUCHER = "voucher", "Vouchers"
    CASH_NOTE = "cash_note", "Cash compensation (a note; nothing is issued)"


class ControlCondition(models.TextChoices):
    ANY = "any", "Any cause"
    WITHIN = "within", "Only when within our control"
    OUTSIDE = "outside", "Only when outside our control"


class DistanceBand(models.TextChoices):
    # The EU261 bands by great-circle distance, used for goodwill too (intra-EU distinctions left out).
    SHORT = "short", "Short (up to 1,500 km)"
    MEDIUM = "medium", "Medium (1,500 to 3,500 km)"
    LONG = "long", "Long (over 3,500 km)"


class CompensationRule(models.Model):
    """One rule of the goodwill compensation policy: when it applies (conditions) and what it awards.

    The impact conditions are alternatives: the rule applies when ANY ticked impact happened to the customer
    (no impact ticked: any impact). The other conditions (cause, control, loyalty tier, distance band) must all
    hold; an empty list means "any". Rules are considered by ascending priority; a rule marked exclusive stops
    every rule after it once it applies (rules before it, already applied, stay). ``vouchers.policy`` decides.
    """

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="The rule in words, as a rep would explain it.")
    is_active = models.BooleanField(default=True)
    applies_by_default = models.BooleanField(
        default=True,
        help_text="Part of the standing policy for every incident. Untick for a rule that applies only where an "
        "incident's compensation settings add it.",
    )
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower numbers are considered first.")
    exclusive = models.BooleanField(
        default=False, help_text="When this rule applies, rules with a higher priority number are not considered."
    )
    # Conditions on the impact (alternatives).
    when_cancelled = models.BooleanField("cancelled", default=False)
    min_delay_minutes = models.PositiveIntegerField(
        "delayed at least (minutes)", null=True, blank=True, help_text="Arrival delay; empty: not a condition."
    )
    when_missed_connection = models.BooleanField("missed connection", default=False)
    when_overnight_stay = models.BooleanField("overnight stay", default=False)
    when_diverted = models.BooleanField("diverted", default=False)
    when_downgraded = models.BooleanField("downgraded", default=False)
    # Conditions on the disruption and the customer (all must hold; empty lists mean any).
    causes = models.JSONField(default=list, blank=True, help_text="Incident causes; empty: any cause.")
    control = models.CharField(max_length=10, choices=ControlCondition.choices, default=ControlCondition.ANY)
    loyalty_tiers = models.JSONField(default=list, blank=True, help_text="Loyalty tiers; empty: every customer.")
    distance_bands = models.JSONField(default=list, blank=True, help_text="Distance bands; empty: any distance.")
    # The award.
    award_kind = models.CharField(max_length=10, choices=AwardKind.choices, default=AwardKind.VOUCHER)
    voucher_count = models.PositiveSmallIntegerField(default=1)
    amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Value of each voucher, or the cash amount of a cash note (may be empty for a cash note).",
    )
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code])
    validity_days = models.PositiveIntegerField(default=365)
    cash_note = models.TextField(
        blank=True, help_text="For a cash compensation rule: what is owed, in words a rep can read out."
    )

    class Meta:
        ordering = ("priority", "name")
        constraints = [
            models.CheckConstraint(
                condition=~Q(award_kind="voucher") | (Q(amount__gt=0) & Q(voucher_count__gte=1)),
                name="rule_voucher_award_has_value",
                violation_error_message="A voucher rule awards at least one voucher with a value.",
            ),
            models.CheckConstraint(
                condition=Q(validity_days__gte=1),
                name="rule_validity_positive",
                violation_error_message=("Vouchers must be valid for at least a day."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def condition_errors(self) -> dict[str, str]:
        """Form errors for conditions that name values that do not exist (the admin form validates the same)."""
        errors: dict[str, str] = {}
        for field, allowed in (
            ("causes", set(Cause.values)),
            ("loyalty_tiers", set(LoyaltyTier.values)),
            ("distance_bands", set(DistanceBand.values)),
        ):
            value = getattr(self, field)
            if not isinstance(value, list) or not set(value) <= allowed:
                errors[field] = f"Choose from: {', '.join(sorted(allowed))}."
        if self.award_kind == AwardKind.VOUCHER and (self.amount is None or self.voucher_count < 1):
            errors["amount"] = "A voucher rule awards at least one voucher with a value."
        if self.award_kind == AwardKind.CASH_NOTE and not self.cash_note.strip():
            errors["cash_note"] = "Say in words what cash the customer is owed."
        return errors

    def clean(self) -> None:
        errors = self.condition_errors()
        if errors:
            raise ValidationError(errors)


class IncidentCompensation(models.Model):
    """The compensation settings of one incident: its budget, rules added or left out, over-budget approval.

    Kept here rather than on incidents.Incident so the vouchers app owns its policy. No row means the standing
    policy with no budget cap.
    """

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="compensation", primary_key=True
    )
    budget_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The most the goodwill vouchers may be worth in total; empty: no cap.",
    )
    budget_currency = models.CharField(max_length=3, default="USD", validators=[currency_code])
    extra_rules = models.ManyToManyField(
        CompensationRule, blank=True, related_name="+", help_text="Rules added for this incident."
    )
    excluded_rules = models.ManyToManyField(
        CompensationRule, blank=True, related_name="+", help_text="Standing rules left out for this incident."
    )
    # {currency: "amount"}: the totals a coordinator approved above the cap (or in a currency the cap is not in);
    # issuance goes ahead while the forecast stays within them.
    approved_totals = models.JSONField(default=dict, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    note = models.TextField(blank=True, help_text="Why this budget, or why it was exceeded.")

    class Meta:
        verbose_name = "incident compensation"
        verbose_name_plural = "incident compensation"
        permissions = [("approve_incidentcompensation", "Can approve vouchers above an incident's budget")]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_cap__isnull=True) | Q(budget_cap__gte=0), name="compensation_cap_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Compensation for incident {self.incident_id}"


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
    # A voucher given instead of cash the customer is owed by law (a refund, EU261 compensation) needs the
    # customer's recorded consent; goodwill vouchers come on top of what is owed and need none.
    in_lieu_of = models.CharField(
        max_length=32, blank=True, help_text="The regulation whose cash this voucher replaces, e.g. eu261."
    )
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    consent_note = models.TextField(blank=True, help_text="How the customer agreed (call, email), and when.")

    class Meta:
        ordering = ("-issued_at", "-id")
        permissions = [
            ("issue_voucher", "Can issue vouchers"),
            ("void_voucher", "Can void vouchers"),
            ("export_voucher", "Can export vouchers for finance"),
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
            models.UniqueConstraint(
                fields=["affected", "in_lieu_of"],
                condition=Q(affected__isnull=False) & ~Q(in_lieu_of="") & ~Q(status="void"),
                name="voucher_one_in_lieu_per_regulation",
                violation_error_message="This customer already has a voucher in place of this cash.",
            ),
            models.CheckConstraint(
                condition=Q(in_lieu_of="") | Q(consent_recorded_at__isnull=False),
                name="voucher_in_lieu_needs_consent",
                violation_error_message="A voucher instead of cash owed by law needs the customer's recorded consent.",
            ),
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
