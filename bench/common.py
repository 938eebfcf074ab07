"""Helpers for the benchmark scripts: their sizes, a throwaway PostgreSQL database, model-driven set-based
fills and JSON-line output."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper
    from django.db.models import Model

ROOT = Path(__file__).resolve().parent.parent

# BENCH_SMALL=1 runs every benchmark whole (every code path of the full run) on fewer rows, so that CI can run
# them all in a few minutes and none of them rots unnoticed. It changes the defaults only: a size (or database)
# set in the environment wins in both modes.
SMALL = os.environ.get("BENCH_SMALL", "").strip().lower() not in ("", "0", "false", "no")

# The admin benchmark keeps its fill between runs. The small mode fills a database of its own, so that going
# from one mode to the other does not delete and rewrite a million rows each time (two minutes on 2 cores).
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or (
    f"postgres://postgres@127.0.0.1:5432/{'care_bench_small' if SMALL else 'care_bench'}"
)

# name: (full-size default, small default). The small sizes still cross every threshold the full run crosses:
# - BENCH_ROWS / BENCH_INCIDENTS: more than care.core.admin_base.EXACT_COUNT_LIMIT (10,000) rows per incident, so the
#   unfiltered and the per-incident changelists count with the planner's estimate, as at a million rows
#   (admin_changelists checks this at its default sizes);
# - BENCH_SWEEP_SIZES: several chunks of 500 per size, so the forked processes share a queue of chunks;
# - BENCH_INGEST_SIZES: more than one staging chunk (incidents.ingest.services.CHUNK_ROWS, 5,000) and every
#   kind of bad row (one in 200, five kinds) in the larger file.
SIZES: dict[str, tuple[str, str]] = {
    "BENCH_ROWS": ("1000000", "24000"),
    "BENCH_INCIDENTS": ("20", "2"),
    "BENCH_SWEEP_SIZES": ("10000,100000", "1000,5000"),
    "BENCH_PROFILE_SIZE": ("5000", "1000"),
    "BENCH_INGEST_SIZES": ("10000,100000", "2000,12000"),
    # The flight feed: more events than one batch (5,000) in both modes, every flight moved several times.
    "BENCH_FLIGHT_FLIGHTS": ("5000", "500"),  # flight numbers have at most 4 digits
    "BENCH_FLIGHT_PASSENGERS": ("10", "4"),
    "BENCH_FLIGHT_EVENTS": ("50000", "6000"),
}


def size_setting(name: str) -> str:
    """The environment's value of ``name``, else its default for this mode (full, or small with BENCH_SMALL)."""
    full, small = SIZES[name]
    return os.environ.get(name) or (small if SMALL else full)


def int_setting(name: str) -> int:
    return int(size_setting(name))


def int_list_setting(name: str) -> list[int]:
    return [int(size) for size in size_setting(name).split(",") if size.strip()]


def is_set_in_environment(*names: str) -> bool:
    return any(os.environ.get(name) for name in names)


def setup_django(database_url: str | None = None) -> None:
    """Point Django at the benchmark database (created if missing) and migrate it."""
    import psycopg

    url = database_url or BENCH_DATABASE_URL
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def insert_select(
    cursor: CursorWrapper,
    model: type[Model],
    values: Mapping[str, str],
    from_sql: str,
    params: Sequence[Any] = (),
) -> int:
    """``INSERT INTO <model's table> (…) SELECT … <from_sql>``: set-based rows with every column the model has.

    ``values`` maps field names (``incident`` or ``incident_id``) to SQL expressions over ``from_sql``;
    ``params`` fill their placeholders, in order, then those of ``from_sql`` (a literal ``%`` is written
    ``%%`` in both, as the statement always has parameters). Every other column gets what the ORM would
    give a new instance: the database default (``db_default``), ``now()`` for ``auto_now``/``auto_now_add``,
    else the field's ``get_default()`` (one value for every row; "" for text), else NULL if the column allows
    it. A NOT NULL column with none of these stops the benchmark with its name, as does a NOT NULL column of
    the table that the model does not know, so a column added later cannot break the fill with a bare
    NotNullViolation.
    Returns the number of rows inserted.
    """
    from django.db import connection
    from django.db.models import NOT_PROVIDED, DateField

    meta = model._meta
    table = meta.db_table
    given: dict[str, str] = {}
    for name, expression in values.items():
        try:
            field = meta.get_field(name)
        except Exception as exc:
            raise SystemExit(f"bench fill of {table}: {model.__name__} has no field {name!r}") from exc
        given[_column(model, field)] = expression

    # The defaulted columns come first in the SELECT list, so their values go before the caller's params,
    # which follow the text of ``values`` and ``from_sql``.
    default_columns: list[str] = []
    defaults: list[Any] = []
    for field in meta.concrete_fields:
        column = _column(model, field)
        if column in given or field.primary_key or field.db_default is not NOT_PROVIDED:
            continue  # given, or the database fills it
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add):
            given[column] = "now()"
            continue
        default = field.get_default()
        if default is None:
            if field.null:
                continue
            raise SystemExit(
                f"bench fill of {table}: column {column!r} ({model.__name__}.{field.name}) is NOT NULL and "
                "has no default; give it a value in the benchmark's fill"
            )
        default_columns.append(column)
        defaults.append(field.get_db_prep_save(default, connection))
    concrete = {_column(model, field) for field in meta.concrete_fields}
    if not_columns := sorted(set(given) - concrete):  # e.g. a many-to-many field
        raise SystemExit(f"bench fill of {table}: not columns of the table: {not_columns}")

    # The table itself: a NOT NULL column the model does not know (added by RunSQL, or a model that does not
    # match its migrations) would fail the INSERT with a bare NotNullViolation.
    columns = [*default_columns, *given]
    described = connection.introspection.get_table_description(cursor, table)
    missing = [
        column.name
        for column in described
        if not column.null_ok
        and column.default is None
        and not getattr(column, "is_autofield", False)
        and column.name not in columns
    ]
    if missing:
        raise SystemExit(
            f"bench fill of {table}: NOT NULL column(s) {missing} without a database default are not in the "
            f"model {model.__name__} or in the fill; give them a value in the benchmark's fill"
        )

    select = ", ".join(["%s"] * len(defaults) + list(given.values()))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} {from_sql}"
    cursor.execute(sql, [*defaults, *params])
    return cursor.rowcount


def copy_columns(model: type[Model]) -> list[str]:
    """Every column of the model's table but the primary key, for a COPY that must write whole rows."""
    return [_column(model, field) for field in model._meta.concrete_fields if not field.primary_key]


def _column(model: type[Model], field: object) -> str:
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise SystemExit(f"bench fill of {model._meta.db_table}: {field} is not a column")
    return column


def emit(
    name: str, value: float, unit: str, reference: float | None = None, reference_name: str = "", **extra: object
) -> None:
    row: dict[str, object] = {"name": name, "value": round(value, 3), "unit": unit}
    if reference is not None:
        row["reference"] = round(reference, 3)
        row["reference_name"] = reference_name
    row.update(extra)
    if SMALL:
        row["bench_size"] = "small"  # so that nobody reads a CI figure as the full-size one
    print(json.dumps(row), flush=True)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    box = [0.0]
    start = time.perf_counter()
    yield box
    box[0] = time.perf_counter() - start


# One synthetic affected row per customer: a cancelled JetBlue flight out of JFK, its number and booking
# reference derived from the customer's id (``c``), for the fills that need affected customers in bulk.
SYNTHETIC_AFFECTED_COLUMNS = {
    "customer": "c.id",
    "cancelled": "true",
    "carrier": "'B6'",
    "flight_number": "(c.id %% 900 + 100)::text",
    "flight_date": "'2013-02-08'",
    "origin": "'JFK'",
    "destination": "'BOS'",
    "booking_reference": "upper(substr(md5(c.id::text), 1, 6))",
}
