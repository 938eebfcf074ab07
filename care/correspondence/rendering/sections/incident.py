"""The incident section, and what its timeline adds: the latest news and the next update promised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from care.correspondence.rendering.formatting import LetterFormats
from incidents.models import Incident


def incident_section(incident: Incident, *, texts: Mapping[str, str]) -> dict[str, Any]:
    """``texts`` are the coordinator's explanation, apology and prevention in the letter's language
    (``rendering.incident_texts.incident_texts``)."""
    return {
        "reference": incident.reference,
        "title": incident.title,
        **texts,
        "within_control": incident.within_control,
    }


def news_section(news: str) -> str:
    """``news`` is the latest customer-facing timeline entry (``rendering.incident_texts.latest_news``); "" when
    there is none, or when it is the sweep's "no news yet" entry, which the update template words itself."""
    return news.strip()


def promise_section(incident: Incident, *, formats: LetterFormats, now: dt.datetime) -> str:
    """When the customer will hear from us next, in their zone; "" once that time has gone: a letter never
    promises a time that is already past."""
    due = incident.next_update_due_at
    return formats.moment(due) if due is not None and due > now else ""
