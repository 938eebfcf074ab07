"""The published frontline briefing over the API: latest version by default, drafts never, read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from care.briefings.models import IncidentBriefing
from care.briefings.services import briefing_draft_start, briefing_publish
from care.core.api.tokens import api_token_create
from incidents.models import IncidentStatus
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def _bearer(scopes: list[str]) -> dict[str, str]:
    _token, raw = api_token_create(name="OCC", scopes=scopes)
    return {"Authorization": f"Bearer {raw}"}


def _two_versions_and_a_draft(coordinator: Any) -> Any:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, explanation="Snow closed the runways.")
    briefing_publish(briefing_id=briefing_draft_start(incident_id=incident.pk).pk, actor=coordinator)
    second = briefing_draft_start(incident_id=incident.pk)
    second.what_happened = "Snow closed the runways; the first departures left at 09:00."
    second.save()
    briefing_publish(briefing_id=second.pk, actor=coordinator)
    draft = briefing_draft_start(incident_id=incident.pk)
    draft.what_happened = "Not yet published: must not be read by anyone."
    draft.save()
    return incident


def test_the_latest_published_version_only(client: Client, coordinator: Any) -> None:
    incident = _two_versions_and_a_draft(coordinator)
    response = client.get("/api/v1/briefings/", {"incident_reference": incident.reference}, headers=_bearer(["read"]))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["incident_reference"], row["version"]) for row in rows] == [(incident.reference, 2)]
    assert rows[0]["what_happened"].endswith("left at 09:00.")
    assert rows[0]["published_by"] == coordinator.get_username()

    every = client.get(
        "/api/v1/briefings/", {"incident": incident.pk, "all_versions": "true"}, headers=_bearer(["read"])
    ).json()["results"]
    assert sorted(row["version"] for row in every) == [1, 2]
    assert all("Not yet published" not in row["what_happened"] for row in every)


def test_rep_reads_nobody_writes(rep_client: Client, coordinator_client: Client, coordinator: Any) -> None:
    incident = _two_versions_and_a_draft(coordinator)
    assert rep_client.get("/api/v1/briefings/").status_code == 200
    briefing_id = rep_client.get("/api/v1/briefings/").json()["results"][0]["id"]
    assert rep_client.get(f"/api/v1/briefings/{briefing_id}/").json()["incident"] == incident.pk
    assert coordinator_client.post("/api/v1/briefings/", {"incident": incident.pk}).status_code == 405
    assert coordinator_client.delete(f"/api/v1/briefings/{briefing_id}/").status_code in (403, 405)
    assert IncidentBriefing.objects.filter(pk=briefing_id).exists()


def test_tokens_need_the_read_scope(client: Client, coordinator: Any) -> None:
    _two_versions_and_a_draft(coordinator)
    assert client.get("/api/v1/briefings/", headers=_bearer(["redeem"])).status_code == 403
    assert client.get("/api/v1/briefings/").status_code in (401, 403)
