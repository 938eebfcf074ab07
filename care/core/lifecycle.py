"""Status lifecycles shared by incidents, letters and vouchers.

A lifecycle is a table of allowed moves. Services check it, move rows with a
conditional UPDATE (``WHERE status = <from>``) so two concurrent moves cannot
both win, and write one audit row per change in the same transaction.

A batch moved by a person or a process (``move_batch``) also gets one entry in the audit log
(``care.core.audit``) naming the action, who, how many and which: one per batch, not one per row, because the
per-row trail is the status changes themselves and a bulk void of 50,000 vouchers must not write 100,000
rows. ``record_status_changes`` alone writes no log entry: it is the hot path of the sender and the sweeps,
whose runs are recorded by their callers (``SweepRun``, the services' own run entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone

from care.core.actors import Actor, acting, status_change_actor
from care.core.audit import audit_record, batch_details
from care.core.errors import DomainError


@dataclass(frozen=True)
class Lifecycle:
    name: str
    moves: Mapping[str, frozenset[str]]
    labels: Mapping[str, str]

    def allowed_from(self, status: str) -> frozenset[str]:
        return self.moves.get(status, frozenset())

    def can_move(self, current: str, target: str) -> bool:
        return target in self.allowed_from(current)

    def sources_of(self, target: str) -> list[str]:
        return sorted(source for source, targets in self.moves.items() if target in targets)

    def check(self, *, label: str, current: str, target: str) -> None:
        if not self.can_move(current, target):
            raise DomainError(
                f"{label} cannot move from {self.labels.get(current, current)} to {self.labels.get(target, target)}."
            )

    def refusals(self, items: Iterable[tuple[str, str]], *, target: str) -> list[str]:
        """Labels of the (label, status) items that cannot move to ``target``, with their status."""
        return [
            f"{label} ({self.labels.get(status, status)})"
            for label, status in items
            if not self.can_move(status, target)
        ]


# A refusal names the first few refused rows; more would drown the message the coordinator reads.
REFUSED_SHOWN = 10


def refuse_batch(*, verb: str, noun: str, total: int, refused: list[str], hint: str = "") -> DomainError:
    shown = ", ".join(refused[:REFUSED_SHOWN])
    if len(refused) > REFUSED_SHOWN:
        shown += f" and {len(refused) - REFUSED_SHOWN} more"
    message = f"Cannot {verb} {len(refused)} of the {total} selected {noun}: {shown}. Nothing was changed."
    return DomainError(f"{message} {hint}".strip())


class StatusChange(models.Model):
    """One audited status change: who, when, from what to what, and why."""

    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when a system process (sweep, webhook, API token) made the change rather than a person.
    actor_label = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        who = self.actor_label or (str(self.actor) if self.actor_id else "system")
        return f"{self.from_status or '—'} → {self.to_status} by {who}"


def move_batch(  # noqa: PLR0913 - every batch transition's knobs, keyword-only, one shared implementation
    *,
    queryset: models.QuerySet[Any],
    ids: Iterable[int],
    target: str,
    lifecycle: Lifecycle,
    audit_model: type[StatusChange],
    audit_fk: str,
    verb: str,
    noun: str,
    audit_action: str,
    actor: Actor | None = None,
    actor_label: str = "",
    note: str = "",
    changes: Mapping[str, Any] | None = None,
    check: Callable[[Any], str | None] | None = None,
    hint: str = "",
) -> int:
    """Move every row in ``ids`` to ``target``, or none of them.

    Rows are locked in primary-key order (no deadlocks between two batches), every
    row is checked against the lifecycle and the optional ``check`` (which returns
    a refusal reason or None), then moved with an UPDATE guarded by the status it
    was seen in, and one audit row per change is written in the same transaction,
    with one audit-log entry (``audit_action``) for the whole batch.
    """
    wanted = sorted(set(ids))
    with transaction.atomic():
        # of=("self",): lock only the moving rows, never the rows joined in for the checks.
        rows = list(queryset.select_for_update(of=("self",)).filter(pk__in=wanted).order_by("pk"))
        if len(rows) != len(wanted):
            raise DomainError(f"{len(wanted) - len(rows)} of the selected {noun} no longer exist. Nothing was changed.")
        refused = lifecycle.refusals(((str(row), row.status) for row in rows), target=target)
        if check is not None:
            # Only rows the lifecycle lets through: one refusal per row, so the count in the message is right.
            refused += [
                f"{row} ({reason})" for row in rows if lifecycle.can_move(row.status, target) and (reason := check(row))
            ]
        if refused:
            raise refuse_batch(verb=verb, noun=noun, total=len(rows), refused=refused, hint=hint)
        by_status: dict[str, list[int]] = {}
        for row in rows:
            by_status.setdefault(row.status, []).append(row.pk)
        values = {"status": target, **(changes or {})}
        moved = 0
        for status, pks in by_status.items():
            moved += queryset.model._default_manager.filter(pk__in=pks, status=status).update(**values)
        if moved != len(rows):  # pragma: no cover - the rows are locked; this guards a broken lock.
            raise DomainError(f"Some {noun} changed while they were being moved. Nothing was changed.")
        record_status_changes(
            audit_model=audit_model,
            audit_fk=audit_fk,
            rows=((row.pk, row.status) for row in rows),
            to_status=target,
            actor=actor,
            actor_label=actor_label,
            note=note,
        )
        sources = sorted({str(row.status) for row in rows})
        audit_record(
            actor=acting(actor, actor_label),
            action=audit_action,
            target=rows[0] if len(rows) == 1 else (queryset.model._meta.label_lower, None),
            changes={"status": [sources[0] if len(sources) == 1 else sources, target]},
            details=batch_details(row.pk for row in rows),
            note=note,
        )
    return moved


_AUDIT_FIELDS = ("from_status", "to_status", "actor", "actor_label", "at", "note")


def record_status_changes(
    *,
    audit_model: type[StatusChange],
    audit_fk: str,
    rows: Iterable[tuple[int, str]],
    to_status: str,
    actor: Actor | None = None,
    actor_label: str = "",
    note: str = "",
    at: Any = None,
) -> None:
    """Write one audit row per (pk, from_status) in bulk; call it inside the transaction that moved them.

    On PostgreSQL the rows go in as one INSERT … SELECT FROM unnest(ids) per status: the sender and the sweeps
    audit thousands of letters a minute, and building a model instance per row cost more than the insert.
    """
    moment = at or timezone.now()
    user, actor_label = status_change_actor(actor, actor_label)
    actor_id = user.pk if user is not None else None
    pairs = list(rows)
    if not pairs:
        return
    manager = audit_model._default_manager
    connection = connections[manager.db]
    if connection.vendor == "postgresql":
        meta = audit_model._meta
        quote = connection.ops.quote_name
        column = {name: quote(str(meta.get_field(name).column)) for name in _AUDIT_FIELDS}  # type: ignore[union-attr]
        fk_column = quote(str(meta.get_field(audit_fk).column))  # type: ignore[union-attr]
        at_value = meta.get_field("at").get_db_prep_save(moment, connection)
        by_status: dict[str, list[int]] = {}
        for pk, from_status in pairs:
            by_status.setdefault(str(from_status), []).append(pk)
        with connection.cursor() as cursor:
            # One statement per status moved from (usually one), the ids as one integer array: a text array
            # would be escaped element by element on the client.
            for from_status, pks in by_status.items():
                cursor.execute(
                    f"INSERT INTO {quote(meta.db_table)} ({fk_column}, {column['from_status']}, "  # noqa: S608
                    f"{column['to_status']}, {column['actor']}, {column['actor_label']}, {column['at']}, "
                    f"{column['note']}) "
                    "SELECT pk, %s, %s, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS moved(pk)",
                    [from_status, to_status, actor_id, actor_label, at_value, note, pks],
                )
        return
    manager.bulk_create(
        [
            audit_model(
                **{f"{audit_fk}_id": pk},
                from_status=from_status,
                to_status=to_status,
                actor_id=actor_id,
                actor_label=actor_label,
                at=moment,
                note=note,
            )
            for pk, from_status in pairs
        ],
        batch_size=1000,
    )
