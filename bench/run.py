"""Run the benchmarks: every bench/*.py module with a main(), or the ones named on the command line.

Each module runs in its own interpreter (each sets Django up on its own database); their JSON lines
go to stdout as they come. A module fails if it exits non-zero, prints a line to stdout that is not a
figure (a JSON object with a name, a finite numeric value and a unit, and a numeric reference with its
reference_name if it has one), or prints no figure at all. Exit status: the number of modules that failed.

    .venv/bin/python bench/run.py                      # all of them, full size
    BENCH_SMALL=1 .venv/bin/python bench/run.py        # all of them, small (CI): see bench/common.py
    .venv/bin/python bench/run.py sweep_first_notices  # just these
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "common", "run"}


def modules(names: list[str]) -> list[str]:
    found = sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in NOT_BENCHMARKS)
    unknown = [name for name in names if name not in found]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {found}")
    return names or found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def figure_problem(line: str) -> str | None:  # noqa: PLR0911 - one answer per way a line can be wrong
    """Why ``line`` is not a figure, or None if it is one."""
    try:
        row = json.loads(line)
    except ValueError:
        return "not JSON"
    if not isinstance(row, dict):
        return "not a JSON object"
    if not isinstance(row.get("name"), str) or not row["name"]:
        return "no name"
    if not _is_number(row.get("value")):
        return "no finite numeric value"
    if not isinstance(row.get("unit"), str) or not row["unit"]:
        return "no unit"
    if "reference" in row and (not _is_number(row["reference"]) or not isinstance(row.get("reference_name"), str)):
        return "a reference that is not a finite number with a reference_name"
    return None


def run_one(name: str) -> str | None:
    """Run one benchmark module, passing its output through; why it failed, or None."""
    process = subprocess.Popen(
        [sys.executable, "-c", f"from bench.{name} import main; main()"],
        cwd=BENCH.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    figures = 0
    bad: list[str] = []
    for line in process.stdout:
        print(line, end="", flush=True)
        if not line.strip():
            continue
        if problem := figure_problem(line):
            bad.append(f"{problem}: {line.strip()[:200]}")
        else:
            figures += 1
    status = process.wait()
    if status:
        return f"exit status {status}"
    if bad:
        return f"{len(bad)} line(s) on stdout that are not figures, the first {bad[0]}"
    if not figures:
        return "no figures printed"
    return None


def main(argv: list[str]) -> int:
    failed: list[str] = []
    names = modules([arg.removesuffix(".py").removeprefix("bench/") for arg in argv])
    started = time.perf_counter()
    for name in names:
        print(f"# bench.{name}", file=sys.stderr, flush=True)
        module_started = time.perf_counter()
        problem = run_one(name)
        seconds = time.perf_counter() - module_started
        if problem:
            print(f"# bench.{name} failed ({problem}) after {seconds:.0f} s", file=sys.stderr, flush=True)
            failed.append(name)
        else:
            print(f"# bench.{name} done in {seconds:.0f} s", file=sys.stderr, flush=True)
    outcome = f"{len(failed)} failed: {', '.join(failed)}" if failed else "all passed"
    print(
        f"# {len(names)} benchmark(s) in {time.perf_counter() - started:.0f} s, {outcome}", file=sys.stderr, flush=True
    )
    return len(failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
