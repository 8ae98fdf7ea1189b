"""The Result of a simulation: polars frames per component-hour, metrics, files.

A :class:`Result` is what every engine's run turns into, so checks and reports work on
either. ``Result.write(dir)`` writes one parquet file per frame plus ``summary.json``;
:func:`read_result` reads them back (no code runs from the files: parquet and JSON only).

Frames (long format, one row per component and hour; ``time`` is hour-beginning local time)
-------------------------------------------------------------------------------------------
``system``      time, window, load_mw, thermal_mw, hydro_mw, wind_mw, solar_mw,
                other_re_mw, storage_discharge_mw, storage_charge_mw, dr_mw, rebound_mw,
                export_mw, shed_mw, balance_violation_mw, reserve_req_mw,
                reserve_short_mw, price
``units``       time, unit, kind, bus, p_mw, on, startup, cost, co2_t
``renewables``  time, plant, kind, bus, avail_mw, p_mw, curtailed_mw
``hydro``       time, plant, kind, bus, inflow_m3s, release_m3s, spill_m3s, volume_hm3,
                p_mw, spill_mwh (k*s), avoidable_spill_mwh (min(k*s, pmax-p))
``storage``     time, unit, kind, bus, charge_mw, discharge_mw, soc_mwh
``dr``          time, resource, bus, p_mw, rebound_mw
``exports``     time, link, bus, p_mw, min_mw, max_mw
``lines``       time, line, flow_mw, rating_mw, loading
``links``       time, link, from_bus, to_bus, flow_mw (+ from -> to), rating_mw, loading
                (DC links; only when the system has some)
``buses``       time, bus, load_mw, shed_mw, dr_mw, rebound_mw
``windows``     window, t0, hours_kept, hours_solved, objective, lower_bound, gap_pct, wall_s
``components``  component, name, kind, bus, region, p_max_mw, p_min_mw, e_max_mwh, extra
``bus_info``    bus, region, x, y
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .arrays import State, SystemArrays, WindowSolution
from .costs import co2_tonnes, startup_costs, thermal_energy_cost, window_cost_breakdown

FRAMES = (
    "system",
    "units",
    "renewables",
    "hydro",
    "storage",
    "dr",
    "exports",
    "lines",
    "links",
    "buses",
    "windows",
    "components",
    "bus_info",
)


@dataclass
class Result:
    """Schedules, metrics and metadata of one simulation (see module docstring)."""

    frames: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pl.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write every frame as ``<name>.parquet`` and ``summary.json`` into ``out``.

        Each file is written to a temporary name and renamed, so an interrupted write never
        leaves a partial file behind.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in self.frames.items():
            _atomic_write(out / f"{name}.parquet", lambda p, df=df: df.write_parquet(p))
        payload = json.dumps(_jsonable(self.summary), indent=2, ensure_ascii=False)
        _atomic_write(out / "summary.json", lambda p: Path(p).write_text(payload, encoding="utf-8"))
        if self.meta:
            meta = json.dumps(_jsonable(self.meta), indent=2, ensure_ascii=False)
            _atomic_write(out / "meta.json", lambda p: Path(p).write_text(meta, encoding="utf-8"))
        return out

    def table(self) -> str:
        """The summary as a readable text table."""
        return format_summary(self.summary)


def read_result(path: str | os.PathLike[str]) -> Result:
    """Read a result written by :meth:`Result.write` (parquet + JSON only)."""
    path = Path(path)
    summ = path / "summary.json"
    if not summ.is_file():
        from .errors import DispatchError

        raise DispatchError(f"{path}: no summary.json here; is this a result directory written by `dispatch run`?")
    summary = json.loads(summ.read_text(encoding="utf-8"))
    frames = {}
    for name in FRAMES:
        f = path / f"{name}.parquet"
        if f.is_file():
            frames[name] = pl.read_parquet(f)
    meta_f = path / "meta.json"
    meta = json.loads(meta_f.read_text(encoding="utf-8")) if meta_f.is_file() else {}
    return Result(frames=frames, summary=summary, meta=meta)


# ---------------------------------------------------------------------------------------
def _atomic_write(target: Path, writer: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if not np.isfinite(v) else v
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def concat_solutions(parts: list[WindowSolution]) -> WindowSolution:
    """Join consecutive window heads into one solution over their hours."""
    from .arrays import SOLUTION_ARRAYS

    kw: dict[str, Any] = {name: np.concatenate([getattr(p, name) for p in parts], axis=0) for name in SOLUTION_ARRAYS}
    return WindowSolution(
        t0=parts[0].t0,
        objective=float(sum(p.objective for p in parts)),
        lower_bound=float("nan"),
        wall_s=float(sum(p.wall_s for p in parts)),
        **kw,
    )


def _long(times: pl.Series, names: tuple[str, ...], cols: dict[str, Any], key: str) -> pl.DataFrame:
    """Long frame: every name for every hour; ``cols`` values are (T, N) arrays or (N,) lists."""
    T, N = len(times), len(names)
    data: dict[str, Any] = {
        "time": np.repeat(times.to_numpy(), N),
        key: np.tile(np.array(names, dtype=object), T).astype(str) if N else np.array([], dtype=str),
    }
    for c, v in cols.items():
        arr = np.asarray(v)
        if arr.ndim == 2:
            data[c] = arr.reshape(-1)
        else:
            data[c] = np.tile(arr, T)
    return pl.DataFrame(data)


def build_result(
    sys: SystemArrays,
    state0: State,
    sol: WindowSolution,
    windows: list[dict[str, Any]],
    *,
    engine: str,
    wall_s: float,
    extra_summary: dict[str, Any] | None = None,
) -> Result:
    """Turn a (concatenated) schedule into a :class:`Result` with frames and summary."""
    t0, n = sol.t0, sol.n
    ts = sys.timestamps[t0 : t0 + n].astype("datetime64[us]")
    times = pl.Series("time", ts)
    bus = np.array(sys.bus_names, dtype=object)
    load = sys.load_mw[t0 : t0 + n]
    avail = sys.re_avail_mw[t0 : t0 + n]
    hy_p = sol.hy_q * sys.hy_k[None, :]
    kinds = np.array(sys.re_kind, dtype=object)

    def re_sum(kind: str) -> np.ndarray:
        m = kinds == kind
        return sol.re_p[:, m].sum(axis=1) if m.any() else np.zeros(n)

    other_mask = ~np.isin(kinds, ["wind", "solar"]) if sys.n_re else np.zeros(0, bool)
    inj = (
        sol.th_p.sum(1) + hy_p.sum(1) + sol.re_p.sum(1) + sol.st_dis.sum(1) + sol.dr_p.sum(1) + sol.shed.sum(1)
    )
    wd = load.sum(1) + sol.ex_p.sum(1) + sol.st_ch.sum(1) + sol.dr_rebound.sum(1)
    viol = inj - wd
    win_idx = np.zeros(n, dtype=np.int64)
    for w in windows:
        a = w["t0"] - t0
        win_idx[a : a + w["hours_kept"]] = w["window"]
    system = pl.DataFrame(
        {
            "time": times,
            "window": win_idx,
            "load_mw": load.sum(1),
            "thermal_mw": sol.th_p.sum(1),
            "hydro_mw": hy_p.sum(1),
            "wind_mw": re_sum("wind"),
            "solar_mw": re_sum("solar"),
            "other_re_mw": sol.re_p[:, other_mask].sum(1) if sys.n_re else np.zeros(n),
            "storage_discharge_mw": sol.st_dis.sum(1),
            "storage_charge_mw": sol.st_ch.sum(1),
            "dr_mw": sol.dr_p.sum(1),
            "rebound_mw": sol.dr_rebound.sum(1),
            "export_mw": sol.ex_p.sum(1),
            "shed_mw": sol.shed.sum(1),
            "balance_violation_mw": viol,
            "reserve_req_mw": sys.reserve_up_mw[t0 : t0 + n],
            "reserve_short_mw": sol.res_short,
            "price": sol.price,
        }
    )
    on = sol.th_on.astype(bool)
    unit_cost = thermal_energy_cost(sys, sol.th_p, on.astype(float)) + startup_costs(sys, state0, on)
    co2 = co2_tonnes(sys, sol.th_p)
    units = _long(
        times,
        sys.th_names,
        {
            "kind": list(sys.th_kind),
            "bus": bus[sys.th_bus].astype(str) if sys.n_th else [],
            "p_mw": sol.th_p,
            "on": on,
            "startup": sol.th_su.astype(bool),
            "cost": unit_cost,
            "co2_t": co2,
        },
        "unit",
    )
    renewables = _long(
        times,
        sys.re_names,
        {
            "kind": list(sys.re_kind),
            "bus": bus[sys.re_bus].astype(str) if sys.n_re else [],
            "avail_mw": avail,
            "p_mw": sol.re_p,
            "curtailed_mw": np.maximum(avail - sol.re_p, 0.0),
        },
        "plant",
    )
    spill_mwh = sol.hy_s * sys.hy_k[None, :]
    avoidable = np.minimum(spill_mwh, np.maximum(sys.hy_pmax[None, :] - hy_p, 0.0))
    hydro = _long(
        times,
        sys.hy_names,
        {
            "kind": list(sys.hy_kind),
            "bus": bus[sys.hy_bus].astype(str) if sys.n_hy else [],
            "inflow_m3s": sys.hy_inflow[t0 : t0 + n],
            "release_m3s": sol.hy_q,
            "spill_m3s": sol.hy_s,
            "volume_hm3": sol.hy_v,
            "p_mw": hy_p,
            "spill_mwh": spill_mwh,
            "avoidable_spill_mwh": avoidable,
        },
        "plant",
    )
    storage = _long(
        times,
        sys.st_names,
        {
            "kind": list(sys.st_kind),
            "bus": bus[sys.st_bus].astype(str) if sys.n_st else [],
            "charge_mw": sol.st_ch,
            "discharge_mw": sol.st_dis,
            "soc_mwh": sol.st_e,
        },
        "unit",
    )
    dr = _long(
        times,
        sys.dr_names,
        {"bus": bus[sys.dr_bus].astype(str) if sys.n_dr else [], "p_mw": sol.dr_p, "rebound_mw": sol.dr_rebound},
        "resource",
    )
    exports = _long(
        times,
        sys.ex_names,
        {
            "bus": bus[sys.ex_bus].astype(str) if sys.n_ex else [],
            "p_mw": sol.ex_p,
            "min_mw": sys.ex_min[t0 : t0 + n],
            "max_mw": sys.ex_max[t0 : t0 + n],
        },
        "link",
    )
    rating = np.where(sys.line_max_mw > 0, sys.line_max_mw, np.inf)
    lines = _long(
        times,
        sys.line_names,
        {
            "flow_mw": sol.line_flow,
            "rating_mw": sys.line_max_mw,
            "loading": np.abs(sol.line_flow) / rating[None, :] if sys.n_line else sol.line_flow,
        },
        "line",
    )
    links = None
    if sys.n_dc:
        dc_rating = np.where(sys.dc_pmax > 0, sys.dc_pmax, np.inf)
        links = _long(
            times,
            sys.dc_names,
            {
                "from_bus": bus[sys.dc_from].astype(str),
                "to_bus": bus[sys.dc_to].astype(str),
                "flow_mw": sol.dc_p,
                "rating_mw": sys.dc_pmax,
                "loading": np.abs(sol.dc_p) / dc_rating[None, :],
            },
            "link",
        )
    B = sys.n_bus
    dr_bus = np.zeros((n, B))
    reb_bus = np.zeros((n, B))
    for d in range(sys.n_dr):
        dr_bus[:, sys.dr_bus[d]] += sol.dr_p[:, d]
        reb_bus[:, sys.dr_bus[d]] += sol.dr_rebound[:, d]
    buses = _long(
        times,
        sys.bus_names,
        {"load_mw": load, "shed_mw": sol.shed, "dr_mw": dr_bus, "rebound_mw": reb_bus},
        "bus",
    )
    windows_df = pl.DataFrame(
        windows,
        schema={
            "window": pl.Int64,
            "t0": pl.Int64,
            "hours_kept": pl.Int64,
            "hours_solved": pl.Int64,
            "objective": pl.Float64,
            "lower_bound": pl.Float64,
            "gap_pct": pl.Float64,
            "wall_s": pl.Float64,
        },
    )
    frames = {
        "system": system,
        "units": units,
        "renewables": renewables,
        "hydro": hydro,
        "storage": storage,
        "dr": dr,
        "exports": exports,
        "lines": lines,
        "buses": buses,
        "windows": windows_df,
        "components": components_frame(sys),
        "bus_info": bus_info_frame(sys),
    }
    if links is not None:
        frames["links"] = links
    costs = window_cost_breakdown(sys, state0, sol, None)
    costs.pop("water_value", None)
    th_kind = np.array(sys.th_kind, dtype=object)
    energy: dict[str, float] = {}
    for k in sorted(set(sys.th_kind)):
        energy[k] = float(sol.th_p[:, th_kind == k].sum())
    energy["hydro"] = float(hy_p.sum())
    for k in sorted(set(sys.re_kind)):
        key = "hydro" if k == "hydro_ror" else k
        energy[key] = energy.get(key, 0.0) + float(sol.re_p[:, kinds == k].sum())
    energy["storage_discharge"] = float(sol.st_dis.sum())
    energy["storage_charge"] = float(sol.st_ch.sum())
    energy["demand_response"] = float(sol.dr_p.sum())
    energy["exports"] = float(sol.ex_p.sum())
    curt_re = np.maximum(avail - sol.re_p, 0.0)
    ror = kinds == "hydro_ror"
    curtail = {
        "wind": float(curt_re[:, kinds == "wind"].sum()),
        "solar": float(curt_re[:, kinds == "solar"].sum()),
        "hydro_spill": float(avoidable.sum() + curt_re[:, ror].sum()),
    }
    lbs = [w["lower_bound"] for w in windows if w["lower_bound"] is not None and np.isfinite(w["lower_bound"])]
    gaps = [w["gap_pct"] for w in windows if w["gap_pct"] is not None and np.isfinite(w["gap_pct"])]
    summary: dict[str, Any] = {
        "case": sys.name,
        "hydrology": sys.meta.get("hydrology"),
        "engine": engine,
        "start": str(sys.timestamps[t0]),
        "hours": int(n),
        "windows": len(windows),
        "currency": sys.currency,
        "total_cost": float(sum(costs.values())),
        "production_cost": float(sum(v for k, v in costs.items() if k != "export_revenue")),
        "export_revenue": float(-costs.get("export_revenue", 0.0)),
        "cost_breakdown": costs,
        "lower_bound": float(windows[0]["lower_bound"]) if len(windows) == 1 and lbs else None,
        "window_gap_max_pct": float(max(gaps)) if gaps else None,
        "window_gap_mean_pct": float(np.mean(gaps)) if gaps else None,
        # the percentages divide by |objective|, which nets export revenue and can be near 0:
        # the summed absolute gap (each over its window's solved hours) is the robust figure
        "window_gap_sum": float(sum(w["objective"] - w["lower_bound"] for w in windows
                                    if w["lower_bound"] is not None and np.isfinite(w["lower_bound"]))) if lbs else None,
        "wall_s": float(wall_s),
        "energy_by_type_mwh": energy,
        "curtailment_mwh": curtail,
        "hydro_spill_total_mwh": float(spill_mwh.sum()),
        "unserved_mwh": float(sol.shed.sum()),
        "unserved_hours": int((sol.shed.sum(1) > 1e-6).sum()),
        "reserve_short_hours": int((sol.res_short > 1e-6).sum()),
        "startups": int(sol.th_su.sum()),
        "co2_t": float(co2.sum()),
        "peak_load_mw": float(load.sum(1).max()) if n else 0.0,
        "load_mwh": float(load.sum()),
        "max_balance_violation_mw": float(np.abs(viol).max()) if n else 0.0,
        "max_line_loading": float(np.abs(sol.line_flow / rating[None, :]).max()) if sys.n_line and n else None,
    }
    if extra_summary:
        summary.update(extra_summary)
    meta = {k: v for k, v in sys.meta.items() if isinstance(v, (str, int, float, bool, list, dict)) or v is None}
    return Result(frames=frames, summary=summary, meta=meta)


def components_frame(sys: SystemArrays) -> pl.DataFrame:
    """Static description of every component (for checks and reports read from disk)."""
    region = list(sys.meta.get("bus_region") or ["" for _ in sys.bus_names])
    bus = list(sys.bus_names)
    rows: list[dict[str, Any]] = []

    def add(comp: str, names: tuple[str, ...], kinds: Any, buses: np.ndarray, pmax: Any, pmin: Any, emax: Any, extra: Any) -> None:
        for i, nm in enumerate(names):
            b = int(buses[i])
            rows.append(
                {
                    "component": comp,
                    "name": nm,
                    "kind": kinds[i] if kinds is not None else comp,
                    "bus": bus[b],
                    "region": str(region[b]) if b < len(region) else "",
                    "p_max_mw": float(pmax[i]),
                    "p_min_mw": float(pmin[i]),
                    "e_max_mwh": float(emax[i]) if emax is not None else None,
                    "extra": json.dumps(_jsonable(extra(i))) if extra is not None else "{}",
                }
            )

    add("thermal", sys.th_names, sys.th_kind, sys.th_bus, sys.th_pmax, sys.th_pmin, None,
        lambda i: {"min_up_h": sys.th_min_up[i], "min_down_h": sys.th_min_down[i], "co2_t_per_mwh": sys.th_co2[i],
                   "must_run": bool(sys.th_must_run[i])})
    re_cap = sys.re_avail_mw.max(axis=0) if sys.n_re and sys.n_hours else np.zeros(sys.n_re)
    add("renewable", sys.re_names, sys.re_kind, sys.re_bus, re_cap, np.zeros(sys.n_re), None, None)
    add("hydro", sys.hy_names, sys.hy_kind, sys.hy_bus, sys.hy_pmax, sys.hy_qmin * sys.hy_k, None,
        lambda i: {"k_mw_per_m3s": sys.hy_k[i], "vmin_hm3": sys.hy_vmin[i], "vmax_hm3": sys.hy_vmax[i],
                   "downstream": sys.hy_names[sys.hy_down[i]] if sys.hy_down[i] >= 0 else None, "delay_h": sys.hy_delay[i]})
    add("storage", sys.st_names, sys.st_kind, sys.st_bus, sys.st_pdis, -sys.st_pch, sys.st_emax,
        lambda i: {"eta_ch": sys.st_eta_ch[i], "eta_dis": sys.st_eta_dis[i], "loss_per_h": sys.st_loss[i]})
    add("dr", sys.dr_names, None, sys.dr_bus, sys.dr_pmax, np.zeros(sys.n_dr), None,
        lambda i: {"cost": sys.dr_cost[i], "max_dur_h": sys.dr_max_dur[i], "max_events": sys.dr_max_events[i],
                   "payback_frac": sys.dr_payback_frac[i]})
    ex_max = sys.ex_max.max(axis=0) if sys.n_ex and sys.n_hours else np.zeros(sys.n_ex)
    add("export", sys.ex_names, None, sys.ex_bus, ex_max, np.zeros(sys.n_ex), None, None)
    schema = {
        "component": pl.Utf8, "name": pl.Utf8, "kind": pl.Utf8, "bus": pl.Utf8, "region": pl.Utf8,
        "p_max_mw": pl.Float64, "p_min_mw": pl.Float64, "e_max_mwh": pl.Float64, "extra": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema)


def bus_info_frame(sys: SystemArrays) -> pl.DataFrame:
    """Bus name, region and coordinates (lon/lat) where the case gives them."""
    B = sys.n_bus
    nan = [float("nan")] * B
    return pl.DataFrame(
        {
            "bus": list(sys.bus_names),
            "region": [str(r) for r in (sys.meta.get("bus_region") or [""] * B)],
            "x": [float(v) for v in (sys.meta.get("bus_x") or nan)],
            "y": [float(v) for v in (sys.meta.get("bus_y") or nan)],
        }
    )


def format_summary(s: dict[str, Any]) -> str:
    """A readable, aligned text table of the key summary figures."""

    def fmt(v: Any, unit: str = "") -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:,.6g}{unit}" if abs(v) < 1e4 else f"{v:,.0f}{unit}"
        return f"{v}{unit}"

    cur = s.get("currency", "")
    rows = [
        ("case", f"{s.get('case')} ({s.get('hydrology') or '-'})"),
        ("engine", s.get("engine")),
        ("start / hours", f"{s.get('start')} / {s.get('hours')} h in {s.get('windows')} windows"),
        ("wall time", fmt(s.get("wall_s"), " s")),
        ("total cost (net of exports)", fmt(s.get("total_cost"), f" {cur}")),
        ("  production cost", fmt(s.get("production_cost"), f" {cur}")),
        ("  export revenue", fmt(s.get("export_revenue"), f" {cur}")),
        ("lower bound", fmt(s.get("lower_bound"), f" {cur}")),
        ("window gap max/mean", f"{fmt(s.get('window_gap_max_pct'), ' %')} / {fmt(s.get('window_gap_mean_pct'), ' %')}"),
        ("window gap sum", f"{fmt(s.get('window_gap_sum'))} {s.get('currency', '')} (objective - lower bound, over solved hours)"),
        ("load energy", fmt((s.get("load_mwh") or 0) / 1e6, " TWh")),
        ("peak load", fmt(s.get("peak_load_mw"), " MW")),
    ]
    for k, v in (s.get("energy_by_type_mwh") or {}).items():
        rows.append((f"  energy {k}", fmt(v / 1e6, " TWh")))
    for k, v in (s.get("curtailment_mwh") or {}).items():
        rows.append((f"  curtailed {k}", fmt(v / 1e3, " GWh")))
    rows += [
        ("unserved energy", fmt(s.get("unserved_mwh"), " MWh")),
        ("CO2", fmt((s.get("co2_t") or 0) / 1e6, " Mt")),
        ("start-ups", fmt(s.get("startups"))),
        ("max balance violation", fmt(s.get("max_balance_violation_mw"), " MW")),
        ("max line loading", fmt(s.get("max_line_loading"))),
    ]
    w = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{w}}  {b}" for a, b in rows)
