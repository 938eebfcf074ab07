"""Small filters for the frontline pages: countdowns, one-point-per-line texts and FAQ pairs."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()

HOURS_A_DAY = 24


def _span(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours >= HOURS_A_DAY:
        days, hours = divmod(hours, HOURS_A_DAY)
        return f"{days} d {hours} h"
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


@register.filter
def countdown(due: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "in 23 min" or "overdue by 1 h 05 min"; the page's script keeps it ticking between refreshes."""
    if due is None:
        return "no update promised"
    seconds = (due - (now or timezone.now())).total_seconds()
    if seconds >= 0:
        return f"in {_span(int(seconds // 60))}"
    return f"overdue by {_span(int(-seconds // 60))}"


@register.filter
def is_overdue(due: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    return due is not None and due < (now or timezone.now())


@register.filter
def lines(text: str) -> list[str]:
    """The non-empty lines of a one-point-per-line text, without list markers people type."""
    return [line.strip().lstrip("-•*").strip() for line in (text or "").splitlines() if line.strip()]


@register.filter
def faq_pairs(text: str) -> list[tuple[str, str]]:
    """("question", "answer") pairs from "Q: …" / "A: …" lines; a line without a marker continues the last one."""
    pairs: list[list[str]] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line[:2].upper() == "Q:":
            pairs.append([line[2:].strip(), ""])
        elif line[:2].upper() == "A:" and pairs:
            pairs[-1][1] = (pairs[-1][1] + " " + line[2:].strip()).strip()
        elif pairs:
            target = 1 if pairs[-1][1] else 0
            pairs[-1][target] = (pairs[-1][target] + " " + line).strip()
        else:
            pairs.append([line, ""])
    return [(question, answer) for question, answer in pairs]
