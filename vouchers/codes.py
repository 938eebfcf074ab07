"""Voucher codes: random, unambiguous, readable over the phone, self-checking.

Format
------
A code is 16 data symbols carrying 80 bits from :func:`secrets.randbits`, plus
one check symbol, all from Crockford's base32 alphabet
``0123456789ABCDEFGHJKMNPQRSTVWXYZ`` (no I, L, O or U). It is shown in groups
of four so a representative can read it aloud a group at a time, with the check
symbol on its own at the end::

    7K3M-Q9TX-W2HD-R8NP-3

That grouped form (21 characters) is also the canonical form stored in
``Voucher.code`` (a unique ``CharField(max_length=32)``), so uniqueness is
enforced by the database constraint.

Typed input is forgiving: case, spaces, tabs, hyphens and dots are ignored, and
Crockford's aliases are accepted (I and L read as 1, O reads as 0).

Why not Crockford's own mod-37 check symbol
-------------------------------------------
Crockford's check symbol is the value mod 37, which needs five extra symbols
``* ~ $ = U``. Those are awkward to say on the phone ("tilde", "dollar"), and U
is left out of the data alphabet precisely so that codes cannot spell
accidental obscenities; putting it back in the last position would undo that.

Instead the check symbol is a weighted sum over GF(32), the finite field with
32 elements, so it lives in the same 32-symbol alphabet. Each symbol value
(0..31) is a field element; data symbol ``k`` (0-based, left to right) gets
the weight ``g**(k+1)`` and the check symbol the weight ``g**0 = 1``, where
``g`` is a primitive element (``x`` modulo ``x**5 + x**2 + 1``). The check
symbol is chosen so that the weighted sum of all 17 symbols is zero.

Guarantees (each proved exhaustively in ``tests/test_voucher_codes.py``):

* every single-symbol substitution is detected: changing symbol ``k`` by a
  non-zero ``e`` changes the sum by ``w_k * e``, and a field has no zero
  divisors, so the sum becomes non-zero;
* every transposition of two different symbols is detected, adjacent or not:
  swapping ``a != b`` at positions ``i, j`` changes the sum by
  ``(w_i + w_j) * (a + b)``, and the 17 weights are distinct because ``g``
  has order 31 > 17 (in characteristic 2, ``w_i + w_j = 0`` iff
  ``w_i = w_j``).

A plain "value mod 31" would not do: 32 = 1 (mod 31), so it reduces to the
digit sum, which misses every transposition and the substitution 0 <-> Z.

That matches what mod 37 offers (37 is prime and larger than 32), without
leaving the alphabet. Like any single check symbol, it lets through 1 in 32 of
arbitrary multi-symbol errors; those codes then come back "unknown" from the
database lookup, which is the fallback anyway.
"""

from __future__ import annotations

import enum
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_SYMBOLS = 16
RANDOM_BITS = 5 * DATA_SYMBOLS  # 80
CODE_SYMBOLS = DATA_SYMBOLS + 1
GROUP_SIZE = 4
SEPARATOR = "-"

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}

# Every character accepted in typed input, mapped to its canonical symbol;
# None marks a separator to drop. Anything missing is malformed (including U,
# and any non-ASCII character, so "\u0131".upper() (dotless i) == "I" tricks cannot sneak in).
_TYPED: dict[str, str | None] = {}
for _symbol in ALPHABET:
    _TYPED[_symbol] = _symbol
    _TYPED[_symbol.lower()] = _symbol
for _alias, _symbol in (("I", "1"), ("L", "1"), ("O", "0")):
    _TYPED[_alias] = _symbol
    _TYPED[_alias.lower()] = _symbol
for _separator in " \t-.":
    _TYPED[_separator] = None

# GF(32) = GF(2)[x] / (x^5 + x^2 + 1); g = x is primitive (order 31).
_POLY = 0b100101
_EXP: list[int] = []
_element = 1
for _ in range(31):
    _EXP.append(_element)
    _element <<= 1
    if _element & 0b100000:
        _element ^= _POLY
_LOG = {element: power for power, element in enumerate(_EXP)}

# Weight of each position: data symbol k gets g^(k+1), the check symbol g^0 = 1.
WEIGHTS: tuple[int, ...] = (*(_EXP[k + 1] for k in range(DATA_SYMBOLS)), _EXP[0])


def gf_mul(a: int, b: int) -> int:
    """Multiply two elements of GF(32) (integers 0..31)."""
    if a == 0 or b == 0:
        return 0
    return _EXP[(_LOG[a] + _LOG[b]) % 31]


# _WEIGHTED[k][v] == gf_mul(WEIGHTS[k], v): table lookups keep encoding fast.
_WEIGHTED: tuple[tuple[int, ...], ...] = tuple(tuple(gf_mul(weight, v) for v in range(32)) for weight in WEIGHTS)


def syndrome(values: list[int] | tuple[int, ...]) -> int:
    """Weighted GF(32) sum (XOR) of 17 symbol values; zero exactly for a valid code."""
    if len(values) != CODE_SYMBOLS:
        raise ValueError(f"expected {CODE_SYMBOLS} values, got {len(values)}")
    total = 0
    for table, value in zip(_WEIGHTED, values, strict=True):
        total ^= table[value]
    return total


def check_symbol(data: str) -> str:
    """The check symbol for 16 canonical data symbols."""
    if len(data) != DATA_SYMBOLS:
        raise ValueError(f"expected {DATA_SYMBOLS} data symbols, got {len(data)}")
    # The check weight is 1, so the check value is the data's weighted sum.
    return ALPHABET[syndrome([_VALUE[symbol] for symbol in data] + [0])]


def group(symbols: str) -> str:
    """Insert hyphens every four symbols: ``XXXX-XXXX-XXXX-XXXX-C``."""
    return SEPARATOR.join(symbols[i : i + GROUP_SIZE] for i in range(0, len(symbols), GROUP_SIZE))


# Encoding works ten bits (two symbols) at a time: the check value is linear in
# the bits, so each 10-bit chunk j contributes _PAIR_CHECK[j][chunk] by XOR.
_PAIR_TEXT: tuple[str, ...] = tuple(ALPHABET[v >> 5] + ALPHABET[v & 31] for v in range(1024))
_PAIR_CHECK: tuple[tuple[int, ...], ...] = tuple(
    tuple(_WEIGHTED[2 * j][v >> 5] ^ _WEIGHTED[2 * j + 1][v & 31] for v in range(1024))
    for j in range(DATA_SYMBOLS // 2)
)


def encode(value: int) -> str:
    """Grouped code for an 80-bit integer (injective: distinct values, distinct codes).

    Equivalent to ``group(data + check_symbol(data))`` where ``data`` is the
    value in base 32, most significant symbol first; unrolled for speed.
    """
    if not 0 <= value < 1 << RANDOM_BITS:
        raise ValueError(f"value must fit in {RANDOM_BITS} bits")
    c0, c1, c2, c3 = value >> 70, (value >> 60) & 1023, (value >> 50) & 1023, (value >> 40) & 1023
    c4, c5, c6, c7 = (value >> 30) & 1023, (value >> 20) & 1023, (value >> 10) & 1023, value & 1023
    p, t = _PAIR_CHECK, _PAIR_TEXT
    check_value = p[0][c0] ^ p[1][c1] ^ p[2][c2] ^ p[3][c3] ^ p[4][c4] ^ p[5][c5] ^ p[6][c6] ^ p[7][c7]
    return f"{t[c0]}{t[c1]}-{t[c2]}{t[c3]}-{t[c4]}{t[c5]}-{t[c6]}{t[c7]}-{ALPHABET[check_value]}"


def decode(code: str) -> int:
    """The 80-bit integer carried by a valid code (inverse of :func:`encode`)."""
    symbols = normalise(code).replace(SEPARATOR, "")
    if check(symbols) is not CodeCheck.VALID_FORM:
        raise InvalidCodeError(code)
    value = 0
    for symbol in symbols[:DATA_SYMBOLS]:
        value = (value << 5) | _VALUE[symbol]
    return value


def generate_code() -> str:
    """A fresh voucher code with 80 bits from the OS CSPRNG, e.g. ``7K3M-Q9TX-W2HD-R8NP-3``.

    Store it in ``Voucher.code``; the unique constraint catches the (2**-80
    per pair) collision, in which case generate again.
    """
    return encode(secrets.randbits(RANDOM_BITS))


class InvalidCodeError(ValueError):
    """Typed input is not a well-formed code (wrong length or characters)."""


def normalise(typed: str) -> str:
    """Canonical grouped form of typed input, without verifying the check symbol.

    Uppercases, drops spaces, tabs, hyphens and dots, reads I and L as 1 and O
    as 0. Raises :class:`InvalidCodeError` for any other character or a length
    other than 17 symbols.
    """
    symbols: list[str] = []
    for char in typed:
        if char not in _TYPED:
            raise InvalidCodeError(f"invalid character {char!r}")
        canonical = _TYPED[char]
        if canonical is not None:
            symbols.append(canonical)
    if len(symbols) != CODE_SYMBOLS:
        raise InvalidCodeError(f"expected {CODE_SYMBOLS} symbols, got {len(symbols)}")
    return group("".join(symbols))


class CodeCheck(enum.Enum):
    """Outcome of checking typed input, before any database lookup."""

    MALFORMED = "malformed"
    MISTYPED = "mistyped"
    VALID_FORM = "valid_form"

    @property
    def message(self) -> str:
        """A sentence a representative can read to the customer."""
        return _MESSAGES[self]


_MESSAGES = {
    CodeCheck.MALFORMED: (
        "That is not a voucher code. A code has seventeen letters and digits, "
        "in four groups of four and one final character: please read it again."
    ),
    CodeCheck.MISTYPED: "This code has a typing mistake: please read it again.",
    CodeCheck.VALID_FORM: "The code is well formed; looking it up now.",
}


def check(typed: str) -> CodeCheck:
    """MALFORMED, MISTYPED (check symbol wrong) or VALID_FORM (look it up with :func:`normalise`)."""
    try:
        symbols = normalise(typed).replace(SEPARATOR, "")
    except InvalidCodeError:
        return CodeCheck.MALFORMED
    if syndrome([_VALUE[symbol] for symbol in symbols]) != 0:
        return CodeCheck.MISTYPED
    return CodeCheck.VALID_FORM
