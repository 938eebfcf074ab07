"""/anymail/: the tracking webhook of the ESP that sends our letters, and no other (see care.correspondence.tracking).

``anymail.urls`` routes a webhook for every ESP anymail knows, and the webhook of an ESP that is not set
up answers any request, even an anonymous forged one, with a 500 (its key is missing:
AnymailConfigurationError). Here only the tracking webhooks are routed (nothing here receives inbound
mail), and each answers 404 unless its ESP is the one ``EMAIL_BACKEND`` sends through. The setting is
read per request, so a test's ``override_settings`` applies as a changed environment does after a restart.

With a local backend (the outbox, anymail's test backend, Django's own) nothing real sends; the webhooks
of the ESPs these settings carry keys for (Postmark, Mailgun, SendGrid) stay routed, so that their real
payloads can be posted to a development server and in the tests, and are refused without the webhook
secret like any other post. The outbox's simulated events take no URL: the admin action sends anymail's
tracking signal itself (care.correspondence.outbox_admin), to the same receiver.

A configured ESP whose webhook lacks a setting of its own (Mandrill without MANDRILL_WEBHOOK_KEY, Postal
without POSTAL_WEBHOOK_KEY) cannot verify any post: it refuses each with a 400 and logs the error,
as a webhook without ANYMAIL_WEBHOOK_SECRET does.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern
from django.utils.module_loading import import_string

from care.core.checks import LOCAL_BACKENDS

logger = logging.getLogger(__name__)

app_name = "anymail"

# The ESPs config/settings.py carries keys for (ANYMAIL), and the README documents.
PREPARED_ESPS = frozenset({"Postmark", "Mailgun", "SendGrid"})


def webhook_esps() -> frozenset[str]:
    """The ``esp_name`` of each ESP whose tracking webhook is served now."""
    backend = settings.EMAIL_BACKEND
    if backend in LOCAL_BACKENDS:
        return PREPARED_ESPS
    try:
        esp_name = getattr(import_string(backend), "esp_name", None)
    except ImportError:  # e.g. Amazon SES without boto3 (AnymailImproperlyInstalled): it cannot send either
        return frozenset()
    return frozenset({esp_name}) if isinstance(esp_name, str) else frozenset()


def _served_only_for_its_esp(view: Callable[..., HttpResponse], esp_name: str) -> Callable[..., HttpResponse]:
    @functools.wraps(view)  # keeps csrf_exempt and view_class
    def webhook(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if esp_name not in webhook_esps():
            raise Http404(f"{esp_name} is not the email provider configured here.")
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:
            logger.error("The %s tracking webhook is not configured, so every post is refused: %s", esp_name, exc)
            return HttpResponseBadRequest(f"The {esp_name} webhook is not configured.", content_type="text/plain")

    return webhook


def _is_tracking(pattern: URLPattern) -> bool:
    # Mandrill's one combined endpoint (and its old tracking/ alias) carries its tracking events.
    name = pattern.name or ""
    return name.endswith("_tracking_webhook") or name == "mandrill_webhook"


urlpatterns = [
    URLPattern(
        pattern.pattern,
        _served_only_for_its_esp(pattern.callback, pattern.callback.view_class.esp_name),  # type: ignore[attr-defined]
        pattern.default_args,
        pattern.name,
    )
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern) and _is_tracking(pattern)
]
