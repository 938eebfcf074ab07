"""The one way the project writes CSV for people to open: streamed line by line, every cell formula-safe.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(CSV injection, OWASP): a customer named ``=HYPERLINK("http://…")`` in an import file would otherwise become
a live link in the coordinator's report. Such cells get a leading apostrophe, which spreadsheets show as text
and do not display. Numbers are written as numbers, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """The cell for ``value``: empty for None, UTC ISO 8601 for a datetime, text that cannot run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file that hands back what is written, so csv.writer yields one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The header and each row as one CSV line, for a StreamingHttpResponse: nothing is held in memory."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_safe(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])
