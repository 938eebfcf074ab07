"""Every write that matters to vouchers, one module per concern; callers import from here.

- ``issuance``: issuing by the policy (and in place of cash owed), approving above a budget, voiding, expiring.
- ``top_up``: a voucher from a rule that no longer applies taken over by the one the policy gives now.
- ``exports``: the finance export of live codes.
- ``compensation``: the settings coordinators edit (the standing rules, an incident's budget and rules).
"""

from __future__ import annotations

from vouchers.services.compensation import (
    compensation_rule_save,
    incident_compensation_save,
)
from vouchers.services.exports import (
    EXPORT_COLUMNS,
    vouchers_export,
)
from vouchers.services.issuance import (
    ALERT_OVER_BUDGET,
    CODE_ATTEMPTS,
    EXPIRER,
    INSERT_CHUNK,
    ISSUER,
    IssueResult,
    voucher_issue_in_lieu,
    vouchers_approve_over_budget,
    vouchers_expire,
    vouchers_issue_for_incident,
    vouchers_issue_for_incident_or_hold,
    vouchers_void,
)
from vouchers.services.top_up import vouchers_take_over

__all__ = [
    "ALERT_OVER_BUDGET",
    "CODE_ATTEMPTS",
    "EXPIRER",
    "EXPORT_COLUMNS",
    "INSERT_CHUNK",
    "ISSUER",
    "IssueResult",
    "compensation_rule_save",
    "incident_compensation_save",
    "voucher_issue_in_lieu",
    "vouchers_approve_over_budget",
    "vouchers_expire",
    "vouchers_export",
    "vouchers_issue_for_incident",
    "vouchers_issue_for_incident_or_hold",
    "vouchers_take_over",
    "vouchers_void",
]
