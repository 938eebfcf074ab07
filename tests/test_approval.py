"""Preparing a batch of letters, reviewing a recorded sample, and one or two coordinators approving it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from care.core.errors import DomainError
from care.core.roles import COORDINATORS
from care.correspondence.approval import batch_approve, batch_draw_sample
from care.correspondence.models.letters import BatchStatus, Letter, LetterBatch, LetterKind, LetterStatus
from care.correspondence.models.templates import LetterTemplate
from care.correspondence.services import letter_template_revise, letters_approve, letters_prepare
from incidents.models import IncidentStatus
from tests.factories import (
    AffectedCustomerFactory,
    IncidentFactory,
    LetterFactory,
    UserFactory,
    VoucherFactory,
)

pytestmark = pytest.mark.django_db

APOLOGY = (
    "We are truly sorry that the blizzard on Friday left you stranded at Newark without the information you "
    "needed. Waiting without news is something we can and will fix, and we are grateful for your patience."
)


def resolved_incident(**kwargs: Any) -> Any:
    return IncidentFactory.create(
        status=IncidentStatus.RESOLVED,
        apology=APOLOGY,
        prevention="We now decide storm cancellations by late morning and tell every customer at once.",
        **kwargs,
    )


def batch_of(count: int, *, held: int = 0) -> LetterBatch:
    incident = resolved_incident()
    batch = LetterBatch.objects.create(incident=incident, kind=LetterKind.APOLOGY)
    for n in range(count):
        LetterFactory.create(
            affected__incident=incident, batch=batch, check_passed=n >= held, check_reasons=[] if n >= held else ["x"]
        )
    return batch


def second_coordinator() -> Any:
    user = UserFactory.create(username="second", is_staff=True)
    user.groups.add(Group.objects.get(name=COORDINATORS))
    return user


def test_apology_letters_wait_for_resolution() -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN)
    AffectedCustomerFactory.create(incident=incident)
    with pytest.raises(DomainError, match="once it is resolved"):
        letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)
    assert not Letter.objects.exists()
    assert not LetterBatch.objects.exists()


def test_prepare_is_idempotent_and_picks_up_late_customers() -> None:
    incident = resolved_incident()
    AffectedCustomerFactory.create_batch(4, incident=incident)
    first = letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY)
    assert first.created == 4
    assert Letter.objects.filter(batch=first.batch, check_passed__isnull=False).count() == 4
    assert letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY).created == 0
    AffectedCustomerFactory.create(incident=incident)
    assert letters_prepare(incident_id=incident.pk, kind=LetterKind.APOLOGY).created == 1
    assert Letter.objects.filter(incident=incident, kind=LetterKind.APOLOGY).count() == 5


def test_sample_is_recorded_and_drawn_from_ready_letters(coordinator: Any) -> None:
    batch = batch_of(30, held=5)
    sample = batch_draw_sample(batch_id=batch.pk, reviewer=coordinator, size=10)
    batch.refresh_from_db()
    assert batch.sample_size == 10
    assert batch.sample_letter_ids == sample
    assert batch.reviewed_by == coordinator
    assert batch.reviewed_at is not None
    assert set(Letter.objects.filter(pk__in=sample).values_list("check_passed", flat=True)) == {True}


def test_approving_needs_a_sample_read_by_the_approver(coordinator: Any) -> None:
    batch = batch_of(3)
    with pytest.raises(DomainError, match="Review a random sample"):
        batch_approve(batch_id=batch.pk, actor=coordinator)
    batch_draw_sample(batch_id=batch.pk, reviewer=second_coordinator())
    with pytest.raises(DomainError, match="reviewing a sample yourself"):
        batch_approve(batch_id=batch.pk, actor=coordinator)
    assert set(Letter.objects.values_list("status", flat=True)) == {LetterStatus.DRAFT}


def test_approval_approves_ready_letters_queues_them_and_holds_the_rest(
    coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    batch = batch_of(6, held=2)
    batch_draw_sample(batch_id=batch.pk, reviewer=coordinator)
    with django_capture_on_commit_callbacks(execute=False):
        outcome = batch_approve(batch_id=batch.pk, actor=coordinator)
    assert (outcome.approved, outcome.held, outcome.queued) == (4, 2, 4)
    statuses = sorted(Letter.objects.values_list("status", flat=True))
    assert statuses == [LetterStatus.DRAFT] * 2 + [LetterStatus.QUEUED] * 4
    assert Letter.objects.filter(approved_by=coordinator).count() == 4
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED


def test_valuable_batches_need_a_second_coordinator(coordinator: Any, settings: Any) -> None:
    settings.CARE_SECOND_APPROVAL_ABOVE = Decimal("250")
    batch = batch_of(2)
    for letter in Letter.objects.filter(batch=batch):
        VoucherFactory.create(affected=letter.affected, amount=Decimal("150.00"))
    batch_draw_sample(batch_id=batch.pk, reviewer=coordinator)
    first = batch_approve(batch_id=batch.pk, actor=coordinator)
    assert first.awaiting_second
    batch.refresh_from_db()
    assert batch.status == BatchStatus.AWAITING_SECOND
    assert batch.voucher_totals == {"USD": "300.00"}
    assert set(Letter.objects.values_list("status", flat=True)) == {LetterStatus.DRAFT}
    with pytest.raises(DomainError, match="second coordinator must approve"):
        batch_approve(batch_id=batch.pk, actor=coordinator)
    other = second_coordinator()
    final = batch_approve(batch_id=batch.pk, actor=other)
    assert final.approved == 2
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by, batch.second_approved_by) == (BatchStatus.APPROVED, coordinator, other)


def test_one_by_one_approval_refuses_held_and_large_selections(coordinator: Any, settings: Any) -> None:
    held = LetterFactory.create(check_passed=False, check_reasons=["Does not name the customer's flight."])
    with pytest.raises(DomainError, match="held by the personal-letter check"):
        letters_approve(letter_ids=[held.pk], actor=coordinator)
    settings.CARE_MAX_INDIVIDUAL_APPROVALS = 2
    letters = LetterFactory.create_batch(3)
    with pytest.raises(DomainError, match="after reviewing a random sample"):
        letters_approve(letter_ids=[letter.pk for letter in letters], actor=coordinator)
    assert set(Letter.objects.values_list("status", flat=True)) == {LetterStatus.DRAFT}


def test_editing_a_used_template_saves_a_new_version() -> None:
    template = LetterTemplate.objects.filter(kind=LetterKind.APOLOGY, language="en", is_active=True).get()
    LetterFactory.create(template=template, template_version=template.version)
    revised = letter_template_revise(
        template_id=template.pk,
        fields={
            "subject": "New",
            "part_acknowledgement": "",
            "part_explanation": "",
            "part_remedy": "",
            "body_text": "Dear {{ customer.greeting_name }}",
            "body_html": "",
        },
    )
    template.refresh_from_db()
    assert (template.is_active, revised.is_active, revised.version) == (False, True, template.version + 1)
    assert LetterTemplate.objects.get(pk=template.pk).subject != "New"


# --- the workbench -----------------------------------------------------------------------


def test_batch_page_shows_sample_and_approval_for_coordinator(coordinator_client: Any, coordinator: Any) -> None:
    batch = batch_of(4, held=1)
    url = reverse("admin:care_letterbatch_change", args=[batch.pk])
    coordinator_client.post(reverse("admin:care_letterbatch_sample", args=[batch.pk]), {"size": "2"})
    page = coordinator_client.get(url).content.decode()
    assert "The sample (2 letters drawn at random)" in page
    assert "held back by the personal-letter check" in page
    assert "approve and send the 3 ready letters" in page
    coordinator_client.post(reverse("admin:care_letterbatch_approve", args=[batch.pk]))
    assert Letter.objects.filter(batch=batch, status__in=[LetterStatus.QUEUED, LetterStatus.APPROVED]).count() == 3


def test_rep_sees_the_batch_but_cannot_sample_or_approve(rep_client: Any) -> None:
    batch = batch_of(2)
    page = rep_client.get(reverse("admin:care_letterbatch_change", args=[batch.pk]))
    assert page.status_code == 200
    assert "Review and approve" not in page.content.decode()
    assert rep_client.post(reverse("admin:care_letterbatch_sample", args=[batch.pk])).status_code == 403
    assert rep_client.post(reverse("admin:care_letterbatch_approve", args=[batch.pk])).status_code == 403
    batch.refresh_from_db()
    assert batch.sample_size == 0


def test_coordinator_prepares_apologies_from_the_incident_page(coordinator_client: Any) -> None:
    incident = resolved_incident()
    AffectedCustomerFactory.create_batch(3, incident=incident)
    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert "Prepare apology letters" in page
    response = coordinator_client.post(
        reverse("admin:incidents_incident_prepare_letters", args=[incident.pk]), {"kind": LetterKind.APOLOGY}
    )
    batch = LetterBatch.objects.get(incident=incident, kind=LetterKind.APOLOGY)
    assert response["Location"] == reverse("admin:care_letterbatch_change", args=[batch.pk])
    assert batch.letters.count() == 3


def test_preview_any_letter_for_any_affected_customer(rep_client: Any) -> None:
    incident = resolved_incident()
    affected = AffectedCustomerFactory.create(incident=incident, customer__name="Ada Lovelace")
    page = rep_client.get(reverse("admin:care_letter_preview"), {"affected": affected.pk, "kind": "apology"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Ada" in body
    assert affected.flight_label in body
    assert not Letter.objects.exists()


def test_template_live_preview_renders_unsaved_wording(coordinator_client: Any) -> None:
    affected = AffectedCustomerFactory.create(incident=resolved_incident(), customer__preferred_name="Grace")
    response = coordinator_client.post(
        reverse("admin:care_lettertemplate_preview"),
        {
            "preview_affected": str(affected.pk),
            "kind": "manual",
            "language": "en",
            "subject": "Hello {{ customer.greeting_name }}",
            "body_text": "Dear {{ customer.greeting_name }}, about {{ flight.label }}.",
        },
    )
    assert response.status_code == 200
    assert f"Dear Grace, about {affected.flight_label}." in response.content.decode()


def test_one_by_one_approval_through_the_changelist_still_works(coordinator_client: Any) -> None:
    letter = LetterFactory.create()
    coordinator_client.post(
        reverse("admin:care_letter_changelist"), {"action": "approve_letters", ACTION_CHECKBOX_NAME: [letter.pk]}
    )
    letter.refresh_from_db()
    assert letter.status == LetterStatus.APPROVED
    assert letter.approved_at is not None
    assert letter.approved_at <= timezone.now() + dt.timedelta(seconds=1)
