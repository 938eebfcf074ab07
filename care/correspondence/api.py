"""Letters over the API, read-only: what was (or will be) sent to whom, and where it stands."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from care.core.api.filters import ApiFilterSet, DateTimeFilter
from care.correspondence.models.letters import Channel, Letter, LetterKind, LetterStatus


class LetterSerializer(serializers.ModelSerializer[Letter]):
    class Meta:
        model = Letter
        fields = (
            "id",
            "customer",
            "incident",
            "affected",
            "kind",
            "sequence",
            "channel",
            "status",
            "to_address",
            "subject",
            "body_text",
            "queued_at",
            "sent_at",
            "delivered_at",
            "esp_message_id",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class LetterFilter(ApiFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=LetterKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=LetterStatus.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    customer_ref = django_filters.CharFilter(field_name="customer__external_ref")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Letter
        fields = ("incident", "customer", "affected", "kind", "status", "channel")


class LetterViewSet(viewsets.ReadOnlyModelViewSet[Letter]):
    """Letters: filter by incident, customer, kind or status."""

    queryset = Letter.objects.all()
    serializer_class = LetterSerializer
    filterset_class = LetterFilter
    ordering = ("-id",)
    ordering_fields = ("id", "created_at", "sent_at")
