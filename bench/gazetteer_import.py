"""Speed of `gazetteer import` on a GENERATED country dump of realistic size (default 200,000 rows).

    .venv/bin/python bench/gazetteer_import.py [--rows 200000]

The dump is made up (tests/geonames_dump.py: invented names, ~60 % settlements, 40 districts, three
alternate names per village), written as XX.zip like GeoNames' own. Reported beside the baseline of
the same run: reading and splitting the same zip's rows without indexing them. Then the size of the
index, the cold open of the gazetteer with it and the time of a lookup.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from geonames_dump import country_dump, table, write_zip  # noqa: E402

from monitor.reading.gazetteer import load_gazetteer, name_key  # noqa: E402
from monitor.reading.geonames_import import import_files  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    places = country_dump(args.rows, country="AM", seed=11)
    with tempfile.TemporaryDirectory(prefix="cfm-import-bench-") as tmp:
        dump = write_zip(Path(tmp) / "AM.zip", "AM.txt", table(places))
        start = time.perf_counter()
        with zipfile.ZipFile(dump) as z, z.open("AM.txt") as f:
            rows = sum(1 for line in f if line.decode("utf-8").split("\t"))
        baseline = time.perf_counter() - start
        index = Path(tmp) / "gazetteer.sqlite"
        start = time.perf_counter()
        report = import_files(index, [dump])
        took = time.perf_counter() - start
        start = time.perf_counter()
        gazetteer = load_gazetteer(index)
        opened = time.perf_counter() - start
        villages = [p.name for p in places if p.fclass == "P"][:2000]
        lookups = []
        for name in villages:
            t = time.perf_counter()
            gazetteer.lookup(name_key(name))
            lookups.append(time.perf_counter() - t)
        print(f"generated dump: {rows} rows, {dump.stat().st_size / 1e6:.1f} MB zipped")
        print(f"baseline, read and split the rows:   {baseline:7.2f} s  ({rows / baseline:,.0f} rows/s)")
        print(f"gazetteer import:                    {took:7.2f} s  ({rows / took:,.0f} rows/s, "
              f"{took / baseline:.1f}x the baseline)")
        print(f"kept: {report.places} settlements, {report.divisions} divisions; "
              f"index {index.stat().st_size / 1e6:.1f} MB")
        print(f"gazetteer load with the index:       {opened:7.2f} s")
        print(f"lookup of an imported village:       median {statistics.median(lookups) * 1e6:.0f} us "
              f"(first lookups, uncached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
