"""Reads for the frontline pages, each with its queries decided once (and counted in the tests)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Upper

from care.briefings.models import BRIEFING_SECTIONS, BriefingRead, ContactNote, IncidentBriefing
from care.briefings.offers import EntitlementView, entitlements_by_affected
from care.core.roles import COORDINATORS, FRONTLINE_REPS
from care.correspondence.models.letters import Letter, LetterEvent
from care.customers.models import Customer
from care.customers.search import customers_matching
from incidents.models import ACTIVE_STATUSES, AffectedCustomer, Audience, Incident, IncidentUpdate
from vouchers import codes
from vouchers.models import Voucher

# The timeline reps see: what frontline was told and what customers were told; internal notes stay internal.
FRONTLINE_AUDIENCES = (Audience.FRONTLINE, Audience.CUSTOMERS)
TIMELINE_LIMIT = 50
SEARCH_LIMIT = 50
# A shorter term would match half the names on an incident.
NAME_SEARCH_MIN = 2
BOARD_LIMIT = 200
# A customer with more letters than this sees the newest ones and a count of the rest.
LETTER_LIMIT = 500


# --- Board ---------------------------------------------------------------------------------------------------


def board_incidents(*, user: Any) -> list[Incident]:
    """Active incidents, most severe then most recent first, each with its last frontline-visible update,
    its latest published briefing version and whether ``user`` has opened that version. One query."""
    updates = IncidentUpdate.objects.filter(incident=OuterRef("pk"), audience__in=FRONTLINE_AUDIENCES).order_by(
        "-posted_at", "-id"
    )
    latest_briefing = IncidentBriefing.objects.filter(incident=OuterRef("pk"), version__isnull=False).order_by(
        "-version"
    )
    read_latest = BriefingRead.objects.filter(
        user=user, briefing=OuterRef("latest_briefing_id")
    )  # the user's read of exactly the newest version
    return list(
        Incident.objects.filter(status__in=ACTIVE_STATUSES)
        .annotate(
            last_update_text=Subquery(updates.values("text")[:1]),
            last_update_at=Subquery(updates.values("posted_at")[:1]),
            last_update_audience=Subquery(updates.values("audience")[:1]),
            latest_briefing_id=Subquery(latest_briefing.values("pk")[:1]),
            latest_version=Subquery(latest_briefing.values("version")[:1]),
        )
        .annotate(read_latest=Exists(read_latest))
        .order_by("-severity", "-started_at", "-id")[:BOARD_LIMIT]
    )


# --- Briefing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same", "added" or "removed"
    text: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    text: str
    changed: bool | None  # None when there is nothing to compare with
    diff: list[DiffLine] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


@dataclass(frozen=True)
class ReaderRow:
    username: str
    full_name: str
    read_at: Any  # datetime | None


@dataclass(frozen=True)
class BriefingPage:
    incident: Incident
    briefing: IncidentBriefing | None
    previous: BriefingRead | None  # the last earlier version this user opened
    already_read: BriefingRead | None  # this user's earlier read of this very version
    sections: list[Section]
    readers: list[ReaderRow] | None  # only for coordinators


def briefing_section_texts(briefing: IncidentBriefing) -> dict[str, str]:
    """The text of each compared section; the offer combines the policy in words with the coordinator's notes."""
    texts = {key: getattr(briefing, key) for key, _ in BRIEFING_SECTIONS}
    texts["offer_text"] = "\n".join(part for part in (briefing.offer_text, briefing.offer_notes) if part.strip())
    return texts


def _diff(old: str, new: str) -> list[DiffLine]:
    old_lines = [line.rstrip() for line in old.splitlines() if line.strip()]
    new_lines = [line.rstrip() for line in new.splitlines() if line.strip()]
    ops = {" ": "same", "+": "added", "-": "removed"}
    return [
        DiffLine(ops[entry[0]], entry[2:])
        for entry in difflib.ndiff(old_lines, new_lines)
        if entry[0] in ops  # "?" lines are ndiff's intraline hints
    ]


def briefing_sections(current: IncidentBriefing, previous: IncidentBriefing | None) -> list[Section]:
    texts = briefing_section_texts(current)
    before = briefing_section_texts(previous) if previous is not None else None
    sections = []
    for key, title in BRIEFING_SECTIONS:
        if before is None:
            sections.append(Section(key, title, texts[key], changed=None))
            continue
        changed = texts[key].strip() != before[key].strip()
        sections.append(Section(key, title, texts[key], changed, _diff(before[key], texts[key]) if changed else []))
    return sections


def incident_for_frontline(reference: str) -> Incident | None:
    return Incident.objects.filter(reference=reference).exclude(status="draft").first()


def briefing_page(*, incident: Incident, user: Any, with_readers: bool) -> BriefingPage:
    """The latest published briefing, compared with the last earlier version ``user`` opened."""
    briefing = (
        IncidentBriefing.objects.filter(incident=incident, version__isnull=False)
        .select_related("published_by")
        .order_by("-version")
        .first()
    )
    if briefing is None:
        return BriefingPage(incident, None, None, None, [], None)
    reads = list(
        BriefingRead.objects.filter(user=user, incident=incident)
        .select_related("briefing")
        .order_by("-briefing__version")[:2]
    )
    already = next((read for read in reads if read.briefing_id == briefing.pk), None)
    previous = next(
        (
            read
            for read in reads
            if read.briefing.version is not None and read.briefing.version < (briefing.version or 0)
        ),
        None,
    )
    readers = briefing_readers(briefing=briefing) if with_readers else None
    return BriefingPage(
        incident,
        briefing,
        previous,
        already,
        briefing_sections(briefing, previous.briefing if previous else None),
        readers,
    )


def briefing_readers(*, briefing: IncidentBriefing) -> list[ReaderRow]:
    """Every active frontline rep and when they first opened this version (None: not yet). One query."""
    user_model = get_user_model()
    read_at = BriefingRead.objects.filter(briefing=briefing, user=OuterRef("pk")).values("read_at")[:1]
    users = (
        user_model.objects.filter(is_active=True, groups__name=FRONTLINE_REPS)
        .annotate(read_at=Subquery(read_at))
        .order_by("username")
        .distinct()
    )
    return [
        ReaderRow(username=user.get_username(), full_name=user.get_full_name(), read_at=user.read_at) for user in users
    ]


def incident_timeline(*, incident: Incident, limit: int = TIMELINE_LIMIT) -> list[IncidentUpdate]:
    return list(
        IncidentUpdate.objects.filter(incident=incident, audience__in=FRONTLINE_AUDIENCES).order_by(
            "-posted_at", "-id"
        )[:limit]
    )


def latest_published_version(*, incident: Incident) -> int | None:
    return (
        IncidentBriefing.objects.filter(incident=incident, version__isnull=False)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )


def user_is_coordinator(user: Any) -> bool:
    return bool(user.is_superuser) or user.groups.filter(name=COORDINATORS).exists()


# --- Customer search -----------------------------------------------------------------------------------------

_BOOKING = re.compile(r"^[A-Z0-9]{5,8}$")


@dataclass(frozen=True)
class SearchResult:
    customers: list[Customer]
    matched_by: str  # what the term was recognised as, for the rep to read
    voucher_note: str = ""  # e.g. "This code has a typing mistake"


def customer_search(term: str, *, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Customers for a term a rep typed: customer reference, email, phone, booking reference, voucher code
    (case, spaces and dashes forgiven) or the start of a name. Each condition runs on its own index."""
    term = " ".join(term.split())
    if not term:
        return SearchResult([], "")
    matched: dict[int, str] = {}
    pks: list[int] = []

    def take(queryset: QuerySet[Any], how: str) -> None:
        for pk in queryset.values_list("pk" if queryset.model is Customer else "customer_id", flat=True)[:limit]:
            if pk not in matched:
                matched[pk] = how
                pks.append(pk)

    take(customers_matching(term).order_by(), "customer reference, email or phone")
    folded = term.upper()
    if _BOOKING.match(folded.replace(" ", "")):
        take(
            AffectedCustomer.objects.alias(booking_upper=Upper("booking_reference"))
            .filter(booking_upper=folded.replace(" ", ""))
            .order_by(),
            "booking reference",
        )
    voucher_note = ""
    check = codes.check(term)
    if check is codes.CodeCheck.VALID_FORM:
        take(Voucher.objects.filter(code=codes.normalise(term)).order_by(), "voucher code")
    elif check is codes.CodeCheck.MISTYPED:
        voucher_note = check.message
    if len(term) >= NAME_SEARCH_MIN and not pks:
        # A name: the start of the full name, or of any word in it, case forgiven.
        take(
            Customer.objects.alias(name_upper=Upper("name"))
            .filter(Q(name_upper__startswith=folded) | Q(name_upper__contains=f" {folded}"))
            .order_by("name", "id"),
            "name",
        )
    customers = Customer.objects.in_bulk(pks[:limit])
    hows = sorted({matched[pk] for pk in pks})
    return SearchResult([customers[pk] for pk in pks[:limit] if pk in customers], " and ".join(hows), voucher_note)


# --- One customer --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AffectedView:
    affected: AffectedCustomer
    entitlements: list[EntitlementView]


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    affected: list[AffectedView]
    letters: list[Letter]
    letters_total: int
    vouchers: list[Voucher]
    notes: list[ContactNote]
    promises: list[Incident]  # active incidents with a promised next update


def customer_overview(*, customer_id: int) -> CustomerOverview | None:
    """Everything a rep needs on one customer's call, in a fixed number of queries whatever the history."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    affected = list(
        AffectedCustomer.objects.filter(customer=customer)
        .select_related("incident")
        .order_by("-incident__started_at", "-id")
    )
    entitlements = entitlements_by_affected(affected_ids=[row.pk for row in affected])
    letters = list(
        Letter.objects.filter(customer=customer)
        .select_related("incident")
        .prefetch_related(Prefetch("events", queryset=LetterEvent.objects.order_by("occurred_at", "id")))
        .defer("body_html", "body_text", "parts")
        .order_by("-created_at", "-id")[: LETTER_LIMIT + 1]
    )
    letters_total = len(letters) if len(letters) <= LETTER_LIMIT else Letter.objects.filter(customer=customer).count()
    vouchers = list(Voucher.objects.filter(customer=customer).select_related("incident").order_by("-issued_at", "-id"))
    notes = list(
        ContactNote.objects.filter(customer=customer)
        .select_related("author", "incident")
        .order_by("-created_at", "-id")
    )
    promises = [
        row.incident
        for row in affected
        if row.incident.status in ACTIVE_STATUSES and row.incident.next_update_due_at is not None
    ]
    return CustomerOverview(
        customer=customer,
        affected=[AffectedView(row, entitlements.get(row.pk, [])) for row in affected],
        letters=letters[:LETTER_LIMIT],
        letters_total=letters_total,
        vouchers=vouchers,
        notes=notes,
        promises=promises,
    )
