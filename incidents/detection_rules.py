"""The detection rules coordinators edit in the workbench (incidents.detection_models; applied by
care.operations.detection)."""

from __future__ import annotations

from collections.abc import Iterable

from care.core.actors import Actor
from care.core.audit import audited_save
from incidents.detection_models import DetectionRule


def detection_rule_save(*, rule: DetectionRule, fields: Iterable[str], actor: Actor) -> DetectionRule:
    """Save a detection rule as edited (new or changed); every change is audited, old and new.

    ``rule`` carries the edited values (a model form's instance); ``fields`` names the ones edited. The next
    detection sweep (within a minute) applies it.
    """
    rule.station = (rule.station or "").strip().upper()
    return audited_save(rule, fields=fields, actor=actor, action="detection_rule")
