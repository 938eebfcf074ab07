"""Reads of the compensation policy, shared by the admin, the sweeps, the briefings and the issuance.

The modules, by what they hold: ``rules`` (the rules in force, the impacts, the incident's plan),
``forecast`` (the plan summed against the budget), ``holdings`` (what customers hold beside the plan, and
how a changed impact is reconciled with it: take-overs and top-ups), ``differences`` (where what they hold
differs from what the policy gives now, for the coordinator), ``entitlements`` (what a rep can say, for the briefings),
``statutory`` (the legal minimum beside the goodwill, for the coordinator) and ``liability`` (outstanding
value and redemption of issued vouchers). This package re-exports their public names; the modules import one
another directly, never from here.
"""

from vouchers.selectors.differences import CompensationDifference, compensation_differences
from vouchers.selectors.entitlements import (
    REGULATION_NAMES,
    EntitlementLine,
    customer_entitlements,
    offer_in_words,
)
from vouchers.selectors.forecast import (
    TIER_ORDER,
    Forecast,
    RuleForecast,
    TierForecast,
    forecast_from,
    incident_forecast,
)
from vouchers.selectors.holdings import (
    HeldVoucher,
    Holdings,
    Reconciliation,
    TakeOver,
    TopUp,
    holdings_for,
    reconcile,
)
from vouchers.selectors.liability import (
    IncidentVoucherSummary,
    incident_references,
    incident_voucher_summaries,
    incident_voucher_summary,
    outstanding_liability,
)
from vouchers.selectors.rules import (
    impacts_for,
    incident_plan,
    rules_for_incident,
    rules_for_incidents,
)
from vouchers.selectors.statutory import (
    CustomerAward,
    StatutorySummary,
    incident_customer_awards,
    incident_statutory_not_in_force,
    incident_statutory_summary,
)

__all__ = [
    "REGULATION_NAMES",
    "TIER_ORDER",
    "CompensationDifference",
    "CustomerAward",
    "EntitlementLine",
    "Forecast",
    "HeldVoucher",
    "Holdings",
    "IncidentVoucherSummary",
    "Reconciliation",
    "RuleForecast",
    "StatutorySummary",
    "TakeOver",
    "TierForecast",
    "TopUp",
    "compensation_differences",
    "customer_entitlements",
    "forecast_from",
    "holdings_for",
    "impacts_for",
    "incident_customer_awards",
    "incident_forecast",
    "incident_plan",
    "incident_references",
    "incident_statutory_not_in_force",
    "incident_statutory_summary",
    "incident_voucher_summaries",
    "incident_voucher_summary",
    "offer_in_words",
    "outstanding_liability",
    "reconcile",
    "rules_for_incident",
    "rules_for_incidents",
]
