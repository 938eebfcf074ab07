"""How an incident's letters reached its customers, per channel: what a frontline rep sees at a glance (how many
went by SMS, how many never arrived, how many were held because the customer said STOP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count

from care.correspondence.models.letters import Channel, Letter, LetterStatus

# The statuses a rep reads, in the order a letter goes through them; drafts and cancelled letters are left out.
SHOWN = (
    LetterStatus.QUEUED,
    LetterStatus.SENDING,
    LetterStatus.SENT,
    LetterStatus.DELIVERED,
    LetterStatus.BOUNCED,
    LetterStatus.COMPLAINED,
    LetterStatus.FAILED,
    LetterStatus.SUPPRESSED,
)
_LABELS = {
    LetterStatus.BOUNCED: "did not arrive",
    LetterStatus.SUPPRESSED: "held (cannot be reached this way)",
}


@dataclass(frozen=True)
class ChannelReach:
    channel: str
    label: str
    total: int
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # (status, words, how many)


# Every rep's briefing page polls it: the counts are a glance, so one grouped query per incident serves them all
# for this long (an incident of a million letters costs its aggregate once, not once per rep per poll).
CACHE_SECONDS = 20


def incident_reach(*, incident_id: int) -> list[ChannelReach]:
    """Per channel, the incident's letters by status, at most CACHE_SECONDS old."""
    reach = cache.get_or_set(f"care.reach.{incident_id}", lambda: _incident_reach(incident_id), CACHE_SECONDS)
    return list(reach or [])


def _incident_reach(incident_id: int) -> list[ChannelReach]:
    rows = (
        Letter.objects.filter(incident_id=incident_id, status__in=SHOWN)
        .values_list("channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        by_channel.setdefault(channel, {})[status] = n
    labels = dict(Channel.choices)
    status_labels = dict(LetterStatus.choices)
    reach = []
    for channel in (Channel.EMAIL, Channel.SMS, Channel.POST):
        counts = by_channel.get(channel)
        if not counts:
            continue
        shown: list[tuple[str, str, int]] = [
            (str(status), _LABELS.get(status, str(status_labels[status]).lower()), counts[status])
            for status in SHOWN
            if counts.get(status)
        ]
        reach.append(ChannelReach(channel, str(labels[channel]), sum(counts.values()), shown))
    return reach
