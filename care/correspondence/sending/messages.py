"""Building the messages for the ESP: one per letter, or one batch call with per-recipient merge values where
the ESP merges inline; their metadata and tags; and the addresses as anymail will key them."""

from __future__ import annotations

import dataclasses
import json
import re
from email.utils import make_msgid

from anymail.exceptions import AnymailInvalidAddress
from anymail.utils import parse_single_address
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from care.correspondence.esp_formats import HTML_KEY, SUBJECT_KEY, TEXT_KEY, MergeFormat, max_tags
from care.correspondence.sending.claim import Outgoing
from care.correspondence.sending.lookup import LETTER_HEADER
from care.correspondence.sending.outcomes import FAILED, Outcome, _Delivery


def _metadata_and_tags(outgoing: Outgoing, esp_name: str | None) -> tuple[dict[str, str], list[str]]:
    metadata = {"kind": outgoing.kind}
    tags = [outgoing.kind]
    if outgoing.incident_reference:
        metadata["incident"] = outgoing.incident_reference
        tags.append(outgoing.incident_reference)
    limit = max_tags(esp_name)
    return metadata, tags[:limit] if limit is not None else tags


def _single_message(outgoing: Outgoing, delivery: _Delivery) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=outgoing.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.address],
    )
    if outgoing.body_html:
        message.attach_alternative(outgoing.body_html, "text/html")
    metadata, tags = _metadata_and_tags(outgoing, delivery.esp_name)
    if delivery.esp_name is None:
        # Not an anymail backend: our own Message-ID is the only id we will ever have for it, and a header ties
        # the message to its letter (care.correspondence.sending.lookup reads it back from Django's locmem outbox).
        message.extra_headers["Message-ID"] = make_msgid(domain="care.local")
        message.extra_headers[LETTER_HEADER] = str(outgoing.letter_id)
        return message
    # A message with one recipient: the letter id goes in its metadata directly. (merge_metadata would make
    # it a "batch", which e.g. Amazon SES cannot send without a stored template.)
    message.metadata = {**metadata, "letter_id": str(outgoing.letter_id)}  # type: ignore[attr-defined]
    message.tags = tags  # type: ignore[attr-defined]
    return message


def _merge_values(outgoing: Outgoing, fmt: MergeFormat) -> dict[str, str]:
    values = {fmt.data_key(TEXT_KEY): outgoing.body_text}
    if fmt.subject_merges:
        values[fmt.data_key(SUBJECT_KEY)] = outgoing.subject
    if outgoing.body_html:
        values[fmt.data_key(HTML_KEY)] = outgoing.body_html
    return values


def _batch_message(letters: list[Outgoing], fmt: MergeFormat, delivery: _Delivery) -> EmailMultiAlternatives:
    """One API call for many letters: the subject and bodies are merge fields, each letter its own data."""
    first = letters[0]
    message = EmailMultiAlternatives(
        subject=fmt.text_field(SUBJECT_KEY) if fmt.subject_merges else first.subject,
        body=fmt.text_field(TEXT_KEY),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.address for outgoing in letters],
    )
    if first.body_html:
        message.attach_alternative(fmt.html_field(HTML_KEY), "text/html")
    metadata, tags = _metadata_and_tags(first, delivery.esp_name)
    message.merge_data = {o.address: _merge_values(o, fmt) for o in letters}  # type: ignore[attr-defined]
    message.merge_metadata = {o.address: {"letter_id": str(o.letter_id)} for o in letters}  # type: ignore[attr-defined]
    message.metadata = metadata  # type: ignore[attr-defined]
    message.tags = tags  # type: ignore[attr-defined]
    return message


def _batches(letters: list[Outgoing], fmt: MergeFormat) -> tuple[list[list[Outgoing]], list[Outgoing]]:
    """Group letters into batch calls; return the batches and the letters that must go alone.

    A batch shares its metadata and tags (so one incident and kind), its HTML part or its absence, and
    for an ESP that cannot merge the subject, the subject. Within a batch an address appears once, since
    merge data is keyed by address.
    """
    groups: dict[tuple[str, str, bool, str], list[Outgoing]] = {}
    alone: list[Outgoing] = []
    for outgoing in letters:
        if fmt.max_merge_bytes is not None:
            size = len(json.dumps(_merge_values(outgoing, fmt), ensure_ascii=False).encode())
            if size > fmt.max_merge_bytes:
                alone.append(outgoing)
                continue
        key = (
            outgoing.incident_reference,
            outgoing.kind,
            bool(outgoing.body_html),
            "" if fmt.subject_merges else outgoing.subject,
        )
        groups.setdefault(key, []).append(outgoing)
    batches: list[list[Outgoing]] = []
    for group in groups.values():
        open_batches: list[tuple[set[str], list[Outgoing]]] = []
        for outgoing in group:
            address = outgoing.address.casefold()
            for addresses, batch in open_batches:
                if address not in addresses and len(batch) < fmt.max_recipients:
                    addresses.add(address)
                    batch.append(outgoing)
                    break
            else:
                open_batches.append(({address}, [outgoing]))
        batches += [batch for _addresses, batch in open_batches]
    return batches, alone


# local@domain with nothing the parser would rewrite: no quotes, comments, display names or stray dots.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _normalise_addresses(letters: list[Outgoing], delivery: _Delivery) -> list[Outgoing]:
    """Use each address as anymail will key it (addr_spec); an unparsable one fails its letter now."""
    valid: list[Outgoing] = []
    for outgoing in letters:
        if _PLAIN_ADDRESS.fullmatch(outgoing.address):
            # Already in addr_spec form (the common case): the email parser would return it unchanged,
            # at a cost that showed up as a third of the sending time in the sweep benchmark.
            valid.append(outgoing)
            continue
        try:
            address = parse_single_address(outgoing.address, field="to").addr_spec
        except AnymailInvalidAddress:
            delivery.outcomes[outgoing.letter_id] = Outcome(FAILED, "Not sent: the email address is not valid.")
            continue
        valid.append(dataclasses.replace(outgoing, address=address))
    return valid
