"""Services for integration tokens: create (the raw token is returned once) and revoke."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from care.core.api.models import ApiScope, ApiToken, token_digest
from care.core.errors import DomainError


def api_token_create(
    *, name: str, scopes: Iterable[str], created_by: Any = None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in ApiScope.values]
    if unknown or not wanted:
        raise DomainError(f"Choose one or more scopes from {', '.join(ApiScope.values)}; got {unknown or 'none'}.")
    raw, prefix = ApiToken.generate_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            key_prefix=prefix,
            key_digest=token_digest(raw),
            scopes=wanted,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            expires_at=expires_at,
        )
    return token, raw


def api_tokens_revoke(*, token_ids: Iterable[int]) -> int:
    return ApiToken.objects.filter(pk__in=list(token_ids), revoked_at__isnull=True).update(revoked_at=timezone.now())
