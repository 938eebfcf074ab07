"""Every write that matters to letters: preparing a batch, approving one by one, cancelling, editing a draft's
wording, and the templates' wording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care.core.actors import Actor, Person, acting
from care.core.audit import audit_record, changes_between, snapshot
from care.core.errors import DomainError
from care.core.lifecycle import move_batch
from care.correspondence.models.letters import (
    LETTER_LIFECYCLE,
    BatchStatus,
    Letter,
    LetterBatch,
    LetterKind,
    LetterStatus,
    LetterStatusChange,
)
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.rendering.services import letters_create_rendered, letters_render
from care.correspondence.sending.queue import enqueue_sending
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from vouchers.services import vouchers_issue_for_incident

PREPARE_CHUNK = 1000
# Apologies come after the disruption: before resolution we do not yet know the whole story.
APOLOGY_AFTER = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
# The letters that carry the incident's vouchers: their vouchers are issued before they are prepared.
KINDS_CARRYING_VOUCHERS = (LetterKind.APOLOGY, LetterKind.VOUCHER)


class HeldOverBudget(DomainError):
    """Letters not prepared: the vouchers they would carry are over the incident's budget and not approved."""


@dataclass(frozen=True)
class PreparedBatch:
    batch: LetterBatch
    created: int
    rendered: int
    held: int
    queued: int = 0  # written straight as QUEUED (``queue_ready``)
    vouchers_issued: int = 0  # issued just before, for the letters to carry (``letters_prepare_by_hand``)


def letters_prepare(
    *,
    incident_id: int,
    kind: str,
    sequence: int = 1,
    affected_ids: Sequence[int] | None = None,
    queue_ready: bool = False,
    actor_label: str = "",
    actor: Actor | None = None,
) -> PreparedBatch:
    """Create (once) and render one letter of ``kind`` for every affected customer of the incident.

    Idempotent: the unique (affected, kind, sequence) constraint turns a second run into a no-op
    for customers who already have their letter, and a customer added since gets theirs.
    ``queue_ready`` writes the letters that may go at once (notices and updates that passed the check,
    for an incident that sends without approval) straight as QUEUED and enqueues them after commit;
    see ``care.correspondence.rendering.services.letters_create_rendered``. A call that created letters writes one
    audit entry for the batch with its counts (the sweeps call it per chunk of customers; a call that found
    every letter written already writes nothing). An update batch's customers held for a translation of its
    news (``LetterBatch.waiting_languages``) are left out until the kept-promises sweep releases them. Notices
    and updates keep one stream per customer
    (care.correspondence.streams): a customer on other open incidents too gets one letter covering them, and
    those incidents' rows get markers (``combined`` in the entry; the markers' own entry is ``letters.combine``).
    """
    incident = Incident.objects.get(pk=incident_id)
    _refuse_to_prepare(incident, kind)
    batch, _ = LetterBatch.objects.get_or_create(incident=incident, kind=kind, sequence=sequence)
    affected = AffectedCustomer.objects.filter(incident=incident).order_by("pk")
    if affected_ids is not None:
        affected = affected.filter(pk__in=list(affected_ids))
    if batch.waiting_languages:
        # Held for a translation of the update's news (care.operations.sweeps.kept_promises releases them).
        affected = affected.exclude(customer__language__in=batch.waiting_languages)

    created = rendered = held = queued = combined = 0
    pks = list(affected.values_list("pk", flat=True))
    # With ``affected_ids`` the work stays within those customers' letters (counting and rendering), so
    # that chunks prepared in parallel for the same batch neither render nor count each other's letters.
    mine = Letter.objects.filter(batch=batch)
    if affected_ids is not None:
        mine = mine.filter(affected_id__in=pks)
    for start in range(0, len(pks), PREPARE_CHUNK):
        chunk = pks[start : start + PREPARE_CHUNK]
        with transaction.atomic():
            before = mine.count()
            made = letters_create_rendered(
                incident=incident,
                kind=kind,
                sequence=sequence,
                batch_id=batch.pk,
                affected_ids=chunk,
                queue_ready=queue_ready,
                actor_label=actor_label,
                actor=actor,
            )
            created += mine.count() - before
            combined += made.combined
            rendered += made.summary.rendered
            held += made.summary.held + made.summary.failed
            if made.queued_ids:
                enqueue_sending(made.queued_ids)
                queued += len(made.queued_ids)
    if created:
        with transaction.atomic():
            reopened = batch.status != BatchStatus.OPEN
            if reopened:
                # New letters need their own review: the earlier sample and approval did not cover them.
                LetterBatch.objects.filter(pk=batch.pk).update(
                    status=BatchStatus.OPEN, sample_letter_ids=[], sample_size=0, reviewed_by=None, reviewed_at=None
                )
            audit_record(
                actor=acting(actor, actor_label),
                action="letters.prepare",
                target=batch,
                changes={"status": [batch.status, BatchStatus.OPEN]} if reopened else {},
                details={
                    "kind": kind,
                    "created": created,
                    "rendered": rendered,
                    "held": held,
                    "queued": queued,
                    "combined": combined,
                },
            )
        if reopened:
            batch.refresh_from_db()
    # Drafts left unrendered (e.g. written by an older version, or re-opened for rendering) are rendered here.
    unrendered = list(mine.filter(check_passed__isnull=True).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(unrendered), PREPARE_CHUNK):
        summary = letters_render(letter_ids=unrendered[start : start + PREPARE_CHUNK])
        rendered += summary.rendered
        held += summary.held + summary.failed
    return PreparedBatch(batch=batch, created=created, rendered=rendered, held=held, queued=queued)


def _refuse_to_prepare(incident: Incident, kind: str) -> None:
    if kind in KINDS_CARRYING_VOUCHERS and incident.status not in APOLOGY_AFTER:
        raise DomainError(
            f"{incident.reference} is {incident.get_status_display().lower()}: apology and voucher letters are "
            "prepared once it is resolved, when we can tell customers the whole story."
        )
    if kind == LetterKind.MANUAL:
        raise DomainError("Manual letters are written one at a time, not prepared for a whole incident.")


def letters_prepare_by_hand(*, incident_id: int, kind: str, actor: Actor) -> PreparedBatch:
    """What *Prepare … letters* on an incident's page does: ``letters_prepare``, vouchers first.

    Apology and voucher letters carry the incident's vouchers, so these are issued first, as the follow-up
    sweep does before it prepares apologies (care.operations.sweeps.sweep_follow_ups), by the same service and with
    the same budget hold: while the forecast is over the incident's budget and nobody has approved it, nothing
    is issued and no letter is written, and ``HeldOverBudget`` tells the coordinator what to do. Vouchers and
    letters are written in one transaction, so a failure leaves neither. Other kinds are prepared as they are.
    """
    if kind not in KINDS_CARRYING_VOUCHERS:
        return letters_prepare(incident_id=incident_id, kind=kind, actor=actor)

    with transaction.atomic():
        incident = Incident.objects.get(pk=incident_id)
        _refuse_to_prepare(incident, kind)  # before any voucher is issued for letters that cannot be prepared
        issued = vouchers_issue_for_incident(incident_id=incident_id, actor=actor)
        if issued.held:
            raise HeldOverBudget(
                f"{incident.reference}: {issued.message} Nothing was prepared: no voucher was issued and no letter "
                "written. To go ahead, approve the total under Incident compensation (select "
                f"{incident.reference}, action “Approve the forecast total above the budget”) or raise the "
                "budget, then prepare the letters again."
            )
        prepared = letters_prepare(incident_id=incident_id, kind=kind, actor=actor)
    return replace(prepared, vouchers_issued=issued.issued)


def _individual_approval_check(letter: Letter) -> str | None:
    if letter.check_passed is None:
        return "not rendered yet"
    if not letter.check_passed:
        return "held by the personal-letter check"
    if letter.batch is not None and letter.batch.status == BatchStatus.AWAITING_SECOND:
        return "its batch is waiting for a second coordinator"
    return None


def letters_approve(*, letter_ids: Iterable[int], actor: Person, note: str = "") -> int:
    """Approve draft letters one by one (all or none), recording who approved them and when.

    For a handful of letters the coordinator has read. A whole batch goes through the sample
    review in care.correspondence.approval, which records the sample and, above the voucher threshold, asks
    for a second coordinator.
    """
    ids = list(letter_ids)
    limit = settings.CARE_MAX_INDIVIDUAL_APPROVALS
    if len(ids) > limit:
        raise DomainError(
            f"{len(ids)} letters is more than can be read one by one ({limit} at most). "
            "Approve a whole batch from its letter batch page, after reviewing a random sample."
        )
    return move_batch(
        queryset=Letter.objects.select_related("batch"),
        ids=ids,
        target=LetterStatus.APPROVED,
        lifecycle=LETTER_LIFECYCLE,
        audit_model=LetterStatusChange,
        audit_fk="letter",
        verb="approve",
        noun="letters",
        audit_action="letters.approve",
        actor=actor,
        note=note,
        changes={"approved_by_id": actor.pk, "approved_at": timezone.now()},
        check=_individual_approval_check,
        hint="Filter the list by status “Draft” to approve the rest.",
    )


def letters_cancel(*, letter_ids: Iterable[int], actor: Actor, note: str = "") -> int:
    """Cancel letters that have not been handed to the email provider yet (all or none)."""
    return move_batch(
        queryset=Letter.objects.all(),
        ids=letter_ids,
        target=LetterStatus.CANCELLED,
        lifecycle=LETTER_LIFECYCLE,
        audit_model=LetterStatusChange,
        audit_fk="letter",
        verb="cancel",
        noun="letters",
        audit_action="letters.cancel",
        actor=actor,
        note=note,
        hint="Letters already sent cannot be called back.",
    )


# The wording of a template; kind and language say which letter it is, and a version is never rewritten once used.
TEMPLATE_FIELDS = ("subject", "part_acknowledgement", "part_explanation", "part_remedy", "body_text", "body_html")
_TEMPLATE_RECORD = ("kind", "language", "is_active", *TEMPLATE_FIELDS)


def letter_template_revise(*, template_id: int, fields: dict[str, str], actor: Actor | None = None) -> LetterTemplate:
    """Save new wording as the next version and make it the active one; the old version stays as it was."""
    with transaction.atomic():
        current = LetterTemplate.objects.select_for_update().get(pk=template_id)
        latest = (
            LetterTemplate.objects.filter(kind=current.kind, language=current.language)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        LetterTemplate.objects.filter(kind=current.kind, language=current.language, is_active=True).update(
            is_active=False
        )
        revised = LetterTemplate.objects.create(
            kind=current.kind,
            language=current.language,
            version=(latest or current.version) + 1,
            is_active=True,
            **fields,
        )
        audit_record(
            actor=acting(actor),
            action="letter_template.revise",
            target=revised,
            changes=changes_between(current, revised, TEMPLATE_FIELDS),
            details={"from_template_id": current.pk, "from_version": current.version, "version": revised.version},
        )
        return revised


def letter_template_save(*, template: LetterTemplate, actor: Actor) -> LetterTemplate:
    """Save a new template, or a change to one no letter used yet (a used one is revised into a new version)."""
    with transaction.atomic():
        stored = LetterTemplate.objects.select_for_update().filter(pk=template.pk).first() if template.pk else None
        if stored is not None and stored.letters.exists():
            raise DomainError("Letters were rendered from this version: save the new wording as a new version.")
        template.full_clean()
        changes = changes_between(stored, template, _TEMPLATE_RECORD)
        if stored is not None and not changes:
            return template
        template.save()
        audit_record(
            actor=actor,
            action="letter_template.create" if stored is None else "letter_template.update",
            target=template,
            changes=changes,
            details={"version": template.version},
        )
    return template


def letter_template_delete(*, template_id: int, actor: Actor) -> None:
    """Delete a template version; letters rendered from it keep their text and forget the link."""
    with transaction.atomic():
        template = LetterTemplate.objects.select_for_update().get(pk=template_id)
        before = snapshot(template, _TEMPLATE_RECORD)
        details = {"version": template.version, "letters": template.letters.count()}
        template.delete()
        audit_record(
            actor=actor,
            action="letter_template.delete",
            target=("care.lettertemplate", template_id),
            changes={name: [value, None] for name, value in before.items()},
            details=details,
        )


LETTER_WORDING_FIELDS = ("subject", "body_text", "body_html")


def letter_draft_edit(*, letter_id: int, actor: Actor, **wording: str) -> Letter:
    """Change a draft's wording by hand (only a draft: what was approved or sent is a record)."""
    unknown = sorted(set(wording) - set(LETTER_WORDING_FIELDS))
    if unknown:
        raise DomainError(f"These fields of a letter cannot be edited: {', '.join(unknown)}.")
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if letter.status != LetterStatus.DRAFT:
            raise DomainError(f"{letter} is {letter.get_status_display().lower()}: only a draft's wording can change.")
        before = snapshot(letter, sorted(wording))
        for name, value in wording.items():
            setattr(letter, name, value)
        changes = changes_between(before, letter, sorted(wording))
        if changes:
            letter.save(update_fields=[*sorted(changes), "updated_at"])
            audit_record(actor=actor, action="letter.edit", target=letter, changes=changes)
    return letter
