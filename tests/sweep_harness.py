"""Shared set-up for the sweep tests that run real threads and processes against PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import quote

from django.apps import apps as django_apps
from django.db import connection

from care.correspondence.default_templates import default_templates_install
from care.correspondence.models.letters import Letter, LetterKind, OutboxMessage
from care.customers.models import Customer
from incidents.models import AffectedCustomer, Incident, IncidentStatus
from incidents.services import incidents_transition
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory

OUTBOX_BACKEND = "care.correspondence.outbox.OutboxEmailBackend"


def open_incident_with(customers: int, **customer_fields: Any) -> tuple[Incident, list[int]]:
    """An open incident (explanation and next update set) with ``customers`` affected customers, ids ascending.

    The default templates come from a data migration, which the flush after a transactional test removes:
    they are installed again here (idempotent) so the initial notices can be rendered.
    """
    default_templates_install(django_apps)
    incident = IncidentFactory.create()
    people = Customer.objects.bulk_create(CustomerFactory.build_batch(customers, **customer_fields), batch_size=1000)
    AffectedCustomer.objects.bulk_create(
        [AffectedCustomerFactory.build(incident=incident, customer=person) for person in people], batch_size=1000
    )
    incidents_transition(incident_ids=[incident.pk], target=IncidentStatus.OPEN, actor_label="test")
    incident.refresh_from_db()
    affected_ids = list(AffectedCustomer.objects.filter(incident=incident).order_by("pk").values_list("pk", flat=True))
    return incident, affected_ids


def current_database_url() -> str:
    """DATABASE_URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": current_database_url()}
    env.update(extra)
    return env


def initial_notices(incident: Incident) -> Any:
    return Letter.objects.filter(incident=incident, kind=LetterKind.INITIAL_NOTICE)


def outbox_count_per_letter() -> Counter[int]:
    """How many times each letter was handed to the embedded outbox ESP."""
    return Counter(
        int(metadata["letter_id"])
        for metadata in OutboxMessage.objects.values_list("metadata", flat=True)
        if "letter_id" in metadata
    )


@contextmanager
def eager_celery() -> Iterator[None]:
    """Run Celery tasks inline (delay() and retries), propagating errors, for the length of the block."""
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@contextmanager
def captured_fan_out(task: Any) -> Iterator[dict[str, list[tuple[int, list[int]]]]]:
    """Record instead of publishing every (incident_id, affected_ids) the sweep enqueues, per thread name.

    ``delay`` and signatures both go through ``apply_async`` on the registered task object, so patching it
    there catches every way of publishing the chunk task.
    """
    published: dict[str, list[tuple[int, list[int]]]] = {}
    lock = threading.Lock()

    def record(args: Any = None, kwargs: Any = None, **_options: Any) -> None:
        params = dict(zip(("incident_id", "affected_ids"), args or (), strict=False)) | dict(kwargs or {})
        with lock:
            published.setdefault(threading.current_thread().name, []).append(
                (int(params["incident_id"]), [int(pk) for pk in params["affected_ids"]])
            )

    with mock.patch.object(task, "apply_async", side_effect=record):
        yield published


def run_threads(workers: list[Callable[[], None]], *, timeout: float = 120) -> list[BaseException]:
    """Run each worker in its own thread, all released together; return the errors they raised."""
    barrier = threading.Barrier(len(workers), timeout=30)
    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,), name=f"sweep-{n}") for n, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    errors += [TimeoutError(f"{thread.name} still running") for thread in threads if thread.is_alive()]
    return errors
