"""Interchangeable SMS backends, chosen by ``settings.SMS_BACKEND`` as Django chooses its email backend.

Every backend takes a list of :class:`SmsMessage` and answers one :class:`SmsResult` per message, in order,
with the verdicts the email sender uses (``care.correspondence.verdicts``): SENT (the provider has
it; ``provider_id`` names it), REQUEUE (try again later), FAILED (never: the number is invalid, opted out…)
and UNCONFIRMED (the provider may have it: do not send again, wait for its status callback). A backend
never raises for one message's refusal, so one bad number cannot cost the others their turn.

- :class:`OutboxSmsBackend`, the embedded default: writes ``SmsOutboxMessage`` rows the admin shows, with
  simulated delivery and failure (``care.correspondence.sms.outbox_admin``).
- :class:`LocmemSmsBackend`, for tests: collects the messages in :data:`sms_outbox`, like Django's locmem.
- :class:`TwilioSmsBackend`, the real provider. Twilio rather than Vonage: its ``twilio`` package is the
  official, maintained SDK, it ships ``RequestValidator`` to verify each webhook's signature (our status and
  inbound webhooks rely on it), and it posts a status callback per message to the URL we give that message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from care.correspondence.models.sms import SmsOutboxMessage
from care.correspondence.sms.rate_limit import TokenBucket, shared_bucket
from care.correspondence.verdicts import FAILED, REQUEUE, SENT, UNCONFIRMED

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What is kept of a provider's error message (Letter.last_error takes 1000 characters).
REASON_MAX = 1000

# Twilio's error codes (https://www.twilio.com/docs/api/errors) that mean "not now" whatever the HTTP status.
TWILIO_TRANSIENT_CODES = frozenset({20429, 14107, 20500, 20503, 30001})
# The recipient unsubscribed (texted STOP to our sender): the caller should opt the customer out.
TWILIO_OPTED_OUT_CODE = 21610


@dataclass(frozen=True)
class SmsMessage:
    """One text to one number. ``letter_id`` ties it to its letter; ``status_callback`` is the URL the
    provider posts this message's delivery statuses to (None: the provider's configured default)."""

    to: str
    body: str
    letter_id: int | None = None
    status_callback: str | None = None

    def __post_init__(self) -> None:
        if not _E164.match(self.to):
            raise ValueError("An SMS goes to a number in E.164, e.g. +12125550123.")
        if not self.body:
            raise ValueError("An SMS needs a text.")


@dataclass(frozen=True)
class SmsResult:
    """What became of one message: ``status`` is SENT, REQUEUE, FAILED or UNCONFIRMED (care.correspondence.verdicts);
    ``error`` the provider's words for the coordinator (never for the logs), ``code`` its error code."""

    provider_id: str
    status: str
    error: str = ""
    code: str = ""


class BaseSmsBackend:
    """The interface: ``send_messages`` answers one result per message, in the order given."""

    provider_name: ClassVar[str] = "SMS"
    # How many messages the sender hands over in one call, each call's letters marked as handed over before it
    # (care.correspondence.sending.sms): a crash leaves at most one call's letters unconfirmed. A provider that
    # takes one message per HTTP request is handed one at a time; the local backends take a batch at once.
    messages_per_call: ClassVar[int] = 1

    def send_messages(self, messages: Sequence[SmsMessage]) -> list[SmsResult]:
        raise NotImplementedError

    def status_callback(self, letter_id: int) -> str | None:
        """The URL the provider should post this letter's message statuses to; None: it posts nowhere."""
        return None


def sms_backend(path: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of the backend at ``path`` (default ``settings.SMS_BACKEND``)."""
    backend_class = import_string(path or settings.SMS_BACKEND)
    backend = backend_class(**kwargs)
    if not isinstance(backend, BaseSmsBackend):
        raise ImproperlyConfigured(f"{path or settings.SMS_BACKEND} is not an SMS backend.")
    return backend


class OutboxSmsBackend(BaseSmsBackend):
    """Writes each message to ``SmsOutboxMessage`` (status queued) and reports it SENT."""

    provider_name = "Outbox"
    messages_per_call = 500

    def send_messages(self, messages: Sequence[SmsMessage]) -> list[SmsResult]:
        rows = SmsOutboxMessage.objects.bulk_create(
            [
                SmsOutboxMessage(provider_id=f"outbox-{uuid.uuid4().hex}", to=m.to, body=m.body, letter_id=m.letter_id)
                for m in messages
            ]
        )
        return [SmsResult(provider_id=row.provider_id, status=SENT) for row in rows]


# The messages LocmemSmsBackend "sent" in this process, oldest first; a test empties it (``sms_outbox.clear()``).
sms_outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    """For tests: keeps each message in :data:`sms_outbox` and reports it SENT."""

    provider_name = "Locmem"
    messages_per_call = 500

    def send_messages(self, messages: Sequence[SmsMessage]) -> list[SmsResult]:
        results = []
        for message in messages:
            sms_outbox.append(message)
            results.append(SmsResult(provider_id=f"locmem-{uuid.uuid4().hex}", status=SENT))
        return results


def twilio_verdict(exc: BaseException) -> str:  # noqa: PLR0911 - one verdict per kind of failure
    """REQUEUE for "try again later", FAILED for "never", UNCONFIRMED when Twilio may have the message."""
    if isinstance(exc, TwilioRestException):
        if exc.code in TWILIO_TRANSIENT_CODES:
            return REQUEUE
        if exc.status == HTTPStatus.TOO_MANY_REQUESTS or exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return REQUEUE
        if HTTPStatus.BAD_REQUEST <= exc.status < HTTPStatus.INTERNAL_SERVER_ERROR:
            return FAILED  # 21211 invalid number, 21610 opted out, 21614 not a mobile, 21408 region closed…
        return UNCONFIRMED
    # The SDK sends through requests and lets its errors through.
    if isinstance(exc, requests.ConnectTimeout):
        return REQUEUE  # never connected: the message did not leave
    if isinstance(exc, requests.Timeout):
        return UNCONFIRMED  # the request went out and no answer came back in time
    if isinstance(exc, requests.ConnectionError):
        return REQUEUE
    return UNCONFIRMED


def _twilio_reason(exc: BaseException) -> tuple[str, str]:
    """Twilio's words and code for a refusal (TwilioRestException's __str__ is coloured for a terminal)."""
    if isinstance(exc, TwilioRestException):
        code = "" if exc.code is None else str(exc.code)
        label = f"Twilio {code}" if code else f"Twilio (HTTP {exc.status})"
        return f"{label}: {exc.msg}"[:REASON_MAX], code
    return f"Twilio: {type(exc).__name__}: {exc}"[:REASON_MAX], ""


class TwilioSmsBackend(BaseSmsBackend):
    """Sends through Twilio's Messages API, paced by the process's token bucket (``SMS_RATE_PER_SECOND``).

    After a transient error (429, 5xx, no connection) or one it cannot read, it stops: the messages not yet
    tried are REQUEUE without a call, since the next call would meet the same provider.
    """

    provider_name = "Twilio"

    def __init__(
        self,
        *,
        http_client: HttpClient | None = None,
        limiter: TokenBucket | None = None,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
    ) -> None:
        sid = account_sid if account_sid is not None else settings.TWILIO_ACCOUNT_SID
        token = auth_token if auth_token is not None else settings.TWILIO_AUTH_TOKEN
        self.from_number = from_number if from_number is not None else settings.TWILIO_FROM
        self.messaging_service_sid = (
            messaging_service_sid if messaging_service_sid is not None else settings.TWILIO_MESSAGING_SERVICE_SID
        )
        if not sid or not token:
            raise ImproperlyConfigured("The Twilio SMS backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        if not self.from_number and not self.messaging_service_sid:
            raise ImproperlyConfigured("The Twilio SMS backend needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID.")
        self.client = Client(username=sid, password=token, account_sid=sid, http_client=http_client)
        self.limiter = limiter or shared_bucket(self.provider_name, rate=settings.SMS_RATE_PER_SECOND)

    def status_callback(self, letter_id: int) -> str | None:
        # The letter's id rides in the URL, which Twilio signs with the rest: a status that arrives before the
        # send run recorded the message id (it crashed in between) still finds its letter.
        return f"{settings.CARE_PUBLIC_URL}{reverse('sms:twilio-status')}?letter={letter_id}"

    def _create(self, message: SmsMessage) -> SmsResult:
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if message.status_callback:
            params["status_callback"] = message.status_callback
        created = self.client.messages.create(**params)
        if created.status in ("failed", "undelivered"):
            code = "" if created.error_code is None else str(created.error_code)
            return SmsResult(
                provider_id=created.sid or "",
                status=FAILED,
                error=f"Twilio {code}: {created.error_message or created.status}"[:REASON_MAX],
                code=code,
            )
        return SmsResult(provider_id=created.sid or "", status=SENT)

    def send_messages(self, messages: Sequence[SmsMessage]) -> list[SmsResult]:
        results: list[SmsResult] = []
        for index, message in enumerate(messages):
            self.limiter.acquire()
            try:
                results.append(self._create(message))
            except Exception as exc:
                # Every failure is this message's verdict; one we cannot read is UNCONFIRMED (it may have left),
                # so the message is never sent twice.
                verdict = twilio_verdict(exc)
                error, code = _twilio_reason(exc)
                results.append(SmsResult(provider_id="", status=verdict, error=error, code=code))
                if verdict != FAILED:
                    untried = "Not tried: the provider could not take messages just before this one."
                    rest = messages[index + 1 :]
                    results.extend(SmsResult(provider_id="", status=REQUEUE, error=untried) for _ in rest)
                    break
        return results
