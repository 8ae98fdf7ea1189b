"""Shipped cases: find the data, load and validate it into a :class:`Case`.

Data lookup (:func:`data_dir`): the environment variable ``DISPATCH_DATA``, else
``Path(dispatch.__file__).parent / "networks"`` (an installed wheel, where pyproject maps
``networks/`` to ``dispatch/networks`` and ``timeseries/`` to ``dispatch/timeseries``),
else the repository's ``networks/`` (editable install). Time series live in the sibling
``timeseries/`` folder (:func:`timeseries_dir`). ``DISPATCH_DATA`` may point either at a
folder holding ``networks/`` and ``timeseries/`` or at a networks folder itself.

Loading reads CSV and parquet only (no pickle, no JSON object instantiation, no code
from files), validates every table and series against :mod:`dispatch.schema`, keeps the
elements in service in the case year and re-routes the hydro cascade around stations
not yet built. The pandapower net is built on first access of ``Case.net`` (importing
pandapower costs seconds; the tables and series do not need it).
"""

from __future__ import annotations

import importlib

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import schema
from .errors import CaseError

if TYPE_CHECKING:  # pragma: no cover
    from .arrays import SystemArrays

NETWORK = "sichuan"
HYDROLOGIES = ("normal", "wet", "dry", "drought-2022")
TABLE_FILES = {
    "buses": "buses.csv",
    "line_types": "line_types.csv",
    "lines": "lines.csv",
    "trafos": "trafos.csv",
    "thermal": "thermal.csv",
    "thermal_classes": "thermal_classes.csv",
    "hydro": "hydro.csv",
    "renewables": "renewables.csv",
    "storage": "storage.csv",
    "dr": "dr.csv",
    "exports": "exports.csv",
    "cases": "cases.csv",
}
YEAR_TABLES = ("buses", "lines", "trafos", "thermal", "hydro", "renewables", "storage", "dr", "exports")


def data_dir() -> Path:
    """The folder holding the case networks (``<dir>/sichuan/*.csv``)."""
    env = os.environ.get("DISPATCH_DATA")
    if env:
        p = Path(env)
        return p / "networks" if (p / "networks").is_dir() else p
    import dispatch

    pkg = Path(dispatch.__file__).resolve().parent / "networks"
    if (pkg / NETWORK).is_dir():
        return pkg
    return Path(__file__).resolve().parents[2] / "networks"


def timeseries_dir() -> Path:
    """The folder holding the time series (sibling of :func:`data_dir`)."""
    return data_dir().parent / "timeseries"


def _read_csv(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise CaseError("file not found", file=str(path))
    try:
        return pl.read_csv(path, infer_schema_length=0)
    except Exception as exc:  # malformed CSV (ragged rows, bad quoting, ...)
        raise CaseError(f"cannot parse CSV: {exc}", file=str(path)) from None


def _cases_table() -> pl.DataFrame:
    f = data_dir() / NETWORK / TABLE_FILES["cases"]
    return schema.validate_table(_read_csv(f), "cases", str(f))


def published_statistics(year: int | None = None) -> pl.DataFrame:
    """Published annual figures of the Sichuan system (``networks/sichuan/statistics.csv``,
    validated: a bad value names the file, column and row), for ``year`` or all years."""
    f = data_dir() / NETWORK / "statistics.csv"
    df = schema.validate_table(_read_csv(f), "statistics", str(f))
    return df if year is None else df.filter(pl.col("year") == int(year))


def list_cases() -> list[str]:
    """Names of the shipped cases (plus ``rts-gmlc``, loaded by :mod:`dispatch.rts`)."""
    return _cases_table()["case"].to_list() + ["rts-gmlc"]


@dataclass(eq=False)
class Case:
    """A loaded case: tables and time series of the elements in service in ``year``.

    Attributes
    ----------
    name, hydrology, year : what was loaded.
    tables : unit tables (``thermal``, ``hydro``, ``renewables``, ``storage``, ``dr``,
        ``exports``, ``buses``, ``lines``, ``trafos``, ``line_types``, ``thermal_classes``,
        ``cases``) as polars frames, already validated and filtered to the year.
    series : hourly frames with an ``hour`` column (0..8759): ``load`` (MW per load bus),
        ``renewables_pu`` (per profile), ``ror_pu`` (per small-hydro profile), ``inflow``
        (m3/s local inflow per in-service station, re-routed), ``exports`` (MW,
        ``<link>_min``/``<link>_max``).
    meta : scalars (fuel prices, peak load, reserve rule, file paths, ...).
    net : the pandapower net (property, built on first access and cached).
    """

    name: str
    hydrology: str
    year: int
    tables: dict[str, pl.DataFrame]
    series: dict[str, pl.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)
    _net: Any = field(default=None, repr=False)
    _arrays: Any = field(default=None, repr=False)

    @property
    def net(self) -> Any:
        """The pandapower net (see :func:`dispatch.network.build_net`)."""
        if self._net is None:
            from .network import build_net

            self._net = build_net(self.tables, name=self.name, peak_load_mw=float(self.meta["peak_load_mw"]))
        return self._net

    def to_arrays(self) -> "SystemArrays":
        """The case as :class:`dispatch.arrays.SystemArrays` (cached; see :mod:`dispatch.compile`)."""
        if self._arrays is None:
            from .compile import compile_case

            self._arrays = compile_case(self)
        return self._arrays


def load_case(name: str, hydrology: str = "normal") -> Any:
    """Load a shipped case.

    Parameters
    ----------
    name : one of :func:`list_cases` (``"sichuan-2024"``, ``"sichuan-2025"``,
        ``"sichuan-2030"``, ``"rts-gmlc"``).
    hydrology : ``"normal"``, ``"wet"``, ``"dry"`` or ``"drought-2022"`` (Sichuan cases).

    Returns
    -------
    Case
        (``rts-gmlc`` returns what :func:`dispatch.rts.load_rts_case` returns.)

    Raises
    ------
    CaseError
        Unknown case or hydrology, or malformed data (the message names file, column, row).
    """
    if name == "rts-gmlc":
        try:
            rts = importlib.import_module("dispatch.rts")
        except ImportError as exc:
            raise CaseError(f"case 'rts-gmlc' needs dispatch.rts, which is not available ({exc})") from None
        return rts.load_rts_case()
    cases = _cases_table()
    if name not in cases["case"].to_list():
        raise CaseError(f"unknown case {name!r}; known: {', '.join(list_cases())}")
    if hydrology not in HYDROLOGIES:
        raise CaseError(f"unknown hydrology {hydrology!r}; known: {', '.join(HYDROLOGIES)}")
    row = cases.filter(pl.col("case") == name).to_dicts()[0]
    year = int(row["year"])
    root = data_dir() / NETWORK
    files = {t: str(root / f) for t, f in TABLE_FILES.items()}
    tables: dict[str, pl.DataFrame] = {"cases": cases}
    for t, f in TABLE_FILES.items():
        if t == "cases":
            continue
        tables[t] = schema.validate_table(_read_csv(root / f), t, files[t])
    schema.check_refs(tables, files)
    full_hydro = tables["hydro"]
    for t in YEAR_TABLES:
        tables[t] = tables[t].filter(pl.col("in_service_from") <= year)
    from .network import check_connected

    check_connected(tables, files["lines"])
    hydro, routing = _reroute(full_hydro, year)
    tables["hydro"] = hydro
    series, paths = _load_series(name, hydrology, tables, full_hydro, routing)
    load_tot = series["load"].drop("hour").sum_horizontal().to_numpy()
    meta = {
        "case": name,
        "year": year,
        "hydrology": hydrology,
        "currency": "CNY",
        "peak_load_mw": float(load_tot.max()),
        "energy_twh": float(load_tot.sum() / 1e6),
        "reserve_frac": float(row["reserve_frac"]),
        "reserve_min_mw": float(row["reserve_min_mw"]),
        "fuel_price_cny_per_gj": {"coal": float(row["coal_price_cny_per_gj"]), "gas": float(row["gas_price_cny_per_gj"]),
                                  "biomass": float(row["biomass_price_cny_per_gj"]), "oil": float(row["gas_price_cny_per_gj"]),
                                  "nuclear": 0.0},
        "co2_price_cny_per_t": float(row["co2_price_cny_per_t"]),
        "voll": float(row["voll_cny_per_mwh"]),
        "description": row["description"],
        "hydro_routing": routing,
        "files": {**files, **paths},
    }
    return Case(name=name, hydrology=hydrology, year=year, tables=tables, series=series, meta=meta)


def _reroute(hydro: pl.DataFrame, year: int) -> tuple[pl.DataFrame, dict[str, str]]:
    """Keep stations in service in ``year``; link each to the next in-service station downstream
    (delays add up) and send the local inflow of a missing station to that next station.

    Returns the filtered table and ``{missing station: receiving station or ''}``.
    """
    names = hydro["name"].to_list()
    down = dict(zip(names, hydro["downstream"].to_list()))
    delay = dict(zip(names, hydro["delay_h"].to_list()))
    alive = {n for n, y in zip(names, hydro["in_service_from"].to_list()) if y <= year}

    def nxt(n: str) -> tuple[str, int]:
        d, lag = down[n], delay[n]
        while d and d not in alive:
            lag += delay[d]
            d = down[d]
        return d, (lag if d else 0)

    new_down, new_delay = [], []
    for n in names:
        d, lag = nxt(n)
        new_down.append(d)
        new_delay.append(lag)
    routing = {n: nxt(n)[0] for n in names if n not in alive}
    out = hydro.with_columns(pl.Series("downstream", new_down), pl.Series("delay_h", new_delay, dtype=pl.Int64))
    return out.filter(pl.col("in_service_from") <= year), routing


def _read_series(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise CaseError("time-series file not found (run scripts/build_timeseries.py)", file=str(path))
    try:
        return pl.read_parquet(path)
    except Exception as exc:
        raise CaseError(f"cannot read parquet: {exc}", file=str(path)) from None


def _known_columns(df: pl.DataFrame, allowed: set[str], file: str, what: str) -> None:
    for c in df.columns:
        if c != "hour" and c not in allowed:
            raise CaseError(f"unknown {what} {c!r}; columns must name {what}s of the case tables", file=file, column=c)


#: Allowed ratio of the load series' peak to ``cases.csv`` ``peak_load_mw`` (heatwave years
#: run ~6 % above it; a factor of 1000 is kW or W written for MW).
PEAK_RATIO = (0.5, 2.0)


def _check_load_scale(load: pl.DataFrame, case_row: pl.DataFrame, file: str) -> None:
    """Order-of-magnitude guard: the series' peak must be near the case's stated peak."""
    total = load.drop("hour").sum_horizontal().to_numpy()
    want = float(case_row["peak_load_mw"][0])
    peak = float(total.max()) if total.size else 0.0
    ratio = peak / want
    if not PEAK_RATIO[0] <= ratio <= PEAK_RATIO[1]:
        i = int(np.argmax(total))
        hint = " (kW instead of MW?)" if ratio > 100 else ""
        raise CaseError(
            f"the load series peaks at {peak:g} MW, {ratio:.3g} x the case's peak_load_mw {want:g} in cases.csv{hint}; "
            f"the series must be in MW with a peak within {PEAK_RATIO[0]:g}..{PEAK_RATIO[1]:g} x peak_load_mw",
            file=file, row=i + 1,
        )


def _load_series(name: str, hydrology: str, tables: dict[str, pl.DataFrame], full_hydro: pl.DataFrame,
                 routing: dict[str, str]) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    ts = timeseries_dir()
    p = {
        "load": ts / name / "load.parquet",
        "renewables_pu": ts / "common" / "renewables_pu.parquet",
        "ror_pu": ts / "common" / f"ror_pu_{hydrology}.parquet",
        "inflow": ts / "common" / f"inflow_{hydrology}.parquet",
        "exports": ts / name / f"exports_{hydrology}.parquet",
    }
    lf = ts / "common" / f"load_factor_{hydrology}.parquet"
    out: dict[str, pl.DataFrame] = {}
    # load: one column per load bus (load_share > 0), MW
    load = _read_series(p["load"])
    buses = tables["buses"]
    load_buses = buses.filter(pl.col("load_share") > 0)["name"].to_list()
    _known_columns(load, set(buses["name"].to_list()), str(p["load"]), "bus")
    schema.validate_series(load, str(p["load"]), load_buses, 0.0, schema.MAX_ELEMENT_MW * 3, "MW")
    if lf.is_file():
        fac = _read_series(lf)
        schema.validate_series(fac, str(lf), ["load_factor"], 0.0, 3.0, "")
        f = fac["load_factor"].to_numpy().astype(np.float64)
        load = load.with_columns([(pl.col(c).cast(pl.Float64) * f).alias(c) for c in load_buses])
        p["load_factor"] = lf
    out["load"] = load.select(["hour"] + load_buses)
    _check_load_scale(out["load"], tables["cases"].filter(pl.col("case") == name), str(p["load"]))
    # wind/solar and small-hydro availability, pu
    ren = tables["renewables"]
    for key, kinds in (("renewables_pu", ("wind", "solar")), ("ror_pu", ("hydro_ror",))):
        df = _read_series(p[key])
        need = sorted(set(ren.filter(pl.col("kind").is_in(list(kinds)))["profile"].to_list()))
        schema.validate_series(df, str(p[key]), need, 0.0, 1.0, "pu")
        out[key] = df
    # inflows: one column per station of the full table (m3/s), re-routed to in-service stations
    inflow = _read_series(p["inflow"])
    _known_columns(inflow, set(full_hydro["name"].to_list()), str(p["inflow"]), "station")
    schema.validate_series(inflow, str(p["inflow"]), full_hydro["name"].to_list(), 0.0, 1e6, "m3/s")
    alive = tables["hydro"]["name"].to_list()
    cols = {c: inflow[c].cast(pl.Float64).to_numpy().copy() for c in alive}
    for miss, to in routing.items():
        if to:
            cols[to] = cols[to] + inflow[miss].cast(pl.Float64).to_numpy()
    out["inflow"] = pl.DataFrame({"hour": inflow["hour"], **cols})
    # exports: <link>_min / <link>_max for every link in service
    ex = _read_series(p["exports"])
    links = tables["exports"]["name"].to_list()
    need = [f"{n}_{s}" for n in links for s in ("min", "max")]
    _known_columns(ex, set(need), str(p["exports"]), "export link bound")
    schema.validate_series(ex, str(p["exports"]), need, -20000.0, 20000.0, "MW")
    for n in links:
        lo, hi = ex[f"{n}_min"].to_numpy(), ex[f"{n}_max"].to_numpy()
        bad = lo > hi + 1e-3
        if bad.any():
            i = int(np.argmax(bad))
            raise CaseError(f"minimum {lo[i]:g} above maximum {hi[i]:g}", file=str(p["exports"]), column=f"{n}_min", row=i + 1)
    out["exports"] = ex.select(["hour"] + need)
    return out, {k: str(v) for k, v in p.items()}
