"""Rendering stored letters in bulk: ``letters_render`` (re-)renders existing letters, ``letters_create_rendered``
writes new ones already rendered and checked. Both run the personal-letter check and store its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.core.actors import Actor
from care.core.bulk import rows_update
from care.core.errors import DomainError
from care.core.lifecycle import record_status_changes
from care.correspondence.legs import customers_on_several_flights, legs_into_stream_plan, legs_plan
from care.correspondence.models.letters import (
    KINDS_NEEDING_APPROVAL,
    Letter,
    LetterStatus,
    LetterStatusChange,
)
from care.correspondence.phrases import letter_language
from care.correspondence.quiet_hours import KINDS_THAT_WAIT
from care.correspondence.rendering.batch import (
    FAILED_FIELDS,
    RenderOutcome,
    failure_message,
    render_one,
    shared_inputs,
)
from care.correspondence.streams import (
    STREAM_KINDS,
    StreamPlan,
    affected_rows_share,
    customers_lock,
    in_stream,
    letter_streams,
    markers_write,
    stream_plan,
)
from incidents.models import AffectedCustomer, Incident

RENDERABLE_STATUSES = (LetterStatus.DRAFT, LetterStatus.APPROVED)
ERRORS_KEPT = 50

_RENDERED_FIELDS = [
    "subject",
    "body_text",
    "body_html",
    "parts",
    "template",
    "template_version",
    "paragraph_variant",
    "impact_told",
    "to_address",
    "channel",
    "sms_body",
    "check_passed",
    "check_reasons",
    "updated_at",
]


@dataclass(frozen=True)
class RenderSummary:
    rendered: int = 0  # rendered and passed the personal-letter check
    held: int = 0  # rendered but held as drafts by the check
    failed: int = 0  # could not be rendered; nothing will be sent for them
    skipped: int = 0  # not found, or no longer a draft or approved
    errors: tuple[str, ...] = field(default_factory=tuple)  # the first failures, with their customer


def letters_render(*, letter_ids: Sequence[int], waiting_for_morning: bool = False) -> RenderSummary:
    """Render (or re-render) these letters and run the personal-letter check, storing the outcome on each.

    Only drafts and approved letters are rendered; the others are counted as skipped. ``waiting_for_morning``
    renders too the queued letters that wait for the customer's morning (quiet hours), which no sender may claim
    before then: their facts changed (care.operations.sweeps.impact_changes, which cancels one that no longer
    passes the check, since a queued letter goes as it is). A letter that cannot
    be rendered keeps an empty text, ``check_passed=False`` and the reasons; the rest of the batch goes on.
    The queries do not grow with the letters: letters, vouchers, the customers' other incidents, news,
    translations, paragraphs per impact, templates, the paragraph check (two), and one UPDATE per 500 letters.
    """
    wanted = sorted(set(letter_ids))
    if not wanted:
        return RenderSummary()
    with transaction.atomic():
        renderable = Q(status__in=RENDERABLE_STATUSES)
        if waiting_for_morning:
            renderable |= Q(status=LetterStatus.QUEUED, send_after__gt=timezone.now(), handover_at__isnull=True)
        letters = list(
            Letter.objects.select_for_update(of=("self",))
            .select_related("customer", "affected")
            .filter(renderable, pk__in=wanted)
            .order_by("pk")
        )
        if not letters:
            return RenderSummary(skipped=len(wanted))
        # One instance per incident shared by its letters (hundreds of letters, usually one incident),
        # rather than a copy joined onto every letter row.
        incidents = Incident.objects.select_related("owner").in_bulk(
            {letter.incident_id for letter in letters if letter.incident_id}
        )
        for letter in letters:
            if letter.incident_id:
                letter.incident = incidents[letter.incident_id]
        # What the customers' notices and updates cover of their other open incidents (care.correspondence.streams).
        streams = letter_streams(letters)
        shared = shared_inputs(
            affected_ids={letter.affected_id for letter in letters if letter.affected_id},
            customer_ids={letter.customer_id for letter in letters},
            incidents=[incident for incident in incidents.values() if incident is not None],
            kinds={letter.kind for letter in letters},
            languages={letter_language(letter.customer.language) for letter in letters},
            also_incident_ids={pk for stream in streams.values() for pk in stream.incident_ids},
        )
        counts = {"rendered": 0, "held": 0, "failed": 0}
        errors: list[str] = []
        for letter in letters:
            try:
                affected = _affected_of(letter)
            except DomainError as exc:
                result = RenderOutcome(
                    fields={
                        **FAILED_FIELDS,
                        "channel": letter.channel,
                        "to_address": letter.to_address,
                        "check_reasons": [str(exc)],
                    },
                    outcome="failed",
                    reasons=[failure_message(letter.customer, [str(exc)])],
                )
            else:
                result = render_one(
                    shared,
                    affected=affected,
                    kind=letter.kind,
                    sequence=letter.sequence,
                    stream=streams.get(letter.pk),
                )
            for name, value in result.fields.items():
                setattr(letter, name, value)
            letter.updated_at = shared.now
            counts[result.outcome] += 1
            if result.outcome == "failed" and len(errors) < ERRORS_KEPT:
                errors.extend(result.reasons)
        rows_update(letters, fields=_RENDERED_FIELDS, batch_size=500)
    return RenderSummary(**counts, skipped=len(wanted) - len(letters), errors=tuple(errors))


@dataclass(frozen=True)
class CreatedLetters:
    summary: RenderSummary
    queued_ids: list[int]  # inserted already QUEUED (see letters_create_rendered)
    combined: int = 0  # markers written: other incidents' letters whose place these letters take (streams)


def letters_create_rendered(
    *,
    incident: Incident,
    kind: str,
    sequence: int,
    batch_id: int,
    affected_ids: Sequence[int],
    queue_ready: bool = False,
    actor_label: str = "",
    actor: Actor | None = None,
) -> CreatedLetters:
    """Create the letters these affected customers do not have yet, rendered and checked as they are written.

    One INSERT per letter instead of an empty draft rendered by a later UPDATE: the sweeps write thousands
    of letters a minute and every rewrite of a rendered row costs as much as writing it. Concurrent chunks
    are safe: the unique (affected, kind, sequence) constraint keeps the first row and drops the other.
    With ``queue_ready``, a letter that may go at once (its check passed; a kind that needs no approval
    and never waits for the customer's morning; an incident that sends without approval) is written
    QUEUED with its audit row, exactly as ``care.correspondence.sending.letters_queue`` would have moved it; the caller
    enqueues ``queued_ids`` for sending after commit. The others are written as drafts.

    Notices and updates to a customer on other open incidents too follow care.correspondence.streams: their
    customers are locked first, a letter covers the other incidents (which get its markers, written here too), or
    a notice is combined into another incident's draft notice, rendered again here.
    Call inside a transaction.
    """
    joins_streams = kind in STREAM_KINDS and in_stream(incident)
    several = customers_on_several_flights(incident_id=incident.pk, affected_ids=affected_ids)
    if joins_streams:
        # Before their letters are read: two chunks decide a customer's letters one after the other.
        customers_lock(
            AffectedCustomer.objects.filter(pk__in=list(affected_ids), incident_id=incident.pk).values_list(
                "customer_id", flat=True
            )
        )
    elif several:
        customers_lock(several)  # their legs' letters are decided one chunk after the other too
    existing = Letter.objects.filter(affected_id=OuterRef("pk"), kind=kind, sequence=sequence)
    rows = list(
        AffectedCustomer.objects.select_related("customer")
        .filter(pk__in=list(affected_ids), incident_id=incident.pk)
        .exclude(Exists(existing))
        .order_by("pk")
    )
    if not rows:
        return CreatedLetters(summary=RenderSummary(), queued_ids=[])
    for affected in rows:
        affected.incident = incident
    # A customer's several flights here get one letter, on their first flight's row (care.correspondence.legs).
    legs = legs_plan(incident=incident, kind=kind, sequence=sequence, rows=rows, customers=several)
    rows = [affected for affected in rows if affected.pk not in legs.without_letter] + legs.leads
    plan = stream_plan(incident=incident, kind=kind, rows=rows) if joins_streams else StreamPlan()
    legs_into_stream_plan(plan, legs, kind=kind, sequence=sequence)
    if plan.claims or plan.into:
        # The rows that get a letter or a marker, locked as their inserts would, but all at once in id order.
        affected_rows_share([*(affected.pk for affected in rows), *plan.other_rows, *plan.into])
    # Rows combined into another incident's draft get its marker instead of a letter of their own.
    rows = [affected for affected in rows if affected.pk not in plan.into]
    shared = shared_inputs(
        affected_ids={affected.pk for affected in rows},
        customer_ids={affected.customer_id for affected in rows},
        incidents=[incident],
        kinds={kind},
        languages={letter_language(affected.customer.language) for affected in rows},
        also_incident_ids=plan.incident_ids,
    )
    may_queue = (
        queue_ready
        and kind not in KINDS_NEEDING_APPROVAL
        and kind not in KINDS_THAT_WAIT
        and incident.auto_send_notices
    )
    counts = {"rendered": 0, "held": 0, "failed": 0}
    errors: list[str] = []
    letters: list[Letter] = []
    for affected in rows:
        result = render_one(
            shared, affected=affected, kind=kind, sequence=sequence, stream=plan.streams.get(affected.pk)
        )
        counts[result.outcome] += 1
        if result.outcome == "failed" and len(errors) < ERRORS_KEPT:
            errors.extend(result.reasons)
        goes = may_queue and result.outcome == "rendered"
        letters.append(
            Letter(
                customer_id=affected.customer_id,
                incident=incident,
                affected=affected,
                kind=kind,
                sequence=sequence,
                batch_id=batch_id,
                status=LetterStatus.QUEUED if goes else LetterStatus.DRAFT,
                queued_at=shared.now if goes else None,
                created_at=shared.now,
                updated_at=shared.now,
                **result.fields,
            )
        )
    Letter.objects.bulk_create(letters, ignore_conflicts=True)
    queued_ids: list[int] = []
    if may_queue:
        # Ours are the rows queued at this moment (a concurrent chunk's rows carry its own moment).
        queued_ids = list(
            Letter.objects.filter(
                affected_id__in=[affected.pk for affected in rows],
                kind=kind,
                sequence=sequence,
                status=LetterStatus.QUEUED,
                queued_at=shared.now,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        record_status_changes(
            audit_model=LetterStatusChange,
            audit_fk="letter",
            rows=[(pk, LetterStatus.DRAFT) for pk in queued_ids],
            to_status=LetterStatus.QUEUED,
            actor_label=actor_label,
            note="queued for sending",
            at=shared.now,
        )
    combined: list[int] = []
    if plan.claims or plan.into:
        combined = markers_write(
            plan=plan,
            incident=incident,
            kind=kind,
            sequence=sequence,
            now=shared.now,
            actor=actor,
            actor_label=actor_label,
        )
    if plan.into:
        # The drafts now cover these rows' incidents too (their markers): rendered again to say so.
        letters_render(letter_ids=sorted({into.letter_id for into in plan.into.values()}))
    return CreatedLetters(
        summary=RenderSummary(**counts, errors=tuple(errors)),
        queued_ids=queued_ids,
        combined=len(combined),
    )


def _affected_of(letter: Letter) -> AffectedCustomer:
    affected = letter.affected
    if affected is None:
        raise DomainError("This letter is not about a disrupted flight (it has no affected-customer record).")
    if affected.customer_id != letter.customer_id or affected.incident_id != letter.incident_id:
        raise DomainError("The letter's customer or incident does not match its affected-customer record.")
    # Already loaded with the letter: share them instead of loading them again per letter.
    affected.customer = letter.customer
    affected.incident = letter.incident  # type: ignore[assignment]
    return affected
