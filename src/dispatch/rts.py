"""RTS-GMLC (NREL's updated IEEE RTS-96) as a second shipped case: ``load_case("rts-gmlc")``.

Data: ``networks/rts-gmlc/*.csv`` (SourceData tables, unchanged) and
``timeseries/rts-gmlc/day_ahead.parquet`` (the 8784 DAY_AHEAD hours of 2020, packed by
``scripts/build_rts.py``). NOTICE.md (NREL data disclaimer) travels with both folders.
Column meanings: ``networks/rts-gmlc/SourceData_README.md``. Modelling choices and the
consistency check against the 12 PGLib-UC ``rts_gmlc`` days: ``networks/rts-gmlc/README.md``.

Mapping (gen.csv column -> SystemArrays), thermal = Coal, Gas CC, Gas CT, Oil CT, Oil ST, Nuclear
-------------------------------------------------------------------------------------------
* ``PMin MW``/``PMax MW`` -> ``th_pmin``/``th_pmax``; ``Ramp Rate MW/Min`` x 60 ->
  ``th_ramp_up``/``th_ramp_down`` (``ramp_minutes`` changes the 60; PGLib used 20);
  start-up and shut-down ramps = PMin (RTS has no separate value: a unit starts and stops
  at its minimum stable level, as PGLib's rts_gmlc days assume).
* ``Min Up/Down Time Hr`` -> ``th_min_up``/``th_min_down``, rounded up to whole hours.
* Heat rate -> cost: points ``Output_pct_k x PMax``; fuel at the first point
  ``P0 x HR_avg_0`` (BTU/kWh = MMBTU/MWh / 1000), then ``HR_incr_k`` on each segment;
  $ = MMBTU x ``Fuel Price $/MMBTU``, plus ``VOM`` $/MWh on all output. So
  ``th_cost_pmin = P0 (HR_avg_0/1000 price + VOM)`` and segment slopes
  ``HR_incr_k/1000 price + VOM``. A zero ``HR_incr_k`` (nuclear) means "not given": the
  average heat rate is used. Non-convex curves are replaced by their lower convex
  envelope (none in the shipped data; the check is kept).
* Start-up by temperature state: category lags ``Start Time Hot/Warm/Cold Hr`` (rounded up,
  at least the min-down time), costs ``Start Heat Hot/Warm/Cold MBTU x fuel price +
  Non Fuel Start Cost $``; categories that fall on the same lag keep the colder (more
  expensive) one and the first lag is the min-down time. This reproduces PGLib's numbers
  exactly (e.g. ``123_STEAM_3``: 48 h 21381.74 $, 96 h 36749.81 $).
* ``Emissions CO2 Lbs/MMBTU`` x full-load average heat rate -> ``th_co2`` (t/MWh).
* Nuclear is must-run (``th_must_run``; as in PGLib).

Other components
----------------
* Load: each area's series spread over its buses by their share of the area's ``MW Load``
  in bus.csv (the RTS-GMLC README's rule).
* Wind, utility PV, rooftop PV, hydro: hourly availability (``re_avail_mw``; kinds
  ``wind``, ``solar``, ``solar`` (rooftop kept apart in ``tables['gen']``), ``hydro_ror``).
  In RTS-GMLC hydro and rooftop PV have PMin = PMax (must take); with
  ``must_take_fixed=True`` their output is taken off the bus load (exact must-take),
  otherwise they can be curtailed like wind (counted as curtailment / hydro spill).
* CSP ``212_CSP_1`` (200 MW turbine, 1.2 GWh thermal store, ``csp`` series = solar-field
  power in MW): renewable ``csp`` with availability ``min(field, 200 MW)`` plus a storage
  ``212_CSP_TES`` (1200 MWh, charge <= 100 MW = "Inflow Limit 0.1 GWh" per hour, discharge
  <= 200 MW, lossless). Approximation: the store may charge from the grid and the sum of
  direct and stored output is not capped at 200 MW.
* Battery ``313_STORAGE_1``: 50 MW charge (``Pump Load MW``) and discharge, 150 MWh
  (head storage 0.15 GWh), round trip 85 % split evenly (sqrt(0.85) each way).
* DC line ``DC1`` (113 -> 316): a controllable, lossless two-terminal DC link
  (``SystemArrays.dc_*``) from ``From Bus`` to ``To Bus`` of dc_branch.csv with
  ``|flow| <= MW Load`` (100 MW) in either direction, positive from 113 to 316, no cost.
  Approximation: the converter data (firing angles, ``R Line`` = 5 ohm, ...) are not
  modelled, so the link has no losses. The engines schedule its flow (the milp as a
  variable, native in its network repair); with ``network=False`` it has no effect.
* Spinning reserve: the three area requirements ``Spin_Up_R1..R3`` summed into the system
  ``reserve_up_mw`` (SystemArrays has one zone; areas and eligibility by type are not
  modelled). The sum is 3 % of load, as in PGLib.
* Network: 73 buses, 104 lines and 16 transformers from bus.csv/branch.csv; DC PTDF from
  ``X`` (and the transformer ratio), slack at the ``Ref`` bus (113);
  ratings ``Cont Rating``. The pandapower net is built with pandapower's create
  functions (``rts_net``); nothing is read with ``from_json`` outside the tests.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import State, SystemArrays
from .errors import CaseError

NAME = "rts-gmlc"
YEAR = 2020
HOURS = 8784
LB_PER_TONNE = 2204.62262185
THERMAL_CATEGORIES = {"Coal": "coal", "Gas CC": "gas", "Gas CT": "gas", "Oil CT": "oil", "Oil ST": "oil", "Nuclear": "nuclear"}
RE_CATEGORIES = {"Wind": ("wind", "wind"), "Solar PV": ("solar", "pv"), "Solar RTPV": ("solar", "rtpv"), "Hydro": ("hydro_ror", "hydro")}
BASE_MVA = 100.0


def network_dir() -> Path:
    """Folder of the RTS-GMLC tables (``networks/rts-gmlc``), found like Sichuan's
    (:func:`dispatch.case.data_dir`: ``DISPATCH_DATA``, the installed package, the repository)."""
    from .case import data_dir

    d = data_dir() / NAME
    if not d.is_dir():
        raise CaseError("RTS-GMLC tables not found; run scripts/build_rts.py", file=str(d))
    return d


def series_file() -> Path:
    """The packed day-ahead series (``timeseries/rts-gmlc/day_ahead.parquet``)."""
    from .case import timeseries_dir

    f = timeseries_dir() / NAME / "day_ahead.parquet"
    if not f.is_file():
        raise CaseError("RTS-GMLC series not found; run scripts/build_rts.py", file=str(f))
    return f


def _read(name: str) -> Any:
    import polars as pl

    f = network_dir() / f"{name}.csv"
    try:
        return pl.read_csv(f, null_values="NA", infer_schema_length=None)
    except FileNotFoundError:
        raise CaseError("missing RTS-GMLC table", file=str(f)) from None


def _col(df: Any, name: str, file: str) -> np.ndarray:
    if name not in df.columns:
        raise CaseError("missing column", file=file, column=name)
    return df[name].to_numpy()


@dataclass
class RtsCase:
    """The RTS-GMLC case: tables, series, pandapower net (built lazily), ``to_arrays()``.

    Same attributes as :class:`dispatch.case.Case` (``name``, ``hydrology``, ``year``,
    ``net``, ``tables``, ``series``, ``meta``); ``to_arrays`` calls :func:`rts_to_arrays`.
    """

    name: str
    tables: dict[str, Any]
    series: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    hydrology: str | None = None
    year: int = YEAR
    _net: Any = field(default=None, repr=False)

    @property
    def net(self) -> Any:
        """The pandapower net (built from bus.csv/branch.csv on first use)."""
        if self._net is None:
            self._net = rts_net(self.tables["bus"], self.tables["branch"], self.tables["gen"])
        return self._net

    def to_arrays(self, **kw: Any) -> SystemArrays:
        """:func:`rts_to_arrays` of this case (keywords are passed on)."""
        return rts_to_arrays(self, **kw)


def load_rts_case(hydrology: str | None = None) -> RtsCase:
    """Load the RTS-GMLC case (tables + 2020 day-ahead series).

    Parameters
    ----------
    hydrology : ignored (RTS-GMLC has one hydro year); accepted for ``load_case``'s signature.
    """
    import polars as pl

    tables = {n: _read(n) for n in ("bus", "branch", "dc_branch", "gen", "storage", "reserves")}
    ts = pl.read_parquet(series_file())
    if ts.height != HOURS:
        raise CaseError(f"{ts.height} hours, expected {HOURS} (2020 is a leap year)", file=str(series_file()))
    meta = {
        "source": "GridMod/RTS-GMLC @ bbadcf8b (NREL; see networks/rts-gmlc/NOTICE.md)",
        "currency": "USD",
        "compiler": "dispatch.rts:rts_to_arrays",
    }
    return RtsCase(name=NAME, tables=tables, series={"day_ahead": ts}, meta=meta, hydrology=hydrology)


# ---------------------------------------------------------------------------------------
def _convex_envelope(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower convex envelope of points (x ascending)."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (y[b] - y[a]) * (x[i] - x[a]) > (y[i] - y[a]) * (x[b] - x[a]) + 1e-9 * (1.0 + abs(y[i])):
                hull.pop()
            else:
                break
        hull.append(i)
    return x[hull], y[hull]


def thermal_params(gen: Any, ramp_minutes: float = 60.0) -> dict[str, Any]:
    """Per-unit parameters of the thermal units of ``gen.csv`` (see module docstring).

    Returns a dict of arrays (and ``names``, ``kind``, ``bus_id``) in gen.csv order.
    """
    import polars as pl

    f = "networks/rts-gmlc/gen.csv"
    th = gen.filter(pl.col("Category").is_in(list(THERMAL_CATEGORIES)))
    G = th.height
    names = th["GEN UID"].to_list()
    pmax = _col(th, "PMax MW", f).astype(float)
    pmin = _col(th, "PMin MW", f).astype(float)
    price = _col(th, "Fuel Price $/MMBTU", f).astype(float)
    vom = np.nan_to_num(_col(th, "VOM", f).astype(float))
    pct = np.stack([np.nan_to_num(_col(th, f"Output_pct_{k}", f).astype(float), nan=np.nan) for k in range(5)], 1)
    hr0 = _col(th, "HR_avg_0", f).astype(float)
    incr = np.stack([_col(th, f"HR_incr_{k}", f).astype(float) for k in range(1, 5)], 1)
    curves: list[tuple[np.ndarray, np.ndarray]] = []
    for g in range(G):
        pts = [pmin[g]]
        fuel = [pmin[g] * hr0[g] / 1000.0]
        if abs(pct[g, 0] * pmax[g] - pmin[g]) > 0.5:
            raise CaseError(f"Output_pct_0 x PMax = {pct[g, 0] * pmax[g]:.2f} MW but PMin = {pmin[g]} MW",
                            file=f, column="Output_pct_0", row=names[g])
        for k in range(1, 5):
            if not np.isfinite(pct[g, k]) or pct[g, k] <= pct[g, k - 1]:
                break
            w = (pct[g, k] - pct[g, k - 1]) * pmax[g]
            rate = incr[g, k - 1] if np.isfinite(incr[g, k - 1]) and incr[g, k - 1] > 0 else hr0[g]
            pts.append(pts[-1] + w)
            fuel.append(fuel[-1] + w * rate / 1000.0)
        x = np.array(pts)
        y = np.array(fuel) * price[g] + vom[g] * x
        curves.append(_convex_envelope(x, y))
    K = max(1, max(len(c[0]) - 1 for c in curves)) if G else 1
    seg_mw = np.zeros((G, K))
    seg_cost = np.zeros((G, K))
    cost_pmin = np.zeros(G)
    for g, (x, y) in enumerate(curves):
        cost_pmin[g] = y[0]
        if len(x) > 1:
            w = np.diff(x)
            sl = np.diff(y) / w
            seg_mw[g, : w.size] = w
            seg_cost[g, : w.size] = sl
            seg_cost[g, w.size :] = sl[-1]
    min_dn = np.maximum(np.ceil(_col(th, "Min Down Time Hr", f).astype(float) - 1e-9), 1).astype(np.int64)
    min_up = np.maximum(np.ceil(_col(th, "Min Up Time Hr", f).astype(float) - 1e-9), 1).astype(np.int64)
    nf = np.nan_to_num(_col(th, "Non Fuel Start Cost $", f).astype(float))
    lags_all, costs_all = [], []
    for g in range(G):
        cats = []
        for state in ("Hot", "Warm", "Cold"):
            t = float(th[f"Start Time {state} Hr"][g])
            heat = float(th[f"Start Heat {state} MBTU"][g])
            cats.append((max(int(math.ceil(t - 1e-9)), int(min_dn[g])), heat * price[g] + nf[g]))
        merged: dict[int, float] = {}
        for lag, c in cats:  # hot, warm, cold: a colder category on the same lag wins
            merged[lag] = c
        lags = sorted(merged)
        costs = [merged[lag] for lag in lags]
        lags[0] = int(min_dn[g])
        lags_all.append(lags)
        costs_all.append(costs)
    S = max(len(v) for v in lags_all) if G else 1
    su_lag = np.zeros((G, S), dtype=np.int64)
    su_cost = np.zeros((G, S))
    for g in range(G):
        n = len(lags_all[g])
        su_lag[g, :n] = lags_all[g]
        su_cost[g, :n] = costs_all[g]
        su_lag[g, n:] = lags_all[g][-1]
        su_cost[g, n:] = costs_all[g][-1]
    full_hr = np.array([(y[-1] - vom[g] * x[-1]) / price[g] / x[-1] if price[g] > 0 else 0.0
                        for g, (x, y) in enumerate(curves)])  # MMBTU/MWh at full output
    co2 = np.nan_to_num(_col(th, "Emissions CO2 Lbs/MMBTU", f).astype(float)) * full_hr / LB_PER_TONNE
    ramp = _col(th, "Ramp Rate MW/Min", f).astype(float) * ramp_minutes
    cats = th["Category"].to_list()
    return {
        "names": names,
        "category": cats,
        "kind": [THERMAL_CATEGORIES[c] for c in cats],
        "bus_id": th["Bus ID"].to_numpy().astype(np.int64),
        "pmin": pmin, "pmax": pmax, "ramp": ramp, "min_up": min_up, "min_down": min_dn,
        "cost_pmin": cost_pmin, "seg_mw": seg_mw, "seg_cost": seg_cost,
        "su_lag": su_lag, "su_cost": su_cost, "co2": co2,
        "must_run": np.array([c == "Nuclear" for c in cats]),
    }


@lru_cache(maxsize=1)
def rts_thermal_info() -> dict[str, tuple[str, float]]:
    """``{GEN UID: (kind, CO2 t/MWh)}`` for RTS-GMLC thermal units (used by the PGLib reader)."""
    p = thermal_params(_read("gen"))
    return {n: (k, float(c)) for n, k, c in zip(p["names"], p["kind"], p["co2"])}


def ptdf_from_branches(bus_ids: np.ndarray, frm: np.ndarray, to: np.ndarray, x_pu: np.ndarray,
                       tap: np.ndarray, slack_id: int) -> np.ndarray:
    """DC PTDF (L, B): MW on each branch per MW injected at each bus, withdrawn at the slack."""
    idx = {int(b): i for i, b in enumerate(bus_ids)}
    B, L = len(bus_ids), len(frm)
    A = np.zeros((L, B))
    b = 1.0 / (x_pu * np.where(tap > 0, tap, 1.0))
    for l in range(L):
        A[l, idx[int(frm[l])]] = 1.0
        A[l, idx[int(to[l])]] = -1.0
    Bbus = A.T @ (b[:, None] * A)
    s = idx[int(slack_id)]
    keep = np.array([i for i in range(B) if i != s])
    X = np.zeros((B, B))
    X[np.ix_(keep, keep)] = np.linalg.inv(Bbus[np.ix_(keep, keep)])
    return np.ascontiguousarray((b[:, None] * A) @ X)


def rts_net(bus: Any, branch: Any, gen: Any | None = None) -> Any:
    """A pandapower net of RTS-GMLC from the tables, with pandapower's create functions.

    Lines: ``r/x_ohm_per_km`` from p.u. on 100 MVA and the bus base kV over ``Length``
    (miles -> km; 1 km where 0), ``c_nf_per_km`` from ``B``, ``max_i_ka`` from
    ``Cont Rating``. Transformers (``Tr Ratio`` != 0): rated 100 MVA, ``vk_percent`` =
    100 |z|, ``vkr_percent`` = 100 r, the ratio as a tap on the LV side. Loads from bus
    ``MW Load``/``MVAR Load``, the ``Ref`` bus as external grid, generators as static
    generators at their ``MW Inj`` (a power-flow starting point, not a dispatch).
    """
    import pandapower as pp

    net = pp.create_empty_network(name="RTS-GMLC", f_hz=60.0, sn_mva=BASE_MVA)
    idx: dict[int, int] = {}
    for r in bus.iter_rows(named=True):
        idx[int(r["Bus ID"])] = pp.create_bus(net, vn_kv=float(r["BaseKV"]), name=str(r["Bus Name"]),
                                              zone=str(r["Area"]), index=None)
        if r["MW Load"] or r["MVAR Load"]:
            pp.create_load(net, idx[int(r["Bus ID"])], p_mw=float(r["MW Load"]), q_mvar=float(r["MVAR Load"]))
        if r["Bus Type"] == "Ref":
            pp.create_ext_grid(net, idx[int(r["Bus ID"])], vm_pu=float(r["V Mag"]))
    kv = {int(r["Bus ID"]): float(r["BaseKV"]) for r in bus.iter_rows(named=True)}
    for r in branch.iter_rows(named=True):
        f, t = int(r["From Bus"]), int(r["To Bus"])
        if float(r["Tr Ratio"]) != 0.0:
            hv, lv = (f, t) if kv[f] >= kv[t] else (t, f)
            z = math.hypot(float(r["R"]), float(r["X"]))
            ratio = float(r["Tr Ratio"])
            pp.create_transformer_from_parameters(
                net, idx[hv], idx[lv], sn_mva=BASE_MVA, vn_hv_kv=kv[hv], vn_lv_kv=kv[lv],
                vk_percent=100.0 * z, vkr_percent=100.0 * float(r["R"]), pfe_kw=0.0, i0_percent=0.0,
                tap_side="lv", tap_neutral=0, tap_pos=1, tap_step_percent=100.0 * (ratio - 1.0),
                name=str(r["UID"]), max_loading_percent=100.0,
            )
        else:
            length_km = float(r["Length"]) * 1.609344 or 1.0
            zb = kv[f] ** 2 / BASE_MVA
            pp.create_line_from_parameters(
                net, idx[f], idx[t], length_km=length_km,
                r_ohm_per_km=float(r["R"]) * zb / length_km, x_ohm_per_km=float(r["X"]) * zb / length_km,
                c_nf_per_km=float(r["B"]) / zb / (2 * math.pi * 60.0) / length_km * 1e9,
                max_i_ka=float(r["Cont Rating"]) / (math.sqrt(3) * kv[f]), name=str(r["UID"]),
            )
    if gen is not None:
        for r in gen.iter_rows(named=True):
            if r["Category"] == "Sync_Cond":
                continue
            pp.create_sgen(net, idx[int(r["Bus ID"])], p_mw=float(r["MW Inj"] or 0.0), name=str(r["GEN UID"]),
                           type=str(r["Category"]))
    return net


def rts_to_arrays(
    case: RtsCase,
    *,
    network: bool = True,
    ramp_minutes: float = 60.0,
    must_take_fixed: bool = False,
    csp: bool = True,
    storage: bool = True,
    init: State | None = None,
) -> SystemArrays:
    """Compile the RTS-GMLC case to :class:`SystemArrays` (8784 hours, 2020).

    Parameters
    ----------
    case : from :func:`load_rts_case`.
    network : with the 120-branch PTDF (True) or copper plate.
    ramp_minutes : ramp rates are ``Ramp Rate MW/Min x ramp_minutes`` MW/h (60 = physical;
        PGLib's rts_gmlc days used 20).
    must_take_fixed : hydro and rooftop PV (PMin = PMax series) are taken off the bus load
        (exact must-take, their re availability becomes 0) instead of being curtailable.
    csp : include the CSP plant and its thermal store (PGLib's days leave it out).
    storage : include the battery (PGLib's days leave it out).
    init : state before 2020-01-01T00; default :func:`dispatch.arrays.initial_state`.
    """
    import polars as pl

    tb = case.tables
    gen, bus, branch = tb["gen"], tb["bus"], tb["branch"]
    ts = case.series["day_ahead"]
    T = ts.height
    bus_ids = bus["Bus ID"].to_numpy().astype(np.int64)
    bidx = {int(b): i for i, b in enumerate(bus_ids)}
    B = len(bus_ids)
    area = bus["Area"].to_numpy().astype(np.int64)
    share = bus["MW Load"].to_numpy().astype(float)
    load = np.zeros((T, B))
    for a in np.unique(area):
        m = area == a
        tot = share[m].sum()
        if f"load:{a}" not in ts.columns:
            raise CaseError("no load series for area", file=str(series_file()), column=f"load:{a}")
        load[:, m] = ts[f"load:{a}"].to_numpy()[:, None] * (share[m] / tot)[None, :]
    reserve = sum(ts[f"spin:{a}"].to_numpy() for a in np.unique(area))
    # thermal
    p = thermal_params(gen, ramp_minutes)
    G = len(p["names"])
    # renewables
    re_rows = gen.filter(pl.col("Category").is_in(list(RE_CATEGORIES) + (["CSP"] if csp else [])))
    re_names, re_kind, re_bus, cols = [], [], [], []
    for r in re_rows.iter_rows(named=True):
        cat = r["Category"]
        kind, prefix = RE_CATEGORIES[cat] if cat in RE_CATEGORIES else ("csp", "csp")
        col = f"{prefix}:{r['GEN UID']}"
        if col not in ts.columns:
            raise CaseError("no availability series for generator", file=str(series_file()), column=col)
        re_names.append(r["GEN UID"])
        re_kind.append(kind)
        re_bus.append(bidx[int(r["Bus ID"])])
        a = np.clip(ts[col].to_numpy().astype(float), 0.0, None)
        cols.append(np.minimum(a, float(r["PMax MW"])) if kind == "csp" else a)
    R = len(re_names)
    avail = np.stack(cols, axis=1) if R else np.zeros((T, 0))
    if must_take_fixed:
        for i, r in enumerate(re_rows.iter_rows(named=True)):
            if r["Category"] in ("Hydro", "Solar RTPV"):
                load[:, re_bus[i]] -= avail[:, i]
                avail[:, i] = 0.0
    # storage
    st = tb["storage"]
    st_names, st_kind, st_bus = [], [], []
    st_vals: dict[str, list[float]] = {k: [] for k in ("pch", "pdis", "emax", "eta", "e0")}
    g_by = {r["GEN UID"]: r for r in gen.iter_rows(named=True)}
    for r in st.iter_rows(named=True):
        uid = r["GEN UID"]
        if str(r["position"]) != "head":
            continue
        g = g_by[uid]
        if g["Category"] == "Storage" and storage:
            st_names.append(uid)
            st_kind.append("li_ion")
            rte = float(g["Storage Roundtrip Efficiency"]) / 100.0
            st_vals["pch"].append(float(g["Pump Load MW"]))
            st_vals["pdis"].append(float(g["PMax MW"]))
            st_vals["eta"].append(math.sqrt(rte))
        elif g["Category"] == "CSP" and csp:
            st_names.append("212_CSP_TES")
            st_kind.append("csp_thermal")
            st_vals["pch"].append(float(r["Inflow Limit GWh"]) * 1000.0)
            st_vals["pdis"].append(float(g["PMax MW"]))
            st_vals["eta"].append(1.0)
        else:
            continue
        st_bus.append(bidx[int(g["Bus ID"])])
        st_vals["emax"].append(float(r["Max Volume GWh"]) * 1000.0)
        st_vals["e0"].append(float(r["Initial Volume GWh"] or 0.0) * 1000.0)
    S = len(st_names)
    # network
    if network:
        frm = branch["From Bus"].to_numpy()
        to = branch["To Bus"].to_numpy()
        slack = int(bus.filter(pl.col("Bus Type") == "Ref")["Bus ID"][0])
        ptdf = ptdf_from_branches(bus_ids, frm, to, branch["X"].to_numpy().astype(float),
                                  branch["Tr Ratio"].to_numpy().astype(float), slack)
        line_names = tuple(branch["UID"].to_list())
        line_max = branch["Cont Rating"].to_numpy().astype(float)
    else:
        ptdf, line_names, line_max = np.zeros((0, B)), (), np.zeros(0)
    dc = tb["dc_branch"]
    dc_rows = list(dc.iter_rows(named=True))
    dc_names = tuple(str(r["UID"]) for r in dc_rows)
    for i, r in enumerate(dc_rows):
        for col in ("From Bus", "To Bus"):
            if int(r[col]) not in bidx:
                raise CaseError(f"DC line bus {r[col]} is not in bus.csv", file=str(network_dir() / "dc_branch.csv"),
                                column=col, row=str(r["UID"]))
    dc_from = np.array([bidx[int(r["From Bus"])] for r in dc_rows], dtype=np.int64)
    dc_to = np.array([bidx[int(r["To Bus"])] for r in dc_rows], dtype=np.int64)
    dc_pmax = np.array([float(r["MW Load"]) for r in dc_rows], dtype=np.float64)
    z0, zi = np.zeros(0), np.zeros(0, dtype=np.int64)
    times = ts["time"].to_numpy().astype("datetime64[h]")
    sys = SystemArrays(
        name=NAME,
        timestamps=times,
        currency="USD",
        bus_names=tuple(str(b) for b in bus_ids),
        load_mw=np.ascontiguousarray(load),
        line_names=line_names,
        ptdf=np.ascontiguousarray(ptdf),
        line_max_mw=np.ascontiguousarray(line_max),
        th_names=tuple(p["names"]),
        th_kind=tuple(p["kind"]),
        th_bus=np.array([bidx[int(b)] for b in p["bus_id"]], dtype=np.int64),
        th_pmin=p["pmin"], th_pmax=p["pmax"],
        th_ramp_up=p["ramp"].copy(), th_ramp_down=p["ramp"].copy(),
        th_su_ramp=p["pmin"].copy(), th_sd_ramp=p["pmin"].copy(),
        th_min_up=p["min_up"], th_min_down=p["min_down"],
        th_cost_pmin=p["cost_pmin"], th_seg_mw=p["seg_mw"], th_seg_cost=p["seg_cost"],
        th_su_lag=p["su_lag"], th_su_cost=p["su_cost"], th_co2=p["co2"], th_must_run=p["must_run"],
        re_names=tuple(re_names), re_kind=tuple(re_kind), re_bus=np.array(re_bus, dtype=np.int64),
        re_avail_mw=np.ascontiguousarray(avail),
        hy_names=(), hy_kind=(), hy_bus=zi.copy(), hy_k=z0.copy(), hy_pmax=z0.copy(), hy_qmin=z0.copy(),
        hy_vmin=z0.copy(), hy_vmax=z0.copy(), hy_inflow=np.zeros((T, 0)), hy_down=zi.copy(), hy_delay=zi.copy(),
        st_names=tuple(st_names), st_kind=tuple(st_kind), st_bus=np.array(st_bus, dtype=np.int64),
        st_pch=np.array(st_vals["pch"]), st_pdis=np.array(st_vals["pdis"]), st_emax=np.array(st_vals["emax"]),
        st_emin=np.zeros(S), st_eta_ch=np.array(st_vals["eta"]), st_eta_dis=np.array(st_vals["eta"]),
        st_loss=np.zeros(S),
        dr_names=(), dr_bus=zi.copy(), dr_pmax=z0.copy(), dr_cost=z0.copy(), dr_max_dur=zi.copy(),
        dr_max_events=zi.copy(), dr_payback_frac=z0.copy(),
        ex_names=(), ex_bus=zi.copy(), ex_min=np.zeros((T, 0)), ex_max=np.zeros((T, 0)), ex_price=z0.copy(),
        reserve_up_mw=np.ascontiguousarray(reserve.astype(float)),
        curtail_cost=0.0,
        spill_cost=0.0,
        init=init,
        dc_names=dc_names, dc_from=dc_from, dc_to=dc_to, dc_pmax=dc_pmax,
        meta={
            "source": case.meta.get("source"),
            "bus_region": [str(a) for a in area],
            "bus_x": bus["lng"].to_list(),
            "bus_y": bus["lat"].to_list(),
            "st_e0_mwh": st_vals["e0"],
            "dc_line": "DC links from dc_branch.csv (DC1 113->316, |flow| <= 100 MW), lossless, no cost "
                       "(see dispatch.rts docstring)",
            "options": {"network": network, "ramp_minutes": ramp_minutes, "must_take_fixed": must_take_fixed,
                        "csp": csp, "storage": storage},
        },
    )
    if init is None:
        from .arrays import initial_state

        s0 = initial_state(sys)
        s0 = State(**{**s0.__dict__, "st_e": np.array(st_vals["e0"], dtype=float)})
        sys = sys.with_(init=s0)
    return sys


def pglib_day(case: RtsCase, pglib_json: str | os.PathLike[str], mode: str = "pglib") -> tuple[SystemArrays, int, State]:
    """The copper-plate RTS-GMLC arrays, start hour and state for one PGLib ``rts_gmlc`` day.

    Parameters
    ----------
    case : the RTS-GMLC case.
    pglib_json : a PGLib-UC ``rts_gmlc/<date>.json``; its date picks the 48 hours and its
        ``unit_on_t0``/``time_*_t0``/``power_output_t0`` give the thermal state.
    mode : ``"pglib"`` -- PGLib's conventions (ramps x 20 min, hydro and rooftop PV fixed,
        no CSP, no battery); ``"rts"`` -- this case's own (ramps x 60 min, hydro/rooftop PV
        curtailable, CSP + store, battery). Both copper plate, both with PGLib's hard
        limits as penalties (load shedding and reserve shortfall at 1e6 $/MWh).

    Returns
    -------
    (sys, t0, state) ready for ``engine.solve_window(sys, t0, 48, state, None)``.
    """
    import json

    if mode not in ("pglib", "rts"):
        raise ValueError(f"mode must be 'pglib' or 'rts', not {mode!r}")
    compat = mode == "pglib"
    sys = rts_to_arrays(case, network=False, ramp_minutes=20.0 if compat else 60.0, must_take_fixed=compat,
                        csp=not compat, storage=not compat)
    sys = sys.with_(voll=1e6, reserve_short_cost=1e6)
    day = np.datetime64(Path(pglib_json).stem + "T00", "h")
    hits = np.nonzero(sys.timestamps == day)[0]
    if not hits.size:
        raise CaseError(f"date {day} not in the RTS-GMLC year", file=str(pglib_json))
    with open(pglib_json, encoding="utf-8") as fh:
        tg = json.load(fh)["thermal_generators"]
    G = sys.n_th
    on = np.zeros(G, dtype=bool)
    hours = np.ones(G, dtype=np.int64)
    p0 = np.zeros(G)
    for g, name in enumerate(sys.th_names):
        if name not in tg:
            raise CaseError("RTS unit not in the PGLib instance", file=str(pglib_json), row=name)
        u = tg[name]
        on[g] = bool(u["unit_on_t0"])
        hours[g] = int(u["time_up_t0"] if on[g] else u["time_down_t0"])
        p0[g] = float(u["power_output_t0"])
    assert sys.init is not None
    state = State(**{**sys.init.copy().__dict__, "th_on": on, "th_hours": hours, "th_p": p0})
    return sys, int(hits[0]), state


__all__ = ["RtsCase", "pglib_day", "load_rts_case", "ptdf_from_branches", "rts_net", "rts_thermal_info", "rts_to_arrays",
           "thermal_params"]
