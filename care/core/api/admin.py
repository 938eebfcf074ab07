"""Integration tokens in the admin: the raw token is shown once, on creation; afterwards only its prefix."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from care.core.actors import request_actor
from care.core.admin_base import WorkbenchAdmin
from care.core.api.models import ApiScope, ApiToken
from care.core.api.tokens import api_token_create, api_tokens_revoke


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ("name", "scopes", "expires_at")


@admin.register(ApiToken)
class ApiTokenAdmin(WorkbenchAdmin):
    form = ApiTokenForm
    list_display = ("name", "key_prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "key_prefix")
    readonly_fields = ("key_prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        # A token's scopes are fixed once issued: a new need gets a new token, so nothing widens silently.
        if obj is not None:
            return (*self.readonly_fields, "name", "scopes", "expires_at")
        return self.readonly_fields

    def get_form(self, request: HttpRequest, obj: ApiToken | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        token, raw = api_token_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request_actor(request),
            expires_at=form.cleaned_data.get("expires_at"),
        )
        obj.pk = token.pk
        messages.warning(
            request,
            f"Copy this token now; it is shown only once and cannot be recovered: {raw}",
        )

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_tokens_revoke(token_ids=queryset.values_list("pk", flat=True), actor=request_actor(request))
        messages.success(request, f"Revoked {count} token(s); they stop working at once.")

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("care.revoke_apitoken")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # Revoke instead, so the audit of who had which token remains.
