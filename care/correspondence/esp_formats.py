"""Which ESPs can batch-send letters with inline per-recipient merge fields, and how each spells them.

Postmark and Amazon SES batch only with stored templates, so they are absent: their letters go one
message each over one connection (care.correspondence.sending).
"""

from __future__ import annotations

from dataclasses import dataclass

from anymail.utils import get_anymail_setting
from django.core.mail.backends.base import BaseEmailBackend

from care.correspondence.outbox import MERGE_FIELD

# --- Batch formats -----------------------------------------------------------------------


@dataclass(frozen=True)
class MergeFormat:
    """How an ESP substitutes per-recipient ``merge_data`` inline, in a batch send without a stored template.

    ``text`` and ``html`` spell a merge field in the subject/text body and in the HTML body, with
    ``KEY`` standing for the key.
    """

    text: str
    html: str
    subject_merges: bool = True
    max_recipients: int = 1000
    max_merge_bytes: int | None = None
    # SendGrid without SENDGRID_MERGE_FIELD_FORMAT: the merge_data keys carry the delimiters themselves.
    keys_are_fields: bool = False

    def text_field(self, key: str) -> str:
        return self.text.replace("KEY", key)

    def html_field(self, key: str) -> str:
        return self.html.replace("KEY", key)

    def data_key(self, key: str) -> str:
        return self.text_field(key) if self.keys_are_fields else key


# ESPs whose batch send merges per-recipient data into the message's own subject and bodies (an
# on-the-fly template). Sources: anymail's docs (docs/esps/<esp>.rst, "Batch sending/merge and ESP
# templates") and backends (anymail/backends/<esp>.py).
BATCH_MERGE_FORMATS: dict[str, MergeFormat] = {
    # Mailgun recipient-variables: "%recipient.KEY%" in subject and bodies (esps/mailgun.rst); Mailgun
    # takes at most 1,000 recipients per batch call.
    "Mailgun": MergeFormat(text="%recipient.KEY%", html="%recipient.KEY%"),
    # Mandrill's default MailChimp merge language: "*|KEY|*" in subject and bodies (esps/mandrill.rst).
    "Mandrill": MergeFormat(text="*|KEY|*", html="*|KEY|*"),
    # SparkPost template language: "{{KEY}}" in subject, text and HTML (esps/sparkpost.rst, "on-the-fly
    # templating"); in HTML "{{{KEY}}}", because SparkPost HTML-escapes "{{ }}" values there.
    "SparkPost": MergeFormat(text="{{KEY}}", html="{{{KEY}}}"),
    # Mailjet on-the-fly templates: "[[var:KEY]]" in text and HTML bodies, but "subject doesn't support
    # on-the-fly merge fields" (esps/mailjet.rst): letters are batched only with others of the same
    # subject. The Send API v3.1 takes 50 messages per call.
    "Mailjet": MergeFormat(text="[[var:KEY]]", html="[[var:KEY]]", subject_merges=False, max_recipients=50),
    # SendGrid legacy substitutions have no syntax of their own: the field is SENDGRID_MERGE_FIELD_FORMAT
    # applied to the key, or, without that setting, the key itself written with delimiters (esps/sendgrid.rst,
    # "Legacy transactional templates" and "On-the-fly templates"). Substitutions are limited to 50,000 bytes
    # per personalization; a bigger letter goes alone. See _sendgrid_format.
    "SendGrid": MergeFormat(text="-KEY-", html="-KEY-", keys_are_fields=True, max_merge_bytes=50_000),
    # anymail's test backend (records merge_data without substituting) and our local outbox (care.correspondence.outbox,
    # which substitutes "%recipient.KEY%").
    "Test": MergeFormat(text=MERGE_FIELD.format("KEY"), html=MERGE_FIELD.format("KEY")),
    "Outbox": MergeFormat(text=MERGE_FIELD.format("KEY"), html=MERGE_FIELD.format("KEY")),
}
# Not here, so one message per letter over one connection:
# - Postmark: "merge_data without template_id" is an unsupported feature (anymail/backends/postmark.py);
# - Amazon SES: batch sending needs a stored template (anymail/backends/amazon_ses.py, set_merge_data);
# - Brevo: a batch without a template sends every recipient the same content, "Brevo doesn't support
#   inline templates" (esps/brevo.rst);
# - any other backend, including Django's own (SMTP, console, locmem).

# ESPs that take only one tag per message (anymail/backends/postmark.py set_tags).
MAX_TAGS: dict[str, int] = {"Postmark": 1}

SUBJECT_KEY, TEXT_KEY, HTML_KEY = "care_subject", "care_text", "care_html"


def _sendgrid_format(connection: BaseEmailBackend) -> MergeFormat:
    configured = getattr(connection, "merge_field_format", None)
    if not configured:
        return BATCH_MERGE_FORMATS["SendGrid"]
    field_spelling = configured.format("KEY")
    return MergeFormat(text=field_spelling, html=field_spelling, max_merge_bytes=50_000)


def batch_format_for(connection: BaseEmailBackend) -> MergeFormat | None:
    esp_name = getattr(connection, "esp_name", None)
    if esp_name == "SendGrid":
        return _sendgrid_format(connection)
    return BATCH_MERGE_FORMATS.get(esp_name or "")


def max_tags(esp_name: str | None) -> int | None:
    if esp_name == "Amazon SES" and get_anymail_setting("message_tag_name", esp_name=esp_name, default=None):
        return 1  # one SES Message Tag (anymail/backends/amazon_ses.py set_tags)
    return MAX_TAGS.get(esp_name or "")
