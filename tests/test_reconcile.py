"""Letters a dead send run left SENDING are settled by what is known of their hand-over (issue 19).

The rules of care.correspondence.sending.reconcile, on the test's own clock: a letter never handed over is queued
and sent again; one handed over that the backend has is marked SENT and not resent; one handed over that the
backend never got is queued and sent again; a letter younger than the bound (its run may be alive) is left alone;
for an ESP that cannot be asked, a tracking event settles it and without one it stays, explained, for the alert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from care.core.audit import AuditEntry
from care.correspondence.models.letters import Letter, LetterEvent, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.outbox import OutboxEmailBackend
from care.correspondence.sending.lookup import LETTER_HEADER
from care.correspondence.sending.queue import letters_send_stale_queued
from care.correspondence.sending.reconcile import RECONCILER, letters_reconcile_sending
from care.correspondence.sending.send import letters_send
from incidents.models import AffectedCustomer
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory, IncidentFactory, LetterFactory
from tests.sweep_harness import eager_celery, outbox_count_per_letter

pytestmark = pytest.mark.django_db

OUTBOX_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"
CRASHING_BACKEND = "tests.test_reconcile.CrashingOutbox"
BLIND_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # stands for a real ESP: it cannot be asked
BOUND = settings.CARE_SENDING_STALE_AFTER
SECOND = dt.timedelta(seconds=1)


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (the run records nothing, see ``killed``)."""


class CrashingOutbox(OutboxEmailBackend):
    """The local outbox, one message per call, whose worker dies on message ``crash_at`` (1-based): before the
    outbox stored it (``stored`` False: the ESP never got it) or just after (the ESP has it, the answer is lost).
    It also notes each letter's ``handover_at`` as it stood when the call reached it."""

    esp_name = "Crashing outbox"  # no batch format: one message per letter
    crash_at = 0
    stored = False
    calls = 0
    seen_marks: dict[int, Any] = {}

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        cls = type(self)
        cls.calls += 1
        letter_id = int(message.metadata["letter_id"])
        cls.seen_marks[letter_id] = Letter.objects.values_list("handover_at", flat=True).get(pk=letter_id)
        if cls.calls == cls.crash_at and not cls.stored:
            raise WorkerKilled
        answer = super().post_to_esp(payload, message)
        if cls.calls == cls.crash_at:
            raise WorkerKilled
        return answer


@pytest.fixture(autouse=True)
def _reset_backend() -> None:
    CrashingOutbox.crash_at, CrashingOutbox.stored, CrashingOutbox.calls = 0, False, 0
    CrashingOutbox.seen_marks = {}


def queued_letters(count: int) -> list[Letter]:
    incident = IncidentFactory.create()
    letters = []
    for _ in range(count):
        affected = AffectedCustomerFactory.create(incident=incident)
        letters.append(
            LetterFactory.create(
                affected=affected,
                kind=LetterKind.INITIAL_NOTICE,
                status=LetterStatus.QUEUED,
                to_address=factory.SelfAttribute("customer.email"),
            )
        )
    return letters


def statuses(letters: list[Letter]) -> list[str]:
    return list(Letter.objects.filter(pk__in=[x.pk for x in letters]).order_by("pk").values_list("status", flat=True))


def crash_mid_send(letters: list[Letter], *, crash_at: int, stored: bool) -> None:
    """Send the letters through the crashing outbox; its worker dies on message ``crash_at``, and the run records
    nothing (under a real SIGKILL its ``finally`` never runs)."""

    def never(*args: Any, **kwargs: Any) -> None:
        raise WorkerKilled

    CrashingOutbox.crash_at, CrashingOutbox.stored = crash_at, stored
    with pytest.MonkeyPatch.context() as patch, override_settings(EMAIL_BACKEND=CRASHING_BACKEND):
        patch.setattr("care.correspondence.sending.send._record", never)
        with pytest.raises(WorkerKilled):
            letters_send(letter_ids=[x.pk for x in letters])


def reconcile(django_capture_on_commit_callbacks: Any) -> Any:
    """One run of the sweep with the outbox as the ESP; what it queues again is sent at once (as a worker would)."""
    with (
        override_settings(EMAIL_BACKEND=OUTBOX_BACKEND),
        eager_celery(),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return letters_reconcile_sending()


def trail_notes(letter: Letter) -> list[tuple[str, str, str]]:
    return list(letter.status_changes.order_by("pk").values_list("to_status", "actor_label", "note"))


def test_the_mark_is_written_before_each_call_and_cleared_by_the_next_claim(clock: Clock) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    letters = queued_letters(2)
    with override_settings(EMAIL_BACKEND=CRASHING_BACKEND):
        assert letters_send(letter_ids=[x.pk for x in letters]).sent == 2
    assert set(CrashingOutbox.seen_marks) == {x.pk for x in letters}
    assert all(mark == DAYTIME_IN_NEW_YORK for mark in CrashingOutbox.seen_marks.values())  # set when the call came
    assert set(Letter.objects.filter(pk__in=[x.pk for x in letters]).values_list("handover_at", flat=True)) == {
        DAYTIME_IN_NEW_YORK
    }

    Letter.objects.filter(pk=letters[0].pk).update(status=LetterStatus.QUEUED)  # as a transient error would
    clock.shift(dt.timedelta(minutes=1))
    with override_settings(EMAIL_BACKEND=CRASHING_BACKEND):
        letters_send(letter_ids=[letters[0].pk])
    assert CrashingOutbox.seen_marks[letters[0].pk] == DAYTIME_IN_NEW_YORK + dt.timedelta(minutes=1)


def test_a_crash_mid_send_ends_with_every_customer_notified_once(
    clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    """Five letters, the worker killed on the third message after the outbox stored it: two delivered and
    recorded nowhere, one delivered in the fatal call, two never handed over."""
    clock.at(DAYTIME_IN_NEW_YORK)
    letters = queued_letters(5)
    crash_mid_send(letters, crash_at=3, stored=True)
    assert statuses(letters) == [LetterStatus.SENDING] * 5
    handed = [x.pk for x in letters if Letter.objects.get(pk=x.pk).handover_at is not None]
    assert handed == [x.pk for x in letters[:3]]

    clock.shift(BOUND + SECOND)
    summary = reconcile(django_capture_on_commit_callbacks)

    assert (summary.sent, summary.requeued, summary.unconfirmed) == (3, 2, 0)
    assert statuses(letters) == [LetterStatus.SENT] * 5
    assert outbox_count_per_letter() == dict.fromkeys([x.pk for x in letters], 1)  # each customer once
    assert AffectedCustomer.objects.filter(first_contacted_at__isnull=True).count() == 0


def test_a_letter_never_handed_over_is_queued_and_sent_again(
    clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    first, second = queued_letters(2)
    crash_mid_send([first, second], crash_at=1, stored=False)
    Letter.objects.filter(pk=first.pk).update(handover_at=None)  # as if the run died before its first call
    assert OutboxMessage.objects.count() == 0

    clock.shift(BOUND + SECOND)
    summary = reconcile(django_capture_on_commit_callbacks)

    assert summary.requeued == 2
    assert statuses([first, second]) == [LetterStatus.SENT] * 2
    assert outbox_count_per_letter() == {first.pk: 1, second.pk: 1}
    sending, queued, claimed, sent = trail_notes(second)[-4:]
    assert sending[0] == LetterStatus.SENDING
    assert queued[:2] == (LetterStatus.QUEUED, RECONCILER.label)
    assert "stopped before handing it to the email provider" in queued[2]
    assert (claimed[0], sent[0]) == (LetterStatus.SENDING, LetterStatus.SENT)
    entry = AuditEntry.objects.get(action="letters.reconcile")
    assert (entry.actor_label, entry.details["count"], entry.details["requeued"]) == (
        RECONCILER.label,
        2,
        sorted([first.pk, second.pk]),
    )


def test_a_letter_handed_over_that_the_outbox_has_is_marked_sent_and_not_resent(
    clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    (letter,) = queued_letters(1)
    crash_mid_send([letter], crash_at=1, stored=True)
    stored = OutboxMessage.objects.get()

    clock.shift(BOUND + SECOND)
    summary = reconcile(django_capture_on_commit_callbacks)

    assert (summary.sent, summary.requeued) == (1, 0)
    letter.refresh_from_db()
    assert (letter.status, letter.esp_message_id, letter.sent_at) == (
        LetterStatus.SENT,
        stored.message_id,
        stored.created_at,
    )
    assert OutboxMessage.objects.count() == 1  # not handed over again
    assert "the email provider has it" in trail_notes(letter)[-1][2]
    assert letter.affected is not None
    letter.affected.refresh_from_db()
    assert letter.affected.first_contacted_at == stored.created_at


def test_a_letter_handed_over_that_the_outbox_never_got_is_queued_and_sent_again(
    clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    (letter,) = queued_letters(1)
    crash_mid_send([letter], crash_at=1, stored=False)
    assert Letter.objects.get(pk=letter.pk).handover_at is not None
    assert OutboxMessage.objects.count() == 0

    clock.shift(BOUND + SECOND)
    summary = reconcile(django_capture_on_commit_callbacks)

    assert (summary.sent, summary.requeued) == (0, 1)
    assert statuses([letter]) == [LetterStatus.SENT]
    assert outbox_count_per_letter() == {letter.pk: 1}
    assert any("never got it" in note for _status, _actor, note in trail_notes(letter))
    assert Letter.objects.get(pk=letter.pk).attempts == 2


def test_a_claim_younger_than_the_bound_is_left_alone(clock: Clock, django_capture_on_commit_callbacks: Any) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    handed, never = queued_letters(2)
    crash_mid_send([handed, never], crash_at=1, stored=False)  # one mark, one without: both could be a live run's

    clock.shift(BOUND - SECOND)
    summary = reconcile(django_capture_on_commit_callbacks)

    assert (summary.sent, summary.requeued, summary.unconfirmed) == (0, 0, 0)
    assert statuses([handed, never]) == [LetterStatus.SENDING] * 2
    assert not AuditEntry.objects.filter(action="letters.reconcile").exists()
    assert OutboxMessage.objects.count() == 0


def test_the_bound_is_past_the_send_task_s_hard_time_limit_and_below_the_alert() -> None:
    from care import tasks
    from care.operations.alerts import STUCK_SENDING_AFTER

    hard, soft = tasks.send_letters.time_limit, tasks.send_letters.soft_time_limit
    assert hard is not None
    assert soft is not None
    assert hard == settings.CARE_SEND_TIME_LIMIT
    assert soft == settings.CARE_SEND_SOFT_TIME_LIMIT < hard
    assert dt.timedelta(seconds=hard) < BOUND  # a live run is killed before its letters are reconciled
    assert soft > tasks.SEND_TIME_BUDGET + 30  # one last 30 s call still fits
    assert BOUND + dt.timedelta(minutes=2) < STUCK_SENDING_AFTER  # the alert is for what reconciling cannot settle
    assert BOUND + dt.timedelta(minutes=1) <= dt.timedelta(minutes=5)  # a crashed run's letters, within 5 min


@override_settings(EMAIL_BACKEND=BLIND_BACKEND)
def test_for_an_esp_that_cannot_be_asked_a_tracking_event_settles_the_letter(clock: Clock) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    tracked, silent, never = LetterFactory.create_batch(3, status=LetterStatus.SENDING)
    Letter.objects.filter(pk__in=[tracked.pk, silent.pk]).update(handover_at=DAYTIME_IN_NEW_YORK)
    LetterEvent.objects.create(
        letter=tracked, esp_name="Postmark", event_id="d-1", event_type="delivered", esp_message_id="pm-1"
    )
    clock.shift(BOUND + SECOND)

    summary = letters_reconcile_sending()

    assert (summary.sent, summary.requeued, summary.unconfirmed) == (1, 1, 1)
    assert statuses([tracked, silent, never]) == [LetterStatus.SENT, LetterStatus.SENDING, LetterStatus.QUEUED]
    assert Letter.objects.get(pk=tracked.pk).esp_message_id == "pm-1"
    assert "tracking event" in trail_notes(tracked)[-1][2]
    # The one nobody can tell about stays, explained, for the coordinator; its time in SENDING still counts.
    silent_after = Letter.objects.get(pk=silent.pk)
    assert "check the provider's log" in silent_after.last_error
    assert silent_after.updated_at == DAYTIME_IN_NEW_YORK
    entries = AuditEntry.objects.filter(action="letters.reconcile").count()
    clock.shift(dt.timedelta(minutes=1))
    assert letters_reconcile_sending().unconfirmed == 0  # explained once; the next runs leave it to the alert
    assert AuditEntry.objects.filter(action="letters.reconcile").count() == entries


def test_django_s_locmem_backend_is_asked_exactly(clock: Clock, django_capture_on_commit_callbacks: Any) -> None:
    """pytest-django's default backend: a plain Django message carries its letter in a header."""
    clock.at(DAYTIME_IN_NEW_YORK)
    delivered, lost = queued_letters(2)
    assert letters_send(letter_ids=[delivered.pk, lost.pk]).sent == 2
    assert [message.extra_headers[LETTER_HEADER] for message in mail.outbox] == [str(delivered.pk), str(lost.pk)]
    mail.outbox.pop()  # the ESP never got the second one
    Letter.objects.filter(pk__in=[delivered.pk, lost.pk]).update(status=LetterStatus.SENDING, esp_message_id="")
    clock.shift(BOUND + SECOND)

    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        summary = letters_reconcile_sending()

    assert (summary.sent, summary.requeued) == (1, 1)
    assert statuses([delivered, lost]) == [LetterStatus.SENT] * 2
    assert Letter.objects.get(pk=delivered.pk).esp_message_id == mail.outbox[0].extra_headers["Message-ID"]
    assert [message.extra_headers[LETTER_HEADER] for message in mail.outbox] == [str(delivered.pk), str(lost.pk)]


def test_a_call_whose_letters_are_no_longer_the_run_s_is_not_made(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that outlived its time limit finds its letters reconciled (QUEUED again): it hands nothing over."""
    clock.at(DAYTIME_IN_NEW_YORK)
    letters = queued_letters(2)
    from care.correspondence.sending import handover

    real_mark = handover._mark_handed_over

    def reconciled_meanwhile(letter_ids: list[int]) -> bool:
        Letter.objects.filter(pk__in=letter_ids).update(status=LetterStatus.QUEUED)
        return real_mark(letter_ids)

    monkeypatch.setattr(handover, "_mark_handed_over", reconciled_meanwhile)
    with override_settings(EMAIL_BACKEND=CRASHING_BACKEND):
        summary = letters_send(letter_ids=[x.pk for x in letters])

    assert (summary.api_calls, CrashingOutbox.calls) == (0, 0)
    assert statuses(letters) == [LetterStatus.QUEUED] * 2
    assert set(Letter.objects.values_list("handover_at", flat=True)) == {None}


def test_the_queued_sweep_takes_a_lost_publish_after_a_minute_and_leaves_a_pending_retry_alone(clock: Clock) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)
    lost, fresh, retrying = queued_letters(3)
    Letter.objects.filter(pk=lost.pk).update(queued_at=DAYTIME_IN_NEW_YORK - dt.timedelta(seconds=61))
    Letter.objects.filter(pk=fresh.pk).update(queued_at=DAYTIME_IN_NEW_YORK - dt.timedelta(seconds=30))
    Letter.objects.filter(pk=retrying.pk).update(
        queued_at=DAYTIME_IN_NEW_YORK - dt.timedelta(hours=1),
        updated_at=DAYTIME_IN_NEW_YORK - dt.timedelta(minutes=5),
        last_error="The email provider: 503 Service Unavailable",  # the sender queued it again for a retry
    )
    published: list[list[int]] = []
    monkeypatch_target = "care.correspondence.sending.queue.enqueue_sending"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(monkeypatch_target, lambda ids: published.append(sorted(ids)))
        assert letters_send_stale_queued(retry_older_than=dt.timedelta(minutes=15)) == 1
        assert published == [[lost.pk]]
        clock.shift(dt.timedelta(minutes=11))  # the retry is overdue now: the task gave up, or its message was lost
        assert letters_send_stale_queued(retry_older_than=dt.timedelta(minutes=15)) == 3
        assert letters_send_stale_queued(retry_older_than=dt.timedelta(minutes=15), limit=2) == 2


def test_schedules_still_at_an_earlier_default_move_to_the_new_interval_and_edited_ones_stay() -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from incidents.schedules import schedules_ensure

    five_minutes, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    two_minutes, _ = IntervalSchedule.objects.get_or_create(every=120, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="Queued letters").update(interval=five_minutes)  # an older installation
    PeriodicTask.objects.filter(name="Tracking events").update(interval=two_minutes)  # a coordinator's choice

    assert schedules_ensure() == 0

    every = dict(PeriodicTask.objects.values_list("name", "interval__every"))
    assert every["Queued letters"] == 60
    assert every["Tracking events"] == 120
    assert every["Stuck imports"] == every["Letters left sending"] == 60
