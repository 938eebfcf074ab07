"""Run the benchmarks: every bench/*.py module with a main(), or the ones named on the command line.

Each module runs in its own interpreter (each sets Django up on its own database); their JSON lines
go to stdout as they come. Exit status: the number of modules that failed.

    .venv/bin/python bench/run.py                      # all of them
    .venv/bin/python bench/run.py sweep_first_notices  # just these
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "common", "run"}


def modules(names: list[str]) -> list[str]:
    found = sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in NOT_BENCHMARKS)
    unknown = [name for name in names if name not in found]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {found}")
    return names or found


def main(argv: list[str]) -> int:
    failed = 0
    for name in modules([arg.removesuffix(".py").removeprefix("bench/") for arg in argv]):
        print(f"# bench.{name}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, "-c", f"from bench.{name} import main; main()"], cwd=BENCH.parent, check=False
        )
        if result.returncode:
            print(f"# bench.{name} failed with exit status {result.returncode}", file=sys.stderr, flush=True)
            failed += 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
