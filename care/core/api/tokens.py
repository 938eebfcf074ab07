"""Services for integration tokens: create (the raw token is returned once) and revoke; both audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from care.core.actors import Actor, acting, person
from care.core.api.models import ApiScope, ApiToken, token_digest
from care.core.audit import audit_record
from care.core.errors import DomainError


def api_token_create(
    *, name: str, scopes: Iterable[str], created_by: Actor | None = None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its raw value, shown once; the audit entry names it by its prefix, never the secret."""
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
            created_by=person(created_by),
            expires_at=expires_at,
        )
        audit_record(
            actor=acting(created_by),
            action="api_token.create",
            target=token,
            changes={"name": [None, name], "scopes": [None, wanted], "expires_at": [None, expires_at]},
            details={"key_prefix": prefix},
            at=token.created_at,
        )
    return token, raw


def api_tokens_revoke(*, token_ids: Iterable[int], actor: Actor) -> int:
    """Revoke the tokens (they stop working at once); one audit entry per token revoked."""
    now = timezone.now()
    with transaction.atomic():
        tokens = list(
            ApiToken.objects.select_for_update().filter(pk__in=list(token_ids), revoked_at__isnull=True).order_by("pk")
        )
        revoked = ApiToken.objects.filter(pk__in=[token.pk for token in tokens], revoked_at__isnull=True).update(
            revoked_at=now
        )
        for token in tokens:
            audit_record(
                actor=actor,
                action="api_token.revoke",
                target=token,
                changes={"revoked_at": [None, now]},
                details={"name": token.name, "key_prefix": token.key_prefix, "scopes": token.scopes},
                at=now,
            )
    return revoked
