from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from care.core.api.models import ApiToken, token_digest

# Recording every use would turn each read into a write; once a minute is enough to spot idle tokens.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class IntegrationUser:
    """``request.user`` for a token: authenticated, but no Django permissions (scopes decide)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.username = f"token:{token.key_prefix}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer pct_…`` (``Token pct_…`` is accepted too)."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request: Request) -> tuple[IntegrationUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != len(("Bearer", "<token>")):
            raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("The token is not valid.") from exc
        token = ApiToken.objects.filter(key_digest=token_digest(raw)).first()
        now = timezone.now()
        if token is None or not token.is_usable(now):
            raise AuthenticationFailed("The token is not valid, has expired or was revoked.")
        if token.last_used_at is None or token.last_used_at < now - _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return IntegrationUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
