"""The signed link to one letter, for customers who have only a phone: an SMS carries it, /l/<token>/ shows it.

The link names the letter by its affected row, kind and number, not by its id: the SMS that carries the link is
rendered before the letters are bulk-inserted, and (affected, kind, sequence) is unique (Letter's constraint), so
it names the same letter once the row exists.

The token is Django's ``TimestampSigner`` with a salt of its own, cut short for a two-segment SMS:
``9999999a1.1ZzZzZ.<22 characters>``: the affected id, a one-letter code of the kind and the sequence, then
the signer's base62 timestamp and its HMAC-SHA256 signature shortened to 22 base64 characters (132 bits; a
guesser is held to a few tries a minute by the page's rate limit, so the full 256 bits buy nothing but length).
Every character is URL-safe and the separator is ".", so the whole URL is ~65 characters on the default host.
``SECRET_KEY_FALLBACKS`` keeps links working across a key rotation, as for every Django signature.

A link is good for ``LETTER_PAGE_MAX_AGE`` after it was signed, and shows its letter only once the letter has been
handed over (sending, sent, delivered, bounced): never a draft, one waiting to be approved or queued, nor one
withdrawn (cancelled), failed or suppressed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from incidents.models import AffectedCustomer

LETTER_PAGE_MAX_AGE = dt.timedelta(days=90)
# The letters a link shows: handed over to the provider, whatever the provider said of them since. A bounced
# email is exactly the letter a customer with only a phone still needs to read.
SHOWN_STATUSES = frozenset({LetterStatus.SENDING, LetterStatus.SENT, LetterStatus.DELIVERED, LetterStatus.BOUNCED})

_SALT = "care.correspondence.letter_page"
_SEPARATOR = "."
_SIGNATURE_CHARS = 22
# One lower-case letter per kind: it also separates the affected id from the sequence, so the value needs no dots.
KIND_CODES: dict[str, str] = {
    LetterKind.INITIAL_NOTICE: "n",
    LetterKind.UPDATE: "u",
    LetterKind.APOLOGY: "a",
    LetterKind.VOUCHER: "v",
    LetterKind.SURVEY: "s",
    LetterKind.MANUAL: "m",
}
_KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
_VALUE_RE = re.compile(r"^([1-9][0-9]*)([a-z])([1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class LetterLink:
    """What a genuine token names."""

    affected_id: int
    kind: str
    sequence: int
    signed_at: dt.datetime


class LinkExpiredError(signing.BadSignature):
    """The token is ours, but older than LETTER_PAGE_MAX_AGE; ``link`` is what it named."""

    def __init__(self, link: LetterLink) -> None:
        super().__init__("The letter link has expired.")
        self.link = link


class _LinkSigner(signing.TimestampSigner):
    """Django's timestamp signer with a short signature and the moment of signing passed in, not read."""

    def __init__(self, *, moment: dt.datetime | None = None) -> None:
        super().__init__(salt=_SALT, sep=_SEPARATOR)
        self._moment = moment

    def timestamp(self) -> str:
        moment = self._moment or timezone.now()
        return signing.b62_encode(int(moment.timestamp()))

    def signature(self, value: bytes | str, key: bytes | str | None = None) -> str:
        # Signer.unsign compares against this same method, for the key and each fallback key.
        return super().signature(value, key)[:_SIGNATURE_CHARS]

    def unsign_stamped(self, token: str) -> tuple[str, dt.datetime]:
        """The signed value and when it was signed. TimestampSigner.unsign judges the age by the wall clock
        and drops the timestamp; the page judges it against ``now``, so only the signature is checked here."""
        stamped = signing.Signer.unsign(self, token)
        if self.sep not in stamped:  # cannot happen for a value we signed
            raise signing.BadSignature("The signed value has no timestamp.")
        value, stamp = stamped.rsplit(self.sep, 1)
        try:
            seconds = signing.b62_decode(stamp)
        except ValueError as exc:  # cannot happen for a value we signed; a forged one never gets this far
            raise signing.BadSignature("The timestamp is not base62.") from exc
        return value, dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def letter_page_token(*, affected_id: int, kind: str, sequence: int, now: dt.datetime | None = None) -> str:
    """The signed token of the letter (affected_id, kind, sequence), signed at ``now`` (default: the clock)."""
    if affected_id < 1 or sequence < 1 or kind not in KIND_CODES:
        raise ValueError("A letter link needs a positive affected id and sequence and a letter kind.")
    return _LinkSigner(moment=now).sign(f"{affected_id}{KIND_CODES[kind]}{sequence}")


def letter_page_url(*, affected_id: int, kind: str, sequence: int, now: dt.datetime | None = None) -> str:
    """The absolute URL of the letter's page, on CARE_PUBLIC_URL: what the SMS carries."""
    token = letter_page_token(affected_id=affected_id, kind=kind, sequence=sequence, now=now)
    return settings.CARE_PUBLIC_URL.rstrip("/") + reverse("letters:page", kwargs={"token": token})


def letter_link_read(token: str, *, now: dt.datetime | None = None) -> LetterLink:
    """What ``token`` names. Raises ``signing.BadSignature`` for a forged or damaged token and
    ``LinkExpiredError`` (a BadSignature too) for a genuine one signed more than LETTER_PAGE_MAX_AGE before ``now``."""
    value, signed_at = _LinkSigner().unsign_stamped(token)
    match = _VALUE_RE.match(value)
    if match is None or match.group(2) not in _KINDS_BY_CODE:
        raise signing.BadSignature("The signed value is not a letter link.")
    link = LetterLink(
        affected_id=int(match.group(1)),
        kind=_KINDS_BY_CODE[match.group(2)],
        sequence=int(match.group(3)),
        signed_at=signed_at,
    )
    if (now or timezone.now()) - signed_at > LETTER_PAGE_MAX_AGE:
        raise LinkExpiredError(link)
    return link


def letter_for_link(link: LetterLink) -> Letter | None:
    """The letter the link names, with its customer, if it may be shown; else None (no such letter, not handed
    over yet, or withdrawn)."""
    return (
        Letter.objects.select_related("customer")
        .filter(
            affected_id=link.affected_id,
            kind=link.kind,
            sequence=link.sequence,
            status__in=SHOWN_STATUSES,
        )
        .first()
    )


def letter_for_token(token: str, *, now: dt.datetime | None = None) -> Letter | None:
    """The letter ``token`` shows at ``now``, or None: forged, expired, or a letter that may not be shown."""
    try:
        link = letter_link_read(token, now=now)
    except signing.BadSignature:
        return None
    return letter_for_link(link)


def customer_language_for(link: LetterLink) -> str | None:
    """The language of the customer a genuine link was made for (to word its refusal), None if the row is gone."""
    return AffectedCustomer.objects.filter(pk=link.affected_id).values_list("customer__language", flat=True).first()
