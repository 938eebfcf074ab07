"""Filters that accept exactly what the schema says they accept.

django-filter's own are lenient in ways the OpenAPI schema cannot say: ``NumberFilter`` takes "5.0" and
" 5" for an integer, a foreign-key filter answers 400 for an id that does not exist, ``DateFilter`` takes
"02/08/2013", ``IsoDateTimeFilter`` takes a date-time without an offset or a bare date, ``BooleanFilter``
reads "maybe" as "not filtered". These take an integer written as one, an RFC 3339 ``full-date`` and
``date-time`` (the schema's ``date`` and ``date-time`` formats), ``true`` or ``false``, and nothing else.
``ApiFilterSet`` uses them for the filters it makes from ``Meta.fields``. An empty value still means "not
filtered", as everywhere in django-filter (the schema says so with ``allowEmptyValue``, see care.core.api.schema).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import FilterSet
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema_field

# The largest id a BigAutoField holds; beyond it a PostgreSQL lookup would fail instead of matching nothing.
MAX_ID = 2**63 - 1
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)
_UTC_MIN = dt.datetime.min.replace(tzinfo=dt.UTC)
_UTC_MAX = dt.datetime.max.replace(tzinfo=dt.UTC)


class StrictIntegerField(forms.IntegerField):
    """Digits with an optional minus sign; Django's own also takes "5.0", "+5" and " 5 "."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not _INTEGER.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class FullDateField(forms.DateField):
    """An RFC 3339 full-date, ``2013-02-08``."""

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
            raise forms.ValidationError("Enter a date as YYYY-MM-DD, e.g. 2013-02-08.", code="invalid")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise forms.ValidationError("Enter a date that exists, e.g. 2013-02-08.", code="invalid") from exc


class DateTimeWithOffsetField(forms.DateTimeField):
    """An RFC 3339 date-time, with its offset: ``2013-02-08T18:00:00Z`` or ``2013-02-08T13:00:00-05:00``."""

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
            raise forms.ValidationError(
                "Enter a date and time with its offset, e.g. 2013-02-08T18:00:00Z.", code="invalid"
            )
        try:
            parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError as exc:
            raise forms.ValidationError("Enter a date and time that exist.", code="invalid") from exc
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            # In year 1 or 9999 an offset can carry the instant past what a datetime holds in UTC; as a
            # bound it is then before or after everything stored.
            return _UTC_MIN if parsed.year == dt.MINYEAR else _UTC_MAX


class StrictBooleanField(forms.NullBooleanField):
    """``true`` or ``false``, as the schema's boolean is written in a query string."""

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: not filtered
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class _RawBooleanWidget(BooleanWidget):
    """Renders the yes/no choice for the browsable API, but hands the field the text as sent."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.NumberFilter):
    """Rows whose foreign key is this id. An id nothing has matches nothing: an empty page, not a 400."""

    field_class = StrictIntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class FullDateFilter(django_filters.DateFilter):
    field_class = FullDateField


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = DateTimeWithOffsetField


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", _RawBooleanWidget)
        super().__init__(*args, **kwargs)


class IntegerFilter(django_filters.NumberFilter):
    field_class = StrictIntegerField


class ApiFilterSet(FilterSet):
    """django-filter's FilterSet for DRF, with the strict filters above for the fields named in Meta.fields."""

    FILTER_DEFAULTS = {
        **FilterSet.FILTER_DEFAULTS,
        models.AutoField: {"filter_class": IntegerFilter},
        models.BigAutoField: {"filter_class": IntegerFilter},
        models.SmallIntegerField: {"filter_class": IntegerFilter},
        models.IntegerField: {"filter_class": IntegerFilter},
        models.PositiveIntegerField: {"filter_class": IntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": IntegerFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
        models.DateField: {"filter_class": FullDateFilter},
        models.DateTimeField: {"filter_class": DateTimeFilter},
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }
