"""SMS behind one interface: the outbox, locmem and Twilio backends, the send rate limit, and Twilio's webhooks.

Twilio is faked at its own seam: a ``twilio.http.HttpClient`` handed to the SDK's ``Client``, answering with
canned ``twilio.http.response.Response`` objects, so the SDK's own request building and error parsing run.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import requests
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from care.core.audit import AuditEntry
from care.correspondence.models.sms import SmsEvent, SmsOutboxMessage, SmsStatus
from care.correspondence.sending.outcomes import FAILED, REQUEUE, SENT, UNCONFIRMED
from care.correspondence.sms import backends
from care.correspondence.sms.backends import (
    LocmemSmsBackend,
    OutboxSmsBackend,
    SmsMessage,
    TwilioSmsBackend,
    sms_backend,
)
from care.correspondence.sms.rate_limit import TokenBucket
from care.customers.models import Customer
from care.customers.phones import e164
from tests.clock import DAYTIME_IN_NEW_YORK
from tests.factories import CustomerFactory, LetterFactory

pytestmark = pytest.mark.django_db

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
PHONE = "+12125550123"
STATUS_URL = "http://testserver/sms/twilio/status/"
INBOUND_URL = "http://testserver/sms/twilio/inbound/"


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeTwilioHttp(HttpClient):
    """Twilio's HTTP seam: records each request (and the clock's time) and answers the next canned reply."""

    def __init__(self, replies: list[Response | Exception], clock: FakeClock | None = None) -> None:
        super().__init__(logger=__import__("logging").getLogger("tests.twilio"), is_async=False)
        self.replies = list(replies)
        self.clock = clock
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, uri: str, params: Any = None, data: Any = None, **kwargs: Any) -> Response:
        self.requests.append(
            {"method": method, "uri": uri, "data": dict(data or {}), "at": self.clock and self.clock()}
        )
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


def created(sid: str, status: str = "queued") -> Response:
    payload = {"sid": sid, "status": status, "account_sid": ACCOUNT_SID, "error_code": None, "error_message": None}
    return Response(201, json.dumps(payload))


def refused(http_status: int, code: int, message: str) -> Response:
    payload = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return Response(http_status, json.dumps({**payload, "status": http_status}))


def twilio(replies: list[Response | Exception], **kwargs: Any) -> tuple[TwilioSmsBackend, FakeTwilioHttp]:
    clock = FakeClock()
    http = FakeTwilioHttp(replies, clock)
    backend = TwilioSmsBackend(
        http_client=http,
        limiter=kwargs.pop("limiter", None) or TokenBucket(rate=10, clock=clock, sleep=clock.sleep),
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number="+15005550006",
        messaging_service_sid="",
        **kwargs,
    )
    return backend, http


def sms(to: str = PHONE, body: str = "Your flight UA 1545 is delayed.", **kwargs: Any) -> SmsMessage:
    return SmsMessage(to=to, body=body, **kwargs)


# --- the backends ---------------------------------------------------------------------------------------------


def test_the_outbox_is_the_default_backend_and_writes_one_row_per_message() -> None:
    letter = LetterFactory.create()
    backend = sms_backend()
    assert isinstance(backend, OutboxSmsBackend)

    results = backend.send_messages([sms(letter_id=letter.pk), sms(to="+447700900123", body="Hello")])

    assert [r.status for r in results] == [SENT, SENT]
    rows = {row.provider_id: row for row in SmsOutboxMessage.objects.all()}
    assert set(rows) == {r.provider_id for r in results}
    first = rows[results[0].provider_id]
    assert (first.to, first.body, first.letter_id, first.status) == (
        PHONE,
        "Your flight UA 1545 is delayed.",
        letter.pk,
        SmsStatus.QUEUED,
    )
    assert rows[results[1].provider_id].letter_id is None


def test_locmem_collects_the_messages(settings: Any) -> None:
    settings.SMS_BACKEND = "care.correspondence.sms.backends.LocmemSmsBackend"
    backends.sms_outbox.clear()
    message = sms(letter_id=7)

    results = sms_backend().send_messages([message])

    assert backends.sms_outbox == [message]
    assert results[0].status == SENT
    assert results[0].provider_id.startswith("locmem-")
    assert not SmsOutboxMessage.objects.exists()
    assert isinstance(sms_backend("care.correspondence.sms.backends.LocmemSmsBackend"), LocmemSmsBackend)


def test_a_message_needs_an_e164_number() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        SmsMessage(to="212 555 0123", body="Hi")


def test_twilio_success_sends_through_the_sdk_with_our_callback() -> None:
    backend, http = twilio([created("SM" + "a" * 32)])

    (result,) = backend.send_messages([sms(status_callback="https://care.example.com/sms/twilio/status/")])

    assert (result.provider_id, result.status, result.error) == ("SM" + "a" * 32, SENT, "")
    (request,) = http.requests
    assert request["method"] == "POST"
    assert request["uri"].endswith(f"/Accounts/{ACCOUNT_SID}/Messages.json")
    assert request["data"]["To"] == PHONE
    assert request["data"]["From"] == "+15005550006"
    assert request["data"]["StatusCallback"] == "https://care.example.com/sms/twilio/status/"


def test_twilio_with_a_messaging_service_sends_from_it() -> None:
    clock = FakeClock()
    http = FakeTwilioHttp([created("SM" + "b" * 32)], clock)
    backend = TwilioSmsBackend(
        http_client=http,
        limiter=TokenBucket(rate=10, clock=clock, sleep=clock.sleep),
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number="",
        messaging_service_sid="MG" + "1" * 32,
    )
    backend.send_messages([sms()])
    assert http.requests[0]["data"]["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in http.requests[0]["data"]


def test_twilio_429_is_transient_and_stops_the_run() -> None:
    backend, http = twilio([refused(429, 20429, "Too Many Requests")])

    results = backend.send_messages([sms(), sms(to="+447700900123")])

    assert [r.status for r in results] == [REQUEUE, REQUEUE]
    assert results[0].code == "20429"
    assert "Too Many Requests" in results[0].error
    assert len(http.requests) == 1, "after a 429 the next message is not tried"


def test_twilio_5xx_and_connection_errors_are_transient_a_read_timeout_unconfirmed() -> None:
    for reply, verdict in [
        (refused(503, 20503, "Service Unavailable"), REQUEUE),
        (requests.ConnectionError("connection refused"), REQUEUE),
        (requests.ConnectTimeout("connect timed out"), REQUEUE),
        (requests.ReadTimeout("read timed out"), UNCONFIRMED),
    ]:
        backend, _http = twilio([reply])
        (result,) = backend.send_messages([sms()])
        assert result.status == verdict, reply


def test_twilio_21211_is_permanent_and_the_next_message_still_goes() -> None:
    backend, http = twilio(
        [refused(400, 21211, "The 'To' number is not a valid phone number."), created("SM" + "c" * 32)]
    )

    bad, good = backend.send_messages([sms(), sms(to="+447700900123")])

    assert (bad.status, bad.code, bad.provider_id) == (FAILED, "21211", "")
    assert bad.error.startswith("Twilio 21211: ")
    assert "The 'To' number is not a valid phone number." in bad.error
    assert (good.status, good.provider_id) == (SENT, "SM" + "c" * 32)
    assert len(http.requests) == 2


def test_twilio_opted_out_recipient_is_permanent_with_its_code() -> None:
    backend, _http = twilio([refused(400, backends.TWILIO_OPTED_OUT_CODE, "Attempt to send to unsubscribed recipient")])
    (result,) = backend.send_messages([sms()])
    assert (result.status, result.code) == (FAILED, "21610")


def test_twilio_backend_refuses_to_start_without_credentials(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    with pytest.raises(ImproperlyConfigured, match="TWILIO_ACCOUNT_SID"):
        sms_backend("care.correspondence.sms.backends.TwilioSmsBackend")


# --- the rate limit -------------------------------------------------------------------------------------------


def _most_in_any_second(moments: list[float]) -> int:
    # Rounded: the bucket's float arithmetic may land a send a hair before its exact 1/N slot.
    times = sorted(round(m, 6) for m in moments)
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


def test_the_twilio_backend_sends_at_most_n_per_second() -> None:
    clock = FakeClock()
    http = FakeTwilioHttp([created("SM" + "d" * 32)], clock)
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    backend, _ = twilio([created("SM" + "d" * 32)], limiter=bucket)
    backend.client.http_client = http

    results = backend.send_messages([sms() for _ in range(35)])

    assert all(r.status == SENT for r in results)
    moments = [r["at"] for r in http.requests]
    assert len(moments) == 35
    assert _most_in_any_second(moments) == 10
    # Not slower than the rate either: 35 messages at 10 a second take 3.4 seconds.
    assert moments[-1] - moments[0] == pytest.approx(3.4)


def test_the_bucket_saves_up_at_most_its_burst_while_idle() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=5, burst=3, clock=clock, sleep=clock.sleep)
    clock.now += 60  # a long idle minute saves up 3 tokens, not 300
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.2)
    assert waits[4] == pytest.approx(0.2)


# --- the webhooks ---------------------------------------------------------------------------------------------


@pytest.fixture
def twilio_token(settings: Any) -> str:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    return AUTH_TOKEN


def post_signed(client: Any, url: str, params: dict[str, str], *, token: str = AUTH_TOKEN) -> Any:
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


STATUS: dict[str, str] = {
    "MessageSid": "SM" + "e" * 32,
    "MessageStatus": "delivered",
    "AccountSid": ACCOUNT_SID,
    "To": PHONE,
}
SENT_STATUS = {**STATUS, "MessageStatus": "sent"}


def test_a_signed_status_callback_is_stored_once_and_a_replay_is_a_no_op(client: Any, twilio_token: str) -> None:
    assert post_signed(client, STATUS_URL, STATUS).status_code == 204
    assert post_signed(client, STATUS_URL, STATUS).status_code == 204

    (event,) = SmsEvent.objects.all()
    assert (event.provider_id, event.status, event.error_code) == ("SM" + "e" * 32, "delivered", "")

    failed = {**STATUS, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert post_signed(client, STATUS_URL, failed).status_code == 204
    assert set(SmsEvent.objects.values_list("status", "error_code")) == {("delivered", ""), ("undelivered", "30003")}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"HTTP_X_TWILIO_SIGNATURE": "bm90LWEtc2lnbmF0dXJl"},  # forged
        # signed with another token
        {"HTTP_X_TWILIO_SIGNATURE": RequestValidator("someone-elses-token").compute_signature(STATUS_URL, STATUS)},
        # signed for other parameters
        {
            "HTTP_X_TWILIO_SIGNATURE": RequestValidator(AUTH_TOKEN).compute_signature(
                STATUS_URL, {**STATUS, "MessageStatus": "sent"}
            )
        },
    ],
    ids=["unsigned", "forged", "other-token", "other-params"],
)
def test_an_unsigned_or_forged_status_callback_is_403_and_stores_nothing(
    client: Any, twilio_token: str, headers: dict[str, str]
) -> None:
    response = client.post(STATUS_URL, STATUS, **headers)
    assert response.status_code == 403
    assert not SmsEvent.objects.exists()


def test_without_a_twilio_token_the_webhooks_are_not_there(client: Any, settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    assert post_signed(client, STATUS_URL, STATUS).status_code == 404
    assert client.get(INBOUND_URL).status_code == 404
    assert not SmsEvent.objects.exists()


def test_a_webhook_takes_only_posts(client: Any, twilio_token: str) -> None:
    assert client.get(STATUS_URL).status_code == 405


def test_a_signed_stop_opts_the_customer_out_audited_and_start_opts_them_back_in(
    client: Any, twilio_token: str, clock: Any
) -> None:
    customer = CustomerFactory.create(phone=PHONE)
    other = CustomerFactory.create(phone="+447700900123")
    clock.at(DAYTIME_IN_NEW_YORK)

    response = post_signed(client, INBOUND_URL, {"From": PHONE, "Body": " Stop. ", "MessageSid": "SM" + "f" * 32})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response" in response.content
    customer.refresh_from_db()
    assert customer.sms_opted_out_at == DAYTIME_IN_NEW_YORK
    assert Customer.objects.get(pk=other.pk).sms_opted_out_at is None
    entry = AuditEntry.objects.get(action="customer.sms_opt_out")
    assert (entry.target_type, entry.target_id, entry.actor_label) == (
        "care.customer",
        str(customer.pk),
        "Twilio inbound SMS webhook",
    )
    assert entry.changes == {"sms_opted_out_at": [None, DAYTIME_IN_NEW_YORK.isoformat()]}

    # A replayed STOP changes nothing and writes no second entry.
    clock.shift(dt.timedelta(minutes=5))
    post_signed(client, INBOUND_URL, {"From": PHONE, "Body": "STOPALL"})
    customer.refresh_from_db()
    assert customer.sms_opted_out_at == DAYTIME_IN_NEW_YORK
    assert AuditEntry.objects.filter(action="customer.sms_opt_out").count() == 1

    assert post_signed(client, INBOUND_URL, {"From": PHONE, "Body": "start"}).status_code == 200
    customer.refresh_from_db()
    assert customer.sms_opted_out_at is None
    back_in = AuditEntry.objects.get(action="customer.sms_opt_in")
    assert back_in.target_id == str(customer.pk)


def test_other_inbound_texts_and_forged_stops_change_nothing(client: Any, twilio_token: str) -> None:
    customer = CustomerFactory.create(phone=PHONE)

    assert post_signed(client, INBOUND_URL, {"From": PHONE, "Body": "Please stop the delays"}).status_code == 200
    forged = client.post(INBOUND_URL, {"From": PHONE, "Body": "STOP"}, HTTP_X_TWILIO_SIGNATURE="Zm9yZ2Vk")
    assert forged.status_code == 403

    customer.refresh_from_db()
    assert customer.sms_opted_out_at is None
    assert not AuditEntry.objects.filter(action__startswith="customer.sms_").exists()


def test_phone_numbers_are_normalised_to_e164() -> None:
    assert e164("+1 (212) 555-0123") == PHONE
    assert e164("(212) 555-0123", region="US") == PHONE
    assert e164("not a number") is None
    assert e164("+1555") is None


# --- the outbox in the admin ----------------------------------------------------------------------------------


def test_a_coordinator_simulates_delivery_and_failure_in_the_outbox_admin(
    coordinator_client: Any, django_assert_max_num_queries: Any
) -> None:
    import care.correspondence.sms.outbox_admin  # noqa: F401  (registers the admin, as care.admin does)

    (delivered, failed) = (r.provider_id for r in OutboxSmsBackend().send_messages([sms(), sms()]))
    rows = {row.provider_id: row for row in SmsOutboxMessage.objects.all()}
    url = reverse("admin:care_smsoutboxmessage_changelist")

    with django_assert_max_num_queries(12):
        page = coordinator_client.get(url)
    assert page.status_code == 200
    assert str(rows[delivered].to) in page.content.decode()
    for action, provider_id in [("simulate_delivered", delivered), ("simulate_failed", failed)]:
        response = coordinator_client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [rows[provider_id].pk]})
        assert response.status_code == 302

    assert SmsOutboxMessage.objects.get(provider_id=delivered).status == SmsStatus.DELIVERED
    assert SmsOutboxMessage.objects.get(provider_id=failed).status == SmsStatus.FAILED
    assert set(SmsEvent.objects.values_list("provider_id", "status", "error_code")) == {
        (delivered, "delivered", ""),
        (failed, "failed", "30003"),
    }


def test_a_rep_cannot_simulate_and_nobody_edits_the_outbox(rep_client: Any, coordinator_client: Any) -> None:
    import care.correspondence.sms.outbox_admin  # noqa: F401

    (provider_id,) = (r.provider_id for r in OutboxSmsBackend().send_messages([sms()]))
    row = SmsOutboxMessage.objects.get(provider_id=provider_id)
    url = reverse("admin:care_smsoutboxmessage_changelist")

    assert rep_client.get(url).status_code == 403
    response = rep_client.post(url, {"action": "simulate_delivered", ACTION_CHECKBOX_NAME: [row.pk]})

    assert response.status_code == 403
    assert SmsOutboxMessage.objects.get(pk=row.pk).status == SmsStatus.QUEUED
    assert not SmsEvent.objects.exists()
    change = reverse("admin:care_smsoutboxmessage_change", args=[row.pk])
    coordinator_client.post(change, {"body": "changed"})
    assert SmsOutboxMessage.objects.get(pk=row.pk).body == "Your flight UA 1545 is delayed."
