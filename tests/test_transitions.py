"""Lifecycles, exhaustively, and the services that move rows through them.

The expected tables below are written out by hand from the domain's rules, not
derived from the lifecycle objects, so a change to a lifecycle must be made
deliberately in both places. "Nothing changed" is always shown by re-reading
the rows and the audit table from the database.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone

from care.core.errors import DomainError
from care.core.lifecycle import Lifecycle
from care.correspondence.models.letters import LETTER_LIFECYCLE, Letter, LetterKind, LetterStatus, LetterStatusChange
from care.correspondence.services import letters_approve, letters_cancel
from incidents.models import (
    INCIDENT_LIFECYCLE,
    Audience,
    Incident,
    IncidentStatus,
    IncidentStatusChange,
    IncidentUpdate,
)
from incidents.services import incident_create, incident_post_update, incidents_transition
from tests.factories import (
    AffectedCustomerFactory,
    IncidentFactory,
    LetterFactory,
    UserFactory,
    VoucherFactory,
)
from vouchers.models import VOUCHER_LIFECYCLE, Voucher, VoucherStatus, VoucherStatusChange
from vouchers.services import vouchers_void

pytestmark = pytest.mark.django_db


# --- The tables, as the domain states them ---------------------------------------------------------

INCIDENT_STATUSES = ["draft", "open", "monitoring", "resolved", "closed"]
INCIDENT_MOVES = {
    ("draft", "open"),
    ("open", "monitoring"),
    ("open", "resolved"),
    ("monitoring", "open"),
    ("monitoring", "resolved"),
    ("resolved", "open"),
    ("resolved", "closed"),
}

LETTER_STATUSES = [
    "draft",
    "approved",
    "queued",
    "sending",
    "sent",
    "delivered",
    "bounced",
    "complained",
    "failed",
    "suppressed",
    "cancelled",
]
LETTER_MOVES = {
    ("draft", "approved"),
    ("draft", "queued"),
    ("draft", "cancelled"),
    ("approved", "queued"),
    ("approved", "cancelled"),
    ("queued", "sending"),
    ("queued", "suppressed"),
    ("queued", "cancelled"),
    ("sending", "sent"),
    ("sending", "failed"),
    ("sending", "queued"),
    ("sending", "suppressed"),
    ("sent", "delivered"),
    ("sent", "bounced"),
    ("sent", "complained"),
    ("delivered", "bounced"),
    ("delivered", "complained"),
    ("failed", "queued"),
    ("failed", "cancelled"),
}

VOUCHER_STATUSES = ["issued", "redeemed", "void", "expired"]
VOUCHER_MOVES = {("issued", "redeemed"), ("issued", "void"), ("issued", "expired")}

LIFECYCLES = [
    pytest.param(INCIDENT_LIFECYCLE, IncidentStatus, INCIDENT_STATUSES, INCIDENT_MOVES, id="incident"),
    pytest.param(LETTER_LIFECYCLE, LetterStatus, LETTER_STATUSES, LETTER_MOVES, id="letter"),
    pytest.param(VOUCHER_LIFECYCLE, VoucherStatus, VOUCHER_STATUSES, VOUCHER_MOVES, id="voucher"),
]


def _pairs(statuses: list[str]) -> list[Any]:
    return [pytest.param(current, target, id=f"{current}->{target}") for current in statuses for target in statuses]


def _split(statuses: list[str], targets: list[str], table: set[tuple[str, str]]) -> tuple[list[Any], list[Any]]:
    allowed: list[Any] = []
    refused: list[Any] = []
    for current in statuses:
        for target in targets:
            param = pytest.param(current, target, id=f"{current}->{target}")
            (allowed if (current, target) in table else refused).append(param)
    return allowed, refused


def _row(model: type[models.Model], pk: int) -> dict[str, Any]:
    return model._default_manager.filter(pk=pk).values().get()


def _rows(model: type[models.Model]) -> list[dict[str, Any]]:
    return list(model._default_manager.order_by("pk").values())


# --- Lifecycles: every (from, to) pair ---------------------------------------------------------------


@pytest.mark.parametrize(("lifecycle", "choices", "statuses", "table"), LIFECYCLES)
def test_the_table_covers_exactly_the_statuses_that_exist(
    lifecycle: Lifecycle, choices: type[models.TextChoices], statuses: list[str], table: set[tuple[str, str]]
) -> None:
    assert sorted(choices.values) == sorted(statuses)
    assert set(lifecycle.labels) == set(statuses)
    mentioned = set(lifecycle.moves) | {target for targets in lifecycle.moves.values() for target in targets}
    assert mentioned <= set(statuses)


@pytest.mark.parametrize(("current", "target"), _pairs(INCIDENT_STATUSES))
def test_incident_lifecycle(current: str, target: str) -> None:
    assert INCIDENT_LIFECYCLE.can_move(current, target) is ((current, target) in INCIDENT_MOVES)


@pytest.mark.parametrize(("current", "target"), _pairs(LETTER_STATUSES))
def test_letter_lifecycle(current: str, target: str) -> None:
    assert LETTER_LIFECYCLE.can_move(current, target) is ((current, target) in LETTER_MOVES)


@pytest.mark.parametrize(("current", "target"), _pairs(VOUCHER_STATUSES))
def test_voucher_lifecycle(current: str, target: str) -> None:
    assert VOUCHER_LIFECYCLE.can_move(current, target) is ((current, target) in VOUCHER_MOVES)


@pytest.mark.parametrize(("lifecycle", "choices", "statuses", "table"), LIFECYCLES)
def test_sources_of_each_status_match_the_table(
    lifecycle: Lifecycle, choices: type[models.TextChoices], statuses: list[str], table: set[tuple[str, str]]
) -> None:
    for target in statuses:
        assert lifecycle.sources_of(target) == sorted(source for source, to in table if to == target), target


def test_lifecycle_check_names_both_statuses_by_label() -> None:
    with pytest.raises(DomainError, match=r"^L-7 cannot move from Sent to Cancelled\.$"):
        LETTER_LIFECYCLE.check(label="L-7", current="sent", target="cancelled")
    LETTER_LIFECYCLE.check(label="L-7", current="draft", target="cancelled")  # allowed: no error


# --- incidents_transition ------------------------------------------------------------------------

STAMPS = {"open": "opened_at", "monitoring": "monitoring_at", "resolved": "resolved_at", "closed": "closed_at"}
# The timestamps an incident in each status already carries from the moves that brought it there.
HISTORY: dict[str, tuple[str, ...]] = {
    "draft": (),
    "open": ("opened_at",),
    "monitoring": ("opened_at", "monitoring_at"),
    "resolved": ("opened_at", "resolved_at"),
    "closed": ("opened_at", "resolved_at", "closed_at"),
}
EARLIER = dt.datetime(2013, 2, 8, 14, 0, tzinfo=dt.UTC)
INCIDENT_ALLOWED, INCIDENT_REFUSED = _split(INCIDENT_STATUSES, list(STAMPS), INCIDENT_MOVES)


def incident_in(status: str, **fields: Any) -> Incident:
    stamps = {field: EARLIER + dt.timedelta(hours=hour) for hour, field in enumerate(HISTORY[status])}
    return IncidentFactory.create(status=status, **stamps, **fields)


def test_every_service_target_is_exercised() -> None:
    assert len(INCIDENT_ALLOWED) + len(INCIDENT_REFUSED) == len(INCIDENT_STATUSES) * 4
    assert {param.values for param in INCIDENT_ALLOWED} == INCIDENT_MOVES


@pytest.mark.parametrize(("current", "target"), INCIDENT_ALLOWED)
def test_incidents_transition_moves_stamps_and_audits(current: str, target: str, coordinator: Any) -> None:
    incident = incident_in(current)
    before = _row(Incident, incident.pk)
    started = timezone.now()

    moved = incidents_transition(incident_ids=[incident.pk], target=target, actor=coordinator, note="Crew arrived")

    finished = timezone.now()
    assert moved == 1
    after = _row(Incident, incident.pk)
    stamp = STAMPS[target]
    assert started <= after[stamp] <= finished
    assert after == {**before, "status": target, stamp: after[stamp]}
    change = IncidentStatusChange.objects.get(incident=incident)
    assert (change.from_status, change.to_status, change.actor, change.note) == (
        current,
        target,
        coordinator,
        "Crew arrived",
    )


@pytest.mark.parametrize(("current", "target"), INCIDENT_REFUSED)
def test_incidents_transition_refuses_moves_off_the_table(current: str, target: str, coordinator: Any) -> None:
    incident = incident_in(current)
    before, audit_before = _row(Incident, incident.pk), _rows(IncidentStatusChange)

    with pytest.raises(DomainError) as refusal:
        incidents_transition(incident_ids=[incident.pk], target=target, actor=coordinator)

    message = str(refusal.value)
    assert incident.reference in message
    assert f"({IncidentStatus(current).label})" in message
    assert "Nothing was changed." in message
    assert _row(Incident, incident.pk) == before
    assert _rows(IncidentStatusChange) == audit_before


def test_closing_a_draft_says_which_incident_and_why(coordinator: Any) -> None:
    incident = incident_in("draft", title="Ice storm at DEN")

    with pytest.raises(DomainError) as refusal:
        incidents_transition(incident_ids=[incident.pk], target="closed", actor=coordinator)

    assert str(refusal.value) == (
        f"Cannot close 1 of the 1 selected incidents: {incident.reference}: Ice storm at DEN (Draft). "
        "Nothing was changed."
    )


@pytest.mark.parametrize("target", ["draft", "reopened", ""])
def test_incidents_transition_refuses_a_target_that_is_not_a_move(target: str, coordinator: Any) -> None:
    incident = incident_in("open")
    before = _row(Incident, incident.pk)

    with pytest.raises(DomainError, match="is not a status an incident can be moved to"):
        incidents_transition(incident_ids=[incident.pk], target=target, actor=coordinator)

    assert _row(Incident, incident.pk) == before
    assert not IncidentStatusChange.objects.exists()


@pytest.mark.parametrize("current", ["draft", "monitoring", "resolved"])
@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        pytest.param({"explanation": ""}, "write the customer-facing explanation first", id="no-explanation"),
        pytest.param({"explanation": "  \n "}, "write the customer-facing explanation first", id="blank-explanation"),
        pytest.param({"next_update_due_at": None}, "set when customers will hear from us next", id="no-next-update"),
    ],
)
def test_opening_needs_an_explanation_and_a_next_update(
    current: str, missing: dict[str, Any], expected: str, coordinator: Any
) -> None:
    incident = incident_in(current, **missing)
    before = _row(Incident, incident.pk)

    with pytest.raises(DomainError) as refusal:
        incidents_transition(incident_ids=[incident.pk], target="open", actor=coordinator)

    assert f"{incident.reference}: {incident.title} ({expected})" in str(refusal.value)
    assert _row(Incident, incident.pk) == before
    assert not IncidentStatusChange.objects.exists()


def test_a_refused_incident_is_counted_once_even_with_two_reasons(coordinator: Any) -> None:
    # A closed incident without an explanation breaks the table *and* the opening check.
    incident = incident_in("closed", explanation="")

    with pytest.raises(DomainError) as refusal:
        incidents_transition(incident_ids=[incident.pk], target="open", actor=coordinator)

    message = str(refusal.value)
    assert message.startswith("Cannot open 1 of the 1 selected incidents:")
    assert message.count(incident.reference) == 1
    assert _row(Incident, incident.pk)["status"] == "closed"


def test_a_batch_of_incidents_moves_together(coordinator: Any) -> None:
    drafts = [incident_in("draft") for _ in range(3)]

    moved = incidents_transition(incident_ids=[i.pk for i in drafts], target="open", actor=coordinator)

    assert moved == 3
    assert set(Incident.objects.values_list("status", flat=True)) == {"open"}
    assert sorted(IncidentStatusChange.objects.values_list("incident_id", "from_status", "to_status")) == sorted(
        (i.pk, "draft", "open") for i in drafts
    )


@pytest.mark.parametrize(
    "spoiler",
    [
        pytest.param({"status": "closed"}, id="closed"),
        pytest.param({"status": "draft", "explanation": ""}, id="no-explanation"),
    ],
)
def test_a_batch_with_one_bad_incident_changes_none(spoiler: dict[str, Any], coordinator: Any) -> None:
    good = [incident_in("draft") for _ in range(3)]
    bad = incident_in(**spoiler)
    before = _rows(Incident)

    with pytest.raises(DomainError) as refusal:
        incidents_transition(incident_ids=[*(i.pk for i in good), bad.pk], target="open", actor=coordinator)

    message = str(refusal.value)
    assert message.startswith("Cannot open 1 of the 4 selected incidents:")
    assert bad.reference in message
    assert not any(i.reference in message for i in good)
    assert _rows(Incident) == before
    assert not IncidentStatusChange.objects.exists()


def test_a_batch_naming_a_deleted_incident_changes_none(coordinator: Any) -> None:
    kept, gone = incident_in("draft"), incident_in("draft")
    gone_pk = gone.pk
    gone.delete()
    before = _rows(Incident)

    with pytest.raises(DomainError, match="1 of the selected incidents no longer exist"):
        incidents_transition(incident_ids=[kept.pk, gone_pk], target="open", actor=coordinator)

    assert _rows(Incident) == before
    assert not IncidentStatusChange.objects.exists()


# --- letters_approve / letters_cancel ------------------------------------------------------------


def letter_in(status: str, **fields: Any) -> Letter:
    return LetterFactory.create(status=status, **fields)


@pytest.mark.parametrize("current", LETTER_STATUSES)
def test_letters_approve_from_every_status(current: str, coordinator: Any) -> None:
    letter = letter_in(current)
    before, audit_before = _row(Letter, letter.pk), _rows(LetterStatusChange)
    started = timezone.now()

    if current != "draft":
        with pytest.raises(DomainError) as refusal:
            letters_approve(letter_ids=[letter.pk], actor=coordinator)
        assert f"L-{letter.pk}: " in str(refusal.value)
        assert f"({LetterStatus(current).label})" in str(refusal.value)
        assert _row(Letter, letter.pk) == before
        assert _rows(LetterStatusChange) == audit_before
        return

    assert letters_approve(letter_ids=[letter.pk], actor=coordinator, note="Checked the wording") == 1

    after = _row(Letter, letter.pk)
    assert started <= after["approved_at"] <= timezone.now()
    assert after == {
        **before,
        "status": "approved",
        "approved_by_id": coordinator.pk,
        "approved_at": after["approved_at"],
    }
    change = LetterStatusChange.objects.get(letter=letter)
    assert (change.from_status, change.to_status, change.actor, change.note) == (
        "draft",
        "approved",
        coordinator,
        "Checked the wording",
    )


def test_a_mixed_batch_of_letters_approves_none(coordinator: Any) -> None:
    affected = AffectedCustomerFactory.create()
    drafts = [letter_in("draft", affected=affected, kind=LetterKind.UPDATE, sequence=n) for n in (1, 2, 3)]
    sent = letter_in("sent", affected=affected, kind=LetterKind.APOLOGY)
    cancelled = letter_in("cancelled", affected=affected, kind=LetterKind.VOUCHER)
    before = _rows(Letter)

    with pytest.raises(DomainError) as refusal:
        letters_approve(letter_ids=[*(d.pk for d in drafts), sent.pk, cancelled.pk], actor=coordinator)

    message = str(refusal.value)
    assert message.startswith("Cannot approve 2 of the 5 selected letters:")
    assert f"L-{sent.pk}: Apology / follow-up (Sent)" in message
    assert f"L-{cancelled.pk}: Voucher letter (Cancelled)" in message
    assert not any(f"L-{d.pk}:" in message for d in drafts)
    assert "Filter the list by status “Draft”" in message
    assert _rows(Letter) == before
    assert not LetterStatusChange.objects.exists()


def test_a_long_refusal_lists_ten_letters_and_counts_the_rest(coordinator: Any) -> None:
    sent = LetterFactory.create_batch(12, status="sent")

    with pytest.raises(DomainError) as refusal:
        letters_approve(letter_ids=[letter.pk for letter in sent], actor=coordinator)

    message = str(refusal.value)
    assert message.startswith("Cannot approve 12 of the 12 selected letters:")
    assert message.count("(Sent)") == 10
    assert "and 2 more" in message
    assert set(Letter.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.parametrize("current", LETTER_STATUSES)
def test_letters_cancel_from_every_status(current: str, coordinator: Any) -> None:
    letter = letter_in(current)
    before, audit_before = _row(Letter, letter.pk), _rows(LetterStatusChange)

    if (current, "cancelled") not in LETTER_MOVES:
        with pytest.raises(DomainError) as refusal:
            letters_cancel(letter_ids=[letter.pk], actor=coordinator)
        assert f"L-{letter.pk}: " in str(refusal.value)
        assert "Letters already sent cannot be called back." in str(refusal.value)
        assert _row(Letter, letter.pk) == before
        assert _rows(LetterStatusChange) == audit_before
        return

    assert letters_cancel(letter_ids=[letter.pk], actor=coordinator, note="Flight left after all") == 1

    assert _row(Letter, letter.pk) == {**before, "status": "cancelled"}
    change = LetterStatusChange.objects.get(letter=letter)
    assert (change.from_status, change.to_status, change.actor, change.note) == (
        current,
        "cancelled",
        coordinator,
        "Flight left after all",
    )


def test_cancelling_a_batch_with_a_sent_letter_cancels_none(coordinator: Any) -> None:
    queued = LetterFactory.create_batch(3, status="queued")
    sent = letter_in("sent")
    before = _rows(Letter)

    with pytest.raises(DomainError, match=re.escape(f"L-{sent.pk}: Apology / follow-up (Sent)")):
        letters_cancel(letter_ids=[*(q.pk for q in queued), sent.pk], actor=coordinator)

    assert _rows(Letter) == before
    assert not LetterStatusChange.objects.exists()


# --- vouchers_void -------------------------------------------------------------------------------


@pytest.mark.parametrize("current", VOUCHER_STATUSES)
def test_vouchers_void_from_every_status(current: str, coordinator: Any) -> None:
    voucher = VoucherFactory.create(status=current)
    before, audit_before = _row(Voucher, voucher.pk), _rows(VoucherStatusChange)
    started = timezone.now()

    if current != "issued":
        with pytest.raises(DomainError) as refusal:
            vouchers_void(voucher_ids=[voucher.pk], actor=coordinator, reason="Issued twice")
        assert f"{voucher.code} (150.00 USD) ({VoucherStatus(current).label})" in str(refusal.value)
        assert "Redeemed or expired vouchers cannot be voided." in str(refusal.value)
        assert _row(Voucher, voucher.pk) == before
        assert _rows(VoucherStatusChange) == audit_before
        return

    assert vouchers_void(voucher_ids=[voucher.pk], actor=coordinator, reason="  Issued twice by mistake \n") == 1

    after = _row(Voucher, voucher.pk)
    assert started <= after["voided_at"] <= timezone.now()
    assert after == {
        **before,
        "status": "void",
        "void_reason": "Issued twice by mistake",
        "voided_at": after["voided_at"],
    }
    change = VoucherStatusChange.objects.get(voucher=voucher)
    assert (change.from_status, change.to_status, change.actor, change.note) == (
        "issued",
        "void",
        coordinator,
        "Issued twice by mistake",
    )


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_voiding_needs_a_reason(reason: str, coordinator: Any) -> None:
    voucher = VoucherFactory.create()
    before = _row(Voucher, voucher.pk)

    with pytest.raises(DomainError, match="Give a reason for voiding"):
        vouchers_void(voucher_ids=[voucher.pk], actor=coordinator, reason=reason)

    assert _row(Voucher, voucher.pk) == before
    assert not VoucherStatusChange.objects.exists()


def test_voiding_a_batch_with_a_redeemed_voucher_voids_none(coordinator: Any) -> None:
    issued = VoucherFactory.create_batch(2)
    redeemed = VoucherFactory.create(status="redeemed")
    before = _rows(Voucher)

    with pytest.raises(DomainError, match=r"Cannot void 1 of the 3 selected vouchers"):
        vouchers_void(voucher_ids=[*(v.pk for v in issued), redeemed.pk], actor=coordinator, reason="Fraud check")

    assert _rows(Voucher) == before
    assert not VoucherStatusChange.objects.exists()


# --- incident_post_update ------------------------------------------------------------------------


def test_a_customer_update_with_a_promise_moves_the_next_update(coordinator: Any) -> None:
    incident = incident_in("open")
    promise = timezone.now() + dt.timedelta(hours=2)

    update = incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="  Runways reopen at 18:00.  ",
        author=coordinator,
        next_update_due_at=promise,
    )

    assert Incident.objects.get(pk=incident.pk).next_update_due_at == promise
    assert incident.next_update_due_at == promise
    stored = IncidentUpdate.objects.get(pk=update.pk)
    assert (stored.incident_id, stored.audience, stored.text, stored.author, stored.next_update_due_at) == (
        incident.pk,
        "customers",
        "Runways reopen at 18:00.",
        coordinator,
        promise,
    )


@pytest.mark.parametrize("audience", [Audience.INTERNAL, Audience.FRONTLINE])
def test_an_internal_update_does_not_move_the_next_update(audience: str, coordinator: Any) -> None:
    incident = incident_in("open")
    promised_to_customers = Incident.objects.get(pk=incident.pk).next_update_due_at

    incident_post_update(
        incident=incident,
        audience=audience,
        text="De-icing crews double-staffed.",
        author=coordinator,
        next_update_due_at=timezone.now() + dt.timedelta(hours=5),
    )

    assert Incident.objects.get(pk=incident.pk).next_update_due_at == promised_to_customers
    assert IncidentUpdate.objects.filter(incident=incident, audience=audience).count() == 1


def test_a_customer_update_without_a_promise_keeps_the_next_update(coordinator: Any) -> None:
    incident = incident_in("open")
    promised = Incident.objects.get(pk=incident.pk).next_update_due_at

    incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text="Still snowing.", author=coordinator)

    assert Incident.objects.get(pk=incident.pk).next_update_due_at == promised


@pytest.mark.parametrize("offset", [dt.timedelta(0), -dt.timedelta(minutes=1), -dt.timedelta(days=1)])
def test_a_promise_not_in_the_future_is_refused(offset: dt.timedelta, coordinator: Any) -> None:
    incident = incident_in("open")
    before = _row(Incident, incident.pk)
    posted_at = timezone.now()

    with pytest.raises(DomainError, match="The next update must be promised for a time after this update"):
        incident_post_update(
            incident=incident,
            audience=Audience.CUSTOMERS,
            text="Runways reopen soon.",
            author=coordinator,
            posted_at=posted_at,
            next_update_due_at=posted_at + offset,
        )

    assert _row(Incident, incident.pk) == before
    assert not IncidentUpdate.objects.exists()


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_update_needs_text(text: str, coordinator: Any) -> None:
    incident = incident_in("open")

    with pytest.raises(DomainError, match="An update needs some text"):
        incident_post_update(incident=incident, audience=Audience.INTERNAL, text=text, author=coordinator)

    assert not IncidentUpdate.objects.exists()


def test_posting_to_a_closed_incident_is_refused(coordinator: Any) -> None:
    incident = incident_in("closed")
    before = _row(Incident, incident.pk)

    with pytest.raises(DomainError, match=re.escape(f"{incident.reference} is closed and its timeline is final")):
        incident_post_update(
            incident=incident,
            audience=Audience.CUSTOMERS,
            text="One more thing.",
            author=coordinator,
            next_update_due_at=timezone.now() + dt.timedelta(hours=1),
        )

    assert _row(Incident, incident.pk) == before
    assert not IncidentUpdate.objects.exists()


def test_posting_through_a_stale_copy_of_a_since_closed_incident_is_refused(coordinator: Any) -> None:
    # The coordinator loaded the incident while it was resolved; a colleague closed it meanwhile.
    stale = incident_in("resolved")
    incidents_transition(incident_ids=[stale.pk], target="closed", actor=UserFactory.create())
    before = _row(Incident, stale.pk)

    with pytest.raises(DomainError, match=re.escape(f"{stale.reference} is closed")):
        incident_post_update(
            incident=stale,
            audience=Audience.CUSTOMERS,
            text="One more thing.",
            author=coordinator,
            next_update_due_at=timezone.now() + dt.timedelta(hours=1),
        )

    assert _row(Incident, stale.pk) == before
    assert not IncidentUpdate.objects.exists()


# --- incident_create -----------------------------------------------------------------------------


def _create(started_at: dt.datetime, **fields: Any) -> Incident:
    return incident_create(title="Blizzard", kind="cancellation", cause="weather", started_at=started_at, **fields)


def test_incident_references_count_per_start_day(coordinator: Any) -> None:
    morning = dt.datetime(2013, 2, 8, 9, 30, tzinfo=dt.UTC)

    first = _create(morning, actor=coordinator)
    second = _create(morning + dt.timedelta(hours=10))
    next_day = _create(morning + dt.timedelta(days=1))
    third = _create(morning + dt.timedelta(hours=14, minutes=29))

    assert [first.reference, second.reference, next_day.reference, third.reference] == [
        "INC-20130208-0001",
        "INC-20130208-0002",
        "INC-20130209-0001",
        "INC-20130208-0003",
    ]
    assert list(Incident.objects.order_by("pk").values_list("reference", "status")) == [
        ("INC-20130208-0001", "draft"),
        ("INC-20130208-0002", "draft"),
        ("INC-20130209-0001", "draft"),
        ("INC-20130208-0003", "draft"),
    ]
    change = IncidentStatusChange.objects.get(incident=first)
    assert (change.from_status, change.to_status, change.actor, change.note) == ("", "draft", coordinator, "created")
    assert IncidentStatusChange.objects.count() == 4


def test_incident_references_continue_past_nine() -> None:
    day = dt.datetime(2013, 2, 8, 12, 0, tzinfo=dt.UTC)
    IncidentFactory.create(reference="INC-20130208-0009")

    assert _create(day).reference == "INC-20130208-0010"
    assert _create(day).reference == "INC-20130208-0011"


def test_an_invalid_incident_is_not_created() -> None:
    with pytest.raises(ValidationError, match="severity"):
        _create(dt.datetime(2013, 2, 8, 12, 0, tzinfo=dt.UTC), severity=9)

    assert not Incident.objects.exists()
    assert not IncidentStatusChange.objects.exists()


# --- Concurrency (PostgreSQL: SQLite serialises writers and hides races) --------------------------


def _race(*workers: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the workers in threads released together; return ("ok", result) or ("refused"/"error", exc)."""
    barrier = threading.Barrier(len(workers), timeout=30)
    outcomes: list[tuple[str, Any]] = [("error", "did not finish")] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier: race the work, not the handshake
            barrier.wait()
            outcomes[index] = ("ok", work())
        except DomainError as exc:
            outcomes[index] = ("refused", exc)
        except Exception as exc:  # reported by the assertions in the test
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return outcomes


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_approving_the_same_200_letters_approve_them_once(settings: Any) -> None:
    # The race is the point here, not the one-by-one limit (tested in test_approval.py).
    settings.CARE_MAX_INDIVIDUAL_APPROVALS = 500
    first, second = UserFactory.create(username="first"), UserFactory.create(username="second")
    incident = IncidentFactory.create()
    letter_ids = [letter.pk for letter in LetterFactory.create_batch(200, affected__incident=incident)]

    outcomes = _race(
        lambda: letters_approve(letter_ids=letter_ids, actor=first),
        lambda: letters_approve(letter_ids=letter_ids, actor=second),
    )

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"], outcomes
    winner = (first, second)[[kind for kind, _ in outcomes].index("ok")]
    assert dict(outcomes)["ok"] == 200
    assert "Cannot approve 200 of the 200 selected letters" in str(dict(outcomes)["refused"])
    assert "(Approved)" in str(dict(outcomes)["refused"])
    assert set(Letter.objects.filter(pk__in=letter_ids).values_list("status", "approved_by_id")) == {
        ("approved", winner.pk)
    }
    per_letter = LetterStatusChange.objects.values("letter_id").annotate(n=models.Count("id"))
    assert sorted(row["letter_id"] for row in per_letter) == sorted(letter_ids)
    assert {row["n"] for row in per_letter} == {1}
    assert set(LetterStatusChange.objects.values_list("from_status", "to_status", "actor_id")) == {
        ("draft", "approved", winner.pk)
    }


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_resolving_the_same_incident_resolve_it_once() -> None:
    first, second = UserFactory.create(username="first"), UserFactory.create(username="second")
    incident = incident_in("open")

    outcomes = _race(
        lambda: incidents_transition(incident_ids=[incident.pk], target="resolved", actor=first),
        lambda: incidents_transition(incident_ids=[incident.pk], target="resolved", actor=second),
    )

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"], outcomes
    assert dict(outcomes)["ok"] == 1
    assert f"{incident.reference}: {incident.title} (Resolved)" in str(dict(outcomes)["refused"])
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    assert list(IncidentStatusChange.objects.values_list("incident_id", "from_status", "to_status")) == [
        (incident.pk, "open", "resolved")
    ]


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_incidents_created_at_the_same_moment_get_distinct_references() -> None:
    started_at = dt.datetime(2013, 2, 8, 12, 0, tzinfo=dt.UTC)

    outcomes = _race(*[lambda: _create(started_at) for _ in range(4)])

    assert [kind for kind, _ in outcomes] == ["ok"] * 4, outcomes
    assert sorted(Incident.objects.values_list("reference", flat=True)) == [
        f"INC-20130208-{n:04d}" for n in range(1, 5)
    ]
