"""The coordinator's paragraphs per impact: what a customer who was cancelled, delayed, kept overnight… reads.

One apology written for everybody ends up written to a crowd ("some of you", "a cancelled or badly delayed
flight"). A variant is the apology (and, where it should differ, the explanation) for the customers of one
impact, in one language; a letter carries the variant of the first of its customer's impacts, in the order of
``Impact``, that has one in the letter's language, and the incident's general paragraphs (or their
translation) when none has.

Its own module, registered through ``incidents.models``: that module is near the size limit.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.db import models
from django.db.models import Q


class Impact(models.TextChoices):
    """What happened to a customer, in precedence order: the heaviest, most telling experience first.

    A night away is the biggest cost (and usually the end of a cancelled evening), then a cancellation, then
    landing somewhere else; a missed connection outweighs the delay that caused it (an hour late is nothing
    until it breaks the journey); a lower cabin comes last.
    """

    OVERNIGHT_STAY = "overnight_stay", "Overnight stay"
    CANCELLED = "cancelled", "Cancelled"
    DIVERTED = "diverted", "Diverted"
    MISSED_CONNECTION = "missed_connection", "Missed connection"
    DELAYED = "delayed", "Delayed"
    DOWNGRADED = "downgraded", "Downgraded"


class ImpactFacts(Protocol):
    """What ``impacts_of`` reads of a customer's row (``incidents.models.AffectedCustomer``)."""

    cancelled: bool
    delay_minutes: int
    missed_connection: bool
    overnight_stay: bool
    diverted: bool
    downgraded: bool


def impacts_of(facts: ImpactFacts) -> list[str]:
    """The customer's impacts in precedence order. "Delayed" only for a flight that flew: a cancelled flight's
    customer is told of the cancellation, as the letter's impact sentence does."""
    had = {
        Impact.OVERNIGHT_STAY: facts.overnight_stay,
        Impact.CANCELLED: facts.cancelled,
        Impact.DIVERTED: facts.diverted,
        Impact.MISSED_CONNECTION: facts.missed_connection,
        Impact.DELAYED: bool(facts.delay_minutes) and not facts.cancelled,
        Impact.DOWNGRADED: facts.downgraded,
    }
    return [str(impact) for impact in Impact if had[impact]]


class ParagraphVariant(models.Model):
    """The coordinator's apology for the customers of one impact, in one language; and, if it should differ
    for them, the explanation. Written through ``incidents.services.incident_variant_save``."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="paragraph_variants")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    impact = models.CharField(
        "for customers with this impact",
        max_length=20,
        choices=Impact.choices,
        help_text="A customer with several impacts gets the first that has a variant, in this list's order.",
    )
    apology = models.TextField(
        "apology paragraph for them",
        help_text="To one reader, about what happened to them: “your flight was cancelled”, never “some of you”.",
    )
    explanation = models.TextField(
        "what happened, for them",
        blank=True,
        help_text="Leave empty to give them the incident's explanation.",
    )

    class Meta:
        verbose_name = "paragraph for one impact"
        verbose_name_plural = "paragraphs per impact (apology variants)"
        ordering = ("incident", "language", "impact")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "language", "impact"],
                name="variant_unique_impact_per_language",
                violation_error_message="This incident already has a paragraph for this impact in this language.",
            ),
            models.CheckConstraint(condition=Q(impact__in=Impact.values), name="variant_impact_valid"),
            models.CheckConstraint(condition=~Q(apology=""), name="variant_apology_written"),
        ]

    def __str__(self) -> str:
        return f"{self.get_impact_display()} ({self.language}) paragraph of incident {self.incident_id}"
