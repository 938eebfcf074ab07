"""What the vouchers app says we offer, in the shape the briefing pages need.

The vouchers app owns the compensation policy; these two functions are the only place the briefings ask it,
so a change of its interface is a change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from vouchers.selectors import customer_entitlements, offer_in_words


@dataclass(frozen=True)
class EntitlementView:
    """One thing a customer is entitled to, as the customer page shows it."""

    # "regulation" (compensation owed by law), "refund" (owed by law), "goodwill" (our choice), or "not_in_force"
    # (a rule that owes nothing as it did not apply yet on the flight's date; the text says so)
    kind: str
    label: str
    text: str
    amount: Decimal | None = None
    currency: str = ""


def offer_lines(*, incident_id: int) -> list[str]:
    """The incident's compensation policy in words, one sentence per line."""
    return list(offer_in_words(incident_id=incident_id))


def entitlements_by_affected(*, affected_ids: Sequence[int]) -> dict[int, list[EntitlementView]]:
    """Each affected-customer row's entitlements (regulation, refund, goodwill), in a bounded number of queries."""
    if not affected_ids:
        return {}
    return {
        affected_id: [
            EntitlementView(
                kind=line.kind, label=line.label, text=line.text, amount=line.amount, currency=line.currency
            )
            for line in lines
        ]
        for affected_id, lines in customer_entitlements(affected_ids=list(affected_ids)).items()
    }
