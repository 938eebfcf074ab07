"""Frontline briefings: versions, reads, what changed, the board, access, the admin workbench."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from care.briefings.models import BriefingRead, IncidentBriefing
from care.briefings.selectors import board_incidents, briefing_sections
from care.briefings.services import briefing_draft_start, briefing_mark_read, briefing_publish
from care.core.errors import DomainError
from care.core.roles import FRONTLINE_REPS
from care.core.station_time import station_time
from incidents.models import Audience, IncidentStatus, Severity
from incidents.services import incident_post_update
from tests.factories import IncidentFactory, UserFactory
from tests.factories_briefings import open_incident, published_briefing

pytestmark = pytest.mark.django_db


# --- Services ------------------------------------------------------------------------------------------------


def test_first_draft_starts_from_the_incidents_explanation_and_publishing_numbers_versions(coordinator: Any) -> None:
    incident = open_incident(explanation="Snow closed the runways.")
    draft = briefing_draft_start(incident_id=incident.pk, actor=coordinator)
    assert draft.version is None
    assert draft.what_happened == "Snow closed the runways."
    assert briefing_draft_start(incident_id=incident.pk) == draft  # one draft per incident

    first = briefing_publish(briefing_id=draft.pk, actor=coordinator)
    assert (first.version, first.published_by) == (1, coordinator)
    assert first.published_at is not None

    second_draft = briefing_draft_start(incident_id=incident.pk)
    assert second_draft.pk != first.pk
    assert second_draft.what_happened == "Snow closed the runways."  # copied from the latest version
    assert briefing_publish(briefing_id=second_draft.pk).version == 2


def test_publishing_a_published_version_again_is_refused_and_changes_nothing() -> None:
    incident = open_incident()
    briefing = published_briefing(incident)
    with pytest.raises(DomainError, match="already published"):
        briefing_publish(briefing_id=briefing.pk)
    briefing.refresh_from_db()
    assert briefing.version == 1
    assert IncidentBriefing.objects.filter(incident=incident).count() == 1


@pytest.mark.parametrize("status", [IncidentStatus.DRAFT, IncidentStatus.CLOSED])
def test_briefings_are_not_published_for_draft_or_closed_incidents(status: str) -> None:
    incident = IncidentFactory.create(status=status)
    draft = briefing_draft_start(incident_id=incident.pk)
    with pytest.raises(DomainError, match="open, monitored or resolved"):
        briefing_publish(briefing_id=draft.pk)
    draft.refresh_from_db()
    assert draft.version is None


def test_an_empty_briefing_cannot_be_published() -> None:
    incident = open_incident(explanation="")
    draft = briefing_draft_start(incident_id=incident.pk)
    with pytest.raises(DomainError, match="what happened"):
        briefing_publish(briefing_id=draft.pk)


def test_the_offer_is_taken_from_the_vouchers_app_when_published() -> None:
    incident = open_incident()
    briefing = published_briefing(incident, offer_notes="Hotel receipts are reimbursed.")
    # The vouchers app always says something, even "no goodwill voucher applies".
    assert briefing.offer_text.strip()
    texts = {section.key: section.text for section in briefing_sections(briefing, None)}
    assert "Hotel receipts are reimbursed." in texts["offer_text"]
    assert briefing.offer_text.splitlines()[0] in texts["offer_text"]


@pytest.mark.postgres
def test_the_database_refuses_a_second_draft_and_a_duplicate_version() -> None:
    from django.db import IntegrityError, transaction

    incident = open_incident()
    briefing_draft_start(incident_id=incident.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentBriefing.objects.create(incident=incident, what_happened="again")
    published = published_briefing(incident)
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentBriefing.objects.create(
            incident=incident, what_happened="x", version=published.version, published_at=timezone.now()
        )


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_publishing_at_once_get_consecutive_versions() -> None:
    incident = open_incident()
    first = briefing_draft_start(incident_id=incident.pk)
    # Two coordinators press "publish" on the same draft at the same moment: one publishes, one is refused.
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def publish() -> None:
        try:
            barrier.wait()
            briefing_publish(briefing_id=first.pk)
            outcomes.append("published")
        except DomainError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["published", "refused"]
    assert list(IncidentBriefing.objects.filter(incident=incident).values_list("version", flat=True)) == [1]


def test_a_read_is_recorded_once_per_user_and_version(rep: Any) -> None:
    briefing = published_briefing(open_incident())
    first = timezone.now() - dt.timedelta(minutes=5)
    briefing_mark_read(briefing=briefing, user=rep, now=first)
    briefing_mark_read(briefing=briefing, user=rep)
    reads = list(BriefingRead.objects.filter(user=rep))
    assert len(reads) == 1
    assert reads[0].read_at == first  # the first time is kept


def test_sections_show_what_changed_line_by_line() -> None:
    incident = open_incident()
    v1 = published_briefing(incident, talking_points="Apologise first.\nRebooking is automatic.", faq="")
    v2 = published_briefing(incident, talking_points="Apologise first.\nRebooking is free on any flight.")
    sections = {section.key: section for section in briefing_sections(v2, v1)}
    assert sections["talking_points"].changed is True
    assert [(line.op, line.text) for line in sections["talking_points"].diff] == [
        ("same", "Apologise first."),
        ("removed", "Rebooking is automatic."),
        ("added", "Rebooking is free on any flight."),
    ]
    assert sections["what_happened"].changed is False
    assert sections["faq"].changed is False
    assert all(section.changed is None for section in briefing_sections(v2, None))


# --- Access --------------------------------------------------------------------------------------------------


FRONTLINE_URLS: list[tuple[str, dict[str, Any]]] = [
    ("briefings:board", {}),
    ("briefings:board_live", {}),
    ("briefings:customer_search", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), FRONTLINE_URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, name: str, kwargs: dict[str, Any]) -> None:
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("briefings:login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize(("name", "kwargs"), FRONTLINE_URLS)
def test_a_user_in_neither_role_gets_403(client: Client, name: str, kwargs: dict[str, Any]) -> None:
    client.force_login(UserFactory.create(username="outsider", is_staff=True))
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_a_briefing_page_is_refused_to_outsiders_and_anonymous(client: Client) -> None:
    incident = open_incident()
    published_briefing(incident)
    url = reverse("briefings:briefing", args=[incident.reference])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory.create(username="outsider"))
    assert client.get(url).status_code == 403
    assert not BriefingRead.objects.exists()


def test_a_rep_who_is_not_staff_can_log_in_on_the_frontline_login_page(client: Client) -> None:
    user = UserFactory.create(username="gate-agent", is_staff=False)
    user.groups.add(Group.objects.get(name=FRONTLINE_REPS))
    page = client.get(reverse("briefings:login"))
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post(
        reverse("briefings:login"), {"username": "gate-agent", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("briefings:board")
    assert client.get(reverse("briefings:board")).status_code == 200


def test_a_wrong_password_shows_an_error_and_logs_nobody_in(client: Client, rep: Any) -> None:
    response = client.post(reverse("briefings:login"), {"username": "rep", "password": "wrong"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert client.get(reverse("briefings:board")).status_code == 302


def test_an_unknown_or_draft_incident_is_404(rep_client: Client) -> None:
    draft_incident = IncidentFactory.create(status=IncidentStatus.DRAFT)
    assert rep_client.get(reverse("briefings:briefing", args=["INC-NOPE"])).status_code == 404
    assert rep_client.get(reverse("briefings:briefing", args=[draft_incident.reference])).status_code == 404


def test_frontline_pages_refuse_writes(rep_client: Client) -> None:
    assert rep_client.post(reverse("briefings:board")).status_code == 405


# --- Board ---------------------------------------------------------------------------------------------------


def test_board_lists_active_incidents_most_severe_then_most_recent_first(rep_client: Client) -> None:
    now = timezone.now()
    minor_new = open_incident(severity=Severity.MINOR, started_at=now)
    critical_old = open_incident(severity=Severity.CRITICAL, started_at=now - dt.timedelta(hours=5))
    critical_new = open_incident(severity=Severity.CRITICAL, started_at=now - dt.timedelta(hours=1))
    monitoring = open_incident(severity=Severity.MODERATE, status=IncidentStatus.MONITORING)
    resolved = IncidentFactory.create(status=IncidentStatus.RESOLVED, severity=Severity.CRITICAL)
    response = rep_client.get(reverse("briefings:board"))
    assert response.status_code == 200
    shown = [incident.pk for incident in response.context["incidents"]]
    assert shown == [critical_new.pk, critical_old.pk, monitoring.pk, minor_new.pk]
    assert resolved.reference not in response.content.decode()


def test_board_shows_counts_last_update_countdown_and_makes_overdue_obvious(rep_client: Client) -> None:
    now = timezone.now()
    late = open_incident(title="Late one", next_update_due_at=now - dt.timedelta(minutes=12))
    on_time = open_incident(title="On time", next_update_due_at=now + dt.timedelta(minutes=40))
    type(late).objects.filter(pk=late.pk).update(affected_count=120, contacted_count=80)
    incident_post_update(incident=on_time, audience=Audience.CUSTOMERS, text="Runways reopen at 18:00.")
    incident_post_update(incident=on_time, audience=Audience.INTERNAL, text="Internal: crew shortfall.")
    html = rep_client.get(reverse("briefings:board")).content.decode()
    assert ">120</span> affected" in html
    assert ">80</span> contacted" in html
    assert "overdue by 12 min" in html or "overdue by 11 min" in html
    assert "is-overdue" in html
    assert "in 39 min" in html or "in 40 min" in html
    assert "Runways reopen at 18:00." in html
    assert "crew shortfall" not in html  # internal notes stay internal


def test_board_says_whether_the_rep_read_the_latest_briefing(rep: Any) -> None:
    incident = open_incident()
    v1 = published_briefing(incident)
    briefing_mark_read(briefing=v1, user=rep)
    [row] = board_incidents(user=rep)
    assert (row.latest_version, row.read_latest) == (1, True)  # type: ignore[attr-defined]
    published_briefing(incident, change_note="New FAQ.")
    [row] = board_incidents(user=rep)
    assert (row.latest_version, row.read_latest) == (2, False)  # type: ignore[attr-defined]


def test_board_and_its_fragment_use_a_bounded_number_of_queries(
    rep_client: Client, rep: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        incident = open_incident(severity=1 + n % 4)
        published_briefing(incident)
        for _ in range(3):
            incident_post_update(incident=incident, audience=Audience.FRONTLINE, text=f"Update on {n}")
    with django_assert_max_num_queries(6):
        response = rep_client.get(reverse("briefings:board"))
    assert len(response.context["incidents"]) == 30
    with django_assert_max_num_queries(6):
        fragment = rep_client.get(reverse("briefings:board_live"))
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content  # just the fragment
    assert b"data-signature" in fragment.content


# --- Briefing page -------------------------------------------------------------------------------------------


def test_a_rep_sees_the_version_and_what_changed_since_the_version_they_opened(rep_client: Client, rep: Any) -> None:
    incident = open_incident()
    published_briefing(incident, talking_points="Apologise first.", change_note="First briefing.")
    url = reverse("briefings:briefing", args=[incident.reference])

    first_visit = rep_client.get(url).content.decode()
    assert "You are reading version 1" in first_visit
    assert "first version of this briefing you have opened" in first_visit

    published_briefing(
        incident, talking_points="Apologise first.\nHotel receipts are reimbursed.", change_note="Hotels."
    )
    second_visit = rep_client.get(url).content.decode()
    assert "You are reading version 2" in second_visit
    assert "Since version 1, which you opened at" in second_visit
    assert "changed since v1" in second_visit
    assert '<ins><span class="visually-hidden">Added: </span>Hotel receipts are reimbursed.</ins>' in second_visit
    assert "What changed:</strong> Hotels." in second_visit
    assert set(BriefingRead.objects.filter(user=rep).values_list("briefing__version", flat=True)) == {1, 2}

    # Opening the same version again still says what changed against the one before.
    third_visit = rep_client.get(url).content.decode()
    assert "You first opened this version at" in third_visit
    assert "changed since v1" in third_visit


def test_a_rep_who_skipped_versions_compares_with_the_last_one_they_opened(rep_client: Client) -> None:
    incident = open_incident()
    published_briefing(incident, faq="Q: Hotel?\nA: Yes.")
    rep_client.get(reverse("briefings:briefing", args=[incident.reference]))
    published_briefing(incident, faq="Q: Hotel?\nA: Yes, up to 150 USD.")
    published_briefing(incident, what_not_to_say="Do not guess reopening times.")
    html = rep_client.get(reverse("briefings:briefing", args=[incident.reference])).content.decode()
    assert "You are reading version 3" in html
    assert "Since version 1" in html
    assert html.count("changed since v1") == 2  # the FAQ and what not to say


def test_the_briefing_renders_every_section(rep_client: Client) -> None:
    incident = open_incident()
    published_briefing(
        incident,
        what_happened="Snow closed the runways.",
        talking_points="- Apologise first.\n- Rebooking is automatic.",
        what_not_to_say="Do not guess reopening times.",
        faq="Q: Will I get a refund?\nA: Yes, if you do not travel.",
        offer_notes="Hotels reimbursed.",
    )
    incident_post_update(incident=incident, audience=Audience.FRONTLINE, text="Gate agents: desks open at 6.")
    promise = timezone.now() + dt.timedelta(hours=1)
    # The time the words name is the promise's, on the station's clock: a contradiction would be refused.
    told = f"We will update you by {station_time(promise, incident, date=False)}."
    incident_post_update(incident=incident, audience=Audience.CUSTOMERS, text=told, next_update_due_at=promise)
    incident_post_update(incident=incident, audience=Audience.INTERNAL, text="Secret internal note.")
    html = rep_client.get(reverse("briefings:briefing", args=[incident.reference])).content.decode()
    for text in (
        "Snow closed the runways.",
        "<li>Apologise first.</li>",
        "Do not guess reopening times.",
        "<dt>Will I get a refund?</dt><dd>Yes, if you do not travel.</dd>",
        "Hotels reimbursed.",
        "What we are offering",
        "Gate agents: desks open at 6.",
        told,
        "Told to customers",
        "For frontline",
        "Print this briefing",
    ):
        assert text in html, text
    assert "Secret internal note." not in html


def test_an_incident_without_a_briefing_says_so_and_shows_what_customers_were_told(rep_client: Client) -> None:
    incident = open_incident(explanation="Snow closed the runways.")
    response = rep_client.get(reverse("briefings:briefing", args=[incident.reference]))
    assert response.status_code == 200
    assert b"No briefing published yet" in response.content
    assert b"Snow closed the runways." in response.content


def test_the_coordinator_sees_which_reps_read_the_latest_version(coordinator_client: Client, rep: Any) -> None:
    other_rep = UserFactory.create(username="late-rep", first_name="Lou", last_name="Late")
    other_rep.groups.add(Group.objects.get(name=FRONTLINE_REPS))
    incident = open_incident()
    v1 = published_briefing(incident)
    briefing_mark_read(briefing=v1, user=rep)
    briefing_mark_read(briefing=v1, user=other_rep)
    v2 = published_briefing(incident)
    briefing_mark_read(briefing=v2, user=rep)
    response = coordinator_client.get(reverse("briefings:briefing", args=[incident.reference]))
    readers = {row.username: row.read_at for row in response.context["page"].readers}
    assert readers["rep"] is not None
    assert readers["late-rep"] is None  # read version 1 only
    html = response.content.decode()
    assert "Who has read version 2" in html
    assert "Lou Late" in html


def test_a_rep_does_not_see_who_read_it(rep_client: Client) -> None:
    incident = open_incident()
    published_briefing(incident)
    response = rep_client.get(reverse("briefings:briefing", args=[incident.reference]))
    assert response.context["page"].readers is None
    assert b"Who has read version" not in response.content


def test_the_live_fragment_shows_a_new_update_and_a_newer_version(rep_client: Client) -> None:
    incident = open_incident()
    published_briefing(incident)
    live = reverse("briefings:briefing_live", args=[incident.reference]) + "?version=1"
    before = rep_client.get(live)
    assert before.status_code == 200
    incident_post_update(incident=incident, audience=Audience.FRONTLINE, text="Desks reopen at 05:00.")
    after = rep_client.get(live)
    assert b"Desks reopen at 05:00." in after.content
    assert after.context["signature"] != before.context["signature"]
    assert b"has been published" not in after.content
    published_briefing(incident, change_note="New")
    assert b"Version 2 of this briefing has been published" in rep_client.get(live).content


def test_the_briefing_page_uses_a_bounded_number_of_queries(
    coordinator_client: Client, django_assert_max_num_queries: Any
) -> None:
    incident = open_incident()
    for _ in range(3):
        published_briefing(incident)
    for n in range(60):
        incident_post_update(incident=incident, audience=Audience.FRONTLINE, text=f"Update {n}")
    for n in range(20):
        UserFactory.create(username=f"rep{n}").groups.add(Group.objects.get(name=FRONTLINE_REPS))
    with django_assert_max_num_queries(14):
        response = coordinator_client.get(reverse("briefings:briefing", args=[incident.reference]))
    assert len(response.context["timeline"]) == 50
    assert len(response.context["page"].readers) == 20


def test_briefing_pages_print_cleanly(rep_client: Client) -> None:
    """The print stylesheet hides the navigation and the live controls and keeps sections whole."""
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static" / "care" / "briefings.css").read_text()
    print_rules = css[css.index("@media print") :]
    for selector in (".site-header", ".no-print", ".refresh-status", ".briefing-section"):
        assert selector in print_rules
    incident = open_incident()
    published_briefing(incident)
    html = rep_client.get(reverse("briefings:briefing", args=[incident.reference])).content.decode()
    assert 'class="back no-print"' in html
    assert "care/briefings.css" in html


# --- Admin ---------------------------------------------------------------------------------------------------


def test_a_coordinator_writes_and_publishes_a_briefing_in_the_admin(coordinator_client: Client) -> None:
    incident = open_incident()
    start = coordinator_client.get(reverse("admin:care_incidentbriefing_add") + f"?incident={incident.pk}")
    assert start.status_code == 302
    draft = IncidentBriefing.objects.get(incident=incident)
    change_url = reverse("admin:care_incidentbriefing_change", args=[draft.pk])
    form = coordinator_client.get(change_url)
    assert b"Save and publish to frontline reps" in form.content
    response = coordinator_client.post(
        change_url,
        {
            "what_happened": "Snow.",
            "talking_points": "Apologise.",
            "offer_notes": "",
            "what_not_to_say": "Do not guess.",
            "faq": "",
            "change_note": "First.",
            "reads-TOTAL_FORMS": "0",
            "reads-INITIAL_FORMS": "0",
            "_publish": "Save and publish",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.version, draft.what_happened) == (1, "Snow.")
    # A published version is read-only.
    assert coordinator_client.post(change_url, {"what_happened": "Changed"}).status_code == 403
    draft.refresh_from_db()
    assert draft.what_happened == "Snow."
    changelist = coordinator_client.get(reverse("admin:care_incidentbriefing_changelist"))
    assert changelist.status_code == 200
    assert b"v1" in changelist.content


def test_a_rep_cannot_write_or_publish_briefings_in_the_admin(client: Client, rep: Any) -> None:
    client.force_login(rep)
    incident = open_incident()
    assert client.get(reverse("admin:care_incidentbriefing_add") + f"?incident={incident.pk}").status_code == 403
    draft = briefing_draft_start(incident_id=incident.pk)
    response = client.post(
        reverse("admin:care_incidentbriefing_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.version is None


def test_the_admin_links_to_the_frontline_pages(coordinator_client: Client) -> None:
    response = coordinator_client.get(reverse("admin:index"))
    assert reverse("briefings:board").encode() in response.content


def test_the_coordinator_starts_the_next_version_from_a_published_one(coordinator_client: Client) -> None:
    incident = open_incident()
    v1 = published_briefing(incident, talking_points="Apologise first.")
    response = coordinator_client.post(
        reverse("admin:care_incidentbriefing_changelist"), {"action": "start_new_draft", "_selected_action": [v1.pk]}
    )
    draft = IncidentBriefing.objects.get(incident=incident, version__isnull=True)
    assert response["Location"] == reverse("admin:care_incidentbriefing_change", args=[draft.pk])
    assert draft.talking_points == "Apologise first."
    page = coordinator_client.get(response["Location"])
    assert b"as it stands now" in page.content  # the offer the draft will publish


def test_page_views_and_contact_notes_are_listed_for_coordinators_only(
    coordinator_client: Client, rep_client: Client
) -> None:
    for name in ("admin:care_customerpageview_changelist", "admin:care_contactnote_changelist"):
        assert coordinator_client.get(reverse(name)).status_code == 200
    assert rep_client.get(reverse("admin:care_customerpageview_changelist")).status_code == 403


def test_the_demo_briefings_give_every_incident_a_version_and_the_first_a_second(rep: Any) -> None:
    from care.briefings.demo import seed_demo_briefings

    first, second = open_incident(), open_incident()
    seed_demo_briefings(incidents=[first, second])
    versions = sorted(IncidentBriefing.objects.values_list("incident_id", "version"))
    assert versions == [(first.pk, 1), (first.pk, 2), (second.pk, 1)]
    v2 = IncidentBriefing.objects.get(incident=first, version=2)
    v1 = IncidentBriefing.objects.get(incident=first, version=1)
    changed = {section.key for section in briefing_sections(v2, v1) if section.changed}
    assert changed == {"offer_text", "faq"}
