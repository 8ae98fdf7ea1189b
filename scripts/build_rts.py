"""Copy the RTS-GMLC tables into networks/rts-gmlc/ and pack its day-ahead series.

Reproducible, no randomness, nothing downloaded: reads the read-only snapshot of
GridMod/RTS-GMLC (commit bbadcf8b, see SOURCE.md) under ``--src`` and writes

* ``networks/rts-gmlc/``: the SourceData CSVs dispatch uses, byte-for-byte
  (``bus``, ``branch``, ``dc_branch``, ``gen``, ``storage``, ``reserves``,
  ``timeseries_pointers``), the SourceData README as ``SourceData_README.md``, and
  NOTICE.md + SOURCE.md (NREL's notice must travel with every copy);
* ``timeseries/rts-gmlc/day_ahead.parquet``: the 8784 hourly DAY_AHEAD values of 2020,
  one column per series, values unchanged (MW), zstd-compressed; plus NOTICE.md and
  SOURCE.md.

Columns of the parquet: ``time`` (hour-beginning, 2020-01-01T00 .. 2020-12-31T23, from
Year/Month/Day/Period), ``load:<area>`` (MW, areas 1-3), ``spin:<area>`` (Spin_Up_R<area>
requirement, MW), ``<kind>:<GEN UID>`` for kind in hydro, pv, rtpv, wind (available MW)
and ``csp:<GEN UID>`` (CSP solar-field power, "Natural_Inflow" of its head storage, MW).
Which generator takes which column follows ``timeseries_pointers.csv`` (DAY_AHEAD rows).

Usage::

    python scripts/build_rts.py [--src /work/shared/benchmarks/rts-gmlc] [--root .]
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np
import polars as pl

TABLES = ("bus", "branch", "dc_branch", "gen", "storage", "reserves", "timeseries_pointers")
HOURS_2020 = 8784


def _hourly(path: Path, value_cols: list[str]) -> pl.DataFrame:
    """Read an hourly DAY_AHEAD file (Year, Month, Day, Period 1-24, values) with a time column."""
    df = pl.read_csv(path, infer_schema_length=None)
    if df.height != HOURS_2020:
        raise SystemExit(f"{path}: {df.height} rows, expected {HOURS_2020} hourly rows for 2020")
    missing = [c for c in value_cols if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    t = pl.datetime(pl.col("Year"), pl.col("Month"), pl.col("Day")) + pl.duration(hours=pl.col("Period") - 1)
    return df.select(t.alias("time"), *[pl.col(c).cast(pl.Float64) for c in value_cols])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/work/shared/benchmarks/rts-gmlc", type=Path)
    ap.add_argument("--root", default=Path(__file__).resolve().parents[1], type=Path)
    args = ap.parse_args()
    src: Path = args.src
    net_dir = args.root / "networks" / "rts-gmlc"
    ts_dir = args.root / "timeseries" / "rts-gmlc"
    net_dir.mkdir(parents=True, exist_ok=True)
    ts_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        shutil.copyfile(src / "SourceData" / f"{name}.csv", net_dir / f"{name}.csv")
    shutil.copyfile(src / "SourceData" / "README.md", net_dir / "SourceData_README.md")
    for d in (net_dir, ts_dir):
        shutil.copyfile(src / "NOTICE.md", d / "NOTICE.md")
        shutil.copyfile(src / "SOURCE.md", d / "SOURCE.md")

    # which column of which file each series comes from (DAY_AHEAD pointers)
    kinds = {"HYDRO": "hydro", "PV": "pv", "RTPV": "rtpv", "WIND": "wind", "CSP": "csp"}
    by_file: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    with open(src / "SourceData" / "timeseries_pointers.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Simulation"] != "DAY_AHEAD" or row["Category"] != "Generator":
                continue
            rel = row["Data File"].replace("../timeseries_data_files/", "")
            folder = rel.split("/")[0].upper()
            obj = row["Object"]
            if obj in seen:
                continue  # PMin and PMax of hydro/RTPV point at the same column
            seen.add(obj)
            col = obj
            gen_uid = obj
            if folder == "CSP":  # the series belongs to the head storage of 212_CSP_1
                col, gen_uid = "212_CSP_1", "212_CSP_1"
            by_file.setdefault(rel, []).append((col, f"{kinds[folder]}:{gen_uid}"))
    ts_root = src / "timeseries_data_files"
    # the snapshot spells the hydro folder "Hydro" while the pointers say "HYDRO"
    folders = {p.name.upper(): p.name for p in ts_root.iterdir() if p.is_dir()}

    def resolve(rel: str) -> Path:
        head, tail = rel.split("/", 1)
        return ts_root / folders[head.upper()] / tail

    load = _hourly(resolve("Load/DAY_AHEAD_regional_Load.csv"), ["1", "2", "3"]).rename(
        {"1": "load:1", "2": "load:2", "3": "load:3"}
    )
    frames = [load]
    for a in (1, 2, 3):
        sp = _hourly(resolve(f"Reserves/DAY_AHEAD_regional_Spin_Up_R{a}.csv"), [f"Spin_Up_R{a}"])
        frames.append(sp.rename({f"Spin_Up_R{a}": f"spin:{a}"}).drop("time"))
    for rel, cols in sorted(by_file.items()):
        df = _hourly(resolve(rel), [c for c, _ in cols])
        frames.append(df.select([pl.col(c).alias(n) for c, n in cols]))
    out = pl.concat(frames, how="horizontal")
    t = out["time"].to_numpy()
    if not np.all(np.diff(t).astype("timedelta64[h]").astype(int) == 1):
        raise SystemExit("time column is not hourly and consecutive")
    out.write_parquet(ts_dir / "day_ahead.parquet", compression="zstd", compression_level=19, statistics=False)
    print(f"wrote {ts_dir / 'day_ahead.parquet'}: {out.shape[0]} h x {out.shape[1] - 1} series; "
          f"{(ts_dir / 'day_ahead.parquet').stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
