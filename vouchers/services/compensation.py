"""The compensation settings coordinators edit: the standing rules, an incident's budget and its own rules."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from care.core.actors import Actor
from care.core.audit import audit_record, audited_save, changes_between, snapshot
from vouchers.models import CompensationRule, IncidentCompensation


def compensation_rule_save(*, rule: CompensationRule, fields: Iterable[str], actor: Actor) -> CompensationRule:
    """Save a rule of the goodwill policy as edited (new or changed); every change is audited, old and new.

    ``rule`` carries the edited values (a model form's instance); ``fields`` names the ones edited.
    """
    return audited_save(rule, fields=fields, actor=actor, action="compensation_rule")


_COMPENSATION_FIELDS = ("budget_cap", "budget_currency", "note")
_COMPENSATION_RULES = ("extra_rules", "excluded_rules")


def incident_compensation_save(
    *,
    settings_row: IncidentCompensation,
    actor: Actor,
    extra_rules: Iterable[CompensationRule] | None = None,
    excluded_rules: Iterable[CompensationRule] | None = None,
) -> IncidentCompensation:
    """Save an incident's budget and its own rules as edited; old and new values (rules as ids) are audited."""
    with transaction.atomic():
        stored = (
            IncidentCompensation.objects.select_for_update().filter(pk=settings_row.pk).first()
            if settings_row.pk
            else None
        )
        names = (*_COMPENSATION_FIELDS, *_COMPENSATION_RULES)
        before = snapshot(stored, names) if stored is not None else dict.fromkeys(names)
        settings_row.full_clean(validate_unique=stored is None)
        settings_row.save()
        if extra_rules is not None:
            settings_row.extra_rules.set(extra_rules)
        if excluded_rules is not None:
            settings_row.excluded_rules.set(excluded_rules)
        changes = changes_between(before, settings_row, names)
        if changes or stored is None:
            audit_record(
                actor=actor,
                action="incident_compensation.create" if stored is None else "incident_compensation.update",
                target=settings_row,
                changes=changes,
                details={"incident_id": settings_row.incident_id},
            )
    return settings_row
