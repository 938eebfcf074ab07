"""The demo's letters are byte for byte the letters of the golden: no change of what customers read by accident.

``tests/letters_snapshot.py`` renders every letter the demo leads to (notices, updates with and without news,
apologies, voucher letters, surveys) under a fixed clock; ``tests/snapshots`` holds the golden. It was first
written on commit a2b09cd, before the issue-12 refactor of the rendering (which left every letter unchanged),
and rewritten on purpose for issue 13 (its header says why). A letter that changes on purpose needs a new
golden: ``LETTERS_SNAPSHOT_WRITE="<why>" pytest tests/test_letters_snapshot.py`` writes it, to be reviewed with
its diff like any other change of what customers read.
"""

from __future__ import annotations

import difflib
import os

import pytest

from tests.clock import Clock
from tests.letters_snapshot import (
    DemoLetter,
    counts_by_kind_and_language,
    demo_letters,
    digest,
    letter_blocks,
    letters_text,
    raw_voucher_codes,
    read_golden,
    write_golden,
)

pytestmark = pytest.mark.django_db

DIFF_LINES = 40  # of the first differing letter
KEYS_LISTED = 10  # of the other differing letters


def test_the_demo_letters_are_the_letters_of_before_the_refactor(clock: Clock) -> None:
    letters = demo_letters(clock)
    assert not raw_voucher_codes(letters), "voucher codes left in the letters (normalise them in letters_snapshot)"
    text = letters_text(letters)
    made_by = os.environ.get("LETTERS_SNAPSHOT_WRITE", "").strip()
    if made_by:
        write_golden(letters, made_by=made_by)
        pytest.skip(f"LETTERS_SNAPSHOT_WRITE is set: the golden was written anew ({len(letters)} letters)")
    golden_digest, golden_count, golden_text = read_golden()
    if digest(text) != golden_digest or len(letters) != golden_count:
        pytest.fail(mismatch_report(letters, text, golden_count=golden_count, golden_text=golden_text), pytrace=False)


def mismatch_report(letters: list[DemoLetter], text: str, *, golden_count: int, golden_text: str | None) -> str:
    lines = [f"The demo's letters differ from the golden: {len(letters)} letters, the golden has {golden_count}."]
    if golden_text is None:
        return "\n".join([*lines, "(tests/snapshots/demo_letters.txt.gz is missing, so only the digests differ.)"])
    now, before = letter_blocks(text), letter_blocks(golden_text)
    differing = [key for key in sorted(now.keys() | before.keys()) if now.get(key) != before.get(key)]
    if not differing:
        return "\n".join([*lines, "Every letter is the same: the golden's digest or count is stale."])
    first = differing[0]
    diff = difflib.unified_diff(
        before.get(first, "").splitlines(),
        now.get(first, "").splitlines(),
        fromfile=f"golden {first}",
        tofile=f"now {first}",
        n=2,
        lineterm="",
    )
    shown = list(diff)
    lines.append(f"{len(differing)} letters differ; the first, {first}:")
    lines.extend(line[:300] for line in shown[:DIFF_LINES])
    if len(shown) > DIFF_LINES:
        lines.append(f"… {len(shown) - DIFF_LINES} more lines of diff")
    if len(differing) > 1:
        lines.append("The next: " + ", ".join(differing[1 : 1 + KEYS_LISTED]))
    lines.append(f"Now by kind, language and status: {counts_by_kind_and_language(letters)}")
    return "\n".join(lines)
