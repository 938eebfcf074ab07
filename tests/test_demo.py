"""The demo scenario (the real 8 and 9 February 2013 New York blizzard) and the first-start bootstrap."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import stat
import zoneinfo
from collections.abc import Iterable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.validators import validate_email
from django.db.models import Count
from django.utils import timezone

from care.core.errors import DomainError
from care.core.roles import COORDINATORS, FRONTLINE_REPS
from care.customers.models import Customer, phone_validator
from care.operations.demo import (
    DEMO_REFERENCES,
    DemoSummary,
    demo_scenario_load,
    demo_scenario_loaded,
    demo_scenario_plan,
)
from incidents.demo_data import FLIGHTS_FILE
from incidents.models import (
    AffectedCustomer,
    Audience,
    Cause,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentTranslation,
    IncidentUpdate,
    Severity,
)

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
PASSENGERS_PER_FLIGHT = 6


def _csv_rows() -> list[dict[str, str]]:
    with FLIGHTS_FILE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _disrupted_rows() -> list[dict[str, str]]:
    """The rule of the brief, written again here so the loader's own reading of the data is checked."""

    def late(value: str) -> bool:
        return value != "NA" and int(value) >= 60

    return [
        row
        for row in _csv_rows()
        if row["dep_time"] == "NA"
        or row["arr_time"] == "NA"
        or row["arr_delay"] == "NA"
        or late(row["dep_delay"])
        or late(row["arr_delay"])
    ]


def _flight_key(row: dict[str, str]) -> tuple[str, str, dt.date]:
    return row["carrier"], row["flight"], dt.date(2013, int(row["month"]), int(row["day"]))


def _numbers(text: str) -> list[int]:
    """Every number in a text, as integers: "09:01" and "9 h 01" both give 9 and 1."""
    return sorted(int(number) for number in re.findall(r"\d+", text))


def _digest(rows: Iterable[tuple[str, str, str]]) -> str:
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


@pytest.fixture
def loaded() -> Any:
    return demo_scenario_load(passengers_per_flight=PASSENGERS_PER_FLIGHT)


@pytest.fixture(scope="class")
def scenario(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DemoSummary]:
    """One committed load shared by the read-only checks of a class (a load takes seconds), removed after it."""
    with django_db_blocker.unblock():
        summary = demo_scenario_load(passengers_per_flight=PASSENGERS_PER_FLIGHT)
        try:
            yield summary
        finally:
            Incident.objects.filter(reference__in=DEMO_REFERENCES).delete()  # cascades to affected and timeline
            Customer.objects.filter(external_ref__startswith="DEMO-").delete()
            # What the load wrote beside them, committed too: left behind, it is found by later tests that count
            # from an empty table (the audit entries of the load's services, the passengers' flights).
            from care.core.audit import AuditEntry
            from incidents.models import Flight

            Flight.objects.all().delete()
            AuditEntry.objects.all().delete()


def test_the_csv_holds_the_real_two_days() -> None:
    rows = _csv_rows()
    assert len(rows) == 1614
    assert sum(row["dep_time"] == "NA" for row in rows) == 865
    assert {row["origin"] for row in rows} == {"EWR", "JFK", "LGA"}


class TestTheLoadedScenario:
    """Read-only checks of one load with the default seed and six passengers per flight."""

    def test_the_latest_news_names_the_live_promise(self, scenario: DemoSummary) -> None:
        """The timeline is from 2013 and the incidents are open now: the latest customer update promises the
        live next update and its words say that time on the station's clock, so no letter quotes one time and
        promises another."""
        from care.core.station_time import station_time
        from incidents.models import Audience, IncidentUpdate
        from incidents.promises import promise_contradiction

        for incident in Incident.objects.filter(reference__in=DEMO_REFERENCES):
            latest = (
                IncidentUpdate.objects.filter(incident=incident, audience=Audience.CUSTOMERS)
                .order_by("-posted_at", "-id")
                .first()
            )
            assert latest is not None
            assert latest.next_update_due_at == incident.next_update_due_at
            assert incident.next_update_due_at is not None
            assert incident.next_update_due_at.minute in (0, 30)
            said = station_time(incident.next_update_due_at, incident, date=False)
            assert latest.text.endswith(f"Our next update will come by {said}."), latest.text
            assert (
                promise_contradiction(text=latest.text, promise=incident.next_update_due_at, place=incident.stations)
                is None
            )

    def test_load_produces_the_counts_of_the_real_data(self, scenario: DemoSummary) -> None:
        disrupted = _disrupted_rows()
        cancelled = {_flight_key(row) for row in disrupted if row["dep_time"] == "NA"}
        flights_in_db = set(AffectedCustomer.objects.values_list("carrier", "flight_number", "flight_date").distinct())
        cancelled_in_db = set(
            AffectedCustomer.objects.filter(cancelled=True).values_list("carrier", "flight_number", "flight_date")
        )
        twice = Customer.objects.annotate(incidents=Count("affected")).filter(incidents=2).count()

        assert len(disrupted) == 954
        assert flights_in_db == {_flight_key(row) for row in disrupted}
        assert cancelled_in_db == cancelled
        assert len(cancelled) == 865
        assert Incident.objects.count() == 6
        assert AffectedCustomer.objects.count() == len(disrupted) * PASSENGERS_PER_FLIGHT
        for incident in Incident.objects.all():  # the changelist's counters match the rows
            assert incident.affected_count == incident.affected.count()
            assert incident.contacted_count == 0
        assert twice > 0
        assert Customer.objects.count() == AffectedCustomer.objects.count() - twice
        assert not Customer.objects.annotate(incidents=Count("affected")).filter(incidents__gt=2).exists()
        assert scenario.incidents == 6
        assert scenario.disrupted_flights == len(disrupted)
        assert scenario.cancelled_flights == 865
        assert scenario.affected_customers == AffectedCustomer.objects.count()
        assert scenario.customers == Customer.objects.count()
        assert scenario.customers_affected_twice == twice

    def test_six_open_incidents_with_their_references_and_a_live_promise(self, scenario: DemoSummary) -> None:
        incidents = {incident.reference: incident for incident in Incident.objects.all()}

        assert sorted(incidents) == [f"INC-2013020{day}-000{n}" for day in (8, 9) for n in (1, 2, 3)]
        assert tuple(sorted(incidents)) == DEMO_REFERENCES
        ewr_friday = incidents["INC-20130208-0001"]
        assert ewr_friday.title == "Blizzard: Newark (EWR) departures, Friday 8 February 2013"
        assert incidents["INC-20130209-0003"].title == "Blizzard: LaGuardia (LGA) departures, Saturday 9 February 2013"
        for reference, incident in incidents.items():
            friday = reference.startswith("INC-20130208")
            assert incident.status == IncidentStatus.OPEN
            assert incident.opened_at is not None
            assert (incident.kind, incident.cause, incident.within_control) == (
                IncidentKind.CANCELLATION,
                Cause.WEATHER,
                False,
            )
            assert incident.severity == (Severity.CRITICAL if friday else Severity.MAJOR)
            assert incident.next_update_due_at is not None
            assert incident.next_update_due_at > timezone.now()
            local_start = incident.started_at.astimezone(NEW_YORK)
            assert local_start.date() == dt.date(2013, 2, 8 if friday else 9)
            assert local_start.hour < 12
            assert "Nemo" in incident.explanation
            station_name = {"EWR": "Newark", "JFK": "Kennedy", "LGA": "LaGuardia"}[incident.stations]
            for paragraph in (incident.apology, incident.prevention):
                assert station_name in paragraph
                assert ("Friday" if friday else "Saturday") in paragraph
        # Every paragraph was written for its own station and day.
        assert len({incident.apology for incident in incidents.values()}) == 6
        assert len({incident.prevention for incident in incidents.values()}) == 6

    def test_every_incident_has_its_paragraphs_in_spanish_french_and_german(self, scenario: DemoSummary) -> None:
        weekdays = {"es": ("viernes", "sábado"), "fr": ("vendredi", "samedi"), "de": ("Freitag", "Samstag")}
        incidents = list(Incident.objects.prefetch_related("translations"))

        assert IncidentTranslation.objects.count() == len(incidents) * len(weekdays)
        for incident in incidents:
            friday = incident.reference.startswith("INC-20130208")
            station_name = {"EWR": "Newark", "JFK": "Kennedy", "LGA": "LaGuardia"}[incident.stations]
            translations = {translation.language: translation for translation in incident.translations.all()}
            assert set(translations) == set(weekdays)
            for language, translation in translations.items():
                for field in ("explanation", "apology", "prevention"):
                    text = getattr(translation, field)
                    assert text.strip()
                    assert text.strip() != getattr(incident, field).strip()
                assert "Nemo" in translation.explanation
                # The same facts: every count, clock time and date number of the English text, and no other.
                assert _numbers(translation.explanation) == _numbers(incident.explanation)
                for paragraph in (translation.apology, translation.prevention):
                    assert station_name in paragraph
                    assert weekdays[language][0 if friday else 1].lower() in paragraph.lower()
        for language in weekdays:  # written for each station and day, not one paragraph for all
            rows = IncidentTranslation.objects.filter(language=language)
            assert len({row.apology for row in rows}) == 6
            assert len({row.prevention for row in rows}) == 6

    def test_the_spanish_explanation_of_newark_friday_gives_the_english_numbers(self, scenario: DemoSummary) -> None:
        incident = Incident.objects.get(reference="INC-20130208-0001")
        english = re.search(
            r"left at (\d\d:\d\d) EST\. Of the (\d+) departures scheduled from Newark that day, (\d+) were cancelled",
            incident.explanation,
        )
        assert english is not None
        clock, scheduled, cancelled = english.groups()
        # The English numbers are the data's own, counted here again from the CSV.
        rows = [row for row in _csv_rows() if row["origin"] == "EWR" and row["day"] == "8"]
        last = max(int(row["dep_time"]) for row in rows if row["dep_time"] != "NA")
        assert (clock, int(scheduled), int(cancelled)) == (
            f"{last // 100:02d}:{last % 100:02d}",
            len(rows),
            sum(row["dep_time"] == "NA" for row in rows),
        )

        spanish = incident.translations.get(language="es").explanation
        assert "viernes 8 de febrero de 2013" in spanish
        assert f"El último vuelo salió del aeropuerto de Newark a las {clock} EST." in spanish
        assert f"De los {scheduled} vuelos con salida programada desde Newark ese día, {cancelled} se cancelaron" in (
            spanish
        )

    def test_incident_flights_list_the_disrupted_flights_of_that_station_day(self, scenario: DemoSummary) -> None:
        ewr_friday = Incident.objects.get(reference="INC-20130208-0001")
        expected = {
            f"{row['carrier']} {row['flight']}"
            for row in _disrupted_rows()
            if row["origin"] == "EWR" and row["day"] == "8"
        }
        assert set(ewr_friday.flights.split(", ")) == expected
        assert set(ewr_friday.affected.values_list("origin", flat=True)) == {"EWR"}
        assert set(ewr_friday.affected.values_list("flight_date", flat=True)) == {dt.date(2013, 2, 8)}

    def test_timeline_has_every_audience_at_real_2013_times(self, scenario: DemoSummary) -> None:
        incident = Incident.objects.get(reference="INC-20130208-0002")
        updates = list(incident.updates.order_by("posted_at"))

        for audience in Audience.values:
            assert sum(update.audience == audience for update in updates) >= 2
        assert all(update.posted_at.astimezone(NEW_YORK).date() == dt.date(2013, 2, 8) for update in updates)
        last_for_customers = [update for update in updates if update.audience == Audience.CUSTOMERS][-1]
        assert last_for_customers.next_update_due_at is not None
        assert last_for_customers.next_update_due_at > last_for_customers.posted_at
        assert "next update" in last_for_customers.text
        assert IncidentUpdate.objects.count() == 6 * 6

    def test_every_update_for_customers_names_its_own_promise_on_the_stations_clock(
        self, scenario: DemoSummary
    ) -> None:
        from care.core.station_time import station_time
        from incidents.promises import promise_contradiction

        updates = IncidentUpdate.objects.filter(audience=Audience.CUSTOMERS).select_related("incident")
        assert updates.count() == 6 * 2
        for update in updates:
            assert update.next_update_due_at is not None
            said = station_time(update.next_update_due_at, update.incident, date=False)  # "11:00 EST"
            assert f"Our next update will come by {said}" in update.text, update.text
            assert (
                promise_contradiction(text=update.text, promise=update.next_update_due_at, place=update.incident)
                is None
            )

    def test_the_2013_flights_are_owed_no_us_dot_refund_and_the_screens_say_why(self, scenario: DemoSummary) -> None:
        from vouchers.law import entitlements_for
        from vouchers.selectors import customer_entitlements, offer_in_words

        rows = [
            *AffectedCustomer.objects.select_related("incident").filter(cancelled=True).order_by("pk")[:100],
            *AffectedCustomer.objects.select_related("incident").filter(delay_minutes__gt=180).order_by("pk")[:100],
        ]
        assert len(rows) > 100
        assert any(not row.cancelled for row in rows)  # cancelled, and over three hours late
        assert all(entitlements_for(row) == [] for row in rows)  # what the letters state: nothing owed by law
        lines = customer_entitlements(affected_ids=[row.pk for row in rows])
        cancelled = next(row for row in rows if row.cancelled)
        assert [(line.kind, line.label, line.text) for line in lines[cancelled.pk] if line.kind != "goodwill"] == [
            ("not_in_force", "US DOT refund rule", "not in force for flights before 28 October 2024")
        ]
        offer = offer_in_words(incident_id=cancelled.incident_id)
        assert "US DOT refund rule: not in force for flights before 28 October 2024." in offer
        assert not any("refund of the unused ticket is owed" in sentence for sentence in offer)

    def test_a_real_cancelled_evening_flight_keeps_its_local_departure_time(self, scenario: DemoSummary) -> None:
        # An evening departure: in UTC it falls on the next day, so a naive or UTC reading would show.
        row = next(r for r in _csv_rows() if r["dep_time"] == "NA" and int(r["sched_dep_time"]) >= 1900)
        carrier, number, date = _flight_key(row)
        rows = AffectedCustomer.objects.filter(carrier=carrier, flight_number=number, flight_date=date)

        assert rows.count() == PASSENGERS_PER_FLIGHT
        for affected in rows:
            assert affected.scheduled_departure_at is not None
            local = affected.scheduled_departure_at.astimezone(NEW_YORK)
            assert local.date() == date
            assert f"{local:%H%M}".lstrip("0") == row["sched_dep_time"]
            assert affected.scheduled_departure_at.astimezone(dt.UTC).date() == date + dt.timedelta(days=1)
            assert (affected.cancelled, affected.delay_minutes, affected.origin, affected.destination) == (
                True,
                0,
                row["origin"],
                row["dest"],
            )

    def test_impacts_follow_the_real_rows(self, scenario: DemoSummary) -> None:
        by_flight = {_flight_key(row): row for row in _disrupted_rows()}
        for affected in AffectedCustomer.objects.all():
            row = by_flight[(affected.carrier, affected.flight_number, affected.flight_date)]
            cancelled = row["dep_time"] == "NA"
            assert affected.cancelled is cancelled
            assert affected.diverted is (not cancelled and (row["arr_time"] == "NA" or row["arr_delay"] == "NA"))
            if cancelled:
                assert affected.delay_minutes == 0
                assert not affected.missed_connection
            else:
                delay = row["arr_delay"] if row["arr_delay"] != "NA" else row["dep_delay"]
                assert affected.delay_minutes == max(0, int(delay))
                assert not affected.overnight_stay
            if affected.missed_connection:
                assert affected.delay_minutes >= 60
            if affected.overnight_stay:
                assert cancelled
                assert int(row["sched_dep_time"]) >= 1700
            assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{6}", affected.booking_reference)
        # Rare flags are there at all (the rates are chance, their presence is not).
        assert AffectedCustomer.objects.filter(diverted=True).exists()
        assert AffectedCustomer.objects.filter(missed_connection=True).exists()
        assert AffectedCustomer.objects.filter(overnight_stay=True).exists()

    def test_customers_are_plausible_and_harmless(self, scenario: DemoSummary) -> None:
        customers = list(Customer.objects.order_by("external_ref"))
        known_zones = zoneinfo.available_timezones()

        assert customers[0].external_ref == "DEMO-000001"
        assert customers[-1].external_ref == f"DEMO-{len(customers):06d}"
        for customer in customers:
            if customer.email:  # a few have only a phone, and hear from us by SMS
                validate_email(customer.email)
                assert customer.email.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}
            phone_validator(customer.phone)
            assert re.fullmatch(r"\+1\d{3}55501\d\d", customer.phone)
            assert customer.time_zone in known_zones
            assert customer.preferred_name
            assert customer.name.startswith(f"{customer.preferred_name} ")
        languages = [customer.language for customer in customers]
        assert set(languages) == {"en", "es", "fr", "de"}
        assert languages.count("en") > len(languages) / 2
        assert any(customer.time_zone != "America/New_York" for customer in customers)
        assert {customer.loyalty_tier for customer in customers} == {"none", "silver", "gold", "platinum"}
        assert any(not customer.contact_consent for customer in customers)
        # Phone-only customers in every language, and some who prefer SMS: a few in a hundred each.
        phone_only = [customer for customer in customers if not customer.email]
        assert 0.01 < len(phone_only) / len(customers) < 0.06
        assert {customer.language for customer in phone_only} == {"en", "es", "fr", "de"}
        assert any(customer.preferred_channel == "sms" and customer.email for customer in customers)

    def test_customers_affected_twice_were_cancelled_on_friday_and_rebooked_from_the_same_airport(
        self, scenario: DemoSummary
    ) -> None:
        twice = Customer.objects.annotate(incidents=Count("affected")).filter(incidents=2)
        assert twice.exists()
        for customer in twice.prefetch_related("affected"):
            friday, saturday = sorted(customer.affected.all(), key=lambda row: row.flight_date)
            assert friday.flight_date == dt.date(2013, 2, 8)
            assert friday.cancelled
            assert saturday.flight_date == dt.date(2013, 2, 9)
            assert friday.origin == saturday.origin
            assert friday.booking_reference == saturday.booking_reference  # rebooked on the same booking


def test_second_load_is_refused_and_changes_nothing(loaded: Any) -> None:
    counts = (Incident.objects.count(), Customer.objects.count(), AffectedCustomer.objects.count())

    assert demo_scenario_loaded()
    with pytest.raises(DomainError, match="already loaded"):
        demo_scenario_load()
    assert (Incident.objects.count(), Customer.objects.count(), AffectedCustomer.objects.count()) == counts


def test_leftover_demo_customers_are_refused_rather_than_duplicated() -> None:
    Customer.objects.create(external_ref="DEMO-000001", name="Left Over")

    assert not demo_scenario_loaded()
    with pytest.raises(DomainError, match="without the demo incidents"):
        demo_scenario_load()
    assert not Incident.objects.exists()


def test_the_same_seed_gives_the_same_passengers() -> None:
    def digest(seed: int) -> str:
        plan = demo_scenario_plan(passengers_per_flight=2, seed=seed)
        return _digest(
            (row.customer.external_ref, row.customer.name, row.booking_reference) for _, row in plan.passengers
        )

    assert digest(20130208) == digest(20130208)
    assert digest(20130208) != digest(20130209)


def test_the_load_writes_exactly_the_plan() -> None:
    plan = demo_scenario_plan(passengers_per_flight=2, seed=7)
    demo_scenario_load(passengers_per_flight=2, seed=7)

    written = AffectedCustomer.objects.values_list("customer__external_ref", "customer__name", "booking_reference")
    assert _digest(written) == _digest(
        (row.customer.external_ref, row.customer.name, row.booking_reference) for _, row in plan.passengers
    )


def test_passengers_per_flight_is_bounded() -> None:
    with pytest.raises(DomainError, match="between 1 and"):
        demo_scenario_load(passengers_per_flight=0)
    assert not Incident.objects.exists()


def test_load_demo_command_prints_the_summary() -> None:
    out = StringIO()
    call_command("load_demo", "--passengers-per-flight", "1", "--seed", "3", stdout=out)

    assert "6 incidents (open), 954 disrupted flights, 865 of them cancelled" in out.getvalue()
    assert AffectedCustomer.objects.count() == 954
    with pytest.raises(CommandError, match="already loaded"):
        call_command("load_demo", stdout=StringIO())


@pytest.fixture
def logins_file(settings: Any, tmp_path: Path) -> Path:
    settings.DEMO_LOGINS_FILE = tmp_path / "demo-logins.txt"
    settings.DEBUG = True  # pytest-django runs with DEBUG off; bootstrap is for development
    return settings.DEMO_LOGINS_FILE


def _printed_logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (coordinator2?|rep)\s+(\S+)\s", output, flags=re.MULTILINE))


def test_bootstrap_is_idempotent_and_prints_the_same_logins(logins_file: Path) -> None:
    first, second = StringIO(), StringIO()
    call_command("bootstrap", stdout=first)
    call_command("bootstrap", stdout=second)

    logins = _printed_logins(first.getvalue())
    assert set(logins) == {"coordinator", "coordinator2", "rep"}
    assert _printed_logins(second.getvalue()) == logins
    for output in (first.getvalue(), second.getvalue()):
        assert "http://127.0.0.1:8000/admin/" in output
    assert "Demo scenario loaded" in first.getvalue()
    assert "already loaded" in second.getvalue()
    assert Incident.objects.count() == 6
    assert stat.S_IMODE(logins_file.stat().st_mode) == 0o600
    users = get_user_model().objects
    for username, group in (("coordinator", COORDINATORS), ("coordinator2", COORDINATORS), ("rep", FRONTLINE_REPS)):
        user = users.get(username=username)
        assert user.is_staff
        assert not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.check_password(logins[username])
    assert users.count() == 3


def test_bootstrap_ships_a_second_coordinator_for_the_second_approval(logins_file: Path, settings: Any) -> None:
    """Above CARE_SECOND_APPROVAL_ABOVE a batch needs a second, different coordinator: the demo has one."""
    out = StringIO()
    call_command("bootstrap", stdout=out)

    logins = _printed_logins(out.getvalue())
    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("  coordinator2 ")]
    assert f"second approval a batch needs when its vouchers exceed {settings.CARE_SECOND_APPROVAL_ABOVE:,}" in line
    second = get_user_model().objects.get(username="coordinator2")
    assert second.check_password(logins["coordinator2"])
    assert second.pk != get_user_model().objects.get(username="coordinator").pk
    assert second.has_perm("care.approve_letter")
    assert re.search(r"^coordinator2 \S+$", logins_file.read_text(), flags=re.MULTILINE)


def test_bootstrap_recreates_missing_users_with_the_recorded_passwords(logins_file: Path) -> None:
    call_command("bootstrap", stdout=StringIO())
    logins = dict(re.findall(r"^(coordinator2?|rep) (\S+)$", logins_file.read_text(), flags=re.MULTILINE))
    assert set(logins) == {"coordinator", "coordinator2", "rep"}
    get_user_model().objects.all().delete()

    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert _printed_logins(out.getvalue()) == logins
    assert get_user_model().objects.get(username="rep").check_password(logins["rep"])


def test_bootstrap_does_not_print_a_password_that_no_longer_works(logins_file: Path) -> None:
    call_command("bootstrap", stdout=StringIO())
    coordinator = get_user_model().objects.get(username="coordinator")
    coordinator.set_password("a new password of my own")
    coordinator.save()

    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert "password changed since it was recorded" in out.getvalue()
    assert coordinator.check_password("a new password of my own")  # left alone


def test_bootstrap_refuses_without_debug(settings: Any, logins_file: Path) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG=true"):
        call_command("bootstrap", stdout=StringIO())
    assert not get_user_model().objects.exists()
    assert not Incident.objects.exists()
    assert not logins_file.exists()
