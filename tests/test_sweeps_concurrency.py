"""The first-notice sweep under contention and crashes, on PostgreSQL with real threads and a real process.

Guarantees proven here (issue "Scheduled sweeps"):
- two sweeps running at once send each affected customer exactly one initial notice, handed to the ESP once;
- a worker killed (SIGKILL) in the middle of the work leaves nothing that a rerun duplicates or forgets, and
  letters it left in SENDING stay visible in SENDING instead of being sent again, until the reconciliation
  (past its bound) settles each of them from what the ESP has: every customer then has their notice once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from care.correspondence.models.letters import LetterStatus, OutboxMessage
from care.correspondence.sending.queue import letters_send_stale_queued
from care.correspondence.sending.reconcile import letters_reconcile_sending
from tests.sweep_harness import (
    OUTBOX_BACKEND,
    captured_fan_out,
    eager_celery,
    initial_notices,
    open_incident_with,
    outbox_count_per_letter,
    run_threads,
    subprocess_env,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]

CUSTOMERS = 2000
CHUNK = 500


def sweeps() -> Any:
    from care.operations import sweeps
    from incidents import tasks

    return sweeps, tasks


def assert_one_notice_each_handed_over_once(incident: Any, affected_ids: list[int]) -> dict[int, str]:
    """Exactly one initial notice per affected customer, none handed to the ESP twice; return statuses."""
    letters = list(initial_notices(incident).values_list("pk", "affected_id", "status"))
    assert sorted(affected for _pk, affected, _status in letters) == affected_ids  # no gap, no duplicate
    handed = outbox_count_per_letter()
    twice = {pk: times for pk, times in handed.items() if times > 1}
    assert twice == {}, f"letters handed to the ESP more than once: {twice}"
    for pk, _affected, status in letters:
        if status == LetterStatus.SENT:
            assert handed[pk] == 1, f"letter {pk} is SENT but the outbox has it {handed[pk]} times"
    return {pk: status for pk, _affected, status in letters}


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_two_sweeps_at_once_send_each_customer_one_initial_notice_once() -> None:
    first_notice, tasks = sweeps()
    incident, affected_ids = open_incident_with(CUSTOMERS)

    def sweep_then_work_the_chunks() -> None:
        # The sweep publishes chunk tasks after its commit; here each thread records what it published and
        # then does that work itself, synchronously, so both threads contend for the same customers.
        first_notice.sweep_first_notices()
        for incident_id, chunk in published.get(threading.current_thread().name, []):
            first_notice.first_notices_for(incident_id=incident_id, affected_ids=chunk)

    with eager_celery(), captured_fan_out(tasks.notify_affected) as published:
        errors = run_threads([sweep_then_work_the_chunks, sweep_then_work_the_chunks])

    assert errors == []
    # Both sweeps found the work (or the second found it already taken); together they covered everyone.
    covered = {pk for chunks in published.values() for _incident_id, chunk in chunks for pk in chunk}
    assert covered == set(affected_ids)
    assert {incident_id for chunks in published.values() for incident_id, _chunk in chunks} == {incident.pk}
    statuses = assert_one_notice_each_handed_over_once(incident, affected_ids)
    # A letter the other thread held locked (rendering or queueing the same chunk) when its queuer claimed
    # with SKIP LOCKED stays QUEUED: never lost, never sent twice, picked up by the queued-letters sweep.
    assert set(statuses.values()) <= {LetterStatus.SENT, LetterStatus.QUEUED}
    with eager_celery():
        letters_send_stale_queued(older_than=timedelta(0))

    statuses = assert_one_notice_each_handed_over_once(incident, affected_ids)
    assert set(statuses.values()) == {LetterStatus.SENT}
    assert OutboxMessage.objects.count() == CUSTOMERS


# The killed worker: the chunk service over every affected customer, with Celery eager so that queued letters
# are sent inline (as a worker would), through an outbox ESP that is slow to answer. The slowness is the
# window in which a crash leaves letters handed to the ESP but still SENDING.
CRASHING_WORKER = textwrap.dedent(
    """
    import sys, time
    import django

    django.setup()
    from care.correspondence.outbox import OutboxEmailBackend


    class SlowOutbox(OutboxEmailBackend):
        def post_to_esp(self, payload, message):
            answer = super().post_to_esp(payload, message)
            time.sleep(1.0)
            return answer


    from care.operations.sweeps import first_notices_for

    incident_id, chunk = int(sys.argv[1]), int(sys.argv[2])
    affected_ids = [int(pk) for pk in sys.argv[3].split(",")]
    for start in range(0, len(affected_ids), chunk):
        first_notices_for(incident_id=incident_id, affected_ids=affected_ids[start : start + chunk])
    print("finished without being killed", flush=True)
    """
)


def _wait_for_letters_in_sending(process: subprocess.Popen[str], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the worker ended on its own: {process.communicate()}"
        if OutboxMessage.objects.exists() and initial_notices_in(LetterStatus.SENDING):
            return
        time.sleep(0.02)
    raise AssertionError("no letter reached the ESP within the timeout")


def initial_notices_in(status: str) -> set[int]:
    from care.correspondence.models.letters import Letter, LetterKind

    return set(Letter.objects.filter(kind=LetterKind.INITIAL_NOTICE, status=status).values_list("pk", flat=True))


@override_settings(EMAIL_BACKEND=OUTBOX_BACKEND)
def test_a_worker_killed_mid_sweep_leaves_no_duplicate_no_gap_and_no_resend() -> None:
    first_notice, tasks = sweeps()
    incident, affected_ids = open_incident_with(CUSTOMERS)
    connection.close()  # the child gets its own connection; ours must hold nothing it waits for

    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WORKER, str(incident.pk), str(CHUNK), ",".join(map(str, affected_ids))],
        env=subprocess_env(EMAIL_BACKEND="__main__.SlowOutbox", CELERY_TASK_ALWAYS_EAGER="true"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_letters_in_sending(process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    left_sending = initial_notices_in(LetterStatus.SENDING)
    handed_before = outbox_count_per_letter()
    assert left_sending, "the kill should have caught letters handed to the ESP but not yet recorded"
    sent_before = initial_notices(incident).filter(status=LetterStatus.SENT).count()
    assert sent_before + len(left_sending) < CUSTOMERS, "the worker should have been killed mid-way"

    # The rerun, in-process and to completion: the sweep (its chunks worked synchronously) and the sending
    # sweep for letters the crash left QUEUED.
    with eager_celery(), captured_fan_out(tasks.notify_affected) as published:
        first_notice.sweep_first_notices()
        for incident_id, chunk in [item for chunks in published.values() for item in chunks]:
            first_notice.first_notices_for(incident_id=incident_id, affected_ids=chunk)
        letters_send_stale_queued(older_than=timedelta(0))

    statuses = assert_one_notice_each_handed_over_once(incident, affected_ids)
    assert initial_notices_in(LetterStatus.SENDING) == left_sending  # still visible, never silently resent
    assert {pk for pk, status in statuses.items() if status != LetterStatus.SENT} == left_sending
    handed_after = outbox_count_per_letter()
    assert {pk: handed_after[pk] for pk in left_sending} == {pk: handed_before[pk] for pk in left_sending}

    # Past the bound (no live run can hold them) the reconciliation asks the outbox about each one left SENDING.
    with eager_celery():
        letters_reconcile_sending(now=timezone.now() + settings.CARE_SENDING_STALE_AFTER + timedelta(seconds=1))
    statuses = assert_one_notice_each_handed_over_once(incident, affected_ids)
    assert set(statuses.values()) == {LetterStatus.SENT}
    assert outbox_count_per_letter() == dict.fromkeys(statuses, 1)
