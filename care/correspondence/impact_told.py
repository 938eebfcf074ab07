"""Who must be told that their flight got worse: the passengers whose impact now is worse than their last letter said.

The flight feed (incidents.flight_feed) writes a flight's impact through to its passengers and stamps
``AffectedCustomer.impact_changed_at`` on each whose impact got worse (a delay crossing 60, 120 or 180 minutes, a
cancellation, a diversion). Every notice and update records what it told (``Letter.impact_told``), as rendered, so a
letter rendered from a row read just before the feed moved it still counts as telling the old impact. Comparing the
two finds exactly the passengers to tell, and nobody twice; care.operations.sweeps.impact_changes acts on it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, OuterRef, Q, Subquery

from care.correspondence.models.letters import Letter, LetterStatus
from care.correspondence.streams import STREAM_KINDS
from incidents.flights import impact_worsened
from incidents.models import ACTIVE_STATUSES, AffectedCustomer

# A letter is rendered within moments of reading its row; a change stamped this long before the customer's last
# letter was written certainly reached that letter's reading, so the row is not looked at again. Keeps the sweep's
# reading to the recently changed rows, however many rows changed earlier in the incident.
SLACK = timedelta(minutes=10)
# Letters that tell a customer their impact: notices and updates, and the markers that stand for a letter another
# incident's (or another leg's) letter covers. A letter a coordinator cancelled told nothing.
_TELLING = Q(kind__in=STREAM_KINDS) & (~Q(status=LetterStatus.CANCELLED) | Q(combined_into__isnull=False))
_UNSENT = (LetterStatus.DRAFT, LetterStatus.APPROVED)


@dataclass
class ToTell:
    """One incident's passengers whose impact got worse than their last letter told them."""

    # Their last letter is not sent yet: rendered again, it tells the new facts.
    rerender: list[int] = field(default_factory=list)  # letter ids (drafts, approved)
    # Queued, waiting for the customer's morning (quiet hours): rendered again too.
    rerender_queued: list[int] = field(default_factory=list)  # letter ids
    # Their last letter went: an update tells them; with when the row changed, to tell batches in flight apart.
    update: list[tuple[int, datetime]] = field(default_factory=list)  # (affected id, impact_changed_at)

    def __len__(self) -> int:
        return len(self.rerender) + len(self.rerender_queued) + len(self.update)


def customers_to_tell(*, now: datetime, incident_ids: list[int] | None = None) -> dict[int, ToTell]:
    """Per active incident that sends its notices itself, the passengers whose impact is worse than they were told.

    A passenger never written to yet is not here: their first notice tells them the impact as it is then.
    """
    last = Letter.objects.filter(_TELLING, affected=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = AffectedCustomer.objects.filter(
        incident__status__in=ACTIVE_STATUSES, incident__auto_send_notices=True, impact_changed_at__isnull=False
    )
    if incident_ids is not None:
        rows = rows.filter(incident_id__in=incident_ids)
    candidates = {
        pk: (incident_id, changed_at, (delay, cancelled, diverted))
        for pk, incident_id, changed_at, delay, cancelled, diverted in rows.annotate(
            last_at=Subquery(last.values("created_at")[:1])
        )
        .filter(last_at__isnull=False, impact_changed_at__gt=F("last_at") - SLACK)
        .values_list("pk", "incident_id", "impact_changed_at", "delay_minutes", "cancelled", "diverted")
    }
    latest: dict[int, tuple[int, str, list[int] | None, int | None, datetime, datetime | None]] = {}
    for row in (
        Letter.objects.filter(_TELLING, affected_id__in=list(candidates))
        .order_by("affected_id", "-created_at", "-pk")
        .values_list("affected_id", "pk", "status", "impact_told", "combined_into_id", "created_at", "send_after")
    ):
        if row[0] is not None:
            latest.setdefault(row[0], row[1:])
    due: dict[int, ToTell] = defaultdict(ToTell)
    for affected_id, (incident_id, changed_at, impact) in sorted(candidates.items()):
        assert changed_at is not None  # filtered above
        pk, status, told, into, created_at, send_after = latest[affected_id]
        if told is not None:
            worse = impact_worsened(old=(int(told[0]), bool(told[1]), bool(told[2])), new=impact)
        else:
            # A marker: the letter that covers it named this flight as it stood when the marker was written.
            worse = changed_at > created_at
        if not worse:
            continue
        if into is None and status in _UNSENT:
            due[incident_id].rerender.append(pk)
        elif into is None and status == LetterStatus.QUEUED and send_after is not None and send_after > now:
            due[incident_id].rerender_queued.append(pk)
        else:
            due[incident_id].update.append((affected_id, changed_at))
    return dict(due)
