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
