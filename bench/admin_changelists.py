"""Admin changelists at 1,000,000 rows on PostgreSQL.

Fills the benchmark database (BENCH_DATABASE_URL: care_bench, or care_bench_small with BENCH_SMALL=1)
set-based (generate_series) with BENCH_ROWS customers, affected customers and letters over BENCH_INCIDENTS
incidents (1,000,000 over 20; with BENCH_SMALL=1, 24,000 over 2: see bench/common.py), then times the first
page of each big changelist as a coordinator sees it (unfiltered, filtered, and an exact search), beside the
floor: the same page's rows fetched with one plain SQL query. The fill is kept for the next run of the same size.
"""

from __future__ import annotations

import statistics
import sys
import time

from bench.common import (
    SYNTHETIC_AFFECTED_COLUMNS,
    emit,
    insert_select,
    int_setting,
    is_set_in_environment,
    setup_django,
)

ROWS = int_setting("BENCH_ROWS")
INCIDENTS = int_setting("BENCH_INCIDENTS")
INCIDENT_PREFIX = "INC-BENCH-"
CUSTOMER_PREFIX = "BENCH-"
BENCH_TABLES = "care_customer, incidents_incident, incidents_affectedcustomer, care_letter"


def filled() -> tuple[int, int, int, int]:
    """The benchmark's incidents, customers, affected customers and letters already in the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH incident AS (SELECT id FROM incidents_incident WHERE reference LIKE %s)
            SELECT (SELECT count(*) FROM incident),
                   (SELECT count(*) FROM care_customer WHERE external_ref LIKE %s),
                   (SELECT count(*) FROM incidents_affectedcustomer WHERE incident_id IN (SELECT id FROM incident)),
                   (SELECT count(*) FROM care_letter WHERE incident_id IN (SELECT id FROM incident))
            """,
            [f"{INCIDENT_PREFIX}%", f"{CUSTOMER_PREFIX}%"],
        )
        incidents, customers, affected, letters = cursor.fetchone()
    return incidents, customers, affected, letters


def clear() -> None:
    """Delete an earlier fill (of another size), and only that: the rest of the database is left alone."""
    from django.db import connection, transaction

    from incidents.models import Incident

    with transaction.atomic(), connection.cursor() as cursor:
        bench_incidents = "SELECT id FROM incidents_incident WHERE reference LIKE %s"
        cursor.execute(f"DELETE FROM care_letter WHERE incident_id IN ({bench_incidents})", [f"{INCIDENT_PREFIX}%"])  # noqa: S608
        cursor.execute(
            f"DELETE FROM incidents_affectedcustomer WHERE incident_id IN ({bench_incidents})",  # noqa: S608
            [f"{INCIDENT_PREFIX}%"],
        )
        Incident.objects.filter(reference__startswith=INCIDENT_PREFIX).delete()  # and their few dependants
        cursor.execute("DELETE FROM care_customer WHERE external_ref LIKE %s", [f"{CUSTOMER_PREFIX}%"])


def fill(rows: int, incidents: int) -> None:
    """``incidents`` open incidents sharing ``rows`` customers, affected customers and sent initial notices.

    The rows are written set-based (generate_series) through bench.common.insert_select, which gives every
    column not named here the model's default, so a column added to a model cannot break the fill.
    An earlier fill of the same size is reused; one of another size is replaced.
    """
    from django.db import connection, transaction

    from care.correspondence.models.letters import Letter
    from care.customers.models import Customer
    from incidents.models import AffectedCustomer, Incident

    found = filled()
    if found == (incidents, rows, rows, rows):
        return
    if any(found):
        print(f"# replacing an earlier fill of {found[1]} rows and {found[0]} incidents", file=sys.stderr)
        clear()
    with transaction.atomic(), connection.cursor() as cursor:
        insert_select(
            cursor,
            Incident,
            {
                "reference": "%s || lpad(n::text, 4, '0')",
                "title": "'Bench incident ' || n",
                "kind": "'cancellation'",
                "cause": "'weather'",
                "severity": "3",
                "status": "'open'",
                "started_at": "now()",
                "opened_at": "now()",
                "stations": "'JFK'",
                "explanation": "'Snow'",
            },
            "FROM generate_series(1, %s) n",
            [INCIDENT_PREFIX, incidents],
        )
        insert_select(
            cursor,
            Customer,
            {"external_ref": "%s || n", "name": "'Passenger ' || n", "email": "'p' || n || '@example.com'"},
            "FROM generate_series(1, %s) n",
            [CUSTOMER_PREFIX, rows],
        )
        insert_select(
            cursor,
            AffectedCustomer,
            {"incident": "i.id", **SYNTHETIC_AFFECTED_COLUMNS},
            """
            FROM care_customer c
            JOIN incidents_incident i ON i.reference = %s || lpad((c.id %% %s + 1)::text, 4, '0')
            WHERE c.external_ref LIKE %s
            """,
            [INCIDENT_PREFIX, incidents, f"{CUSTOMER_PREFIX}%"],
        )
        insert_select(
            cursor,
            Letter,
            {
                "customer": "a.customer_id",
                "incident": "a.incident_id",
                "affected": "a.id",
                "kind": "'initial_notice'",
                "status": "'sent'",
                "subject": "'Your flight'",
                "attempts": "1",
                "sent_at": "now()",
            },
            "FROM incidents_affectedcustomer a JOIN incidents_incident i ON i.id = a.incident_id "
            "WHERE i.reference LIKE %s",
            [f"{INCIDENT_PREFIX}%"],
        )
    found = filled()
    if found != (incidents, rows, rows, rows):
        raise SystemExit(f"the fill wrote {found} (incidents, customers, affected, letters), not {rows} rows each")
    with connection.cursor() as cursor:
        # Fresh statistics and visibility map, so the timings do not depend on when autovacuum comes by.
        cursor.execute(f"VACUUM ANALYZE {BENCH_TABLES}")


def time_get(client: object, url: str, repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, url
    return statistics.median(timings) * 1000


def main() -> None:
    setup_django()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from care.core.admin_base import EXACT_COUNT_LIMIT
    from care.core.roles import COORDINATORS

    # At its default sizes (full or BENCH_SMALL) the benchmark must take the paths a million rows take: past
    # EXACT_COUNT_LIMIT, the unfiltered and per-incident changelists count with the planner's estimate.
    if not is_set_in_environment("BENCH_ROWS", "BENCH_INCIDENTS") and ROWS // INCIDENTS <= EXACT_COUNT_LIMIT:
        raise SystemExit(
            f"{ROWS} rows over {INCIDENTS} incidents stay under EXACT_COUNT_LIMIT ({EXACT_COUNT_LIMIT}) per "
            "incident, so the changelists would count exactly: raise the sizes in bench/common.py"
        )
    fill(ROWS, INCIDENTS)
    from incidents.models import Incident
    from incidents.services import incidents_refresh_counts

    incidents_refresh_counts(incident_ids=Incident.objects.values_list("pk", flat=True))
    user, _ = User.objects.get_or_create(username="bench-coordinator", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=COORDINATORS))
    client = Client()
    client.force_login(user)

    def floor(sql: str) -> float:
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(sql)
                cursor.fetchall()
            timings.append(time.perf_counter() - start)
        return statistics.median(timings) * 1000

    page_floor = floor(
        "SELECT a.*, c.*, i.* FROM incidents_affectedcustomer a JOIN care_customer c ON c.id = a.customer_id "
        "JOIN incidents_incident i ON i.id = a.incident_id ORDER BY a.id DESC LIMIT 50"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT booking_reference, incident_id FROM incidents_affectedcustomer ORDER BY id LIMIT 1")
        booking, incident_id = cursor.fetchone()
    customer = min(4242, ROWS)  # one customer of the fill (BENCH-n, Passenger n, pn@example.com)
    cases = {
        "admin_affected_changelist": "/admin/incidents/affectedcustomer/",
        "admin_affected_filtered_by_incident": f"/admin/incidents/affectedcustomer/?incident__id__exact={incident_id}",
        "admin_affected_search_booking": f"/admin/incidents/affectedcustomer/?q={booking.lower()}",
        "admin_affected_search_email": f"/admin/incidents/affectedcustomer/?q=P{customer}%40EXAMPLE.COM",
        "admin_affected_search_flight": "/admin/incidents/affectedcustomer/?q=b6%20142",
        "admin_letter_search_customer": f"/admin/care/letter/?q=bench-{customer}",
        "admin_customer_search_name": f"/admin/care/customer/?q=Passenger%20{customer}",
        "admin_letter_changelist": "/admin/care/letter/",
        "admin_letter_filtered_status": "/admin/care/letter/?status__exact=sent",
        "admin_customer_changelist": "/admin/care/customer/",
        "admin_incident_changelist": "/admin/incidents/incident/",
    }
    for name, url in cases.items():
        emit(
            name,
            time_get(client, url),
            "ms",
            page_floor,
            "plain SQL page of 50 joined rows (ms)",
            rows=ROWS,
            incidents=INCIDENTS,
        )


if __name__ == "__main__":
    main()
