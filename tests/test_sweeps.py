"""The scheduled sweeps: first notices, kept promises, follow-ups, surveys, quiet hours, idempotence."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.quiet_hours import release_time
from care.correspondence.sending.queue import letters_queue, letters_send_stale_queued
from care.correspondence.sending.send import letters_send
from care.correspondence.services import letters_prepare
from care.operations.sweeps import (
    first_notices_for,
    run_sweep,
    sweep_first_notices,
    sweep_follow_ups,
    sweep_kept_promises,
    sweep_surveys,
)
from incidents.models import (
    AffectedCustomer,
    Alert,
    AlertKind,
    Audience,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    SweepRun,
)
from incidents.services import incident_post_update
from incidents.tasks import sweep_first_notices_task
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    """Tasks published after commit run inline, as a worker would run them."""
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def outbox(settings: Any) -> None:
    """The embedded default email backend: every message "sent" is an OutboxMessage row."""
    settings.EMAIL_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"


@pytest.fixture
def sweep(django_capture_on_commit_callbacks: Any) -> Callable[..., dict[str, int]]:
    """Run a sweep and everything it publishes after commit (chunk tasks, then the sending tasks)."""

    def run(function: Callable[..., dict[str, int]], **kwargs: Any) -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def open_incident(*, affected: int = 2, **fields: Any) -> Incident:
    now = timezone.now()
    fields.setdefault("opened_at", now - dt.timedelta(hours=1))
    fields.setdefault("next_update_due_at", now + dt.timedelta(minutes=30))
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, **fields)
    AffectedCustomerFactory.create_batch(affected, incident=incident)
    return incident


def resolved_incident(*, resolved_at: dt.datetime, affected: int = 1, **fields: Any) -> Incident:
    fields.setdefault("apology", "We are truly sorry that the blizzard kept you from getting home on time.")
    incident = IncidentFactory.create(status=IncidentStatus.RESOLVED, resolved_at=resolved_at, **fields)
    AffectedCustomerFactory.create_batch(affected, incident=incident)
    return incident


def letters_of(incident: Incident, kind: str) -> list[Letter]:
    return list(Letter.objects.filter(incident=incident, kind=kind).order_by("pk"))


def state() -> tuple[int, int, int, int]:
    return (
        Letter.objects.count(),
        OutboxMessage.objects.count(),
        LetterBatch.objects.count(),
        IncidentUpdate.objects.count(),
    )


# --- First notices -------------------------------------------------------------------------------------


def test_first_notices_go_at_once_in_chunks(sweep: Any, settings: Any) -> None:
    settings.CARE_SWEEP_CHUNK = 2
    incident = open_incident(affected=3)

    counts = sweep(sweep_first_notices)

    assert counts == {"incidents": 1, "customers": 3, "chunks": 2, "errors": 0}
    notices = letters_of(incident, LetterKind.INITIAL_NOTICE)
    assert [letter.status for letter in notices] == [LetterStatus.SENT] * 3
    assert OutboxMessage.objects.count() == 3
    assert all(letter.send_after is None for letter in notices)


def test_first_notices_run_twice_send_nothing_the_second_time(sweep: Any) -> None:
    open_incident(affected=2)
    sweep(sweep_first_notices)
    before = state()

    with mock.patch("incidents.tasks.notify_affected.apply_async") as publish:
        counts = sweep(sweep_first_notices)

    assert counts["customers"] == 0
    publish.assert_not_called()
    assert state() == before


@pytest.mark.parametrize(
    ("status", "auto_send"),
    [(IncidentStatus.DRAFT, True), (IncidentStatus.RESOLVED, True), (IncidentStatus.OPEN, False)],
)
def test_no_first_notice_for_draft_resolved_or_manual_incidents(sweep: Any, status: str, auto_send: bool) -> None:
    incident = IncidentFactory.create(status=status, auto_send_notices=auto_send, resolved_at=timezone.now())
    AffectedCustomerFactory.create(incident=incident)

    counts = sweep(sweep_first_notices)

    assert counts["incidents"] == 0
    assert not letters_of(incident, LetterKind.INITIAL_NOTICE)


def test_a_customer_added_later_gets_their_notice_on_the_next_run(sweep: Any) -> None:
    incident = open_incident(affected=1)
    sweep(sweep_first_notices)
    AffectedCustomerFactory.create(incident=incident)

    counts = sweep(sweep_first_notices)

    assert counts["customers"] == 1
    assert len(letters_of(incident, LetterKind.INITIAL_NOTICE)) == 2
    assert OutboxMessage.objects.count() == 2


def test_a_notice_left_as_a_draft_by_a_crash_is_queued_by_the_next_run(sweep: Any) -> None:
    incident = open_incident(affected=1)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE)  # created, never queued

    sweep(sweep_first_notices)

    assert [letter.status for letter in letters_of(incident, LetterKind.INITIAL_NOTICE)] == [LetterStatus.SENT]


def test_a_chunk_renders_only_its_own_letters(sweep: Any) -> None:
    incident = open_incident(affected=2)
    first, second = AffectedCustomer.objects.filter(incident=incident).order_by("pk")
    prepared = letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE, affected_ids=[first.pk])
    Letter.objects.create(
        customer=second.customer,
        incident=incident,
        affected=second,
        kind=LetterKind.INITIAL_NOTICE,
        batch=prepared.batch,
    )

    with mock.patch("care.core.background.transaction.on_commit"):
        queued = first_notices_for(incident_id=incident.pk, affected_ids=[first.pk])

    assert queued == 1
    other = Letter.objects.get(affected=second)
    assert other.check_passed is None
    assert other.status == LetterStatus.DRAFT


# --- Kept promises -------------------------------------------------------------------------------------


def test_a_promise_not_yet_due_does_nothing(sweep: Any) -> None:
    incident = open_incident(next_update_due_at=timezone.now() + dt.timedelta(minutes=5))
    before = state()

    counts = sweep(sweep_kept_promises, now=timezone.now())

    assert counts["updates"] == 0
    assert state() == before
    incident.refresh_from_db()
    assert incident.next_update_due_at is not None
    assert incident.next_update_due_at > timezone.now()


def test_a_due_promise_without_news_says_no_news_and_promises_again(sweep: Any) -> None:
    now = timezone.now()
    incident = open_incident(affected=2, next_update_due_at=now - dt.timedelta(minutes=1), update_interval_minutes=45)

    counts = sweep(sweep_kept_promises, now=now)

    assert counts["updates"] == 1
    batch = LetterBatch.objects.get(incident=incident, kind=LetterKind.UPDATE)
    assert batch.sequence == 1
    incident.refresh_from_db()
    assert incident.next_update_due_at == now + dt.timedelta(minutes=45)
    entry = IncidentUpdate.objects.get(incident=incident, audience=Audience.CUSTOMERS)
    assert entry.text.startswith("No news yet")
    assert entry.next_update_due_at == incident.next_update_due_at
    updates = letters_of(incident, LetterKind.UPDATE)
    assert [(letter.sequence, letter.status) for letter in updates] == [(1, LetterStatus.SENT)] * 2
    assert "There is no news yet" in updates[0].body_text
    assert "No news yet:" not in updates[0].body_text


def test_a_due_promise_with_news_passes_the_news_on_without_a_no_news_entry(sweep: Any) -> None:
    now = timezone.now()
    incident = open_incident(affected=1, next_update_due_at=now - dt.timedelta(minutes=1))
    IncidentUpdate.objects.create(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="The runways reopen at 18:00.",
        posted_at=now - dt.timedelta(minutes=10),
    )

    sweep(sweep_kept_promises, now=now)

    assert IncidentUpdate.objects.filter(incident=incident).count() == 1
    incident.refresh_from_db()
    assert incident.next_update_due_at == now + dt.timedelta(minutes=incident.update_interval_minutes)
    (update,) = letters_of(incident, LetterKind.UPDATE)
    assert "The runways reopen at 18:00." in update.body_text


def test_a_kept_promise_run_twice_keeps_it_once_and_the_next_one_is_number_two(sweep: Any) -> None:
    now = timezone.now()
    incident = open_incident(affected=1, next_update_due_at=now - dt.timedelta(minutes=1), update_interval_minutes=30)
    sweep(sweep_kept_promises, now=now)
    before = state()

    counts = sweep(sweep_kept_promises, now=now + dt.timedelta(minutes=5))

    assert counts["updates"] == 0
    assert state() == before

    later = now + dt.timedelta(minutes=31)
    sweep(sweep_kept_promises, now=later)
    assert sorted(
        LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE).values_list("sequence", flat=True)
    ) == [1, 2]
    assert sorted(letter.sequence for letter in letters_of(incident, LetterKind.UPDATE)) == [1, 2]
    assert IncidentUpdate.objects.filter(incident=incident, text__startswith="No news yet").count() == 2


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_kept_promise_sweeps_at_once_keep_the_promise_once() -> None:
    from django.apps import apps as django_apps

    from care.correspondence.default_templates import default_templates_install

    # The flush after an earlier transactional test removes the templates the data migration installed.
    default_templates_install(django_apps)
    now = timezone.now()
    incident = open_incident(affected=3, next_update_due_at=now - dt.timedelta(minutes=1))
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    results: list[dict[str, int]] = []

    def work() -> None:
        try:
            start.wait(timeout=10)
            results.append(sweep_kept_promises(now=now))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result["updates"] for result in results) == [0, 1]
    assert LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE).count() == 1
    assert IncidentUpdate.objects.filter(incident=incident).count() == 1
    assert [letter.status for letter in letters_of(incident, LetterKind.UPDATE)] == [LetterStatus.SENT] * 3
    assert OutboxMessage.objects.count() == 3


def test_a_resolved_incident_makes_no_more_promises(sweep: Any) -> None:
    incident = IncidentFactory.create(
        status=IncidentStatus.RESOLVED,
        resolved_at=timezone.now(),
        next_update_due_at=timezone.now() - dt.timedelta(hours=1),
    )
    AffectedCustomerFactory.create(incident=incident)

    counts = sweep(sweep_kept_promises, now=timezone.now())

    assert counts["incidents"] == 0
    assert not LetterBatch.objects.filter(incident=incident).exists()


def test_a_failing_incident_raises_one_alert_and_the_others_go_on(sweep: Any) -> None:
    now = timezone.now()
    broken = open_incident(affected=1, next_update_due_at=now - dt.timedelta(minutes=2))
    fine = open_incident(affected=1, next_update_due_at=now - dt.timedelta(minutes=1))
    real_post = incident_post_update

    def post(*, incident: Incident, **kwargs: Any) -> Any:
        if incident.pk == broken.pk:
            raise RuntimeError("customer jane@example.com broke it")
        return real_post(incident=incident, **kwargs)

    with mock.patch("care.operations.sweeps.kept_promises.incident_post_update", side_effect=post):
        run = run_sweep("kept_promises", lambda: sweep(sweep_kept_promises, now=now))
        sweep(sweep_kept_promises, now=now)

    assert run.counts["updates"] == 1
    assert run.errors == [f"incident {broken.pk}: RuntimeError"]
    assert "example.com" not in str(run.errors)
    assert Alert.objects.filter(kind=AlertKind.PROMISE_BROKEN, key=f"incident:{broken.pk}").count() == 1
    assert letters_of(fine, LetterKind.UPDATE)
    assert not letters_of(broken, LetterKind.UPDATE)


def test_an_update_batch_whose_publish_was_lost_is_resumed(sweep: Any) -> None:
    now = timezone.now()
    incident = open_incident(affected=2, next_update_due_at=now - dt.timedelta(minutes=1))
    with mock.patch("incidents.tasks.send_updates.apply_async"):  # the publish is lost
        sweep(sweep_kept_promises, now=now)
    assert not letters_of(incident, LetterKind.UPDATE)

    counts = sweep(sweep_kept_promises, now=now + dt.timedelta(minutes=6))

    assert counts["resumed"] == 1
    assert len(letters_of(incident, LetterKind.UPDATE)) == 2
    assert LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE).count() == 1


# --- Follow-ups ----------------------------------------------------------------------------------------------


def test_apologies_wait_for_the_follow_up_delay_then_wait_as_drafts(sweep: Any, settings: Any) -> None:
    settings.CARE_FOLLOW_UP_AFTER = dt.timedelta(hours=2)
    now = timezone.now()
    incident = resolved_incident(resolved_at=now - dt.timedelta(hours=1), affected=2)

    assert sweep(sweep_follow_ups, now=now)["incidents"] == 0
    assert not letters_of(incident, LetterKind.APOLOGY)

    counts = sweep(sweep_follow_ups, now=now + dt.timedelta(hours=1, minutes=1))

    assert counts["letters"] == 2
    apologies = letters_of(incident, LetterKind.APOLOGY)
    assert [letter.status for letter in apologies] == [LetterStatus.DRAFT] * 2
    assert OutboxMessage.objects.count() == 0
    before = state()
    assert sweep(sweep_follow_ups, now=now + dt.timedelta(hours=3))["incidents"] == 0
    assert state() == before


def test_an_open_incident_gets_no_apology(sweep: Any) -> None:
    incident = open_incident(affected=1)

    sweep(sweep_follow_ups, now=timezone.now() + dt.timedelta(days=1))

    assert not letters_of(incident, LetterKind.APOLOGY)


def test_a_customer_hit_twice_gets_one_apology_for_both(sweep: Any) -> None:
    now = timezone.now()
    customer = CustomerFactory.create()
    first = resolved_incident(resolved_at=now - dt.timedelta(hours=5), affected=0, title="Blizzard at Newark")
    second = resolved_incident(resolved_at=now - dt.timedelta(hours=3), affected=0, title="Crew shortage at O'Hare")
    AffectedCustomerFactory.create(incident=first, customer=customer, flight_number="1545")
    sweep(sweep_follow_ups, now=now)
    (letter,) = Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY)
    assert "2202" not in letter.body_text
    AffectedCustomerFactory.create(incident=second, customer=customer, flight_number="2202")

    counts = sweep(sweep_follow_ups, now=now)

    assert counts["combined"] == 1
    drafts = Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT)
    assert [d.pk for d in drafts] == [letter.pk]
    letter.refresh_from_db()
    assert "1545" in letter.body_text
    assert "2202" in letter.body_text
    marker = Letter.objects.get(customer=customer, incident=second, kind=LetterKind.APOLOGY)
    assert marker.status == LetterStatus.CANCELLED
    # Once the combined letter has gone, no later run writes a second apology for the other incident.
    Letter.objects.filter(pk=letter.pk).update(status=LetterStatus.SENT, sent_at=now)
    before = state()
    sweep(sweep_follow_ups, now=now + dt.timedelta(hours=1))
    assert state() == before


def test_both_incidents_resolved_together_still_give_one_apology(sweep: Any) -> None:
    now = timezone.now()
    customer = CustomerFactory.create()
    for hours in (5, 4):
        incident = resolved_incident(resolved_at=now - dt.timedelta(hours=hours), affected=0)
        AffectedCustomerFactory.create(incident=incident, customer=customer)

    sweep(sweep_follow_ups, now=now)

    assert Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT).count() == 1


def test_an_earlier_apology_outside_the_window_is_not_combined(sweep: Any, settings: Any) -> None:
    settings.CARE_COMBINE_WINDOW = dt.timedelta(days=7)
    now = timezone.now()
    customer = CustomerFactory.create()
    first = resolved_incident(resolved_at=now - dt.timedelta(days=9), affected=0)
    AffectedCustomerFactory.create(incident=first, customer=customer)
    sweep(sweep_follow_ups, now=now - dt.timedelta(days=8))
    Letter.objects.filter(customer=customer).update(created_at=now - dt.timedelta(days=8))
    second = resolved_incident(resolved_at=now - dt.timedelta(hours=3), affected=0)
    AffectedCustomerFactory.create(incident=second, customer=customer)

    sweep(sweep_follow_ups, now=now)

    assert Letter.objects.filter(customer=customer, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT).count() == 2


# --- Surveys ---------------------------------------------------------------------------------------------------


def apologised(*, sent_at: dt.datetime, consent: bool = True, time_zone: str = "UTC") -> AffectedCustomer:
    incident = resolved_incident(resolved_at=sent_at - dt.timedelta(days=1), affected=0)
    customer = CustomerFactory.create(contact_consent=consent, time_zone=time_zone)
    affected = AffectedCustomerFactory.create(incident=incident, customer=customer)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)
    Letter.objects.filter(affected=affected).update(status=LetterStatus.SENT, sent_at=sent_at)
    return affected


def test_survey_follows_the_apology_after_the_delay(sweep: Any, settings: Any) -> None:
    settings.CARE_SURVEY_AFTER = dt.timedelta(days=3)
    noon = dt.datetime(2026, 6, 10, 12, tzinfo=UTC)
    affected = apologised(sent_at=noon)

    assert sweep(sweep_surveys, now=noon + dt.timedelta(days=2))["letters"] == 0
    assert not Letter.objects.filter(affected=affected, kind=LetterKind.SURVEY).exists()

    counts = sweep(sweep_surveys, now=noon + dt.timedelta(days=3, minutes=1))

    assert counts["letters"] == 1
    survey = Letter.objects.get(affected=affected, kind=LetterKind.SURVEY)
    assert survey.status == LetterStatus.SENT
    before = state()
    assert sweep(sweep_surveys, now=noon + dt.timedelta(days=3, hours=1))["letters"] == 0
    assert state() == before


def test_no_survey_without_consent(sweep: Any) -> None:
    noon = dt.datetime(2026, 6, 10, 12, tzinfo=UTC)
    affected = apologised(sent_at=noon, consent=False)

    sweep(sweep_surveys, now=noon + dt.timedelta(days=4))

    assert not Letter.objects.filter(affected=affected, kind=LetterKind.SURVEY).exists()


def test_no_survey_when_the_apology_was_not_sent(sweep: Any) -> None:
    noon = dt.datetime(2026, 6, 10, 12, tzinfo=UTC)
    affected = apologised(sent_at=noon)
    Letter.objects.filter(affected=affected).update(status=LetterStatus.APPROVED)

    sweep(sweep_surveys, now=noon + dt.timedelta(days=4))

    assert not Letter.objects.filter(affected=affected, kind=LetterKind.SURVEY).exists()


def test_a_survey_due_at_night_waits_for_the_customers_morning(sweep: Any) -> None:
    # 03:00 in New York on 14 June is 07:00 UTC.
    night = dt.datetime(2026, 6, 14, 7, tzinfo=UTC)
    affected = apologised(sent_at=night - dt.timedelta(days=4), time_zone="America/New_York")

    sweep(sweep_surveys, now=night)

    survey = Letter.objects.get(affected=affected, kind=LetterKind.SURVEY)
    assert survey.status == LetterStatus.QUEUED
    assert survey.send_after == dt.datetime(2026, 6, 14, 12, tzinfo=UTC)  # 08:00 EDT
    assert OutboxMessage.objects.count() == 0


# --- Quiet hours -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local", "expected_local"),
    [
        # Spring forward in New York: 02:00 EST becomes 03:00 EDT on 8 March 2026.
        ("America/New_York", dt.datetime(2026, 3, 7, 23, 0), dt.datetime(2026, 3, 8, 8, 0)),
        ("America/New_York", dt.datetime(2026, 3, 8, 1, 30), dt.datetime(2026, 3, 8, 8, 0)),
        ("America/New_York", dt.datetime(2026, 3, 8, 3, 30), dt.datetime(2026, 3, 8, 8, 0)),
        # Fall back in New York: 02:00 EDT becomes 01:00 EST on 1 November 2026.
        ("America/New_York", dt.datetime(2026, 10, 31, 23, 0), dt.datetime(2026, 11, 1, 8, 0)),
        ("America/New_York", dt.datetime(2026, 11, 1, 1, 30), dt.datetime(2026, 11, 1, 8, 0)),
        # Paris: 02:00 CET becomes 03:00 CEST on 29 March; 03:00 CEST becomes 02:00 CET on 25 October.
        ("Europe/Paris", dt.datetime(2026, 3, 28, 22, 0), dt.datetime(2026, 3, 29, 8, 0)),
        ("Europe/Paris", dt.datetime(2026, 3, 29, 3, 15), dt.datetime(2026, 3, 29, 8, 0)),
        ("Europe/Paris", dt.datetime(2026, 10, 24, 21, 0), dt.datetime(2026, 10, 25, 8, 0)),
        ("Europe/Paris", dt.datetime(2026, 10, 25, 2, 30), dt.datetime(2026, 10, 25, 8, 0)),
    ],
)
def test_release_time_is_the_next_local_morning_across_dst(
    zone: str, local: dt.datetime, expected_local: dt.datetime
) -> None:
    tz = ZoneInfo(zone)
    now = local.replace(tzinfo=tz).astimezone(UTC)

    released = release_time(now=now, time_zone=zone)

    assert released is not None
    assert released.tzinfo is not None
    assert released.astimezone(tz).replace(tzinfo=None) == expected_local
    assert released == expected_local.replace(tzinfo=tz).astimezone(UTC)


def test_release_time_counts_the_real_hours_of_a_dst_night() -> None:
    # 02:30 UTC-5 on the spring-forward night does not exist as a wall time; 07:30 UTC is 03:30 EDT.
    spring = release_time(now=dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC), time_zone="America/New_York")
    assert spring == dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # The fall-back night is an hour longer: 23:00 EDT to 08:00 EST is ten hours.
    start = dt.datetime(2026, 10, 31, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    fall = release_time(now=start, time_zone="America/New_York")
    assert fall is not None
    assert fall - start == dt.timedelta(hours=10)


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("America/New_York", dt.datetime(2026, 3, 8, 8, 0)),
        ("America/New_York", dt.datetime(2026, 11, 1, 20, 59)),
        ("Europe/Paris", dt.datetime(2026, 10, 25, 12, 0)),
    ],
)
def test_release_time_is_none_in_the_daytime(zone: str, local: dt.datetime) -> None:
    assert release_time(now=local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), time_zone=zone) is None


def test_an_apology_approved_at_23_local_waits_until_08_local(
    django_capture_on_commit_callbacks: Any, clock: Clock
) -> None:
    paris = ZoneInfo("Europe/Paris")
    customer = CustomerFactory.create(time_zone="Europe/Paris")
    incident = resolved_incident(resolved_at=timezone.now(), affected=0)
    AffectedCustomerFactory.create(incident=incident, customer=customer)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)
    letter = Letter.objects.get(customer=customer)
    # Approved by the coordinator (the personal-letter check is another module's concern).
    Letter.objects.filter(pk=letter.pk).update(status=LetterStatus.APPROVED, check_passed=True)
    # 23:00 in Paris on the night the clocks go back (25 October 2026).
    night = dt.datetime(2026, 10, 24, 23, 0, tzinfo=paris).astimezone(UTC)

    with django_capture_on_commit_callbacks(execute=True) as published:
        assert letters_queue(letter_ids=[letter.pk], now=night) == 1

    assert published == []  # nothing is handed to the broker for the morning
    letter.refresh_from_db()
    assert letter.status == LetterStatus.QUEUED
    morning = dt.datetime(2026, 10, 25, 8, 0, tzinfo=paris)
    assert letter.send_after == morning
    # A send requested before the morning does not claim it; the queued-letters sweep leaves it waiting.
    clock.at(morning - dt.timedelta(minutes=1))
    assert letters_send(letter_ids=[letter.pk]).claimed == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert letters_send_stale_queued() == 0
    letter.refresh_from_db()
    assert letter.status == LetterStatus.QUEUED
    # From the morning, the sweep hands it over.
    clock.at(morning + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert letters_send_stale_queued() == 1
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT


def test_an_initial_notice_at_3_am_goes_at_once(sweep: Any) -> None:
    customer = CustomerFactory.create(time_zone="America/New_York")
    incident = open_incident(affected=0)
    AffectedCustomerFactory.create(incident=incident, customer=customer)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE)
    letter = Letter.objects.get(customer=customer)
    three_am = dt.datetime(2026, 3, 8, 3, 0, tzinfo=ZoneInfo("America/New_York"))

    with mock.patch("care.core.background.transaction.on_commit") as publish:
        assert letters_queue(letter_ids=[letter.pk], now=three_am) == 1

    letter.refresh_from_db()
    assert letter.send_after is None
    publish.assert_called_once()


# --- Running -----------------------------------------------------------------------------------------------------


def test_run_sweep_records_counts_and_a_failure_without_raising() -> None:
    def boom() -> dict[str, int]:
        raise ValueError("jane@example.com")

    ok = run_sweep("ok", lambda: {"done": 3})
    failed = run_sweep("boom", boom)

    assert ok.counts == {"done": 3}
    assert ok.errors == []
    assert ok.finished_at is not None
    assert failed.errors == ["boom: ValueError"]
    assert SweepRun.objects.count() == 2


def test_the_beat_task_records_a_sweep_run(sweep: Any) -> None:
    open_incident(affected=1)

    run_id = sweep(lambda: sweep_first_notices_task.delay().get())

    run = SweepRun.objects.get(pk=run_id)
    assert run.name == "first_notices"
    assert run.counts["customers"] == 1
    assert sweep_first_notices_task.name == "incidents.tasks.sweep_first_notices_task"


def test_a_notice_younger_than_the_grace_period_is_not_published_again(sweep: Any) -> None:
    """A chunk still working on its letters (beat running again meanwhile) is left alone; a stale one is not."""
    from care.operations.sweeps import FIRST_NOTICE_GRACE

    incident = open_incident(affected=2)
    being_worked = AffectedCustomer.objects.filter(incident=incident).order_by("pk").first()
    assert being_worked is not None
    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE, affected_ids=[being_worked.pk])
    without_letter = AffectedCustomer.objects.filter(incident=incident).exclude(pk=being_worked.pk).get()

    with mock.patch("incidents.tasks.notify_affected.apply_async") as publish:
        counts = sweep(sweep_first_notices, grace=FIRST_NOTICE_GRACE)
    assert counts["customers"] == 1
    publish.assert_called_once_with((incident.pk, [without_letter.pk]), {})

    later = timezone.now() + FIRST_NOTICE_GRACE + dt.timedelta(seconds=1)
    with mock.patch("incidents.tasks.notify_affected.apply_async") as publish:
        counts = sweep(sweep_first_notices, now=later, grace=FIRST_NOTICE_GRACE)
    assert counts["customers"] == 2
    publish.assert_called_once_with((incident.pk, [being_worked.pk, without_letter.pk]), {})


def test_the_beat_task_leaves_a_notice_in_progress_to_its_chunk(sweep: Any) -> None:
    incident = open_incident(affected=1)
    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE)  # a chunk is on it right now

    with mock.patch("incidents.tasks.notify_affected.apply_async") as publish:
        run_id = sweep(lambda: sweep_first_notices_task.delay().get())

    publish.assert_not_called()
    assert SweepRun.objects.get(pk=run_id).counts["customers"] == 0
