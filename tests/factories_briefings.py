"""Helpers for the frontline briefing and customer-view tests."""

from __future__ import annotations

from typing import Any

from care.briefings.models import IncidentBriefing
from care.briefings.services import briefing_draft_start, briefing_publish
from incidents.models import Incident, IncidentStatus
from tests.factories import IncidentFactory


def open_incident(**fields: Any) -> Incident:
    return IncidentFactory.create(**{"status": IncidentStatus.OPEN, **fields})


def published_briefing(incident: Incident, actor: Any = None, **texts: str) -> IncidentBriefing:
    """Publish the incident's next briefing version, starting from the previous one, with ``texts`` changed."""
    draft = briefing_draft_start(incident_id=incident.pk, actor=actor)
    for name, value in texts.items():
        setattr(draft, name, value)
    draft.save()
    return briefing_publish(briefing_id=draft.pk, actor=actor)
