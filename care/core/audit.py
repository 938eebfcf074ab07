"""One audit log of every write that matters: who, when, what action on what, old and new values.

Services write it with :func:`audit_record` inside their own transaction, so a write and its audit row commit
or roll back together. Status changes keep their own per-row trail (``StatusChange``); a batch of them gets
one entry here, written by ``care.core.lifecycle.move_batch``.

What is never written here: bearer secrets. Voucher codes and API tokens are masked wherever they appear
(:data:`SECRET_KEYS`), and services record ids, counts and filters instead. Old and new values of
customer-facing texts and of a customer's own fields are kept: the log is a table in the database, read by
coordinators, never a logger line.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from care.core.actors import Actor, audit_actor
from care.core.station_time import station_time

M = TypeVar("M", bound=models.Model)

# Keys whose values are bearer secrets: masked wherever they appear in changes or details.
SECRET_KEYS = frozenset({"code", "codes", "voucher_code", "token", "raw_token", "key", "key_digest", "secret"})
MASK = "[masked]"
# How many ids a batch entry lists; the count is always exact.
MAX_IDS = 200

Target = models.Model | tuple[str, object] | None

# Every action services record, so the admin can filter by them and a misspelt action fails at once.
AUDIT_ACTIONS = (
    "affected.impact_change",
    "affected_customer.create",
    "affected_customer.delete",
    "affected_customer.update",
    "alert.acknowledge",
    "api_token.create",
    "api_token.revoke",
    "bookings.record",
    "briefing.draft_start",
    "briefing.draft_update",
    "briefing.publish",
    "compensation_rule.create",
    "compensation_rule.update",
    "contact_note.add",
    "customer.create",
    "customer.sms_opt_in",
    "customer.sms_opt_out",
    "customer.update",
    "detection_rule.create",
    "detection_rule.update",
    "flight.status_change",
    "import_job.create",
    "import_job.purge_file",
    "import_job.run",
    "incident.create",
    "incident.flights_add",
    "incident.post_update",
    "incident.transition",
    "incident.translation_delete",
    "incident.translation_save",
    "incident.update_translation_save",
    "incident.update",
    "incident.variant_delete",
    "incident.variant_save",
    "incident_compensation.create",
    "incident_compensation.update",
    "letter.edit",
    "letter_batch.approve",
    "letter_batch.sample",
    "letter_template.create",
    "letter_template.delete",
    "letter_template.revise",
    "letter_template.update",
    "letters.approve",
    "letters.cancel",
    "letters.combine",
    "letters.prepare",
    "letters.queue",
    "letters.reconcile",
    "voucher.issue_in_lieu",
    "voucher.redeem",
    "voucher.top_up",
    "voucher.void",
    "voucher_codes.export",
    "vouchers.approve_over_budget",
    "vouchers.expire",
    "vouchers.issue",
)


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No index of its own: (actor, at) below serves "what did this person do".
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # A process's label ("sweep: first notices", "API token ops-feed"), or a person's username.
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64, help_text="A dotted verb, e.g. incident.update or voucher.void.")
    # What it was done to: "app_label.model" and the primary key as text (empty for a run over many rows).
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # {field: [old, new]} of the fields that changed.
    changes = models.JSONField(default=dict, blank=True)
    # What else the action was about: counts of a run, the filter of an export, the ids of a batch.
    details = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        app_label = "care"
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        ordering = ("-at", "-id")
        indexes = [
            models.Index(fields=["target_type", "target_id", "at"], name="audit_target_at_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
            models.Index(fields=["action", "at"], name="audit_action_at_idx"),
        ]

    def __str__(self) -> str:
        # The log spans stations: its moments are told in UTC, and say so (care.core.station_time).
        who = self.actor_label or self.actor_id or "system"
        return f"{self.action} by {who} at {station_time(self.at, None, seconds=True)}"

    @property
    def target(self) -> str:
        return f"{self.target_type} {self.target_id}".strip()


def plain(value: Any) -> Any:  # noqa: PLR0911 - one return per type a stored value can have
    """A JSON value for ``value``: ids for rows, ISO text for moments, text for amounts."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()  # one instant, one text, whatever zone it was read in
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain(item) for item in value), key=str)
    if isinstance(value, list | tuple | models.QuerySet):
        return [plain(item) for item in value]
    return str(value)


def _value_of(source: models.Model | Mapping[str, Any], name: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(name)
    field = source._meta.get_field(name)
    if field.many_to_many:
        if source.pk is None:
            return []
        return sorted(getattr(source, name).values_list("pk", flat=True))
    if field.is_relation:
        return getattr(source, field.attname)  # type: ignore[union-attr]  # the id, without loading the row
    return getattr(source, name)


def snapshot(source: models.Model | Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The plain values of ``fields`` (a row's foreign keys as ids, its many-to-many as sorted id lists)."""
    return {name: plain(_value_of(source, name)) for name in fields}


def changes_between(
    old: models.Model | Mapping[str, Any] | None, new: models.Model | Mapping[str, Any], fields: Iterable[str]
) -> dict[str, list[Any]]:
    """{field: [old, new]} for the ``fields`` whose value differs between ``old`` and ``new``.

    ``old`` is None for a row being created: then every field is a change from None.
    """
    names = list(fields)
    after = snapshot(new, names)
    if old is None:
        return {name: [None, value] for name, value in after.items()}
    before = snapshot(old, names)
    return {name: [before[name], after[name]] for name in names if before[name] != after[name]}


def audited_save(instance: M, *, fields: Iterable[str], actor: Actor, action: str) -> M:
    """Save a settings row as a coordinator edited it (a model form's instance), new or changed, with its audit
    entry (``<action>.create`` or ``<action>.update``, old and new of the edited ``fields``); unchanged, it writes
    nothing. Validated first (``full_clean``); the stored row is locked while they are compared."""
    names = sorted(set(fields))
    model = type(instance)
    with transaction.atomic():
        stored = model._default_manager.select_for_update().filter(pk=instance.pk).first() if instance.pk else None
        instance.full_clean()
        changes = changes_between(stored, instance, names)
        if stored is not None and not changes:
            return instance
        instance.save()
        audit_record(
            actor=actor,
            action=f"{action}.create" if stored is None else f"{action}.update",
            target=instance,
            changes=changes,
        )
    return instance


def masked(value: Any) -> Any:
    """``value`` with every secret under a key of :data:`SECRET_KEYS` replaced by :data:`MASK`."""
    if isinstance(value, Mapping):
        return {
            str(key): (MASK if str(key).lower() in SECRET_KEYS and item not in (None, "") else masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def target_of(target: Target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, "" if target.pk is None else str(target.pk)
    label, pk = target
    return label, "" if pk is None else str(pk)


def batch_details(ids: Iterable[int], **more: Any) -> dict[str, Any]:
    """Details of an action over many rows: how many, and (up to MAX_IDS of) which."""
    wanted = sorted(set(ids))
    return {"count": len(wanted), "ids": wanted[:MAX_IDS], **more}


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: Target,
    changes: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    note: str = "",
    at: dt.datetime | None = None,
    using: str | None = None,
) -> AuditEntry:
    """Write one audit entry; call it inside the transaction of the write it records.

    Outside a transaction the write and its record could be split by a crash, so that is refused.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"{action!r} is not in care.core.audit.AUDIT_ACTIONS; add it there.")
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError(f"audit_record({action!r}) must run inside the transaction of the write it records.")
    user, label = audit_actor(actor)
    target_type, target_id = target_of(target)
    return AuditEntry.objects.using(using).create(
        at=at or timezone.now(),
        actor=user,
        actor_label=label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=masked(plain(dict(changes or {}))),
        details=masked(plain(dict(details or {}))),
        note=note,
    )


def audit_record_many(
    *,
    actor: Actor,
    action: str,
    entries: Iterable[tuple[Target, Mapping[str, Any], Mapping[str, Any]]],
    at: dt.datetime | None = None,
) -> int:
    """Write one audit entry per (target, changes, details) in one INSERT, for a batch that changes many rows
    each in its own way (a status feed moving thousands of flights); the same rules as :func:`audit_record`."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"{action!r} is not in care.core.audit.AUDIT_ACTIONS; add it there.")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"audit_record_many({action!r}) must run inside the transaction of the write it records.")
    user, label = audit_actor(actor)
    moment = at or timezone.now()
    rows = []
    for target, changes, details in entries:
        target_type, target_id = target_of(target)
        rows.append(
            AuditEntry(
                at=moment,
                actor=user,
                actor_label=label,
                action=action,
                target_type=target_type,
                target_id=target_id,
                changes=masked(plain(dict(changes))),
                details=masked(plain(dict(details))),
            )
        )
    AuditEntry.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def audit_trail(target: models.Model | tuple[str, object]) -> models.QuerySet[AuditEntry]:
    """The audit entries of one row, newest first (served by the (target, at) index)."""
    target_type, target_id = target_of(target)
    return AuditEntry.objects.filter(target_type=target_type, target_id=target_id).order_by("-at", "-id")
