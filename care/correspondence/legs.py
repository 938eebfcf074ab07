"""A customer's several flights in one incident (booking legs): one letter at a time covers them all.

A passenger rebooked from a cancelled flight onto another that is disrupted too has two affected rows in the same
incident (issue 18: the import dropped the second). Written to row by row, they would get two first notices, two
"Update 1" letters and two apologies. Instead each letter of a kind and number goes to them once:

1. **On the lead row**: the row of the first flight they fly (by date, departure time, then id), so every chunk of
   every sweep picks the same one. A chunk that holds only a later leg writes the lead's letter itself: it is the
   customer's letter, and its batch (one incident, one kind and number) is the same whichever chunk writes it.
2. **The other legs get a marker**: a CANCELLED letter of the same kind and number whose ``combined_into`` is the lead's
   letter, as the rows of a customer's other incidents do (care.correspondence.streams, whose ``markers_write`` writes
   them), so the unique (affected, kind, sequence) constraint keeps any later chunk from writing that letter after
   all, and the lead letter's delivery is contact on every leg it covers.
3. **What the letter says**: a notice or update names every leg (``combined``, as for another incident's flight);
   an apology and a voucher letter already speak of every row of the customer (their entitlements and vouchers).
4. **A leg recorded later**: while the lead's letter is still a draft, the new leg is combined into it and it is
   rendered again; once that letter has gone, the new leg's rows get letters of their own.
5. **Exactly once**: the caller locks the customers (care.correspondence.streams.customers_lock) before this reads
   their letters, inside the transaction that writes the letters and markers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count

from care.correspondence.models.letters import Letter, LetterStatus
from care.correspondence.streams import STREAM_KINDS, Claim, Into, Stream, StreamPlan
from incidents.models import AffectedCustomer, Incident


@dataclass(frozen=True)
class Joined:
    """A leg combined into a letter already written (a draft), which is rendered again to cover it."""

    letter_id: int
    reference: str


@dataclass
class LegsPlan:
    """What a chunk writes for customers with several flights in its incident."""

    leads: list[AffectedCustomer] = field(default_factory=list)  # lead rows outside the chunk whose letter it writes
    covered: dict[int, list[AffectedCustomer]] = field(default_factory=dict)  # by lead id: the legs it covers
    joined: dict[int, Joined] = field(default_factory=dict)  # by leg id: legs combined into the lead's draft

    @property
    def without_letter(self) -> set[int]:
        """The rows that get a marker instead of a letter of their own."""
        return {leg.pk for legs in self.covered.values() for leg in legs} | set(self.joined)


def customers_on_several_flights(*, incident_id: int, affected_ids: Iterable[int]) -> set[int]:
    """Which customers of these rows have more than one row in the incident (one query, on its unique index)."""
    ids = list(set(affected_ids))
    if not ids:
        return set()
    customers = AffectedCustomer.objects.filter(pk__in=ids, incident_id=incident_id).values("customer_id")
    return set(
        AffectedCustomer.objects.filter(incident_id=incident_id, customer_id__in=customers)
        .values("customer_id")
        .annotate(legs=Count("pk"))
        .filter(legs__gt=1)
        .values_list("customer_id", flat=True)
    )


def _sort_key(row: AffectedCustomer) -> tuple[date, bool, str, int]:
    """The order a customer flies their legs; the first is the lead. An unknown departure time sorts last that day."""
    departure = row.scheduled_departure_at
    return (row.flight_date, departure is None, departure.isoformat() if departure else "", row.pk)


def legs_plan(
    *, incident: Incident, kind: str, sequence: int, rows: Sequence[AffectedCustomer], customers: set[int]
) -> LegsPlan:
    """Decide, for the chunk's ``rows`` (those without letter ``kind`` number ``sequence`` yet), which row's letter
    covers each customer's legs (the rules above). ``customers``: those of the rows with several flights
    (``customers_on_several_flights``), locked by the caller. Rows of other customers are left out of the plan."""
    plan = LegsPlan()
    if not customers:
        return plan
    legs: dict[int, list[AffectedCustomer]] = defaultdict(list)
    for row in AffectedCustomer.objects.select_related("customer").filter(
        incident_id=incident.pk, customer_id__in=customers
    ):
        row.incident = incident
        legs[row.customer_id].append(row)
    all_ids = [row.pk for rows_ in legs.values() for row in rows_]
    letters = {
        affected_id: (pk, status, into)
        for pk, affected_id, status, into in Letter.objects.filter(
            affected_id__in=all_ids, kind=kind, sequence=sequence
        ).values_list("pk", "affected_id", "status", "combined_into_id")
    }
    targets = {into or pk for pk, _status, into in letters.values()}
    drafts = dict(
        Letter.objects.filter(pk__in=targets, status=LetterStatus.DRAFT).values_list("pk", "incident__reference")
        if targets
        else ()
    )
    in_chunk = {row.pk for row in rows}
    for customer_id in sorted(customers):
        flights = sorted(legs.get(customer_id, []), key=_sort_key)
        if not flights:
            continue
        lead, others = flights[0], flights[1:]
        wanting = [leg for leg in others if leg.pk not in letters]
        if not wanting:
            continue
        written = letters.get(lead.pk)
        if written is None:
            if lead.pk not in in_chunk:
                plan.leads.append(lead)
            plan.covered[lead.pk] = wanting
            continue
        pk, _status, into = written
        target = into or pk
        if target in drafts:
            for leg in wanting:
                plan.joined[leg.pk] = Joined(letter_id=target, reference=drafts[target])
        # Otherwise the lead's letter has gone: a leg recorded since gets its own (rule 4).
    return plan


def legs_into_stream_plan(plan: StreamPlan, legs: LegsPlan, *, kind: str, sequence: int) -> None:
    """Add the legs' markers (and, for notices and updates, the flights they name) to the chunk's stream plan, which
    writes every marker (care.correspondence.streams.markers_write)."""
    for lead_pk, covered in legs.covered.items():
        if lead_pk in plan.into:
            # The lead's notice is combined into another incident's draft: so are its other legs.
            for leg in covered:
                plan.into[leg.pk] = plan.into[lead_pk]
            continue
        plan.claims[lead_pk] = [*(Claim(leg, kind, sequence) for leg in covered), *plan.claims.get(lead_pk, [])]
        if kind in STREAM_KINDS:
            stream = plan.streams.get(lead_pk, Stream())
            plan.streams[lead_pk] = Stream(
                covered=(*covered, *stream.covered), mentioned=stream.mentioned, number=stream.number
            )
    for pk, joined in legs.joined.items():
        plan.into[pk] = Into(letter_id=joined.letter_id, reference=joined.reference, kind=kind, sequence=sequence)


def with_other_legs(stream: Stream | None, *, affected: AffectedCustomer, kind: str) -> Stream | None:
    """``stream`` (what a notice or update about ``affected`` would cover) with the customer's other flights in the
    same incident, for a preview of the letter as it would be written now."""
    if kind not in STREAM_KINDS:
        return stream
    legs = list(
        AffectedCustomer.objects.filter(incident_id=affected.incident_id, customer_id=affected.customer_id)
        .exclude(pk=affected.pk)
        .select_related("incident")
    )
    if not legs:
        return stream
    legs.sort(key=_sort_key)
    current = stream or Stream()
    return Stream(covered=(*legs, *current.covered), mentioned=current.mentioned, number=current.number)
