"""Sending letters through django-anymail: queueing, claiming, batch and per-message sends, ESP errors."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import factory
import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from care.correspondence.esp_formats import BATCH_MERGE_FORMATS
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus, LetterStatusChange, OutboxMessage
from care.correspondence.outbox import merge
from care.correspondence.sending.claim import Outgoing
from care.correspondence.sending.esp_errors import TransientSendError
from care.correspondence.sending.messages import _batches
from care.correspondence.sending.queue import letters_queue
from care.correspondence.sending.send import letters_send
from care.customers.models import Customer, SuppressionReason
from care.tasks import SEND_MAX_RETRIES, send_letters
from incidents.counters import affected_record_contact
from incidents.models import AffectedCustomer, Incident
from incidents.services import incidents_refresh_counts
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory, LetterFactory

pytestmark = pytest.mark.django_db

TEST_BACKEND = "anymail.backends.test.EmailBackend"
OUTBOX_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"


# --- Helpers -------------------------------------------------------------------------------


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run Celery tasks inline (delay() and retries), as a worker would, for the length of a test.

    Exceptions are not propagated out of apply(): an eager retry is itself a Retry exception, which
    would stop the retries at the first; the outcome is read from the result instead.
    """
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def make_letter(
    *,
    incident: Incident | None = None,
    customer: Customer | None = None,
    affected: AffectedCustomer | None = None,
    **fields: Any,
) -> Letter:
    """A rendered letter (rendering is another module's job) addressed to its customer."""
    if affected is None:
        affected_fields: dict[str, Any] = {}
        if incident is not None:
            affected_fields["incident"] = incident
        if customer is not None:
            affected_fields["customer"] = customer
        affected = AffectedCustomerFactory.create(**affected_fields)
    defaults: dict[str, Any] = {
        "affected": affected,
        "kind": LetterKind.INITIAL_NOTICE,
        "status": LetterStatus.QUEUED,
        "subject": f"Your flight {affected.flight_label} is cancelled",
        "body_text": f"Dear {affected.customer.greeting_name},\nyour flight {affected.flight_label} is cancelled.",
        "to_address": factory.SelfAttribute("customer.email"),
        "check_passed": True,
    }
    return LetterFactory.create(**{**defaults, **fields})


def outbox() -> list[Any]:
    """What anymail's test backend "sent" (one message per API call, with its anymail_test_params)."""
    return list(getattr(mail, "outbox", []))


def statuses(letters: list[Letter]) -> list[str]:
    return list(Letter.objects.filter(pk__in=[x.pk for x in letters]).order_by("pk").values_list("status", flat=True))


def api_error(status: int, message: str) -> AnymailRequestsAPIError:
    """An ESP's HTTP error as anymail's requests backends raise it (with the real response object)."""
    response = requests.Response()
    response.status_code = status
    response.reason = {503: "Service Unavailable", 422: "Unprocessable Entity", 429: "Too Many Requests"}[status]
    response._content = f'{{"ErrorCode": 300, "Message": "{message}"}}'.encode()
    return AnymailRequestsAPIError(response=response, esp_name="Test")


class FlakyBackend(AnymailTestBackend):
    """Answers 503 to the first ``failures`` API calls, then behaves like anymail's test backend."""

    failures = 0
    calls = 0

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise api_error(503, "Service temporarily unavailable")
        return super().post_to_esp(payload, message)


class RefusingBackend(AnymailTestBackend):
    """Answers 422 (a permanent refusal) to every call."""

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        raise api_error(422, "Invalid 'To' address")


class PickyBackend(AnymailTestBackend):
    """Accepts the call but rejects the recipients listed in ``rejected``, like an ESP's suppression list."""

    rejected: frozenset[str] = frozenset()

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        response = super().post_to_esp(payload, message)
        for email in payload.recipient_emails:
            if email in self.rejected:
                response["recipient_status"][email] = AnymailRecipientStatus(message_id=None, status="rejected")
        return response


class SilentBackend(AnymailTestBackend):
    """Sends the request, then the answer never comes back in time (a read timeout)."""

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        super().post_to_esp(payload, message)
        timeout = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, requests.ReadTimeout), {})
        raise timeout("Error posting to https://api.example.com/email:", esp_name="Test")


class PerMessageBackend(AnymailTestBackend):
    """anymail's test backend posing as Postmark: no inline merge, so one message per letter."""

    esp_name = "Postmark"
    opened = 0
    is_open = False

    def open(self) -> bool:  # like anymail's requests backends: True only when it creates the session
        if self.is_open:
            return False
        self.is_open = True
        type(self).opened += 1
        return True

    def close(self) -> None:
        self.is_open = False


@pytest.fixture(autouse=True)
def _reset_backends() -> None:
    FlakyBackend.failures = FlakyBackend.calls = 0
    PickyBackend.rejected = frozenset()
    PerMessageBackend.opened = 0


# --- Queueing ------------------------------------------------------------------------------


def test_queue_takes_only_letters_that_may_go_and_enqueues_after_commit(
    coordinator: Any, django_capture_on_commit_callbacks: Any, settings: Any, clock: Clock
) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)  # the apology would otherwise wait for the customer's morning
    settings.CARE_SEND_CHUNK = 2
    auto = IncidentFactory.create(auto_send_notices=True)
    manual = IncidentFactory.create(auto_send_notices=False)
    approved_apology = make_letter(incident=auto, kind=LetterKind.APOLOGY, status=LetterStatus.APPROVED)
    draft_notice = make_letter(incident=auto, status=LetterStatus.DRAFT)
    draft_update = make_letter(incident=auto, kind=LetterKind.UPDATE, status=LetterStatus.DRAFT)
    skipped = [
        make_letter(incident=auto, kind=LetterKind.APOLOGY, status=LetterStatus.DRAFT),  # needs approval
        make_letter(incident=manual, status=LetterStatus.DRAFT),  # incident wants approval of notices
        make_letter(incident=auto, status=LetterStatus.APPROVED, check_passed=False),  # held by the check
        make_letter(incident=auto, status=LetterStatus.APPROVED, check_passed=None),  # not rendered
        make_letter(incident=auto, status=LetterStatus.APPROVED, body_text=""),  # no body
        make_letter(incident=auto, status=LetterStatus.APPROVED, subject=""),  # no subject
        make_letter(incident=auto, status=LetterStatus.SENT),  # already gone
    ]
    ready = [approved_apology, draft_notice, draft_update]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = letters_queue(letter_ids=[x.pk for x in ready + skipped], actor=coordinator)

    assert queued == 3
    assert statuses(ready) == [LetterStatus.QUEUED] * 3
    assert statuses(skipped) == [
        LetterStatus.DRAFT,
        LetterStatus.DRAFT,
        LetterStatus.APPROVED,
        LetterStatus.APPROVED,
        LetterStatus.APPROVED,
        LetterStatus.APPROVED,
        LetterStatus.SENT,
    ]
    assert all(x.queued_at is not None for x in Letter.objects.filter(pk__in=[r.pk for r in ready]))
    audit = LetterStatusChange.objects.filter(to_status=LetterStatus.QUEUED).order_by("letter_id")
    assert [(a.letter_id, a.from_status, a.actor_id) for a in audit] == [
        (approved_apology.pk, LetterStatus.APPROVED, coordinator.pk),
        (draft_notice.pk, LetterStatus.DRAFT, coordinator.pk),
        (draft_update.pk, LetterStatus.DRAFT, coordinator.pk),
    ]
    # Nothing is published before commit; then one task per chunk of CARE_SEND_CHUNK letters.
    assert len(callbacks) == 2


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_queued_letters_are_sent_by_the_task_after_commit(
    eager_celery: None, django_capture_on_commit_callbacks: Any, clock: Clock
) -> None:
    clock.at(DAYTIME_IN_NEW_YORK)  # apologies queued at night wait for the customer's morning
    letters = [make_letter(status=LetterStatus.APPROVED, kind=LetterKind.APOLOGY) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        letters_queue(letter_ids=[x.pk for x in letters])
    assert statuses(letters) == [LetterStatus.SENT] * 3
    assert sorted(to for message in outbox() for to in message.to) == sorted(x.to_address for x in letters)


# --- Sending -------------------------------------------------------------------------------


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_batch_send_is_one_api_call_with_per_recipient_merge_data_metadata_and_tags() -> None:
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(3)]
    letters[0].body_html = "<p>Dear <b>you</b></p>"
    letters[0].save()
    plain = letters[1:]

    summary = letters_send(letter_ids=[x.pk for x in plain])

    assert summary.api_calls == 1
    assert summary.sent == 2
    assert len(outbox()) == 1  # one API call for the whole batch
    params = outbox()[0].anymail_test_params
    assert params["is_batch_send"] is True
    assert [to.addr_spec for to in params["to"]] == [x.to_address for x in plain]
    assert params["subject"] == "%recipient.care_subject%"
    assert params["text_body"] == "%recipient.care_text%"
    assert params["merge_data"] == {x.to_address: {"care_subject": x.subject, "care_text": x.body_text} for x in plain}
    assert params["merge_metadata"] == {x.to_address: {"letter_id": str(x.pk)} for x in plain}
    assert params["metadata"] == {"incident": incident.reference, "kind": LetterKind.INITIAL_NOTICE}
    assert params["tags"] == [LetterKind.INITIAL_NOTICE, incident.reference]
    assert "esp_extra" not in params
    sent = Letter.objects.filter(pk__in=[x.pk for x in plain])
    assert {(x.status, x.esp_message_id, x.attempts) for x in sent} == {(LetterStatus.SENT, "0", 1)}
    assert all(x.sent_at is not None for x in sent)
    assert statuses([letters[0]]) == [LetterStatus.QUEUED]  # not asked for: untouched


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_letters_with_and_without_html_or_to_the_same_address_go_in_separate_calls() -> None:
    incident = IncidentFactory.create()
    with_html = make_letter(incident=incident, body_html="<p>Hello</p>")
    affected = AffectedCustomerFactory.create(incident=incident)
    first, second = (make_letter(affected=affected, kind=LetterKind.UPDATE, sequence=n) for n in (1, 2))

    summary = letters_send(letter_ids=[with_html.pk, first.pk, second.pk])

    assert summary.sent == 3
    assert summary.api_calls == 3  # html vs text-only, and merge data is keyed by address
    html_call = next(m for m in outbox() if m.alternatives)
    assert html_call.anymail_test_params["merge_data"][with_html.to_address]["care_html"] == "<p>Hello</p>"


def test_batching_respects_each_esp_s_merge_limits() -> None:
    def outgoing(pk: int, subject: str = "S", text: str = "T", address: str = "") -> Outgoing:
        return Outgoing(pk, address or f"c{pk}@example.com", subject, text, "", "update", "INC-1")

    # Mailjet cannot merge the subject: letters with different subjects cannot share a call.
    mailjet = BATCH_MERGE_FORMATS["Mailjet"]
    batches, alone = _batches([outgoing(1, "A"), outgoing(2, "B"), outgoing(3, "A")], mailjet)
    assert sorted([o.letter_id for o in batch] for batch in batches) == [[1, 3], [2]]
    assert alone == []
    # ... and takes 50 messages per call.
    batches, _ = _batches([outgoing(n) for n in range(120)], mailjet)
    assert [len(batch) for batch in batches] == [50, 50, 20]
    # SendGrid caps substitutions per personalization: a long letter goes on its own.
    sendgrid = BATCH_MERGE_FORMATS["SendGrid"]
    batches, alone = _batches([outgoing(1), outgoing(2, text="x" * 60_000)], sendgrid)
    assert [[o.letter_id for o in batch] for batch in batches] == [[1]]
    assert [o.letter_id for o in alone] == [2]
    assert sendgrid.data_key("care_text") == "-care_text-"  # delimiters in the keys (no merge field format)


@override_settings(EMAIL_BACKEND="tests.test_sending.PerMessageBackend")
def test_esp_without_inline_merge_gets_one_message_per_letter_over_one_connection() -> None:
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(3)]

    summary = letters_send(letter_ids=[x.pk for x in letters])

    assert summary.api_calls == 3
    assert summary.sent == 3
    assert PerMessageBackend.opened == 1
    assert len(outbox()) == 3
    for message, letter in zip(outbox(), letters, strict=True):
        params = message.anymail_test_params
        assert params["is_batch_send"] is False
        assert message.to == [letter.to_address]
        assert message.subject == letter.subject
        assert message.body == letter.body_text
        assert params["metadata"] == {
            "incident": incident.reference,
            "kind": LetterKind.INITIAL_NOTICE,
            "letter_id": str(letter.pk),
        }
        assert params["tags"] == [LetterKind.INITIAL_NOTICE]  # Postmark takes one tag
    assert statuses(letters) == [LetterStatus.SENT] * 3
    assert [x.esp_message_id for x in Letter.objects.filter(pk__in=[x.pk for x in letters]).order_by("pk")] == [
        "0",
        "1",
        "2",
    ]


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_outbox_backend_stores_each_message_as_the_customer_reads_it() -> None:
    incident = IncidentFactory.create()
    html = make_letter(
        incident=incident,
        body_text="Dear Ann,\n50% off: keep %recipient.care_subject% as written.",
        body_html="<p>Dear Ann</p>",
    )
    plain = make_letter(incident=incident)

    summary = letters_send(letter_ids=[html.pk, plain.pk])

    assert summary.sent == 2
    assert OutboxMessage.objects.count() == 2
    for letter in (html, plain):
        stored = OutboxMessage.objects.get(to=letter.to_address)
        letter.refresh_from_db()
        assert stored.subject == letter.subject
        assert stored.body_text == letter.body_text  # merged once: a value is not expanded again
        assert stored.body_html == letter.body_html
        assert stored.from_email == settings.DEFAULT_FROM_EMAIL
        assert stored.metadata == {"incident": incident.reference, "kind": letter.kind, "letter_id": str(letter.pk)}
        assert stored.tags == [letter.kind, incident.reference]
        assert letter.esp_message_id == stored.message_id
        assert len(stored.message_id) == 32


def test_outbox_merge_replaces_known_fields_once() -> None:
    assert merge("%recipient.a% and %recipient.b%", {"a": "%recipient.b%"}) == "%recipient.b% and %recipient.b%"


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_outbox_backend_is_a_plain_django_email_backend_too() -> None:
    sent = mail.send_mail("Password reset", "Follow the link.", None, ["staff@example.com", "b@example.com"])
    assert sent == 1
    assert sorted(OutboxMessage.objects.values_list("to", flat=True)) == ["b@example.com", "staff@example.com"]
    assert set(OutboxMessage.objects.values_list("subject", "body_text")) == {("Password reset", "Follow the link.")}


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_first_contact_is_recorded_once_and_incident_counters_move() -> None:
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(2)]
    AffectedCustomerFactory.create(incident=incident)  # affected, not written to yet
    earlier = timezone.now() - dt.timedelta(hours=2)
    AffectedCustomer.objects.filter(letters=letters[1]).update(first_contacted_at=earlier, last_contacted_at=earlier)

    letters_send(letter_ids=[x.pk for x in letters])

    first, second = (AffectedCustomer.objects.get(letters=x) for x in letters)
    assert first.first_contacted_at is not None
    assert first.last_contacted_at == first.first_contacted_at
    assert second.first_contacted_at == earlier  # the first contact stays the first
    assert second.last_contacted_at is not None
    assert second.last_contacted_at > earlier
    incident.refresh_from_db()
    assert (incident.affected_count, incident.contacted_count) == (3, 2)


def test_recording_contacts_takes_two_queries_per_chunk_and_one_per_incident(
    django_assert_num_queries: Any,
) -> None:
    incident = IncidentFactory.create()
    rows = AffectedCustomerFactory.create_batch(4, incident=incident)
    at = timezone.now()
    earlier, later = at - dt.timedelta(hours=2), at + dt.timedelta(minutes=5)
    AffectedCustomer.objects.filter(pk=rows[1].pk).update(first_contacted_at=earlier, last_contacted_at=earlier)
    AffectedCustomer.objects.filter(pk=rows[2].pk).update(first_contacted_at=earlier, last_contacted_at=later)
    incidents_refresh_counts(incident_ids=[incident.pk])  # 4 affected, 2 contacted

    # Lock and read the rows, write those that change, move the incident's counter.
    with django_assert_num_queries(3):
        affected_record_contact(affected_ids=[x.pk for x in rows[:3]] * 2, at=at)

    first, second, third, untouched = (AffectedCustomer.objects.get(pk=x.pk) for x in rows)
    assert (first.first_contacted_at, first.last_contacted_at) == (at, at)
    assert (second.first_contacted_at, second.last_contacted_at) == (earlier, at)
    assert (third.first_contacted_at, third.last_contacted_at) == (earlier, later)  # a later contact stays last
    assert (untouched.first_contacted_at, untouched.last_contacted_at) == (None, None)
    incident.refresh_from_db()
    assert (incident.affected_count, incident.contacted_count) == (4, 3)
    # Recorded again (a redelivered task or event): nobody is counted twice.
    affected_record_contact(affected_ids=[first.pk], at=later)
    incident.refresh_from_db()
    assert incident.contacted_count == 3


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_senders_recording_the_same_first_contacts_count_each_customer_once() -> None:
    import time

    incident = IncidentFactory.create()
    rows = AffectedCustomerFactory.create_batch(10, incident=incident)
    incidents_refresh_counts(incident_ids=[incident.pk])
    ids = [x.pk for x in rows[:3]]  # fewer than affected: a double count would not be caught by the recount
    recorded = threading.Event()
    errors: list[BaseException] = []

    def first_sender() -> None:
        try:
            with transaction.atomic():
                affected_record_contact(affected_ids=ids, at=timezone.now())
                recorded.set()
                time.sleep(0.5)  # the second sender reaches the locked rows before this commits
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            recorded.set()
            connection.close()

    def second_sender() -> None:
        try:
            assert recorded.wait(timeout=10)
            with transaction.atomic():
                affected_record_contact(affected_ids=list(reversed(ids)), at=timezone.now())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_sender), threading.Thread(target=second_sender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    incident.refresh_from_db()
    assert (incident.affected_count, incident.contacted_count) == (10, 3)
    assert AffectedCustomer.objects.filter(incident=incident, first_contacted_at__isnull=False).count() == 3


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_suppressed_customers_and_customers_without_email_get_no_email() -> None:
    bounced = CustomerFactory.create(suppressed_at=timezone.now(), suppression_reason=SuppressionReason.HARD_BOUNCE)
    no_email = CustomerFactory.create(email="")
    blocked = make_letter(customer=bounced)
    unaddressed = make_letter(customer=no_email, to_address="")
    fine = make_letter()

    summary = letters_send(letter_ids=[blocked.pk, unaddressed.pk, fine.pk])

    assert (summary.suppressed, summary.sent) == (2, 1)
    assert [to for message in outbox() for to in message.to] == [fine.to_address]
    blocked.refresh_from_db()
    unaddressed.refresh_from_db()
    assert blocked.status == unaddressed.status == LetterStatus.SUPPRESSED
    assert "suppressed (hard bounce" in blocked.last_error
    assert "no email address" in unaddressed.last_error
    assert blocked.attempts == 0
    assert LetterStatusChange.objects.filter(
        letter=blocked, from_status=LetterStatus.QUEUED, to_status=LetterStatus.SUPPRESSED, actor_label="sender"
    ).exists()


@override_settings(EMAIL_BACKEND="tests.test_sending.FlakyBackend")
def test_transient_esp_error_queues_the_letters_again_with_the_reason() -> None:
    FlakyBackend.failures = 1
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(2)]

    with pytest.raises(TransientSendError):
        letters_send(letter_ids=[x.pk for x in letters])

    for letter in Letter.objects.filter(pk__in=[x.pk for x in letters]):
        assert letter.status == LetterStatus.QUEUED
        assert "503" in letter.last_error
        assert "temporarily unavailable" in letter.last_error
        assert letter.attempts == 1
    trail = LetterStatusChange.objects.filter(letter=letters[0]).order_by("id")
    assert [(a.from_status, a.to_status) for a in trail] == [
        (LetterStatus.QUEUED, LetterStatus.SENDING),
        (LetterStatus.SENDING, LetterStatus.QUEUED),
    ]


@override_settings(EMAIL_BACKEND="tests.test_sending.FlakyBackend")
def test_task_retries_a_transient_error_and_the_retry_claims_the_same_letters(eager_celery: None) -> None:
    FlakyBackend.failures = 2
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(3)]
    already_sent = make_letter(incident=incident, status=LetterStatus.SENT)

    send_letters.apply(args=([x.pk for x in [*letters, already_sent]],)).get()

    assert FlakyBackend.calls == 3
    assert statuses(letters) == [LetterStatus.SENT] * 3
    assert {x.attempts for x in Letter.objects.filter(pk__in=[x.pk for x in letters])} == {3}
    assert len(outbox()) == 1  # the two refused calls never reached the outbox; the retry sent once
    assert statuses([already_sent]) == [LetterStatus.SENT]
    assert Letter.objects.get(pk=already_sent.pk).attempts == 0


@override_settings(EMAIL_BACKEND="tests.test_sending.FlakyBackend")
def test_task_gives_up_after_its_retries_and_leaves_the_letters_queued(eager_celery: None) -> None:
    FlakyBackend.failures = 100
    letter = make_letter()

    with pytest.raises(TransientSendError):
        send_letters.apply(args=([letter.pk],)).get()

    letter.refresh_from_db()
    assert FlakyBackend.calls == SEND_MAX_RETRIES + 1
    assert letter.status == LetterStatus.QUEUED  # for the sweep, with the reason shown
    assert letter.attempts == SEND_MAX_RETRIES + 1
    assert "503" in letter.last_error


def test_retry_countdowns_stay_below_the_visibility_timeout() -> None:
    task: Any = send_letters
    assert TransientSendError in task.autoretry_for
    assert task.acks_late is True
    assert task.retry_backoff
    assert task.max_retries == SEND_MAX_RETRIES
    assert 0 < task.retry_backoff_max < settings.CELERY_VISIBILITY_TIMEOUT
    longest = max(
        get_exponential_backoff_interval(
            factor=int(task.retry_backoff), retries=retries, maximum=task.retry_backoff_max, full_jitter=False
        )
        for retries in range(task.max_retries + 1)
    )
    assert longest < settings.CELERY_VISIBILITY_TIMEOUT


@override_settings(EMAIL_BACKEND="tests.test_sending.RefusingBackend")
def test_permanent_esp_error_fails_the_letters_with_the_esp_s_reason() -> None:
    letters = [make_letter(incident=IncidentFactory.create()) for _ in range(2)]

    summary = letters_send(letter_ids=[x.pk for x in letters])

    assert summary.failed == 2
    for letter in Letter.objects.filter(pk__in=[x.pk for x in letters]):
        assert letter.status == LetterStatus.FAILED
        assert "422" in letter.last_error
        assert "Invalid 'To' address" in letter.last_error


@override_settings(EMAIL_BACKEND="tests.test_sending.PickyBackend")
def test_recipients_the_esp_rejects_fail_and_the_others_are_sent() -> None:
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(3)]
    PickyBackend.rejected = frozenset({letters[1].to_address})

    summary = letters_send(letter_ids=[x.pk for x in letters])

    assert (summary.sent, summary.failed, summary.api_calls) == (2, 1, 1)
    assert statuses(letters) == [LetterStatus.SENT, LetterStatus.FAILED, LetterStatus.SENT]
    assert "refused the address: rejected" in Letter.objects.get(pk=letters[1].pk).last_error


@override_settings(EMAIL_BACKEND="tests.test_sending.PickyBackend")
def test_all_recipients_rejected_fails_them_all() -> None:
    letter = make_letter()
    PickyBackend.rejected = frozenset({letter.to_address})

    summary = letters_send(letter_ids=[letter.pk])

    assert summary.failed == 1
    assert statuses([letter]) == [LetterStatus.FAILED]


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_invalid_address_fails_before_anything_is_sent() -> None:
    letter = make_letter(to_address="not an address")
    summary = letters_send(letter_ids=[letter.pk])
    assert summary.failed == 1
    assert summary.api_calls == 0
    assert statuses([letter]) == [LetterStatus.FAILED]


@override_settings(EMAIL_BACKEND="tests.test_sending.SilentBackend")
def test_no_answer_from_the_esp_leaves_the_letters_sending_not_queued() -> None:
    letter = make_letter()

    summary = letters_send(letter_ids=[letter.pk])

    assert summary.unconfirmed == 1
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENDING  # it may have been sent: never resent blindly
    assert "waiting for its tracking events" in letter.last_error
    assert letters_send(letter_ids=[letter.pk]).claimed == 0
    assert len(outbox()) == 1


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_a_crash_after_the_hand_over_leaves_letters_sending_and_they_are_not_resent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    letters = [make_letter(incident=IncidentFactory.create()) for _ in range(2)]

    def crash(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr("care.correspondence.sending.send._record", crash)
    with pytest.raises(SystemExit):
        letters_send(letter_ids=[x.pk for x in letters])
    monkeypatch.undo()

    assert statuses(letters) == [LetterStatus.SENDING] * 2  # visible to the coordinator
    assert OutboxMessage.objects.count() == 2
    # The broker redelivers the task: the letters are not claimable, nothing goes out twice.
    again = letters_send(letter_ids=[x.pk for x in letters])
    assert again.claimed == 0
    assert again.api_calls == 0
    assert OutboxMessage.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_two_workers_draining_the_same_queue_send_each_letter_exactly_once() -> None:
    incident = IncidentFactory.create()
    letters = [make_letter(incident=incident) for _ in range(200)]
    ids = [x.pk for x in letters]
    barrier = threading.Barrier(2)
    summaries: list[Any] = []
    errors: list[BaseException] = []

    def worker(order: list[int]) -> None:
        try:
            barrier.wait(timeout=10)
            summaries.append(letters_send(letter_ids=order))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(order,)) for order in (ids, list(reversed(ids)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(s.claimed for s in summaries) == 200
    assert sum(s.sent for s in summaries) == 200
    sent_letter_ids = [int(m["letter_id"]) for m in OutboxMessage.objects.values_list("metadata", flat=True)]
    assert sorted(sent_letter_ids) == sorted(ids)  # every letter once, none twice
    assert set(Letter.objects.filter(pk__in=ids).values_list("status", "attempts")) == {(LetterStatus.SENT, 1)}
    assert LetterStatusChange.objects.filter(letter_id__in=ids, to_status=LetterStatus.SENDING).count() == 200


@override_settings(EMAIL_BACKEND=TEST_BACKEND)
def test_the_sweep_sends_letters_left_queued(eager_celery: None, django_capture_on_commit_callbacks: Any) -> None:
    from care.correspondence.sending.queue import letters_send_stale_queued

    stale = make_letter(queued_at=timezone.now() - dt.timedelta(hours=1))
    fresh = make_letter(queued_at=timezone.now())
    stuck = make_letter(status=LetterStatus.SENDING, queued_at=timezone.now() - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert letters_send_stale_queued(older_than=dt.timedelta(minutes=15)) == 1

    assert statuses([stale, fresh, stuck]) == [LetterStatus.SENT, LetterStatus.QUEUED, LetterStatus.SENDING]


@override_settings(EMAIL_BACKEND="tests.test_sending.PerMessageBackend")
def test_a_run_out_of_time_starts_no_new_call_and_queues_the_rest_again() -> None:
    import time

    letters = [make_letter() for _ in range(2)]

    with pytest.raises(TransientSendError):
        letters_send(letter_ids=[x.pk for x in letters], deadline=time.monotonic() - 1)

    assert outbox() == []
    assert statuses(letters) == [LetterStatus.QUEUED] * 2
    assert "ran out of time" in Letter.objects.get(pk=letters[0].pk).last_error
