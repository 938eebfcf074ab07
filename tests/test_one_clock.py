"""One clock (issue 13): every time a rep or a coordinator reads is on the station's clock and names its zone, and a
promise has UTC beside it: the helper, the workbench and the frontline pages, rendered with the test client."""

from __future__ import annotations

import datetime as dt
import html
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.template import Context, Template
from django.urls import reverse

from care.briefings.services import contact_note_add
from care.core.station_time import clock_label, station_time
from care.correspondence.models.letters import LetterEvent, LetterStatus
from incidents.models import Alert, AlertKind, Audience, IncidentStatus
from incidents.services import incident_post_update
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory, LetterFactory, UserFactory
from tests.factories_briefings import published_briefing

# 15:00 UTC on Wednesday 14 January 2026: 10:00 EST at Newark.
NOW = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)
# The promise: 16:30 UTC, 11:30 EST.
PROMISE = NOW + dt.timedelta(minutes=90)
PROMISE_SHOWN = "14 Jan 2026, 11:30 EST (16:30 UTC)"

_CLOCK_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_ZONE_NEXT = re.compile(r"\s*(?:[A-Z]{2,5}\b|[+-]\d{2,4}\b)")


def shown_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags or attributes (a <time datetime="…"> is for machines)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def bare_times(page: str) -> list[str]:
    """Every clock time on the page that does not say its zone, with a little of its context."""
    text = shown_text(page)
    return [
        text[max(0, match.start() - 40) : match.end() + 10]
        for match in _CLOCK_TIME.finditer(text)
        if not _ZONE_NEXT.match(text, match.end())
    ]


# --- The helper ---------------------------------------------------------------------------------------------


def test_station_time_tells_the_stations_clock_and_utc_beside_a_promise() -> None:
    assert station_time(PROMISE, "EWR") == "14 Jan 2026, 11:30 EST"
    assert station_time(PROMISE, "EWR", utc=True) == PROMISE_SHOWN
    assert station_time(PROMISE, "EWR", utc=True, date=False) == "11:30 EST (16:30 UTC)"
    assert station_time(PROMISE, "EWR", date=False, seconds=True) == "11:30:00 EST"
    summer = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
    assert station_time(summer, "JFK", utc=True) == "10 Jun 2026, 10:00 EDT (14:00 UTC)"
    late = dt.datetime(2026, 1, 15, 1, 30, tzinfo=dt.UTC)
    assert station_time(late, "JFK", utc=True) == "14 Jan 2026, 20:30 EST (15 Jan 2026, 01:30 UTC)"
    assert station_time(PROMISE, "LHR", utc=True) == "14 Jan 2026, 16:30 GMT (16:30 UTC)"


def test_an_incident_of_several_stations_says_whose_clock_and_none_known_is_utc() -> None:
    assert station_time(PROMISE, "JFK LHR", utc=True) == "14 Jan 2026, 11:30 EST at JFK (16:30 UTC)"
    assert station_time(PROMISE, "ZZZ CDG") == "14 Jan 2026, 17:30 CET at CDG"  # the first station with a zone
    assert station_time(PROMISE, "ZZZ", utc=True) == "14 Jan 2026, 16:30 UTC"
    assert station_time(PROMISE, None, utc=True) == "14 Jan 2026, 16:30 UTC"
    assert station_time(PROMISE, SimpleNamespace(stations="EWR")) == "14 Jan 2026, 11:30 EST"
    assert station_time(PROMISE, SimpleNamespace(time_zone="Europe/Paris")) == "14 Jan 2026, 17:30 CET"
    assert station_time(None, "EWR") == "—"
    assert clock_label("EWR") == "EWR time (America/New_York)"
    assert clock_label("") == "UTC"


def test_the_template_filters_are_the_helper() -> None:
    template = Template(
        "{% load station_time %}{{ m|station_time:incident }} | {{ m|station_time_utc:incident }} | "
        "{{ m|station_clock:incident }} | {{ m|station_clock }}"
    )
    rendered = template.render(Context({"m": PROMISE, "incident": SimpleNamespace(stations="EWR")}))
    assert rendered == f"14 Jan 2026, 11:30 EST | {PROMISE_SHOWN} | 11:30:00 EST | 16:30:00 UTC"


# --- The pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def newark(clock: Clock, db: Any) -> dict[str, Any]:
    """An open Newark incident at 10:00 EST, with a timeline, a briefing, a customer, a letter and a note."""
    clock.at(NOW - dt.timedelta(hours=1))
    incident = IncidentFactory.create(
        status=IncidentStatus.OPEN, stations="EWR", opened_at=NOW - dt.timedelta(hours=1), next_update_due_at=PROMISE
    )
    incident_post_update(incident=incident, audience=Audience.FRONTLINE, text="Desks open in terminal C.")
    clock.at(NOW - dt.timedelta(minutes=30))
    incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="The runways are being cleared. Our next update will come by 11:30 EST.",
        next_update_due_at=PROMISE,
    )
    published_briefing(incident, what_happened="Snow closed the runways.")
    customer = CustomerFactory.create(name="Ana Lima")
    affected = AffectedCustomerFactory.create(customer=customer, incident=incident, first_contacted_at=NOW)
    letter = LetterFactory.create(affected=affected, kind="initial_notice", status=LetterStatus.DELIVERED, sent_at=NOW)
    LetterEvent.objects.create(
        letter=letter, esp_name="postmark", event_id="e1", event_type="delivered", occurred_at=NOW
    )
    clock.at(NOW)
    contact_note_add(
        customer_id=customer.pk,
        author=UserFactory.create(username="note-taker"),
        text="Asked about a hotel.",
        promise="a call back",
        promised_by=PROMISE,
        incident_id=incident.pk,
    )
    Alert.objects.create(kind=AlertKind.PROMISE_LAPSING, key=f"incident:{incident.pk}", incident=incident, message="x")
    return {"incident": incident, "customer": customer, "affected": affected, "letter": letter}


def test_the_board_shows_newarks_clock_and_the_promise_in_utc(rep_client: Any, newark: dict[str, Any]) -> None:
    page = rep_client.get(reverse("briefings:board")).content.decode()

    assert "14 Jan 2026, 09:30 EST" in page  # the last update
    assert PROMISE_SHOWN in page
    assert 'data-countdown="2026-01-14T16:30:00+00:00"' in page  # what the script counts down to
    assert "Last refreshed at" in page
    assert "15:00:00 UTC" in page  # the board spans stations: its refresh clock is UTC, and says so
    assert bare_times(page) == []
    fragment = rep_client.get(reverse("briefings:board_live")).content.decode()
    assert 'data-server-clock="15:00:00 UTC"' in fragment
    assert bare_times(fragment) == []


def test_the_briefing_and_its_timeline_are_on_newarks_clock(rep_client: Any, newark: dict[str, Any]) -> None:
    reference = newark["incident"].reference
    page = rep_client.get(reverse("briefings:briefing", args=[reference])).content.decode()

    assert "14 Jan 2026, 09:00 EST" in page  # posted, and the briefing published, on Newark's clock
    assert "14 Jan 2026, 09:30 EST" in page
    assert f'next update promised by <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert f'· due <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert "10:00:00 EST" in page  # last refreshed
    assert bare_times(page) == []
    fragment = rep_client.get(reverse("briefings:briefing_live", args=[reference])).content.decode()
    assert 'data-server-clock="10:00:00 EST"' in fragment
    assert bare_times(fragment) == []


def test_the_customer_page_is_on_the_incidents_clock(rep_client: Any, newark: dict[str, Any]) -> None:
    page = rep_client.get(reverse("briefings:customer", args=[newark["customer"].pk])).content.decode()

    assert f'due <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert "14 Jan 2026, 10:00 EST" in page  # first contacted, sent, delivered, the note
    assert f'promised “a call back” by <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    # The factory's flight is from 2013: no refund under the US DOT rule, and the rep sees why.
    assert "<strong>US DOT refund rule</strong>: not in force for flights before 28 October 2024." in page
    assert "refund by regulation" not in page
    assert bare_times(page) == []


def test_the_incident_workbench_is_on_newarks_clock(coordinator_client: Any, newark: dict[str, Any]) -> None:
    incident = newark["incident"]
    listing = coordinator_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert PROMISE_SHOWN in listing
    assert "14 Jan 2026, 09:00 EST" in listing  # started
    assert bare_times(listing) == []

    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert PROMISE_SHOWN in page  # the incident's promise
    assert "14 Jan 2026, 09:30 EST" in page  # the timeline entry, posted …
    assert "14 Jan 2026, 11:30 EST" in page  # … its promise on the station's clock …
    assert "14 Jan 2026, 16:30 UTC" in page  # … and in UTC
    assert "Next update promised by (EWR time (America/New_York))" in page
    assert "Typed and shown in EWR time (America/New_York)." in page
    assert 'name="next_update_due_at_1" value="11:30:00"' in page  # the form's own field, on Newark's clock
    assert bare_times(page) == []


def test_affected_customers_letters_and_alerts_are_on_the_stations_clock(
    coordinator_client: Any, newark: dict[str, Any]
) -> None:
    for name in ("incidents_affectedcustomer", "care_letter", "incidents_alert"):
        listing = coordinator_client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert "14 Jan 2026, 10:00 EST" in listing, name
        assert bare_times(listing) == [], name
    for name, row in (("incidents_affectedcustomer", newark["affected"]), ("care_letter", newark["letter"])):
        page = coordinator_client.get(reverse(f"admin:{name}_change", args=[row.pk])).content.decode()
        assert "14 Jan 2026, 10:00 EST" in page, name
        assert bare_times(page) == [], name
    letter = coordinator_client.get(reverse("admin:care_letter_change", args=[newark["letter"].pk])).content.decode()
    assert "US DOT refund rule: not in force for flights before 28 October 2024" in letter


def test_an_alert_about_a_promise_names_it_on_the_stations_clock_and_in_utc(clock: Clock, db: Any) -> None:
    from care.operations.alerts import alerts_sweep

    now = clock.at(PROMISE - dt.timedelta(minutes=5))
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="EWR", next_update_due_at=PROMISE)

    alerts_sweep(now=now)

    alert = Alert.objects.get(kind=AlertKind.PROMISE_LAPSING, incident=incident)
    assert f"{incident.reference}: the update promised for 11:30 EST (16:30 UTC) is due soon" in alert.message
