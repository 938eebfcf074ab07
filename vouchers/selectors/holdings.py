"""What customers hold beside what the policy gives them now, and how the two are brought together.

A customer's impact can change after their vouchers were issued (a flight status feed turns a 70-minute delay
into 200 minutes, or into a cancellation). The policy then plans vouchers under other rules, while the customer
still holds the ones the old impact earned. ``reconcile`` decides, per customer and without the database, what
the issuance does about it, so that the forecast (and its budget check) and the issuance cannot disagree:

- a planned voucher whose (affected, rule, sequence) exists already is done (issued, redeemed, expired or void:
  a voided one is not issued again);
- a planned voucher missing, when the customer holds a voucher from a rule the policy no longer gives them
  (*superseded*), is paired with it: same currency, highest amounts first on both sides. A superseded voucher
  still usable (issued, not expired) is **taken over**: the same code moves to the planned rule and sequence,
  its amount raised to the planned amount when that is higher (never lowered). One that cannot grow (redeemed,
  expired) gets a *top-up* beside it: a new voucher under the planned rule for the difference only, or nothing
  when it was already worth as much;
- what is left planned is issued as planned;
- a superseded voucher nothing took over stays with the customer: nothing is withdrawn automatically, and
  ``vouchers.selectors.differences`` shows the coordinator the difference.

Only the policy's own vouchers (with a rule and an affected customer) take part: one in place of cash owed by law
has no rule and is not goodwill.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from vouchers.models import Voucher, VoucherStatus
from vouchers.policy import PlannedVoucher

Key = tuple[int, int, int]  # (affected, rule, sequence), unique among vouchers


@dataclass(frozen=True)
class HeldVoucher:
    """One policy voucher a customer holds (not void), as the reconciliation needs it."""

    id: int
    affected_id: int
    code: str
    rule_id: int
    rule_name: str
    sequence: int
    amount: Decimal
    redeemed_amount: Decimal
    currency: str
    status: str
    expires_at: dt.datetime

    @property
    def key(self) -> Key:
        return (self.affected_id, self.rule_id, self.sequence)

    def can_grow(self, now: dt.datetime) -> bool:
        """Whether a take-over may raise it: its balance is still the customer's to spend."""
        return self.status == VoucherStatus.ISSUED and self.expires_at > now


@dataclass(frozen=True)
class Holdings:
    """The policy vouchers of some customers: those held (not void), and every key taken (void ones too)."""

    vouchers: tuple[HeldVoucher, ...]
    keys: frozenset[Key]


_HELD_VALUES = (
    "pk",
    "affected_id",
    "code",
    "rule_id",
    "rule__name",
    "sequence",
    "amount",
    "redeemed_amount",
    "currency",
    "status",
    "expires_at",
)


def holdings_for(*, incident_id: int | None = None, affected_ids: Iterable[int] | None = None) -> Holdings:
    """The policy vouchers of an incident's customers (or of these affected rows), in one query."""
    rows = Voucher.objects.filter(rule__isnull=False, affected__isnull=False)
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    if affected_ids is not None:
        rows = rows.filter(affected_id__in=list(affected_ids))
    held: list[HeldVoucher] = []
    keys: set[Key] = set()
    for row in rows.order_by("pk").values_list(*_HELD_VALUES):
        voucher = HeldVoucher(*row)
        keys.add(voucher.key)
        if voucher.status != VoucherStatus.VOID:
            held.append(voucher)
    return Holdings(vouchers=tuple(held), keys=frozenset(keys))


@dataclass(frozen=True)
class TakeOver:
    """A superseded voucher moved to a planned one: same code, the planned rule and sequence, raised if lower."""

    voucher: HeldVoucher
    planned: PlannedVoucher

    @property
    def amount(self) -> Decimal:
        return max(self.voucher.amount, self.planned.amount)

    @property
    def top_up(self) -> Decimal:
        return self.amount - self.voucher.amount

    @property
    def reason(self) -> str:
        was = f"{self.voucher.currency} {self.voucher.amount:,.2f} under “{self.voucher.rule_name}”"
        return f"{self.planned.reason} (this voucher was {was}; the impact changed)"


@dataclass(frozen=True)
class TopUp:
    """A new voucher for the difference beside a superseded voucher that cannot grow (redeemed, expired)."""

    beside: HeldVoucher
    voucher: PlannedVoucher  # under the planned rule and sequence, for the difference only


@dataclass(frozen=True)
class Reconciliation:
    """What the issuance does for some customers, and what they hold once it has."""

    planned: tuple[PlannedVoucher, ...]
    held: tuple[HeldVoucher, ...]
    settled: int  # planned vouchers with nothing left to do: issued already, or covered by a superseded one
    take_overs: tuple[TakeOver, ...] = ()
    top_ups: tuple[TopUp, ...] = ()
    new: tuple[PlannedVoucher, ...] = ()  # issued as planned
    held_over: tuple[HeldVoucher, ...] = ()  # superseded, nothing took them over: they stay with the customer
    covered: tuple[tuple[PlannedVoucher, HeldVoucher], ...] = field(default=(), repr=False)

    @property
    def to_insert(self) -> list[PlannedVoucher]:
        return [top_up.voucher for top_up in self.top_ups] + list(self.new)

    @property
    def to_issue(self) -> int:
        """Planned vouchers still to write: take-overs, top-ups and new ones."""
        return len(self.take_overs) + len(self.top_ups) + len(self.new)

    def customer_chunks(self, size: int) -> list[list[int]]:
        """The customers with something to write, in id order, cut so that a chunk writes about ``size``
        vouchers (a customer's are never split between chunks)."""
        writes: dict[int, int] = defaultdict(int)
        for affected_id in [take.planned.affected_id for take in self.take_overs] + [
            voucher.affected_id for voucher in self.to_insert
        ]:
            writes[affected_id] += 1
        chunks: list[list[int]] = [[]]
        written = 0
        for affected_id in sorted(writes):
            if chunks[-1] and written + writes[affected_id] > size:
                chunks.append([])
                written = 0
            chunks[-1].append(affected_id)
            written += writes[affected_id]
        return [chunk for chunk in chunks if chunk]

    @property
    def to_issue_totals(self) -> dict[str, Decimal]:
        """The money still to give, per currency: new vouchers, top-ups, and what take-overs raise."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for take in self.take_overs:
            totals[take.planned.currency] += take.top_up
        for voucher in self.to_insert:
            totals[voucher.currency] += voucher.amount
        return {currency: total for currency, total in totals.items() if total}

    def holdings_by_affected(self) -> dict[int, dict[str, Decimal]]:
        """Per customer and currency, the face value they hold once the issuance has run (voided: not held)."""
        totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for voucher in self.held:
            totals[voucher.affected_id][voucher.currency] += voucher.amount
        for take in self.take_overs:
            totals[take.planned.affected_id][take.planned.currency] += take.top_up
        for planned in self.to_insert:
            totals[planned.affected_id][planned.currency] += planned.amount
        return totals

    @property
    def totals(self) -> dict[str, Decimal]:
        """What the customers hold once the issuance has run, per currency: the incident's liability in face
        value, which the budget is held against."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for by_currency in self.holdings_by_affected().values():
            for currency, amount in by_currency.items():
                totals[currency] += amount
        return dict(totals)


_Row = TypeVar("_Row", PlannedVoucher, HeldVoucher)


def _by_affected(items: Iterable[_Row]) -> dict[int, list[_Row]]:
    grouped: dict[int, list[_Row]] = defaultdict(list)
    for item in items:
        grouped[item.affected_id].append(item)
    return grouped


def reconcile(*, planned: Sequence[PlannedVoucher], holdings: Holdings, now: dt.datetime) -> Reconciliation:
    """Pair what the policy gives now with what the customers hold (the module's docstring says how).

    Deterministic: the same plan and holdings give the same pairs, so two runs at once try the same take-overs
    (and the database's guards let one of them do each). ``planned`` comes in the policy's order (by rule
    priority, then sequence), which breaks ties between planned vouchers of the same amount.
    """
    planned_by_affected = _by_affected(planned)
    held_by_affected = _by_affected(holdings.vouchers)
    settled = 0
    take_overs: list[TakeOver] = []
    top_ups: list[TopUp] = []
    new: list[PlannedVoucher] = []
    held_over: list[HeldVoucher] = []
    covered: list[tuple[PlannedVoucher, HeldVoucher]] = []
    for affected_id in sorted(planned_by_affected.keys() | held_by_affected.keys()):
        plan = planned_by_affected.get(affected_id, [])
        planned_keys = {(voucher.affected_id, voucher.rule_id, voucher.sequence) for voucher in plan}
        missing = [voucher for voucher in plan if (affected_id, voucher.rule_id, voucher.sequence) not in holdings.keys]
        settled += len(plan) - len(missing)
        superseded = [voucher for voucher in held_by_affected.get(affected_id, []) if voucher.key not in planned_keys]
        paired: set[int] = set()
        for currency in sorted({voucher.currency for voucher in missing} | {v.currency for v in superseded}):
            wanted = sorted((v for v in missing if v.currency == currency), key=lambda v: -v.amount)  # stable
            held = sorted((v for v in superseded if v.currency == currency), key=lambda v: (-v.amount, v.id))
            for voucher, old in zip(wanted, held, strict=False):
                paired.add(id(voucher))
                if old.can_grow(now):
                    take_overs.append(TakeOver(voucher=old, planned=voucher))
                elif voucher.amount > old.amount:
                    difference = voucher.amount - old.amount
                    state = "expired" if old.status == VoucherStatus.ISSUED else old.status  # it cannot grow
                    reason = (
                        f"Top-up of {old.code} ({old.currency} {old.amount:,.2f}, {state}) to "
                        f"{voucher.currency} {voucher.amount:,.2f}: {voucher.reason}"
                    )
                    top_ups.append(TopUp(beside=old, voucher=replace(voucher, amount=difference, reason=reason)))
                else:
                    covered.append((voucher, old))
                    settled += 1
            held_over.extend(held[len(wanted) :])
        # The rest is issued as planned, in the policy's order (the order letters list a customer's vouchers in).
        new.extend(voucher for voucher in missing if id(voucher) not in paired)
    return Reconciliation(
        planned=tuple(planned),
        held=holdings.vouchers,
        settled=settled,
        take_overs=tuple(take_overs),
        top_ups=tuple(top_ups),
        new=tuple(new),
        held_over=tuple(held_over),
        covered=tuple(covered),
    )
