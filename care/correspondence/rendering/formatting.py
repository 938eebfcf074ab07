"""Dates, times and money as a customer reads them: in their language and their time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format, number_format

from care.correspondence.phrases import phrases_for

# A memo of formatted dates and moments, keyed by what was formatted and how.
FormatMemo = dict[tuple[Any, ...], str]


def date_text(value: dt.date, language: str) -> str:
    phrases = phrases_for(language)
    pattern = phrases.first_of_month if value.day == 1 and phrases.first_of_month else phrases.date_format
    return date_format(value, pattern)


def time_text(moment: dt.datetime, language: str) -> str:
    return date_format(moment, phrases_for(language).time_format)


def zone_abbreviation(moment: dt.datetime) -> str:
    return moment.tzname() or ""


def moment_text(moment: dt.datetime, zone: dt.tzinfo, language: str) -> str:
    """ "Friday 8 February 2013 at 19:30 EST", "viernes 8 de febrero de 2013 a las 19:30 (EST)"."""
    local = moment.astimezone(zone)
    phrases = phrases_for(language)
    clock = phrases.clock.format(time=time_text(local, language), zone=zone_abbreviation(local))
    return phrases.moment.format(date=date_text(local.date(), language), clock=clock)


def money_text(amount: Decimal, currency: str) -> str:
    return f"{number_format(amount, decimal_pos=2, force_grouping=True)} {currency}"


@dataclass(frozen=True, slots=True)
class LetterFormats:
    """Formats dates and moments for one letter, remembering them in ``memo``.

    A caller rendering many letters shares one memo between them (many letters share a flight date or a
    promised next update); the text is the same with or without it. Call under the letter's
    ``translation.override``: month and weekday names are Django's translations.
    """

    language: str
    zone: dt.tzinfo  # the customer's
    memo: FormatMemo

    def date(self, value: dt.date) -> str:
        key = ("date", value, self.language)
        text = self.memo.get(key)
        if text is None:
            text = self.memo[key] = date_text(value, self.language)
        return text

    def moment(self, value: dt.datetime) -> str:
        key = ("moment", value, self.zone, self.language)
        text = self.memo.get(key)
        if text is None:
            text = self.memo[key] = moment_text(value, self.zone, self.language)
        return text
