"""SMS letters end to end: who gets an SMS, what it says, and that it goes once, is tracked and can be stopped.

The sweeps run as in production (tests.conftest's ``sweep``: tasks published after commit run inline), email
lands in the local outbox table and SMS in the SMS outbox table, the embedded defaults.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from twilio.request_validator import RequestValidator

from care.correspondence.models.letters import (
    Channel,
    Letter,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
    OutboxMessage,
)
from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage, SmsStatus
from care.correspondence.sending.reconcile import letters_reconcile_sending
from care.correspondence.sending.send import letters_send
from care.correspondence.services import letters_prepare
from care.correspondence.sms.segments import sms_segments
from care.correspondence.sms.tracking import sms_outbox_simulate
from care.customers.models import ContactChannel, Customer, SuppressionReason
from care.operations.sweeps import sweep_first_notices, sweep_kept_promises
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from incidents.services import incidents_refresh_counts
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory
from tests.sweep_harness import run_threads

START = DAYTIME_IN_NEW_YORK
MINUTE = dt.timedelta(minutes=1)
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
STATUS_URL = "http://testserver/sms/twilio/status/"
INBOUND_URL = "http://testserver/sms/twilio/inbound/"


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_outboxes")]


def open_incident(clock: Clock, **fields: Any) -> Incident:
    clock.at(START)
    return IncidentFactory.create(
        status=IncidentStatus.OPEN,
        opened_at=START - dt.timedelta(hours=1),
        next_update_due_at=START + 30 * MINUTE,
        update_interval_minutes=60,
        **fields,
    )


def on(incident: Incident, customer: Customer, number: str = "1545", **fields: Any) -> AffectedCustomer:
    fields.setdefault("booking_reference", "QX7P2M")
    row = AffectedCustomerFactory.create(
        incident=incident, customer=customer, carrier="UA", flight_number=number, created_at=START, **fields
    )
    incidents_refresh_counts(incident_ids=[incident.pk])
    return row


def letters_of(customer: Customer, kind: str) -> list[Letter]:
    return list(Letter.objects.filter(customer=customer, kind=kind, combined_into__isnull=True).order_by("pk"))


def texts_to(customer: Customer) -> list[str]:
    return list(SmsOutboxMessage.objects.filter(to=customer.phone).order_by("pk").values_list("body", flat=True))


def signed_post(client: Any, url: str, params: dict[str, str]) -> Any:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


# --- Who gets an SMS ---------------------------------------------------------------------------------------------


def test_a_phone_only_customer_gets_the_first_notice_by_sms_in_their_language(sweep: Any, clock: Clock) -> None:
    incident = open_incident(clock)
    phone_only = CustomerFactory.create(name="Lucia Gomez", email="", phone="+12125550142", language="es")
    with_email = CustomerFactory.create()
    on(incident, phone_only, delay_minutes=130, cancelled=False)
    on(incident, with_email, number="7")

    sweep(sweep_first_notices)

    (notice,) = letters_of(phone_only, LetterKind.INITIAL_NOTICE)
    assert (notice.channel, notice.status, notice.to_address) == (Channel.SMS, LetterStatus.SENT, "+12125550142")
    (text,) = texts_to(phone_only)
    assert text == notice.sms_body  # the letter records exactly what was sent
    assert text.startswith("Hola Lucia, ")
    assert "UA 1545" in text
    assert "QX7P2M" in text
    assert "2 horas y 10 minutos" in text
    # The promised next update on the customer's clock, with its zone.
    promised = (START + 30 * MINUTE).astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f"{promised:%H:%M} ({promised.tzname()})" in text
    assert sms_segments(text).segments <= 2
    assert notice.esp_message_id == SmsOutboxMessage.objects.get(letter=notice).provider_id
    # Their first contact is recorded as for email, and the incident's counter moved.
    assert AffectedCustomer.objects.get(customer=phone_only).first_contacted_at == START
    # The customer with an email address still gets email, and no SMS.
    (emailed,) = letters_of(with_email, LetterKind.INITIAL_NOTICE)
    assert emailed.channel == Channel.EMAIL
    assert OutboxMessage.objects.filter(to=with_email.email).count() == 1
    assert texts_to(with_email) == []


def test_a_customer_who_prefers_sms_gets_notices_by_sms(sweep: Any, clock: Clock) -> None:
    incident = open_incident(clock)
    customer = CustomerFactory.create(preferred_channel=ContactChannel.SMS)
    on(incident, customer)

    sweep(sweep_first_notices)

    (notice,) = letters_of(customer, LetterKind.INITIAL_NOTICE)
    assert notice.channel == Channel.SMS
    assert len(texts_to(customer)) == 1
    assert OutboxMessage.objects.filter(to=customer.email).count() == 0


def _simulate_hard_bounce(client: Any, message: OutboxMessage, django_capture_on_commit_callbacks: Any) -> None:
    url = reverse("admin:care_outboxmessage_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "simulate_hard_bounce", ACTION_CHECKBOX_NAME: [message.pk]})
    assert response.status_code == 302


def test_a_hard_bounce_moves_the_next_update_to_sms(
    sweep: Any, clock: Clock, coordinator_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = open_incident(clock)
    customer = CustomerFactory.create(phone="+12125550177")
    on(incident, customer)
    sweep(sweep_first_notices)
    (notice,) = letters_of(customer, LetterKind.INITIAL_NOTICE)
    assert notice.channel == Channel.EMAIL

    _simulate_hard_bounce(
        coordinator_client, OutboxMessage.objects.get(to=customer.email), django_capture_on_commit_callbacks
    )
    customer.refresh_from_db()
    assert customer.suppression_reason == SuppressionReason.HARD_BOUNCE

    sweep(sweep_kept_promises, minutes=31)  # the promised update falls due

    (update,) = letters_of(customer, LetterKind.UPDATE)
    assert (update.channel, update.status, update.to_address) == (Channel.SMS, LetterStatus.SENT, "+12125550177")
    assert texts_to(customer) == [update.sms_body]
    assert OutboxMessage.objects.filter(to=customer.email).count() == 1  # the bounced notice only


# --- STOP --------------------------------------------------------------------------------------------------------


def test_a_stop_suppresses_the_next_sms_and_start_lets_them_through_again(
    sweep: Any, clock: Clock, client: Any, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    incident = open_incident(clock)
    customer = CustomerFactory.create(email="", phone="+12125550188")
    on(incident, customer)
    sweep(sweep_first_notices)
    assert len(texts_to(customer)) == 1

    response = signed_post(client, INBOUND_URL, {"From": "+12125550188", "Body": "Stop"})
    assert response.status_code == 200
    sweep(sweep_kept_promises, minutes=31)

    (update,) = letters_of(customer, LetterKind.UPDATE)
    # Nobody else to reach them by: the letter is written for the record and held as suppressed, with the reason.
    assert update.status == LetterStatus.SUPPRESSED
    assert len(texts_to(customer)) == 1  # nothing more was sent

    signed_post(client, INBOUND_URL, {"From": "+12125550188", "Body": "START"})
    sweep(sweep_kept_promises, minutes=92)
    assert len(texts_to(customer)) == 2


def test_a_stop_held_at_the_claim_says_why() -> None:
    customer = CustomerFactory.create(email="", sms_opted_out_at=START)
    letter = _queued_sms(customer)

    summary = letters_send(letter_ids=[letter.pk])

    letter.refresh_from_db()
    assert (summary.suppressed, summary.api_calls, letter.status) == (1, 0, LetterStatus.SUPPRESSED)
    assert "texted STOP" in letter.last_error
    assert SmsOutboxMessage.objects.count() == 0


# --- Status callbacks --------------------------------------------------------------------------------------------


def _queued_sms(customer: Customer, **fields: Any) -> Letter:
    incident = fields.pop("incident", None) or IncidentFactory.create()
    return Letter.objects.create(
        customer=customer,
        incident=incident,
        kind=LetterKind.INITIAL_NOTICE,
        channel=Channel.SMS,
        status=LetterStatus.QUEUED,
        to_address=customer.phone,
        subject="Your flight UA 1545",
        body_text="Dear customer, your flight is delayed.",
        sms_body=fields.pop("sms_body", "Hello, your flight UA 1545 on 8 Feb is delayed by 2 h. Booking QX7P2M."),
        check_passed=True,
        **fields,
    )


def test_signed_status_callbacks_deliver_or_fail_the_letter_and_a_forged_one_changes_nothing(
    client: Any, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    delivered, failed = (_queued_sms(CustomerFactory.create(email="")) for _ in range(2))
    letters_send(letter_ids=[delivered.pk, failed.pk])
    delivered.refresh_from_db()
    failed.refresh_from_db()

    forged = client.post(
        f"{STATUS_URL}?letter={failed.pk}",
        {"MessageSid": failed.esp_message_id, "MessageStatus": "delivered"},
        HTTP_X_TWILIO_SIGNATURE="forged",
    )
    assert forged.status_code == 403
    unsigned = client.post(STATUS_URL, {"MessageSid": failed.esp_message_id, "MessageStatus": "delivered"})
    assert unsigned.status_code == 403
    assert SmsEvent.objects.count() == 0

    ok = signed_post(
        client,
        f"{STATUS_URL}?letter={delivered.pk}",
        {"MessageSid": delivered.esp_message_id, "MessageStatus": "delivered"},
    )
    assert ok.status_code == 204
    signed_post(
        client,
        f"{STATUS_URL}?letter={failed.pk}",
        {"MessageSid": failed.esp_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert delivered.status == LetterStatus.DELIVERED
    assert delivered.delivered_at is not None
    assert failed.status == LetterStatus.BOUNCED
    assert "undelivered (error 30003)" in failed.last_error
    # A replayed callback is stored once and moves nothing.
    signed_post(
        client,
        f"{STATUS_URL}?letter={delivered.pk}",
        {"MessageSid": delivered.esp_message_id, "MessageStatus": "delivered"},
    )
    assert SmsEvent.objects.count() == 2
    assert LetterStatusChange.objects.filter(letter=delivered, to_status=LetterStatus.DELIVERED).count() == 1


def test_a_status_for_another_message_than_the_letters_is_not_applied(client: Any, settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    letter = _queued_sms(CustomerFactory.create(email=""))
    letters_send(letter_ids=[letter.pk])

    signed_post(client, f"{STATUS_URL}?letter={letter.pk}", {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"})

    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT


def test_an_opted_out_failure_opts_the_customer_out(client: Any, settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    customer = CustomerFactory.create(email="", phone="+12125550199")
    letter = _queued_sms(customer)
    letters_send(letter_ids=[letter.pk])
    letter.refresh_from_db()

    signed_post(
        client,
        f"{STATUS_URL}?letter={letter.pk}",
        {"MessageSid": letter.esp_message_id, "MessageStatus": "failed", "ErrorCode": "21610"},
    )

    customer.refresh_from_db()
    assert customer.sms_opted_out_at is not None


def test_the_outbox_simulates_delivery_through_the_status_path() -> None:
    letter = _queued_sms(CustomerFactory.create(email=""))
    letters_send(letter_ids=[letter.pk])
    message = SmsOutboxMessage.objects.get(letter=letter)

    assert sms_outbox_simulate(message_ids=[message.pk], status=SmsStatus.DELIVERED, at=START) == 1

    letter.refresh_from_db()
    assert letter.status == LetterStatus.DELIVERED


# --- Exactly once, whatever crashes -------------------------------------------------------------------------------


def test_an_sms_without_a_booking_reference_to_quote_is_held_by_the_check(clock: Clock) -> None:
    incident = open_incident(clock)
    customer = CustomerFactory.create(email="")
    on(incident, customer, booking_reference="")

    letters_prepare(incident_id=incident.pk, kind=LetterKind.INITIAL_NOTICE, actor_label="test")

    (letter,) = letters_of(customer, LetterKind.INITIAL_NOTICE)
    assert letter.channel == Channel.SMS
    assert not letter.check_passed
    assert "SMS: There is no booking reference to quote." in letter.check_reasons


def test_a_crash_after_the_hand_over_is_reconciled_from_the_outbox_and_nothing_goes_twice(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, settings: Any
) -> None:
    clock.at(START)
    letters = [_queued_sms(CustomerFactory.create(email="")) for _ in range(3)]
    ids = [x.pk for x in letters]

    def killed(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr("care.correspondence.sending.sms_send._record", killed)
    with pytest.raises(SystemExit):
        letters_send(letter_ids=ids)
    monkeypatch.undo()

    assert set(Letter.objects.filter(pk__in=ids).values_list("status", flat=True)) == {LetterStatus.SENDING}
    assert SmsOutboxMessage.objects.count() == 3
    # The broker redelivers the task: nothing is claimable, nothing is sent again.
    again = letters_send(letter_ids=ids)
    assert (again.claimed, again.api_calls) == (0, 0)

    clock.shift(settings.CARE_SENDING_STALE_AFTER + dt.timedelta(seconds=1))  # no live run holds them any more
    summary = letters_reconcile_sending()

    assert (summary.sent, summary.requeued, summary.unconfirmed) == (3, 0, 0)
    assert set(Letter.objects.filter(pk__in=ids).values_list("status", flat=True)) == {LetterStatus.SENT}
    assert SmsOutboxMessage.objects.count() == 3
    for letter in Letter.objects.filter(pk__in=ids):
        assert letter.esp_message_id == SmsOutboxMessage.objects.get(letter=letter).provider_id


def test_a_crash_before_the_hand_over_is_sent_again_once(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, settings: Any
) -> None:
    clock.at(START)
    letter = _queued_sms(CustomerFactory.create(email=""))

    def killed(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr("care.correspondence.sending.sms_send._mark_handed_over", killed)
    with pytest.raises(SystemExit):
        letters_send(letter_ids=[letter.pk])
    monkeypatch.undo()
    assert SmsOutboxMessage.objects.count() == 0

    clock.shift(settings.CARE_SENDING_STALE_AFTER + dt.timedelta(seconds=1))
    assert letters_reconcile_sending().requeued == 1
    letters_send(letter_ids=[letter.pk])

    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT
    assert SmsOutboxMessage.objects.filter(letter=letter).count() == 1


def test_a_status_callback_settles_a_letter_a_crashed_run_left_sending(
    client: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a real provider nobody can ask "do you have letter 42?": its status callback, which carries the
    letter's id in its signed URL, proves it has it."""
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    letter = _queued_sms(CustomerFactory.create(email=""))

    def killed(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr("care.correspondence.sending.sms_send._record", killed)
    with pytest.raises(SystemExit):
        letters_send(letter_ids=[letter.pk])
    monkeypatch.undo()
    sid = SmsOutboxMessage.objects.get(letter=letter).provider_id

    signed_post(client, f"{STATUS_URL}?letter={letter.pk}", {"MessageSid": sid, "MessageStatus": "sent"})

    letter.refresh_from_db()
    assert (letter.status, letter.esp_message_id) == (LetterStatus.SENT, sid)
    last = letter.status_changes.order_by("pk").last()
    assert last is not None
    assert "reconciled, the provider has it" in last.note


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_sms_letters_send_each_once() -> None:
    incident = IncidentFactory.create()
    letters = [_queued_sms(CustomerFactory.create(email=""), incident=incident) for _ in range(120)]
    ids = [x.pk for x in letters]
    summaries: list[Any] = []

    def worker(order: list[int]) -> Callable[[], None]:
        return lambda: summaries.append(letters_send(letter_ids=order))

    errors = run_threads([worker(ids), worker(ids[::-1])], timeout=60)

    assert errors == []
    assert sum(s.claimed for s in summaries) == 120
    assert sorted(SmsOutboxMessage.objects.values_list("letter_id", flat=True)) == sorted(ids)
    assert set(Letter.objects.filter(pk__in=ids).values_list("status", "attempts")) == {(LetterStatus.SENT, 1)}


# --- Apologies: email first, a link by SMS ------------------------------------------------------------------------


def test_a_phone_only_customers_apology_goes_as_an_sms_with_a_link_to_the_letter(
    clock: Clock, client: Any, coordinator: Any
) -> None:
    incident = open_incident(clock)
    customer = CustomerFactory.create(email="", name="Marie Dupont", preferred_name="Marie", language="fr")
    on(incident, customer)
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)  # apologies follow the resolution

    letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY, actor=coordinator)

    (apology,) = letters_of(customer, LetterKind.APOLOGY)
    assert apology.channel == Channel.SMS
    assert apology.sms_body.startswith("Bonjour Marie")
    link = next(word for word in apology.sms_body.split() if word.startswith("http"))
    assert sms_segments(apology.sms_body).segments <= 2
    # Not shown before it has been sent.
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 404
    Letter.objects.filter(pk=apology.pk).update(status=LetterStatus.SENT)
    page = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    assert apology.subject in page.content.decode()
    # Read on a page, not in a mailbox: the letter says how to answer it without an email to reply to.
    assert "écrivez-nous à care@example.com" in apology.body_text
    assert "répondez à ce message" not in apology.body_text


# --- What frontline reps see ---------------------------------------------------------------------------------------


def test_reps_see_the_sms_on_the_customer_page_and_the_channels_on_the_briefing(
    sweep: Any, clock: Clock, rep_client: Any, settings: Any
) -> None:
    incident = open_incident(clock)
    texted = CustomerFactory.create(email="", phone="+12125550101")
    stopped = CustomerFactory.create(email="", phone="+12125550102", sms_opted_out_at=START)
    emailed = CustomerFactory.create()
    for number, customer in (("1", texted), ("2", stopped), ("3", emailed)):
        on(incident, customer, number=number)
    sweep(sweep_first_notices)
    (notice,) = letters_of(texted, LetterKind.INITIAL_NOTICE)

    page = rep_client.get(reverse("briefings:customer", args=[texted.pk])).content.decode()
    assert "SMS to +12125550101" in page
    assert html.escape(notice.sms_body) in page
    held = rep_client.get(reverse("briefings:customer", args=[stopped.pk])).content.decode()
    assert "texted STOP: no SMS goes to them" in held
    assert "Suppressed" in held
    assert "Not sent: the customer texted STOP" in held

    live = rep_client.get(reverse("briefings:briefing_live", args=[incident.reference])).content.decode()
    assert re.search(r"Letters by Email</dt><dd>1:.*1 sent</span></dd>", live)
    # The customer who texted STOP: their SMS is held, and the rep reads why on their page.
    assert re.search(r"Letters by SMS</dt><dd>2:.*1 sent</span>,.*1 held \(cannot be reached this way\)", live)
