"""Schemas of the case tables and time series, and validation at the boundary.

Every table in ``networks/<case>/`` is declared here column by column: dtype, unit,
allowed range and meaning (STYLE habit 5). :func:`validate_table` checks a frame read
from a CSV file against its schema and raises :class:`dispatch.errors.CaseError` naming
the file, the column, the row (1-based data row, the header is row 0) and the rule.
:func:`validate_series` does the same for hourly parquet series.

Sign convention (stated once): injection positive; exports withdraw (a negative export
``p_min_mw`` is an import capability).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from .errors import CaseError

HOURS_PER_YEAR = 8760
REGULATION = ("multi-year", "annual", "seasonal", "weekly", "daily", "ror")
#: Largest plausible single element in MW. A value above it is almost surely kW (or W).
MAX_ELEMENT_MW = 30000.0


@dataclass(frozen=True)
class Col:
    """One column of a table: name, dtype ('str', 'float', 'int'), unit, range, meaning."""

    name: str
    dtype: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    meaning: str = ""
    required: bool = True
    choices: tuple[str, ...] | None = None
    mw: bool = False  # subject to the kW-instead-of-MW guard


def _c(name: str, dtype: str, unit: str = "", lo: float | None = None, hi: float | None = None, meaning: str = "", **kw) -> Col:
    return Col(name, dtype, unit, lo, hi, meaning, **kw)


YEAR = _c("in_service_from", "int", "year", 1950, 2100, "first case year the element exists in")
SOURCE = _c("source", "str", "", meaning="citation key(s) for the row (see networks/README.md)")

SCHEMAS: dict[str, tuple[Col, ...]] = {
    "buses": (
        _c("name", "str", meaning="bus name (unique)"),
        _c("region", "str", choices=("chengdu", "south", "northeast", "panxi", "west"), meaning="planning region"),
        _c("prefecture", "str", meaning="prefecture"),
        _c("kind", "str", choices=("substation", "uhv", "collector", "converter"), meaning="bus role"),
        _c("vn_kv", "float", "kV", 100, 1200, "nominal voltage"),
        _c("lat", "float", "deg N", 20, 40, "latitude"),
        _c("lon", "float", "deg E", 95, 115, "longitude"),
        _c("load_share", "float", "1", 0, 1, "share of provincial load at the bus"),
        YEAR,
        SOURCE,
    ),
    "line_types": (
        _c("name", "str", meaning="line type name (unique)"),
        _c("vn_kv", "float", "kV", 100, 1200, "nominal voltage"),
        _c("r_ohm_per_km", "float", "ohm/km", 0, 1, "series resistance per circuit"),
        _c("x_ohm_per_km", "float", "ohm/km", 1e-4, 2, "series reactance per circuit"),
        _c("c_nf_per_km", "float", "nF/km", 0, 100, "shunt capacitance per circuit"),
        _c("max_i_ka", "float", "kA", 0.01, 20, "thermal current limit per circuit"),
        _c("sil_mw", "float", "MW", 1, 20000, "surge impedance loading per circuit"),
        SOURCE,
    ),
    "lines": (
        _c("name", "str", meaning="line name (unique)"),
        _c("from_bus", "str", meaning="bus name"),
        _c("to_bus", "str", meaning="bus name"),
        _c("length_km", "float", "km", 0.1, 3000, "route length"),
        _c("circuits", "int", "1", 1, 8, "parallel circuits"),
        _c("line_type", "str", meaning="name in line_types.csv"),
        YEAR,
        SOURCE,
    ),
    "trafos": (
        _c("name", "str", meaning="transformer name (unique)"),
        _c("hv_bus", "str", meaning="bus name"),
        _c("lv_bus", "str", meaning="bus name"),
        _c("units", "int", "1", 1, 8, "parallel units"),
        _c("sn_mva", "float", "MVA", 1, 5000, "rating per unit", mw=True),
        _c("vk_percent", "float", "%", 1, 40, "short-circuit voltage"),
        YEAR,
        SOURCE,
    ),
    "thermal": (
        _c("name", "str", meaning="unit name (unique)"),
        _c("plant", "str", meaning="plant"),
        _c("kind", "str", choices=("coal", "gas", "oil", "nuclear", "biomass"), meaning="fuel"),
        _c("class", "str", meaning="parameter class in thermal_classes.csv"),
        _c("bus", "str", meaning="bus name"),
        _c("p_max_mw", "float", "MW", 0.1, 5000, "maximum output", mw=True),
        _c("p_min_mw", "float", "MW", 0, 5000, "minimum stable output when on", mw=True),
        _c("ramp_up_mw_per_h", "float", "MW/h", 0.1, 1e5, "ramp-up limit while on"),
        _c("ramp_down_mw_per_h", "float", "MW/h", 0.1, 1e5, "ramp-down limit while on"),
        _c("min_up_h", "int", "h", 1, 168, "minimum up time"),
        _c("min_down_h", "int", "h", 1, 168, "minimum down time"),
        _c("su_hot_cny", "float", "CNY", 0, 1e8, "hot start cost"),
        _c("su_warm_cny", "float", "CNY", 0, 1e8, "warm start cost"),
        _c("su_cold_cny", "float", "CNY", 0, 1e8, "cold start cost"),
        _c("warm_after_h", "int", "h", 1, 500, "hours offline after which a start is warm"),
        _c("cold_after_h", "int", "h", 1, 1000, "hours offline after which a start is cold"),
        _c("heat_rate_gj_per_mwh", "float", "GJ/MWh", 3, 20, "average heat rate at p_max"),
        _c("heat_rate_pmin_gj_per_mwh", "float", "GJ/MWh", 3, 25, "average heat rate at p_min"),
        _c("vom_cny_per_mwh", "float", "CNY/MWh", 0, 1000, "variable O&M"),
        _c("co2_t_per_mwh", "float", "t/MWh", 0, 2, "CO2 emission factor at p_max"),
        YEAR,
        _c("must_run", "int", "0/1", 0, 1, "1 if the unit must stay on"),
        SOURCE,
        _c("param_source", "str", meaning="parameter class source", required=False),
    ),
    "thermal_classes": (
        _c("class", "str", meaning="class name (unique)"),
        _c("kind", "str", meaning="fuel"),
        _c("pmin_frac", "float", "1", 0, 1, "p_min / p_max"),
        _c("ramp_frac_per_min", "float", "1/min", 0, 1, "ramp rate as share of p_max per minute"),
        _c("min_up_h", "int", "h", 1, 168, ""),
        _c("min_down_h", "int", "h", 1, 168, ""),
        _c("su_hot_cny_per_mw", "float", "CNY/MW", 0, 1e5, ""),
        _c("su_warm_cny_per_mw", "float", "CNY/MW", 0, 1e5, ""),
        _c("su_cold_cny_per_mw", "float", "CNY/MW", 0, 1e5, ""),
        _c("hr_pmin_factor", "float", "1", 1, 2, "heat rate at pmin / heat rate at pmax"),
        _c("vom_cny_per_mwh", "float", "CNY/MWh", 0, 1000, ""),
        SOURCE,
    ),
    "hydro": (
        _c("name", "str", meaning="station name (unique)"),
        _c("river", "str", meaning="river"),
        _c("basin", "str", choices=("Jinsha", "Yalong", "Dadu", "Min", "Jialing"), meaning="hydro base"),
        _c("bus", "str", meaning="bus name"),
        _c("p_max_mw", "float", "MW", 0, 30000, "installed capacity", mw=True),
        _c("head_m", "float", "m", 1, 2000, "rated head"),
        _c("k_mw_per_m3s", "float", "MW/(m3/s)", 1e-3, 20, "conversion factor p = k q"),
        _c("q_min_m3s", "float", "m3/s", 0, 1e5, "minimum (ecological) release"),
        _c("v_min_hm3", "float", "hm3", 0, 1e5, "minimum volume"),
        _c("v_max_hm3", "float", "hm3", 0, 1e5, "maximum (normal pool) volume"),
        _c("regulation", "str", choices=REGULATION, meaning="regulation type"),
        _c("downstream", "str", meaning="next station downstream ('' if none)", required=False),
        _c("delay_h", "int", "h", 0, 240, "travel time to the downstream station"),
        _c("mean_flow_m3s", "float", "m3/s", 0, 1e5, "mean natural flow at the dam"),
        _c("mean_local_inflow_m3s", "float", "m3/s", 0, 1e5, "mean local (incremental) inflow"),
        _c("stat_share", "float", "1", 0, 1, "share counted in Sichuan statistics (border stations 0.5)"),
        _c("spill_max_m3s", "float", "m3/s", 0, 1e6, "spillway capacity"),
        YEAR,
        SOURCE,
    ),
    "renewables": (
        _c("name", "str", meaning="site name (unique)"),
        _c("kind", "str", choices=("wind", "solar", "hydro_ror"), meaning="technology"),
        _c("bus", "str", meaning="bus name"),
        _c("p_max_mw", "float", "MW", 0, 30000, "installed capacity", mw=True),
        _c("profile", "str", meaning="availability profile column in the time series"),
        YEAR,
        SOURCE,
    ),
    "storage": (
        _c("name", "str", meaning="storage name (unique)"),
        _c("kind", "str", choices=("pumped_hydro", "li_ion", "caes", "flow"), meaning="technology"),
        _c("bus", "str", meaning="bus name"),
        _c("p_ch_mw", "float", "MW", 0, 10000, "charge power", mw=True),
        _c("p_dis_mw", "float", "MW", 0, 10000, "discharge power", mw=True),
        _c("e_max_mwh", "float", "MWh", 0, 1e6, "energy capacity"),
        _c("e_min_mwh", "float", "MWh", 0, 1e6, "minimum energy"),
        _c("eta_ch", "float", "1", 0.3, 1, "charge efficiency"),
        _c("eta_dis", "float", "1", 0.3, 1, "discharge efficiency"),
        _c("loss_per_h", "float", "1/h", 0, 0.1, "self-discharge per hour"),
        YEAR,
        SOURCE,
    ),
    "dr": (
        _c("name", "str", meaning="resource name (unique)"),
        _c("bus", "str", meaning="bus name"),
        _c("program", "str", meaning="programme"),
        _c("p_max_mw", "float", "MW", 0, 20000, "maximum reduction", mw=True),
        _c("cost_cny_per_mwh", "float", "CNY/MWh", 0, 1e5, "cost per MWh reduced"),
        _c("max_dur_h", "int", "h", 1, 24, "maximum event duration"),
        _c("max_events", "int", "1/yr", 0, 8760, "maximum events per year"),
        _c("payback_frac", "float", "1", 0, 2, "share of reduced energy consumed again later"),
        YEAR,
        SOURCE,
    ),
    "exports": (
        _c("name", "str", meaning="link name (unique)"),
        _c("kind", "str", choices=("uhvdc", "hvdc", "dc_tie", "ac_tie"), meaning="link type"),
        _c("bus", "str", meaning="sending-end bus"),
        _c("p_max_mw", "float", "MW", 0, 20000, "export capacity", mw=True),
        _c("p_min_mw", "float", "MW", -20000, 20000, "minimum export (negative: import capability)"),
        _c("energy_twh", "float", "TWh", 0, 100, "normal-year scheduled export energy"),
        _c("profile", "str", meaning="schedule profile (basin or 'flex')"),
        _c("flex", "float", "1", 0, 1, "schedule band +/- share"),
        _c("price_cny_per_mwh", "float", "CNY/MWh", 0, 5000, "price earned per MWh exported"),
        _c("stat_share", "float", "1", 0, 1, "share counted as Sichuan export"),
        YEAR,
        SOURCE,
    ),
    "cases": (
        _c("case", "str", meaning="case name (unique)"),
        _c("year", "int", "year", 2000, 2100, "case year"),
        _c("peak_load_mw", "float", "MW", 1000, 1e6, "annual peak load", mw=True),
        _c("energy_twh", "float", "TWh", 1, 5000, "annual consumption (calendar year)"),
        _c("reserve_frac", "float", "1", 0, 0.5, "spinning reserve as share of load"),
        _c("reserve_min_mw", "float", "MW", 0, 1e5, "minimum spinning reserve"),
        _c("coal_price_cny_per_gj", "float", "CNY/GJ", 0, 1000, ""),
        _c("gas_price_cny_per_gj", "float", "CNY/GJ", 0, 1000, ""),
        _c("biomass_price_cny_per_gj", "float", "CNY/GJ", 0, 1000, ""),
        _c("co2_price_cny_per_t", "float", "CNY/t", 0, 5000, ""),
        _c("voll_cny_per_mwh", "float", "CNY/MWh", 100, 1e6, "value of lost load"),
        _c("dr_share_of_peak", "float", "1", 0, 1, "DR capacity target as share of peak"),
        _c("description", "str", meaning=""),
        SOURCE,
    ),
    # published annual figures: calibration targets for `dispatch check` (not model input)
    "statistics": (
        _c("year", "int", "year", 2000, 2100, "calendar year"),
        _c("quantity", "str", choices=("consumption", "hydro", "thermal", "wind", "solar", "net_exports"),
           meaning="what is counted (see checks.statistics)"),
        _c("value_twh", "float", "TWh", 0, 10000, "published annual value"),
        _c("tolerance", "float", "1", 0, 1, "largest relative difference that passes; 0: shown, not judged"),
        _c("note", "str", meaning="how the figure is counted"),
        SOURCE,
    ),
}

#: Columns whose values together must be unique in a table (default: its first column, a
#: non-empty name).
KEYS: dict[str, tuple[str, ...]] = {"statistics": ("year", "quantity")}

#: Which tables reference buses through which columns.
BUS_REFS = {
    "lines": ("from_bus", "to_bus"),
    "trafos": ("hv_bus", "lv_bus"),
    "thermal": ("bus",),
    "hydro": ("bus",),
    "renewables": ("bus",),
    "storage": ("bus",),
    "dr": ("bus",),
    "exports": ("bus",),
}


def describe(table: str) -> str:
    """The schema of ``table`` as a Markdown table (used to write the README)."""
    lines = ["| column | dtype | unit | range | meaning |", "|---|---|---|---|---|"]
    for c in SCHEMAS[table]:
        rng = f"[{c.lo}, {c.hi}]" if c.lo is not None else (", ".join(c.choices) if c.choices else "")
        lines.append(f"| {c.name} | {c.dtype} | {c.unit} | {rng} | {c.meaning} |")
    return "\n".join(lines)


def _fail(msg: str, file: str, column: str | None = None, row: int | str | None = None) -> CaseError:
    return CaseError(msg, file=file, column=column, row=row)


def validate_table(df: pl.DataFrame, table: str, file: str) -> pl.DataFrame:
    """Check ``df`` against the schema of ``table``; return it with columns cast to their dtypes.

    Parameters
    ----------
    df : frame as read from the CSV (strings are fine, they are cast here).
    table : key of :data:`SCHEMAS`.
    file : the file name used in error messages.

    Raises
    ------
    CaseError
        Missing column, value that is not a number, NaN/inf, out of range, not one of the
        allowed values, empty or duplicate name, p_min > p_max and similar, each naming
        file, column and (1-based) row.
    """
    schema = SCHEMAS[table]
    out = {}
    for c in schema:
        if c.name not in df.columns:
            if c.required:
                raise _fail(f"missing column; table '{table}' needs columns {[x.name for x in schema if x.required]}", file, c.name)
            out[c.name] = pl.Series(c.name, [""] * df.height, dtype=pl.String)
            continue
        s = df[c.name]
        if c.dtype == "str":
            s = s.cast(pl.String).fill_null("")
            if c.choices is not None:
                bad = ~s.is_in(list(c.choices))
                if bad.any():
                    i = int(bad.arg_max())
                    raise _fail(f"value {s[i]!r} not allowed; allowed: {', '.join(c.choices)}", file, c.name, i + 1)
        else:
            if s.dtype == pl.String:
                s = s.str.strip_chars()
                s = s.replace("", None)
                if s.is_null().any():
                    i = int(s.is_null().arg_max())
                    raise _fail(f"value is missing; a finite number in {c.unit or 'unitless'} is required", file, c.name, i + 1)
            try:
                f = s.cast(pl.Float64, strict=True)
            except Exception:
                f = s.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
                bad = f.is_null() & s.is_not_null()
                i = int(bad.arg_max()) if bad.any() else int(f.is_null().arg_max())
                raise _fail(f"value {s[i]!r} is not a number ({c.unit or 'unitless'})", file, c.name, i + 1) from None
            arr = f.to_numpy().astype(np.float64, copy=False)
            nonfinite = ~np.isfinite(arr)
            if nonfinite.any():
                i = int(np.argmax(nonfinite))
                raise _fail(f"value {arr[i]} is missing/NaN/inf; a finite number in {c.unit or 'unitless'} is required", file, c.name, i + 1)
            if c.mw and c.lo is not None:
                big = arr > max(MAX_ELEMENT_MW, c.hi or 0)
                if big.any():
                    i = int(np.argmax(big))
                    raise _fail(f"value {arr[i]:g} is implausibly large for MW (kW instead of MW?); allowed [{c.lo}, {c.hi}] {c.unit}", file, c.name, i + 1)
            lo = -math.inf if c.lo is None else c.lo
            hi = math.inf if c.hi is None else c.hi
            bad = (arr < lo) | (arr > hi)
            if bad.any():
                i = int(np.argmax(bad))
                what = "negative" if arr[i] < 0 <= lo else "out of range"
                raise _fail(f"value {arr[i]:g} is {what}; allowed [{c.lo}, {c.hi}] {c.unit}", file, c.name, i + 1)
            if c.dtype == "int":
                if np.any(arr != np.round(arr)):
                    i = int(np.argmax(arr != np.round(arr)))
                    raise _fail(f"value {arr[i]:g} must be an integer ({c.unit})", file, c.name, i + 1)
                s = pl.Series(c.name, arr.astype(np.int64))
            else:
                s = pl.Series(c.name, arr)
        out[c.name] = s
    res = pl.DataFrame(out)
    keys = KEYS.get(table, (schema[0].name,))
    if len(keys) == 1:  # a table keyed by name
        key = keys[0]
        names = res[key]
        empty = names.str.len_chars() == 0
        if empty.any():
            raise _fail("empty name", file, key, int(empty.arg_max()) + 1)
        dup = ~names.is_first_distinct()
        if dup.any():
            i = int(dup.arg_max())
            first = int((names == names[i]).arg_max())
            raise _fail(f"duplicate name {names[i]!r} (first in row {first + 1}); names must be unique", file, key, i + 1)
    else:
        dup = ~res.select(pl.struct(list(keys)).is_first_distinct()).to_series()
        if dup.any():
            i = int(dup.arg_max())
            val = tuple(res.row(i, named=True)[k] for k in keys)
            same = pl.all_horizontal([pl.col(k) == v for k, v in zip(keys, val)])
            first = int(res.select(same).to_series().arg_max())
            raise _fail(f"duplicate ({', '.join(keys)}) {val} (first in row {first + 1}); must be unique", file,
                        keys[-1], i + 1)
    _row_rules(res, table, file)
    return res


def _check(mask: np.ndarray, msg: str, file: str, column: str, names: pl.Series | None = None) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        who = f" ({names[i]})" if names is not None else ""
        raise _fail(msg + who, file, column, i + 1)


def _row_rules(df: pl.DataFrame, table: str, file: str) -> None:
    n = df[df.columns[0]]
    g = lambda c: df[c].to_numpy()  # noqa: E731
    if table == "thermal":
        _check(g("p_min_mw") > g("p_max_mw"), "p_min_mw > p_max_mw; need 0 <= p_min_mw <= p_max_mw", file, "p_min_mw", n)
        _check(g("heat_rate_pmin_gj_per_mwh") < g("heat_rate_gj_per_mwh"), "heat rate at p_min below heat rate at p_max (cost not convex)", file, "heat_rate_pmin_gj_per_mwh", n)
        _check(g("su_warm_cny") < g("su_hot_cny"), "warm start cheaper than hot start; need hot <= warm <= cold", file, "su_warm_cny", n)
        _check(g("su_cold_cny") < g("su_warm_cny"), "cold start cheaper than warm start; need hot <= warm <= cold", file, "su_cold_cny", n)
        _check(g("cold_after_h") <= g("warm_after_h"), "cold_after_h must exceed warm_after_h", file, "cold_after_h", n)
    elif table == "hydro":
        _check(g("v_min_hm3") > g("v_max_hm3"), "v_min_hm3 > v_max_hm3", file, "v_min_hm3", n)
        outlet = g("p_max_mw") / g("k_mw_per_m3s") + g("spill_max_m3s")
        _check((g("mean_local_inflow_m3s") > 0) & (outlet <= 0), "reservoir with inflow but no outlet (p_max_mw = 0 and spill_max_m3s = 0)", file, "spill_max_m3s", n)
        names = set(n.to_list())
        down = df["downstream"].to_list()
        for i, d in enumerate(down):
            if d and d not in names:
                raise _fail(f"unknown downstream station {d!r}; must be a station name or empty", file, "downstream", i + 1)
            if d == n[i]:
                raise _fail("a station cannot be its own downstream", file, "downstream", i + 1)
        _check((df["downstream"] != "").to_numpy() & (g("delay_h") < 1), "delay_h must be >= 1 when a downstream station is given", file, "delay_h", n)
        # no cycles
        nxt = dict(zip(n.to_list(), down))
        for i, s in enumerate(n.to_list()):
            seen, cur = {s}, nxt[s]
            while cur:
                if cur in seen:
                    raise _fail(f"cascade cycle through {cur!r}", file, "downstream", i + 1)
                seen.add(cur)
                cur = nxt[cur]
    elif table == "storage":
        _check(g("e_max_mwh") <= 0, "storage with zero energy capacity; e_max_mwh must be > 0", file, "e_max_mwh", n)
        _check(g("e_min_mwh") > g("e_max_mwh"), "e_min_mwh > e_max_mwh", file, "e_min_mwh", n)
        _check((g("p_ch_mw") <= 0) & (g("p_dis_mw") <= 0), "storage with zero power", file, "p_dis_mw", n)
    elif table == "exports":
        _check(g("p_min_mw") > g("p_max_mw"), "p_min_mw > p_max_mw", file, "p_min_mw", n)
    elif table == "lines":
        _check((df["from_bus"] == df["to_bus"]).to_numpy(), "line connects a bus to itself", file, "to_bus", n)


def check_refs(tables: dict[str, pl.DataFrame], files: dict[str, str]) -> None:
    """Cross-table checks: bus names, line types, bus in service no later than its elements."""
    buses = tables["buses"]
    bus_year = dict(zip(buses["name"].to_list(), buses["in_service_from"].to_list()))
    for t, cols in BUS_REFS.items():
        if t not in tables:
            continue
        df = tables[t]
        for c in cols:
            for i, (b, y) in enumerate(zip(df[c].to_list(), df["in_service_from"].to_list())):
                if b not in bus_year:
                    raise _fail(f"unknown bus {b!r}; must be a name in buses.csv", files[t], c, i + 1)
                if y < bus_year[b]:
                    raise _fail(f"element in service from {y} but bus {b!r} only from {bus_year[b]}", files[t], "in_service_from", i + 1)
    types = set(tables["line_types"]["name"].to_list())
    for i, lt in enumerate(tables["lines"]["line_type"].to_list()):
        if lt not in types:
            raise _fail(f"unknown line type {lt!r}; must be a name in line_types.csv", files["lines"], "line_type", i + 1)


def validate_series(df: pl.DataFrame, file: str, columns: list[str] | None = None, lo: float = 0.0, hi: float = math.inf,
                    unit: str = "") -> None:
    """Check an hourly series frame: ``hour`` 0..8759 without gaps, finite values in ``[lo, hi]``.

    ``columns`` (if given) must all be present; an unknown column is not an error here
    (callers decide), a missing one is.
    """
    if df.height != HOURS_PER_YEAR:
        raise _fail(f"series has {df.height} rows; exactly {HOURS_PER_YEAR} hourly rows are required", file, None, None)
    if "hour" not in df.columns:
        raise _fail("missing column; an integer hour-of-year column 'hour' (0..8759) is required", file, "hour")
    if not df["hour"].dtype.is_integer():
        raise _fail(f"dtype {df['hour'].dtype} not allowed; the hour column must be an integer 0..8759", file, "hour")
    if df["hour"].null_count():
        i = int(df["hour"].is_null().arg_max())
        raise _fail("hour is missing; hours must run 0..8759 without gaps or repeats", file, "hour", i + 1)
    h = df["hour"].to_numpy()
    gap = h != np.arange(HOURS_PER_YEAR)
    if gap.any():
        i = int(np.argmax(gap))
        raise _fail(f"hour {h[i]} where {i} expected; hours must run 0..8759 without gaps or repeats", file, "hour", i + 1)
    for c in columns or []:
        if c not in df.columns:
            raise _fail("missing column", file, c)
    for c in df.columns:
        if c == "hour":
            continue
        a = df[c].to_numpy()
        if a.dtype.kind not in "fiu":
            raise _fail(f"dtype {df[c].dtype} is not numeric", file, c)
        bad = ~np.isfinite(a)
        if bad.any():
            i = int(np.argmax(bad))
            raise _fail(f"value {a[i]} is NaN/inf; finite {unit} values are required", file, c, i + 1)
        bad = (a < lo) | (a > hi)
        if bad.any():
            i = int(np.argmax(bad))
            hint = " (kW instead of MW?)" if unit == "MW" and a[i] > hi else ""
            raise _fail(f"value {a[i]:g} out of range{hint}; allowed [{lo}, {hi}] {unit}", file, c, i + 1)
