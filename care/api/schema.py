"""How the OpenAPI schema describes our token authentication (imported by care.api_urls, before generation)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "care.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration token from the admin (API tokens), sent as `Authorization: Bearer pct_…`. "
            "Scopes: read (GET), ingest (incidents and affected customers), redeem (vouchers).",
        }
