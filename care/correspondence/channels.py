"""Which channel a letter goes by: email, or SMS for a customer email cannot reach.

- Notices and updates go by SMS when the customer has a phone that has not said STOP and email cannot reach
  them (no address, a hard bounce, a complaint or an opt-out), or when they prefer SMS.
- Apologies and voucher letters stay email-first: by SMS only when email cannot reach them, and then the SMS
  says the letter is ready and links to a page that shows it (care.correspondence.letter_page).
- Surveys go by email only: a survey is not worth a text.

The choice is made when the letter is rendered, from the customer as they are then: a customer whose email
hard-bounced gets their next letter by SMS (a letter already queued for email is held as suppressed, and the
coordinator sees why). Whatever is chosen, the letter records it (``Letter.channel``) and the text sent.
"""

from __future__ import annotations

from care.correspondence.models.letters import Channel, LetterKind
from care.customers.models import ContactChannel, Customer

# Kinds an SMS carries in full, and kinds it only announces with a link to the letter.
SMS_KINDS = frozenset({LetterKind.INITIAL_NOTICE, LetterKind.UPDATE})
SMS_LINK_KINDS = frozenset({LetterKind.APOLOGY, LetterKind.VOUCHER})


def can_email(customer: Customer) -> bool:
    return bool(customer.email) and customer.suppressed_at is None


def can_text(customer: Customer) -> bool:
    return bool(customer.phone) and customer.sms_opted_out_at is None


def letter_channel(customer: Customer, kind: str) -> str:
    """EMAIL or SMS for a letter of ``kind`` to ``customer`` now.

    A customer email cannot reach who has a phone gets SMS even after texting STOP: the sender then holds the
    letter with that reason, which tells the coordinator more than "no email address". A customer with neither
    gets EMAIL, held by the sender for the coordinator to reach them another way."""
    if not customer.phone:
        return Channel.EMAIL
    if kind not in SMS_KINDS | SMS_LINK_KINDS:
        return Channel.EMAIL
    if not can_email(customer):
        return Channel.SMS
    if kind in SMS_KINDS and can_text(customer) and customer.preferred_channel == ContactChannel.SMS:
        return Channel.SMS
    return Channel.EMAIL
