"""The incident's change form as a browser posts it back, for tests that save through the workbench."""

from __future__ import annotations

from typing import Any

from care.core.station_time import clock_of


def incident_change_form(incident: Any, *, timeline_rows: int = 0, **changes: str) -> dict[str, str]:
    """Every field as the form showed it: times on the station's clock (care.core.station_time), where they are
    typed back; no inline row unless ``timeline_rows`` asks for empty timeline rows to fill in."""
    zone = clock_of(incident).zone
    started = incident.started_at.astimezone(zone)
    data = {
        "title": incident.title,
        "kind": incident.kind,
        "cause": incident.cause,
        "severity": str(incident.severity),
        "owner": "",
        "stations": incident.stations,
        "flights": incident.flights,
        "started_at_0": started.strftime("%Y-%m-%d"),
        "started_at_1": started.strftime("%H:%M:%S"),
        "next_update_due_at_0": "",
        "next_update_due_at_1": "",
        "first_contact_target_minutes": str(incident.first_contact_target_minutes),
        "auto_send_notices": "on",
        "explanation": incident.explanation,
        "apology": incident.apology,
        "prevention": incident.prevention,
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        "paragraph_variants-TOTAL_FORMS": "0",
        "paragraph_variants-INITIAL_FORMS": "0",
        "updates-TOTAL_FORMS": str(timeline_rows),
        "updates-INITIAL_FORMS": "0",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
    }
    if incident.next_update_due_at is not None:
        due = incident.next_update_due_at.astimezone(zone)
        data |= {"next_update_due_at_0": due.strftime("%Y-%m-%d"), "next_update_due_at_1": due.strftime("%H:%M:%S")}
    return data | changes
