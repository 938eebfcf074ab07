"""The demo's compensation settings: a budget for each blizzard incident, one of them deliberately too small.

Newark's Friday incident gets a budget below what the policy forecasts, so resolving it shows the over-budget
hold (no vouchers, and no apologies, until a coordinator approves); the others get a budget with headroom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from django.apps import apps as django_apps

from incidents.models import Incident
from vouchers.default_policy import default_policy_install
from vouchers.models import IncidentCompensation
from vouchers.selectors import incident_forecast

# The Friday (8 Feb 2013) Newark incident: care.operations.demo creates it first, so it is number 0001 of its day.
TIGHT_BUDGET_REFERENCE = "INC-20130208-0001"
TIGHT_SHARE = Decimal("0.8")  # the tight budget covers this share of the forecast
ROUND_TO = 1000


def seed_demo_policy(*, incidents: Iterable[Incident]) -> dict[str, Decimal]:
    """Give every demo incident a USD budget; return each reference's cap. Safe to run again."""
    default_policy_install(django_apps)  # the shipped rules, in case a test database was flushed
    caps: dict[str, Decimal] = {}
    for incident in incidents:
        total = incident_forecast(incident_id=incident.pk).totals.get("USD", Decimal(0))
        if incident.reference == TIGHT_BUDGET_REFERENCE:
            cap = Decimal(math.floor(total * TIGHT_SHARE / ROUND_TO) * ROUND_TO)
            note = "Demo: deliberately below the forecast, so issuing waits for a coordinator's approval."
        else:
            cap = Decimal(math.ceil(total * Decimal("1.2") / ROUND_TO) * ROUND_TO)
            note = "Demo: the forecast with a fifth of headroom for late additions."
        IncidentCompensation.objects.update_or_create(
            incident=incident, defaults={"budget_cap": cap, "budget_currency": "USD", "note": note}
        )
        caps[incident.reference] = cap
    return caps
