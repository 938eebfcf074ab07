"""Helpers for the benchmark scripts: a throwaway PostgreSQL database and JSON-line output."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/care_bench")


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


def emit(
    name: str, value: float, unit: str, reference: float | None = None, reference_name: str = "", **extra: object
) -> None:
    row: dict[str, object] = {"name": name, "value": round(value, 3), "unit": unit}
    if reference is not None:
        row["reference"] = round(reference, 3)
        row["reference_name"] = reference_name
    row.update(extra)
    print(json.dumps(row), flush=True)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    box = [0.0]
    start = time.perf_counter()
    yield box
    box[0] = time.perf_counter() - start
