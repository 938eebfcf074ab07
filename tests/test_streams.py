"""One stream per customer (issue 13): a customer on several open incidents gets one notice and one update at a time.

The rules are in care.correspondence.streams; these tests walk them through the sweeps, on the tests' own clock.
Concurrency (two sweeps, two chunks at once) is proven on PostgreSQL in tests/test_streams_concurrency.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.db.models import Q

from care.core.audit import AuditEntry
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.services import letters_render
from care.correspondence.selectors import letter_preview
from care.correspondence.services import letters_prepare
from care.customers.models import Customer
from care.operations.sweeps import first_notices_for, sweep_first_notices, sweep_kept_promises
from incidents.models import AffectedCustomer, Audience, Incident, IncidentStatus
from incidents.services import incident_post_update, incidents_refresh_counts
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db

START = DAYTIME_IN_NEW_YORK
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _eager_celery_and_outbox(settings: Any) -> Iterator[None]:
    """Tasks published after commit run inline, as a worker would; "sent" email lands in the outbox table."""
    from config.celery import app

    settings.EMAIL_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def open_incident(clock: Clock, *, due: int = 30, interval: int = 60, **fields: Any) -> Incident:
    clock.at(START)
    return IncidentFactory.create(
        status=IncidentStatus.OPEN,
        opened_at=START - dt.timedelta(hours=1),
        next_update_due_at=START + due * MINUTE,
        update_interval_minutes=interval,
        **fields,
    )


def on(incident: Incident, customer: Customer, number: str, **fields: Any) -> AffectedCustomer:
    row = AffectedCustomerFactory.create(
        incident=incident, customer=customer, carrier="UA", flight_number=number, created_at=START, **fields
    )
    incidents_refresh_counts(incident_ids=[incident.pk])
    return row


def friday_and_saturday(clock: Clock, **saturday: Any) -> tuple[Incident, Incident, Customer, Customer]:
    """Friday's cancellations (the older incident) and Saturday's delays, one customer on both (rebooked from
    Friday's UA 1 onto Saturday's UA 2) and one on Friday's alone."""
    friday = open_incident(clock, explanation="A blizzard closed the runways at Newark on Friday.")
    saturday.setdefault("explanation", "The snow left on Saturday slowed every departure from Newark.")
    saturday_incident = open_incident(clock, **saturday)
    both, alone = CustomerFactory.create(name="Rebooked Twice"), CustomerFactory.create()
    on(friday, both, "1")
    on(saturday_incident, both, "2", flight_date=dt.date(2013, 2, 9), cancelled=False, delay_minutes=190)
    on(friday, alone, "3")
    return friday, saturday_incident, both, alone


def letters(customer: Customer, kind: str) -> tuple[list[Letter], list[Letter]]:
    """The customer's letters of ``kind``: (the real ones, the markers), oldest first."""
    found = list(Letter.objects.filter(customer=customer, kind=kind).order_by("pk"))
    return [x for x in found if x.combined_into_id is None], [x for x in found if x.combined_into_id is not None]


def sent_to(customer: Customer) -> list[str]:
    return list(OutboxMessage.objects.filter(to=customer.email).order_by("pk").values_list("subject", flat=True))


# --- First notices ---------------------------------------------------------------------------------------------


def test_a_customer_on_two_open_incidents_gets_one_first_notice_naming_both_flights(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, alone = friday_and_saturday(clock)

    sweep(sweep_first_notices)

    (notice,), (marker,) = letters(both, LetterKind.INITIAL_NOTICE)
    assert (notice.incident_id, notice.status) == (friday.pk, LetterStatus.SENT)
    assert (marker.incident_id, marker.status, marker.combined_into_id) == (
        saturday.pk,
        LetterStatus.CANCELLED,
        notice.pk,
    )
    assert marker.check_reasons == [
        f"Combined into the initial notice L-{notice.pk} for {friday.reference}, which covers this disruption too."
    ]
    assert sent_to(both) == ["Your flights UA 1 and UA 2: what we know so far"]
    assert "Your flight UA 1 from Newark to Chicago on Friday 8 February 2013 was cancelled." in notice.body_text
    assert (
        "Your flight UA 2 from Newark to Chicago on Saturday 9 February 2013 was delayed by 3 hours 10 minutes. "
        "What we know so far about it: The snow left on Saturday slowed every departure from Newark."
    ) in notice.body_text
    # The letter's delivery is the customer's first contact on both incidents, and both counters moved.
    assert set(AffectedCustomer.objects.filter(customer=both).values_list("first_contacted_at", flat=True)) == {START}
    friday.refresh_from_db()
    saturday.refresh_from_db()
    assert (friday.contacted_count, saturday.contacted_count) == (2, 1)
    # A customer on one incident reads what they always read.
    (own,), () = letters(alone, LetterKind.INITIAL_NOTICE)
    assert own.subject.startswith("Your flight UA 3 on Friday 8 February 2013")
    assert "Your other flight" not in own.body_text


def test_run_again_the_first_notice_sweep_writes_nothing_more(sweep: Any, clock: Clock) -> None:
    friday_and_saturday(clock)
    sweep(sweep_first_notices)
    before = (Letter.objects.count(), OutboxMessage.objects.count(), AuditEntry.objects.count())

    counts = sweep(sweep_first_notices, minutes=5)

    assert counts["customers"] == 0
    assert (Letter.objects.count(), OutboxMessage.objects.count(), AuditEntry.objects.count()) == before


def test_the_incident_whose_chunk_reaches_the_customer_first_carries_the_notice(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, _alone = friday_and_saturday(clock)
    row = AffectedCustomer.objects.get(incident=saturday, customer=both)

    sweep(lambda now: {"queued": first_notices_for(incident_id=saturday.pk, affected_ids=[row.pk])})
    sweep(sweep_first_notices)

    (notice,), (marker,) = letters(both, LetterKind.INITIAL_NOTICE)
    assert (notice.incident_id, marker.incident_id, marker.combined_into_id) == (saturday.pk, friday.pk, notice.pk)
    assert sent_to(both) == ["Your flights UA 2 and UA 1: what we know so far"]


def test_a_second_incident_opened_after_the_first_notice_went_writes_one_notice_mentioning_the_first(
    sweep: Any, clock: Clock
) -> None:
    friday = open_incident(clock)
    both = CustomerFactory.create()
    on(friday, both, "1")
    sweep(sweep_first_notices)
    saturday = open_incident(clock, explanation="The snow left on Saturday slowed every departure from Newark.")
    on(saturday, both, "2", flight_date=dt.date(2013, 2, 9))

    sweep(sweep_first_notices, minutes=10)

    first, second = letters(both, LetterKind.INITIAL_NOTICE)[0]
    assert not letters(both, LetterKind.INITIAL_NOTICE)[1]
    assert (first.incident_id, second.incident_id) == (friday.pk, saturday.pk)
    assert second.subject == "Your flight UA 2 on Saturday 9 February 2013: what we know so far"
    assert (
        "This comes on top of what we have already written to you about: UA 1 on Friday 8 February 2013 "
        "(cancelled). From now on, our updates will cover all your affected flights in one letter."
    ) in second.body_text
    assert len(sent_to(both)) == 2


def test_a_notice_still_a_draft_takes_in_the_second_incident_and_is_rendered_again(clock: Clock) -> None:
    friday = open_incident(clock)
    both = CustomerFactory.create()
    on(friday, both, "1")
    letters_prepare(incident_id=friday.pk, kind=LetterKind.INITIAL_NOTICE)  # by hand: a draft, not queued
    saturday = open_incident(clock, explanation="The snow left on Saturday slowed every departure from Newark.")
    on(saturday, both, "2", flight_date=dt.date(2013, 2, 9))

    prepared = letters_prepare(incident_id=saturday.pk, kind=LetterKind.INITIAL_NOTICE)

    assert prepared.created == 0
    (draft,), (marker,) = letters(both, LetterKind.INITIAL_NOTICE)
    assert (draft.incident_id, draft.status, marker.incident_id) == (friday.pk, LetterStatus.DRAFT, saturday.pk)
    assert marker.combined_into_id == draft.pk
    assert draft.subject == "Your flights UA 1 and UA 2: what we know so far"
    assert "What we know so far about it: The snow left on Saturday" in draft.body_text
    assert draft.check_passed is True
    entry = AuditEntry.objects.get(action="letters.combine")
    assert (entry.details["ids"], entry.details["into"]) == ([marker.pk], [draft.pk])


def test_an_incident_whose_notices_go_by_hand_stands_apart(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, _alone = friday_and_saturday(clock, auto_send_notices=False)

    sweep(sweep_first_notices)
    letters_prepare(incident_id=saturday.pk, kind=LetterKind.INITIAL_NOTICE)

    real, markers = letters(both, LetterKind.INITIAL_NOTICE)
    assert markers == []
    assert [(x.incident_id, x.status) for x in real] == [(friday.pk, LetterStatus.SENT), (saturday.pk, "draft")]
    assert all(x.subject.startswith("Your flight ") for x in real)


def test_a_crash_before_the_markers_leaves_no_letter_and_the_rerun_writes_one(sweep: Any, clock: Clock) -> None:
    friday, _saturday, both, _alone = friday_and_saturday(clock)
    rows = list(AffectedCustomer.objects.filter(incident=friday).order_by("pk").values_list("pk", flat=True))

    with (
        mock.patch("care.correspondence.rendering.services.markers_write", side_effect=RuntimeError("worker lost")),
        pytest.raises(RuntimeError),
    ):
        first_notices_for(incident_id=friday.pk, affected_ids=rows)
    assert not Letter.objects.filter(customer=both).exists()  # all or nothing: the letter went with its markers

    sweep(sweep_first_notices)

    real, markers = letters(both, LetterKind.INITIAL_NOTICE)
    assert (len(real), len(markers), len(sent_to(both))) == (1, 1, 1)


# --- Updates ---------------------------------------------------------------------------------------------------


def _news(incident: Incident, text: str, clock: Clock, *, minutes: int) -> None:
    clock.at(START + minutes * MINUTE)
    incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text=text)


def test_promises_due_together_give_one_update_with_each_incidents_news(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, alone = friday_and_saturday(clock)
    sweep(sweep_first_notices)
    _news(friday, "Friday's passengers are rebooked for Sunday.", clock, minutes=10)
    _news(saturday, "Saturday's flights leave with delays of about three hours.", clock, minutes=11)

    sweep(sweep_kept_promises, minutes=31)

    (update,), (marker,) = letters(both, LetterKind.UPDATE)
    assert (update.incident_id, update.sequence, marker.incident_id, marker.sequence) == (friday.pk, 1, saturday.pk, 1)
    assert marker.combined_into_id == update.pk
    assert update.subject == "Update 1 on your flights UA 1 and UA 2"
    assert "What is new: Friday's passengers are rebooked for Sunday." in update.body_text
    assert "What is new: Saturday's flights leave with delays of about three hours." in update.body_text
    assert sent_to(both)[1:] == ["Update 1 on your flights UA 1 and UA 2"]
    (own,), () = letters(alone, LetterKind.UPDATE)
    assert "Saturday's flights" not in own.body_text


def test_the_other_incidents_later_promise_is_kept_by_the_combined_update(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, _alone = friday_and_saturday(clock, due=45)
    only_saturday = CustomerFactory.create()
    on(saturday, only_saturday, "4", flight_date=dt.date(2013, 2, 9))
    sweep(sweep_first_notices)

    sweep(sweep_kept_promises, minutes=31)  # Friday's promise: the update covers Saturday's too
    sweep(sweep_kept_promises, minutes=46)  # Saturday's promise: already kept for the customer on both
    sweep(sweep_kept_promises, minutes=92)  # Friday's second
    sweep(sweep_kept_promises, minutes=107)  # Saturday's second

    real, markers = letters(both, LetterKind.UPDATE)
    assert [(x.incident_id, x.sequence) for x in real] == [(friday.pk, 1), (friday.pk, 2)]
    assert [(x.incident_id, x.sequence, x.combined_into_id) for x in markers] == [
        (saturday.pk, 1, real[0].pk),
        (saturday.pk, 2, real[1].pk),
    ]
    # Each combined update promised Friday's next one, which the next letter kept.
    assert "Our next update will reach you by Wednesday 10 June 2026 at 11:31 EDT" in real[0].body_text
    assert sent_to(both)[1:] == ["Update 1 on your flights UA 1 and UA 2", "Update 2 on your flights UA 1 and UA 2"]
    assert len(letters(only_saturday, LetterKind.UPDATE)[0]) == 2  # Saturday's own customers heard on its schedule


def test_a_combined_update_is_numbered_for_the_customer_when_the_carrier_changes(sweep: Any, clock: Clock) -> None:
    friday, saturday, both, _alone = friday_and_saturday(clock, due=40, interval=30)
    Incident.objects.filter(pk=friday.pk).update(update_interval_minutes=120)
    sweep(sweep_first_notices)

    # Friday's promises at 30, then every 120 minutes; Saturday's at 40, then every 30 (the last two due together).
    for minutes in (31, 41, 72, 103, 152):
        sweep(sweep_kept_promises, minutes=minutes)

    real, markers = letters(both, LetterKind.UPDATE)
    assert [(x.incident_id, x.sequence) for x in real] == [
        (friday.pk, 1),
        (saturday.pk, 2),
        (saturday.pk, 3),
        (saturday.pk, 4),
    ]
    assert [x.subject for x in real] == [
        "Update 1 on your flights UA 1 and UA 2",
        "Update 2 on your flights UA 2 and UA 1",
        "Update 3 on your flights UA 2 and UA 1",
        "Update 4 on your flights UA 2 and UA 1",
    ]
    # Each incident's promise to them was kept by the letter before it fell due (or at the same minute).
    assert [(x.incident_id, x.sequence, x.combined_into_id) for x in markers] == [
        (saturday.pk, 1, real[0].pk),
        (friday.pk, 2, real[1].pk),
        (friday.pk, 3, real[3].pk),
    ]
    assert len(sent_to(both)) == 1 + 4


# --- What the letters say, and the check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "intro", "promise"),
    [
        ("es", "Su otro vuelo también está afectado", "A partir de ahora le escribiremos sobre todos ellos a la vez"),
        ("fr", "Votre autre vol est lui aussi touché", "Désormais, nous vous écrirons au sujet de tous vos vols"),
        ("de", "Auch Ihr anderer Flug ist betroffen", "Ab jetzt schreiben wir Ihnen zu allen Ihren Flügen"),
    ],
)
def test_a_combined_notice_in_each_language_names_both_flights_and_passes_the_check(
    clock: Clock, language: str, intro: str, promise: str
) -> None:
    friday, _saturday, both, _alone = friday_and_saturday(clock)
    Customer.objects.filter(pk=both.pk).update(language=language)

    letters_prepare(incident_id=friday.pk, kind=LetterKind.INITIAL_NOTICE)

    (notice,), _markers = letters(both, LetterKind.INITIAL_NOTICE)
    assert notice.template is not None
    assert notice.template.language == language
    assert (notice.check_passed, notice.check_reasons) == (True, [])
    assert intro in notice.body_text
    assert promise in notice.body_text
    assert "UA 1" in notice.subject
    assert "UA 2" in notice.subject


def test_a_template_that_leaves_the_other_flight_out_holds_the_combined_letter(clock: Clock) -> None:
    friday, _saturday, both, _alone = friday_and_saturday(clock)
    template = LetterTemplate.objects.get(kind=LetterKind.INITIAL_NOTICE, language="en", is_active=True)
    LetterTemplate.objects.filter(pk=template.pk).update(
        body_text="Dear {{ customer.greeting_name }}, {{ impact.summary }} {{ incident.explanation }}"
    )

    letters_prepare(incident_id=friday.pk, kind=LetterKind.INITIAL_NOTICE)

    (notice,), _markers = letters(both, LetterKind.INITIAL_NOTICE)
    assert notice.check_passed is False
    assert notice.check_reasons == [
        "Does not name the customer's other flight UA 2, which this letter covers too.",
        (
            "Does not say what happened to the customer on UA 2 (Your flight UA 2 from Newark to Chicago on Saturday 9 "
            "February 2013 was delayed by 3 hours 10 minutes.)."
        ),
    ]


@pytest.mark.parametrize("kind", [LetterKind.INITIAL_NOTICE, LetterKind.UPDATE])
def test_a_combined_letter_rendered_again_says_the_same(clock: Clock, kind: str) -> None:
    friday, saturday, both, _alone = friday_and_saturday(clock)
    letters_prepare(incident_id=friday.pk, kind=LetterKind.INITIAL_NOTICE)
    letters_prepare(incident_id=friday.pk, kind=LetterKind.UPDATE, sequence=1)
    letters_prepare(incident_id=saturday.pk, kind=LetterKind.UPDATE, sequence=1)
    (letter,), _markers = letters(both, kind)
    written = (letter.subject, letter.body_text)

    letters_render(letter_ids=[letter.pk])

    letter.refresh_from_db()
    assert (letter.subject, letter.body_text) == written
    assert "UA 2" in letter.subject


def test_the_preview_shows_the_letter_as_it_would_be_written_now(clock: Clock) -> None:
    friday, _saturday, both, _alone = friday_and_saturday(clock)
    row = AffectedCustomer.objects.get(incident=friday, customer=both)

    preview = letter_preview(affected_id=row.pk, kind=LetterKind.INITIAL_NOTICE)

    assert preview.subject == "Your flights UA 1 and UA 2: what we know so far"
    assert preview.reasons == []


def test_a_sent_combined_letter_records_contact_on_every_incident_it_covers(sweep: Any, clock: Clock) -> None:
    _friday, _saturday, both, _alone = friday_and_saturday(clock)
    sweep(sweep_first_notices)

    sweep(sweep_kept_promises, minutes=31)

    rows = AffectedCustomer.objects.filter(customer=both)
    assert set(rows.values_list("last_contacted_at", flat=True)) == {START + 31 * MINUTE}
    assert not Letter.objects.filter(Q(customer=both), ~Q(status__in=("sent", "cancelled"))).exists()
