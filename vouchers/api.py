"""Vouchers over the API: validate and redeem for the booking system, read for everyone who may see vouchers.

Endpoints (under ``/api/v1/``)
------------------------------
- ``POST vouchers/validate`` ``{"code": "7k3m q9tx-w2hd r8np 3"}``: what the code is worth now. The code travels
  in the body, not the path, so a code typed with spaces, dashes or in lower case needs no URL escaping and
  stays out of access logs.
- ``POST vouchers/redeem`` with header ``Idempotency-Key`` (1 to 100 characters) and body
  ``{"code", "amount", "currency", "booking_reference"}``.
- ``GET vouchers/`` (filters ``incident``, ``incident_reference``, ``status``, ``customer_ref``; cursor
  pagination by id) and ``GET vouchers/<id>/``: read only.

Who may call them
-----------------
- Validate: a token with the ``redeem`` scope, or a staff login that can view vouchers (coordinators and
  frontline reps: a rep checks the code a customer reads out on the phone).
- Redeem: a token with the ``redeem`` scope (the booking system). A staff login needs the permission
  ``vouchers.add_voucherredemption``, which no role holds: an administrator grants it to a named person.
- Read: a token with the ``read`` scope, or a staff login that can view vouchers. Nobody writes through it.

Answers: 200 with the voucher's figures; 400 for a malformed or mistyped code, a bad amount or currency, a
missing or bad idempotency key; 404 for an unknown code; 409 for a voucher that is used up, void, expired or
short of balance; 422 for an idempotency key reused for a different redemption; 429 after too many unknown
codes (:mod:`vouchers.throttling`). Every error body is ``{"code", "message", "errors"}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from care.core.actors import request_actor
from care.core.api.errors import ApiErrorSerializer
from care.core.api.filters import ApiFilterSet, IdFilter
from care.core.api.input import JsonTypesMixin
from care.core.api.models import ApiToken
from vouchers.models import Voucher, VoucherStatus
from vouchers.redemption import (
    CURRENCY_CODE_LENGTH,
    MAX_BOOKING_REFERENCE,
    MAX_IDEMPOTENCY_KEY,
    Refusal,
    VoucherRefused,
    voucher_redeem,
    voucher_validate,
)
from vouchers.throttling import FailedLookupThrottle, FailedLookupThrottledView

REPLAYED_HEADER = "Idempotent-Replayed"
PAGE_SIZE_DIGITS = 6


# --- Errors ---------------------------------------------------------------------------------------------------
class VoucherApiError(exceptions.APIException):
    """A refusal with its own ``code`` (the :class:`Refusal` value); the subclass fixes the HTTP status."""

    status_code = 400
    default_code = "invalid"
    default_detail = "The voucher request was refused."

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(detail=message, code=refusal.value)
        self.refusal = refusal


class VoucherBadRequest(VoucherApiError):
    status_code = 400


class VoucherNotFound(VoucherApiError):
    status_code = 404


class VoucherConflict(VoucherApiError):
    status_code = 409


class IdempotencyKeyReused(VoucherApiError):
    # As the IETF Idempotency-Key draft asks: the key names a different request, so the request is unprocessable.
    status_code = 422


class IdempotencyKeyMissing(exceptions.APIException):
    status_code = 400
    default_code = "idempotency_key_missing"
    default_detail = (
        f"Send an Idempotency-Key header (1 to {MAX_IDEMPOTENCY_KEY} characters, e.g. a UUID) so that a retried "
        "request cannot redeem twice."
    )


_ERROR_CLASS: dict[Refusal, type[VoucherApiError]] = {
    Refusal.CODE_UNKNOWN: VoucherNotFound,
    Refusal.VOUCHER_EXPIRED: VoucherConflict,
    Refusal.VOUCHER_VOID: VoucherConflict,
    Refusal.VOUCHER_REDEEMED: VoucherConflict,
    Refusal.INSUFFICIENT_BALANCE: VoucherConflict,
    Refusal.IDEMPOTENCY_CONFLICT: IdempotencyKeyReused,
}


def refuse(request: Request, refused: VoucherRefused) -> NoReturn:
    """Raise the API error for a refusal, counting it against the client when only a guesser would get it."""
    if refused.refusal.counts_as_guess:
        FailedLookupThrottle().record_failure(request)
    raise _ERROR_CLASS.get(refused.refusal, VoucherBadRequest)(refused.refusal, refused.message)


# --- Serializers ----------------------------------------------------------------------------------------------
def _currency(value: str) -> str:
    cleaned = value.strip().upper()
    if len(cleaned) != CURRENCY_CODE_LENGTH or not cleaned.isascii() or not cleaned.isalpha():
        raise serializers.ValidationError("Use the 3-letter ISO 4217 currency code, e.g. USD.")
    return cleaned


# A positive amount with at most 8 digits before the point and 2 after it, as the redeem body may send it.
_AMOUNT_TEXT = r"^(0*[1-9][0-9]{0,7}(\.[0-9]{1,2})?|0*\.(0[1-9]|[1-9][0-9]?))$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": _AMOUNT_TEXT, "example": "25.00"},
            {"type": "number", "minimum": 0.01, "maximum": 99999999.99, "multipleOf": 0.01},
        ],
        "description": 'What to redeem, in the voucher\'s currency: "25.00" (a number is read the same way).',
    }
)
class AmountField(serializers.DecimalField):
    pass


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{3}$", "example": "USD"})
class CurrencyField(serializers.CharField):
    pass


# Seventeen symbols of Crockford's base32 (I, L and O read as 1, 1 and 0; no U), in any case, with up to two
# spaces, tabs, dashes or dots between them (vouchers.codes.normalise takes any number, within 64
# characters). Whether the check symbol fits is for the server to say (code_mistyped).
_CODE_TEXT = r"^[ \t.-]{0,2}([0-9A-TV-Za-tv-z][ \t.-]{0,2}){17}$"


@extend_schema_field({"type": "string", "pattern": _CODE_TEXT, "example": "7K3M-Q9TX-W2HD-R8NP-3"})
class CodeField(serializers.CharField):
    pass


class ValidateRequestSerializer(JsonTypesMixin, serializers.Serializer[Any]):
    code = CodeField(max_length=64, help_text="As typed: case, spaces and dashes do not matter.")


class RedeemRequestSerializer(JsonTypesMixin, serializers.Serializer[Any]):
    code = CodeField(max_length=64, help_text="As typed: case, spaces and dashes do not matter.")
    amount = AmountField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={
            "min_value": "The amount must be more than zero.",
            "max_decimal_places": "The amount can have at most 2 decimal places.",
            "max_digits": "The amount is too large.",
            "max_whole_digits": "The amount is too large.",
            "invalid": 'The amount must be a number, e.g. "25.00".',
        },
    )
    # Not trimmed: " USD" is not the three letters the schema promises to take.
    currency = CurrencyField(
        max_length=3, min_length=3, trim_whitespace=False, validators=[], help_text="ISO 4217, e.g. USD."
    )
    booking_reference = serializers.CharField(
        max_length=MAX_BOOKING_REFERENCE, required=False, allow_blank=True, default=""
    )

    def validate_currency(self, value: str) -> str:
        return _currency(value)


class VoucherValueSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The canonical grouped form, e.g. 7K3M-Q9TX-W2HD-R8NP-3.")
    status = serializers.ChoiceField(choices=VoucherStatus.choices)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="The voucher's value.")
    balance = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="What is left to redeem.")
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()
    redeemable = serializers.BooleanField()


class RedemptionResultSerializer(serializers.Serializer[Any]):
    redemption_id = serializers.IntegerField()
    code = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="The amount redeemed.")
    currency = serializers.CharField()
    balance = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="Left on the voucher just after this redemption."
    )
    status = serializers.ChoiceField(
        choices=VoucherStatus.choices, help_text="The voucher's status just after this redemption."
    )
    booking_reference = serializers.CharField()
    redeemed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class VoucherSerializer(serializers.ModelSerializer[Voucher]):
    balance = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    incident_reference = serializers.CharField(source="incident.reference", read_only=True, allow_null=True)
    customer_ref = serializers.CharField(source="customer.external_ref", read_only=True)

    class Meta:
        model = Voucher
        fields = (
            "id",
            "code",
            "amount",
            "redeemed_amount",
            "balance",
            "currency",
            "status",
            "issued_at",
            "expires_at",
            "redeemed_at",
            "incident_reference",
            "customer_ref",
        )
        read_only_fields = fields


# --- Validate and redeem ----------------------------------------------------------------------------------------
def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ApiErrorSerializer) for status in statuses}


class _CodeView(FailedLookupThrottledView):
    # Tokens need the redeem scope for both (validate is a POST only to keep the code out of the URL).
    read_scope = "redeem"
    write_scope = "redeem"


class VoucherValidateView(_CodeView):
    session_write_perms = ["vouchers.view_voucher"]

    @extend_schema(
        operation_id="vouchers_validate",
        summary="What a voucher code is worth now",
        request=ValidateRequestSerializer,
        responses={200: VoucherValueSerializer, **_errors(400, 403, 404, 409, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = ValidateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        validation = voucher_validate(code=serializer.validated_data["code"])
        try:
            validation.raise_if_refused()
        except VoucherRefused as refused:
            refuse(request, refused)
        return Response(VoucherValueSerializer(validation).data)


class VoucherRedeemView(_CodeView):
    session_write_perms = ["vouchers.add_voucherredemption"]

    @extend_schema(
        operation_id="vouchers_redeem",
        summary="Redeem all or part of a voucher, once per idempotency key",
        request=RedeemRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": r"\S"},
                OpenApiParameter.HEADER,
                required=True,
                description=f"1 to {MAX_IDEMPOTENCY_KEY} characters, unique per redemption (e.g. a UUID). "
                "Sending it again with the same body returns the first answer and redeems nothing more.",
            ),
            OpenApiParameter(
                REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                enum=["true"],
                description="Present when this is the stored answer to an earlier request with the same key.",
            ),
        ],
        responses={200: RedemptionResultSerializer, **_errors(400, 403, 404, 409, 422, 429)},
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise IdempotencyKeyMissing()
        serializer = RedeemRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            result = voucher_redeem(
                code=data["code"],
                amount=data["amount"],
                currency=data["currency"],
                idempotency_key=key,
                token=token,
                user=None if token is not None else request_actor(request),
                booking_reference=data["booking_reference"],
            )
        except VoucherRefused as refused:
            refuse(request, refused)
        response = Response(RedemptionResultSerializer(result).data)
        if result.replayed:
            response[REPLAYED_HEADER] = "true"
        return response


# --- Read -----------------------------------------------------------------------------------------------------
class VoucherFilter(ApiFilterSet):
    incident = IdFilter(field_name="incident_id", help_text="The incident's id.")
    incident_reference = django_filters.CharFilter(field_name="incident__reference")
    status = django_filters.ChoiceFilter(choices=VoucherStatus.choices)
    customer_ref = django_filters.CharFilter(field_name="customer__external_ref", help_text="Customer reference.")

    class Meta:
        model = Voucher
        fields = ("incident", "incident_reference", "status", "customer_ref")


def _vouchers() -> QuerySet[Voucher]:
    # Only what the serializer shows: never the customer's name or contact details.
    return Voucher.objects.select_related("incident", "customer").only(
        "id",
        "code",
        "amount",
        "redeemed_amount",
        "currency",
        "status",
        "issued_at",
        "expires_at",
        "redeemed_at",
        "incident__reference",
        "customer__external_ref",
    )


class VoucherCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int | None:
        # DRF falls back to the default page size for "false", "0" or "-3"; the schema says an integer from 1.
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise exceptions.ValidationError({self.page_size_query_param: ["A whole number from 1."]})
        # Past a few digits the number is over the maximum anyway; int() of a huge string is not free.
        return self.max_page_size if len(digits) > PAGE_SIZE_DIGITS else min(int(digits), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Vouchers per page, {self.page_size} unless given; at most {self.max_page_size} (more is cut)."
                )
        return parameters


class VoucherListView(generics.ListAPIView[Voucher]):
    serializer_class = VoucherSerializer
    pagination_class = VoucherCursorPagination
    filterset_class = VoucherFilter
    ordering = ("id",)
    ordering_fields = ("id",)

    def get_queryset(self) -> QuerySet[Voucher]:
        return _vouchers()


class VoucherDetailView(generics.RetrieveAPIView[Voucher]):
    serializer_class = VoucherSerializer

    def get_queryset(self) -> QuerySet[Voucher]:
        return _vouchers()
