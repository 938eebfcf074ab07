"""The ESP webhooks under /anymail/: only the configured ESP's tracking webhook is served, and no forged
request to any of anymail's webhook URLs, served or not, gets a 500."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from anymail import urls as anymail_urls
from django.test import Client, override_settings
from django.urls import URLPattern

from care.correspondence.models.letters import LetterEvent
from tests.factories import LetterFactory

pytestmark = pytest.mark.django_db

SECRET = "anymail-user:anymail-pass"


def _url(pattern: URLPattern) -> str:
    route = str(pattern.pattern).removeprefix("^").removesuffix("$").replace("(_mime)?", "")
    return f"/anymail/{route}"


# Every webhook URL anymail has (27 of them: tracking and inbound, for 15 ESPs).
ANYMAIL_URLS = sorted(_url(pattern) for pattern in anymail_urls.urlpatterns if isinstance(pattern, URLPattern))
# Backends of ESPs whose webhooks need a setting of their own (a key) that these settings do not carry.
ESP_BACKENDS = {
    "Postmark": "anymail.backends.postmark.EmailBackend",
    "Mailgun": "anymail.backends.mailgun.EmailBackend",
    "SendGrid": "anymail.backends.sendgrid.EmailBackend",
    "Mandrill": "anymail.backends.mandrill.EmailBackend",
    "Postal": "anymail.backends.postal.EmailBackend",
    "Brevo": "anymail.backends.brevo.EmailBackend",
    "Unisender Go": "anymail.backends.unisender_go.EmailBackend",
    "MailerSend": "anymail.backends.mailersend.EmailBackend",
    "Resend": "anymail.backends.resend.EmailBackend",
    "Mailtrap": "anymail.backends.mailtrap.EmailBackend",
    "SparkPost": "anymail.backends.sparkpost.EmailBackend",
    "Mailjet": "anymail.backends.mailjet.EmailBackend",
    # Not importable without boto3, which this project does not install: it serves nothing.
    "Amazon SES": "anymail.backends.amazon_ses.EmailBackend",
}
# What each backend serves: its own tracking webhook(s) and nothing else.
SERVED = {
    "Postmark": {"/anymail/postmark/tracking/"},
    "Mailgun": {"/anymail/mailgun/tracking/"},
    "SendGrid": {"/anymail/sendgrid/tracking/"},
    "Mandrill": {"/anymail/mandrill/", "/anymail/mandrill/tracking/"},
    "Postal": {"/anymail/postal/tracking/"},
    "Brevo": {"/anymail/brevo/tracking/"},
    "Unisender Go": {"/anymail/unisender_go/tracking/"},
    "MailerSend": {"/anymail/mailersend/tracking/"},
    "Resend": {"/anymail/resend/tracking/"},
    "Mailtrap": {"/anymail/mailtrap/tracking/"},
    "SparkPost": {"/anymail/sparkpost/tracking/"},
    "Mailjet": {"/anymail/mailjet/tracking/"},
    "Amazon SES": set(),
}
# With the local outbox (the default), the webhooks of the ESPs the settings carry keys for.
SERVED_BY_THE_OUTBOX = SERVED["Postmark"] | SERVED["Mailgun"] | SERVED["SendGrid"]


def _forged_requests(client: Client, url: str) -> list[int]:
    guessed = {"Authorization": "Basic " + base64.b64encode(b"guess:guess").decode()}
    return [
        client.get(url).status_code,
        client.post(url, data="{}", content_type="application/json").status_code,
        client.post(url, data={"event": "delivered", "mandrill_events": "[]"}).status_code,
        client.post(
            url, data='{"RecordType": "Delivery"}', content_type="application/json", headers=guessed
        ).status_code,
    ]


def test_the_list_of_anymail_urls_is_complete() -> None:
    # A new anymail release with a new ESP shows up here, and then in the tests below.
    assert len(ANYMAIL_URLS) == 27
    assert {url for urls in SERVED.values() for url in urls} <= set(ANYMAIL_URLS)


def test_with_the_outbox_only_the_prepared_esps_are_served_and_nothing_forged_is_a_500() -> None:
    client = Client(raise_request_exception=False)
    for url in ANYMAIL_URLS:
        statuses = _forged_requests(client, url)
        if url in SERVED_BY_THE_OUTBOX:
            assert all(400 <= status < 500 and status != 404 for status in statuses), (url, statuses)
        else:
            assert statuses == [404] * 4, (url, statuses)


@pytest.mark.parametrize("esp_name", sorted(ESP_BACKENDS))
def test_a_real_esp_serves_its_own_tracking_webhook_only_and_refuses_forgeries(
    esp_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(EMAIL_BACKEND=ESP_BACKENDS[esp_name]), caplog.at_level(logging.ERROR):
        for url in ANYMAIL_URLS:
            statuses = _forged_requests(client, url)
            if url in SERVED[esp_name]:
                assert all(400 <= status < 500 and status != 404 for status in statuses), (url, statuses)
            else:
                assert statuses == [404] * 4, (url, statuses)
    assert not LetterEvent.objects.exists()
    if esp_name in ("Mandrill", "Postal", "Unisender Go", "MailerSend"):
        # Its webhook key is not set: every post is refused, and the operator is told why.
        assert "webhook is not configured" in caplog.text


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET}, EMAIL_BACKEND="anymail.backends.postmark.EmailBackend")
def test_the_configured_esp_still_delivers_its_events(client: Client) -> None:
    letter = LetterFactory.create(esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483", to_address="ann@example.com")
    payload: dict[str, Any] = {
        "RecordType": "Delivery",
        "MessageID": letter.esp_message_id,
        "Recipient": letter.to_address,
        "Metadata": {"letter_id": str(letter.pk)},
        "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00",
    }
    response = client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(SECRET.encode()).decode(),
    )
    assert response.status_code == 200
    event = LetterEvent.objects.get()
    assert (event.esp_name, event.event_type, event.letter_id) == ("Postmark", "delivered", letter.pk)
    # Mailgun is not the configured ESP here, so its webhook is not served at all.
    assert client.post("/anymail/mailgun/tracking/", data="{}", content_type="application/json").status_code == 404


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend")
def test_a_backend_without_an_esp_serves_no_webhook(client: Client) -> None:
    assert {client.post(url, data="{}", content_type="application/json").status_code for url in ANYMAIL_URLS} == {404}
