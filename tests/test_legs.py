"""A customer on several flights of one incident (booking legs, issue 18) gets one letter at a time naming them all.

The rules are in care.correspondence.legs; these tests walk them through the sweeps and the coordinator's
preparing by hand, on the tests' own clock. Contention is proven on PostgreSQL in tests/test_legs_concurrency.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from care.correspondence.models.letters import LetterKind, LetterStatus
from care.correspondence.selectors import letter_preview
from care.correspondence.services import letters_prepare
from care.customers.models import Customer
from care.operations.sweeps import first_notices_for, sweep_first_notices, sweep_kept_promises
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from incidents.services import incidents_transition
from tests.clock import Clock
from tests.factories import CustomerFactory
from tests.test_streams import (  # the streams' walk: one customer, letters and markers, sent mail
    START,
    _eager_celery_and_outbox,  # noqa: F401 - a fixture, used by every test here
    _news,
    letters,
    on,
    open_incident,
    sent_to,
)

pytestmark = pytest.mark.django_db

LATER = dt.datetime(2013, 2, 8, 20, 30, tzinfo=dt.UTC)
EARLIER = dt.datetime(2013, 2, 8, 14, 0, tzinfo=dt.UTC)


def rebooked(clock: Clock, **incident: Any) -> tuple[Incident, Customer, AffectedCustomer, AffectedCustomer]:
    """One customer whose UA 10 was cancelled, rebooked onto UA 20 the same evening, delayed too: two legs of one
    incident. The later leg is recorded first (files list flights in any order)."""
    storm = open_incident(clock, explanation="A blizzard closed the runways at Newark.", **incident)
    customer = CustomerFactory.create(name="Rebooked Once")
    second = on(storm, customer, "20", scheduled_departure_at=LATER, cancelled=False, delay_minutes=190)
    first = on(storm, customer, "10", scheduled_departure_at=EARLIER, cancelled=True, delay_minutes=0)
    return storm, customer, first, second


def test_two_legs_get_one_first_notice_on_the_first_flight_naming_both(sweep: Any, clock: Clock) -> None:
    storm, customer, first, second = rebooked(clock)

    sweep(sweep_first_notices)

    (notice,), (marker,) = letters(customer, LetterKind.INITIAL_NOTICE)
    assert (notice.affected_id, notice.status) == (first.pk, LetterStatus.SENT)
    assert (marker.affected_id, marker.status, marker.combined_into_id) == (
        second.pk,
        LetterStatus.CANCELLED,
        notice.pk,
    )
    assert marker.check_reasons == [
        f"Combined into the initial notice L-{notice.pk} for {storm.reference}, which covers this flight too."
    ]
    assert sent_to(customer) == ["Your flights UA 10 and UA 20: what we know so far"]
    assert "Your flight UA 10 from Newark to Chicago on Friday 8 February 2013 was cancelled." in notice.body_text
    assert (
        "Your flight UA 20 from Newark to Chicago on Friday 8 February 2013 was delayed by 3 hours 10 minutes. "
        "What we know so far about it: the same as for your flight UA 10, above."  # not the paragraph again
    ) in notice.body_text
    assert notice.body_text.count("A blizzard closed the runways at Newark.") == 1
    # One letter reached them about both flights: both rows were contacted, and the counter says so.
    assert set(AffectedCustomer.objects.filter(customer=customer).values_list("first_contacted_at", flat=True)) == {
        START
    }
    storm.refresh_from_db()
    assert (storm.affected_count, storm.contacted_count) == (2, 2)
    assert sweep(sweep_first_notices, minutes=5)["customers"] == 0


def test_a_chunk_holding_only_the_later_leg_writes_the_customers_letter_on_the_first(sweep: Any, clock: Clock) -> None:
    _storm, customer, first, second = rebooked(clock)

    sweep(lambda now: {"queued": first_notices_for(incident_id=first.incident_id, affected_ids=[second.pk])})
    sweep(lambda now: {"queued": first_notices_for(incident_id=first.incident_id, affected_ids=[first.pk])})

    (notice,), (marker,) = letters(customer, LetterKind.INITIAL_NOTICE)
    assert (notice.affected_id, marker.affected_id, marker.combined_into_id) == (first.pk, second.pk, notice.pk)
    assert len(sent_to(customer)) == 1


def test_each_promise_gives_one_update_naming_both_legs(sweep: Any, clock: Clock) -> None:
    storm, customer, first, second = rebooked(clock)
    sweep(sweep_first_notices)
    _news(storm, "Passengers of cancelled flights are rebooked for Saturday morning.", clock, minutes=10)

    sweep(sweep_kept_promises, minutes=31)
    sweep(sweep_kept_promises, minutes=91)

    updates, markers = letters(customer, LetterKind.UPDATE)
    assert [(x.affected_id, x.sequence) for x in updates] == [(first.pk, 1), (first.pk, 2)]
    assert [(x.affected_id, x.sequence, x.combined_into_id) for x in markers] == [
        (second.pk, 1, updates[0].pk),
        (second.pk, 2, updates[1].pk),
    ]
    assert sent_to(customer)[1:] == [
        "Update 1 on your flights UA 10 and UA 20",
        "Update 2 on your flights UA 10 and UA 20",
    ]
    assert "This is update number 2 about your flights UA 10 and UA 20" in updates[1].body_text
    assert "What happened: the same as for your flight UA 10, above." in updates[1].body_text
    # The news is told once, and the other leg points to it.
    assert updates[0].body_text.count("rebooked for Saturday morning") == 1
    assert "What is new: the same as for your flight UA 10, above." in updates[0].body_text


def test_one_apology_speaks_of_both_legs(clock: Clock) -> None:
    storm, customer, first, second = rebooked(
        clock,
        apology=(
            "We are sorry. You were on your way home on Friday, and instead of getting you there we cancelled your "
            "flight and then kept you waiting at the gate for the next one."
        ),
        prevention="We are adding de-icing crews at Newark for the rest of the winter.",
    )
    clock.at(START + dt.timedelta(hours=6))
    incidents_transition(incident_ids=[storm.pk], target=IncidentStatus.RESOLVED, actor_label="test")

    letters_prepare(incident_id=storm.pk, kind=LetterKind.APOLOGY)

    (apology,), (marker,) = letters(customer, LetterKind.APOLOGY)
    assert (apology.affected_id, marker.affected_id, marker.combined_into_id) == (first.pk, second.pk, apology.pk)
    assert marker.check_reasons == [
        f"Combined into the apology L-{apology.pk} for {storm.reference}, which covers this flight too."
    ]
    assert "UA 10" in apology.body_text
    assert "UA 20" in apology.body_text
    assert apology.check_passed, apology.check_reasons
    assert letters_prepare(incident_id=storm.pk, kind=LetterKind.APOLOGY).created == 0


def test_a_leg_recorded_while_the_notice_is_a_draft_joins_it_and_later_ones_get_their_own(clock: Clock) -> None:
    storm = open_incident(clock, explanation="A blizzard closed the runways at Newark.", auto_send_notices=False)
    customer = CustomerFactory.create()
    first = on(storm, customer, "10", scheduled_departure_at=EARLIER)
    letters_prepare(incident_id=storm.pk, kind=LetterKind.INITIAL_NOTICE)  # by hand: a draft for the coordinator
    second = on(storm, customer, "20", scheduled_departure_at=LATER, cancelled=False, delay_minutes=75)

    letters_prepare(incident_id=storm.pk, kind=LetterKind.INITIAL_NOTICE)

    (draft,), (marker,) = letters(customer, LetterKind.INITIAL_NOTICE)
    assert (draft.affected_id, draft.status, marker.affected_id) == (first.pk, LetterStatus.DRAFT, second.pk)
    assert marker.combined_into_id == draft.pk
    assert draft.subject == "Your flights UA 10 and UA 20: what we know so far"
    assert "was delayed by 1 hour 15 minutes" in draft.body_text

    # Once that letter has gone, a leg recorded after it is written to on its own.
    type(draft).objects.filter(pk=draft.pk).update(status=LetterStatus.SENT)
    third = on(storm, customer, "30", flight_date=dt.date(2013, 2, 9))
    letters_prepare(incident_id=storm.pk, kind=LetterKind.INITIAL_NOTICE)
    real, _markers = letters(customer, LetterKind.INITIAL_NOTICE)
    assert [x.affected_id for x in real] == [first.pk, third.pk]


def test_the_preview_names_both_legs_as_the_letter_would(clock: Clock) -> None:
    _storm, _customer, first, _second = rebooked(clock)

    preview = letter_preview(affected_id=first.pk, kind=LetterKind.INITIAL_NOTICE)

    assert preview.subject == "Your flights UA 10 and UA 20: what we know so far"
    assert preview.reasons == []
