"""API tokens for the operations systems and the booking system.

A token is shown once when it is created; only its SHA-256 digest is stored.
The secret has 256 bits from ``secrets``, so a fast hash is the right one here
(a slow password hash protects guessable secrets, which these are not) and it
keeps authentication to one indexed lookup per request.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "pct"  # noqa: S105  (a label, not a secret)


class ApiScope(models.TextChoices):
    READ = "read", "Read incidents, customers, letters, vouchers and briefings"
    INGEST = "ingest", "Open and update incidents, load affected customers"
    REDEEM = "redeem", "Validate and redeem vouchers (booking system)"
    FLIGHTS = "flights", "Send flight status events (operations system)"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    name = models.CharField(max_length=100, help_text="The integration that uses it, e.g. 'Flight ops (OCC)'.")
    key_prefix = models.CharField(max_length=12, unique=True, editable=False, help_text="Shown to tell tokens apart.")
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Any of: read, ingest, redeem.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: valid until revoked.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("name", "id")
        verbose_name = "API token"
        permissions = [("revoke_apitoken", "Can revoke API tokens")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def is_usable(self, now: object | None = None) -> bool:
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment  # type: ignore[operator]

    @staticmethod
    def generate_key() -> tuple[str, str]:
        """Return (raw token, prefix): ``pct_<8 chars>_<43 chars>``."""
        prefix = secrets.token_hex(4)
        return f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix
