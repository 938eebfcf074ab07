"""The incident's paragraphs per impact on its change form: an inline whose rows are written by the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from care.core.actors import request_actor
from incidents.models import Incident, IncidentStatus
from incidents.services import incident_variant_delete, incident_variant_save
from incidents.variants import ParagraphVariant


class ParagraphVariantInline(admin.StackedInline):
    """The apology (and, if it should differ, the explanation) for the customers of one impact, in one language:
    a customer reads the variant of the first of their impacts that has one in their letter's language, and the
    incident's general paragraphs (or their translation) when none has."""

    model = ParagraphVariant
    extra = 0
    fields = ("language", "impact", "apology", "explanation")
    classes = ("collapse",)
    verbose_name = "paragraph for the customers of one impact"
    verbose_name_plural = (
        "paragraphs per impact: what a customer who was kept overnight, cancelled, diverted, missed a connection, "
        "was delayed or downgraded reads instead of the general apology (first impact first)"
    )

    def _open(self, obj: Incident | None, allowed: bool) -> bool:
        return allowed and (obj is None or obj.status != IncidentStatus.CLOSED)  # a closed incident is final

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj, super().has_add_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj, super().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._open(obj, super().has_delete_permission(request, obj))


def paragraph_variants_save(request: HttpRequest, incident: Incident, formset: Any) -> None:
    """What the inline's rows became, written through the services (each change audited on the incident)."""
    actor = request_actor(request)
    entries = formset.save(commit=False)  # also lists the deleted rows; the services write them all
    for deleted in formset.deleted_objects:
        incident_variant_delete(incident_id=incident.pk, language=deleted.language, impact=deleted.impact, actor=actor)
    for entry in entries:
        stored = ParagraphVariant.objects.filter(pk=entry.pk).values_list("language", "impact").first()
        if stored is not None and stored != (entry.language, entry.impact):  # moved to another language or impact
            incident_variant_delete(incident_id=incident.pk, language=stored[0], impact=stored[1], actor=actor)
        incident_variant_save(
            incident_id=incident.pk,
            language=entry.language,
            impact=entry.impact,
            actor=actor,
            apology=entry.apology,
            explanation=entry.explanation,
        )
