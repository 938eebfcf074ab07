"""The embedded default email backend: a local stand-in for an ESP that the admin can read.

``OutboxEmailBackend`` is a real anymail backend (esp_name "Outbox"), so everything the sender does
with an ESP (batch sends with per-recipient merge data, metadata, tags, per-recipient message ids
and statuses) works the same way here. Each recipient's message is written to ``OutboxMessage``
exactly as that customer would read it.

Batch format: per-recipient ``merge_data`` values replace ``%recipient.KEY%`` fields in the
subject, text and HTML (Mailgun's on-the-fly template syntax, so one format serves both), with
``merge_global_data`` as the default for a key a recipient lacks. Substitution is a single pass:
a value that itself contains ``%recipient.…%`` is not expanded again.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from anymail.backends.base import AnymailBaseBackend, BasePayload
from anymail.message import AnymailRecipientStatus
from anymail.utils import EmailAddress
from django.core.mail import EmailMessage

from care.correspondence.models.letters import OutboxMessage

MERGE_FIELD = "%recipient.{}%"
_MERGE_FIELD_RE = re.compile(r"%recipient\.([A-Za-z0-9_.:-]+)%")

# The columns' lengths: a longer value is cut rather than failing the whole send.
_SUBJECT_MAX = OutboxMessage._meta.get_field("subject").max_length or 255
_ADDRESS_MAX = OutboxMessage._meta.get_field("to").max_length or 254


def merge(template: str, values: dict[str, Any]) -> str:
    """Replace every ``%recipient.KEY%`` whose KEY is in ``values``; leave the others as written."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return _MERGE_FIELD_RE.sub(replace, template)


class OutboxPayload(BasePayload):
    def init_payload(self) -> None:
        self.from_email = ""
        self.to: list[EmailAddress] = []
        self.cc: list[EmailAddress] = []
        self.bcc: list[EmailAddress] = []
        self.subject = ""
        self.text_body = ""
        self.html_body = ""
        self.metadata: dict[str, Any] = {}
        self.tags: list[str] = []
        self.merge_data: dict[str, dict[str, Any]] = {}
        self.merge_global_data: dict[str, Any] = {}
        self.merge_metadata: dict[str, dict[str, Any]] = {}

    # Standard message attributes -------------------------------------------------------

    def set_from_email(self, email: EmailAddress) -> None:
        self.from_email = str(email)

    def set_to(self, emails: list[EmailAddress]) -> None:
        self.to = list(emails)

    def set_cc(self, emails: list[EmailAddress]) -> None:
        self.cc = list(emails)

    def set_bcc(self, emails: list[EmailAddress]) -> None:
        self.bcc = list(emails)

    def set_subject(self, subject: str | None) -> None:
        self.subject = subject or ""

    def set_reply_to(self, emails: list[EmailAddress]) -> None:
        pass  # The outbox has no column for it; accepted so that Django's own mails still go through.

    def set_extra_headers(self, headers: Any) -> None:
        pass  # Same: headers are accepted and not stored.

    def set_text_body(self, body: str) -> None:
        self.text_body = body

    def set_html_body(self, body: str) -> None:
        if self.html_body:
            self.unsupported_feature("multiple html parts")
        self.html_body = body

    def add_attachment(self, attachment: Any) -> None:
        self.unsupported_feature("attachments")

    # Anymail additions -----------------------------------------------------------------

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.metadata = dict(metadata)

    def set_tags(self, tags: list[str]) -> None:
        self.tags = list(tags)

    def set_merge_data(self, merge_data: dict[str, dict[str, Any]]) -> None:
        self.merge_data = dict(merge_data)

    def set_merge_global_data(self, merge_global_data: dict[str, Any]) -> None:
        self.merge_global_data = dict(merge_global_data)

    def set_merge_metadata(self, merge_metadata: dict[str, dict[str, Any]]) -> None:
        self.merge_metadata = dict(merge_metadata)

    # The messages as delivered ---------------------------------------------------------

    def _row(self, recipient: EmailAddress, *, values: dict[str, Any] | None) -> OutboxMessage:
        subject, text, html = self.subject, self.text_body, self.html_body
        if values is not None:
            subject, text, html = merge(subject, values), merge(text, values), merge(html, values)
        return OutboxMessage(
            message_id=uuid.uuid4().hex,
            to=recipient.addr_spec[:_ADDRESS_MAX],
            from_email=self.from_email[:_ADDRESS_MAX],
            subject=subject[:_SUBJECT_MAX],
            body_text=text,
            body_html=html,
            metadata={**self.metadata, **self.merge_metadata.get(recipient.addr_spec, {})},
            tags=self.tags,
        )

    def messages(self) -> list[OutboxMessage]:
        """One row per recipient: in a batch, each "to" gets a separate, merged copy."""
        if self.is_batch():
            if self.cc or self.bcc:
                self.unsupported_feature("cc or bcc with batch send")
            return [
                self._row(to, values={**self.merge_global_data, **self.merge_data.get(to.addr_spec, {})})
                for to in self.to
            ]
        values = self.merge_global_data or None
        return [self._row(recipient, values=values) for recipient in [*self.to, *self.cc, *self.bcc]]


class OutboxEmailBackend(AnymailBaseBackend):
    """Writes each recipient's message to ``care.OutboxMessage`` and reports it "sent"."""

    esp_name = "Outbox"

    def build_message_payload(self, message: EmailMessage, defaults: dict[str, Any]) -> OutboxPayload:
        return OutboxPayload(message=message, defaults=defaults, backend=self)

    def post_to_esp(self, payload: OutboxPayload, message: EmailMessage) -> dict[str, AnymailRecipientStatus]:
        rows = OutboxMessage.objects.bulk_create(payload.messages())
        return {row.to: AnymailRecipientStatus(message_id=row.message_id, status="sent") for row in rows}

    def parse_recipient_status(
        self, response: dict[str, AnymailRecipientStatus], payload: OutboxPayload, message: EmailMessage
    ) -> dict[str, AnymailRecipientStatus]:
        return response
