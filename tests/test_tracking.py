"""Tracking: the ESPs' real webhook payloads, authenticated, stored once and applied to letters."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import factory
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

import care.correspondence.outbox_admin  # noqa: F401  (registers the outbox admin, as care.admin will)
from care.correspondence.models.letters import (
    Letter,
    LetterEvent,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
    OutboxMessage,
)
from care.correspondence.sending.send import letters_send
from care.correspondence.tracking import customers_unreachable, letter_event_process, stable_event_id
from care.customers.models import Customer, SuppressionReason
from incidents.models import AffectedCustomer, Incident
from tests.factories import AffectedCustomerFactory, IncidentFactory, LetterFactory

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "anymail-user:anymail-pass"
MAILGUN_SIGNING_KEY = "TEST_WEBHOOK_SIGNING_KEY"
ANYMAIL_SETTINGS = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}
POSTMARK_URL = "/anymail/postmark/tracking/"
MAILGUN_URL = "/anymail/mailgun/tracking/"
OUTBOX_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run the event-processing task inline when the receiver enqueues it (as a worker would)."""
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def basic_auth(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def sent_letter(*, incident: Incident | None = None, **fields: Any) -> Letter:
    affected = AffectedCustomerFactory.create(**({"incident": incident} if incident else {}))
    defaults: dict[str, Any] = {
        "affected": affected,
        "kind": LetterKind.INITIAL_NOTICE,
        "status": LetterStatus.SENT,
        "subject": "Your flight is cancelled",
        "body_text": "Dear customer, your flight is cancelled.",
        "to_address": factory.SelfAttribute("customer.email"),
        "check_passed": True,
        "esp_message_id": "883953f4-6105-42a2-a16a-77a8eac79483",
        "sent_at": timezone.now(),
    }
    return LetterFactory.create(**{**defaults, **fields})


# Postmark's own webhook payloads (as in anymail's tests/test_postmark_webhooks.py and Postmark's docs),
# with the metadata and recipient of our letter.
def postmark_delivery(letter: Letter) -> dict[str, Any]:
    return {
        "RecordType": "Delivery",
        "ServerId": 23,
        "MessageID": letter.esp_message_id,
        "Recipient": letter.to_address,
        "Tag": letter.kind,
        "Metadata": {"letter_id": str(letter.pk), "incident": letter.incident.reference if letter.incident else ""},
        "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00",
        "Details": "Test delivery webhook details",
    }


def postmark_bounce(letter: Letter, *, bounce_type: str = "HardBounce", bounce_id: int = 901542550) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": bounce_type,
        "TypeCode": 1 if bounce_type == "HardBounce" else 4096,
        "ServerID": 23,
        "Name": "Hard bounce" if bounce_type == "HardBounce" else "Soft bounce",
        "MessageID": letter.esp_message_id,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": letter.to_address,
        "From": "care@example.com",
        "BouncedAt": "2016-04-27T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": letter.subject,
        "Metadata": {"letter_id": str(letter.pk)},
    }


def postmark_spam_complaint(letter: Letter) -> dict[str, Any]:
    return {
        "RecordType": "SpamComplaint",
        "ID": 901542551,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "Test",
        "MessageID": letter.esp_message_id,
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": letter.to_address,
        "From": "care@example.com",
        "BouncedAt": "2016-04-27T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": letter.subject,
    }


def postmark_open(letter: Letter) -> dict[str, Any]:
    return {
        "RecordType": "Open",
        "FirstOpen": True,
        "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
        "OS": {"Name": "unknown", "Company": "unknown", "Family": "unknown"},
        "Platform": "Unknown",
        "UserAgent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0",
        "ReadSeconds": 0,
        "Geo": {},
        "MessageID": letter.esp_message_id,
        "ReceivedAt": "2016-04-27T16:21:41.2493688-04:00",
        "Recipient": letter.to_address,
    }


def mailgun_signed(event_data: dict[str, Any], *, key: str = MAILGUN_SIGNING_KEY, token: str = "") -> dict[str, Any]:
    """A Mailgun webhook post: the event-data and its signature block (HMAC-SHA256 of timestamp+token)."""
    timestamp = str(int(float(event_data["timestamp"])))
    token = token or hashlib.sha256(json.dumps(event_data, sort_keys=True).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}


def mailgun_event(letter: Letter, event: str, **extra: Any) -> dict[str, Any]:
    # Shape of Mailgun's "delivered" event as in anymail's tests/test_mailgun_webhooks.py.
    return {
        "tags": [letter.kind],
        "timestamp": 1534108637.153125,
        "id": "hTWCTD81RtiDN-...",
        "user-variables": {"letter_id": str(letter.pk), "incident": "INC"},
        "log-level": "info",
        "envelope": {"sender": "care@example.com", "transport": "smtp", "targets": letter.to_address},
        "message": {
            "headers": {
                "to": letter.to_address,
                "message-id": "20180812211713.1.DF5966851B4BAA99@example.org",
                "from": "care@example.com",
                "subject": letter.subject,
            },
            "attachments": [],
            "size": 809,
        },
        "recipient": letter.to_address,
        "event": event,
        **extra,
    }


def post(client: Any, url: str, payload: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(payload), content_type="application/json", **headers)


# --- Authentication ----------------------------------------------------------------------------


def test_webhooks_are_closed_without_a_configured_secret(client: Any) -> None:
    # The project's own settings (no ANYMAIL_WEBHOOK_SECRET in the environment): no post gets in.
    letter = sent_letter()
    assert post(client, POSTMARK_URL, postmark_delivery(letter)).status_code == 400
    assert post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth("guess:guess")).status_code == 400
    # Mailgun with no signing key configured: refused (400), not a configuration error (500).
    assert post(client, MAILGUN_URL, mailgun_signed(mailgun_event(letter, "delivered"), key="")).status_code == 400
    assert LetterEvent.objects.count() == 0


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_postmark_post_without_or_with_wrong_basic_auth_gets_400_and_changes_nothing(client: Any) -> None:
    letter = sent_letter()
    assert post(client, POSTMARK_URL, postmark_delivery(letter)).status_code == 400
    assert post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth("anymail-user:wrong")).status_code == 400
    assert LetterEvent.objects.count() == 0
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_mailgun_post_with_a_forged_signature_gets_400_and_stores_nothing(client: Any) -> None:
    letter = sent_letter()
    forged = mailgun_signed(mailgun_event(letter, "delivered"), key="not the signing key")
    assert post(client, MAILGUN_URL, forged, **basic_auth()).status_code == 400
    unsigned = {"event-data": mailgun_event(letter, "delivered")}
    assert post(client, MAILGUN_URL, unsigned, **basic_auth()).status_code == 400
    signed_without_auth = mailgun_signed(mailgun_event(letter, "delivered"))
    assert post(client, MAILGUN_URL, signed_without_auth).status_code == 400
    assert LetterEvent.objects.count() == 0
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT


# --- Postmark ----------------------------------------------------------------------------------


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_postmark_delivery_marks_the_letter_delivered(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth())

    assert response.status_code == 200
    event = LetterEvent.objects.get()
    assert (event.esp_name, event.event_type, event.letter_id) == ("Postmark", "delivered", letter.pk)
    assert event.event_id.startswith("sha256:")  # Postmark deliveries carry no event id
    assert event.processed_at is not None
    letter.refresh_from_db()
    assert letter.status == LetterStatus.DELIVERED
    assert letter.delivered_at is not None
    assert letter.delivered_at.year == 2014
    assert LetterStatusChange.objects.filter(
        letter=letter, from_status=LetterStatus.SENT, to_status=LetterStatus.DELIVERED, actor_label="ESP webhook"
    ).exists()


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_the_receiver_answers_fast_and_leaves_the_work_to_the_task(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth()).status_code == 200

    event = LetterEvent.objects.get()
    assert event.processed_at is None
    assert len(callbacks) == 1
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT
    assert letter_event_process(event_id=event.pk) is True
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.DELIVERED
    assert letter_event_process(event_id=event.pk) is False  # a redelivered task does nothing


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_a_replayed_event_is_stored_and_applied_once(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter()

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth()).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, POSTMARK_URL, postmark_bounce(letter), **basic_auth()).status_code == 200

    assert LetterEvent.objects.filter(letter=letter).count() == 2
    assert list(LetterEvent.objects.order_by("id").values_list("event_type", flat=True)) == ["delivered", "bounced"]
    assert LetterEvent.objects.get(event_type="bounced").event_id == "901542550"
    trail = LetterStatusChange.objects.filter(letter=letter).order_by("id")
    assert [(a.from_status, a.to_status) for a in trail] == [
        (LetterStatus.SENT, LetterStatus.DELIVERED),
        (LetterStatus.DELIVERED, LetterStatus.BOUNCED),
    ]


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_postmark_hard_bounce_suppresses_the_address_and_lists_the_customer_to_phone(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    letter = sent_letter()
    delivered = sent_letter(esp_message_id="other-message")

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, POSTMARK_URL, postmark_bounce(letter), **basic_auth()).status_code == 200

    letter.refresh_from_db()
    assert letter.status == LetterStatus.BOUNCED
    assert "unable to deliver" in letter.last_error
    customer = Customer.objects.get(pk=letter.customer_id)
    assert customer.suppressed_at is not None
    assert customer.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert not Customer.objects.get(pk=delivered.customer_id).is_suppressed
    with django_assert_max_num_queries(2):
        unreachable: list[Any] = list(customers_unreachable(incident_id=letter.incident_id))
        assert [c.pk for c in unreachable] == [customer.pk]
        assert [x.pk for x in unreachable[0].unreachable_letters] == [letter.pk]
        assert unreachable[0].unreachable_letters[0].incident.reference  # selected, no query
    assert list(customers_unreachable(incident_id=delivered.incident_id)) == []


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_postmark_soft_bounce_does_not_suppress_the_address(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter()
    with django_capture_on_commit_callbacks(execute=True):
        payload = postmark_bounce(letter, bounce_type="SoftBounce", bounce_id=901542999)
        assert post(client, POSTMARK_URL, payload, **basic_auth()).status_code == 200
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.BOUNCED  # it did not arrive: phone them
    assert not Customer.objects.get(pk=letter.customer_id).is_suppressed


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_complaint_suppresses_the_address(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter(status=LetterStatus.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, POSTMARK_URL, postmark_spam_complaint(letter), **basic_auth()).status_code == 200
    event = LetterEvent.objects.get()
    assert event.letter_id == letter.pk  # no metadata in this event: found by the ESP's message id
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.COMPLAINED
    customer = Customer.objects.get(pk=letter.customer_id)
    assert customer.suppression_reason == SuppressionReason.COMPLAINT


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_opens_are_recorded_only(client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any) -> None:
    letter = sent_letter(status=LetterStatus.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, POSTMARK_URL, postmark_open(letter), **basic_auth()).status_code == 200
    event = LetterEvent.objects.get()
    assert (event.event_type, event.letter_id) == ("opened", letter.pk)
    assert event.processed_at is not None
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.DELIVERED
    assert not LetterStatusChange.objects.filter(letter=letter).exists()


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_a_move_the_lifecycle_forbids_is_recorded_and_skipped(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter(status=LetterStatus.BOUNCED)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, POSTMARK_URL, postmark_delivery(letter), **basic_auth()).status_code == 200
    assert LetterEvent.objects.get().processed_at is not None
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.BOUNCED  # a late "delivered" changes nothing


@override_settings(ANYMAIL=ANYMAIL_SETTINGS, EMAIL_BACKEND=OUTBOX_BACKEND)
def test_delivery_for_a_letter_stuck_in_sending_reconciles_it_without_resending(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    # A worker died after Postmark accepted the letter and before recording it: SENDING, no message id.
    letter = sent_letter(status=LetterStatus.SENDING, esp_message_id="", sent_at=None)
    AffectedCustomer.objects.filter(letters=letter).update(first_contacted_at=None)
    payload = postmark_delivery(letter)
    payload["MessageID"] = "883953f4-6105-42a2-a16a-77a8eac79483"

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, POSTMARK_URL, payload, **basic_auth()).status_code == 200

    letter.refresh_from_db()
    assert letter.status == LetterStatus.DELIVERED
    assert letter.sent_at is not None
    assert letter.delivered_at is not None
    assert letter.esp_message_id == "883953f4-6105-42a2-a16a-77a8eac79483"
    trail = LetterStatusChange.objects.filter(letter=letter).order_by("id")
    assert [(a.from_status, a.to_status, a.actor_label) for a in trail] == [
        (LetterStatus.SENDING, LetterStatus.SENT, "ESP webhook"),
        (LetterStatus.SENT, LetterStatus.DELIVERED, "ESP webhook"),
    ]
    assert AffectedCustomer.objects.get(letters=letter).first_contacted_at is not None
    assert Incident.objects.get(letters=letter).contacted_count == 1
    # And a redelivered send task finds nothing to send.
    assert letters_send(letter_ids=[letter.pk]).claimed == 0
    assert OutboxMessage.objects.count() == 0


# --- Mailgun -----------------------------------------------------------------------------------


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_mailgun_signed_events_move_the_letter_and_a_permanent_failure_suppresses(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter(esp_message_id="<20180812211713.1.DF5966851B4BAA99@example.org>")
    delivered = mailgun_signed(mailgun_event(letter, "delivered", **{"delivery-status": {"code": 250}}))
    failed = mailgun_signed(
        mailgun_event(
            letter,
            "failed",
            severity="permanent",
            reason="bounce",
            timestamp=1534110422.389832,
            **{
                "delivery-status": {
                    "code": 550,
                    "description": "",
                    "message": "5.1.1 The email account that you tried to reach does not exist.",
                }
            },
        )
    )

    for payload in (delivered, failed, delivered):  # the last one is Mailgun retrying
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, MAILGUN_URL, payload, **basic_auth()).status_code == 200

    assert LetterEvent.objects.count() == 2
    events = {e.event_type: e for e in LetterEvent.objects.all()}
    assert events["delivered"].event_id == delivered["signature"]["token"]
    assert events["bounced"].reject_reason == "bounced"
    letter.refresh_from_db()
    assert letter.status == LetterStatus.BOUNCED
    assert Customer.objects.get(pk=letter.customer_id).suppression_reason == SuppressionReason.HARD_BOUNCE


@override_settings(ANYMAIL=ANYMAIL_SETTINGS)
def test_mailgun_temporary_failure_is_recorded_only(
    client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    letter = sent_letter()
    payload = mailgun_signed(
        mailgun_event(letter, "failed", severity="temporary", reason="generic", timestamp=1534111899.659519)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, MAILGUN_URL, payload, **basic_auth()).status_code == 200
    assert LetterEvent.objects.get().event_type == "deferred"
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT
    assert not Customer.objects.get(pk=letter.customer_id).is_suppressed


def test_event_ids_without_an_esp_id_are_stable() -> None:
    from anymail.signals import AnymailTrackingEvent

    def event() -> AnymailTrackingEvent:
        return AnymailTrackingEvent(
            event_type="delivered",
            message_id="abc",
            recipient="a@example.com",
            timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            esp_event={},
        )

    assert stable_event_id(event=event(), esp_name="Postmark") == stable_event_id(event=event(), esp_name="Postmark")
    assert stable_event_id(event=event(), esp_name="Postmark") != stable_event_id(event=event(), esp_name="SendGrid")


# --- The outbox in the admin ----------------------------------------------------------------------


def _changelist_action(client: Any, action: str, ids: list[int]) -> Any:
    return client.post(
        reverse("admin:care_outboxmessage_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in ids]},
        follow=True,
    )


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_outbox_admin_simulates_delivery_and_bounce_through_the_tracking_path(
    coordinator_client: Any, eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    incident = IncidentFactory.create()
    letters = [sent_letter(status=LetterStatus.QUEUED, esp_message_id="", incident=incident) for _ in range(2)]
    letters_send(letter_ids=[x.pk for x in letters])
    delivered_msg, bounced_msg = (OutboxMessage.objects.get(to=x.to_address) for x in letters)

    with django_capture_on_commit_callbacks(execute=True):
        response = _changelist_action(coordinator_client, "simulate_delivered", [delivered_msg.pk])
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _changelist_action(coordinator_client, "simulate_hard_bounce", [bounced_msg.pk])
    with django_capture_on_commit_callbacks(execute=True):  # a second click is a replay
        _changelist_action(coordinator_client, "simulate_hard_bounce", [bounced_msg.pk])

    assert LetterEvent.objects.filter(esp_name="Outbox").count() == 2
    assert Letter.objects.get(pk=letters[0].pk).status == LetterStatus.DELIVERED
    assert Letter.objects.get(pk=letters[1].pk).status == LetterStatus.BOUNCED
    assert Customer.objects.get(pk=letters[1].customer_id).suppression_reason == SuppressionReason.HARD_BOUNCE


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_outbox_admin_is_read_only_and_reps_cannot_simulate(
    coordinator_client: Any, rep: Any, django_assert_max_num_queries: Any
) -> None:
    letters = [sent_letter(status=LetterStatus.QUEUED, esp_message_id="") for _ in range(30)]
    letters_send(letter_ids=[x.pk for x in letters])
    message = OutboxMessage.objects.get(to=letters[0].to_address)
    url = reverse("admin:care_outboxmessage_changelist")

    with django_assert_max_num_queries(12):
        page = coordinator_client.get(url)
    assert page.status_code == 200
    assert f"L-{letters[0].pk}" in page.content.decode()
    found = coordinator_client.get(url, {"q": message.message_id})
    assert list(found.context["cl"].result_list) == [message]
    found = coordinator_client.get(url, {"q": message.to.upper()})
    assert list(found.context["cl"].result_list) == [message]
    detail = coordinator_client.get(reverse("admin:care_outboxmessage_change", args=[message.pk]))
    assert detail.status_code == 200
    assert letters[0].body_text in detail.content.decode()
    assert coordinator_client.get(reverse("admin:care_outboxmessage_add")).status_code == 403

    # A rep may not view the outbox at all, nor forge its action. (Not the `rep_client` fixture: it would
    # log the same test client in as the rep.)
    rep_client = Client()
    rep_client.force_login(rep)
    assert rep_client.get(url).status_code == 403
    assert _changelist_action(rep_client, "simulate_delivered", [message.pk]).status_code == 403
    assert LetterEvent.objects.count() == 0


@override_settings(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend")
def test_no_simulated_events_once_a_real_esp_sends(coordinator_client: Any) -> None:
    message = OutboxMessage.objects.create(message_id="m1", to="a@example.com", from_email="c@example.com", subject="S")
    assert _changelist_action(coordinator_client, "simulate_delivered", [message.pk]).status_code == 403
    assert LetterEvent.objects.count() == 0


def test_deploy_check_requires_the_webhook_secret_only_with_a_real_esp() -> None:
    from care.core.checks import check_webhook_secret

    with override_settings(
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend", ANYMAIL_WEBHOOK_SECRET_FROM_ENV=False
    ):
        assert [error.id for error in check_webhook_secret()] == ["care.E001"]
    with override_settings(
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend", ANYMAIL_WEBHOOK_SECRET_FROM_ENV=True
    ):
        assert check_webhook_secret() == []
    with override_settings(EMAIL_BACKEND=OUTBOX_BACKEND, ANYMAIL_WEBHOOK_SECRET_FROM_ENV=False):
        assert check_webhook_secret() == []


def test_the_sweep_processes_events_left_unprocessed(
    eager_celery: None, django_capture_on_commit_callbacks: Any
) -> None:
    from care.correspondence.tracking import letter_events_process_stale

    letter = sent_letter()
    event = LetterEvent.objects.create(
        letter=letter, esp_name="Postmark", event_id="lost-1", event_type="delivered", occurred_at=timezone.now()
    )
    LetterEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert letter_events_process_stale(older_than=dt.timedelta(minutes=5)) == 1

    assert LetterEvent.objects.get(pk=event.pk).processed_at is not None
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.DELIVERED


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_event_posted_twice_at_once_is_stored_once(eager_celery: None) -> None:
    import threading

    from anymail.signals import AnymailTrackingEvent

    from care.correspondence.tracking import letter_event_store

    letter = sent_letter()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def receive() -> None:
        try:
            event = AnymailTrackingEvent(
                event_type="delivered",
                event_id="mailgun-token-1",
                message_id=letter.esp_message_id,
                recipient=letter.to_address,
                metadata={"letter_id": str(letter.pk)},
                timestamp=timezone.now(),
                esp_event={"event-data": {"event": "delivered"}},
            )
            barrier.wait(timeout=10)
            letter_event_store(event=event, esp_name="Mailgun")
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert LetterEvent.objects.filter(esp_name="Mailgun", event_id="mailgun-token-1").count() == 1
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.DELIVERED
