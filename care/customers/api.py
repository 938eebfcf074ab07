"""Customers over the API: list, read, and upsert by the booking system's reference (PUT)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.api.filters import ApiFilterSet, DateTimeFilter
from care.core.api.input import StrictSerializerMixin, api_actor, model_errors_as_400
from care.customers.models import Customer, SuppressionReason
from care.customers.services import customer_upsert


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    # Declared, so that the schema admits the blank each of these is while the customer has none.
    email = serializers.EmailField(read_only=True, allow_blank=True)
    phone = serializers.CharField(read_only=True, allow_blank=True, help_text="International format, +12125550123.")
    suppression_reason = serializers.ChoiceField(
        choices=SuppressionReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why mail to the address stopped; empty while it is not suppressed.",
    )

    class Meta:
        model = Customer
        fields = (
            "id",
            "external_ref",
            "name",
            "preferred_name",
            "email",
            "phone",
            "language",
            "time_zone",
            "loyalty_tier",
            "contact_consent",
            "suppressed_at",
            "suppression_reason",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


@extend_schema_field({"type": "string", "enum": sorted(zoneinfo.available_timezones())})
class TimeZoneField(serializers.CharField):
    """An IANA time zone; the model's validator checks it, the schema lists the zones it accepts."""


class CustomerUpsertSerializer(StrictSerializerMixin, serializers.ModelSerializer[Customer]):
    time_zone = TimeZoneField(max_length=64, required=False, help_text="IANA time zone, e.g. America/Chicago.")

    class Meta:
        model = Customer
        fields = ("name", "preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier")
        extra_kwargs = {"name": {"required": False}}


class CustomerFilter(ApiFilterSet):
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Customer
        fields = ("external_ref", "language", "loyalty_tier")


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Customer]):
    """Customers by their booking-system reference: ``PUT /customers/{external_ref}/`` creates or updates."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    lookup_field = "external_ref"
    # No NUL: no reference holds one, and PostgreSQL would refuse to look it up (a 404, not a 500).
    lookup_value_regex = r"[^/\x00]{1,64}"
    ordering = ("id",)
    ordering_fields = ("id", "updated_at")
    write_scope = "ingest"
    # An upsert may create: a session needs both add and change.
    session_write_perms = ("care.add_customer", "care.change_customer")
    http_method_names = ("get", "put", "head", "options")

    @extend_schema(
        request=CustomerUpsertSerializer,
        responses={
            200: OpenApiResponse(CustomerSerializer, description="Updated."),
            201: OpenApiResponse(CustomerSerializer, description="Created."),
        },
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CustomerUpsertSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with model_errors_as_400():
            customer, created = customer_upsert(
                external_ref=kwargs["external_ref"], actor=api_actor(request), **serializer.validated_data
            )
        return Response(
            CustomerSerializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
