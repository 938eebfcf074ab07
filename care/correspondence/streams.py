"""One stream per customer: a customer affected by several open incidents at once hears from us in one letter.

Someone rebooked from a cancelled Friday flight onto a Saturday flight that is disrupted too is on two incidents,
each with its own first notice and promised updates; written to by each on its own, they would get two notices,
then two "Update 1" letters, at the same minute. These rules hold for the first notices and updates of the incidents
in a customer's *stream*: those open (or monitored) that send notices without approval. An incident whose notices a
coordinator sends by hand stands apart, and so does every other kind of letter (apologies combine by their own
rule, in care.operations.sweeps.follow_ups).

1. **One letter, on the row being written.** The letter belongs to the incident whose notice or update is being
   prepared when it reaches the customer first; it names every flight it covers (``combined`` in the context).
   The sweeps go through incidents oldest first (first notices by id, promises by due time), so it is usually the
   earliest incident's letter. A chunk never writes into another incident's batch: that batch's review, numbering
   and audit stay its own.
2. **The other incidents' rows get a marker**: a CANCELLED letter of their kind and number whose ``combined_into``
   is the letter that covers them, with the reason a coordinator reads on it. It takes the row's (affected, kind,
   sequence), so the unique constraint keeps every later chunk from writing that letter after all; and the
   covering letter's delivery is the customer's contact on both incidents (care.correspondence.sending.recording:
   first and last contact, the contacted counters).
3. **A first notice** covers each other incident of the stream that has not written to the customer yet (its own
   first notice becomes the marker). One that has (the second incident opened after the first notice went) is
   mentioned, not covered (``also_open``): the second notice is still one letter, and says so. While another
   incident's first notice to them is still a draft (held by the personal-letter check, or not queued yet), this
   incident's is combined into that draft, which is rendered again to cover both, as a draft apology is.
   A combined notice promises the earliest next update of the incidents it covers.
4. **An update** covers every other incident of the stream, each with its latest news, and keeps that incident's
   *current* promise to the customer: its marker takes that incident's update due now and not yet written to them
   (both promises fell due together), else its next one. So the combined update goes at the earliest promise due,
   and when the other incident's promise falls due, the customer's row already has its marker: the promise was
   kept early, by a letter that named its news. The letter promises its own incident's next update, which the next
   letter of the stream keeps or comes before. An incident that has not written to the customer at all yet has its
   first notice taken by the update instead (the update tells them what happened on that flight).
5. **Numbering.** A combined update is numbered for the customer (``sequence`` in the context): their updates on
   these flights so far, this one included, since the incidents' own numbers drift apart when their promises fall
   due at different times. The letter row keeps its incident's number, which its batch and its marker use.
6. **Exactly once, under concurrency.** A chunk locks the customers it writes to (``SELECT … FOR NO KEY UPDATE``, in
   id order, so chunks never deadlock) before it reads their letters, so two chunks (two sweeps, two incidents)
   decide a customer's letter one after the other and the second sees the first's letter and markers. The letter,
   its markers, their status trail and the ``letters.combine`` audit entry commit in one transaction: a crash
   leaves none of them, and the rerun writes them all. The unique constraint stays the last word.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from care.core.actors import Actor, SystemActor, acting
from care.core.audit import MAX_IDS, audit_record, batch_details
from care.core.lifecycle import record_status_changes
from care.correspondence.models.letters import Letter, LetterBatch, LetterKind, LetterStatus, LetterStatusChange
from care.customers.models import Customer
from incidents.models import ACTIVE_STATUSES, AffectedCustomer, Incident

STREAM_KINDS = frozenset({LetterKind.INITIAL_NOTICE, LetterKind.UPDATE})
MARKER_NOTE = "combined into the customer's letter about another disruption"
COMBINER = SystemActor("letters: one stream per customer")
# Customers locked per query, below every database's limit on bound parameters.
LOCK_CHUNK = 1000


def in_stream(incident: Incident) -> bool:
    """Whether this incident's notices and updates join its customers' streams (open, and sent without approval)."""
    return incident.status in ACTIVE_STATUSES and incident.auto_send_notices


def customers_lock(customer_ids: Iterable[int]) -> None:
    """Lock these customers' rows until the transaction ends, in id order (call inside one).

    ``NO KEY UPDATE``: it excludes the same lock taken by another chunk, which is the point, but not the key-share
    lock that inserting a letter or an affected row for the customer takes, so those inserts do not wait on it.
    """
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), LOCK_CHUNK):
        chunk = ids[start : start + LOCK_CHUNK]
        list(Customer.objects.select_for_update(no_key=True).filter(pk__in=chunk).order_by("pk").values_list("pk"))


def affected_rows_share(affected_ids: Iterable[int]) -> None:
    """Take the key-share locks that writing letters for these affected rows takes anyway, at once and in id order.

    Inserting a letter or a marker locks its affected row (the foreign key's ``FOR KEY SHARE``); a chunk writing
    markers would take them in two runs (its own rows, then the other incidents'), against a sender recording
    contact that locks the same rows in id order (incidents.counters): taking them all first, sorted, keeps the two
    from waiting on each other in a circle. PostgreSQL only; elsewhere writers are serialised anyway.
    """
    ids = sorted(set(affected_ids))
    if not ids or connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(AffectedCustomer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [ids])  # noqa: S608


@dataclass(frozen=True)
class Stream:
    """What one customer's notice or update says beyond its own incident (``rendering.sections.stream``)."""

    covered: tuple[AffectedCustomer, ...] = ()  # the other open incidents' rows it covers (their incident loaded)
    mentioned: tuple[AffectedCustomer, ...] = ()  # other open incidents' rows already written about (notices)
    number: int | None = None  # a combined update's number for the customer

    @property
    def incident_ids(self) -> set[int]:
        return {row.incident_id for row in (*self.covered, *self.mentioned)}


@dataclass(frozen=True)
class Claim:
    """A letter of another incident whose place the customer's new letter takes: it is written as a marker."""

    affected: AffectedCustomer
    kind: str
    sequence: int


@dataclass(frozen=True)
class Into:
    """A draft notice of another incident that this row's notice is combined into, instead of a letter of its own
    (or, for a customer's later leg in one incident, the draft of any kind on their first leg: correspondence.legs)."""

    letter_id: int
    reference: str  # the draft's incident
    kind: str = LetterKind.INITIAL_NOTICE
    sequence: int = 1


@dataclass
class StreamPlan:
    """What a chunk writes for the customers of its rows who are on other open incidents too."""

    streams: dict[int, Stream] = field(default_factory=dict)  # by affected id: the rows that get a letter
    claims: dict[int, list[Claim]] = field(default_factory=dict)  # by the affected id whose letter takes them
    into: dict[int, Into] = field(default_factory=dict)  # by affected id: rows combined into another's draft

    @property
    def incident_ids(self) -> set[int]:
        return {pk for stream in self.streams.values() for pk in stream.incident_ids}

    @property
    def other_rows(self) -> set[int]:
        """The other incidents' rows the markers go to."""
        return {claim.affected.pk for claims in self.claims.values() for claim in claims}


class _Letter(NamedTuple):
    pk: int
    affected_id: int
    kind: str
    sequence: int
    status: str
    combined_into_id: int | None
    created_at: datetime

    @property
    def is_marker(self) -> bool:
        return self.combined_into_id is not None

    @property
    def reached_them(self) -> bool:
        """A letter the customer had (or will have): neither a marker nor a letter a coordinator cancelled."""
        return self.status != LetterStatus.CANCELLED


def _stream_rows(customer_ids: Iterable[int]) -> dict[int, list[AffectedCustomer]]:
    """Every row of these customers on an incident of their stream, by customer, in the order they fly."""
    rows: dict[int, list[AffectedCustomer]] = defaultdict(list)
    for row in (
        AffectedCustomer.objects.filter(
            customer_id__in=set(customer_ids),
            incident__status__in=ACTIVE_STATUSES,
            incident__auto_send_notices=True,
        )
        .select_related("incident")
        .order_by("flight_date", "scheduled_departure_at", "pk")
    ):
        rows[row.customer_id].append(row)
    return rows


def _letters_of(affected_ids: Iterable[int]) -> dict[int, list[_Letter]]:
    letters: dict[int, list[_Letter]] = defaultdict(list)
    for values in Letter.objects.filter(affected_id__in=set(affected_ids), kind__in=STREAM_KINDS).values_list(
        "pk", "affected_id", "kind", "sequence", "status", "combined_into_id", "created_at"
    ):
        letter = _Letter(*values)
        letters[letter.affected_id].append(letter)
    return letters


def _latest_updates(incident_ids: Iterable[int]) -> dict[int, tuple[int, datetime]]:
    """The number and creation time of each incident's latest update batch."""
    latest: dict[int, tuple[int, datetime]] = {}
    for incident_id, sequence, created_at in (
        LetterBatch.objects.filter(incident_id__in=set(incident_ids), kind=LetterKind.UPDATE)
        .order_by("incident_id", "-sequence")
        .values_list("incident_id", "sequence", "created_at")
    ):
        latest.setdefault(incident_id, (sequence, created_at))
    return latest


def _update_claim(other: AffectedCustomer, *, latest: tuple[int, datetime] | None, have: set[int]) -> int | None:
    """Which update of ``other``'s incident a letter to its customer keeps now: the one due and not written to
    them (numbered before they were affected? then it was never theirs), else the next; None when an earlier
    letter has taken the next one already."""
    sequence, numbered_at = latest if latest is not None else (0, None)
    if sequence and sequence not in have and numbered_at is not None and other.created_at <= numbered_at:
        return sequence
    return sequence + 1 if sequence + 1 not in have else None


def _number(affected_ids: Iterable[int], letters: Mapping[int, list[_Letter]], *, before: datetime | None) -> int:
    """The customer's number for an update about these rows: their updates on them so far, plus this one."""
    had = sum(
        1
        for affected_id in set(affected_ids)
        for letter in letters.get(affected_id, [])
        if letter.kind == LetterKind.UPDATE and letter.reached_them and (before is None or letter.created_at < before)
    )
    return had + 1


def stream_plan(*, incident: Incident, kind: str, rows: Sequence[AffectedCustomer], lock: bool = True) -> StreamPlan:
    """Decide, for the rows about to get letter ``kind`` of ``incident``, what their letters cover (the rules above).

    Call with the customers locked (``customers_lock``) and inside the transaction that writes the letters and
    then the markers (``markers_write``); ``lock=False`` only reads, for a preview. Rows of customers who are on no
    other incident of their stream are left out of the plan: their letters are as they always were.
    """
    plan = StreamPlan()
    if kind not in STREAM_KINDS or not in_stream(incident) or not rows:
        return plan
    everyone = _stream_rows(row.customer_id for row in rows)
    others = {
        row.pk: [other for other in everyone.get(row.customer_id, []) if other.incident_id != incident.pk]
        for row in rows
    }
    shared = [row for row in rows if others[row.pk]]
    if not shared:
        return plan
    letters = _letters_of([*(row.pk for row in shared), *(other.pk for row in shared for other in others[row.pk])])
    if kind == LetterKind.INITIAL_NOTICE:
        _plan_notices(plan, shared, others, letters, lock=lock)
    else:
        latest = _latest_updates({other.incident_id for row in shared for other in others[row.pk]})
        for row in shared:
            mine = others[row.pk]
            claims: list[Claim] = []
            for other in mine:
                had = letters.get(other.pk, [])
                if not any(letter.kind == LetterKind.INITIAL_NOTICE for letter in had):
                    claims.append(Claim(other, LetterKind.INITIAL_NOTICE, 1))
                    continue
                have = {letter.sequence for letter in had if letter.kind == LetterKind.UPDATE}
                sequence = _update_claim(other, latest=latest.get(other.incident_id), have=have)
                if sequence is not None:
                    claims.append(Claim(other, LetterKind.UPDATE, sequence))
            number = _number([row.pk, *(other.pk for other in mine)], letters, before=None)
            plan.streams[row.pk] = Stream(covered=tuple(mine), number=number)
            if claims:
                plan.claims[row.pk] = claims
    return plan


def _plan_notices(
    plan: StreamPlan,
    shared: Sequence[AffectedCustomer],
    others: Mapping[int, list[AffectedCustomer]],
    letters: Mapping[int, list[_Letter]],
    *,
    lock: bool,
) -> None:
    candidates = {
        letter.pk
        for row in shared
        for other in others[row.pk]
        for letter in letters.get(other.pk, [])
        if letter.kind == LetterKind.INITIAL_NOTICE and letter.status == LetterStatus.DRAFT and not letter.is_marker
    }
    drafts: set[int] = set()
    if candidates:
        query = Letter.objects.filter(pk__in=candidates, status=LetterStatus.DRAFT)
        # Locked, and read again under the lock: a draft queued meanwhile has gone, and is not combined into.
        drafts = set((query.select_for_update(of=("self",)) if lock else query).values_list("pk", flat=True))
    for row in shared:
        covered: list[AffectedCustomer] = []
        mentioned: list[AffectedCustomer] = []
        into: Into | None = None
        for other in others[row.pk]:
            notices = [letter for letter in letters.get(other.pk, []) if letter.kind == LetterKind.INITIAL_NOTICE]
            draft = min((letter.pk for letter in notices if letter.pk in drafts), default=None)
            if draft is not None and into is None:
                into = Into(letter_id=draft, reference=other.incident.reference)
            (mentioned if notices else covered).append(other)
        if into is not None:
            plan.into[row.pk] = into
            continue
        plan.streams[row.pk] = Stream(covered=tuple(covered), mentioned=tuple(mentioned))
        if covered:
            plan.claims[row.pk] = [Claim(other, LetterKind.INITIAL_NOTICE, 1) for other in covered]


def _what(kind: str, sequence: int) -> str:
    if kind == LetterKind.INITIAL_NOTICE:
        return "the initial notice"
    if kind == LetterKind.UPDATE:
        return f"update #{sequence}"
    names: dict[str, str] = {LetterKind.APOLOGY: "the apology", LetterKind.VOUCHER: "the voucher letter"}
    return names.get(kind, f"the {kind} letter")


def markers_write(
    *,
    plan: StreamPlan,
    incident: Incident,
    kind: str,
    sequence: int,
    now: datetime,
    actor: Actor | None = None,
    actor_label: str = "",
) -> list[int]:
    """Write the plan's markers, once its letters are written: one CANCELLED letter per claim, and one per row
    combined into another incident's draft; with their status trail and one ``letters.combine`` audit entry.

    Call in the transaction that wrote the letters. Returns the markers' ids.
    """
    owners = [pk for pk in plan.claims if pk not in plan.into]
    carriers = dict(
        Letter.objects.filter(affected_id__in=owners, kind=kind, sequence=sequence)
        .exclude(status=LetterStatus.CANCELLED)
        .values_list("affected_id", "pk")
    )
    markers: list[Letter] = []
    for owner, claims in plan.claims.items():
        carrier = carriers.get(owner)
        if carrier is None:
            continue  # its letter could not be written: nothing covers the others, which keep their own
        for claim in claims:
            # Another flight of this incident (a leg, care.correspondence.legs), or another disruption.
            what = "flight" if claim.affected.incident_id == incident.pk else "disruption"
            reason = (
                f"Combined into {_what(kind, sequence)} L-{carrier} for {incident.reference}, which covers this "
                f"{what} too."
            )
            markers.append(_marker(claim.affected, claim.kind, claim.sequence, carrier, reason, now))
    rows = {row.pk: row for row in AffectedCustomer.objects.filter(pk__in=list(plan.into))}
    for pk, into in plan.into.items():
        what = "flight" if into.reference == incident.reference else "disruption"
        reason = (
            f"Combined into {_what(into.kind, into.sequence)} L-{into.letter_id} for {into.reference}, which covers "
            f"this {what} too."
        )
        markers.append(_marker(rows[pk], into.kind, into.sequence, into.letter_id, reason, now))
    if not markers:
        return []
    Letter.objects.bulk_create(markers, ignore_conflicts=True)
    # Ours: markers of these carriers written from now on (a draft combined into has older markers of its own).
    written = list(
        Letter.objects.filter(
            affected_id__in={marker.affected_id for marker in markers},
            combined_into_id__in={marker.combined_into_id for marker in markers},
            status=LetterStatus.CANCELLED,
            created_at__gte=now,
        )
        .order_by("pk")
        .values_list("pk", "combined_into_id")
    )
    if not written:
        return []
    who = acting(actor, actor_label, default=COMBINER)
    record_status_changes(
        audit_model=LetterStatusChange,
        audit_fk="letter",
        rows=[(pk, "") for pk, _into in written],
        to_status=LetterStatus.CANCELLED,
        actor=who,
        note=MARKER_NOTE,
        at=now,
    )
    audit_record(
        actor=who,
        action="letters.combine",
        target=("care.letter", None),
        details=batch_details(
            [pk for pk, _into in written],
            kind=kind,
            sequence=sequence,
            incident=incident.reference,
            into=sorted({into for _pk, into in written})[:MAX_IDS],
        ),
        at=now,
    )
    return [pk for pk, _into in written]


def _marker(row: AffectedCustomer, kind: str, sequence: int, carrier: int, reason: str, now: datetime) -> Letter:
    return Letter(
        customer_id=row.customer_id,
        incident_id=row.incident_id,
        affected_id=row.pk,
        kind=kind,
        sequence=sequence,
        status=LetterStatus.CANCELLED,
        combined_into_id=carrier,
        check_reasons=[reason],
        created_at=now,
        updated_at=now,
    )


def letter_streams(letters: Sequence[Letter]) -> dict[int, Stream]:
    """What each of these stored notices and updates covers, by letter id, for rendering them again.

    A letter covers the rows of its markers; an update covers, besides, every other incident of the customer's
    stream as it is now (rule 4), and a notice mentions those that wrote to the customer on their own (rule 3).
    Three queries, whatever the number of letters; letters of other kinds, and of customers on one incident, get
    no entry.
    """
    ours = [letter for letter in letters if letter.kind in STREAM_KINDS and letter.affected_id is not None]
    if not ours:
        return {}
    covered_by: dict[int, list[AffectedCustomer]] = defaultdict(list)
    for marker in (
        Letter.objects.filter(combined_into_id__in=[letter.pk for letter in ours])
        .select_related("affected__incident")
        .order_by("affected__flight_date", "affected_id")
    ):
        if marker.affected is not None and marker.combined_into_id is not None:
            covered_by[marker.combined_into_id].append(marker.affected)
    everyone = _stream_rows(letter.customer_id for letter in ours)
    rows = {row.pk for rows in everyone.values() for row in rows} | {
        row.pk for rows in covered_by.values() for row in rows
    }
    history = _letters_of(rows | {letter.affected_id for letter in ours if letter.affected_id})
    streams: dict[int, Stream] = {}
    for letter in ours:
        markers = covered_by.get(letter.pk, [])
        current = [
            row
            for row in everyone.get(letter.customer_id, [])
            if row.incident_id != letter.incident_id and row.pk not in {marker.pk for marker in markers}
        ]
        if letter.kind == LetterKind.UPDATE:
            covered = [*markers, *current]
            if covered:
                rows_about = [letter.affected_id or 0, *(row.pk for row in covered)]
                number = _number(rows_about, history, before=letter.created_at)
                streams[letter.pk] = Stream(covered=tuple(covered), number=number)
            continue
        mentioned = [
            row
            for row in current
            if any(notice.kind == LetterKind.INITIAL_NOTICE for notice in history.get(row.pk, []))
        ]
        if markers or mentioned:
            streams[letter.pk] = Stream(covered=tuple(markers), mentioned=tuple(mentioned))
    return streams


def covered_rows(letter_ids: Iterable[int]) -> list[int]:
    """The affected rows whose letters these letters took the place of (their markers): reaching the customer with
    one of these letters is contact on those incidents too."""
    ids = sorted(set(letter_ids))
    if not ids:
        return []
    return list(
        Letter.objects.filter(combined_into_id__in=ids, affected__isnull=False)
        .order_by("affected_id")
        .values_list("affected_id", flat=True)
    )
