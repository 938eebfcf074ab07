"""A real day run as a coordinator would (issue 18's Done-when), on PostgreSQL.

The demo's Friday, 8 February 2013: three station incidents (Newark, JFK, LaGuardia), their passengers sent as
files through the ingest (its COPY path) as the operations system sends them, not written by the demo loader.
The day has the shapes that went wrong: passengers on two flights of one station (rebooked from a cancelled flight
onto another that was disrupted too) and passengers on two stations. It runs from the first notices to the
follow-up (vouchers, then apologies) and ends with what the coordinator must be able to approve: one apology per
customer, each passing the personal-letter check, stating only entitlements the customer has (no US DOT refund
for a 2013 flight) and carrying exactly the vouchers the policy gives each of their flights; and the counters of
every import and incident right.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.models.sms import SmsOutboxMessage
from care.correspondence.phrases import PHRASES
from care.operations.demo import DEFAULT_SEED, demo_scenario_load, demo_scenario_plan
from care.operations.demo_export import _row
from care.operations.sweeps import sweep_first_notices, sweep_follow_ups
from incidents.ingest.format import COLUMNS
from incidents.ingest.services import import_job_create, import_job_run
from incidents.models import AffectedCustomer, ImportSource, ImportStatus, Incident, IncidentStatus
from incidents.services import incidents_transition
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.test_streams import _eager_celery_and_outbox  # noqa: F401 - autouse: tasks inline, mail to the outbox
from vouchers.demo import seed_demo_policy
from vouchers.models import Voucher, VoucherStatus
from vouchers.selectors import incident_forecast
from vouchers.services import vouchers_approve_over_budget

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FRIDAY = dt.date(2013, 2, 8)
STATIONS = ("EWR", "JFK", "LGA")
START = DAYTIME_IN_NEW_YORK
# Every TWO_LEGS-th passenger of a station was rebooked onto another of its disrupted flights; every TWO_STATIONS-th
# passenger of JFK onto a LaGuardia flight.
TWO_LEGS = 6
TWO_STATIONS = 9
# What a letter says of a refund or compensation owed by law, in every language (care.correspondence.phrases): none
# is owed for these 2013 domestic flights (the US DOT refund rule came into force on 28 October 2024).
ENTITLEMENT_WORDS = tuple(
    text.split("{")[0].strip()[:40]
    for phrases in PHRASES.values()
    for text in phrases.entitlements.values()
    if len(text.split("{")[0].strip()) >= 20
)


def the_day_in_files() -> dict[str, list[dict[str, str]]]:
    """Friday's passengers of each station as ingest rows, with second legs and passengers on two stations."""
    plan = demo_scenario_plan(passengers_per_flight=2, seed=DEFAULT_SEED)
    files: dict[str, list[dict[str, str]]] = {station: [] for station in STATIONS}
    for (station, day), passenger in plan.passengers:
        if day == FRIDAY and station in files:
            files[station].append(_row(passenger))
    flight_fields = [name for name in COLUMNS if name not in PERSON_FIELDS]
    for station in STATIONS:
        rows = files[station]
        for index in range(0, len(rows) - 1, TWO_LEGS):
            # Their second flight: another passenger's, later in the file, and what happened to it.
            other = next(row for row in rows[index + 1 :] if row["flight_number"] != rows[index]["flight_number"])
            rows.append({**{name: rows[index][name] for name in PERSON_FIELDS}, **{k: other[k] for k in flight_fields}})
    lga = files["LGA"]
    for index, person in enumerate(list(files["JFK"])[::TWO_STATIONS]):
        flight = lga[index % len(lga)]
        lga.append({**{name: person[name] for name in PERSON_FIELDS}, **{k: flight[k] for k in flight_fields}})
    return files


PERSON_FIELDS = (
    "customer_ref",
    "name",
    "preferred_name",
    "email",
    "phone",
    "language",
    "time_zone",
    "loyalty_tier",
    "booking_reference",
)


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def at(clock: Clock, minutes: int) -> dt.datetime:
    return clock.at(START + dt.timedelta(minutes=minutes))


def run(sweep: Callable[..., dict[str, int]], now: dt.datetime, capture: Any) -> dict[str, int]:
    with capture(execute=True):
        return sweep(now=now)


def test_a_day_with_two_legs_and_two_stations_ends_with_apologies_a_coordinator_can_approve(
    clock: Clock, settings: Any, django_capture_on_commit_callbacks: Any, tmp_path: Any, coordinator: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    at(clock, 0)
    demo_scenario_load(passengers_per_flight=2, passengers=False)
    incidents = {
        incident.stations: incident for incident in Incident.objects.filter(started_at__date=FRIDAY).order_by("pk")
    }
    assert sorted(incidents) == sorted(STATIONS)
    files = the_day_in_files()

    # The files, one per station, as the operations system sends them.
    at(clock, 1)
    for station, rows in files.items():
        job = import_job_create(
            incident=incidents[station], source=ImportSource.API, upload=io.BytesIO(csv_bytes(rows))
        )
        job = import_job_run(job_id=job.pk, method="copy")
        refs = {row["customer_ref"] for row in rows}
        legs = {(row["customer_ref"], row["flight_number"]) for row in rows}
        assert job.status == ImportStatus.DONE, job.error
        assert (job.rows_done, job.rows_rejected) == (len(rows), 0)
        assert job.affected_created == len(legs) == len(rows)  # nobody's second flight lost
        assert job.customers_created + job.customers_known == len(refs)
        assert job.customers_known == len(
            refs & {r["customer_ref"] for s in STATIONS[: STATIONS.index(station)] for r in files[s]}
        )
        incidents[station].refresh_from_db()
        assert incidents[station].affected_count == len(rows)
    two_legs = [
        customer
        for customer, count in Counter(AffectedCustomer.objects.values_list("customer_id", "incident_id")).items()
        if count > 1
    ]
    assert len(two_legs) >= 20
    customers = set(AffectedCustomer.objects.values_list("customer_id", flat=True))

    # First notices: one per customer, whatever their flights and stations.
    run(sweep_first_notices, at(clock, 2), django_capture_on_commit_callbacks)
    notices = Counter(
        Letter.objects.filter(kind=LetterKind.INITIAL_NOTICE, combined_into__isnull=True).values_list(
            "customer_id", flat=True
        )
    )
    assert set(notices) == customers
    assert set(notices.values()) == {1}
    # By email, or by SMS for the few with only a phone: one message each either way.
    assert OutboxMessage.objects.count() + SmsOutboxMessage.objects.count() == len(customers)
    assert SmsOutboxMessage.objects.exists()
    for incident in incidents.values():
        incident.refresh_from_db()
        assert incident.contacted_count == incident.affected_count

    # Resolved; the budgets worked out on the passengers now recorded, one approved above its cap by a coordinator.
    at(clock, 240)
    incidents_transition(
        incident_ids=[incident.pk for incident in incidents.values()],
        target=IncidentStatus.RESOLVED,
        actor_label="test coordinator",
    )
    seed_demo_policy(incidents=incidents.values())
    for incident in incidents.values():
        if incident_forecast(incident_id=incident.pk).over_budget:
            vouchers_approve_over_budget(incident_id=incident.pk, actor=coordinator, note="A storm: approved.")
    run(
        sweep_follow_ups,
        at(clock, 240 + settings.CARE_FOLLOW_UP_AFTER.total_seconds() // 60 + 1),
        django_capture_on_commit_callbacks,
    )

    # The vouchers the policy gives each flight, no more and no fewer.
    for incident in incidents.values():
        planned = {(v.affected_id, v.rule_id, v.sequence) for v in incident_forecast(incident_id=incident.pk).planned}
        issued = set(
            Voucher.objects.filter(incident=incident, status=VoucherStatus.ISSUED).values_list(
                "affected_id", "rule_id", "sequence"
            )
        )
        assert issued == planned
        assert planned
    codes: dict[int, set[str]] = defaultdict(set)
    for customer_id, code in Voucher.objects.filter(status=VoucherStatus.ISSUED).values_list("customer_id", "code"):
        codes[customer_id].add(code)

    # One apology per customer, covering every flight of theirs, ready for approval.
    apologies = list(
        Letter.objects.filter(kind=LetterKind.APOLOGY, combined_into__isnull=True).select_related("customer")
    )
    assert sorted(letter.customer_id for letter in apologies) == sorted(customers)
    markers = Letter.objects.filter(kind=LetterKind.APOLOGY, combined_into__isnull=False)
    assert markers.count() == AffectedCustomer.objects.count() - len(customers)
    held = {letter.customer.external_ref: letter.check_reasons for letter in apologies if not letter.check_passed}
    assert held == {}
    for letter in apologies:
        assert letter.status == LetterStatus.DRAFT
        assert not [words for words in ENTITLEMENT_WORDS if words in letter.body_text], letter.body_text
        found = {code for code in codes[letter.customer_id] if code in letter.body_text}
        assert found == codes[letter.customer_id], letter.customer.external_ref
        for flight in AffectedCustomer.objects.filter(customer_id=letter.customer_id):
            assert f"{flight.carrier} {flight.flight_number}" in letter.body_text
