"""GET /l/<token>/: one letter, shown without a login to whoever holds its signed link (see letter_page).

The page is public, so it gives nothing away it need not:

- A forged or damaged token is a 404, a genuine one past its lifetime a 410 saying so and how to reach customer
  care (in the customer's language, and nothing else of theirs), a letter that may not be shown (not sent yet, or
  withdrawn) the same 404 as a forged token. Each refusal is a small page of its own, never Django's.
- Every answer, refusals included, is ``Cache-Control: private, no-store`` (a shared phone's browser or a proxy
  keeps no copy), ``X-Robots-Tag: noindex, nofollow`` and ``Referrer-Policy: no-referrer`` (the token leaves with
  no click on a link in the letter).
- One client address makes at most CARE_LETTER_PAGE_REQUESTS_PER_MINUTE requests a minute (429 until the minute
  ends): the signature makes guessing hopeless, the limit makes it slow too. The count is in the Django cache
  (shared on Redis), a fixed window per minute taken with an atomic ``incr``, as vouchers.throttling counts.
- The token and the customer are never logged: Django's request logger would write the path (the token) of every
  4xx answer, so these answers are marked as logged and the page writes its own line, without it.

GET and HEAD only; a POST is refused with 405 (CSRF-exempt so that it is the 405 and not a CSRF 403: the page
changes nothing whatever the method).
"""

from __future__ import annotations

import logging
import math
import time
from email.utils import parseaddr
from http import HTTPStatus

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from care.core.client_ip import client_ip
from care.correspondence.letter_page import (
    LETTER_PAGE_MAX_AGE,
    LinkExpiredError,
    customer_language_for,
    letter_for_link,
    letter_link_read,
)
from care.correspondence.letter_page_words import page_words
from care.correspondence.phrases import letter_language, phrases_for

logger = logging.getLogger(__name__)

PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}
ALLOWED_METHODS = ("GET", "HEAD")
_RATE_KEY = "letter-page:requests:{client}:{window}"
_WINDOW_SECONDS = 60


def _seconds_left_if_over_limit(request: HttpRequest) -> int | None:
    """Count the request in its client's minute; the seconds until that minute ends once it is over the limit."""
    now = time.time()
    window = int(now // _WINDOW_SECONDS)
    key = _RATE_KEY.format(client=client_ip(request) or "unknown", window=window)
    # Two windows long: the key is named after its minute, so it never needs to outlive it by much.
    cache.add(key, 0, timeout=2 * _WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add() and incr(): this request starts the count again
        cache.add(key, 1, timeout=2 * _WINDOW_SECONDS)
        count = 1
    if count <= settings.CARE_LETTER_PAGE_REQUESTS_PER_MINUTE:
        return None
    return max(1, math.ceil((window + 1) * _WINDOW_SECONDS - now))


def _contact_line(language: str) -> str:
    """How to reach customer care: the address our letters come from (customers reply to it), and the phone
    number the letters give when there is one."""
    words = page_words(language)
    line = words.write_to_us.format(email=parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    phone = str(getattr(settings, "CARE_CONTACT_PHONE", ""))
    if phone:
        line += " " + words.call_us.format(phone=phone)
    return line + "."


def _respond(request: HttpRequest, template: str, context: dict[str, object], *, status: int) -> HttpResponse:
    language = str(context["language"])
    with translation.override(language):
        content = render_to_string(template, context, request=request)
    response = HttpResponse(content, status=status)
    for header, value in PRIVATE_HEADERS.items():
        response[header] = value
    response["Content-Language"] = language
    if status >= HTTPStatus.BAD_REQUEST:
        # django.request would log "<reason>: <path>", and the path is the token.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _refusal(request: HttpRequest, reason: str, *, status: int, language: str | None = None) -> HttpResponse:
    language = letter_language(language or translation.get_language() or "")
    words = page_words(language)
    title, text = getattr(words, reason)
    context: dict[str, object] = {
        "language": language,
        "title": title,
        "text": text.format(days=LETTER_PAGE_MAX_AGE.days),
        "contact": _contact_line(language),
        "team": phrases_for(language).team,
    }
    return _respond(request, "letters/refused.html", context, status=status)


@csrf_exempt
def letter_page(request: HttpRequest, token: str) -> HttpResponse:
    seconds_left = _seconds_left_if_over_limit(request)
    if seconds_left is not None:
        logger.warning(
            "Letter page: a client went over %d requests a minute.", settings.CARE_LETTER_PAGE_REQUESTS_PER_MINUTE
        )
        response = _refusal(request, "busy", status=429)
        response["Retry-After"] = str(seconds_left)
        return response
    if request.method not in ALLOWED_METHODS:
        response = _refusal(request, "not_allowed", status=405)
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response
    try:
        link = letter_link_read(token)
    except LinkExpiredError as expired:
        logger.info("Letter page: an expired link of affected customer %d.", expired.link.affected_id)
        return _refusal(request, "expired", status=410, language=customer_language_for(expired.link))
    except signing.BadSignature:
        logger.info("Letter page: refused a link that is not ours.")
        return _refusal(request, "not_found", status=404)
    letter = letter_for_link(link)
    if letter is None:
        logger.info("Letter page: affected customer %d has no letter to show for a link.", link.affected_id)
        return _refusal(request, "not_found", status=404)
    language = letter_language(letter.customer.language)
    words = page_words(language)
    context: dict[str, object] = {
        "language": language,
        "letter": letter,
        "label": words.letter,
        "private": words.private,
        "contact": _contact_line(language),
        "team": phrases_for(language).team,
    }
    logger.info("Letter page: showed letter %d.", letter.pk)
    return _respond(request, "letters/page.html", context, status=200)
