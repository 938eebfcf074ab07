from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from care.core.lifecycle import Lifecycle, StatusChange
from care.core.station_time import station_time

# Flights and their status events, bookings, detection rules (with the severity scale) and the coordinator's
# paragraphs per impact live in their own modules; imported here so Django registers them.
from incidents.booking_models import Booking, IncidentFlight  # noqa: F401
from incidents.detection_models import DetectionRule, Severity  # noqa: F401 - Severity is used below, too
from incidents.flight_models import EventOutcome, Flight, FlightStatus, FlightStatusEvent  # noqa: F401
from incidents.import_models import ImportFormat, ImportJob, ImportRejection, ImportSource, ImportStatus  # noqa: F401
from incidents.variants import Impact, ParagraphVariant  # noqa: F401

# A week: a longer "delay" is a data error, not a disruption.
MAX_DELAY_MINUTES = 7 * 24 * 60

iata_airport = RegexValidator(r"^[A-Z]{3}$", "Use the three-letter IATA airport code, e.g. JFK.")
iata_carrier = RegexValidator(r"^[A-Z0-9]{2}[A-Z]?$", "Use the two-character IATA carrier code, e.g. B6.")


class IncidentKind(models.TextChoices):
    DELAY = "delay", "Delay"
    CANCELLATION = "cancellation", "Cancellation"
    DIVERSION = "diversion", "Diversion"
    IT_OUTAGE = "it_outage", "IT outage"
    BAGGAGE = "baggage", "Baggage"
    OTHER = "other", "Other"


class Cause(models.TextChoices):
    WEATHER = "weather", "Weather"
    ATC = "atc", "Air traffic control"
    MECHANICAL = "mechanical", "Mechanical"
    CREW = "crew", "Crew"
    IT = "it", "IT"
    SECURITY = "security", "Security"
    OTHER = "other", "Other"


class IncidentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


I = IncidentStatus  # noqa: E741
INCIDENT_LIFECYCLE = Lifecycle(
    name="incident",
    moves={
        I.DRAFT: frozenset({I.OPEN}),
        I.OPEN: frozenset({I.MONITORING, I.RESOLVED}),
        # A relapse (a second wave of cancellations) reopens a monitored or resolved incident.
        I.MONITORING: frozenset({I.OPEN, I.RESOLVED}),
        I.RESOLVED: frozenset({I.OPEN, I.CLOSED}),
    },
    labels=dict(IncidentStatus.choices),
)
# The timestamp each status stamps when it is entered.
STATUS_TIMESTAMP: dict[str, str] = {
    I.OPEN: "opened_at",
    I.MONITORING: "monitoring_at",
    I.RESOLVED: "resolved_at",
    I.CLOSED: "closed_at",
}
ACTIVE_STATUSES = (I.OPEN, I.MONITORING)


class Incident(models.Model):
    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    cause = models.CharField(max_length=20, choices=Cause.choices)
    within_control = models.BooleanField(
        "within our control",
        default=False,
        help_text="Whether the cause was within the company's control (crew, mechanical, IT) rather than "
        "extraordinary (weather, ATC, security). Acknowledging is not admitting fault.",
    )
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MODERATE)
    status = models.CharField(max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.DRAFT)
    started_at = models.DateTimeField(default=timezone.now, help_text="When the disruption began.")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    monitoring_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    stations = models.CharField(
        max_length=255, blank=True, help_text="IATA codes of the stations involved, separated by spaces."
    )
    flights = models.TextField(blank=True, help_text="Flights involved, e.g. “UA 1545, B6 22”.")
    explanation = models.TextField(
        "what happened (for customers)",
        blank=True,
        help_text="Plain words, facts only. If we do not know yet, say when we will know. Never speculate.",
    )
    apology = models.TextField(
        "coordinator's apology paragraph",
        blank=True,
        help_text="Written for this incident, in your own words; it goes into every apology letter.",
    )
    prevention = models.TextField("what we are doing to prevent a repeat", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_incidents",
        verbose_name="owning coordinator",
    )
    next_update_due_at = models.DateTimeField(
        "next update due", null=True, blank=True, help_text="The promise of the next customer update."
    )
    first_contact_target_minutes = models.PositiveIntegerField(
        default=15, help_text="Every affected customer should hear from us within this many minutes."
    )
    # Derived counters, so the changelist never counts a million rows: recomputed set-based by
    # incidents.services.incidents_refresh_counts after a batch adds affected customers, and moved by
    # exactly the rows a send marked as first contacted (care.correspondence.sending.letters_record_contact).
    affected_count = models.PositiveIntegerField(default=0, editable=False)
    contacted_count = models.PositiveIntegerField(default=0, editable=False)
    update_interval_minutes = models.PositiveIntegerField(
        default=60,
        help_text="When a promised update falls due with no news, customers hear “no news yet” and a new "
        "promise this many minutes later.",
    )
    auto_send_notices = models.BooleanField(
        "send notices and updates without approval",
        default=True,
        help_text="Initial notices and updates go out without a coordinator's approval.",
    )

    class Meta:
        ordering = ("-started_at", "-id")
        permissions = [("transition_incident", "Can open, monitor, resolve and close incidents")]
        indexes = [
            models.Index(fields=["status", "-started_at"], name="incident_status_started_idx"),
            models.Index(fields=["next_update_due_at"], name="incident_next_update_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=IncidentStatus.values), name="incident_status_valid"),
            models.CheckConstraint(condition=Q(severity__gte=1, severity__lte=4), name="incident_severity_range"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def station_codes(self) -> list[str]:
        return self.stations.split()

    def is_update_overdue(self, now: object | None = None) -> bool:
        moment = now or timezone.now()
        return (
            self.status in ACTIVE_STATUSES and self.next_update_due_at is not None and self.next_update_due_at < moment  # type: ignore[operator]
        )


class IncidentStatusChange(StatusChange):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_changes")

    class Meta(StatusChange.Meta):
        verbose_name = "incident status change"


class Audience(models.TextChoices):
    INTERNAL = "internal", "Internal"
    FRONTLINE = "frontline", "Frontline"
    CUSTOMERS = "customers", "Customers"


class IncidentUpdate(models.Model):
    """One entry of the incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(default=timezone.now)
    next_update_due_at = models.DateTimeField(
        "next update promised by", null=True, blank=True, help_text="The next-update time this entry promises."
    )
    # Marked, not recognised by its wording: the letters then say "no news yet" in each customer's language
    # instead of quoting this English entry, whatever the entry's text says.
    no_news = models.BooleanField(
        "no news",
        default=False,
        help_text="Written when a promised update fell due without news; letters say so in their own words.",
    )

    class Meta:
        ordering = ("-posted_at", "-id")
        indexes = [models.Index(fields=["incident", "-posted_at"], name="update_incident_posted_idx")]

    def __str__(self) -> str:
        # On the incident's station clock, as the timeline shows it (load the incident with the update).
        return f"{self.get_audience_display()} update at {station_time(self.posted_at, self.incident)}"


class IncidentUpdateTranslation(models.Model):
    """A customer update in another language, written by the coordinator: letters quote the customer's own
    language, and hold the update for the others for a bounded time (care.operations.sweeps.kept_promises)."""

    update = models.ForeignKey(IncidentUpdate, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    text = models.TextField()

    class Meta:
        verbose_name = "update in another language"
        constraints = [
            models.UniqueConstraint(fields=["update", "language"], name="update_translation_unique_language"),
        ]

    def __str__(self) -> str:
        return f"{self.get_language_display()} text of update {self.update_id}"


class AffectedCustomer(models.Model):
    """One customer's real experience of one flight of one incident (a customer may have several)."""

    # No index of its own: the unique (incident, customer, flight) and (incident, first_contacted_at) lead with it
    # and serve every lookup by incident (EXPLAIN in bench/README), and an import writes each index of every row.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected", db_index=False)
    customer = models.ForeignKey("care.Customer", on_delete=models.PROTECT, related_name="affected")
    # Impact
    delay_minutes = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(MAX_DELAY_MINUTES)])
    cancelled = models.BooleanField(default=False)
    missed_connection = models.BooleanField(default=False)
    overnight_stay = models.BooleanField(default=False)
    diverted = models.BooleanField(default=False)
    downgraded = models.BooleanField(default=False)
    # Flight
    carrier = models.CharField(max_length=3, validators=[iata_carrier])
    flight_number = models.CharField(max_length=5)
    flight_date = models.DateField()
    origin = models.CharField(max_length=3, validators=[iata_airport])
    destination = models.CharField(max_length=3, validators=[iata_airport])
    scheduled_departure_at = models.DateTimeField(null=True, blank=True)
    # The flight is the source of truth for its status; the fields above and the impact are its copy on this
    # row (many queries read them), written through by the status feed (incidents.flight_feed).
    flight = models.ForeignKey(
        "incidents.Flight", null=True, blank=True, on_delete=models.PROTECT, related_name="passengers"
    )
    # When the feed last made this passenger's impact worse (a delay crossing 60, 120 or 180 minutes, a
    # cancellation, a diversion): care.correspondence.impact_told compares the impact then with what the
    # passenger's last letter told them (Letter.impact_told), and the update sweep tells them.
    impact_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    booking_reference = models.CharField(max_length=8, blank=True)
    # Contact
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "affected customer"
        ordering = ("-id",)
        constraints = [
            # A customer may have several flights in one incident (booking legs: rebooked from a cancelled flight
            # onto one that is disrupted too); each flight once. One letter covers them all (correspondence.legs).
            models.UniqueConstraint(
                fields=["incident", "customer", "carrier", "flight_number", "flight_date"],
                name="affected_unique_flight_per_customer",
                violation_error_message="This customer is already recorded on this flight for this incident.",
            ),
            models.CheckConstraint(condition=Q(delay_minutes__lte=MAX_DELAY_MINUTES), name="affected_delay_plausible"),
        ]
        indexes = [
            models.Index(fields=["incident", "first_contacted_at"], name="affected_incident_contact_idx"),
            models.Index(Upper("booking_reference"), name="affected_booking_upper_idx"),
            models.Index(fields=["carrier", "flight_number", "flight_date"], name="affected_flight_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.flight_label} on {self.flight_date:%d %b %Y}"

    @property
    def flight_label(self) -> str:
        return f"{self.carrier} {self.flight_number}"

    @property
    def impact_summary(self) -> str:
        parts = []
        if self.cancelled:
            parts.append("cancelled")
        elif self.delay_minutes:
            hours, minutes = divmod(self.delay_minutes, 60)
            parts.append(f"delayed {hours} h {minutes:02d} min" if hours else f"delayed {minutes} min")
        for flag, words in (
            (self.diverted, "diverted"),
            (self.missed_connection, "missed connection"),
            (self.overnight_stay, "overnight stay"),
            (self.downgraded, "downgraded"),
        ):
            if flag:
                parts.append(words)
        return ", ".join(parts) or "no recorded impact"


class IncidentTranslation(models.Model):
    """The coordinator's own words in another language, for customers who read that language.

    The incident's fields hold the text in the default language (settings.LANGUAGE_CODE). A customer
    whose letter is in another language gets these paragraphs; an apology without them is held,
    because a heartfelt paragraph in a language the customer did not choose reads as a form letter.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    explanation = models.TextField("what happened (for customers)", blank=True)
    apology = models.TextField("coordinator's apology paragraph", blank=True)
    prevention = models.TextField("what we are doing to prevent a repeat", blank=True)

    class Meta:
        verbose_name = "text in another language"
        verbose_name_plural = "texts in other languages"
        constraints = [
            models.UniqueConstraint(fields=["incident", "language"], name="translation_unique_language"),
        ]

    def __str__(self) -> str:
        return f"{self.get_language_display()} text of incident {self.incident_id}"


class SweepRun(models.Model):
    """What one run of a scheduled sweep did, for the coordinator to see."""

    name = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [models.Index(fields=["name", "-started_at"], name="sweeprun_name_started_idx")]

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"  # beat runs in UTC

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class AlertKind(models.TextChoices):
    FIRST_CONTACT_LATE = "first_contact_late", "Customers not contacted in time"
    PROMISE_LAPSING = "promise_lapsing", "Promised update about to lapse"
    PROMISE_BROKEN = "promise_broken", "Promised update not sent"
    STUCK_SENDING = "stuck_sending", "Letters stuck in sending"
    SWEEP_FAILED = "sweep_failed", "A sweep failed"
    VOUCHERS_OVER_BUDGET = "vouchers_over_budget", "Vouchers over budget: approval needed"
    NEWS_UNTRANSLATED = "news_untranslated", "Customer update waiting for a translation"
    INCIDENT_DETECTED = "incident_detected", "Disruption detected"


class Alert(models.Model):
    """Something a coordinator must look at now; raised by the sweeps, at most one open per kind and key."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # What the alert is about, e.g. "incident:12"; one open alert per (kind, key).
    key = models.CharField(max_length=100)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    message = models.TextField()
    raised_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-raised_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"], condition=Q(resolved_at__isnull=True), name="alert_one_open_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"
