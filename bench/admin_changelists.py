"""Admin changelists at 1,000,000 rows on PostgreSQL.

Fills the benchmark database set-based (generate_series) up to ROWS affected
customers and letters, then times the first page of each big changelist as a
coordinator sees it (unfiltered, filtered, and an exact search), beside the
floor: the same page's rows fetched with one plain SQL query.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import emit, setup_django

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))


def fill(rows: int) -> None:
    from django.db import connection, transaction

    from incidents.models import Incident

    if Incident.objects.filter(reference="INC-BENCH-0001").exists():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incidents_incident (reference, title, kind, cause, within_control, severity, status,
                started_at, created_at, stations, flights, explanation, apology, prevention,
                first_contact_target_minutes, auto_send_notices)
            SELECT 'INC-BENCH-' || lpad(n::text, 4, '0'), 'Bench incident ' || n, 'cancellation', 'weather', false,
                   3, 'open', now(), now(), 'JFK', '', 'Snow', '', '', 15, true
            FROM generate_series(1, 20) n
            """
        )
        cursor.execute(
            """
            INSERT INTO care_customer (external_ref, name, preferred_name, email, phone, language, time_zone,
                loyalty_tier, contact_consent, suppression_reason, created_at, updated_at)
            SELECT 'BENCH-' || n, 'Passenger ' || n, '', 'p' || n || '@example.com', '', 'en', 'America/New_York',
                   'none', true, '', now(), now()
            FROM generate_series(1, %s) n
            """,
            [rows],
        )
        cursor.execute(
            """
            INSERT INTO incidents_affectedcustomer (incident_id, customer_id, delay_minutes, cancelled,
                missed_connection, overnight_stay, diverted, downgraded, carrier, flight_number, flight_date,
                origin, destination, booking_reference, created_at)
            SELECT i.id, c.id, 0, true, false, false, false, false, 'B6', (c.id % 900 + 100)::text, '2013-02-08',
                   'JFK', 'BOS', upper(substr(md5(c.id::text), 1, 6)), now()
            FROM care_customer c
            JOIN incidents_incident i ON i.reference = 'INC-BENCH-' || lpad((c.id % 20 + 1)::text, 4, '0')
            WHERE c.external_ref LIKE 'BENCH-%'
            """
        )
        cursor.execute(
            """
            INSERT INTO care_letter (customer_id, incident_id, affected_id, kind, sequence, channel, status,
                to_address, subject, body_text, body_html, esp_message_id, attempts, last_error, created_at, updated_at)
            SELECT a.customer_id, a.incident_id, a.id, 'initial_notice', 1, 'email', 'sent', '', 'Your flight',
                   '', '', '', 1, '', now(), now()
            FROM incidents_affectedcustomer a
            """
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


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

    from care.roles import COORDINATORS

    fill(ROWS)
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
    some = connection.cursor()
    some.execute("SELECT booking_reference, incident_id FROM incidents_affectedcustomer ORDER BY id LIMIT 1")
    booking, incident_id = some.fetchone()
    cases = {
        "admin_affected_changelist": "/admin/incidents/affectedcustomer/",
        "admin_affected_filtered_by_incident": f"/admin/incidents/affectedcustomer/?incident__id__exact={incident_id}",
        "admin_affected_search_booking": f"/admin/incidents/affectedcustomer/?q={booking.lower()}",
        "admin_affected_search_email": "/admin/incidents/affectedcustomer/?q=P4242%40EXAMPLE.COM",
        "admin_affected_search_flight": "/admin/incidents/affectedcustomer/?q=b6%20142",
        "admin_letter_search_customer": "/admin/care/letter/?q=bench-4242",
        "admin_customer_search_name": "/admin/care/customer/?q=Passenger%204242",
        "admin_letter_changelist": "/admin/care/letter/",
        "admin_letter_filtered_status": "/admin/care/letter/?status__exact=sent",
        "admin_customer_changelist": "/admin/care/customer/",
        "admin_incident_changelist": "/admin/incidents/incident/",
    }
    for name, url in cases.items():
        emit(name, time_get(client, url), "ms", page_floor, "plain SQL page of 50 joined rows (ms)", rows=ROWS)


if __name__ == "__main__":
    main()
