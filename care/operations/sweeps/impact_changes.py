"""The impact sweep: a passenger whose flight got worse since their last letter hears it from us, once, at once.

A 70-minute delay becomes 200 minutes, then a cancellation: each change moves what the passenger is owed and must be
told, and they should never be the one telling us. care.correspondence.impact_told finds, per open incident, the
passengers whose impact now is worse than their last notice or update said:

- their last letter is not sent yet (a draft, an approved letter, or one queued for the customer's morning): it is
  rendered again with the new facts, and that is all (it tells them);
- it went: an update is numbered for the incident, for those passengers only (``LetterBatch.for_impact_change``),
  ahead of the promised one, and fanned out like every update (``incidents.tasks.send_updates``), so one stream per
  customer and booking legs hold. The letter leads with what changed (``impact.change``).

Level-triggered, run by the kept-promises sweep every minute after the promised updates: a passenger stays due
until a letter has told them an impact at least as bad as now. A passenger who changed before the incident's newest
update batch, while that batch is younger than IN_FLIGHT, waits for it (it is being written and will tell them);
after that a new batch takes whoever is still due (a fan-out lost after commit). The batch is numbered under the
incident's row lock, as the promised updates are, so two sweeps at once number one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from care.core.actors import SystemActor
from care.core.background import enqueue_on_commit
from care.correspondence.impact_told import ToTell, customers_to_tell
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus
from care.correspondence.rendering.services import letters_render
from care.correspondence.services import letters_cancel
from care.operations.sweeps.runs import SWEEPER, record_error, sweep_chunks
from incidents.models import ACTIVE_STATUSES, Incident

RENDER_CHUNK = 500
# As the kept-promises sweep resumes a lost fan-out (its RESUME_AFTER): a younger batch is most likely still
# being written by the workers.
IN_FLIGHT = timedelta(minutes=5)


def _number_impact_update(*, incident_id: int, due: list[tuple[int, datetime]], now: datetime) -> int | None:
    """Number an update for the passengers of ``due`` not already waiting for a batch in flight, and fan it out
    after commit; the number of passengers it went to, or None when there was nobody to write to yet."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status not in ACTIVE_STATUSES:
            return None
        newest = (
            LetterBatch.objects.filter(incident=incident, kind=LetterKind.UPDATE)
            .order_by("-sequence")
            .values_list("sequence", "created_at")
            .first()
        )
        waiting_since = newest[1] if newest is not None and newest[1] > now - IN_FLIGHT else None
        affected_ids = sorted(pk for pk, changed_at in due if waiting_since is None or changed_at > waiting_since)
        if not affected_ids:
            return None
        sequence = newest[0] + 1 if newest is not None else 1
        LetterBatch.objects.create(incident=incident, kind=LetterKind.UPDATE, sequence=sequence, for_impact_change=True)
        for chunk in sweep_chunks(affected_ids):
            enqueue_on_commit("incidents.tasks.send_updates", incident_id, sequence, chunk)
    return len(affected_ids)


def tell_impact_changes(*, now: datetime, skip: set[int] | frozenset[int] = frozenset()) -> dict[str, int]:
    """Tell every passenger of an open incident whose impact got worse than their last letter said (the module's
    docstring); a failure for one incident is recorded in the sweep run and the others go on. ``skip``: incidents
    whose updates the calling run is writing now (they tell those passengers); the next run looks again."""
    counts = {"impact_rerendered": 0, "impact_updates": 0, "impact_customers": 0, "impact_errors": 0}
    try:
        due = customers_to_tell(now=now)
    except Exception as exc:
        record_error("finding worsened impacts", exc)
        counts["impact_errors"] += 1
        return counts
    for incident_id, tell in sorted(due.items()):
        if incident_id in skip:
            continue
        try:
            counts["impact_rerendered"] += _rerender(tell)
            if tell.update:
                told = _number_impact_update(incident_id=incident_id, due=tell.update, now=now)
                if told:
                    counts["impact_updates"] += 1
                    counts["impact_customers"] += told
        except Exception as exc:
            record_error(f"incident {incident_id}: worsened impacts", exc)
            counts["impact_errors"] += 1
    return counts


def _rerender(tell: ToTell) -> int:
    rendered = 0
    for start in range(0, len(tell.rerender), RENDER_CHUNK):
        summary = letters_render(letter_ids=tell.rerender[start : start + RENDER_CHUNK])
        rendered += summary.rendered + summary.held
    for start in range(0, len(tell.rerender_queued), RENDER_CHUNK):
        chunk = tell.rerender_queued[start : start + RENDER_CHUNK]
        with transaction.atomic():
            summary = letters_render(letter_ids=chunk, waiting_for_morning=True)
            rendered += summary.rendered + summary.held
            # A queued letter goes as it is: one the new facts no longer let pass the check is stopped, and the
            # next run writes the customer an update instead (this letter no longer counts as telling them).
            failing = list(
                Letter.objects.filter(pk__in=chunk, status=LetterStatus.QUEUED, check_passed=False).values_list(
                    "pk", flat=True
                )
            )
            if failing:
                note = "its facts changed and it no longer passes the check"
                letters_cancel(letter_ids=failing, actor=SystemActor(SWEEPER), note=note)
    return rendered
