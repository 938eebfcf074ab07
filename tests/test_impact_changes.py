"""A worsened impact is told (issue 14): the flight feed moves a flight, and the next update sweep writes to exactly
the passengers whose flight got worse than their last letter said, once, leading with what changed; a letter not
sent yet is written again with the new facts instead."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from care.core.actors import SystemActor
from care.correspondence.impact_told import customers_to_tell
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus
from care.customers.models import Customer
from care.operations.sweeps import sweep_first_notices, sweep_kept_promises
from incidents.flight_feed import flight_events_apply
from incidents.flights import flights_for_affected
from incidents.models import AffectedCustomer, Incident
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import CustomerFactory
from tests.test_streams import _eager_celery_and_outbox, letters, on, open_incident, sent_to  # noqa: F401

pytestmark = pytest.mark.django_db

START = DAYTIME_IN_NEW_YORK
EST = dt.timezone(dt.timedelta(hours=-5))
DEPARTURE = dt.datetime(2013, 2, 8, 14, 0, tzinfo=EST)
FEED = SystemActor("API token OCC")
_events = iter(range(1, 10_000))


def move(number: str, *, delay: int | None = None, status: str = "delayed", minutes_after: int = 0) -> None:
    """The operations system says UA ``number`` is now ``status`` (delayed by ``delay`` minutes)."""
    event: dict[str, Any] = {
        "event_id": f"E{next(_events)}",
        "occurred_at": (DEPARTURE - dt.timedelta(hours=3) + dt.timedelta(minutes=minutes_after)).isoformat(),
        "carrier": "UA",
        "flight_number": number,
        "flight_date": "2013-02-08",
        "origin": "EWR",
        "status": status,
    }
    if delay is not None:
        event["scheduled_departure_at"] = DEPARTURE.isoformat()
        event["estimated_departure_at"] = (DEPARTURE + dt.timedelta(minutes=delay)).isoformat()
    (result,) = flight_events_apply(events=[event], source="OCC", actor=FEED)
    assert result.outcome == "applied", result


def updates(customer: Customer) -> list[Letter]:
    real, _markers = letters(customer, LetterKind.UPDATE)
    return real


@pytest.fixture
def day(clock: Clock) -> tuple[Incident, list[Customer], Customer]:
    """An open incident: three passengers on UA 1545 (delayed 70 minutes), one on UA 22 (delayed 90); every one
    told by their first notice. The promised update is due in 30 minutes."""
    incident = open_incident(clock, explanation="Snow closed one of Newark's runways this morning.")
    on_1545 = [CustomerFactory.create() for _ in range(3)]
    other = CustomerFactory.create()
    for customer in on_1545:
        on(incident, customer, "1545", flight_date=DEPARTURE.date(), origin="EWR", delay_minutes=70, cancelled=False)
    on(incident, other, "22", flight_date=DEPARTURE.date(), origin="EWR", delay_minutes=90, cancelled=False)
    flights_for_affected(incident_ids=[incident.pk])
    return incident, on_1545, other


def test_a_worsened_delay_is_told_at_once_to_exactly_its_passengers(sweep: Any, day: Any) -> None:
    incident, on_1545, other = day
    sweep(sweep_first_notices)
    move("1545", delay=200, minutes_after=5)
    assert AffectedCustomer.objects.filter(impact_changed_at__isnull=False).count() == 3
    assert len(customers_to_tell(now=START)[incident.pk].update) == 3

    counts = sweep(sweep_kept_promises, minutes=1)  # the promise is not due: only the impact update goes

    assert (counts["updates"], counts["impact_updates"], counts["impact_customers"]) == (0, 1, 3)
    batch = LetterBatch.objects.get(incident=incident, kind=LetterKind.UPDATE)
    assert (batch.sequence, batch.for_impact_change) == (1, True)
    for customer in on_1545:
        (letter,) = updates(customer)
        assert letter.status == LetterStatus.SENT
        assert letter.impact_told == [200, False, False]
        assert sent_to(customer)[-1] == "Update 1 on your flight UA 1545"
        assert (
            "We are writing sooner than we promised, because something has changed for you.\n\n"
            "The delay of your flight UA 1545 has grown to 3 hours 20 minutes. When we last wrote to you, we "
            "expected a delay of 1 hour 10 minutes."
        ) in letter.body_text
        assert "as we promised" not in letter.body_text
        assert "There is no news yet" not in letter.body_text
    assert updates(other) == []
    assert customers_to_tell(now=START) == {}

    # Level-triggered: the next run finds nobody; the promised update then goes to everyone, as promised.
    assert sweep(sweep_kept_promises, minutes=2)["impact_updates"] == 0
    counts = sweep(sweep_kept_promises, minutes=30)
    assert (counts["updates"], counts["impact_updates"]) == (1, 0)
    for customer in [*on_1545, other]:
        promised = updates(customer)[-1]
        assert promised.sequence == 2
        assert "as we promised" in promised.body_text
        assert "has grown" not in promised.body_text
        # No news since the last update to everyone: "no news yet", even though an impact update went between.
        assert "There is no news yet" in promised.body_text
    assert len(updates(on_1545[0])) == 2


def test_a_cancellation_after_the_delay_is_told_and_a_shorter_delay_is_not(sweep: Any, day: Any) -> None:
    _incident, on_1545, other = day
    sweep(sweep_first_notices)
    move("22", delay=75, minutes_after=5)  # better than the 90 minutes told: nothing to tell
    move("1545", delay=200, minutes_after=5)
    sweep(sweep_kept_promises, minutes=1)
    move("1545", status="cancelled", minutes_after=20)
    counts = sweep(sweep_kept_promises, minutes=10)  # the first impact batch is 9 minutes old: not in flight
    assert counts["impact_customers"] == 3
    for customer in on_1545:
        _first, second = updates(customer)
        assert second.sequence == 2
        assert second.impact_told == [200, True, False]
        assert (
            "Your flight UA 1545 has now been cancelled. When we last wrote to you, we expected a delay of 3 hours "
            "20 minutes."
        ) in second.body_text
    assert updates(other) == []


def test_a_change_while_a_batch_is_being_written_waits_for_it(sweep: Any, day: Any, clock: Clock) -> None:
    """A passenger who changed before the incident's newest update batch, while it is young, is told by it; a lost
    fan-out resumed tells them too, and no second letter follows."""
    incident, on_1545, other = day
    sweep(sweep_first_notices)
    move("1545", delay=200, minutes_after=5)
    clock.at(START + dt.timedelta(minutes=1))
    # A batch numbered just now whose letters the workers have not written yet (its fan-out still in the broker).
    LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=1)
    assert sweep(sweep_kept_promises, minutes=3)["impact_updates"] == 0
    # Five minutes on, the fan-out was lost: the kept-promises sweep resumes it, and that update tells them.
    counts = sweep(sweep_kept_promises, minutes=7)
    assert (counts["resumed"], counts["impact_updates"]) == (1, 0)
    assert sweep(sweep_kept_promises, minutes=8)["impact_updates"] == 0
    for customer in on_1545:
        (update,) = updates(customer)
        assert update.sequence == 1
        assert "The delay of your flight UA 1545 has grown to 3 hours 20 minutes." in update.body_text
    (update,) = updates(other)
    assert "has grown" not in update.body_text


def test_a_change_after_the_newest_batch_is_told_at_once(sweep: Any, day: Any, clock: Clock) -> None:
    incident, on_1545, _other = day
    sweep(sweep_first_notices)
    clock.at(START + dt.timedelta(minutes=1))
    LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=1)  # written to nobody yet
    clock.at(START + dt.timedelta(seconds=90))
    move("1545", delay=200, minutes_after=5)
    counts = sweep(sweep_kept_promises, minutes=2)
    assert (counts["impact_updates"], counts["impact_customers"]) == (1, 3)
    assert {letter.sequence for customer in on_1545 for letter in updates(customer)} == {2}


def test_a_letter_not_sent_yet_is_written_again_with_the_new_facts(sweep: Any, day: Any) -> None:
    incident, on_1545, _other = day
    Incident.objects.filter(pk=incident.pk).update(auto_send_notices=True)
    sweep(sweep_first_notices)
    first = letters(on_1545[0], LetterKind.INITIAL_NOTICE)[0][0]
    # As if it had been held: a draft the coordinator has not released yet.
    Letter.objects.filter(pk=first.pk).update(status=LetterStatus.DRAFT)
    move("1545", delay=200, minutes_after=5)

    counts = sweep(sweep_kept_promises, minutes=1)

    first.refresh_from_db()
    assert counts["impact_rerendered"] == 1
    assert first.impact_told == [200, False, False]
    assert "delayed by 3 hours 20 minutes" in first.body_text
    assert updates(on_1545[0]) == []  # the notice tells them; no update besides
    assert [len(updates(customer)) for customer in on_1545[1:]] == [1, 1]


def test_a_letter_queued_for_the_customers_morning_is_written_again(sweep: Any, day: Any) -> None:
    _incident, on_1545, _other = day
    sweep(sweep_first_notices)
    move("1545", delay=150, minutes_after=5)
    sweep(sweep_kept_promises, minutes=1)
    update = updates(on_1545[0])[0]
    # As if it had been written in the customer's night: queued for their morning.
    morning = START + dt.timedelta(hours=6)
    Letter.objects.filter(pk=update.pk).update(
        status=LetterStatus.QUEUED, send_after=morning, sent_at=None, handover_at=None, esp_message_id=""
    )
    move("1545", delay=200, minutes_after=20)

    counts = sweep(sweep_kept_promises, minutes=10)

    update.refresh_from_db()
    assert counts["impact_rerendered"] == 1, counts
    assert (update.status, update.send_after, update.impact_told) == (LetterStatus.QUEUED, morning, [200, False, False])
    assert "has grown to 3 hours 20 minutes" in update.body_text
    assert len(updates(on_1545[0])) == 1
    # The two others had theirs already: they are told again (the delay crossed 180 minutes).
    assert [len(updates(customer)) for customer in on_1545[1:]] == [2, 2]


def test_the_incident_page_shows_the_customers_to_update(sweep: Any, day: Any, client: Any, coordinator: Any) -> None:
    incident, _on_1545, _other = day
    sweep(sweep_first_notices)
    client.force_login(coordinator)
    url = f"/admin/incidents/incident/{incident.pk}/change/"
    assert "None: every customer" in client.get(url).content.decode()
    move("1545", delay=200, minutes_after=5)
    page = client.get(url).content.decode()
    assert "3 whose flight got worse since their last letter" in page


def test_a_passenger_who_joined_later_reads_their_own_update_numbers(sweep: Any, day: Any) -> None:
    """The incident numbers its updates from its first; a passenger it took in later (detection adds flights all
    day) reads "update number 1" in their first update, not the incident's eighth."""
    incident, on_1545, _other = day
    sweep(sweep_first_notices)
    sweep(sweep_kept_promises, minutes=30)
    sweep(sweep_kept_promises, minutes=90)  # updates 1 and 2 to the first passengers
    late = CustomerFactory.create()
    row = on(incident, late, "1545", flight_date=DEPARTURE.date(), origin="EWR", delay_minutes=70, cancelled=False)
    AffectedCustomer.objects.filter(pk=row.pk).update(created_at=START + dt.timedelta(minutes=91))  # joined now
    sweep(sweep_first_notices, minutes=91)
    sweep(sweep_kept_promises, minutes=150)
    (theirs,) = updates(late)
    assert theirs.sequence == 3  # the incident's third
    assert theirs.subject == "Update 1 on your flight UA 1545"
    assert "This is update number 1 about your flight UA 1545" in theirs.body_text
    assert updates(on_1545[0])[-1].subject == "Update 3 on your flight UA 1545"
