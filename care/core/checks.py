"""System checks for correspondence settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

LOCAL_BACKENDS = frozenset(
    {
        "care.correspondence.outbox.OutboxEmailBackend",
        "anymail.backends.test.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(Tags.security, deploy=True)
def check_webhook_secret(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With a real ESP, production needs the webhook secret the ESP posts with.

    Without ANYMAIL_WEBHOOK_SECRET the settings use a random secret per process, so the webhooks
    refuse every post (400) instead of being open to anyone; the ESP's events would then be lost.
    """
    if settings.EMAIL_BACKEND in LOCAL_BACKENDS or getattr(settings, "ANYMAIL_WEBHOOK_SECRET_FROM_ENV", True):
        return []
    return [
        Error(
            "ANYMAIL_WEBHOOK_SECRET is not set: the ESP's tracking webhooks refuse every post, so delivery, "
            "bounce and complaint events are lost.",
            hint="Set ANYMAIL_WEBHOOK_SECRET to 'user:password' and give the ESP the webhook URL with it.",
            id="care.E001",
        )
    ]


@register(Tags.security, deploy=True)
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Links in SMS and the SMS provider's status callbacks are built on CARE_PUBLIC_URL: in production they must
    be https on a host customers and the provider can reach, not the local default."""
    url = settings.CARE_PUBLIC_URL
    if url.startswith("https://") and "127.0.0.1" not in url and "localhost" not in url:
        return []
    return [
        Error(
            f"CARE_PUBLIC_URL is {url!r}: the letter links an SMS carries and the SMS status callbacks would point "
            "somewhere customers and the provider cannot reach, or over plain http.",
            hint="Set CARE_PUBLIC_URL to the site's public https address, e.g. https://care.example.com.",
            id="care.E002",
        )
    ]
