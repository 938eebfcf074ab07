"""The SMS a letter sends: its facts taken from the affected customer, its text per kind and language, and the
check that holds it (two segments at most, nothing left unfilled)."""

from __future__ import annotations

import datetime as dt

from care.correspondence.sms.check import sms_check
from care.correspondence.sms.texts import SmsFacts, SmsImpact, sms_text
from incidents.models import AffectedCustomer


def sms_facts(affected: AffectedCustomer, *, now: dt.datetime, link: str = "") -> SmsFacts:
    """What the SMS says about ``affected`` (its customer and incident loaded): a promise already past is left
    out, as in the letters (rendering.sections.incident.promise_section)."""
    customer = affected.customer
    due = affected.incident.next_update_due_at
    return SmsFacts(
        first_name=customer.greeting_name.strip(),
        flight_label=affected.flight_label,
        flight_date=affected.flight_date,
        impact=SmsImpact(
            delay_minutes=affected.delay_minutes, cancelled=affected.cancelled, diverted=affected.diverted
        ),
        booking_reference=affected.booking_reference,
        next_update=due if due is not None and due > now else None,
        time_zone=customer.time_zone,
        link=link,
    )


def letter_sms(
    affected: AffectedCustomer, *, kind: str, language: str, now: dt.datetime, link: str = ""
) -> tuple[str, list[str]]:
    """The text of the SMS for a letter of ``kind`` in ``language``, and the reasons to hold it (none: it goes)."""
    text = sms_text(kind=kind, language=language, facts=sms_facts(affected, now=now, link=link))
    reasons = sms_check(text)
    if not affected.booking_reference:
        # The customer quotes it when they call; an SMS without one would read "Booking ." to them.
        reasons.append("There is no booking reference to quote.")
    return text, [f"SMS: {reason}" for reason in reasons]
