"""The affected customers' contact times and their incidents' contacted counters, moved by each contact.

``Incident.contacted_count`` counts the affected customers with a first contact. Letters that reach customers
(care.correspondence.sending, and the tracking events that reconcile a letter) record it here; the counter
moves by exactly the rows whose first contact a call records, never by recounting the incident.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce

from incidents.models import AffectedCustomer, Incident
from incidents.services import incidents_refresh_counts

# Rows handled per query, to stay below every database's limit on bound parameters.
QUERY_CHUNK = 1000


def affected_record_contact(*, affected_ids: Iterable[int], at: datetime) -> None:
    """Record that these affected customers were contacted at ``at`` and keep their incidents' counters.

    Two queries per chunk of rows: the rows are locked in primary-key order and read, and those whose first
    contact this records, or whose last contact is earlier than ``at``, are written in one UPDATE. The
    rows without a first contact, read under the lock, are the ones this call counts, so two senders never
    both count the same customer. Each incident's ``contacted_count`` then goes up by its count in one guarded
    UPDATE, so no sent batch recounts the whole incident. Only when the increment would make the incident
    count more contacted than affected customers (counters left stale, e.g. customers added without
    incidents_refresh_counts) is the incident recounted instead.
    """
    affected = sorted(set(affected_ids))
    if not affected:
        return
    first_contacts: Counter[int] = Counter()
    with transaction.atomic(savepoint=False):
        for start in range(0, len(affected), QUERY_CHUNK):
            chunk = affected[start : start + QUERY_CHUNK]
            due: list[int] = []
            for pk, incident_id, first_contacted_at, last_contacted_at in (
                AffectedCustomer.objects.select_for_update()
                .filter(pk__in=chunk)
                .order_by("pk")
                .values_list("pk", "incident_id", "first_contacted_at", "last_contacted_at")
            ):
                if first_contacted_at is None:
                    first_contacts[incident_id] += 1
                if first_contacted_at is None or last_contacted_at is None or last_contacted_at < at:
                    due.append(pk)
            if due:
                # The rows are locked; the values are still written relative to the row, so that the UPDATE
                # keeps the first contact and the latest last contact even on its own.
                AffectedCustomer.objects.filter(pk__in=due).update(
                    first_contacted_at=Coalesce(F("first_contacted_at"), Value(at)),
                    last_contacted_at=Case(
                        When(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=at), then=Value(at)),
                        default=F("last_contacted_at"),
                    ),
                )
        for incident_id, contacted in sorted(first_contacts.items()):
            counted = Incident.objects.filter(
                pk=incident_id, contacted_count__lte=F("affected_count") - contacted
            ).update(contacted_count=F("contacted_count") + contacted)
            if not counted:
                # More contacted than affected: the counters were stale (customers added without a recount).
                incidents_refresh_counts(incident_ids=[incident_id])
