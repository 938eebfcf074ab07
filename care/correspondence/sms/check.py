"""The reasons to hold an SMS instead of sending it, worded for the coordinator who reads them."""

from __future__ import annotations

import re

from care.correspondence.sms.segments import MAX_SEGMENTS, sms_segments

# A ``{name}`` left by a template whose value was never filled in (the signed ``{link}`` of a letter-ready SMS).
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def sms_check(text: str) -> list[str]:
    """Why ``text`` must not go as an SMS; empty when it may."""
    if not text.strip():
        return ["The text is empty."]
    reasons = []
    counted = sms_segments(text)
    if counted.segments > MAX_SEGMENTS:
        reasons.append(
            f"The text needs {counted.segments} SMS segments ({counted.encoding}, {counted.units} characters); "
            f"at most {MAX_SEGMENTS} go."
        )
    placeholders = sorted(set(_PLACEHOLDER.findall(text)))
    if placeholders:
        reasons.append(f"The text still has a placeholder nobody filled in: {', '.join(placeholders)}.")
    return reasons
