from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from care.correspondence.models.letters import LetterKind


class LetterTemplate(models.Model):
    """A coordinator-editable letter in Django template language, per kind and language, versioned."""

    kind = models.CharField(max_length=20, choices=LetterKind.choices)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    subject = models.CharField(max_length=255)
    # An apology has three parts the coordinator reviews separately; the body places them with
    # {{ parts.acknowledgement }}, {{ parts.explanation }} and {{ parts.remedy }}.
    part_acknowledgement = models.TextField("acknowledgement and apology", blank=True)
    part_explanation = models.TextField("what happened to this customer", blank=True)
    part_remedy = models.TextField("remedy: what we offer and what we are doing about it", blank=True)
    body_text = models.TextField(help_text="Plain-text body in Django template language.")
    body_html = models.TextField(blank=True, help_text="Optional HTML body; generated from the text when empty.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("kind", "language", "-version")
        constraints = [
            models.UniqueConstraint(fields=["kind", "language", "version"], name="template_unique_version"),
            models.UniqueConstraint(
                fields=["kind", "language"], condition=Q(is_active=True), name="template_one_active_per_kind_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language}) v{self.version}"
