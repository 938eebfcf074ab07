"""The detection rules coordinators edit in the workbench (incidents.detection_models; applied by
care.operations.detection)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from care.core.actors import Actor
from care.core.audit import audit_record, changes_between
from incidents.detection_models import DetectionRule


def detection_rule_save(*, rule: DetectionRule, fields: Iterable[str], actor: Actor) -> DetectionRule:
    """Save a detection rule as edited (new or changed); every change is audited, old and new.

    ``rule`` carries the edited values (a model form's instance); ``fields`` names the ones edited. The next
    detection sweep (within a minute) applies it.
    """
    names = sorted(set(fields))
    rule.station = (rule.station or "").strip().upper()
    with transaction.atomic():
        stored = DetectionRule.objects.select_for_update().filter(pk=rule.pk).first() if rule.pk else None
        rule.full_clean()
        changes = changes_between(stored, rule, names)
        if stored is not None and not changes:
            return rule
        rule.save()
        audit_record(
            actor=actor,
            action="detection_rule.create" if stored is None else "detection_rule.update",
            target=rule,
            changes=changes,
        )
    return rule
