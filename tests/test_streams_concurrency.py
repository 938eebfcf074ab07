"""One stream per customer under contention, on PostgreSQL with real threads and connections (issue 13).

Customers on two open incidents at once: two workers run every chunk of both incidents at the same time, in step,
one on Friday's chunk of some customers while the other is on Saturday's chunk of the same customers.
Each customer still gets exactly one first notice and one update per promise, handed to the ESP once; the other
incident's row of each customer holds a marker pointing at that letter, never a second letter and never nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any
from unittest import mock

import pytest
from django.db.models import F
from django.test import override_settings

from care.correspondence.models.letters import Letter, LetterKind, LetterStatus, OutboxMessage
from care.correspondence.sending.queue import letters_send_stale_queued
from care.customers.models import Customer
from incidents.models import AffectedCustomer, Incident
from tests.clock import DAYTIME_IN_NEW_YORK, Clock
from tests.factories import AffectedCustomerFactory
from tests.sweep_harness import OUTBOX_BACKEND, eager_celery, open_incident_with, outbox_count_per_letter, run_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]

CUSTOMERS = 600
CHUNK = 150


def two_incidents_sharing_their_customers() -> tuple[Incident, Incident, list[int]]:
    """Friday's incident with CUSTOMERS customers, all of them rebooked onto Saturday's incident too."""
    friday, _rows = open_incident_with(CUSTOMERS)
    saturday, _none = open_incident_with(0)
    people = list(Customer.objects.order_by("pk"))
    AffectedCustomer.objects.bulk_create(
        [AffectedCustomerFactory.build(incident=saturday, customer=person, flight_number="2202") for person in people]
    )
    Incident.objects.filter(pk__in=[friday.pk, saturday.pk]).update(affected_count=CUSTOMERS)
    return friday, saturday, [person.pk for person in people]


@contextmanager
def captured(task: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Record, instead of publishing, the arguments of every message of ``task`` the sweep enqueues."""
    published: list[tuple[Any, ...]] = []
    lock = threading.Lock()

    def record(args: Any = None, kwargs: Any = None, **_options: Any) -> None:
        with lock:
            published.append(tuple(args or ()) + tuple((kwargs or {}).values()))

    with mock.patch.object(task, "apply_async", side_effect=record):
        yield published


def work_every_chunk_in_two_workers_at_once(work: Any, chunks: list[tuple[Any, ...]], clock: Clock) -> None:
    """Two workers, each running every chunk of both incidents (a redelivered message, a second beat), in step on
    the same customers: while one works Friday's chunk of some customers, the other works Saturday's chunk of the
    same customers, then the other way round."""
    by_incident: dict[int, list[tuple[Any, ...]]] = {}
    for chunk in chunks:
        by_incident.setdefault(chunk[0], []).append(chunk)
    first, second = by_incident.values()
    in_step = [pair for pairs in zip(first, second, strict=True) for pair in (pairs, pairs[::-1])]

    def one_way() -> None:
        for chunk, _other in in_step:
            work(*chunk)

    def the_other_way() -> None:
        for _chunk, other in in_step:
            work(*other)

    errors = run_threads([one_way, the_other_way])
    assert errors == []
    clock.shift(timedelta(seconds=1))
    with eager_celery():
        letters_send_stale_queued(older_than=timedelta(0))  # what a worker left QUEUED behind another's lock


def beat(sweep: Any, numbered: list[int]) -> None:
    """One beat of ``sweep``, keeping how many updates it numbered."""
    numbered.append(sweep().get("updates", 0))


def assert_one_letter_each(kind: str, sequence: int, customers: list[int]) -> None:
    """Per customer: one letter of ``kind`` number ``sequence`` sent once, and one marker on their other row."""
    rows = list(
        Letter.objects.filter(kind=kind, sequence=sequence).values_list(
            "pk", "customer_id", "affected_id", "status", "combined_into_id"
        )
    )
    real = {pk: customer for pk, customer, _affected, _status, into in rows if into is None}
    assert sorted(real.values()) == customers  # one each: no customer without, none with two
    assert {status for _pk, _c, _a, status, into in rows if into is None} == {LetterStatus.SENT}
    markers = [(customer, into) for _pk, customer, _affected, status, into in rows if into is not None]
    assert sorted(customer for customer, _into in markers) == customers
    assert all(real[into] == customer for customer, into in markers)  # each points at that customer's letter
    affected = Counter(row_id for _pk, _c, row_id, _s, _i in rows)
    assert set(affected.values()) == {1}
    assert len(affected) == 2 * len(customers)
    handed = outbox_count_per_letter()
    assert {pk: handed[pk] for pk in real} == dict.fromkeys(real, 1)


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND, CARE_SWEEP_CHUNK=CHUNK)
def test_two_workers_on_both_incidents_give_each_customer_one_first_notice(clock: Clock) -> None:
    from care.operations.sweeps import first_notices_for, sweep_first_notices
    from incidents import tasks

    clock.at(DAYTIME_IN_NEW_YORK)
    friday, saturday, customers = two_incidents_sharing_their_customers()
    with captured(tasks.notify_affected) as published:  # two beats at once: both publish every chunk
        assert run_threads([partial(beat, sweep_first_notices, []), partial(beat, sweep_first_notices, [])]) == []
    assert Counter(chunk[0] for chunk in published) == {
        friday.pk: 2 * CUSTOMERS // CHUNK,
        saturday.pk: 2 * CUSTOMERS // CHUNK,
    }

    with eager_celery():
        work_every_chunk_in_two_workers_at_once(
            lambda incident_id, ids: first_notices_for(incident_id=incident_id, affected_ids=ids), published, clock
        )

    assert_one_letter_each(LetterKind.INITIAL_NOTICE, 1, customers)
    assert OutboxMessage.objects.count() == CUSTOMERS
    # The letter's delivery was the first contact on both incidents.
    assert not AffectedCustomer.objects.filter(first_contacted_at__isnull=True).exists()
    assert set(Incident.objects.values_list("contacted_count", flat=True)) == {CUSTOMERS}


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND, CARE_SWEEP_CHUNK=CHUNK)
def test_two_workers_on_both_incidents_give_each_customer_one_update_per_promise(clock: Clock) -> None:
    from care.operations.sweeps import first_notices_for, sweep_first_notices, sweep_kept_promises, updates_for
    from incidents import tasks

    clock.at(DAYTIME_IN_NEW_YORK)
    friday, saturday, customers = two_incidents_sharing_their_customers()
    with eager_celery(), captured(tasks.notify_affected) as notices:
        sweep_first_notices()
        for incident_id, ids in notices:
            first_notices_for(incident_id=incident_id, affected_ids=ids)
    sent_before = OutboxMessage.objects.count()

    for promise in (1, 2):  # both promises fall due together, twice
        now = clock.shift(timedelta(hours=1))
        Incident.objects.filter(pk__in=[friday.pk, saturday.pk]).update(next_update_due_at=now - timedelta(minutes=1))
        numbered: list[int] = []
        with captured(tasks.send_updates) as published:  # two beats at once: each promise is numbered once
            errors = run_threads([partial(beat, partial(sweep_kept_promises, now=now), numbered)] * 2)
        assert (errors, sum(numbered)) == ([], 2)
        assert Counter((chunk[0], chunk[1]) for chunk in published) == {
            (friday.pk, promise): CUSTOMERS // CHUNK,
            (saturday.pk, promise): CUSTOMERS // CHUNK,
        }

        with eager_celery():
            work_every_chunk_in_two_workers_at_once(
                lambda incident_id, sequence, ids: updates_for(
                    incident_id=incident_id, sequence=sequence, affected_ids=ids
                ),
                published,
                clock,
            )

        assert_one_letter_each(LetterKind.UPDATE, promise, customers)
    assert OutboxMessage.objects.count() - sent_before == 2 * CUSTOMERS
    assert not AffectedCustomer.objects.filter(last_contacted_at__lt=F("first_contacted_at")).exists()
