"""Statutory compensation reads in the customer's own language, with the amount and the regulation's name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from care.correspondence.rendering.sections.entitlements import _entitlement_dict
from vouchers.law import Entitlement

EU261_CANCELLED = Entitlement(
    kind="compensation",
    regulation="EU Regulation 261/2004",
    regulation_code="eu261",
    reason="cancellation",
    text="Because AF 22 was cancelled, you are entitled to compensation of EUR 600.00 under EU Regulation 261/2004.",
    amount=Decimal(600),
    currency="EUR",
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Because AF 22 was cancelled, you are entitled to compensation of EUR 600.00 under EU Regulation"),
        ("es", "Como su vuelo AF 22 fue cancelado, tiene derecho a una compensación de 600,00 EUR en virtud del"),
        ("fr", "Votre vol AF 22 ayant été annulé, vous avez droit à une indemnisation de 600,00 EUR au titre du"),
        ("de", "Da Ihr Flug AF 22 annulliert wurde, haben Sie nach der Verordnung (EG) Nr. 261/2004 Anspruch"),
    ],
)
def test_eu261_compensation_in_each_language(language: str, expected: str) -> None:
    from django.utils import translation

    with translation.override(language):
        text = _entitlement_dict(EU261_CANCELLED, label="AF 22", language=language)["text"]
    assert text.startswith(expected)
    if language != "en":
        assert "compensation of" not in text
        assert "261/2004" in text


def test_uk261_delay_in_german_names_the_uk_rule() -> None:
    from django.utils import translation

    delayed = Entitlement(
        kind="compensation",
        regulation="UK261",
        regulation_code="uk261",
        reason="long_delay",
        text="(English)",
        amount=Decimal(520),
        currency="GBP",
    )
    with translation.override("de"):
        text = _entitlement_dict(delayed, label="BA 117", language="de")["text"]
    assert text.startswith("Da Ihr Flug BA 117 mehr als drei Stunden verspätet ankam, haben Sie nach der britischen")
    assert "520,00 GBP" in text
