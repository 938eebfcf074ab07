"""Detection rules: when disruptions at a station are enough to open an incident before customers call.

One rule per station (its IATA code), and at most one default rule (station "") for the stations without their
own; a station whose own rule is switched off is not watched, whatever the default says. The sweep that applies
them is care.operations.detection. Defined here, beside incidents.models (which imports them so Django
registers them), with the incident's severity scale, which the rule's auto-open threshold is on: this module
needs nothing from incidents.models, so the two do not import each other.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

# A day: a longer window would call a week of ordinary delays a disruption.
WINDOW_MAX_MINUTES = 24 * 60
# The delay a rule counts may be up to the longest the feed accepts (incidents.models.MAX_DELAY_MINUTES, a week).
DELAY_MAX_MINUTES = 7 * 24 * 60


class Severity(models.IntegerChoices):
    MINOR = 1, "Minor"
    MODERATE = 2, "Moderate"
    MAJOR = 3, "Major"
    CRITICAL = 4, "Critical"


station_or_default = RegexValidator(
    r"^([A-Z]{3})?$", "Use the three-letter IATA airport code, e.g. EWR, or leave it blank for the default rule."
)


class DetectionRule(models.Model):
    """The thresholds at which flights disrupted at one station within a rolling window draft an incident."""

    station = models.CharField(
        max_length=3,
        blank=True,
        validators=[station_or_default],
        help_text="The departure airport's IATA code, e.g. EWR. Leave blank for the default rule, which applies "
        "to every station without a rule of its own.",
    )
    is_active = models.BooleanField(
        "watched",
        default=True,
        help_text="Untick to stop watching this station (the default rule then does not apply to it either).",
    )
    window_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(WINDOW_MAX_MINUTES)],
        help_text="The rolling window: only flights that became cancelled, diverted or delayed within this many "
        "minutes before the check count towards the thresholds.",
    )
    min_cancellations = models.PositiveIntegerField(
        "cancellations",
        default=3,
        validators=[MinValueValidator(1)],
        help_text="This many departures cancelled or diverted within the window draft an incident.",
    )
    min_delayed = models.PositiveIntegerField(
        "delayed departures",
        default=6,
        validators=[MinValueValidator(1)],
        help_text="…or this many departures delayed by at least the delay below, within the window.",
    )
    delay_minutes = models.PositiveIntegerField(
        "delay counted (minutes)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(DELAY_MAX_MINUTES)],
        help_text="A departure counts as delayed from this many minutes late.",
    )
    auto_open_severity = models.PositiveSmallIntegerField(
        "open automatically from",
        choices=Severity.choices,
        null=True,
        blank=True,
        default=Severity.MAJOR,
        help_text="A detected incident this severe or worse is opened at once, and every passenger is told "
        "without waiting for a coordinator. Severity: moderate at the thresholds, major at twice, critical at "
        "four times. Leave blank to always wait for a coordinator to confirm the draft.",
    )

    class Meta:
        verbose_name = "detection rule"
        ordering = ("station",)
        constraints = [
            # Also makes the default rule (station "") one at most.
            models.UniqueConstraint(fields=["station"], name="detection_rule_one_per_station"),
            models.CheckConstraint(
                condition=Q(window_minutes__gte=1, min_cancellations__gte=1, min_delayed__gte=1, delay_minutes__gte=1),
                name="detection_rule_positive",
            ),
            models.CheckConstraint(
                condition=Q(auto_open_severity__isnull=True) | Q(auto_open_severity__gte=1, auto_open_severity__lte=4),
                name="detection_rule_severity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Detection at {self.station}" if self.station else "Detection at every other station (default)"


# The rule the product ships with: every station is watched until a coordinator says otherwise.
DEFAULT_RULE: dict[str, Any] = {
    "station": "",
    "is_active": True,
    "window_minutes": 60,
    "min_cancellations": 3,
    "min_delayed": 6,
    "delay_minutes": 60,
    "auto_open_severity": Severity.MAJOR.value,
}


def default_detection_rule_install(apps: Any, schema_editor: Any = None) -> bool:
    """Create the default rule if there is none (a coordinator's edits survive); whether it was created."""
    rule_model = apps.get_model("incidents", "DetectionRule")
    values = dict(DEFAULT_RULE)
    _, created = rule_model.objects.get_or_create(station=values.pop("station"), defaults=values)
    return bool(created)


def default_detection_rule_remove(apps: Any, schema_editor: Any = None) -> None:
    apps.get_model("incidents", "DetectionRule").objects.filter(station="").delete()
