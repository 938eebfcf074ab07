"""Twilio's webhooks: delivery status callbacks and inbound messages (STOP and START), each signature-checked.

Both verify ``X-Twilio-Signature`` with the SDK's ``RequestValidator`` against ``TWILIO_AUTH_TOKEN`` and the
URL Twilio called. That URL is the request's own absolute URI: behind a TLS-terminating proxy Django must
know the scheme (``SECURE_PROXY_SSL_HEADER``, set in production) and the host (``ALLOWED_HOSTS``), or every
signature fails; there is no public base URL setting to prefer. A request without a valid signature is a
403 and changes nothing. Without ``TWILIO_AUTH_TOKEN`` nothing can be verified, so the endpoints answer 404
(read per request, so ``override_settings`` applies as a changed environment does after a restart).

No phone number or text is ever logged: they are personal data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
)
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from care.core.actors import SystemActor
from care.correspondence.sms.tracking import sms_status_received
from care.customers.phones import e164
from care.customers.services import customer_sms_opt_in, customer_sms_opt_out

logger = logging.getLogger(__name__)

# Twilio's standard opt-out and opt-in keywords: the whole message, in any case, spaces and full stop aside.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
_NOT_A_LETTER = re.compile(r"[^A-Z]")

WEBHOOK_ACTOR = SystemActor("Twilio inbound SMS webhook")
# A letter id fits a bigint: a longer string of digits in the callback URL is nobody's letter.
MAX_ID_DIGITS = 18


def keyword(body: str) -> str:
    """The message as a keyword: "  Stop. " and "STOP ALL" read as STOP and STOPALL."""
    return _NOT_A_LETTER.sub("", body.upper())


def _signed(request: HttpRequest, token: str) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    return bool(RequestValidator(token).validate(request.build_absolute_uri(), request.POST, signature, algorithm))


def _twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Only POST, without CSRF (Twilio has no token: the signature is the proof), and only when signed."""

    def webhook(request: HttpRequest) -> HttpResponse:
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            raise Http404("No SMS provider is configured here.")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not _signed(request, token):
            logger.warning("Refused an SMS webhook post without a valid Twilio signature (%s).", request.path)
            return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
        return view(request)

    webhook.__name__ = view.__name__
    webhook.__doc__ = view.__doc__
    return csrf_exempt(webhook)


@_twilio_webhook
def twilio_status(request: HttpRequest) -> HttpResponse:
    """A message's delivery status (MessageSid, MessageStatus, ErrorCode), stored once per sid and status and
    applied to its letter (care.correspondence.sms.tracking)."""
    sid = request.POST.get("MessageSid", "").strip()
    status = request.POST.get("MessageStatus", "").strip().lower()
    if not sid or not status:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.", content_type="text/plain")
    # The letter's id is in the callback URL we gave the message (sms.backends.TwilioSmsBackend.status_callback),
    # covered by the signature like the rest of the URL.
    letter = request.GET.get("letter", "")
    sms_status_received(
        provider_id=sid,
        status=status,
        error_code=request.POST.get("ErrorCode", "").strip(),
        at=timezone.now(),
        letter_id=int(letter) if letter.isdigit() and len(letter) <= MAX_ID_DIGITS else None,
    )
    return HttpResponse(status=204)


@_twilio_webhook
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """A message to our number: STOP and its synonyms opt the sender out of SMS, START opts them in again.

    The answer is empty TwiML: Twilio's own opt-out handling already replies to the keywords, and we send
    nothing else in answer to a customer's text.
    """
    number = e164(request.POST.get("From", ""))
    word = keyword(request.POST.get("Body", ""))
    if number is not None and word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS:
        change = customer_sms_opt_out if word in OPT_OUT_KEYWORDS else customer_sms_opt_in
        change(phone=number, at=timezone.now(), actor=WEBHOOK_ACTOR)
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")
