"""A customer update's words and its promise name the same time (issue 13): the check, the service and the admin
form that refuse a contradiction, the sweep's "no news yet" entry, and the demo's timeline."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pytest
from django.urls import reverse

from care.core.errors import DomainError
from care.core.station_time import clock_of, station_time
from care.operations.sweeps import sweep_kept_promises
from incidents.demo_data import read_flights
from incidents.demo_data.story import FRIDAY, SATURDAY, StationFacts, story_for
from incidents.models import Audience, IncidentStatus, IncidentUpdate
from incidents.promises import promise_contradiction
from incidents.services import incident_post_update
from tests.admin_forms import incident_change_form
from tests.clock import Clock
from tests.factories import IncidentFactory

# 16:00 UTC on Wednesday 14 January 2026 is 11:00 EST in New York.
PROMISE = dt.datetime(2026, 1, 14, 16, 0, tzinfo=dt.UTC)
BEFORE = PROMISE - dt.timedelta(hours=2)


# --- The check ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Our next update will come by 11:00.",
        "Our next update will come by 11:00 EST.",
        "We will update you by 16:00 UTC.",
        "You will hear from us again by 11 am.",
        "Our next update will follow by 14 Jan 2026, 11:00 EST (16:00 UTC).",
        "Runways reopen at 18:00. Our next update will come by 11:00.",  # the first sentence is no promise
        "Our next update will come within 3 hours.",  # no time of day named
        "Our next update will come by 08:00 PST.",  # another zone's clock: not judged
        "The desks reopen at 05:00.",
    ],
)
def test_words_that_agree_with_the_promise_pass(text: str) -> None:
    assert promise_contradiction(text=text, promise=PROMISE, place="JFK") is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Our next update will come by 16:00.", "16:00"),  # the promise's UTC time, read on the station's clock
        ("Our next update will come by 11:00 UTC.", "11:00 UTC"),
        ("We will update you by 4 pm EST.", "4 pm EST"),
        ("Our next update will come by 11:00 EST (11:00 UTC).", "11:00 UTC"),
    ],
)
def test_words_that_name_another_time_are_a_contradiction(text: str, named: str) -> None:
    problem = promise_contradiction(text=text, promise=PROMISE, place="JFK")
    assert problem == (
        f"The text says the next update comes by {named}, but its promise is 14 Jan 2026, 11:00 EST (16:00 UTC): "
        "make the text and the promise agree."
    )


def test_words_that_name_a_time_need_a_promise() -> None:
    problem = promise_contradiction(text="Our next update will come by 11:00.", promise=None, place="JFK")
    assert problem is not None
    assert problem.startswith("The text promises the next update by 11:00, but no time is promised for it")
    assert promise_contradiction(text="We are rebooking everyone.", promise=None, place="JFK") is None


def test_a_station_without_a_known_zone_is_read_in_utc() -> None:
    assert promise_contradiction(text="Next update by 16:00.", promise=PROMISE, place="ZZZ") is None
    assert promise_contradiction(text="Next update by 11:00.", promise=PROMISE, place="ZZZ") is not None


# --- The service and the admin form -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_service_refuses_a_customer_update_whose_words_contradict_its_promise(clock: Clock) -> None:
    clock.at(BEFORE)
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="JFK", next_update_due_at=PROMISE)

    with pytest.raises(DomainError, match=re.escape("comes by 16:00, but its promise is 14 Jan 2026, 11:00 EST")):
        incident_post_update(
            incident=incident, audience=Audience.CUSTOMERS, text="Next update by 16:00.", next_update_due_at=PROMISE
        )
    # Without a promise of its own, the update is held to the incident's.
    with pytest.raises(DomainError, match="its promise is 14 Jan 2026, 11:00 EST"):
        incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text="Next update by 12:00.")
    assert not IncidentUpdate.objects.exists()

    incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text="Next update by 11:00 EST.")
    later = PROMISE + dt.timedelta(hours=1)
    incident_post_update(
        incident=incident, audience=Audience.CUSTOMERS, text="Next update by 12:00.", next_update_due_at=later
    )
    # Frontline and internal notes promise customers nothing.
    incident_post_update(incident=incident, audience=Audience.FRONTLINE, text="Tell them: update by 09:00.")
    assert IncidentUpdate.objects.count() == 3
    incident.refresh_from_db()
    assert incident.next_update_due_at == later


def incident_form(incident: Any, **changes: str) -> dict[str, str]:
    """The incident's change form as the browser posts it back, with one timeline row to fill in."""
    return incident_change_form(incident, timeline_rows=1, **changes)


def station_zone(incident: Any) -> dt.tzinfo:
    return clock_of(incident).zone


@pytest.mark.django_db
def test_the_admin_shows_the_contradiction_on_the_update_and_saves_nothing(
    coordinator_client: Any, clock: Clock
) -> None:
    clock.at(BEFORE)
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="EWR", next_update_due_at=PROMISE)
    assert incident.started_at == BEFORE
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    new_update = {
        "updates-0-audience": Audience.CUSTOMERS,
        "updates-0-text": "Our next update will come by 16:00.",
        "updates-0-next_update_due_at_0": "2026-01-14",
        "updates-0-next_update_due_at_1": "11:00:00",  # typed on Newark's clock: 16:00 UTC
    }

    refused = coordinator_client.post(url, incident_form(incident, title="Changed", **new_update))

    assert refused.status_code == 200
    page = refused.content.decode()
    assert "The text says the next update comes by 16:00, but its promise is 14 Jan 2026, 11:00 EST (16:00 UTC)" in (
        page
    )
    incident.refresh_from_db()
    assert incident.title != "Changed"
    assert not IncidentUpdate.objects.exists()

    agreed = coordinator_client.post(
        url, incident_form(incident, **(new_update | {"updates-0-text": "Our next update will come by 11:00."}))
    )

    assert agreed.status_code == 302, agreed.content.decode()[:3000]
    update = IncidentUpdate.objects.get()
    assert update.next_update_due_at == PROMISE  # the time typed on the station's clock, stored as the instant
    incident.refresh_from_db()
    assert incident.next_update_due_at == PROMISE
    assert incident.started_at == BEFORE  # shown and posted back on Newark's clock: the same instant


# --- The sweep's "no news yet" --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_news_yet_names_its_promise_on_the_stations_clock_and_in_utc(clock: Clock) -> None:
    now = clock.at(PROMISE + dt.timedelta(minutes=1))
    incident = IncidentFactory.create(
        status=IncidentStatus.OPEN,
        stations="JFK",
        opened_at=now - dt.timedelta(hours=2),
        next_update_due_at=PROMISE,
        update_interval_minutes=59,
    )

    sweep_kept_promises(now=now)

    entry = IncidentUpdate.objects.get(incident=incident, no_news=True)
    assert entry.next_update_due_at == now + dt.timedelta(minutes=59)
    assert entry.text == (
        "No news yet: we are still working on it. Our next update will follow by 14 Jan 2026, 12:00 EST (17:00 UTC)."
    )
    assert promise_contradiction(text=entry.text, promise=entry.next_update_due_at, place=incident) is None


# --- The demo's timeline ------------------------------------------------------------------------------------


def test_every_demo_update_names_the_time_of_its_own_promise_on_the_stations_clock() -> None:
    by_station_day: dict[tuple[str, dt.date], list[Any]] = defaultdict(list)
    for flight in read_flights():
        by_station_day[(flight.origin, flight.date)].append(flight)
    checked = 0
    for station in ("EWR", "JFK", "LGA"):
        for day in (FRIDAY, SATURDAY):
            story = story_for(StationFacts.of(by_station_day[(station, day)]))
            for post in story.posts:
                if post.audience != Audience.CUSTOMERS:
                    continue
                assert post.next_update_due_at is not None
                assert promise_contradiction(text=post.text, promise=post.next_update_due_at, place=station) is None
                said = station_time(post.next_update_due_at, station, date=False)
                assert f"Our next update will come by {said}" in post.text, post.text
                assert said.endswith(" EST")
                checked += 1
    assert checked == 12


def _api_headers() -> dict[str, str]:
    from care.core.api.tokens import api_token_create

    _, raw = api_token_create(name="OCC", scopes=["ingest", "read"])
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.django_db
def test_a_promise_in_the_past_or_beyond_the_horizon_is_refused_with_a_clear_400(
    client: Any, clock: Clock, settings: Any
) -> None:
    """The documented example once promised 1 January 2030 and every first notice carried it."""
    import json

    settings.CARE_PROMISE_HORIZON = dt.timedelta(hours=24)
    now = clock.at(dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC))
    headers = _api_headers()
    body = {
        "title": "Blizzard at JFK",
        "kind": "cancellation",
        "cause": "weather",
        "severity": 4,
        "stations": "JFK",
        "explanation": "A blizzard closed the runways.",
    }

    def create(due: dt.datetime) -> Any:
        payload = {**body, "next_update_due_at": due.isoformat()}
        return client.post(
            "/api/v1/incidents/", data=json.dumps(payload), content_type="application/json", headers=headers
        )

    far = create(dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC))
    assert far.status_code == 400, far.content
    assert "more than 24 hours ahead" in far.content.decode()
    past = create(now - dt.timedelta(minutes=1))
    assert past.status_code == 400
    assert "has passed" in past.content.decode()
    from incidents.models import Incident

    assert not Incident.objects.exists()  # nothing half-written
    made = create(now + dt.timedelta(hours=23))
    assert made.status_code == 201, made.content
    incident_id = made.json()["id"]

    patched = client.patch(
        f"/api/v1/incidents/{incident_id}/",
        data=json.dumps({"next_update_due_at": (now + dt.timedelta(days=3)).isoformat()}),
        content_type="application/json",
        headers=headers,
    )
    assert patched.status_code == 400
    assert Incident.objects.get(pk=incident_id).next_update_due_at == now + dt.timedelta(hours=23)


@pytest.mark.django_db
def test_a_timeline_entry_promises_within_the_horizon(clock: Clock, settings: Any) -> None:
    settings.CARE_PROMISE_HORIZON = dt.timedelta(hours=6)
    now = clock.at(dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC))
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="JFK")
    with pytest.raises(DomainError, match="more than 6 hours ahead"):
        incident_post_update(
            incident=incident,
            audience=Audience.CUSTOMERS,
            text="Runways are being cleared.",
            next_update_due_at=now + dt.timedelta(hours=7),
        )
    assert not IncidentUpdate.objects.filter(incident=incident).exists()
    incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="Runways are being cleared.",
        next_update_due_at=now + dt.timedelta(hours=5),
    )
    # A timeline loaded from history keeps its own promises, long past.
    incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="Flights are suspended.",
        posted_at=dt.datetime(2013, 2, 8, 15, 0, tzinfo=dt.UTC),
        next_update_due_at=dt.datetime(2013, 2, 8, 17, 0, tzinfo=dt.UTC),
    )
