"""Faults with real worker processes on PostgreSQL and Redis: a crash mid-send strands no customer (issue 19).

Each test sends 30 initial notices through a real Celery worker (10 letters per send task, one message per letter,
through the stalling outbox of tests/fault_backends.py, which stalls once before storing the 15th message: the
second task is then mid-send, with 4 letters stored by the ESP, 1 in the call and 5 not yet handed over), injects
a fault, and recovers with a fresh worker and beat running the project's recovery sweeps. Each ends with every
customer notified exactly once (one outbox message per letter), nothing left SENDING or QUEUED, and every
customer's first contact within 5 minutes of the recovery on the test's controlled clock.

The clock: the recovery processes are started ahead of the test's clock by the bound the recovery must cross plus
one full beat interval (60 s in production; 2 s here, so the test does not wait for it), as if the test had waited
that long before starting them. The 5 minutes are therefore measured as production would see them: bound, worst
beat tick, and the real time the recovery took.

(a) SIGKILL of the prefork worker and its children mid-send;
(b) pg_terminate_backend of the worker's database connections mid-send (the worker lives on);
(c) a broker outage: letters queued while the publisher's broker is dead, and letters whose messages a Redis
    restart lost (FLUSHDB).
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from care.core.audit import AuditEntry
from care.correspondence.models.letters import Channel, Letter, LetterStatus, LetterStatusChange, OutboxMessage
from care.correspondence.models.sms import SmsOutboxMessage
from care.correspondence.sending.reconcile import RECONCILER
from incidents.models import AffectedCustomer, Incident
from tests.conftest import redis_or_skip
from tests.fault_harness import WORKER_APP_NAME, CeleryRig
from tests.sweep_harness import initial_notices, open_incident_with, outbox_count_per_letter

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
]

BROKER_URL = os.environ.get("CELERY_E2E_BROKER_URL", "redis://127.0.0.1:6379/14")
DEAD_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
CUSTOMERS = 30
FIRST_CONTACT_TARGET = dt.timedelta(minutes=5)
BEAT_INTERVAL = 60  # the recovery sweeps' production interval (incidents.schedules)
RECOVERY_TASKS = (
    "care.tasks.sweep_sending_letters",
    "care.tasks.sweep_queued_letters",
    "care.tasks.sweep_letter_events",
    "incidents.tasks.sweep_first_notices_task",
)
TIMEOUT = 60
STALLING_SMS = "tests.fault_backends.StallingSmsOutbox"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[CeleryRig]:
    redis_or_skip(BROKER_URL).flushdb()  # its own database, emptied
    celery = CeleryRig(tmp_path, BROKER_URL)
    try:
        yield celery
    finally:
        celery.stop_all()
        redis_or_skip(BROKER_URL).flushdb()  # no message of this test is left for the next one


def schedules(*, enabled: tuple[str, ...] = (), every_seconds: int = 2) -> None:
    """Only these of the project's periodic tasks run, every ``every_seconds``."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from incidents.schedules import schedules_ensure

    schedules_ensure()  # a transactional test's flush removed them; post_migrate put them back, or this does
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(task__in=enabled).update(enabled=False)
    for task in PeriodicTask.objects.filter(task__in=enabled):
        task.interval, task.enabled = interval, True
        task.save()


def notify(incident: Incident, affected_ids: list[int]) -> None:
    """Publish the first-notice chunk for these customers, as the first-notice sweep would."""
    from config.celery import app

    with app.connection_for_write(BROKER_URL) as broker:
        app.send_task("incidents.tasks.notify_affected", args=[incident.pk, affected_ids], connection=broker)


def counts(incident: Incident, *, outbox: Any = OutboxMessage) -> dict[str, int]:
    notices = initial_notices(incident)
    return {
        "sent": notices.filter(status=LetterStatus.SENT).count(),
        "sending": notices.filter(status=LetterStatus.SENDING).count(),
        "handed": notices.filter(status=LetterStatus.SENDING, handover_at__isnull=False).count(),
        "queued": notices.filter(status=LetterStatus.QUEUED).count(),
        "outbox": outbox.objects.count(),
    }


def sms_count_per_letter() -> Counter[int]:
    """How many times each letter was handed to the embedded SMS outbox."""
    return Counter(pk for pk in SmsOutboxMessage.objects.values_list("letter_id", flat=True) if pk is not None)


def all_sent(incident: Incident) -> bool:
    notices = initial_notices(incident)
    return notices.filter(status=LetterStatus.SENT).count() == CUSTOMERS and not notices.exclude(
        status=LetterStatus.SENT
    )


def recover(rig: CeleryRig, incident: Incident, *, bound: dt.timedelta, **backends: str) -> tuple[dt.datetime, float]:
    """Start a worker and a beat ``bound`` plus one beat interval ahead; wait until every notice is SENT.

    Returns the recovery moment on the test's clock and how long the recovery took in real seconds."""
    schedules(enabled=RECOVERY_TASKS)
    connection.close()
    recovered_at = timezone.now()
    started = time.monotonic()
    ahead = bound.total_seconds() + BEAT_INTERVAL
    rig.worker("recovery-worker", ahead=ahead, CARE_FAULT_STALL_AT="0", **backends)  # the fault is over: no stall
    rig.beat("recovery-beat", ahead=ahead)

    def done() -> bool:
        rig.alive()
        return all_sent(incident)

    rig.wait_for(done, timeout=TIMEOUT, what=f"every notice SENT after the recovery: {counts(incident)}")
    return recovered_at, time.monotonic() - started


def assert_every_customer_notified_once(
    incident: Incident,
    affected_ids: list[int],
    recovered_at: dt.datetime,
    *,
    per_letter: Callable[[], Counter[int]] = outbox_count_per_letter,
) -> None:
    letters = dict(initial_notices(incident).values_list("pk", "affected_id"))
    assert sorted(letters.values()) == affected_ids  # one notice per customer
    handed = per_letter()
    assert {pk: handed[pk] for pk in letters} == dict.fromkeys(letters, 1)  # each handed to the ESP exactly once
    assert not Letter.objects.filter(status__in=(LetterStatus.SENDING, LetterStatus.QUEUED)).exists()
    contact = AffectedCustomer.objects.filter(incident=incident).aggregate(
        latest=Max("first_contacted_at"), missing=Count("pk", filter=Q(first_contacted_at__isnull=True))
    )
    assert contact["missing"] == 0
    late = contact["latest"] - recovered_at
    assert late <= FIRST_CONTACT_TARGET, f"the last customer heard from us {late} after the recovery"


def assert_reconciled(stuck: set[int], *, sent: int, requeued: int) -> None:
    """The stuck letters' trail says how the reconciliation settled each, and its run is in the audit log."""
    moves = list(
        LetterStatusChange.objects.filter(letter_id__in=stuck, actor_label=RECONCILER.label).values_list(
            "letter_id", "to_status"
        )
    )
    assert sorted(to for _pk, to in moves) == sorted([LetterStatus.SENT] * sent + [LetterStatus.QUEUED] * requeued)
    assert {pk for pk, _to in moves} == stuck
    audited = AuditEntry.objects.filter(action="letters.reconcile")
    assert sum(entry.details["count"] for entry in audited) == len(stuck)


def test_a_worker_killed_mid_send_strands_no_customer(rig: CeleryRig) -> None:
    schedules()
    incident, affected_ids = open_incident_with(CUSTOMERS)
    connection.close()
    worker = rig.worker("worker", pool="prefork")
    notify(incident, affected_ids)

    rig.stalled_pid()  # the prefork child, stalled before storing the 15th message
    rig.kill(worker)  # SIGKILL, the worker and its child together, as an OOM kill or a lost host would

    assert counts(incident) == {"sent": 10, "sending": 10, "handed": 5, "queued": 10, "outbox": 14}
    stuck = set(initial_notices(incident).filter(status=LetterStatus.SENDING).values_list("pk", flat=True))
    recovered_at, took = recover(rig, incident, bound=settings.CARE_SENDING_STALE_AFTER)
    print(f"\nSIGKILL: recovered in {took:.1f} s of real time")

    assert_every_customer_notified_once(incident, affected_ids, recovered_at)
    assert_reconciled(stuck, sent=4, requeued=6)


def test_a_worker_killed_mid_sms_send_strands_no_customer(rig: CeleryRig) -> None:
    """The same crash, for customers with only a phone: their notices go by SMS, one message per provider call,
    with the same claim, hand-over mark and reconciliation (the SMS outbox can be asked which it has)."""
    schedules()
    incident, affected_ids = open_incident_with(CUSTOMERS, email="")
    connection.close()
    worker = rig.worker("worker", pool="prefork", SMS_BACKEND=STALLING_SMS)
    notify(incident, affected_ids)

    rig.stalled_pid()
    rig.kill(worker)

    assert set(initial_notices(incident).values_list("channel", flat=True)) == {Channel.SMS}
    assert counts(incident, outbox=SmsOutboxMessage) == {
        "sent": 10,
        "sending": 10,
        "handed": 5,
        "queued": 10,
        "outbox": 14,
    }
    stuck = set(initial_notices(incident).filter(status=LetterStatus.SENDING).values_list("pk", flat=True))
    recovered_at, took = recover(rig, incident, bound=settings.CARE_SENDING_STALE_AFTER, SMS_BACKEND=STALLING_SMS)
    print(f"\nSIGKILL mid-SMS: recovered in {took:.1f} s of real time")

    assert_every_customer_notified_once(incident, affected_ids, recovered_at, per_letter=sms_count_per_letter)
    assert OutboxMessage.objects.count() == 0  # nobody got an email
    assert_reconciled(stuck, sent=4, requeued=6)


def test_the_worker_s_database_connections_killed_mid_send_strand_no_customer(rig: CeleryRig) -> None:
    """The connections die while the ESP takes the second task's last letter: every letter of that task is with
    the ESP and none is recorded (the recording fails on the dead connection, the task fails), as in the demo's
    96 letters delivered and left "sending"."""
    schedules()
    incident, affected_ids = open_incident_with(CUSTOMERS)
    connection.close()
    worker = rig.worker("worker", CARE_FAULT_STALL_AT="20", CARE_FAULT_STALL_AFTER_STORE="1")
    notify(incident, affected_ids)

    rig.stalled_pid()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [WORKER_APP_NAME],
        )
        (terminated,) = cursor.fetchone()
    assert terminated >= 1
    connection.close()
    rig.release()  # the run goes on, on a dead connection: recording the answers fails, and so does the task

    # The worker lives on: the next task gets a fresh connection and sends the third chunk.
    rig.wait_for(lambda: counts(incident)["sent"] == 20, timeout=TIMEOUT, what="the third chunk to be sent")
    assert counts(incident) == {"sent": 20, "sending": 10, "handed": 10, "queued": 0, "outbox": 30}
    stuck = set(initial_notices(incident).filter(status=LetterStatus.SENDING).values_list("pk", flat=True))
    rig.stop(worker)
    recovered_at, took = recover(rig, incident, bound=settings.CARE_SENDING_STALE_AFTER)
    print(f"\npg_terminate_backend: recovered in {took:.1f} s of real time")

    assert_every_customer_notified_once(incident, affected_ids, recovered_at)
    assert_reconciled(stuck, sent=10, requeued=0)  # the ESP has them all: marked sent, none sent twice


FIRST_NOTICES = textwrap.dedent(
    """
    from care.operations.sweeps import first_notices_for
    print(first_notices_for(incident_id={incident}, affected_ids={affected}))
    """
)


def test_a_broker_outage_strands_no_customer(rig: CeleryRig) -> None:
    schedules()
    incident, affected_ids = open_incident_with(CUSTOMERS)
    connection.close()
    half = CUSTOMERS // 2

    # Redis down: a chunk commits its queued letters, then cannot publish their sending.
    down = rig.run_python(
        FIRST_NOTICES.format(incident=incident.pk, affected=affected_ids[:half]), broker_url=DEAD_BROKER_URL
    )
    assert down.returncode != 0, down.stdout
    assert "OperationalError" in down.stderr, down.stderr[-2000:]
    # Redis restarted empty: a chunk published its letters' sending, and the messages were lost before a worker
    # took them.
    lost = rig.run_python(FIRST_NOTICES.format(incident=incident.pk, affected=affected_ids[half:]))
    assert lost.returncode == 0, lost.stderr[-2000:]
    client = redis_or_skip(BROKER_URL)
    assert client.dbsize() > 0
    client.flushdb()

    assert counts(incident) == {"sent": 0, "sending": 0, "handed": 0, "queued": CUSTOMERS, "outbox": 0}
    recovered_at, took = recover(rig, incident, bound=dt.timedelta(minutes=1))  # the queued sweep's bound
    print(f"\nbroker outage: recovered in {took:.1f} s of real time")

    assert_every_customer_notified_once(incident, affected_ids, recovered_at)
