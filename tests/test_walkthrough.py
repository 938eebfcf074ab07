"""The README's "Working a disruption", clicked through the admin as a coordinator would, to the end.

Resolve an incident → *Prepare apology letters* (its vouchers are issued first) → the letter batch → draw a
sample → approve (coordinator 1) → second approval (coordinator 2, the batch being above
CARE_SECOND_APPROVAL_ABOVE) → the Celery task sends → *Outbox messages* shows the letters with their voucher
codes → *Simulate a delivered event* → the letters are delivered. Also: the over-budget hold on preparing by
hand, and *Prepare first notices* only while somebody is left to notify.

The clock is pinned to a weekday morning in New York (the customers' time zone), so the apologies are not held
for the customers' quiet hours whenever the suite runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from care.core.roles import COORDINATORS
from care.correspondence.default_templates import default_templates_install
from care.correspondence.models.letters import BatchStatus, Letter, LetterBatch, LetterKind, LetterStatus, OutboxMessage
from care.operations.demo_logins import demo_users_ensure
from incidents.models import Incident, IncidentStatus
from tests.factories import AffectedCustomerFactory, IncidentFactory, LetterFactory
from tests.sweep_harness import OUTBOX_BACKEND, eager_celery
from vouchers.default_policy import default_policy_install
from vouchers.models import IncidentCompensation, Voucher, VoucherStatusChange
from vouchers.selectors import incident_forecast
from vouchers.services import vouchers_approve_over_budget

pytestmark = pytest.mark.django_db

# 11:00 in New York (EST), a Wednesday: outside the customers' quiet hours (21:00-08:00 local).
MORNING_IN_NEW_YORK = dt.datetime(2026, 1, 14, 16, 0, tzinfo=dt.UTC)
APOLOGY = (
    "We are truly sorry that the blizzard on Friday left you stranded at Newark without the information you "
    "needed. Waiting without news is something we can and will fix, and we are grateful for your patience."
)
REFUND = "full refund of the unused ticket"


@pytest.fixture(autouse=True)
def shipped_policy_and_templates() -> None:
    # Both come from data migrations, which a transactional test's flush removes: install them again (idempotent).
    default_policy_install(django_apps)
    default_templates_install(django_apps)


@pytest.fixture
def morning() -> Iterator[dt.datetime]:
    with time_machine.travel(MORNING_IN_NEW_YORK, tick=False):
        yield MORNING_IN_NEW_YORK


@pytest.fixture
def demo_coordinators(settings: Any, tmp_path: Path) -> tuple[Any, Any]:
    """The demo's two coordinators, as `manage.py bootstrap` creates them."""
    settings.DEBUG = True  # demo logins are for development only
    logins = demo_users_ensure(logins_file=tmp_path / "demo-logins.txt")
    settings.DEBUG = False
    names = [login.username for login in logins if login.group == COORDINATORS]
    assert len(names) == 2
    users = get_user_model().objects
    return users.get(username=names[0]), users.get(username=names[1])


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def newark_incident(*, cancelled: int, status: str = IncidentStatus.OPEN) -> Incident:
    """A Newark incident with the coordinator's paragraphs, ``cancelled`` cancelled customers, one delayed by
    more than three hours (a refund and a voucher) and one by ten minutes (neither)."""
    incident = IncidentFactory.create(
        status=status,
        opened_at=MORNING_IN_NEW_YORK - dt.timedelta(days=2),
        resolved_at=MORNING_IN_NEW_YORK - dt.timedelta(hours=1) if status == IncidentStatus.RESOLVED else None,
        apology=APOLOGY,
        prevention="We now decide storm cancellations by late morning and tell every customer at once.",
    )
    # Flown when the incident opened: after 28 October 2024, so the US DOT refund rule (by the flight's date) applies.
    day = incident.opened_at.date() if incident.opened_at else MORNING_IN_NEW_YORK.date()
    AffectedCustomerFactory.create_batch(cancelled, incident=incident, cancelled=True, flight_date=day)
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=200, flight_date=day)
    AffectedCustomerFactory.create(incident=incident, cancelled=False, delay_minutes=10, flight_date=day)
    return incident


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> str:
    """POST as the buttons do and follow the redirect; the page, with its messages."""
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def apologies(incident: Incident) -> Any:
    return Letter.objects.filter(incident=incident, kind=LetterKind.APOLOGY).select_related("affected")


# --- The walkthrough -----------------------------------------------------------------------------------------


def test_the_readme_walkthrough_from_resolving_to_delivered_letters(
    morning: dt.datetime, demo_coordinators: tuple[Any, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = OUTBOX_BACKEND  # the embedded default, which pytest-django swaps for locmem
    first, second = (signed_in(user) for user in demo_coordinators)
    # 26 cancelled customers get USD 400 each: above the second-approval threshold (USD 10,000 by default).
    assert settings.CARE_SECOND_APPROVAL_ABOVE < 26 * 400
    incident = newark_incident(cancelled=26)
    incident_page = reverse("admin:incidents_incident_change", args=[incident.pk])

    # 1. Resolve it from its page.
    assert "Resolve" in page(first, incident_page)
    post(first, reverse("admin:incidents_incident_transition", args=[incident.pk]), {"target": "resolved"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED

    # 2. Prepare apology letters: the vouchers are issued first, and the letters carry their codes.
    assert "Prepare apology letters" in page(first, incident_page)
    forecast = incident_forecast(incident_id=incident.pk)
    assert forecast.count == 26 * 2 + 1
    prepare = reverse("admin:incidents_incident_prepare_letters", args=[incident.pk])
    response = first.post(prepare, {"kind": LetterKind.APOLOGY})
    batch = LetterBatch.objects.get(incident=incident, kind=LetterKind.APOLOGY)
    assert response["Location"] == reverse("admin:care_letterbatch_change", args=[batch.pk])
    batch_page = reverse("admin:care_letterbatch_change", args=[batch.pk])
    assert f"{forecast.count} vouchers issued first; 28 new letters prepared; 28 rendered" in page(first, batch_page)
    assert Voucher.objects.filter(incident=incident).count() == forecast.count
    letters = list(apologies(incident))
    assert len(letters) == 28
    for letter in letters:
        assert letter.check_passed, letter.check_reasons
        codes = list(Voucher.objects.filter(affected=letter.affected).values_list("code", flat=True))
        assert all(code in letter.body_text for code in codes)
        owed = letter.affected.cancelled or letter.affected.delay_minutes > 180
        assert (REFUND in letter.body_text) is owed
        if codes:
            assert letter.body_text.index(REFUND) < letter.body_text.index(codes[0])  # what the law owes first

    # 3. Draw a random sample, read it, approve: above the threshold a second coordinator must approve too.
    sampled = post(first, reverse("admin:care_letterbatch_sample", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.sample_size == settings.CARE_APPROVAL_SAMPLE_SIZE
    for letter in Letter.objects.filter(pk__in=batch.sample_letter_ids):
        assert letter.subject in sampled
    approve = reverse("admin:care_letterbatch_approve", args=[batch.pk])
    assert "a second coordinator must approve" in post(first, approve)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.AWAITING_SECOND
    assert batch.voucher_totals == {"USD": "10550.00"}
    assert "a second coordinator must approve a batch of this value" in post(first, approve)
    assert not apologies(incident).exclude(status=LetterStatus.DRAFT).exists()

    # The second coordinator approves; the letters are queued and the Celery task hands them to the outbox.
    with eager_celery(), django_capture_on_commit_callbacks(execute=True) as published:
        approved = post(second, approve)
    assert "Approved 28 letters and queued 28 for sending" in approved
    assert published  # the sending task is published after commit, not called inside the transaction
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    assert batch.second_approved_by == demo_coordinators[1]
    assert set(apologies(incident).values_list("status", flat=True)) == {LetterStatus.SENT}

    # 4. Outbox messages shows exactly what each customer received, with their voucher codes.
    outbox = reverse("admin:care_outboxmessage_changelist")
    listed = page(first, outbox)
    for letter in apologies(incident):
        message = OutboxMessage.objects.get(message_id=letter.esp_message_id)
        assert message.to == letter.to_address
        assert f"L-{letter.pk}" in listed
        shown = page(first, reverse("admin:care_outboxmessage_change", args=[message.pk]))
        for code in Voucher.objects.filter(affected=letter.affected).values_list("code", flat=True):
            assert code in message.body_text
            assert code in shown

    # Simulate a delivered event: through the webhook's path, the letters move to delivered.
    ids = [str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)]
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        simulated = first.post(outbox, {"action": "simulate_delivered", ACTION_CHECKBOX_NAME: ids}, follow=True)
    assert "28 simulated delivered events stored" in simulated.content.decode()
    assert set(apologies(incident).values_list("status", flat=True)) == {LetterStatus.DELIVERED}
    for letter in apologies(incident):
        assert list(letter.events.values_list("event_type", flat=True)) == ["delivered"]
        assert letter.status_changes.filter(to_status=LetterStatus.DELIVERED).exists()


# --- Preparing apologies by hand -----------------------------------------------------------------------------


def test_preparing_apologies_by_hand_issues_the_vouchers_first_once(morning: dt.datetime, coordinator: Any) -> None:
    incident = newark_incident(cancelled=2, status=IncidentStatus.RESOLVED)
    client = signed_in(coordinator)
    prepare = reverse("admin:incidents_incident_prepare_letters", args=[incident.pk])

    client.post(prepare, {"kind": LetterKind.APOLOGY})

    vouchers = Voucher.objects.filter(incident=incident)
    assert vouchers.count() == 2 * 2 + 1
    assert set(vouchers.values_list("issued_by", flat=True)) == {coordinator.pk}
    assert VoucherStatusChange.objects.filter(voucher__incident=incident, to_status="issued").count() == 5
    for letter in apologies(incident):
        codes = list(Voucher.objects.filter(affected=letter.affected).values_list("code", flat=True))
        assert all(code in letter.body_text for code in codes)
        assert letter.check_passed, letter.check_reasons
    # A second press issues nothing new and writes no second letter.
    assert "0 new letters prepared" in post(client, prepare, {"kind": LetterKind.APOLOGY})
    assert vouchers.count() == 5
    assert apologies(incident).count() == 4


def test_preparing_apologies_over_the_budget_is_refused_and_writes_nothing(
    morning: dt.datetime, coordinator: Any
) -> None:
    incident = newark_incident(cancelled=3, status=IncidentStatus.RESOLVED)
    IncidentCompensation.objects.create(incident=incident, budget_cap=Decimal("500.00"))
    client = signed_in(coordinator)
    prepare = reverse("admin:incidents_incident_prepare_letters", args=[incident.pk])

    response = client.post(prepare, {"kind": LetterKind.APOLOGY})

    assert response["Location"] == reverse("admin:incidents_incident_change", args=[incident.pk])
    shown = page(client, response["Location"])
    assert "would exceed this incident&#x27;s budget by USD 850.00" in shown
    assert "Nothing was prepared" in shown
    assert "Approve the forecast total above the budget" in shown
    assert reverse("admin:vouchers_incidentcompensation_changelist") + f"?q={incident.reference}" in shown
    assert not Voucher.objects.exists()
    assert not VoucherStatusChange.objects.exists()
    assert not Letter.objects.exists()
    assert not LetterBatch.objects.exists()

    # As the message says: approve the total, then prepare again.
    vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator)
    client.post(prepare, {"kind": LetterKind.APOLOGY})
    assert Voucher.objects.filter(incident=incident).count() == 3 * 2 + 1
    assert apologies(incident).count() == 5


def test_preparing_apologies_before_resolution_issues_no_voucher(morning: dt.datetime, coordinator: Any) -> None:
    incident = newark_incident(cancelled=1)
    client = signed_in(coordinator)

    shown = post(
        client, reverse("admin:incidents_incident_prepare_letters", args=[incident.pk]), {"kind": LetterKind.APOLOGY}
    )

    assert "prepared once it is resolved" in shown
    assert not Voucher.objects.exists()
    assert not Letter.objects.exists()


# --- Prepare first notices: only while somebody is left to notify ----------------------------------------------


def test_prepare_first_notices_is_offered_only_while_somebody_is_left_to_notify(
    morning: dt.datetime, coordinator: Any
) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, opened_at=MORNING_IN_NEW_YORK)
    rows = AffectedCustomerFactory.create_batch(2, incident=incident)
    client = signed_in(coordinator)
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    assert "Prepare first notices" in page(client, url)

    LetterFactory.create(affected=rows[0], kind=LetterKind.INITIAL_NOTICE, status=LetterStatus.SENT)
    rows[0].first_contacted_at = MORNING_IN_NEW_YORK
    rows[0].save(update_fields=["first_contacted_at"])
    assert "Prepare first notices" in page(client, url)  # the second customer is still to be told

    # The second one's notice is in hand (queued), though not sent yet: nothing left for the button to do.
    LetterFactory.create(affected=rows[1], kind=LetterKind.INITIAL_NOTICE, status=LetterStatus.QUEUED)
    assert "Prepare first notices" not in page(client, url)
    rows[1].first_contacted_at = MORNING_IN_NEW_YORK
    rows[1].save(update_fields=["first_contacted_at"])
    assert "Prepare first notices" not in page(client, url)


def test_an_open_incident_without_customers_offers_no_first_notices(coordinator: Any) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN)
    shown = page(signed_in(coordinator), reverse("admin:incidents_incident_change", args=[incident.pk]))
    assert "Prepare first notices" not in shown
    assert re.search(r'name="target" value="resolved"', shown)  # the page itself is complete
