"""First notices for 10,000 and 100,000 affected customers with one worker, on PostgreSQL.

For each size: one open incident and its affected customers are filled set-based (generate_series), then
the chunk service ``care.operations.sweeps.first_notices_for`` runs over chunks of 500 with Celery eager, so
the queued letters are sent inline through anymail's test backend, as one worker would: first in this one
process, then shared by as many forked processes as the machine has cores (BENCH_SWEEP_PROCESSES), as
the child processes of one prefork Celery worker take chunks off the queue. Printed: customers per
second, SQL queries per 1,000 customers, peak memory (maxrss) and the total seconds, beside the floor:
PostgreSQL's COPY of the same 100,000 letter rows into a table with the same columns and indexes.
Then the sweep runs again over the processed incidents: its seconds, its ESP calls and the rows it writes
(both must be 0).

The sizes are BENCH_SWEEP_SIZES (10,000 and 100,000; with BENCH_SMALL=1 the small ones in bench/common.py).
BENCH_PROFILE=1 also profiles (cProfile) a run of BENCH_PROFILE_SIZE (5,000) customers and prints the top of
the profile to stderr; the raw profile is kept in var/bench_sweep_first_notices.prof.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import queue
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

# Before Django reads its settings: the ESP is anymail's test backend, tasks run inline (one worker),
# and no DEBUG query log or INFO logging per batch in the measurement.
os.environ.setdefault("EMAIL_BACKEND", "anymail.backends.test.EmailBackend")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.common import (
    ROOT,
    SYNTHETIC_AFFECTED_COLUMNS,
    copy_columns,
    emit,
    insert_select,
    int_list_setting,
    int_setting,
    setup_django,
)

DATABASE_URL = os.environ.get("BENCH_SWEEP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/care_bench_sweep")
SIZES = int_list_setting("BENCH_SWEEP_SIZES")  # 10,000 and 100,000; with BENCH_SMALL=1 see bench/common.py
# One Celery worker runs as many child processes as the machine has cores (prefork's default concurrency):
# the chunks are shared out between that many processes, as the worker would take them off the queue.
PROCESSES = int(os.environ.get("BENCH_SWEEP_PROCESSES", str(os.cpu_count() or 1)))
CHUNK = 500
PROFILE_SIZE = int_setting("BENCH_PROFILE_SIZE")
WRITES = ("INSERT", "UPDATE", "DELETE")


class QueryCounter:
    """connection.execute_wrapper: counts statements, and the rows that INSERT/UPDATE/DELETE touch."""

    def __init__(self) -> None:
        self.queries = 0
        self.rows_written = 0
        self.written_tables: dict[str, int] = {}

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        self.queries += 1
        result = execute(sql, params, many, context)
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in WRITES:
            rows = max(context["cursor"].rowcount, 0)
            self.rows_written += rows
            table = sql.split('"')[1] if '"' in sql else "?"
            self.written_tables[table] = self.written_tables.get(table, 0) + rows
        return result


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE care_customer, incidents_incident, care_outboxmessage, incidents_sweeprun "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("DROP TABLE IF EXISTS bench_letter_copy")


def fill(*, tag: str, customers: int) -> tuple[int, list[int]]:
    """An open incident (explanation, next update due) with ``customers`` affected customers."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from care.customers.models import Customer
    from incidents.models import AffectedCustomer, Incident, IncidentStatus

    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            reference=f"INC-BENCH-{tag}",
            title=f"Bench blizzard {tag}",
            kind="cancellation",
            cause="weather",
            status=IncidentStatus.OPEN,
            opened_at=now,
            stations="JFK",
            explanation="A blizzard closed the runways at JFK from the early afternoon.",
            next_update_due_at=now + timedelta(hours=1),
        )
        # Set-based; every column not named here gets the model's default (bench.common.insert_select).
        with connection.cursor() as cursor:
            insert_select(
                cursor,
                Customer,
                {
                    "external_ref": "%s || '-' || n",
                    "name": "'Passenger ' || n",
                    "email": "'p' || n || '.' || %s || '@example.com'",
                },
                "FROM generate_series(1, %s) n",
                [f"BENCH-{tag}", tag.lower(), customers],
            )
            insert_select(
                cursor,
                AffectedCustomer,
                {"incident": "%s", **SYNTHETIC_AFFECTED_COLUMNS},
                "FROM care_customer c WHERE c.external_ref LIKE %s",
                [incident.pk, f"BENCH-{tag}-%"],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    ids = list(AffectedCustomer.objects.filter(incident=incident).order_by("pk").values_list("pk", flat=True))
    return incident.pk, ids


def work(incident_id: int, affected_ids: list[int]) -> int:
    """The first-notice work of one worker process: every chunk, one after the other; return the ESP calls."""
    from django.core import mail

    from care.operations.sweeps import first_notices_for

    calls = 0
    for start in range(0, len(affected_ids), CHUNK):
        first_notices_for(incident_id=incident_id, affected_ids=affected_ids[start : start + CHUNK])
        calls += len(getattr(mail, "outbox", []))
        mail.outbox = []  # the test backend keeps every message; we only count them
    return calls


def work_in_processes(incident_id: int, affected_ids: list[int], processes: int) -> tuple[int, int]:
    """The same work shared by ``processes`` forked processes pulling chunks off one queue (like a prefork
    worker's children); return (ESP calls, SQL queries) summed over them."""
    import multiprocessing

    from django.db import connections

    chunks = [affected_ids[start : start + CHUNK] for start in range(0, len(affected_ids), CHUNK)]
    context = multiprocessing.get_context("fork")
    todo: Any = context.Queue()
    results: Any = context.Queue()
    for chunk in chunks:
        todo.put(chunk)
    for _ in range(processes):
        todo.put(None)
    connections.close_all()  # each child opens its own connection, as a worker's children do

    def child() -> None:
        from django.core import mail
        from django.db import connection

        from care.operations.sweeps import first_notices_for

        counter = QueryCounter()
        calls = 0
        with connection.execute_wrapper(counter):
            while (chunk := todo.get()) is not None:
                first_notices_for(incident_id=incident_id, affected_ids=chunk)
                calls += len(getattr(mail, "outbox", []))
                mail.outbox = []
        connection.close()
        results.put((calls, counter.queries))

    children = [context.Process(target=child) for _ in range(processes)]
    for process in children:
        process.start()
    totals: list[tuple[int, int]] = []
    while len(totals) < len(children):
        try:
            totals.append(results.get(timeout=1))
        except queue.Empty:
            # A child that failed sends nothing: stop rather than wait for it for ever.
            if failed := [process.exitcode for process in children if process.exitcode]:
                for process in children:
                    process.terminate()
                raise SystemExit(f"a worker process failed with exit status {failed[0]}") from None
    for process in children:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a worker process failed with exit status {process.exitcode}")
    return sum(calls for calls, _queries in totals), sum(queries for _calls, queries in totals)


def peak_rss_mb(processes: int) -> float:
    """The largest resident set of the process(es) doing the work (kilobytes on Linux): this one, or the
    largest worker it forked (not this process, whose peak includes the COPY floor's buffer)."""
    who = resource.RUSAGE_SELF if processes == 1 else resource.RUSAGE_CHILDREN
    return resource.getrusage(who).ru_maxrss / 1024


def check_all_sent(incident_id: int, expected: int) -> None:
    from care.correspondence.models.letters import Letter, LetterKind, LetterStatus

    sent = Letter.objects.filter(incident_id=incident_id, kind=LetterKind.INITIAL_NOTICE, status=LetterStatus.SENT)
    count = sent.count()
    if count != expected:
        raise SystemExit(f"only {count} of {expected} initial notices were sent")


def measure(size: int, processes: int) -> tuple[int, float]:
    from django.db import connection

    incident_id, affected_ids = fill(tag=f"N{size}P{processes}", customers=size)
    counter = QueryCounter()
    start = time.perf_counter()
    if processes == 1:
        with connection.execute_wrapper(counter):
            calls = work(incident_id, affected_ids)
        queries = counter.queries
    else:
        calls, queries = work_in_processes(incident_id, affected_ids, processes)
    seconds = time.perf_counter() - start
    check_all_sent(incident_id, size)
    for name, value, unit in (
        ("first_notices_customers_per_second", size / seconds, "customers/s"),
        ("first_notices_queries_per_1000_customers", queries / (size / 1000), "queries"),
        ("first_notices_peak_rss", peak_rss_mb(processes), "MB"),
    ):
        emit(name, value, unit, customers=size, processes=processes, chunk=CHUNK, esp_calls=calls)
    return incident_id, seconds


def copy_seconds(incident_id: int) -> float:
    """PostgreSQL's floor: COPY the incident's letter rows into a table with care_letter's columns and indexes."""
    from django.db import connection

    from care.correspondence.models.letters import Letter

    columns = ", ".join(copy_columns(Letter))  # whole rows: every column the model has, whatever is added later
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_letter_copy")
        cursor.execute("CREATE TABLE bench_letter_copy (LIKE care_letter INCLUDING ALL)")
        data = bytearray()
        with cursor.cursor.copy(
            f"COPY (SELECT {columns} FROM care_letter WHERE incident_id = %s) TO STDOUT",  # noqa: S608
            (incident_id,),
        ) as copy:
            for block in copy:
                data += block
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("BEGIN")
        with cursor.cursor.copy(f"COPY bench_letter_copy ({columns}) FROM STDIN") as copy:
            copy.write(bytes(data))
        cursor.execute("COMMIT")
        seconds = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_letter_copy")
    return seconds


def rerun() -> None:
    """The sweep again over incidents already done: nothing to send, nothing to write."""
    from django.core import mail
    from django.db import connection

    from care.operations.sweeps import sweep_first_notices

    mail.outbox = []
    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        counts = sweep_first_notices()
    seconds = time.perf_counter() - start
    calls = len(getattr(mail, "outbox", []))
    customers = sum(SIZES) * len({1, PROCESSES})
    emit("first_notices_rerun_seconds", seconds, "s", customers=customers, queries=counter.queries, counts=counts)
    emit("first_notices_rerun_esp_calls", calls, "calls", reference=0, reference_name="required")
    emit(
        "first_notices_rerun_rows_written",
        counter.rows_written,
        "rows",
        reference=0,
        reference_name="required",
        tables=counter.written_tables,
    )


def profile() -> None:
    incident_id, affected_ids = fill(tag="PROFILE", customers=PROFILE_SIZE)
    profiler = cProfile.Profile()
    profiler.enable()
    work(incident_id, affected_ids)
    profiler.disable()
    path = ROOT / "var" / "bench_sweep_first_notices.prof"
    profiler.dump_stats(str(path))
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print(f"# profile of {PROFILE_SIZE} customers, by {order} (raw: {path})", file=sys.stderr)
        print(out.getvalue(), file=sys.stderr)


def main() -> None:
    setup_django(DATABASE_URL)
    reset()
    started = time.perf_counter()
    largest = max(SIZES)
    for processes in sorted({1, PROCESSES}):
        timings = {size: measure(size, processes) for size in SIZES}
        incident_id, seconds = timings[largest]
        floor = copy_seconds(incident_id)
        met = seconds < 60 and seconds < 5 * floor
        emit(
            "first_notices_total_seconds",
            seconds,
            "s",
            floor,
            f"PostgreSQL COPY of the same {largest} letter rows (s)",
            customers=largest,
            processes=processes,
            ratio_to_copy=round(seconds / floor, 1),
            target=f"< 60 s and < 5x COPY with one worker: {'met' if met else 'missed'}",
        )
    rerun()
    emit("bench_sweep_first_notices_wall_seconds", time.perf_counter() - started, "s")
    if os.environ.get("BENCH_PROFILE"):
        profile()


if __name__ == "__main__":
    main()
