"""The public page of one letter (/l/<token>/): its short signed link, what it shows, what it refuses and how."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.cache import cache

from care.correspondence.letter_page import (
    KIND_CODES,
    LETTER_PAGE_MAX_AGE,
    letter_for_token,
    letter_page_token,
    letter_page_url,
)
from care.correspondence.letter_page_view import PRIVATE_HEADERS
from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, LetterFactory

pytestmark = pytest.mark.django_db

BODY = (
    "Dear Ana Lopez,\n\n"
    "We are sorry that your flight UA 1545 from Newark to Chicago was cancelled.\n\n"
    "The Customer Care team"
)
SHOWN = [LetterStatus.SENDING, LetterStatus.SENT, LetterStatus.DELIVERED, LetterStatus.BOUNCED]
NOT_SHOWN = [
    LetterStatus.DRAFT,
    LetterStatus.APPROVED,
    LetterStatus.QUEUED,
    LetterStatus.CANCELLED,
    LetterStatus.FAILED,
    LetterStatus.SUPPRESSED,
]


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    # The per-address counts live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def pinned(clock: Clock) -> Clock:
    # Mid-minute, so a test's requests all fall in one rate-limit window.
    clock.at(DAYTIME_IN_NEW_YORK + dt.timedelta(seconds=20))
    return clock


def _letter(*, status: str = LetterStatus.SENT, language: str = "en", **fields: Any) -> Letter:
    customer = CustomerFactory(name="Ana Lopez", email="ana.lopez@example.com", language=language)
    affected = fields.pop("affected", None) or AffectedCustomerFactory.create(customer=customer)
    return LetterFactory.create(
        affected=affected,
        status=status,
        subject=fields.pop("subject", "We are sorry about your flight UA 1545"),
        body_text=fields.pop("body_text", BODY),
        **fields,
    )


def _path(letter: Letter) -> str:
    assert letter.affected_id is not None
    url = letter_page_url(affected_id=letter.affected_id, kind=letter.kind, sequence=letter.sequence)
    return urlsplit(url).path


def _token(path: str) -> str:
    match = re.fullmatch(r"/l/([^/]+)/", path)
    assert match, path
    return match.group(1)


def _assert_private(response: Any) -> None:
    for header, value in PRIVATE_HEADERS.items():
        assert response[header] == value, header


def test_a_valid_link_shows_the_letter_in_the_customers_language_with_private_headers(client: Any) -> None:
    letter = _letter(language="es")

    response = client.get(_path(letter))

    assert response.status_code == 200
    page = response.content.decode()
    assert "We are sorry about your flight UA 1545" in page
    assert "Dear Ana Lopez," in page
    assert "<p>We are sorry that your flight UA 1545 from Newark to Chicago was cancelled.</p>" in page
    assert '<html lang="es">' in page
    assert "Su carta" in page  # the page's own words follow the letter's language
    assert "care@example.com" in page  # how to reach customer care
    _assert_private(response)
    assert "login" not in response.get("Location", "")
    assert not response.cookies  # no session, no CSRF cookie: nothing of the reader is kept


def test_head_answers_like_get(client: Any) -> None:
    response = client.head(_path(_letter()))
    assert response.status_code == 200
    _assert_private(response)


def test_the_body_is_escaped(client: Any) -> None:
    letter = _letter(body_text="Dear Ana,\n\n<script>alert(1)</script> & more")

    page = client.get(_path(letter)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


def test_a_tampered_token_is_404(client: Any) -> None:
    letter = _letter()
    token = _token(_path(letter))
    assert letter.affected_id is not None
    value, stamp, signature = token.split(".")
    other_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_value = f"{letter.affected_id + 1}{value[len(str(letter.affected_id)) :]}"
    forged = [
        f"{value}.{stamp}.{other_signature}",
        f"{other_value}.{stamp}.{signature}",
        f"{value}.{stamp}",
        "garbage",
        "a/b",
        # Our value signed by Django's plain signer: a signature of ours, but not the page's salt.
        signing.TimestampSigner(sep=".").sign(value),
    ]

    for bad in forged:
        response = client.get(f"/l/{bad}/")
        assert response.status_code == 404, bad
        assert "This link does not work" in response.content.decode()
        assert "We are sorry about your flight" not in response.content.decode()
        _assert_private(response)
    assert letter_for_token(forged[0]) is None


@pytest.mark.parametrize("status", NOT_SHOWN)
def test_a_letter_not_handed_over_or_withdrawn_is_404(client: Any, status: str) -> None:
    letter = _letter(status=status)

    response = client.get(_path(letter))

    assert response.status_code == 404
    assert "We are sorry about your flight" not in response.content.decode()
    _assert_private(response)


@pytest.mark.parametrize("status", SHOWN)
def test_a_letter_handed_over_is_shown_whatever_the_provider_said(client: Any, status: str) -> None:
    letter = _letter(status=status)
    assert client.get(_path(letter)).status_code == 200
    assert letter_for_token(_token(_path(letter))) == letter


def test_a_link_expires_after_its_lifetime(client: Any, pinned: Clock) -> None:
    letter = _letter(language="de")
    path = _path(letter)
    signed_at = DAYTIME_IN_NEW_YORK + dt.timedelta(seconds=20)

    pinned.at(signed_at + LETTER_PAGE_MAX_AGE - dt.timedelta(minutes=1))
    assert client.get(path).status_code == 200

    pinned.at(signed_at + LETTER_PAGE_MAX_AGE + dt.timedelta(minutes=1))
    response = client.get(path)

    assert response.status_code == 410
    page = response.content.decode()
    assert "Dieser Link ist abgelaufen" in page  # in the customer's language, from the link's affected row
    assert "90 Tage" in page
    assert "care@example.com" in page
    assert "We are sorry about your flight" not in page
    assert "Ana Lopez" not in page
    _assert_private(response)


def test_the_lookup_judges_the_age_against_the_now_it_is_given() -> None:
    letter = _letter()
    assert letter.affected_id is not None
    signed_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    token = letter_page_token(affected_id=letter.affected_id, kind=letter.kind, sequence=1, now=signed_at)

    assert letter_for_token(token, now=signed_at + LETTER_PAGE_MAX_AGE) == letter
    assert letter_for_token(token, now=signed_at + LETTER_PAGE_MAX_AGE + dt.timedelta(seconds=1)) is None


def test_a_link_shows_only_the_letter_of_its_kind_and_number(client: Any) -> None:
    apology = _letter(subject="Our apology for flight UA 1545")
    voucher = _letter(affected=apology.affected, kind=LetterKind.VOUCHER, subject="Your travel voucher")
    assert apology.affected_id is not None

    voucher_page = client.get(_path(voucher)).content.decode()
    assert "Your travel voucher" in voucher_page
    assert "Our apology" not in voucher_page

    for kind, sequence in [(LetterKind.APOLOGY, 2), (LetterKind.UPDATE, 1), (LetterKind.SURVEY, 1)]:
        token = letter_page_token(affected_id=apology.affected_id, kind=kind, sequence=sequence)
        response = client.get(f"/l/{token}/")
        assert response.status_code == 404, (kind, sequence)
        assert "Our apology" not in response.content.decode()
    another_row = letter_page_token(
        affected_id=AffectedCustomerFactory.create().pk, kind=LetterKind.APOLOGY, sequence=1
    )
    assert client.get(f"/l/{another_row}/").status_code == 404


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "https://care.example-airline.com"])
def test_the_url_is_short_and_url_safe(settings: Any, base: str) -> None:
    settings.CARE_PUBLIC_URL = base

    url = letter_page_url(affected_id=9_999_999, kind=LetterKind.VOUCHER, sequence=12)

    assert url.startswith(f"{base}/l/9999999v12.")
    assert len(url) < 100, (len(url), url)
    assert re.fullmatch(r"[A-Za-z0-9._\-]+", _token(urlsplit(url).path))


def test_every_kind_has_its_own_code() -> None:
    assert set(KIND_CODES) == set(LetterKind.values)
    assert len(set(KIND_CODES.values())) == len(KIND_CODES)


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get_and_head_are_allowed(client: Any, method: str) -> None:
    path = _path(_letter())

    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert "We are sorry about your flight" not in response.content.decode()
    _assert_private(response)


def test_a_client_over_the_rate_limit_gets_429_until_the_minute_ends(client: Any, settings: Any, pinned: Clock) -> None:
    settings.CARE_LETTER_PAGE_REQUESTS_PER_MINUTE = 5
    path = _path(_letter())

    assert [client.get(path).status_code for _ in range(5)] == [200] * 5
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"  # 20 s into the minute
    assert "We are sorry about your flight" not in refused.content.decode()
    _assert_private(refused)
    assert client.get("/l/guess/").status_code == 429  # guesses count and are refused alike

    assert client.get(path, REMOTE_ADDR="203.0.113.9").status_code == 200  # another address has its own count

    pinned.shift(dt.timedelta(seconds=40))
    assert client.get(path).status_code == 200


def test_nothing_of_the_token_or_the_customer_is_logged(
    client: Any, settings: Any, caplog: pytest.LogCaptureFixture, pinned: Clock
) -> None:
    letter = _letter()
    path = _path(letter)
    token = _token(path)
    caplog.set_level(logging.DEBUG)

    statuses = [
        client.get(path).status_code,
        client.get(f"/l/{token[:-2]}xx/").status_code,
        client.post(path).status_code,
        client.get(f"/l/{token}/extra/").status_code,
    ]
    pinned.shift(LETTER_PAGE_MAX_AGE + dt.timedelta(days=1))
    settings.CARE_LETTER_PAGE_REQUESTS_PER_MINUTE = 2
    statuses += [client.get(path).status_code for _ in range(3)]

    assert statuses == [200, 404, 405, 404, 410, 410, 429]
    assert "Letter page:" in caplog.text  # the page does log, without the secrets
    for secret in [token, token[:-2], "Ana Lopez", "ana.lopez@example.com", "We are sorry", "Dear Ana"]:
        assert secret not in caplog.text, secret
