"""Briefings for the demo blizzard: version 1 for every incident, and a version 2 for the first one, so a rep
who opened version 1 sees what changed."""

from __future__ import annotations

from collections.abc import Iterable

from care.briefings.models import IncidentBriefing
from care.briefings.services import briefing_draft_start, briefing_publish
from incidents.models import Incident

TALKING_POINTS = """Apologise first: their day was disrupted, whatever the cause.
The blizzard stopped departures from {station} for most of the day; nobody could have flown safely.
Everyone on a cancelled flight is rebooked on the next flight with a seat; another flight is free of charge.
Open the customer's page before answering: tell them which letters we sent and what their voucher is worth.
Give the next update time shown on this briefing; never guess a time the airport has not given us."""

WHAT_NOT_TO_SAY = """Do not guess when flights will resume: say when we will know (the next update time).
Do not blame the airport, air traffic control or our crews.
Do not promise cash compensation for the weather; say what the offer section says.
Do not discuss other customers or their bookings."""

FAQ = """Q: Will my flight go tomorrow?
A: We rebooked you on the next flight with a seat; its time is in your latest email.
If the airport changes its plans, you will hear from us by the next update time.

Q: Can I get my money back?
A: If your flight was cancelled and you choose not to travel, yes:
a full refund of the unused ticket, to the original payment.

Q: Where do I stay tonight?
A: Keep your hotel receipt; reasonable costs are reimbursed. Check the customer's page for a hotel voucher first."""

OFFER_NOTES = "Rebooking on any of our flights in the next 7 days is free of charge."
SECOND_VERSION_NOTE = "Hotel receipts up to 150 USD a night are now reimbursed; new FAQ on baggage."


def seed_demo_briefings(*, incidents: Iterable[Incident]) -> list[IncidentBriefing]:
    """Publish version 1 of a briefing for each demo incident; the first incident also gets version 2."""
    published = []
    for number, incident in enumerate(incidents):
        draft = briefing_draft_start(incident_id=incident.pk)
        draft.talking_points = TALKING_POINTS.format(station=incident.stations or "the airport")
        draft.what_not_to_say = WHAT_NOT_TO_SAY
        draft.faq = FAQ
        draft.offer_notes = OFFER_NOTES
        draft.change_note = "First briefing."
        draft.save()
        published.append(briefing_publish(briefing_id=draft.pk))
        if number == 0:
            second = briefing_draft_start(incident_id=incident.pk)
            second.offer_notes = f"{OFFER_NOTES}\nHotel receipts up to 150 USD a night are reimbursed."
            second.faq = (
                f"{FAQ}\n\nQ: Where is my bag?\nA: Bags stay with the airline and travel on the rebooked flight; "
                "give the customer the baggage desk number in their latest email."
            )
            second.change_note = SECOND_VERSION_NOTE
            second.save()
            published.append(briefing_publish(briefing_id=second.pk))
    return published
