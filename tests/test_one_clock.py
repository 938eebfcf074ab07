"""One clock (issue 13): every time a rep or a coordinator reads is on the station's clock and names its zone, and a
promise has UTC beside it: the helper, the workbench and the frontline pages, rendered with the test client."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import admin
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse

from care.briefings.models import ContactNote, IncidentBriefing
from care.briefings.services import briefing_mark_read, contact_note_add, customer_page_view_record
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from care.core.audit_admin import changes_summary, shown
from care.core.errors import DomainError
from care.core.station_time import clock_label, station_time
from care.correspondence.models.letters import Letter, LetterEvent, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.sending.queue import letters_queue
from care.correspondence.sending.send import letters_send
from care.correspondence.services import letters_prepare
from care.operations.alerts import alerts_sweep
from care.operations.sweeps.runs import run_sweep
from incidents.ingest.services import import_job_create, import_job_run
from incidents.models import Alert, AlertKind, Audience, ImportSource, Incident, IncidentStatus
from incidents.services import incident_post_update
from tests.clock import Clock
from tests.factories import (
    AffectedCustomerFactory,
    CustomerFactory,
    IncidentFactory,
    LetterFactory,
    UserFactory,
    VoucherFactory,
)
from tests.factories_briefings import published_briefing
from tests.letters_snapshot import PINNED_SETTINGS, demo_letters
from vouchers.models import Voucher, VoucherStatus
from vouchers.redemption import voucher_redeem

OUTBOX_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"

# 15:00 UTC on Wednesday 14 January 2026: 10:00 EST at Newark.
NOW = dt.datetime(2026, 1, 14, 15, 0, tzinfo=dt.UTC)
# The promise: 16:30 UTC, 11:30 EST.
PROMISE = NOW + dt.timedelta(minutes=90)
PROMISE_SHOWN = "14 Jan 2026, 11:30 EST (16:30 UTC)"

# A time of day as a page prints it: "11:30", "11:30:00", and Django's 12-hour forms ("11:30 a.m.", "3 p.m."),
# though config.formats never asks for those. An ISO offset ("+00:00") is not a time of its own.
_CLOCK_TIME = re.compile(
    r"(?<![\d:])(?<!\d[+-])(?:\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.\s?m\.)?|\d{1,2}\s?[ap]\.\s?m\.)(?![\d:])"
)
# Its zone, right after it: an abbreviation (EST, CET, UTC, "UTC+05:30" starts with one) or a zone without one
# as zoneinfo names it ("+03", "+0530"); German puts "Uhr" first. Not AM/PM, and not an ISO offset ("+00:00").
_ZONE_NEXT = re.compile(r"\s*(?:Uhr\s+)?\(?(?:(?!AM\b|PM\b)[A-Z]{2,5}\b|[+-]\d{2}(?:\d{2})?(?![\d:]))")


def shown_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags or attributes (a <time datetime="…"> is for machines)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def bare_times(page: str) -> list[str]:
    """Every clock time on the page that does not say its zone, in [brackets] in a little of its context."""
    text = shown_text(page)
    return [
        f"{text[max(0, match.start() - 40) : match.start()]}[{match.group(0)}]{text[match.end() : match.end() + 10]}"
        for match in _CLOCK_TIME.finditer(text)
        if not _ZONE_NEXT.match(text, match.end())
    ]


def test_a_bare_time_is_found_in_every_form_a_page_prints_it() -> None:
    bare = ["at 11:30.", "11:30:00 ok", "at 3 p.m. EST", "<b>9:05 a.m.</b>", "2026-06-10T15:31:00+00:00", "10:00 AM"]
    zoned = ["11:30 EST", "11:30:00 UTC", "15:23 Uhr EST", "11:30 EST (16:30 UTC)", "7:00 +03", "1 Jan, 16:30 UTC"]
    assert [len(bare_times(text)) for text in bare] == [1, 1, 0, 1, 1, 1]  # "3 p.m. EST" says its zone
    assert [bare_times(text) for text in zoned] == [[]] * len(zoned)
    assert bare_times('<time datetime="2026-06-10T15:31:00+00:00">10 Jun 2026, 11:31 EDT</time>') == []


# --- The helper ---------------------------------------------------------------------------------------------


def test_station_time_tells_the_stations_clock_and_utc_beside_a_promise() -> None:
    assert station_time(PROMISE, "EWR") == "14 Jan 2026, 11:30 EST"
    assert station_time(PROMISE, "EWR", utc=True) == PROMISE_SHOWN
    assert station_time(PROMISE, "EWR", utc=True, date=False) == "11:30 EST (16:30 UTC)"
    assert station_time(PROMISE, "EWR", date=False, seconds=True) == "11:30:00 EST"
    summer = dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC)
    assert station_time(summer, "JFK", utc=True) == "10 Jun 2026, 10:00 EDT (14:00 UTC)"
    late = dt.datetime(2026, 1, 15, 1, 30, tzinfo=dt.UTC)
    assert station_time(late, "JFK", utc=True) == "14 Jan 2026, 20:30 EST (15 Jan 2026, 01:30 UTC)"
    assert station_time(PROMISE, "LHR", utc=True) == "14 Jan 2026, 16:30 GMT (16:30 UTC)"


def test_an_incident_of_several_stations_says_whose_clock_and_none_known_is_utc() -> None:
    assert station_time(PROMISE, "JFK LHR", utc=True) == "14 Jan 2026, 11:30 EST at JFK (16:30 UTC)"
    assert station_time(PROMISE, "ZZZ CDG") == "14 Jan 2026, 17:30 CET at CDG"  # the first station with a zone
    assert station_time(PROMISE, "ZZZ", utc=True) == "14 Jan 2026, 16:30 UTC"
    assert station_time(PROMISE, None, utc=True) == "14 Jan 2026, 16:30 UTC"
    assert station_time(PROMISE, SimpleNamespace(stations="EWR")) == "14 Jan 2026, 11:30 EST"
    assert station_time(PROMISE, SimpleNamespace(time_zone="Europe/Paris")) == "14 Jan 2026, 17:30 CET"
    assert station_time(None, "EWR") == "—"
    assert clock_label("EWR") == "EWR time (America/New_York)"
    assert clock_label("") == "UTC"


def test_the_template_filters_are_the_helper() -> None:
    template = Template(
        "{% load station_time %}{{ m|station_time:incident }} | {{ m|station_time_utc:incident }} | "
        "{{ m|station_clock:incident }} | {{ m|station_clock }}"
    )
    rendered = template.render(Context({"m": PROMISE, "incident": SimpleNamespace(stations="EWR")}))
    assert rendered == f"14 Jan 2026, 11:30 EST | {PROMISE_SHOWN} | 11:30:00 EST | 16:30:00 UTC"


# --- The pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def newark(clock: Clock, db: Any) -> dict[str, Any]:
    """An open Newark incident at 10:00 EST, with a timeline, a briefing, a customer, a letter and a note."""
    clock.at(NOW - dt.timedelta(hours=1))
    incident = IncidentFactory.create(
        status=IncidentStatus.OPEN, stations="EWR", opened_at=NOW - dt.timedelta(hours=1), next_update_due_at=PROMISE
    )
    incident_post_update(incident=incident, audience=Audience.FRONTLINE, text="Desks open in terminal C.")
    clock.at(NOW - dt.timedelta(minutes=30))
    incident_post_update(
        incident=incident,
        audience=Audience.CUSTOMERS,
        text="The runways are being cleared. Our next update will come by 11:30 EST.",
        next_update_due_at=PROMISE,
    )
    published_briefing(incident, what_happened="Snow closed the runways.")
    customer = CustomerFactory.create(name="Ana Lima")
    affected = AffectedCustomerFactory.create(customer=customer, incident=incident, first_contacted_at=NOW)
    letter = LetterFactory.create(affected=affected, kind="initial_notice", status=LetterStatus.DELIVERED, sent_at=NOW)
    LetterEvent.objects.create(
        letter=letter, esp_name="postmark", event_id="e1", event_type="delivered", occurred_at=NOW
    )
    clock.at(NOW)
    contact_note_add(
        customer_id=customer.pk,
        author=UserFactory.create(username="note-taker"),
        text="Asked about a hotel.",
        promise="a call back",
        promised_by=PROMISE,
        incident_id=incident.pk,
    )
    Alert.objects.create(kind=AlertKind.PROMISE_LAPSING, key=f"incident:{incident.pk}", incident=incident, message="x")
    return {"incident": incident, "customer": customer, "affected": affected, "letter": letter}


def test_the_board_shows_newarks_clock_and_the_promise_in_utc(rep_client: Any, newark: dict[str, Any]) -> None:
    page = rep_client.get(reverse("briefings:board")).content.decode()

    assert "14 Jan 2026, 09:30 EST" in page  # the last update
    assert PROMISE_SHOWN in page
    assert 'data-countdown="2026-01-14T16:30:00+00:00"' in page  # what the script counts down to
    assert "Last refreshed at" in page
    assert "15:00:00 UTC" in page  # the board spans stations: its refresh clock is UTC, and says so
    assert bare_times(page) == []
    fragment = rep_client.get(reverse("briefings:board_live")).content.decode()
    assert 'data-server-clock="15:00:00 UTC"' in fragment
    assert bare_times(fragment) == []


def test_the_briefing_and_its_timeline_are_on_newarks_clock(rep_client: Any, newark: dict[str, Any]) -> None:
    reference = newark["incident"].reference
    page = rep_client.get(reverse("briefings:briefing", args=[reference])).content.decode()

    assert "14 Jan 2026, 09:00 EST" in page  # posted, and the briefing published, on Newark's clock
    assert "14 Jan 2026, 09:30 EST" in page
    assert f'next update promised by <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert f'· due <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert "10:00:00 EST" in page  # last refreshed
    assert bare_times(page) == []
    fragment = rep_client.get(reverse("briefings:briefing_live", args=[reference])).content.decode()
    assert 'data-server-clock="10:00:00 EST"' in fragment
    assert bare_times(fragment) == []


def test_the_customer_page_is_on_the_incidents_clock(rep_client: Any, newark: dict[str, Any]) -> None:
    page = rep_client.get(reverse("briefings:customer", args=[newark["customer"].pk])).content.decode()

    assert f'due <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    assert "14 Jan 2026, 10:00 EST" in page  # first contacted, sent, delivered, the note
    assert f'promised “a call back” by <time datetime="2026-01-14T16:30:00+00:00">{PROMISE_SHOWN}</time>' in page
    # The factory's flight is from 2013: no refund under the US DOT rule, and the rep sees why.
    assert "<strong>US DOT refund rule</strong>: not in force for flights before 28 October 2024." in page
    assert "refund by regulation" not in page
    assert bare_times(page) == []


def test_the_incident_workbench_is_on_newarks_clock(coordinator_client: Any, newark: dict[str, Any]) -> None:
    incident = newark["incident"]
    listing = coordinator_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert PROMISE_SHOWN in listing
    assert "14 Jan 2026, 09:00 EST" in listing  # started
    assert bare_times(listing) == []

    page = coordinator_client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert PROMISE_SHOWN in page  # the incident's promise
    assert "14 Jan 2026, 09:30 EST" in page  # the timeline entry, posted …
    assert "14 Jan 2026, 11:30 EST" in page  # … its promise on the station's clock …
    assert "14 Jan 2026, 16:30 UTC" in page  # … and in UTC
    assert "Next update promised by (EWR time (America/New_York))" in page
    assert "Typed and shown in EWR time (America/New_York)." in page
    assert 'name="next_update_due_at_1" value="11:30:00"' in page  # the form's own field, on Newark's clock
    assert bare_times(page) == []


def test_affected_customers_letters_and_alerts_are_on_the_stations_clock(
    coordinator_client: Any, newark: dict[str, Any]
) -> None:
    for name in ("incidents_affectedcustomer", "care_letter", "incidents_alert"):
        listing = coordinator_client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert "14 Jan 2026, 10:00 EST" in listing, name
        assert bare_times(listing) == [], name
    for name, row in (("incidents_affectedcustomer", newark["affected"]), ("care_letter", newark["letter"])):
        page = coordinator_client.get(reverse(f"admin:{name}_change", args=[row.pk])).content.decode()
        assert "14 Jan 2026, 10:00 EST" in page, name
        assert bare_times(page) == [], name
    letter = coordinator_client.get(reverse("admin:care_letter_change", args=[newark["letter"].pk])).content.decode()
    assert "US DOT refund rule: not in force for flights before 28 October 2024" in letter


def test_an_alert_about_a_promise_names_it_on_the_stations_clock_and_in_utc(clock: Clock, db: Any) -> None:
    from care.operations.alerts import alerts_sweep

    now = clock.at(PROMISE - dt.timedelta(minutes=5))
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, stations="EWR", next_update_due_at=PROMISE)

    alerts_sweep(now=now)

    alert = Alert.objects.get(kind=AlertKind.PROMISE_LAPSING, incident=incident)
    assert f"{incident.reference}: the update promised for 11:30 EST (16:30 UTC) is due soon" in alert.message


# --- Every page a rep or a coordinator reads, on the demo ---------------------------------------------------


@pytest.fixture
def walked_demo(clock: Clock) -> dict[str, Any]:
    """The demo walked through its letters (tests.letters_snapshot: notices, updates, batches, vouchers, apologies,
    audit rows), then a few of each other record staff read: sent letters in the outbox, a redemption, a promise
    alert, sweep runs (one failed, so its alert names a time too), an import, a read briefing, a contact note, a
    customer page view and an API token."""
    demo_letters(clock)
    now = clock.shift(dt.timedelta(minutes=5))
    with override_settings(**PINNED_SETTINGS, EMAIL_BACKEND=OUTBOX_BACKEND):
        ids = Letter.objects.filter(status=LetterStatus.DRAFT, check_passed=True).values_list("pk", flat=True)[:6]
        sent = list(ids)
        letters_queue(letter_ids=sent, actor_label="one clock", now=now)
        letters_send(letter_ids=sent)
    assert OutboxMessage.objects.count() == len(sent)
    staff = UserFactory.create(username="desk-lead", is_superuser=True)
    voucher = Voucher.objects.filter(status=VoucherStatus.ISSUED).order_by("pk").first()
    assert voucher is not None
    voucher_redeem(code=voucher.code, amount="1.00", currency=voucher.currency, idempotency_key="k1", user=staff)
    letter = Letter.objects.select_related("incident").get(pk=sent[0])
    incident, customer_id = letter.incident, letter.customer_id
    assert incident is not None
    # The demo ends resolved; one incident is opened again with a promise about to lapse, for its alert.
    Incident.objects.filter(pk=incident.pk).update(
        status=IncidentStatus.OPEN, next_update_due_at=now + dt.timedelta(minutes=5)
    )
    run_sweep("follow_ups", _failing_sweep)
    run_sweep("escalation alerts", lambda: alerts_sweep(now=now))
    assert Alert.objects.filter(kind=AlertKind.SWEEP_FAILED).exists()
    assert Alert.objects.filter(kind=AlertKind.PROMISE_LAPSING, incident=incident).exists()
    job = import_job_create(incident=incident, source=ImportSource.COMMAND, upload=io.BytesIO(b"not,a,header\n"))
    import_job_run(job_id=job.pk, method="orm")
    briefing_mark_read(briefing=published_briefing(incident, what_happened="Snow closed the runways."), user=staff)
    contact_note_add(
        customer_id=customer_id,
        author=staff,
        text="Called about the hotel.",
        promise="a call back",
        promised_by=now + dt.timedelta(hours=1),
        incident_id=incident.pk,
    )
    customer_page_view_record(customer_id=customer_id, viewer=staff)
    api_token_create(name="booking", scopes=["redeem"], expires_at=now + dt.timedelta(days=30))
    return {"incident": incident, "customer_id": customer_id}


def _failing_sweep() -> dict[str, int]:
    raise DomainError("The follow-up sweep could not reach the database.")


def _workbench_pages() -> list[str]:
    """Every changelist of the admin, the change and history pages of its first and last row, and the reports."""
    pages = [
        reverse("admin:index"),
        reverse("admin:vouchers_voucher_report"),
        reverse("admin:vouchers_voucher_in_lieu"),
    ]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{name}_changelist"))
        for row in (model._default_manager.order_by("pk").first(), model._default_manager.order_by("-pk").first()):
            if row is not None:
                pages += [reverse(f"{name}_change", args=[row.pk]), reverse(f"{name}_history", args=[row.pk])]
    return pages


def test_every_page_staff_read_tells_its_times_with_their_zone(
    coordinator_client: Any, rep_client: Any, walked_demo: dict[str, Any]
) -> None:
    reference = walked_demo["incident"].reference
    frontline = [
        reverse("briefings:board"),
        reverse("briefings:board_live"),
        reverse("briefings:briefing", args=[reference]),
        reverse("briefings:briefing_live", args=[reference]),
        reverse("briefings:customer_search") + "?q=DEMO",
        reverse("briefings:customer", args=[walked_demo["customer_id"]]),
    ]
    read: dict[str, set[str]] = {"coordinator": set(), "rep": set()}
    found: dict[str, list[str]] = {}
    for who, client in (("coordinator", coordinator_client), ("rep", rep_client)):
        for url in [*_workbench_pages(), *frontline]:
            response = client.get(url)
            if response.status_code == HTTPStatus.FORBIDDEN:  # not this role's page (users, groups, beat …)
                continue
            assert response.status_code == HTTPStatus.OK, (who, url, response.status_code)
            read[who].add(url)
            if bare := bare_times(response.content.decode()):
                found[f"{who} {url}"] = sorted(set(bare))[:3]

    # Both roles read the records this issue names, with rows in them.
    for name in ("incidents_incident", "incidents_affectedcustomer", "care_letter", "care_letterbatch",
                 "vouchers_voucher", "incidents_alert", "care_incidentbriefing", "care_contactnote",
                 "incidents_importjob", "care_customer"):  # fmt: skip
        changelist = reverse(f"admin:{name}_changelist")
        assert changelist in read["coordinator"], name
        assert changelist in read["rep"], name
    for name in ("incidents_sweeprun", "care_auditentry", "care_outboxmessage", "care_apitoken"):
        assert reverse(f"admin:{name}_changelist") in read["coordinator"], name
    assert set(frontline) <= read["rep"]
    assert found == {}


# --- A row of an incident is told on its station's clock, in the list and on its page -----------------------


def _rows_of_newark(newark: dict[str, Any]) -> dict[str, Any]:
    """One of each record of the Newark incident whose times the workbench shows, written at 10:00 EST."""
    incident = newark["incident"]
    return {
        "vouchers_voucher": VoucherFactory.create(affected=newark["affected"]),
        "care_letterbatch": letters_prepare(
            incident_id=incident.pk, kind=LetterKind.UPDATE, actor_label="one clock"
        ).batch,
        "incidents_importjob": import_job_create(
            incident=incident, source=ImportSource.COMMAND, upload=io.BytesIO(b"not,a,header\n")
        ),
        "care_contactnote": ContactNote.objects.get(customer=newark["customer"]),
        "care_customer": newark["customer"],  # its contact notes, inline
    }


def test_every_row_of_an_incident_tells_its_times_on_the_stations_clock(
    coordinator_client: Any, newark: dict[str, Any]
) -> None:
    rows = _rows_of_newark(newark)
    briefing = IncidentBriefing.objects.get(incident=newark["incident"], version__isnull=False)
    rows["care_incidentbriefing"] = briefing
    in_utc = ("14 Jan 2026, 15:00 UTC", "14 Jan 2026, 16:30 UTC", "14 Jan 2026, 14:30 UTC")  # 10:00, 11:30, 9:30 EST

    for name, row in rows.items():
        pages = {
            "list": coordinator_client.get(reverse(f"admin:{name}_changelist")).content.decode(),
            "page": coordinator_client.get(reverse(f"admin:{name}_change", args=[row.pk])).content.decode(),
        }
        for which, page in pages.items():
            if name == "care_incidentbriefing":
                assert "14 Jan 2026, 09:30 EST" in page, (name, which)  # published
            elif name != "care_customer" or which == "page":
                assert "14 Jan 2026, 10:00 EST" in page, (name, which)  # issued, created, written
            # The customer's own record (created 09:30) belongs to no station: that one is in UTC, and says so.
            forbidden = in_utc[:2] if name == "care_customer" else in_utc
            assert not [text for text in forbidden if text in page], (name, which)
            assert bare_times(page) == [], (name, which)
    for name in ("care_contactnote", "care_customer"):
        note = coordinator_client.get(reverse(f"admin:{name}_change", args=[rows[name].pk])).content.decode()
        assert "14 Jan 2026, 11:30 EST" in note, name  # the note's promise
    voucher = coordinator_client.get(reverse("admin:vouchers_voucher_change", args=[rows["vouchers_voucher"].pk]))
    assert "14 Jan 2027, 10:00 EST" in voucher.content.decode()  # it expires on Newark's clock too


def test_a_row_without_a_station_is_told_in_utc_and_says_so(coordinator_client: Any, clock: Clock) -> None:
    clock.at(NOW)
    customer = CustomerFactory.create()
    contact_note_add(customer_id=customer.pk, author=UserFactory.create(), text="Called about a refund.")
    entry = AuditEntry.objects.filter(action="contact_note.add").get()

    notes = coordinator_client.get(reverse("admin:care_contactnote_changelist")).content.decode()
    audit = coordinator_client.get(reverse("admin:care_auditentry_change", args=[entry.pk])).content.decode()

    assert "14 Jan 2026, 15:00 UTC" in notes
    assert "contact_note.add by " in audit
    assert " at 14 Jan 2026, 15:00:00 UTC" in audit  # the entry's name, in the title
    assert bare_times(notes) == []
    assert bare_times(audit) == []


def test_the_audit_log_tells_a_stored_moment_in_utc() -> None:
    assert shown("2026-01-14T16:30:00+00:00") == "14 Jan 2026, 16:30:00 UTC"
    assert shown(["2026-01-14T16:30:00.250000+00:00", None]) == "[14 Jan 2026, 16:30:00 UTC, —]"
    assert shown({"due": "2026-01-14T16:30:00Z"}) == "{due: 14 Jan 2026, 16:30:00 UTC}"
    assert shown("2026-01-14") == "2026-01-14"  # a date is not a moment
    changes = {"next_update_due_at": ["2026-01-14T15:31:00+00:00", "2026-01-14T16:30:00+00:00"]}
    assert changes_summary(changes) == "next_update_due_at: 14 Jan 2026, 15:31:00 UTC → 14 Jan 2026, 16:30:00 UTC"


def test_changelists_on_station_clocks_cost_no_query_per_row(
    coordinator_client: Any, newark: dict[str, Any], clock: Clock
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _rows_of_newark(newark)
    names = ("vouchers_voucher", "care_letterbatch", "incidents_importjob", "care_contactnote", "care_incidentbriefing")

    def queries() -> dict[str, int]:
        counted = {}
        for name in names:
            with CaptureQueriesContext(connection) as captured:
                assert coordinator_client.get(reverse(f"admin:{name}_changelist")).status_code == HTTPStatus.OK
            counted[name] = len(captured.captured_queries)
        return counted

    before = queries()
    # Five more incidents, at London: their rows on the same pages, on another clock.
    for _ in range(5):
        london = IncidentFactory.create(status=IncidentStatus.OPEN, stations="LHR")
        affected = AffectedCustomerFactory.create(incident=london)
        VoucherFactory.create(affected=affected)
        published_briefing(london, what_happened="Fog.")
        letters_prepare(incident_id=london.pk, kind=LetterKind.INITIAL_NOTICE, actor_label="one clock")
        import_job_create(incident=london, source=ImportSource.COMMAND, upload=io.BytesIO(b"not,a,header\n"))
        contact_note_add(
            customer_id=affected.customer_id, author=UserFactory.create(), text="Asked.", incident_id=london.pk
        )
    assert queries() == before
    vouchers = coordinator_client.get(reverse("admin:vouchers_voucher_changelist")).content.decode()
    assert "14 Jan 2026, 15:00 GMT" in vouchers  # London's
    assert "14 Jan 2026, 10:00 EST" in vouchers  # Newark's
