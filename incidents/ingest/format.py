"""The file format of affected customers (FORMAT.md) and streaming readers for CSV, JSON lines and JSON.

Every reader yields ``(row_number, fields)`` one row at a time, never the whole file: ``fields`` maps
column names to text ("" for a blank cell). A row the reader itself cannot make sense of (a CSV line with
the wrong number of cells, a JSON line that is not an object) comes back as a :class:`BadRow` so it is
reported with its number like any other bad row. A problem with the whole file (a missing or unknown
column, a file that is not UTF-8 or not CSV at all) raises :class:`FileRefused`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

REQUIRED_COLUMNS = ("customer_ref", "name", "carrier", "flight_number", "flight_date", "origin", "destination")
OPTIONAL_COLUMNS = (
    "preferred_name",
    "email",
    "phone",
    "language",
    "time_zone",
    "loyalty_tier",
    "scheduled_departure",
    "booking_reference",
    "delay_minutes",
    "cancelled",
    "missed_connection",
    "overnight_stay",
    "diverted",
    "downgraded",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
KNOWN = frozenset(COLUMNS)
# A rejected row is kept for the report; a pathological cell is cut so one row cannot fill the table.
RAW_VALUE_MAX = 500
# No database text holds NUL (PostgreSQL refuses it): a row with one is rejected, and what is kept of it for
# the report shows the replacement character in its place.
NUL = "\x00"
_NUL_REASON = "contains a NUL character (U+0000), which no column can hold"


class FileRefused(Exception):
    """The whole file cannot be imported; the message says why (shown to the coordinator)."""


@dataclass(frozen=True)
class BadRow:
    reason: str
    raw: dict[str, str]


Row = tuple[int, "dict[str, str] | BadRow"]


def check_header(columns: list[str]) -> None:
    seen: set[str] = set()
    repeated = sorted({column for column in columns if column in seen or seen.add(column)})  # type: ignore[func-returns-value]
    unknown = [column for column in columns if column not in KNOWN]
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    problems = []
    if missing:
        problems.append(f"missing required column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {_visible(', '.join(unknown[:10]))}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise FileRefused(f"The header is not right: {'; '.join(problems)}. See FORMAT.md for the columns.")


def _visible(text: str) -> str:
    return text.replace(NUL, "\ufffd")


def _raw(fields: dict[str, Any]) -> dict[str, str]:
    return {_visible(str(key)[:64]): _visible(str(value)[:RAW_VALUE_MAX]) for key, value in fields.items()}


def _nul_free(fields: dict[str, str]) -> dict[str, str] | BadRow:
    return BadRow(_NUL_REASON, _raw(fields)) if any(NUL in value for value in fields.values()) else fields


def _text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold; None for a value no column can take."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class _ByteCounter(io.RawIOBase):
    """Counts the bytes read from a binary stream, for progress and the time left."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


class RowReader:
    """Iterate the rows of a binary stream; ``bytes_read`` tells how far it got."""

    def __init__(self, stream: IO[bytes], file_format: str) -> None:
        if file_format not in ("csv", "jsonl"):
            raise FileRefused(f"Unknown file format {file_format!r}; use csv or jsonl.")
        self._counter = _ByteCounter(stream)
        self._format = file_format

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def __iter__(self) -> Iterator[Row]:
        # utf-8-sig: spreadsheets put a byte-order mark in front of the header.
        text = io.TextIOWrapper(io.BufferedReader(self._counter, 1 << 16), encoding="utf-8-sig", newline="")
        try:
            if self._format == "csv":
                yield from _csv_rows(text)
            else:
                yield from _jsonl_rows(text)
        except UnicodeDecodeError as exc:
            raise FileRefused("The file is not UTF-8 text; save it as CSV UTF-8 and send it again.") from exc


def _csv_rows(text: IO[str]) -> Iterator[Row]:
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRefused("The file is empty; it needs a header row and one row per affected customer.")
        header = [column.strip().lower() for column in header]
        check_header(header)
        width = len(header)
        for record in reader:
            if not record:
                continue  # a blank line
            number = _csv_row_number(reader)
            if len(record) != width:
                raw = dict(zip(header, record, strict=False))
                yield number, BadRow(f"has {len(record)} cells where the header has {width}", _raw(raw))
                continue
            yield number, _nul_free(dict(zip(header, record, strict=True)))
    except csv.Error as exc:
        raise FileRefused(f"The file is not valid CSV near line {reader.line_num}: {exc}.") from exc


def _csv_row_number(reader: Any) -> int:
    # The physical line the record ended on: the number a spreadsheet shows for the row, as long as no
    # cell holds a line break (the header is line 1).
    return int(reader.line_num)


def _jsonl_rows(text: IO[str]) -> Iterator[Row]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            yield number, BadRow("is not valid JSON", _raw({"line": line}))
            continue
        yield number, json_fields(value)


def json_fields(value: Any) -> dict[str, str] | BadRow:
    """One JSON row (an object of column: value) as text fields, or why it cannot be one."""
    if not isinstance(value, dict):
        return BadRow("is not a JSON object of column: value", {"value": str(value)[:RAW_VALUE_MAX]})
    unknown = sorted(str(key) for key in value if key not in KNOWN)
    if unknown:
        return BadRow(f"has unknown field(s) {_visible(', '.join(unknown[:10]))}", _raw(value))
    fields: dict[str, str] = {}
    for key, item in value.items():
        text = _text(item)
        if text is None:
            return BadRow(f"{key} must be a text, number or true/false value", _raw(value))
        fields[key] = text
    return _nul_free(fields)


def json_rows(values: Iterable[Any]) -> Iterator[Row]:
    """The rows of a JSON array already parsed (a small API body), numbered from 1."""
    for number, value in enumerate(values, start=1):
        yield number, json_fields(value)


def incremental_utf8_ok(sample: bytes) -> bool:
    """Whether a leading sample of an upload decodes as UTF-8 (a cheap check before queueing a big file)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True
