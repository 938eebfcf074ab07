"""Validating and redeeming a voucher code (the booking system's side of a voucher).

Guarantees
----------
- **Race-free.** A redemption runs in one transaction that locks the voucher row (``SELECT … FOR UPDATE``),
  checks it, writes the redemption and moves ``redeemed_amount`` with ``F()`` under a guard on the value it
  read. Fifty concurrent redemptions of the same code end in exactly one success (or, for partial amounts,
  never more than the voucher's value: the database's CHECK ``0 <= redeemed_amount <= amount`` is the
  backstop).
- **Idempotent.** A successful redemption is stored with its ``Idempotency-Key``, unique per token (or per
  staff user). The same key with the same request returns the first answer, also after the voucher has since
  been used up or has expired, and redeems nothing more; the same key with a different code, amount, currency
  or booking reference is refused (``idempotency_conflict``). Failed attempts store nothing, so a retried
  failure is simply evaluated again. Two requests with the same key at the same moment: the voucher lock
  serialises them when they name the same code (the second then finds the first's row and replays it); for
  different codes the unique constraint decides, inside a savepoint, and the loser replays or is refused.
- **Expiry is read from the clock.** A voucher past ``expires_at`` is refused even while its status is still
  ``issued`` because the expiry task has not run yet.
- **Guessing is unrewarding.** Malformed, mistyped, unknown, expired, void and used-up codes all cost the same
  database work: one indexed lookup by code (a placeholder for a malformed code), and for a redemption also
  one idempotency lookup, before any refusal. The throttle in :mod:`vouchers.throttling` counts the failures
  that only a guesser produces (:attr:`Refusal.counts_as_guess`).

Audit: a full redemption moves the voucher from issued to redeemed and writes a ``VoucherStatusChange``. A
partial redemption does not change the status, so it writes no status change. Every redemption, partial or
full, has its ``VoucherRedemption`` row (who, when, how much, for which booking) and one ``voucher.redeem``
entry in the audit log (the balance before and after), in its transaction: one more insert under the lock
already held. A replay redeems nothing and writes nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from care.core.actors import Actor, Person, SystemActor
from care.core.api.models import ApiToken
from care.core.audit import audit_record
from care.core.errors import DomainError
from care.core.lifecycle import record_status_changes
from vouchers import codes
from vouchers.models import Voucher, VoucherRedemption, VoucherStatus, VoucherStatusChange

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 100
MAX_BOOKING_REFERENCE = 64
CURRENCY_CODE_LENGTH = 3  # ISO 4217
# Voucher.amount is DecimalField(max_digits=10, decimal_places=2).
MAX_AMOUNT = Decimal("99999999.99")
# Looked up in place of a malformed code, so that a malformed code costs the same indexed lookup as any other.
# No stored code can equal it: it is not made of code symbols.
_NEVER_A_CODE = "?" * len(codes.encode(0))


class Refusal(enum.Enum):
    """Why a code was not accepted. The value is the API error ``code``."""

    CODE_MALFORMED = "code_malformed"
    CODE_MISTYPED = "code_mistyped"
    CODE_UNKNOWN = "code_unknown"
    VOUCHER_EXPIRED = "voucher_expired"
    VOUCHER_VOID = "voucher_void"
    VOUCHER_REDEEMED = "voucher_redeemed"
    CURRENCY_MISMATCH = "currency_mismatch"
    CURRENCY_INVALID = "currency_invalid"
    AMOUNT_INVALID = "amount_invalid"
    AMOUNT_EXCEEDS_VALUE = "amount_exceeds_value"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BOOKING_REFERENCE_INVALID = "booking_reference_invalid"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"

    @property
    def counts_as_guess(self) -> bool:
        """Failures a guesser produces. A client holding a real code cannot get these, so counting them
        throttles guessing without locking a booking system out for retrying an expired or used voucher."""
        return self in _GUESSES


_GUESSES = frozenset({Refusal.CODE_MALFORMED, Refusal.CODE_MISTYPED, Refusal.CODE_UNKNOWN})


class VoucherRefused(DomainError):
    """A code or a redemption was refused; ``refusal`` says why in a form a program can act on."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


@dataclass(frozen=True)
class VoucherValidation:
    """What a code is worth right now. ``refusal`` is None when it can be redeemed.

    ``code`` is the canonical grouped form ("" for a malformed code); the voucher's figures are None when no
    voucher was found. ``status`` is the effective status: an issued voucher past its expiry reads "expired".
    """

    code: str
    refusal: Refusal | None
    message: str
    status: str | None = None
    amount: Decimal | None = None
    balance: Decimal | None = None
    currency: str | None = None
    expires_at: datetime | None = None

    @property
    def redeemable(self) -> bool:
        return self.refusal is None

    def raise_if_refused(self) -> None:
        if self.refusal is not None:
            raise VoucherRefused(self.refusal, self.message)


@dataclass(frozen=True)
class RedemptionResult:
    """The answer to a redemption; a replay (same idempotency key) gives the same figures again."""

    redemption_id: int
    code: str
    amount: Decimal
    currency: str
    balance: Decimal  # left on the voucher just after this redemption
    status: str  # the voucher's status just after this redemption
    booking_reference: str
    redeemed_at: datetime
    expires_at: datetime
    replayed: bool = False


def _read_code(typed: str) -> tuple[codes.CodeCheck, str]:
    """(form, canonical grouped code or "" when malformed); no database work."""
    form = codes.check(typed)
    return form, "" if form is codes.CodeCheck.MALFORMED else codes.normalise(typed)


def _lookup(form: codes.CodeCheck, canonical: str, *, lock: bool) -> Voucher | None:
    """Always exactly one indexed query, whatever the form, so no kind of wrong code answers faster.

    A mistyped code is looked up as typed (it cannot match: every stored code has a valid check symbol).
    """
    queryset = Voucher.objects.order_by()
    if lock:
        queryset = queryset.select_for_update()
    wanted = _NEVER_A_CODE if form is codes.CodeCheck.MALFORMED else canonical
    voucher = next(iter(queryset.filter(code=wanted)), None)
    return voucher if form is codes.CodeCheck.VALID_FORM else None


def _state_refusal(voucher: Voucher, now: datetime) -> VoucherRefused | None:
    """Refuse a voucher that can no longer be used, whatever the amount."""
    if voucher.status == VoucherStatus.VOID:
        return VoucherRefused(
            Refusal.VOUCHER_VOID, "This voucher was cancelled by customer care and can no longer be used."
        )
    if voucher.status == VoucherStatus.REDEEMED:
        return VoucherRefused(Refusal.VOUCHER_REDEEMED, "This voucher has already been used in full.")
    if voucher.status == VoucherStatus.EXPIRED or voucher.expires_at <= now:
        return VoucherRefused(
            Refusal.VOUCHER_EXPIRED,
            f"This voucher expired on {voucher.expires_at:%Y-%m-%d %H:%M} UTC and can no longer be used.",
        )
    return None


def _code_refusal(form: codes.CodeCheck, voucher: Voucher | None) -> VoucherRefused | None:
    if form is codes.CodeCheck.MALFORMED:
        return VoucherRefused(Refusal.CODE_MALFORMED, codes.CodeCheck.MALFORMED.message)
    if form is codes.CodeCheck.MISTYPED:
        return VoucherRefused(Refusal.CODE_MISTYPED, codes.CodeCheck.MISTYPED.message)
    if voucher is None:
        return VoucherRefused(
            Refusal.CODE_UNKNOWN,
            "No voucher has this code. Please check it against the customer's letter: it may have been "
            "copied with more than one mistake.",
        )
    return None


def voucher_validate(*, code: str, now: datetime | None = None) -> VoucherValidation:
    """Whether ``code`` (as typed: any case, spaces or dashes) can be redeemed now, and what it is worth.

    Never raises for a bad code: the refusal and its message are in the result (``raise_if_refused``).
    """
    moment = now or timezone.now()
    form, canonical = _read_code(code)
    voucher = _lookup(form, canonical, lock=False)
    refused = _code_refusal(form, voucher)
    if refused is not None:
        return VoucherValidation(code=canonical, refusal=refused.refusal, message=refused.message)
    assert voucher is not None  # _code_refusal refuses a code without a voucher
    refused = _state_refusal(voucher, moment)
    expired = refused is not None and refused.refusal is Refusal.VOUCHER_EXPIRED
    return VoucherValidation(
        code=voucher.code,
        refusal=refused.refusal if refused else None,
        message=refused.message if refused else "This voucher can be used.",
        status=VoucherStatus.EXPIRED.value if expired else voucher.status,
        amount=voucher.amount,
        balance=voucher.balance,
        currency=voucher.currency,
        expires_at=voucher.expires_at,
    )


def _clean_amount(amount: Any) -> Decimal:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise VoucherRefused(Refusal.AMOUNT_INVALID, 'The amount must be a number, e.g. "25.00".') from exc
    if not value.is_finite() or value <= 0:
        raise VoucherRefused(Refusal.AMOUNT_INVALID, "The amount must be more than zero.")
    if value > MAX_AMOUNT:
        raise VoucherRefused(Refusal.AMOUNT_INVALID, f"The amount must be at most {MAX_AMOUNT}.")
    cents = value.quantize(Decimal("0.01"))
    if value != cents:
        raise VoucherRefused(Refusal.AMOUNT_INVALID, "The amount can have at most 2 decimal places.")
    return cents


def _clean_currency(currency: str) -> str:
    cleaned = (currency or "").strip().upper()
    if len(cleaned) != CURRENCY_CODE_LENGTH or not cleaned.isascii() or not cleaned.isalpha():
        raise VoucherRefused(Refusal.CURRENCY_INVALID, "The currency must be a 3-letter ISO 4217 code, e.g. USD.")
    return cleaned


def _clean_key(idempotency_key: str) -> str:
    if not idempotency_key or not idempotency_key.strip() or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise VoucherRefused(
            Refusal.IDEMPOTENCY_KEY_INVALID,
            f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters and not blank.",
        )
    return idempotency_key


@dataclass(frozen=True)
class _Request:
    code: str
    amount: Decimal
    currency: str
    booking_reference: str


def _stored(owner: dict[str, Any], key: str) -> VoucherRedemption | None:
    return next(
        iter(VoucherRedemption.objects.select_related("voucher").filter(**owner, idempotency_key=key).order_by()),
        None,
    )


def _replay(stored: VoucherRedemption, request: _Request) -> RedemptionResult:
    """The first answer again, or a refusal when the key was used for a different redemption."""
    voucher = stored.voucher
    if (voucher.code, stored.amount, stored.currency, stored.booking_reference) != (
        request.code,
        request.amount,
        request.currency,
        request.booking_reference,
    ):
        raise VoucherRefused(
            Refusal.IDEMPOTENCY_CONFLICT,
            "This idempotency key was already used for a different redemption (another code, amount, currency "
            "or booking reference). Use a new key for a new redemption.",
        )
    # Redemptions of one voucher are serialised by its row lock, so their ids follow the order they happened.
    used_up_to_then = VoucherRedemption.objects.filter(voucher=voucher, pk__lte=stored.pk).aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")
    balance = voucher.amount - used_up_to_then
    return RedemptionResult(
        redemption_id=stored.pk,
        code=voucher.code,
        amount=stored.amount,
        currency=stored.currency,
        balance=balance,
        status=VoucherStatus.REDEEMED.value if balance == 0 else VoucherStatus.ISSUED.value,
        booking_reference=stored.booking_reference,
        redeemed_at=stored.redeemed_at,
        expires_at=voucher.expires_at,
        replayed=True,
    )


class _KeyTakenMeanwhile(Exception):
    """The same idempotency key was committed by a concurrent request while this one ran."""


def voucher_redeem(
    *,
    code: str,
    amount: Decimal | str,
    currency: str,
    idempotency_key: str,
    token: ApiToken | None = None,
    user: Person | None = None,
    booking_reference: str = "",
    now: datetime | None = None,
) -> RedemptionResult:
    """Redeem ``amount`` of the voucher ``code`` for a booking, exactly once per idempotency key.

    Exactly one of ``token`` (the booking system) and ``user`` (a staff member allowed to redeem) says who
    redeems; the idempotency key is unique per token or per user. A partial amount leaves the voucher issued
    with the rest as its balance; the amount that brings the balance to zero marks it redeemed.
    Raises :class:`VoucherRefused` with the reason; nothing is changed then.
    """
    if (token is None) == (user is None):
        raise ValueError("Pass exactly one of token or user: who redeems.")
    moment = now or timezone.now()
    key = _clean_key(idempotency_key)
    value = _clean_amount(amount)
    cleaned_currency = _clean_currency(currency)
    booking = (booking_reference or "").strip()
    if len(booking) > MAX_BOOKING_REFERENCE:
        raise VoucherRefused(
            Refusal.BOOKING_REFERENCE_INVALID,
            f"The booking reference must be at most {MAX_BOOKING_REFERENCE} characters.",
        )
    form, canonical = _read_code(code)
    request = _Request(code=canonical, amount=value, currency=cleaned_currency, booking_reference=booking)
    owner: dict[str, Any] = {"token": token} if token is not None else {"redeemed_by": user}
    try:
        with transaction.atomic():
            # Lock first, then look for the key: a request with the same key and code that held the lock before
            # us has committed by now, and this fresh read (READ COMMITTED) sees its row.
            voucher = _lookup(form, canonical, lock=True)
            stored = _stored(owner, key)
            if stored is not None:
                return _replay(stored, request)
            refused = _code_refusal(form, voucher)
            if refused is not None:
                raise refused
            assert voucher is not None  # _code_refusal refuses a code without a voucher
            refused = _state_refusal(voucher, moment)
            if refused is not None:
                raise refused
            return _redeem_locked(voucher=voucher, request=request, key=key, owner=owner, moment=moment)
    except _KeyTakenMeanwhile:
        stored = _stored(owner, key)
        if stored is None:  # pragma: no cover - the conflicting row was committed, so it is there
            raise
        logger.info("Idempotency key raced by a concurrent request; answering with redemption %s", stored.pk)
        return _replay(stored, request)


def _redeem_locked(
    *, voucher: Voucher, request: _Request, key: str, owner: dict[str, Any], moment: datetime
) -> RedemptionResult:
    """The checks and writes that need the voucher row locked (inside ``voucher_redeem``'s transaction)."""
    if request.currency != voucher.currency:
        raise VoucherRefused(
            Refusal.CURRENCY_MISMATCH,
            f"This voucher is in {voucher.currency}, not {request.currency}: redeem it in {voucher.currency}.",
        )
    if request.amount > voucher.amount:
        raise VoucherRefused(
            Refusal.AMOUNT_EXCEEDS_VALUE,
            f"{request.amount} {request.currency} is more than this voucher's value of "
            f"{voucher.amount} {voucher.currency}.",
        )
    balance_before = voucher.balance
    if request.amount > balance_before:
        raise VoucherRefused(
            Refusal.INSUFFICIENT_BALANCE,
            f"This voucher has {balance_before} {voucher.currency} left, less than the "
            f"{request.amount} {request.currency} asked for.",
        )
    balance = balance_before - request.amount
    token: ApiToken | None = owner.get("token")
    user = owner.get("redeemed_by")
    try:
        # A savepoint: losing the race on the key must not poison the transaction, and nothing else has been
        # written yet, so the caller can roll back and replay the winner's row.
        with transaction.atomic():
            redemption = VoucherRedemption.objects.create(
                voucher=voucher,
                amount=request.amount,
                currency=request.currency,
                token=token,
                redeemed_by=user,
                idempotency_key=key,
                booking_reference=request.booking_reference,
                redeemed_at=moment,
            )
    except IntegrityError as exc:
        raise _KeyTakenMeanwhile from exc
    full = balance == 0
    changes: dict[str, Any] = {"redeemed_amount": F("redeemed_amount") + request.amount}
    if full:
        changes |= {"status": VoucherStatus.REDEEMED, "redeemed_at": moment}
    moved = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.ISSUED, redeemed_amount=voucher.redeemed_amount
    ).update(**changes)
    if moved != 1:  # pragma: no cover - the row is locked; this guards a broken lock
        raise DomainError("The voucher changed while it was being redeemed. Nothing was changed.")
    if full:
        record_status_changes(
            audit_model=VoucherStatusChange,
            audit_fk="voucher",
            rows=[(voucher.pk, voucher.status)],
            to_status=VoucherStatus.REDEEMED,
            actor=user,
            actor_label=_token_label(token),
            note=_note(request),
            at=moment,
        )
    actor: Actor = user if user is not None else SystemActor(_token_label(token) or "booking system")
    audit_record(
        actor=actor,
        action="voucher.redeem",
        target=voucher,
        changes={"redeemed_amount": [voucher.redeemed_amount, voucher.redeemed_amount + request.amount]}
        | ({"status": [voucher.status, VoucherStatus.REDEEMED]} if full else {}),
        details={
            "redemption_id": redemption.pk,
            "amount": request.amount,
            "currency": request.currency,
            "booking_reference": request.booking_reference,
        },
        at=moment,
    )
    return RedemptionResult(
        redemption_id=redemption.pk,
        code=voucher.code,
        amount=request.amount,
        currency=request.currency,
        balance=balance,
        status=VoucherStatus.REDEEMED.value if full else VoucherStatus.ISSUED.value,
        booking_reference=request.booking_reference,
        redeemed_at=moment,
        expires_at=voucher.expires_at,
    )


def _token_label(token: ApiToken | None) -> str:
    return f"API token {token.key_prefix} ({token.name})"[:100] if token is not None else ""


def _note(request: _Request) -> str:
    booking = f" for booking {request.booking_reference}" if request.booking_reference else ""
    return f"Redeemed {request.amount} {request.currency}{booking}."
