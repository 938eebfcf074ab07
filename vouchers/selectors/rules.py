"""The rules in force for an incident and the impacts they apply to, and the plan they make.

``incident_plan`` is the one place that turns an incident's affected customers and rules into planned
vouchers: ``vouchers.selectors.forecast.incident_forecast`` sums it and
``vouchers.services.vouchers_issue_for_incident`` inserts it. Every selector here runs a fixed number of
queries, whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from incidents.models import AffectedCustomer
from vouchers.models import CompensationRule, IncidentCompensation
from vouchers.policy import IMPACT_VALUES, Impact, PlannedVoucher, Rule, ordered, plan_vouchers


def _settings_for(incident_ids: Iterable[int]) -> dict[int, IncidentCompensation]:
    return {
        row.incident_id: row
        for row in IncidentCompensation.objects.filter(incident_id__in=list(incident_ids)).prefetch_related(
            "extra_rules", "excluded_rules"
        )
    }


def _rules_from(standing: Sequence[CompensationRule], settings_row: IncidentCompensation | None) -> list[Rule]:
    rules = {rule.pk: rule for rule in standing}
    if settings_row is not None:
        for rule in settings_row.extra_rules.all():
            if rule.is_active:
                rules[rule.pk] = rule
        for rule in settings_row.excluded_rules.all():
            rules.pop(rule.pk, None)
    return ordered(Rule.of(rule) for rule in rules.values())


def _standing_rules() -> list[CompensationRule]:
    return list(CompensationRule.objects.filter(is_active=True, applies_by_default=True))


def rules_for_incidents(incident_ids: Iterable[int]) -> dict[int, list[Rule]]:
    """The rules in force for each incident: the active standing policy, plus the incident's added rules,
    minus the ones it leaves out. Four queries for any number of incidents."""
    ids = list(incident_ids)
    standing = _standing_rules()
    settings_rows = _settings_for(ids)
    return {incident_id: _rules_from(standing, settings_rows.get(incident_id)) for incident_id in ids}


def rules_for_incident(incident_id: int) -> list[Rule]:
    return rules_for_incidents([incident_id])[incident_id]


def impacts_for(*, incident_id: int | None = None, affected_ids: Iterable[int] | None = None) -> list[Impact]:
    """One Impact per affected customer, in one query."""
    rows = AffectedCustomer.objects.all()
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    if affected_ids is not None:
        rows = rows.filter(pk__in=list(affected_ids))
    return [Impact.from_values(row) for row in rows.order_by("pk").values_list(*IMPACT_VALUES)]


def incident_plan(incident_id: int) -> list[PlannedVoucher]:
    """Every voucher the policy gives the incident's customers (issued already or not)."""
    return plan_vouchers(impacts_for(incident_id=incident_id), rules_for_incident(incident_id))
