"""The survey sweep: consenting customers are asked how we did, a while after their apology went out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus
from care.correspondence.sending.queue import letters_queue
from care.correspondence.services import letters_prepare
from care.operations.sweeps.runs import SWEEPER, record_error, sweep_chunks
from incidents.models import AffectedCustomer

# Apologies sent longer ago than this get no survey: a survey months later asks about a forgotten trip,
# and a newly deployed sweep must not survey every customer in the archive.
SURVEY_TOO_LATE = timedelta(days=30)


def sweep_surveys(*, now: datetime | None = None) -> dict[str, int]:
    """Ask consenting customers how we did, settings.CARE_SURVEY_AFTER after their apology went out."""
    now = now or timezone.now()
    latest = now - settings.CARE_SURVEY_AFTER
    apologised = Letter.objects.filter(
        affected=OuterRef("pk"),
        kind=LetterKind.APOLOGY,
        status__in=(LetterStatus.SENT, LetterStatus.DELIVERED),
        sent_at__lte=latest,
        sent_at__gt=latest - SURVEY_TOO_LATE,
    )
    surveyed = Letter.objects.filter(affected=OuterRef("pk"), kind=LetterKind.SURVEY)
    rows = (
        AffectedCustomer.objects.filter(customer__contact_consent=True)
        .filter(Exists(apologised))
        .filter(~Exists(surveyed))
        .order_by("incident_id", "pk")
        .values_list("incident_id", "pk")
    )
    by_incident: dict[int, list[int]] = {}
    for incident_id, pk in rows:
        by_incident.setdefault(incident_id, []).append(pk)
    counts = {"incidents": 0, "letters": 0, "queued": 0, "errors": 0}
    for incident_id, affected_ids in by_incident.items():
        try:
            for chunk in sweep_chunks(affected_ids):
                prepared = letters_prepare(incident_id=incident_id, kind=LetterKind.SURVEY, affected_ids=chunk)
                counts["letters"] += prepared.created
                ready = Letter.objects.filter(
                    affected_id__in=chunk, kind=LetterKind.SURVEY, status=LetterStatus.DRAFT, check_passed=True
                ).values_list("pk", flat=True)
                counts["queued"] += letters_queue(letter_ids=list(ready), actor_label=SWEEPER, now=now)
        except Exception as exc:
            record_error(f"incident {incident_id}", exc)
            counts["errors"] += 1
            continue
        counts["incidents"] += 1
    return counts
