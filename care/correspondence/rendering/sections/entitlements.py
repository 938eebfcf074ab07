"""The entitlements section: what the law owes the customer (refunds, compensation), each in one sentence."""

from __future__ import annotations

from collections.abc import Iterable

from care.correspondence.phrases import phrases_for
from care.correspondence.rendering.formatting import money_text
from care.correspondence.rendering.kinds import KINDS_WITH_APOLOGY
from incidents.models import AffectedCustomer
from vouchers.law import Entitlement, entitlements_for


def letter_entitlements(
    affected: AffectedCustomer, *, kind: str, also_affected: Iterable[AffectedCustomer] = ()
) -> list[Entitlement]:
    """What the letter must tell the customer they are owed by law: this flight's refund and compensation and,
    for an apology or a voucher letter, those of the customer's other disrupted flights (``also_affected``).

    Those letters acknowledge every incident the customer was affected by and carry the vouchers of all of them
    (``rendering.batch.shared_inputs``), so they state what is owed for each: a combined apology
    (care.operations.sweeps) must not give the vouchers of the disruption it absorbed and leave out the refund
    owed for it. ``also_affected`` rows need their incident loaded (the cause decides EU261, UK261 and APPR).
    """
    owed = entitlements_for(affected)
    if kind in KINDS_WITH_APOLOGY:
        for other in also_affected:
            if other.pk != affected.pk:
                owed += entitlements_for(other)
    return owed


def entitlement_section(entitlements: Iterable[Entitlement], *, label: str, language: str) -> list[dict[str, str]]:
    """One sentence per entitlement; how a kind of entitlement is paid is said once, after the last of its kind
    (a combined apology owing two refunds explains the refund rule once, not twice). ``label`` is the flight's,
    for an entitlement that does not name its own."""
    owed = list(entitlements)
    wordings = [_entitlement_wording(entitlement) for entitlement in owed]
    return [
        _entitlement_dict(entitlement, label=label, language=language, explain=wording not in wordings[index + 1 :])
        for index, (entitlement, wording) in enumerate(zip(owed, wordings, strict=True))
    ]


def _entitlement_wording(entitlement: Entitlement) -> str:
    # Compensation in money (EU261, UK261, APPR) shares one wording per language, with the regulation's name.
    return "compensation" if entitlement.amount is not None else entitlement.regulation_code


def _entitlement_dict(entitlement: Entitlement, *, label: str, language: str, explain: bool = True) -> dict[str, str]:
    table = phrases_for(language).entitlements
    prefix = _entitlement_wording(entitlement)
    head = table.get(f"{prefix}:{entitlement.reason}")
    how = table.get(f"{prefix}:how", "") if explain else ""
    name = table.get(f"name:{entitlement.regulation_code}", entitlement.regulation)
    if head is None:  # a regulation this language has no wording for yet: the English text, never nothing
        text = entitlement.text
    else:
        amount = money_text(entitlement.amount, entitlement.currency) if entitlement.amount is not None else ""
        filled = head.format(
            label=entitlement.flight_label or label,
            hours=entitlement.threshold_hours or "",
            amount=amount,
            regulation=name,
        )
        text = f"{filled} {how}".strip()
    return {"kind": entitlement.kind, "regulation": entitlement.regulation, "text": text}
