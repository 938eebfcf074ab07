"""How sending writes letter rows: in chunks below every database's limit on bound parameters, and each
status move with its trail row, by the sender unless a person or process is named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from care.core.actors import Actor
from care.core.lifecycle import record_status_changes
from care.correspondence.models.letters import LetterStatusChange

SENDER = "sender"
# Rows handled per query, to stay below every database's limit on bound parameters.
QUERY_CHUNK = 1000


def id_chunks(ids: Sequence[int], size: int = QUERY_CHUNK) -> Iterable[list[int]]:
    """``ids`` in lists of at most ``size``."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def record_moves(
    rows: Iterable[tuple[int, str]],
    *,
    to_status: str,
    at: datetime,
    note: str,
    actor: Actor | None = None,
    actor_label: str = SENDER,
) -> None:
    """One trail row per (letter id, status it left) for letters moved to ``to_status``."""
    record_status_changes(
        audit_model=LetterStatusChange,
        audit_fk="letter",
        rows=rows,
        to_status=to_status,
        actor=actor,
        actor_label=actor_label,
        note=note,
        at=at,
    )
