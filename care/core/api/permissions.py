"""Who may call an endpoint.

A token is checked against the view's scopes: ``read_scope`` (default ``read``)
for safe methods and ``write_scope`` for the rest (no ``write_scope``: tokens
cannot write). A staff session follows the roles through Django model
permissions: reps hold only ``view_*`` and so can read but never write.
Views whose writes are not plain add/change/delete name the permission in
``session_write_perms`` (e.g. ``["incidents.transition_incident"]``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from care.core.api.models import ApiToken

_METHOD_ACTION = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def _model_perm(view: Any, action: str) -> list[str]:
    queryset = getattr(view, "queryset", None)
    if queryset is None and hasattr(view, "get_queryset"):
        queryset = view.get_queryset()
    if queryset is None:
        return []
    meta = queryset.model._meta
    return [f"{meta.app_label}.{action}_{meta.model_name}"]


class ScopeOrRolePermission(BasePermission):
    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        safe = request.method in SAFE_METHODS
        if isinstance(request.auth, ApiToken):
            scope = getattr(view, "read_scope", "read") if safe else getattr(view, "write_scope", None)
            if scope is None or not request.auth.has_scope(scope):
                self.message = f"This token does not have the '{scope or 'write'}' scope."
                return False
            return True
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if safe:
            perms = getattr(view, "session_read_perms", None) or _model_perm(view, "view")
        else:
            perms = getattr(view, "session_write_perms", None) or _model_perm(
                view, _METHOD_ACTION.get(request.method or "", "change")
            )
        # No permission named and no model to derive one from: refuse rather than guess.
        return bool(perms) and user.has_perms(perms)
