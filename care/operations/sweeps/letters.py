"""One chunk of a sweep's letters: prepared, rendered and queued, with the ready drafts an earlier run left."""

from __future__ import annotations

from care.correspondence.models.letters import Letter, LetterStatus
from care.correspondence.sending.queue import letters_queue
from care.correspondence.services import letters_prepare
from care.operations.sweeps.runs import SWEEPER


def letters_prepare_and_queue(*, incident_id: int, kind: str, sequence: int, affected_ids: list[int]) -> int:
    """Prepare letter ``kind`` number ``sequence`` for these affected customers and queue the ready ones.

    Returns how many were queued. Drafts that passed the check in an earlier run but were never queued (a
    crash between writing and queueing) go now too, so a chunk run twice queues each letter once.
    """
    prepared = letters_prepare(
        incident_id=incident_id,
        kind=kind,
        sequence=sequence,
        affected_ids=affected_ids,
        queue_ready=True,
        actor_label=SWEEPER,
    )
    ready = Letter.objects.filter(
        affected_id__in=affected_ids,
        kind=kind,
        sequence=sequence,
        status=LetterStatus.DRAFT,
        check_passed=True,
    ).values_list("pk", flat=True)
    return prepared.queued + letters_queue(letter_ids=list(ready), actor_label=SWEEPER)
