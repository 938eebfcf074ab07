"""Customers on two flights of one incident, under contention, on PostgreSQL with real threads (issue 18).

Every customer has two legs; the rows of their later flights were recorded first, so the chunks holding a
customer's later leg come before those holding their first (the lead, whose row carries the letter). Two workers
run every chunk at once, in step: one on a chunk of later legs while the other is on the chunk of the same
customers' leads. Each customer still gets exactly one first notice and one update per promise, handed to the ESP
once, and their other leg holds a marker pointing at it.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.test import override_settings

from care.correspondence.models.letters import LetterKind, OutboxMessage
from care.correspondence.sending.queue import letters_send_stale_queued
from care.customers.models import Customer
from incidents.models import AffectedCustomer, Incident
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory
from tests.sweep_harness import OUTBOX_BACKEND, eager_celery, open_incident_with, run_threads
from tests.test_streams_concurrency import assert_one_letter_each, captured

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]

CUSTOMERS = 300
CHUNK = 100


def customers_on_two_flights() -> tuple[Incident, list[int]]:
    """An open incident whose every customer was on a late flight (recorded first) and an earlier one."""
    incident, _rows = open_incident_with(CUSTOMERS)
    AffectedCustomer.objects.filter(incident=incident).update(
        scheduled_departure_at=dt.datetime(2013, 2, 8, 21, 0, tzinfo=dt.UTC)
    )
    people = list(Customer.objects.order_by("pk"))
    AffectedCustomer.objects.bulk_create(
        [
            AffectedCustomerFactory.build(
                incident=incident,
                customer=person,
                flight_number="2202",
                scheduled_departure_at=dt.datetime(2013, 2, 8, 13, 0, tzinfo=dt.UTC),
            )
            for person in people
        ]
    )
    Incident.objects.filter(pk=incident.pk).update(affected_count=2 * CUSTOMERS)
    return incident, [person.pk for person in people]


def work_every_chunk_in_step(work: Any, chunks: list[tuple[Any, ...]], clock: Clock) -> None:
    """Two workers each run every chunk (a redelivered message, a second beat), in step on the same customers: while
    one works the chunk of some customers' later legs, the other works the chunk of the same customers' leads."""
    half = len(chunks) // 2
    rotated = chunks[half:] + chunks[:half]

    def worker(order: list[tuple[Any, ...]]) -> None:
        for chunk in order:
            work(*chunk)

    errors = run_threads([partial(worker, chunks), partial(worker, rotated)])
    assert errors == []
    clock.shift(timedelta(seconds=1))
    with eager_celery():
        letters_send_stale_queued(older_than=timedelta(0))  # what a worker left QUEUED behind another's lock


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND, CARE_SWEEP_CHUNK=CHUNK)
def test_two_workers_give_a_customer_on_two_flights_one_notice_and_one_update_per_promise(clock: Clock) -> None:
    from care.operations.sweeps import first_notices_for, sweep_first_notices, sweep_kept_promises, updates_for
    from incidents import tasks

    clock.at(DAYTIME_IN_NEW_YORK)
    incident, customers = customers_on_two_flights()
    with captured(tasks.notify_affected) as notices:
        sweep_first_notices()
    assert len(notices) == 2 * CUSTOMERS // CHUNK

    with eager_celery():
        work_every_chunk_in_step(
            lambda incident_id, ids: first_notices_for(incident_id=incident_id, affected_ids=ids), notices, clock
        )

    assert_one_letter_each(LetterKind.INITIAL_NOTICE, 1, customers)
    assert OutboxMessage.objects.count() == CUSTOMERS
    assert not AffectedCustomer.objects.filter(first_contacted_at__isnull=True).exists()
    incident.refresh_from_db()
    assert incident.contacted_count == 2 * CUSTOMERS

    now = clock.shift(timedelta(hours=1))
    Incident.objects.filter(pk=incident.pk).update(next_update_due_at=now - timedelta(minutes=1))
    with captured(tasks.send_updates) as updates:
        assert sweep_kept_promises(now=now)["updates"] == 1
    with eager_celery():
        work_every_chunk_in_step(
            lambda incident_id, sequence, ids: updates_for(
                incident_id=incident_id, sequence=sequence, affected_ids=ids
            ),
            updates,
            clock,
        )

    assert_one_letter_each(LetterKind.UPDATE, 1, customers)
    assert OutboxMessage.objects.count() == 2 * CUSTOMERS
