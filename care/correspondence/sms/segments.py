"""How many SMS segments a text costs, counted the way the network bills it (3GPP TS 23.038, GSM 03.38).

A text that uses only the GSM-7 alphabet travels in 7-bit septets: 160 in a single SMS, 153 per segment once
it is split (the other 7 carry the concatenation header). Characters of the extension table are sent as an
escape plus the character, so they cost two septets, and a pair is never split across two segments. One
character outside the alphabet (``ą``, ``ç``, an emoji…) sends the whole text as UCS-2: 70 UTF-16 code units
in one SMS, 67 per segment, an emoji or other astral character costing two units that are not split either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The most segments an SMS of ours may cost: two stay cheap and arrive as one message on every handset.
MAX_SEGMENTS = 2

# The GSM 03.38 default alphabet, without the escape character (0x1B): in a text it is no character at all,
# so a literal ESC is not something we can send as GSM-7.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: escape + character, two septets each.
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
_BMP_LAST = 0xFFFF  # above it, UTF-16 needs two code units


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)


def _gsm_cost(char: str) -> int:
    return 2 if char in GSM_EXTENSION else 1


def _ucs2_cost(char: str) -> int:
    return 2 if ord(char) > _BMP_LAST else 1  # a surrogate pair


def _packed(costs: list[int], single: int, part: int) -> int:
    """Segments for characters of these costs: one if they all fit in a single SMS, else filled greedily so
    that a character's units (an escaped GSM character, a surrogate pair) stay in one segment."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return segments


def sms_segments(text: str) -> Segments:
    """The encoding, the units and the segments ``text`` costs: 160 ``"a"`` is one segment, 161 two."""
    if is_gsm7(text):
        costs = [_gsm_cost(char) for char in text]
        return Segments(encoding="GSM-7", units=sum(costs), segments=_packed(costs, GSM_SINGLE, GSM_PART))
    costs = [_ucs2_cost(char) for char in text]
    return Segments(encoding="UCS-2", units=sum(costs), segments=_packed(costs, UCS2_SINGLE, UCS2_PART))
