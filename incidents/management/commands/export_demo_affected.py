"""Write the demo blizzard's affected customers in the ingest format (incidents/ingest/FORMAT.md)."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from care.operations.demo import DEFAULT_SEED, DEMO_DAYS, DEMO_STATIONS
from care.operations.demo_export import demo_affected_rows, write_csv


class Command(BaseCommand):
    help = (
        "Write the affected customers of the demo blizzard as ingest CSV: one station and day to a file or "
        "stdout, or (--out-dir) one file per demo incident, e.g. JFK-2013-02-08.csv."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--station", choices=DEMO_STATIONS, help="The origin station, e.g. JFK.")
        parser.add_argument("--day", type=dt.date.fromisoformat, help="2013-02-08 or 2013-02-09.")
        parser.add_argument("--out", type=Path, help="The file to write (default: stdout).")
        parser.add_argument("--out-dir", type=Path, help="Write every demo incident's file into this folder.")
        parser.add_argument("--passengers-per-flight", type=int, default=6)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args: Any, **options: Any) -> None:
        plan_options = {"passengers_per_flight": options["passengers_per_flight"], "seed": options["seed"]}
        if options["out_dir"]:
            folder: Path = options["out_dir"]
            folder.mkdir(parents=True, exist_ok=True)
            for day in DEMO_DAYS:
                for station in DEMO_STATIONS:
                    path = folder / f"{station}-{day:%Y-%m-%d}.csv"
                    with path.open("w", encoding="utf-8", newline="") as out:
                        count = write_csv(demo_affected_rows(station=station, day=day, **plan_options), out)
                    self.stderr.write(f"{path}: {count} rows")
            return
        if not options["station"] or not options["day"]:
            raise CommandError("Give --station and --day, or --out-dir for every demo incident.")
        if options["day"] not in DEMO_DAYS:
            raise CommandError(f"The demo covers {', '.join(f'{day:%Y-%m-%d}' for day in DEMO_DAYS)}.")
        rows = demo_affected_rows(station=options["station"], day=options["day"], **plan_options)
        if options["out"]:
            with options["out"].open("w", encoding="utf-8", newline="") as out:
                count = write_csv(rows, out)
        else:
            count = write_csv(rows, self.stdout)  # type: ignore[arg-type]
        self.stderr.write(f"{count} rows")
