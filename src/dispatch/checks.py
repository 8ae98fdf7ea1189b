"""Policy checks on a :class:`~dispatch.results.Result` from either engine.

Every check reads only the Result's frames and summary (so it also works on a result read
back from disk with :func:`dispatch.read_result`); some can use the case as well, for the
whole-year load, the PTDF or the pandapower net. Each returns a dataclass with ``passed``,
``reason``, a ``table()`` text rendering and ``to_dict()`` (what ``checks.json`` holds).

Checks
------
:func:`peak_response`
    The 2030 plan's demand-side response target: DR able to answer at least 5 % of the
    annual peak load. Reported two ways, *static* (DR capability over the peak) and
    *dynamic* (the peak hours re-dispatched with the engine under a served-load cap).
:func:`curtailment`
    Wind, solar and hydro curtailment (弃风, 弃光, 弃水) and utilisation rates by month,
    region and plant, with the likely cause of each curtailed hour.
:func:`carbon_supply`
    CO2 by unit type, non-fossil share, unserved energy, loss-of-load and
    reserve-shortfall hours, start-ups.
:func:`ac_power_flow`
    pandapower AC power flow (``runpp``) of the stress hours with the dispatch applied.
:func:`run_all`
    All of the above, as used by ``dispatch check DIR``.
"""

from __future__ import annotations

import calendar
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from .errors import DispatchError

__all__ = [
    "ACFlowCheck",
    "CarbonSupplyCheck",
    "CurtailmentCheck",
    "PeakResponseCheck",
    "StatisticsCheck",
    "ac_power_flow",
    "carbon_supply",
    "curtailment",
    "peak_response",
    "run_all",
    "statistics",
    "stress_hours",
]

_TOL_MW = 1e-3
FOSSIL_KINDS = frozenset({"coal", "gas", "oil", "lignite", "diesel", "gas_cc", "gas_ct", "ccgt", "ocgt"})


# ---------------------------------------------------------------------------------------
# small text-table helper
def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return "-"
        if v == 0:
            return "0"
        if abs(v) >= 1e4:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.2f}"
        return f"{v:.4g}"
    return str(v)


def text_table(rows: list[dict[str, Any]] | pl.DataFrame, columns: list[str] | None = None, max_rows: int = 40) -> str:
    """Aligned plain-text table of ``rows`` (dicts or a polars frame)."""
    if isinstance(rows, pl.DataFrame):
        rows = rows.to_dicts()
    if not rows:
        return "(none)"
    cols = columns or list(rows[0].keys())
    shown = rows[:max_rows]
    cells = [[_fmt(r.get(c)) for c in cols] for r in shown]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    num = [all(_is_num(r.get(c)) for r in shown) for c in cols]
    line = lambda vals: "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(vals, widths, num))  # noqa: E731
    out = [line(cols), "  ".join("-" * w for w in widths)] + [line(c) for c in cells]
    if len(rows) > max_rows:
        out.append(f"... {len(rows) - max_rows} more rows")
    return "\n".join(out)


def _is_num(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))


def _verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "FAIL")


def _jsonable(x: Any) -> Any:
    if isinstance(x, pl.DataFrame):
        return [_jsonable(r) for r in x.to_dicts()]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x


class _CheckBase:
    """Shared behaviour: ``to_dict`` for JSON, ``passed`` and ``reason``."""

    name: str
    passed: bool | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (frames become lists of records)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]
        d["verdict"] = _verdict(self.passed)
        return _jsonable(d)


# ---------------------------------------------------------------------------------------
# helpers to get at the case behind a result
def _extra(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(e) if e else {} for e in frame["extra"].to_list()]


def _case_arrays(res: Any, case: Any) -> tuple[Any, str | None]:
    """SystemArrays of ``case`` (a Case, SystemArrays or name), or of the result's own case.

    Returns ``(arrays or None, note)``: when ``case`` is None the case is loaded by the name
    in ``res.summary['case']``; if that fails, the note says why and checks fall back to
    the result's own hours.
    """
    from .arrays import SystemArrays

    if isinstance(case, SystemArrays):
        return case, None
    if case is not None and not isinstance(case, str):
        return case.to_arrays(), None
    name = case if isinstance(case, str) else res.summary.get("case")
    hyd = res.summary.get("hydrology") or res.meta.get("hydrology") or "normal"
    if not name:
        return None, "the result names no case"
    try:
        from .case import load_case

        return load_case(name, hydrology=hyd).to_arrays(), None
    except Exception as exc:  # noqa: BLE001 - any failure means "use the result's hours"
        if isinstance(case, str):
            raise
        return None, f"case {name!r} could not be loaded ({type(exc).__name__}: {exc}); using the result's own hours"


def _case_object(res: Any, case: Any) -> Any:
    """A Case object (with ``.net``) for ``case`` or the result's case name."""
    if case is not None and not isinstance(case, str):
        return case
    name = case if isinstance(case, str) else res.summary.get("case")
    hyd = res.summary.get("hydrology") or res.meta.get("hydrology") or "normal"
    from .case import load_case

    return load_case(name, hydrology=hyd)


# =======================================================================================
# peak response
@dataclass
class PeakResponseCheck(_CheckBase):
    """Outcome of :func:`peak_response` (MW, hours, events; see the function)."""

    name: str
    threshold: float
    peak_definition: str
    horizon: str
    annual_peak_mw: float
    required_mw: float
    peak_hours: int
    peak_periods: int
    longest_period_h: int
    # static
    dr_nameplate_mw: float
    dr_effective_mw: float
    static_share: float
    static_passed: bool
    static_reason: str
    # dynamic
    dynamic_done: bool
    engine: str | None
    windows: int
    achieved_mw: float | None
    served_peak_mw: float | None
    dynamic_share: float | None
    margin_mw: float | None
    shortfall_mwh: float | None
    hours_short: int | None
    dr_hours: int | None
    spare_at_peak_mw: float | None
    dr_energy_mwh: float | None
    events_used: int | None
    events_available: int | None
    dynamic_passed: bool | None
    dynamic_reason: str
    passed: bool | None
    reason: str
    notes: list[str] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    window_rows: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, list[Any]] = field(default_factory=dict)

    def table(self) -> str:
        """A text rendering for analysts."""
        pct = lambda x: "-" if x is None else f"{100 * x:.2f} %"  # noqa: E731
        rows = [
            ("check", f"demand-response peak shaving >= {100 * self.threshold:g} % of annual peak"),
            ("peak definition", self.peak_definition),
            ("horizon", self.horizon),
            ("annual peak load", f"{_fmt(self.annual_peak_mw)} MW"),
            ("required reduction", f"{_fmt(self.required_mw)} MW"),
            ("peak hours / periods", f"{self.peak_hours} h in {self.peak_periods} periods (longest {self.longest_period_h} h)"),
            ("static: DR nameplate", f"{_fmt(self.dr_nameplate_mw)} MW"),
            ("static: DR effective", f"{_fmt(self.dr_effective_mw)} MW = {pct(self.static_share)} of peak"),
            ("static verdict", f"{_verdict(self.static_passed)}: {self.static_reason}"),
        ]
        if self.dynamic_done:
            rows += [
                ("dynamic: engine / windows", f"{self.engine} / {self.windows}"),
                ("dynamic: served peak", f"{_fmt(self.served_peak_mw)} MW"),
                ("dynamic: reduction achieved", f"{_fmt(self.achieved_mw)} MW = {pct(self.dynamic_share)} of peak"),
                ("dynamic: margin", f"{_fmt(self.margin_mw)} MW (the re-dispatch calls only what the cap needs)"),
                ("dynamic: DR not called at peak hour", f"{_fmt(self.spare_at_peak_mw)} MW (capacity, not proven callable)"),
                ("dynamic: hours short / MWh", f"{self.hours_short} h / {_fmt(self.shortfall_mwh)} MWh"),
                ("dynamic: DR hours / energy", f"{self.dr_hours} h / {_fmt(self.dr_energy_mwh)} MWh"),
                ("dynamic: events used / available", f"{self.events_used} / {self.events_available} (summed over the DR units re-dispatched)"),
            ]
        rows.append(("dynamic verdict", f"{_verdict(self.dynamic_passed)}: {self.dynamic_reason}"))
        rows.append(("RESULT", f"{_verdict(self.passed)}: {self.reason}"))
        w = max(len(a) for a, _ in rows)
        out = "\n".join(f"{a:<{w}}  {b}" for a, b in rows)
        if self.resources:
            cls: dict[tuple[Any, ...], dict[str, Any]] = {}
            for d in self.resources:
                key = (d["max_dur_h"], d["max_events"], d["payback_frac"], d["cost"])
                c = cls.setdefault(key, {"max_dur_h": key[0], "max_events": key[1], "payback_frac": key[2], "cost": key[3],
                                         "resources": 0, "p_max_mw": 0.0, "effective_mw": 0.0})
                c["resources"] += 1
                c["p_max_mw"] += d["p_max_mw"]
                c["effective_mw"] += d.get("effective_mw", 0.0)
            out += "\n\nDR resources by class (all resources in to_dict()['resources'])\n" + text_table(list(cls.values()))
        for n in self.notes:
            out += f"\nnote: {n}"
        return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in ``mask``."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _dr_table(res: Any, sysarr: Any) -> list[dict[str, Any]]:
    if sysarr is not None:
        return [
            {
                "resource": sysarr.dr_names[i],
                "bus": sysarr.bus_names[int(sysarr.dr_bus[i])],
                "p_max_mw": float(sysarr.dr_pmax[i]),
                "max_dur_h": int(sysarr.dr_max_dur[i]),
                "max_events": int(sysarr.dr_max_events[i]),
                "cost": float(sysarr.dr_cost[i]),
                "payback_frac": float(sysarr.dr_payback_frac[i]),
            }
            for i in range(sysarr.n_dr)
        ]
    comp = res.components.filter(pl.col("component") == "dr")
    rows = []
    for r, ex in zip(comp.to_dicts(), _extra(comp)):
        rows.append(
            {
                "resource": r["name"],
                "bus": r["bus"],
                "p_max_mw": float(r["p_max_mw"]),
                "max_dur_h": int(ex.get("max_dur_h", 1) or 1),
                "max_events": int(ex.get("max_events", 0) or 0),
                "cost": float(ex.get("cost", 0.0) or 0.0),
                "payback_frac": float(ex.get("payback_frac", 0.0) or 0.0),
            }
        )
    return rows


def _pool(dr: list[dict[str, Any]], groups: int | None) -> list[dict[str, Any]]:
    """DR resources pooled by (duration, events, payback, cost), each pool split in ``groups``."""
    if not groups:
        return dr
    pools: dict[tuple[Any, ...], float] = {}
    for d in dr:
        key = (d["max_dur_h"], d["max_events"], d["payback_frac"], d["cost"])
        pools[key] = pools.get(key, 0.0) + d["p_max_mw"]
    out = []
    for k, (key, mw) in enumerate(sorted(pools.items())):
        g = max(1, int(groups))
        for j in range(g):
            out.append({"resource": f"pool{k}_dur{key[0]}h_g{j}", "bus": "", "p_max_mw": mw / g, "max_dur_h": key[0],
                        "max_events": key[1], "payback_frac": key[2], "cost": key[3]})
    return out if len(out) < len(dr) else dr


def _island(
    name: str,
    timestamps: np.ndarray,
    need_mw: np.ndarray,
    headroom_mw: np.ndarray,
    dr: list[dict[str, Any]],
    events_used: np.ndarray,
) -> Any:
    """One-bus system where only DR can meet ``need_mw`` (load above the cap).

    ``headroom_mw`` (load below the cap) is offered by a free, curtailable source so that
    DR payback (rebound) may be served as long as served load stays under the cap.
    Load shedding in this system is the shortfall of DR against the requirement.
    """
    from .arrays import State, SystemArrays

    T = len(need_mw)
    D = len(dr)
    z = np.zeros
    i64 = np.int64
    costs = np.array([d["cost"] for d in dr], dtype=float)
    return SystemArrays(
        name=f"{name}-peak-response",
        timestamps=np.asarray(timestamps, dtype="datetime64[h]"),
        currency="",
        bus_names=("system",),
        load_mw=np.ascontiguousarray(need_mw.reshape(T, 1), dtype=float),
        line_names=(),
        ptdf=z((0, 1)),
        line_max_mw=z(0),
        th_names=(), th_kind=(), th_bus=z(0, i64), th_pmin=z(0), th_pmax=z(0), th_ramp_up=z(0),
        th_ramp_down=z(0), th_su_ramp=z(0), th_sd_ramp=z(0), th_min_up=z(0, i64), th_min_down=z(0, i64),
        th_cost_pmin=z(0), th_seg_mw=z((0, 1)), th_seg_cost=z((0, 1)), th_su_lag=z((0, 1), i64),
        th_su_cost=z((0, 1)), th_co2=z(0), th_must_run=z(0, bool),
        re_names=("headroom",), re_kind=("other",), re_bus=z(1, i64),
        re_avail_mw=np.ascontiguousarray(headroom_mw.reshape(T, 1), dtype=float),
        hy_names=(), hy_kind=(), hy_bus=z(0, i64), hy_k=z(0), hy_pmax=z(0), hy_qmin=z(0), hy_vmin=z(0),
        hy_vmax=z(0), hy_inflow=z((T, 0)), hy_down=z(0, i64), hy_delay=z(0, i64),
        st_names=(), st_kind=(), st_bus=z(0, i64), st_pch=z(0), st_pdis=z(0), st_emax=z(0), st_emin=z(0),
        st_eta_ch=z(0), st_eta_dis=z(0), st_loss=z(0),
        dr_names=tuple(d["resource"] for d in dr),
        dr_bus=z(D, i64),
        dr_pmax=np.array([d["p_max_mw"] for d in dr], dtype=float),
        dr_cost=costs,
        dr_max_dur=np.array([max(1, d["max_dur_h"]) for d in dr], dtype=i64),
        dr_max_events=np.array([d["max_events"] for d in dr], dtype=i64),
        dr_payback_frac=np.array([d["payback_frac"] for d in dr], dtype=float),
        ex_names=(), ex_bus=z(0, i64), ex_min=z((T, 0)), ex_max=z((T, 0)), ex_price=z(0),
        reserve_up_mw=z(T),
        voll=float(max(1e5, 100.0 * (costs.max() if D else 0.0))),
        reserve_short_cost=0.0,
        curtail_cost=0.0,
        spill_cost=0.0,
        init=State(
            th_on=z(0, bool), th_hours=z(0, i64), th_p=z(0), st_e=z(0), hy_v=z(0), hy_hist=z((0, 1)),
            dr_events_used=np.asarray(events_used, dtype=i64).copy(),
        ),
        meta={"source": "dispatch.checks.peak_response served-load-cap island"},
    )


def peak_response(
    res: Any,
    threshold: float = 0.05,
    peak_quantile: float = 0.95,
    case: Any = None,
    *,
    peak_mode: Literal["fraction", "quantile"] = "fraction",
    dynamic: bool = True,
    engine: str | None = None,
    pad_h: int = 12,
    dr_groups: int | None = 6,
    options: Any = None,
) -> PeakResponseCheck:
    """Can demand response shave ``threshold`` of the annual peak load? (2030 plan: 5 %).

    Parameters
    ----------
    res : Result
        A simulation result (either engine, or read back from disk).
    threshold : float
        Required reduction as a share of the annual peak load (0.05 = 5 %).
    peak_quantile : float
        Defines the peak hours. With ``peak_mode='fraction'`` (default) the peak hours are
        those whose system load is at least ``peak_quantile`` x the annual peak (0.95: the
        hours above 95 % of peak); with ``peak_mode='quantile'`` those at or above that
        quantile of the hourly loads (0.99: the top 1 % of hours).
    case : Case, SystemArrays, str or None
        Where the year's load comes from. None loads ``res.summary['case']`` by name and,
        if that fails, uses the result's own hours (noted in the output).
    peak_mode : {'fraction', 'quantile'}
    dynamic : bool
        Also re-dispatch the peak hours with the engine (see Notes).
    engine : str or None
        Engine for the re-dispatch (default ``'milp'``: the re-dispatch is a small
        one-bus problem that the exact engine solves in seconds).
    pad_h : int
        Hours after each peak period added to its window, where DR payback may fall.
    dr_groups : int or None
        For the re-dispatch, resources with the same duration, events, payback and cost are
        pooled and split into this many equal groups (the re-dispatch has one bus, so
        location does not matter; a pooled schedule is feasible for the members, so pooling
        can only understate DR, and several groups can still take turns). None keeps every
        resource (slow with hundreds of resources).
    options : engine options, optional
        Default for ``milp``: ``MilpOptions(mip_rel_gap=1e-3, time_limit_s=120)``.

    Returns
    -------
    PeakResponseCheck

    Notes
    -----
    *Static*: peak periods are the runs of consecutive peak hours. A DR resource of
    ``p_max`` that may be called for ``max_dur_h`` hours per event holds, by rotation,
    ``p_max * min(1, max_dur_h / L)`` over the longest peak period of ``L`` hours; if it
    has fewer events per year than there are peak periods it is derated by
    ``events / periods``. The sum over resources, divided by the annual peak, must be at
    least ``threshold``.

    The verdict (``passed``) is the dynamic one when it ran, else the static one.

    *Dynamic*: served load is capped at ``C = (1 - threshold) x annual peak``. Each peak
    period (plus ``pad_h`` hours after it, merged where they overlap) becomes a window of a
    one-bus system in which the load is the requirement ``max(0, load - C)``, the only
    suppliers are the DR resources (their capacity, duration, events, cost and payback
    unchanged) and a free source of ``max(0, C - load)`` that may serve DR payback
    without pushing served load above ``C``. The engine solves the windows in time order,
    carrying the events used; load shed in this system is DR's shortfall. The check passes
    when no hour is short, i.e. the served peak ``max(load - DR + payback)`` is at most
    ``C``. Network limits are not part of the re-dispatch (DR lowers flows into the load
    centres; the AC check covers the network).
    """
    sysarr, note = _case_arrays(res, case)
    notes = [note] if note else []
    if sysarr is not None:
        load = sysarr.load_mw.sum(axis=1)
        stamps = sysarr.timestamps
        horizon = f"case {sysarr.name} ({sysarr.meta.get('hydrology') or '-'}), {len(load)} h from {stamps[0]}"
        case_name = sysarr.name
    else:
        sysf = res.system
        load = sysf["load_mw"].to_numpy().astype(float)
        stamps = sysf["time"].to_numpy().astype("datetime64[h]")
        horizon = f"result only, {len(load)} h from {stamps[0] if len(stamps) else '-'}"
        case_name = str(res.summary.get("case"))
        if len(load) < 8760:
            notes.append("the peak is the peak of the simulated hours, not of a whole year")
    if not len(load):
        raise DispatchError("peak_response: the result has no hours")
    peak = float(load.max())
    required = threshold * peak
    cap = peak - required
    if peak_mode == "fraction":
        is_peak = load >= peak_quantile * peak
        pdef = f"hours with load >= {100 * peak_quantile:g} % of annual peak ({_fmt(peak_quantile * peak)} MW)"
    elif peak_mode == "quantile":
        q = float(np.quantile(load, peak_quantile))
        is_peak = load >= q
        pdef = f"hours at or above the {100 * peak_quantile:g} % quantile of load ({_fmt(q)} MW)"
    else:
        raise ValueError(f"peak_mode must be 'fraction' or 'quantile', not {peak_mode!r}")
    need = np.maximum(load - cap, 0.0)
    if (need > _TOL_MW).any() and not is_peak[need > _TOL_MW].all():
        notes.append("some hours above the cap were outside the peak definition; they are included")
        is_peak = is_peak | (need > _TOL_MW)
    periods = _runs(is_peak)
    longest = max((b - a for a, b in periods), default=0)

    dr = _dr_table(res, sysarr)
    nameplate = float(sum(d["p_max_mw"] for d in dr))
    eff = 0.0
    for d in dr:
        dur_f = min(1.0, d["max_dur_h"] / longest) if longest else 1.0
        ev_f = min(1.0, d["max_events"] / len(periods)) if periods else 1.0
        d["effective_mw"] = d["p_max_mw"] * dur_f * ev_f
        eff += d["effective_mw"]
    static_share = eff / peak if peak > 0 else 0.0
    static_ok = static_share >= threshold - 1e-12
    if static_ok:
        sreason = f"{100 * static_share:.2f} % of peak >= {100 * threshold:g} %"
    elif nameplate / peak >= threshold:
        sreason = (
            f"nameplate DR {100 * nameplate / peak:.2f} % of peak would do, but durations/events over "
            f"{len(periods)} peak periods of up to {longest} h leave {100 * static_share:.2f} %"
        )
    else:
        sreason = f"DR nameplate {_fmt(nameplate)} MW is only {100 * nameplate / peak:.2f} % of peak"

    out = PeakResponseCheck(
        name="peak_response", threshold=threshold, peak_definition=pdef, horizon=horizon,
        annual_peak_mw=peak, required_mw=required, peak_hours=int(is_peak.sum()),
        peak_periods=len(periods), longest_period_h=int(longest), dr_nameplate_mw=nameplate,
        dr_effective_mw=eff, static_share=static_share, static_passed=bool(static_ok), static_reason=sreason,
        dynamic_done=False, engine=None, windows=0, achieved_mw=None, served_peak_mw=None,
        dynamic_share=None, margin_mw=None, shortfall_mwh=None, hours_short=None, dr_hours=None, spare_at_peak_mw=None,
        dr_energy_mwh=None, events_used=None, events_available=None, dynamic_passed=None,
        dynamic_reason="not run", passed=bool(static_ok), reason="", notes=notes, resources=dr,
    )
    if dynamic:
        _dynamic_peak(out, case_name, load, stamps, need, cap, periods, _pool(dr, dr_groups), engine or "milp", pad_h, options)
    if out.dynamic_passed is None:
        out.passed = out.static_passed
        out.reason = "static: " + sreason
    elif out.dynamic_passed:
        out.passed = True
        out.reason = f"re-dispatch: DR holds {_fmt(out.achieved_mw)} MW off the peak in every peak hour"
        if not out.static_passed:
            out.reason += (
                f" (the static estimate, {100 * static_share:.2f} %, assumes the full requirement through"
                f" the longest {longest} h period and is only indicative)"
            )
    else:
        out.passed = False
        out.reason = f"re-dispatch: {out.dynamic_reason}"
    return out


def _dynamic_peak(
    out: PeakResponseCheck,
    case_name: str,
    load: np.ndarray,
    stamps: np.ndarray,
    need: np.ndarray,
    cap: float,
    periods: list[tuple[int, int]],
    dr: list[dict[str, Any]],
    engine: str | None,
    pad_h: int,
    options: Any,
) -> None:
    from .arrays import advance_state
    from .engines import ENGINES, get_engine

    if engine not in ENGINES:
        engine = "milp"
    T = len(load)
    windows: list[list[int]] = []
    for a, b in periods:
        if not need[a:b].any():
            continue
        lo, hi = a, min(T, b + pad_h)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    served = load.copy()
    events_avail = int(sum(d["max_events"] for d in dr))
    out.engine, out.windows, out.dynamic_done = engine, len(windows), True
    out.events_available = events_avail
    if not windows:
        out.achieved_mw, out.served_peak_mw = 0.0, float(load.max())
        out.dynamic_passed, out.dynamic_reason = True, "no hour above the cap (threshold 0)"
        return
    if not dr:
        short = need
        out.achieved_mw, out.served_peak_mw = 0.0, float(load.max())
        out.dynamic_share, out.margin_mw = 0.0, -out.required_mw
        out.shortfall_mwh, out.hours_short = float(short.sum()), int((short > _TOL_MW).sum())
        out.dr_hours, out.dr_energy_mwh, out.events_used = 0, 0.0, 0
        out.dynamic_passed, out.dynamic_reason = False, "the case has no demand-response resources"
        return
    eng = get_engine(engine)
    if options is None and engine == "milp":
        from .milp import MilpOptions

        options = MilpOptions(mip_rel_gap=1e-3, time_limit_s=120.0)
    sysarr = _island(case_name, stamps, need, np.maximum(cap - load, 0.0), dr, np.zeros(len(dr), np.int64))
    state = sysarr.init.copy()
    dr_p = np.zeros((T, len(dr)))
    short = np.zeros(T)
    for lo, hi in windows:
        sol = eng.solve_window(sysarr, lo, hi - lo, state, None, options)
        state = advance_state(sysarr, state, sol, hi - lo)
        dr_p[lo:hi] = sol.dr_p
        served[lo:hi] = load[lo:hi] - sol.dr_p.sum(1) + sol.dr_rebound.sum(1)
        short[lo:hi] = sol.shed[:, 0]
        out.window_rows.append(
            {
                "start": str(stamps[lo]), "hours": hi - lo, "need_max_mw": float(need[lo:hi].max()),
                "dr_max_mw": float(sol.dr_p.sum(1).max()), "short_mwh": float(sol.shed.sum()),
                "events": int((state.dr_events_used).sum()),
            }
        )
    used = int(state.dr_events_used.sum())
    hrs = np.concatenate([np.arange(lo, hi) for lo, hi in windows])
    out.profile = {
        "time": [str(t) for t in stamps[hrs]],
        "load_mw": load[hrs].tolist(),
        "served_mw": served[hrs].tolist(),
        "dr_mw": dr_p[hrs].sum(1).tolist(),
        "cap_mw": [cap] * len(hrs),
    }
    served_peak = float(served.max())
    out.served_peak_mw = served_peak
    out.achieved_mw = float(load.max()) - served_peak
    out.dynamic_share = out.achieved_mw / float(load.max())
    out.margin_mw = out.achieved_mw - out.required_mw
    out.shortfall_mwh = float(short.sum())
    out.hours_short = int((short > _TOL_MW).sum())
    out.dr_hours = int((dr_p.sum(1) > _TOL_MW).sum())
    out.dr_energy_mwh = float(dr_p.sum())
    tp = int(np.argmax(load))
    out.spare_at_peak_mw = float(sum(d["p_max_mw"] for d in dr) - dr_p[tp].sum())
    out.events_used = used
    ok = out.hours_short == 0 and served_peak <= cap + 1e-3 * max(1.0, cap)
    out.dynamic_passed = bool(ok)
    if ok:
        out.dynamic_reason = f"served peak {_fmt(served_peak)} MW <= cap {_fmt(cap)} MW in {len(windows)} windows"
        return
    # why did it fail?
    pmax = float(sum(d["p_max_mw"] for d in dr))
    worst = int(np.argmax(short))
    when = str(stamps[worst])
    if need.max() > pmax + _TOL_MW:
        why = f"DR capacity {_fmt(pmax)} MW < required {_fmt(float(need.max()))} MW at the peak"
    elif used >= events_avail and events_avail > 0:
        why = f"events exhausted ({used} of {events_avail} used)"
    else:
        run = max((b - a for a, b in _runs(need > _TOL_MW)), default=0)
        durs = sorted({d["max_dur_h"] for d in dr})
        why = f"duration limits {durs} h cannot cover runs of up to {run} h above the cap (with payback)"
    out.dynamic_reason = (
        f"short in {out.hours_short} h (worst {_fmt(float(short[worst]))} MW at {when}); {why}"
    )


# =======================================================================================
# curtailment
@dataclass
class CurtailmentCheck(_CheckBase):
    """Outcome of :func:`curtailment`."""

    name: str
    target_utilisation: float
    totals: pl.DataFrame
    by_month: pl.DataFrame
    by_region: pl.DataFrame
    by_plant: pl.DataFrame
    causes: pl.DataFrame
    passed: bool | None
    reason: str
    definition: str
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A text rendering for analysts."""
        pct = lambda df: df.with_columns((100 * pl.col("utilisation")).alias("utilisation")).rename(  # noqa: E731
            {"utilisation": "utilisation_%"}
        )
        parts = [
            f"curtailment and utilisation (target >= {100 * self.target_utilisation:g} %)",
            text_table(pct(self.totals)),
            "",
            "by month",
            text_table(pct(self.by_month), max_rows=60),
            "",
            "by region",
            text_table(pct(self.by_region)),
            "",
            "plants with the most curtailment",
            text_table(pct(self.by_plant.head(15))),
            "",
            "causes of curtailed hours (MWh shared equally among the conditions that held)",
            text_table(self.causes),
            "",
            f"RESULT {_verdict(self.passed)}: {self.reason}",
            f"definition: {self.definition}",
        ]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)


def _region_map(res: Any) -> dict[str, str]:
    if "components" not in res.frames:
        return {}
    c = res.components
    return dict(zip(c["name"].to_list(), c["region"].to_list()))


def curtailment_frame(res: Any) -> pl.DataFrame:
    """Long frame of available, used and curtailed energy per plant and hour.

    Columns: time, plant, tech ('wind', 'solar', 'hydro', other kinds as is), bus, region,
    available_mwh, used_mwh, curtailed_mwh. Hydro reservoir plants count
    ``avoidable_spill_mwh`` as curtailed (see :func:`curtailment`); run-of-river plants
    modelled as non-dispatchable (kind ``hydro_ror``) count their curtailment.
    """
    regions = _region_map(res)
    parts = []
    if "renewables" in res.frames and res.renewables.height:
        r = res.renewables
        parts.append(
            r.select(
                "time",
                "plant",
                pl.when(pl.col("kind") == "hydro_ror").then(pl.lit("hydro")).otherwise(pl.col("kind")).alias("tech"),
                "bus",
                pl.col("avail_mw").alias("available_mwh"),
                pl.col("p_mw").alias("used_mwh"),
                pl.col("curtailed_mw").alias("curtailed_mwh"),
            )
        )
    if "hydro" in res.frames and res.hydro.height:
        h = res.hydro
        parts.append(
            h.select(
                "time",
                "plant",
                pl.lit("hydro").alias("tech"),
                "bus",
                (pl.col("p_mw") + pl.col("avoidable_spill_mwh")).alias("available_mwh"),
                pl.col("p_mw").alias("used_mwh"),
                pl.col("avoidable_spill_mwh").alias("curtailed_mwh"),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={"time": pl.Datetime("us"), "plant": pl.Utf8, "tech": pl.Utf8, "bus": pl.Utf8, "region": pl.Utf8,
                    "available_mwh": pl.Float64, "used_mwh": pl.Float64, "curtailed_mwh": pl.Float64}
        )
    df = pl.concat(parts, how="vertical_relaxed")
    return df.with_columns(
        pl.col("plant").replace_strict(regions, default="", return_dtype=pl.Utf8).alias("region")
    ).select("time", "plant", "tech", "bus", "region", "available_mwh", "used_mwh", "curtailed_mwh")


def _agg(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sums by ``keys``, added in row order (a stable sort, then ``np.add.reduceat``): the
    figures do not depend on how many threads polars has (a threaded group-by sum does;
    sweep workers run with one thread, so their tables differed from a serial run's in the
    last bits)."""
    cols = ["available_mwh", "used_mwh", "curtailed_mwh"]
    g = df.sort(keys, maintain_order=True)
    if g.height == 0:
        summed = g.select(keys + cols)
    else:
        gid = g.select(pl.struct(keys).rle_id()).to_series().to_numpy()
        starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
        summed = g[starts].select(keys).with_columns(
            [pl.Series(c, np.add.reduceat(g[c].cast(pl.Float64).to_numpy(), starts)) for c in cols])
    return (
        summed
        .with_columns(
            pl.when(pl.col("available_mwh") > 0)
            .then(pl.col("used_mwh") / pl.col("available_mwh"))
            .otherwise(1.0)
            .alias("utilisation")
        )
        .sort(keys)
    )


def _hour_conditions(res: Any, sysarr: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """System-wide conditions per hour, and congested lines per hour (with sign)."""
    times = res.system.select("time")
    comp = res.components if "components" in res.frames else None
    conds = times
    # minimum generation: every committed thermal unit at (or below) its pmin
    if "units" in res.frames and res.units.height and comp is not None:
        pmin = comp.filter(pl.col("component") == "thermal").select(pl.col("name").alias("unit"), pl.col("p_min_mw"))
        u = res.units.join(pmin, on="unit", how="left").filter(pl.col("on"))
        mg = u.group_by("time").agg(
            (pl.col("p_mw") <= pl.col("p_min_mw") + _TOL_MW + 1e-4 * pl.col("p_min_mw")).all().alias("minimum generation")
        )
        conds = conds.join(mg, on="time", how="left")
    # export limit: every link at its maximum
    if "exports" in res.frames and res.exports.height:
        e = res.exports.filter(pl.col("max_mw") > _TOL_MW)
        em = e.group_by("time").agg((pl.col("p_mw") >= pl.col("max_mw") - _TOL_MW - 1e-4 * pl.col("max_mw")).all().alias("export limit"))
        conds = conds.join(em, on="time", how="left")
    # no storage room: each unit full or charging at its maximum
    if "storage" in res.frames and res.storage.height and comp is not None:
        sc = comp.filter(pl.col("component") == "storage").select(
            pl.col("name").alias("unit"), (-pl.col("p_min_mw")).alias("pch"), pl.col("e_max_mwh").alias("emax")
        )
        s = res.storage.join(sc, on="unit", how="left")
        full = (pl.col("soc_mwh") >= pl.col("emax") * (1 - 1e-3) - _TOL_MW) | (
            pl.col("charge_mw") >= pl.col("pch") * (1 - 1e-3) - _TOL_MW
        )
        sm = s.group_by("time").agg(full.all().alias("no storage room"))
        conds = conds.join(sm, on="time", how="left")
    conds = conds.fill_null(False)
    lines = None
    if "lines" in res.frames and res.lines.height:
        lines = res.lines.filter((pl.col("rating_mw") > 0) & (pl.col("loading") >= 0.99)).select(
            "time", "line", pl.col("flow_mw").sign().alias("direction")
        )
    return conds, lines


def _congestion(cf: pl.DataFrame, lines: pl.DataFrame | None, sysarr: Any, notes: list[str], res: Any) -> pl.Series:
    """Per curtailed (plant, hour) row: is a congested line next to / sensitive to its bus?"""
    if lines is None or lines.height == 0:
        return pl.Series("network congestion", [False] * cf.height)
    if sysarr is not None and sysarr.n_line and sysarr.ptdf.shape[0] == sysarr.n_line:
        li = {n: i for i, n in enumerate(sysarr.line_names)}
        bi = {n: i for i, n in enumerate(sysarr.bus_names)}
        by_time: dict[Any, list[tuple[int, float]]] = {}
        for t, ln, d in lines.iter_rows():
            if ln in li:
                by_time.setdefault(t, []).append((li[ln], float(d)))
        flags = []
        for t, b in zip(cf["time"].to_list(), cf["bus"].to_list()):
            hit = False
            j = bi.get(b)
            for l, d in by_time.get(t, ()):
                # more injection at this bus would push the congested line further past its limit
                if j is not None and sysarr.ptdf[l, j] * d > 0.05:
                    hit = True
                    break
            flags.append(hit)
        notes.append("network congestion: a line at >= 99 % loading whose PTDF from the plant's bus is > 0.05 in the flow's direction")
        return pl.Series("network congestion", flags)
    ends = result_line_ends(res)
    if ends:
        by_t: dict[Any, set[str]] = {}
        for t, ln, _ in lines.iter_rows():
            if ln in ends:
                by_t.setdefault(t, set()).update(ends[ln])
        notes.append("network congestion: a line at >= 99 % loading ends at the plant's bus")
        return pl.Series("network congestion", [b in by_t.get(t, ()) for t, b in zip(cf["time"].to_list(), cf["bus"].to_list())])
    notes.append("network congestion: some line at >= 99 % loading in that hour (line locations unknown without the case)")
    congested_t = set(lines["time"].to_list())
    return pl.Series("network congestion", [t in congested_t for t in cf["time"].to_list()])


def result_line_ends(res: Any) -> dict[str, tuple[str, str]]:
    """line -> (from bus, to bus) from what a Result carries, or {} when it does not say.

    Read from ``res.meta['line_from'/'line_to']`` (indices into the bus list, as the case
    compiler stores them) or from ``components`` rows of component ``line`` with
    ``from_bus``/``to_bus`` in ``extra``.
    """
    if res is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    comp = res.frames.get("components")
    if comp is not None and comp.height:
        for name, ex in comp.filter(pl.col("component").is_in(["line", "trafo", "transformer"])).select("name", "extra").iter_rows():
            e = json.loads(ex or "{}")
            if e.get("from_bus") is not None and e.get("to_bus") is not None:
                out[name] = (str(e["from_bus"]), str(e["to_bus"]))
    lf, lt = res.meta.get("line_from"), res.meta.get("line_to")
    if lf is not None and lt is not None and "lines" in res.frames and "bus_info" in res.frames:
        buses = res.bus_info["bus"].to_list()
        names = res.lines["line"].unique(maintain_order=True).to_list()
        if len(lf) == len(lt) == len(names):
            for nm, a, b in zip(names, lf, lt):
                a_name = buses[int(a)] if isinstance(a, (int, float)) and 0 <= int(a) < len(buses) else str(a)
                b_name = buses[int(b)] if isinstance(b, (int, float)) and 0 <= int(b) < len(buses) else str(b)
                out.setdefault(nm, (a_name, b_name))
    return out


CAUSES = ("network congestion", "minimum generation", "export limit", "no storage room")


def curtailment(res: Any, target_utilisation: float = 0.95, case: Any = None, *, techs: tuple[str, ...] = ("wind", "solar", "hydro")) -> CurtailmentCheck:
    """Wind, solar and hydro curtailment and utilisation, by month, region and plant, with causes.

    Parameters
    ----------
    res : Result
    target_utilisation : float
        Minimum utilisation rate (used / available energy) per technology; the national
        target for wind and solar is 95 %, applied here to hydro as well.
    case : Case, SystemArrays or None
        Optional, for the PTDF used to tell which congested line a plant's bus feeds.
        Not loaded by name (the check works from the result alone).
    techs : tuple of str
        Technologies judged against the target.

    Returns
    -------
    CurtailmentCheck

    Notes
    -----
    Wind/solar curtailment is available minus used energy. Hydro curtailment (弃水) is
    the *avoidable* spill of reservoir plants, ``min(k*s, pmax - p)`` per hour: water
    spilled while the plant still had turbine capacity, i.e. spill that could have made
    energy (spill beyond the turbine capacity is flood release, not curtailment), plus the
    curtailment of run-of-river plants. Hydro utilisation is ``p / (p + avoidable spill)``.

    The cause of each curtailed plant-hour is every condition that held: *network
    congestion* (a line at its limit next to the plant's bus), *minimum generation*
    (every committed thermal unit at its minimum), *export limit* (every export link at its
    maximum), *no storage room* (every storage unit full or charging at its maximum); none
    of them gives *other* (e.g. hydro minimum release or ramp limits).
    """
    sysarr = None
    if case is not None:
        sysarr, _ = _case_arrays(res, case)
    notes: list[str] = []
    cf = curtailment_frame(res)
    cf = cf.with_columns(pl.col("time").dt.strftime("%Y-%m").alias("month"))
    totals = _agg(cf, ["tech"])
    by_month = _agg(cf, ["month", "tech"])
    by_region = _agg(cf, ["region", "tech"])
    by_plant = _agg(cf, ["plant", "tech", "region"]).sort("curtailed_mwh", descending=True)

    cur = cf.filter(pl.col("curtailed_mwh") > _TOL_MW)
    conds, lines = _hour_conditions(res, sysarr)
    cur = cur.join(conds, on="time", how="left")
    cur = cur.with_columns(_congestion(cur, lines, sysarr, notes, res))
    for c in CAUSES:
        if c not in cur.columns:
            cur = cur.with_columns(pl.lit(False).alias(c))
    cur = cur.with_columns(pl.col(list(CAUSES)).fill_null(False))
    n_true = pl.sum_horizontal([pl.col(c).cast(pl.Int64) for c in CAUSES])
    cur = cur.with_columns(n_true.alias("_n"))
    rows = []
    for tech in sorted(set(cur["tech"].to_list())):
        sub = cur.filter(pl.col("tech") == tech)
        for c in CAUSES + ("other",):
            if c == "other":
                m = sub.filter(pl.col("_n") == 0)
                mwh = float(m["curtailed_mwh"].sum())
            else:
                m = sub.filter(pl.col(c))
                mwh = float((m["curtailed_mwh"] / m["_n"]).sum())
            if m.height:
                rows.append({"tech": tech, "cause": c, "hours": int(m["time"].n_unique()), "curtailed_mwh": mwh})
    causes = pl.DataFrame(rows, schema={"tech": pl.Utf8, "cause": pl.Utf8, "hours": pl.Int64, "curtailed_mwh": pl.Float64})

    judged = totals.filter(pl.col("tech").is_in(list(techs)) & (pl.col("available_mwh") > 0))
    fails = judged.filter(pl.col("utilisation") < target_utilisation)
    passed = fails.height == 0
    if judged.height == 0:
        reason = "no wind, solar or hydro energy in the result"
    elif passed:
        reason = ", ".join(f"{t} {100 * u:.2f} %" for t, u in judged.select("tech", "utilisation").iter_rows()) + f" >= {100 * target_utilisation:g} %"
    else:
        reason = ", ".join(
            f"{t} utilisation {100 * u:.2f} % < {100 * target_utilisation:g} % ({_fmt(c)} MWh curtailed)"
            for t, u, c in fails.select("tech", "utilisation", "curtailed_mwh").iter_rows()
        )
    return CurtailmentCheck(
        name="curtailment", target_utilisation=target_utilisation, totals=totals, by_month=by_month,
        by_region=by_region, by_plant=by_plant, causes=causes, passed=passed, reason=reason,
        definition="hydro curtailment = avoidable spill min(k*s, pmax-p) + run-of-river curtailment; utilisation = used/(used+curtailed)",
        notes=notes,
    )


# =======================================================================================
# carbon and security of supply
@dataclass
class CarbonSupplyCheck(_CheckBase):
    """Outcome of :func:`carbon_supply`."""

    name: str
    co2_by_kind: pl.DataFrame
    co2_t: float
    generation_mwh: float
    non_fossil_mwh: float
    non_fossil_share: float
    co2_intensity_t_per_mwh: float
    unserved_mwh: float
    loss_of_load_hours: int
    reserve_short_hours: int
    reserve_short_mwh: float
    startups: int
    startups_by_kind: dict[str, int]
    passed: bool | None
    reason: str

    def table(self) -> str:
        """A text rendering for analysts."""
        rows = [
            ("CO2", f"{_fmt(self.co2_t)} t"),
            ("generation (incl. storage discharge)", f"{_fmt(self.generation_mwh)} MWh"),
            ("non-fossil share", f"{100 * self.non_fossil_share:.2f} %"),
            ("CO2 intensity", f"{self.co2_intensity_t_per_mwh:.4f} t/MWh"),
            ("unserved energy", f"{_fmt(self.unserved_mwh)} MWh"),
            ("loss-of-load hours", str(self.loss_of_load_hours)),
            ("reserve-shortfall hours / MWh", f"{self.reserve_short_hours} / {_fmt(self.reserve_short_mwh)}"),
            ("start-ups", f"{self.startups} " + (str(self.startups_by_kind) if self.startups_by_kind else "")),
        ]
        w = max(len(a) for a, _ in rows)
        out = "\n".join(f"{a:<{w}}  {b}" for a, b in rows)
        return out + "\n\nby unit type\n" + text_table(self.co2_by_kind) + f"\n\nRESULT {_verdict(self.passed)}: {self.reason}"


def carbon_supply(res: Any) -> CarbonSupplyCheck:
    """CO2 by unit type, non-fossil share, unserved energy, reserve shortfalls, start-ups.

    Parameters
    ----------
    res : Result

    Returns
    -------
    CarbonSupplyCheck
        ``passed`` is False when any load was not served (loss of load).

    Notes
    -----
    Generation counts thermal, hydro (reservoir and run-of-river), wind, solar, other
    renewables and storage discharge; the non-fossil share is everything but thermal
    units of a fossil kind (coal, gas, oil, ...) over that total.
    """
    s = res.system
    u = res.units if "units" in res.frames else pl.DataFrame()
    if u.height:
        by = (
            u.group_by("kind")
            .agg(pl.col("p_mw").sum().alias("energy_mwh"), pl.col("co2_t").sum(), pl.col("startup").cast(pl.Int64).sum().alias("startups"))
            .with_columns((pl.col("co2_t") / pl.col("energy_mwh").clip(lower_bound=1e-9)).alias("t_per_mwh"))
            .sort("kind")
        )
    else:
        by = pl.DataFrame(schema={"kind": pl.Utf8, "energy_mwh": pl.Float64, "co2_t": pl.Float64, "startups": pl.Int64, "t_per_mwh": pl.Float64})
    fossil = float(by.filter(pl.col("kind").is_in(list(FOSSIL_KINDS)))["energy_mwh"].sum()) if by.height else 0.0
    gen_cols = ["thermal_mw", "hydro_mw", "wind_mw", "solar_mw", "other_re_mw", "storage_discharge_mw"]
    gen = float(sum(s[c].sum() for c in gen_cols if c in s.columns))
    shed = s["shed_mw"].to_numpy()
    rs = s["reserve_short_mw"].to_numpy()
    co2 = float(by["co2_t"].sum()) if by.height else 0.0
    lol_h = int((shed > _TOL_MW).sum())
    unserved = float(shed.sum())
    passed = lol_h == 0
    reason = (
        "all load served" if passed else f"{_fmt(unserved)} MWh unserved in {lol_h} h (first {s['time'][int(np.argmax(shed > _TOL_MW))]})"
    )
    rsh = int((rs > _TOL_MW).sum())
    if rsh:
        reason += f"; spinning reserve short in {rsh} h"
    return CarbonSupplyCheck(
        name="carbon_supply", co2_by_kind=by, co2_t=co2, generation_mwh=gen, non_fossil_mwh=gen - fossil,
        non_fossil_share=(gen - fossil) / gen if gen > 0 else 0.0, co2_intensity_t_per_mwh=co2 / gen if gen > 0 else 0.0,
        unserved_mwh=unserved, loss_of_load_hours=lol_h, reserve_short_hours=rsh, reserve_short_mwh=float(rs.sum()),
        startups=int(by["startups"].sum()) if by.height else 0,
        startups_by_kind={k: int(v) for k, v in by.select("kind", "startups").iter_rows()} if by.height else {},
        passed=passed, reason=reason,
    )


# =======================================================================================
# Provincial statistics: the year as the published annual figures count it
@dataclass
class StatisticsCheck(_CheckBase):
    """Outcome of :func:`statistics`."""

    name: str
    year: int | None
    hours: int
    scale: float
    rows: pl.DataFrame
    passed: bool | None
    reason: str

    def table(self) -> str:
        """A text rendering for analysts."""
        head = (f"annual energy as Sichuan's statistics count it (year {self.year}, {self.hours} h"
                + (f", x {self.scale:.4f} to the calendar year" if self.scale != 1.0 else "") + ")")
        cols = ["quantity", "model_twh", "counted_twh", "published_twh", "diff_pct", "tolerance_pct", "verdict"]
        notes = [f"  {r['quantity']}: {r['note']} [{r['source']}]" for r in self.rows.iter_rows(named=True) if r["note"]]
        return (head + "\n" + text_table(self.rows, cols) + ("\n" + "\n".join(notes) if notes else "")
                + f"\n\nRESULT {_verdict(self.passed)}: {self.reason}")


def statistics(res: Any, published: pl.DataFrame | None = None) -> StatisticsCheck:
    """The result's annual energy counted as Sichuan's statistics count it, against the
    published figures of the case year (``networks/sichuan/statistics.csv``).

    Parameters
    ----------
    res : Result
    published : rows of the statistics table to compare with (columns ``quantity``,
        ``value_twh``, ``tolerance``, ``note``, ``source``); None reads the case year's from
        :func:`dispatch.case.published_statistics`.

    Returns
    -------
    StatisticsCheck
        ``rows``: per quantity the model's energy over all plants (``model_twh``), the part
        the province counts (``counted_twh``: the border stations of the lower Jinsha at
        their ``stat_share`` of 0.5, exports and ties at theirs), the published value and
        the relative difference. ``passed`` is False when a judged quantity (tolerance > 0)
        lies outside its tolerance, None when the result is not a whole case year or the
        case has no published figures.

    Notes
    -----
    consumption = load - shed - demand response + its rebound; hydro = reservoir stations
    and small (run-of-river) hydro, pumped storage excluded; thermal = every thermal unit;
    net_exports = export links and ties, imports negative. A result of a whole year is scaled
    to the calendar year (8784 h in a leap year: the case series hold 8760).
    """
    s = res.system
    mwh = {k: float(s[c].sum()) for k, c in (("load", "load_mw"), ("shed", "shed_mw"), ("dr", "dr_mw"),
                                             ("rebound", "rebound_mw"), ("thermal", "thermal_mw"), ("hydro", "hydro_mw"),
                                             ("wind", "wind_mw"), ("solar", "solar_mw")) if c in s.columns}
    comps = res.components if "components" in res.frames else pl.DataFrame({"component": [], "name": []})

    def shares(comp: str, key: str) -> dict[str, float]:
        names = comps.filter(pl.col("component") == comp)["name"].to_list()
        vals = res.meta.get(key)
        if vals is None:  # a case without statistical shares: everything counts
            return {n: 1.0 for n in names}
        if len(vals) != len(names):
            raise DispatchError(f"result meta {key!r} has {len(vals)} values for {len(names)} {comp} components")
        return dict(zip(names, (float(v) for v in vals)))

    hy_share = shares("hydro", "hy_stat_share")
    hy_left = 0.0  # MWh of reservoir stations that another province counts
    if "hydro" in res.frames and hy_share:
        e = res.hydro.group_by("plant").agg(pl.col("p_mw").sum())
        hy_left = float(sum(v * (1.0 - hy_share.get(n, 1.0)) for n, v in e.iter_rows()))
    ex_all = ex_counted = 0.0
    if "exports" in res.frames:
        ex_share = shares("export", "ex_stat_share")
        e = res.exports.group_by("link").agg(pl.col("p_mw").sum())
        ex_all = float(e["p_mw"].sum())
        ex_counted = float(sum(v * ex_share.get(n, 1.0) for n, v in e.iter_rows()))
    ror = 0.0  # small hydro, run-of-river availability profiles among the renewables
    if "renewables" in res.frames:
        ror = float(res.renewables.filter(pl.col("kind") == "hydro_ror")["p_mw"].sum())
    hydro = mwh.get("hydro", 0.0) + ror
    cons = mwh.get("load", 0.0) - mwh.get("shed", 0.0) - mwh.get("dr", 0.0) + mwh.get("rebound", 0.0)
    model = {"consumption": (cons, cons), "hydro": (hydro, hydro - hy_left),
             "thermal": (mwh.get("thermal", 0.0),) * 2, "wind": (mwh.get("wind", 0.0),) * 2,
             "solar": (mwh.get("solar", 0.0),) * 2, "net_exports": (ex_all, ex_counted)}
    hours = int(res.summary.get("hours") or s.height)
    year = res.meta.get("year") or res.summary.get("year")
    year = int(year) if year is not None else None
    case = str(res.summary.get("case") or res.meta.get("case") or "")
    reason_na = None
    if published is None:
        if year is None or not case.startswith("sichuan"):
            published, reason_na = None, f"no published figures for case {case!r}"
        else:
            from .case import published_statistics

            published = published_statistics(year)
            if published.height == 0:
                reason_na = f"no published figures for {year} in networks/sichuan/statistics.csv"
    full = hours >= 8760
    days = 366 if (year is not None and calendar.isleap(year)) else 365
    scale = days * 24 / hours if full else 1.0
    if not full and reason_na is None:
        reason_na = f"published figures are annual: a whole-year result is needed to compare (this one: {hours} h)"
    pub = {} if published is None else {r["quantity"]: r for r in published.iter_rows(named=True)}
    rows, bad = [], []
    for q, (m_all, m_cnt) in model.items():
        r = pub.get(q)
        counted = m_cnt * scale / 1e6
        diff = 100.0 * (counted / r["value_twh"] - 1.0) if (r and full and r["value_twh"] > 0) else None
        tol = float(r["tolerance"]) if r else 0.0
        judged = diff is not None and tol > 0
        ok = None if not judged else abs(diff) <= 100.0 * tol
        if ok is False:
            bad.append(f"{q} {diff:+.1f} % (tolerance {100 * tol:g} %)")
        rows.append({"quantity": q, "model_twh": m_all * scale / 1e6, "counted_twh": counted,
                     "published_twh": r["value_twh"] if r else None, "diff_pct": diff,
                     "tolerance_pct": 100.0 * tol if r else None,
                     "verdict": _verdict(ok) if judged else ("shown" if r else ""),
                     "note": r["note"] if r else "", "source": r["source"] if r else ""})
    frame = pl.DataFrame(rows, schema={"quantity": pl.Utf8, "model_twh": pl.Float64, "counted_twh": pl.Float64,
                                       "published_twh": pl.Float64, "diff_pct": pl.Float64, "tolerance_pct": pl.Float64,
                                       "verdict": pl.Utf8, "note": pl.Utf8, "source": pl.Utf8})
    judged_n = sum(1 for r in rows if r["verdict"] in ("PASS", "FAIL"))
    if reason_na is not None or judged_n == 0:
        passed, reason = None, reason_na or "no published figure is judged for this year"
    elif bad:
        passed, reason = False, "outside the tolerance: " + "; ".join(bad)
    else:
        passed, reason = True, f"all {judged_n} judged quantities within their tolerance"
    return StatisticsCheck(name="statistics", year=year, hours=hours, scale=scale, rows=frame, passed=passed,
                           reason=reason)


# =======================================================================================
# AC power flow
@dataclass
class ACFlowCheck(_CheckBase):
    """Outcome of :func:`ac_power_flow`."""

    name: str
    vm_min_pu: float
    vm_max_pu: float
    max_loading_percent: float
    hours: pl.DataFrame
    voltage_violations: pl.DataFrame
    loading_violations: pl.DataFrame
    passed: bool | None
    reason: str
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A text rendering for analysts."""
        parts = [
            f"AC power flow (pandapower runpp) on stress hours; limits {self.vm_min_pu}-{self.vm_max_pu} pu, "
            f"loading {self.max_loading_percent:g} %",
            text_table(self.hours),
            "",
            "voltage violations",
            text_table(self.voltage_violations, max_rows=25),
            "",
            "loading violations (lines and transformers)",
            text_table(self.loading_violations, max_rows=25),
            "",
            f"RESULT {_verdict(self.passed)}: {self.reason}",
        ]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)


def stress_hours(res: Any) -> dict[str, Any]:
    """The hours that stress the network: label -> time.

    Annual peak load, largest curtailment (wind + solar + avoidable hydro spill), largest
    export, lowest load and highest line loading (duplicates are kept once, first label).
    """
    s = res.system
    times = s["time"].to_list()
    picks: dict[str, int] = {"peak load": int(np.argmax(s["load_mw"].to_numpy()))}
    cf = curtailment_frame(res)
    if cf.height:
        ct = s.select("time").join(cf.group_by("time").agg(pl.col("curtailed_mwh").sum()), on="time", how="left").fill_null(0.0)
        v = ct["curtailed_mwh"].to_numpy()
        if v.max() > _TOL_MW:
            picks["max curtailment"] = int(np.argmax(v))
    ex = s["export_mw"].to_numpy()
    if ex.max() > _TOL_MW:
        picks["max export"] = int(np.argmax(ex))
    picks["min load"] = int(np.argmin(s["load_mw"].to_numpy()))
    if "lines" in res.frames and res.lines.height:
        ml = s.select("time").join(res.lines.group_by("time").agg(pl.col("loading").max()), on="time", how="left").fill_null(0.0)
        picks["max line loading"] = int(np.argmax(ml["loading"].to_numpy()))
    out: dict[str, Any] = {}
    seen: set[int] = set()
    for k, i in picks.items():
        if i not in seen:
            seen.add(i)
            out[k] = times[i]
    return out


def apply_dispatch(net: Any, res: Any, time: Any, load_power_factor: float | None = 0.95) -> Any:
    """A copy of the pandapower ``net`` with the dispatch of hour ``time`` applied.

    Elements are matched by name first: ``gen``/``sgen`` rows named like a thermal unit,
    hydro plant or renewable plant get its output (and are out of service at zero output,
    so an offline unit does not hold its bus voltage); ``storage`` rows get
    ``charge - discharge`` (pandapower: positive = charging); loads named
    ``export:<link>`` get the link's export. The other loads at a bus (matched by
    ``net.bus.name``) are scaled to the bus's served load ``load - DR - shed + payback``,
    with reactive power at ``load_power_factor`` (None keeps the net's Q/P ratio).
    Whatever has no element of its own is added at its bus (an ``sgen`` for injections,
    a load for withdrawals). The ``ext_grid`` (slack) takes the losses and any mismatch.
    """
    import copy

    import pandapower as pp

    net = copy.deepcopy(net)
    busname = net.bus["name"].astype(str)
    idx = {n: i for i, n in zip(net.bus.index, busname)}
    F = res.frames

    def rows(frame: str, key: str, cols: list[str]) -> list[tuple[Any, ...]]:
        f = F.get(frame)
        if f is None or not f.height:
            return []
        return f.filter(pl.col("time") == time).select([key, "bus", *cols]).rows()

    gen_p = {n: (b, float(p)) for n, b, p in rows("units", "unit", ["p_mw"]) + rows("hydro", "plant", ["p_mw"]) + rows("renewables", "plant", ["p_mw"])}
    st_p = {n: (b, float(c) - float(d)) for n, b, c, d in rows("storage", "unit", ["charge_mw", "discharge_mw"])}
    ex_p = {n: (b, float(p)) for n, b, p in rows("exports", "link", ["p_mw"])}
    served: dict[str, float] = {}
    if "buses" in F and F["buses"].height:
        cols = ["bus", "load_mw", "shed_mw", "dr_mw", "rebound_mw"]
        for b, ld, sh, d, r in F["buses"].filter(pl.col("time") == time).select(cols).rows():
            served[b] = float(ld - sh - d + r)
    used = set(busname)
    missing = sorted(({b for b, _ in [*gen_p.values(), *st_p.values(), *ex_p.values()]} | set(served)) - used)
    if missing:
        raise DispatchError(f"AC check: buses {missing[:5]} of the result are not in the pandapower net (net.bus.name)")
    extra_inj: dict[str, float] = {}
    extra_wd: dict[str, float] = {}
    for tab in ("gen", "sgen"):
        t = getattr(net, tab)
        if not len(t):
            continue
        p = np.zeros(len(t))
        on = np.zeros(len(t), dtype=bool)
        for k, nm in enumerate(t["name"].astype(str)):
            if nm in gen_p:
                p[k] = gen_p.pop(nm)[1]
                on[k] = p[k] > _TOL_MW
        t["p_mw"] = p
        t["in_service"] = on
    for b, v in gen_p.values():
        extra_inj[b] = extra_inj.get(b, 0.0) + v
    if len(net.storage):
        p = np.zeros(len(net.storage))
        for k, nm in enumerate(net.storage["name"].astype(str)):
            if nm in st_p:
                p[k] = st_p.pop(nm)[1]
        net.storage["p_mw"] = p
        net.storage["q_mvar"] = 0.0
        net.storage["in_service"] = True
    for b, v in st_p.values():
        (extra_wd if v > 0 else extra_inj)[b] = (extra_wd if v > 0 else extra_inj).get(b, 0.0) + abs(v)
    if len(net.load):
        names = net.load["name"].astype(str).tolist()
        lbus = [busname[i] for i in net.load["bus"]]
        is_ex = np.array([n.startswith("export:") for n in names])
        for k in np.flatnonzero(is_ex):
            link = names[k][len("export:"):]
            v = ex_p.pop(link, (None, 0.0))[1]
            net.load.iloc[k, net.load.columns.get_loc("p_mw")] = v
            net.load.iloc[k, net.load.columns.get_loc("q_mvar")] = 0.0
        p_old = net.load["p_mw"].to_numpy(dtype=float).copy()
        q_old = net.load["q_mvar"].to_numpy(dtype=float).copy()
        p_new, q_new = p_old.copy(), q_old.copy()
        for b in sorted(set(lbus)):
            ks = [k for k in range(len(names)) if lbus[k] == b and not is_ex[k]]
            if not ks:
                continue
            tot = p_old[ks].sum()
            target = served.pop(b, 0.0)
            for k in ks:
                share = p_old[k] / tot if abs(tot) > 1e-9 else 1.0 / len(ks)
                p_new[k] = target * share
                if load_power_factor is None:
                    q_new[k] = q_old[k] * (p_new[k] / p_old[k]) if abs(p_old[k]) > 1e-9 else 0.0
                else:
                    q_new[k] = p_new[k] * math.tan(math.acos(load_power_factor))
        net.load["p_mw"] = p_new
        net.load["q_mvar"] = q_new
    for b, v in ex_p.values():
        extra_wd[b] = extra_wd.get(b, 0.0) + v
    for b, v in served.items():
        if abs(v) > _TOL_MW:
            q = 0.0 if load_power_factor is None else v * math.tan(math.acos(load_power_factor))
            pp.create_load(net, idx[b], p_mw=v, q_mvar=q, name=f"dispatch_load:{b}")
    for b, v in extra_wd.items():
        if abs(v) > _TOL_MW:
            pp.create_load(net, idx[b], p_mw=v, name=f"dispatch_withdrawal:{b}")
    for b, v in extra_inj.items():
        if abs(v) > _TOL_MW:
            pp.create_sgen(net, idx[b], p_mw=v, name=f"dispatch_injection:{b}")
    return net


def ac_power_flow(
    res: Any,
    case: Any = None,
    hours: list[Any] | None = None,
    *,
    net: Any = None,
    vm_min_pu: float = 0.95,
    vm_max_pu: float = 1.05,
    max_loading_percent: float = 100.0,
    max_iteration: int = 30,
    load_power_factor: float | None = 0.95,
) -> ACFlowCheck:
    """AC power flow (pandapower ``runpp``) of the stress hours with the DC dispatch applied.

    Parameters
    ----------
    res : Result
    case : Case, str or None
        Gives the pandapower net (``case.net``); None loads the result's case by name.
    hours : list of datetimes or hour indices, optional
        Default: :func:`stress_hours` (peak, max curtailment, max export, min load, max
        line loading).
    net : pandapowerNet, optional
        Use this net instead of the case's.
    vm_min_pu, vm_max_pu : float
        Bus voltage band.
    max_loading_percent : float
        Line and transformer loading limit.
    max_iteration : int
        Newton-Raphson iteration limit.
    load_power_factor : float or None
        Power factor of the loads (default 0.95 lagging); None keeps the net's Q/P ratio.

    Returns
    -------
    ACFlowCheck
        ``passed`` is False if any hour does not converge or violates a limit: the DC
        dispatch is then not AC-feasible as it stands (voltage support or redispatch
        needed).
    """
    import pandapower as pp

    notes: list[str] = []
    if net is None:
        net = _case_object(res, case).net
    times = res.system["time"].to_list()
    if hours is None:
        picks = stress_hours(res)
    else:
        picks = {}
        for h in hours:
            t = times[int(h)] if isinstance(h, (int, np.integer)) else h
            picks[f"requested {len(picks) + 1}"] = t
    hrows, vrows, lrows = [], [], []
    for label, t in picks.items():
        n = apply_dispatch(net, res, t, load_power_factor)
        row: dict[str, Any] = {"hour": str(t), "why": label}
        try:
            pp.runpp(n, max_iteration=max_iteration, numba=False)
            ok = bool(n.converged)
        except Exception as exc:  # noqa: BLE001 - pandapower raises its own on divergence
            ok = False
            row["error"] = type(exc).__name__
        row["converged"] = ok
        if not ok:
            row.update(vm_min_pu=None, vm_max_pu=None, max_loading_pct=None, slack_mw=None, violations=None)
            hrows.append(row)
            continue
        vm = n.res_bus["vm_pu"]
        nb = n.bus["name"].astype(str)
        bad = vm[(vm < vm_min_pu) | (vm > vm_max_pu)]
        for i, v in bad.items():
            vrows.append({"hour": str(t), "bus": nb[i], "vm_pu": float(v), "limit": vm_min_pu if v < vm_min_pu else vm_max_pu})
        nviol = len(bad)
        maxload = 0.0
        for tab, res_tab in (("line", "res_line"), ("trafo", "res_trafo"), ("trafo3w", "res_trafo3w")):
            r = getattr(n, res_tab, None)
            if r is None or not len(r):
                continue
            lp = r["loading_percent"]
            maxload = max(maxload, float(lp.max()))
            names = getattr(n, tab)["name"].astype(str)
            for i, v in lp[lp > max_loading_percent].items():
                lrows.append({"hour": str(t), "element": tab, "name": names.get(i, str(i)), "loading_pct": float(v)})
                nviol += 1
        row.update(
            vm_min_pu=float(vm.min()), vm_max_pu=float(vm.max()), max_loading_pct=maxload,
            slack_mw=float(n.res_ext_grid["p_mw"].sum()) if len(n.ext_grid) else None, violations=nviol,
        )
        hrows.append(row)
    hdf = pl.DataFrame(hrows, infer_schema_length=None)
    vdf = pl.DataFrame(vrows, schema={"hour": pl.Utf8, "bus": pl.Utf8, "vm_pu": pl.Float64, "limit": pl.Float64})
    ldf = pl.DataFrame(lrows, schema={"hour": pl.Utf8, "element": pl.Utf8, "name": pl.Utf8, "loading_pct": pl.Float64})
    nonconv = [r["hour"] for r in hrows if not r["converged"]]
    passed = not nonconv and vdf.height == 0 and ldf.height == 0
    if passed:
        reason = f"all {len(hrows)} stress hours converge within {vm_min_pu}-{vm_max_pu} pu and {max_loading_percent:g} % loading"
    else:
        bits = []
        if nonconv:
            bits.append(f"AC power flow does not converge in {len(nonconv)} h ({', '.join(nonconv[:3])})")
        if vdf.height:
            bits.append(f"{vdf.height} bus voltage violations in {vdf['hour'].n_unique()} h")
        if ldf.height:
            bits.append(f"{ldf.height} branch overloads in {ldf['hour'].n_unique()} h")
        reason = "the DC dispatch is not AC-feasible as it stands: " + "; ".join(bits)
    notes.append("the slack (ext_grid) takes the losses and any mismatch; loads at power factor "
                 + (f"{load_power_factor:g}" if load_power_factor else "of the net"))
    return ACFlowCheck(
        name="ac_power_flow", vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu, max_loading_percent=max_loading_percent,
        hours=hdf, voltage_violations=vdf, loading_violations=ldf, passed=passed, reason=reason, notes=notes,
    )


# =======================================================================================
def run_all(
    res: Any,
    case: Any = None,
    *,
    threshold: float = 0.05,
    peak_quantile: float = 0.95,
    target_utilisation: float = 0.95,
    ac: bool = True,
    dynamic: bool = True,
) -> dict[str, Any]:
    """Run every check; a check that cannot run is reported with its error, not raised.

    Parameters
    ----------
    res : Result
    case : Case, SystemArrays, str or None
        Passed to the checks that can use it (None: loaded by the result's case name).
    threshold, peak_quantile : float
        See :func:`peak_response`.
    target_utilisation : float
        See :func:`curtailment`.
    ac : bool
        Run the AC power flow check (needs the case's pandapower net).
    dynamic : bool
        Run the dynamic (re-dispatch) part of the peak-response check.

    Returns
    -------
    dict
        name -> check object (with ``.table()``, ``.passed``, ``.to_dict()``) or, for a
        check that could not run, a dict ``{'name', 'passed': None, 'reason', 'error'}``.
    """
    from .arrays import SystemArrays

    case_obj: Any = None
    sysarr: Any = None
    note = None
    if isinstance(case, SystemArrays):
        sysarr = case
    else:
        try:
            case_obj = case if (case is not None and not isinstance(case, str)) else _case_object(res, case)
        except Exception as exc:  # noqa: BLE001 - the result's own hours will do
            if isinstance(case, str):
                raise
            note = f"case {res.summary.get('case')!r} could not be loaded ({type(exc).__name__}: {exc})"
        if case_obj is not None:
            sysarr = case_obj.to_arrays()
    out: dict[str, Any] = {}
    jobs: list[tuple[str, Any]] = [
        ("peak_response", lambda: peak_response(res, threshold, peak_quantile, sysarr, dynamic=dynamic)),
        ("curtailment", lambda: curtailment(res, target_utilisation, sysarr)),
        ("carbon_supply", lambda: carbon_supply(res)),
        ("statistics", lambda: statistics(res)),
    ]

    def ac_job() -> ACFlowCheck:
        if case_obj is None or getattr(case_obj, "net", None) is None:
            raise DispatchError(note or "no pandapower net: pass the Case (a SystemArrays has no net)")
        return ac_power_flow(res, case_obj)

    if ac:
        jobs.append(("ac_power_flow", ac_job))
    for name, job in jobs:
        try:
            out[name] = job()
        except Exception as exc:  # noqa: BLE001 - one failing check must not hide the others
            out[name] = {"name": name, "passed": None, "reason": f"could not run: {type(exc).__name__}: {exc}", "error": type(exc).__name__}
    return out


def results_json(checks: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of :func:`run_all`'s output (what ``checks.json`` holds)."""
    body = {k: (v.to_dict() if hasattr(v, "to_dict") else _jsonable(v)) for k, v in checks.items()}
    verdicts = {k: _verdict(v.passed if hasattr(v, "passed") else v.get("passed")) for k, v in checks.items()}
    body["verdicts"] = verdicts
    return body


def render(checks: dict[str, Any]) -> str:
    """All checks as text, each with a PASS / FAIL / n/a headline."""
    parts = []
    for k, v in checks.items():
        passed = v.passed if hasattr(v, "passed") else v.get("passed")
        parts.append(f"=== {k}: {_verdict(passed)} " + "=" * max(3, 60 - len(k)))
        parts.append(v.table() if hasattr(v, "table") else str(v.get("reason")))
        parts.append("")
    summary = "  ".join(f"{k} {_verdict(v.passed if hasattr(v, 'passed') else v.get('passed'))}" for k, v in checks.items())
    parts.append("SUMMARY  " + summary)
    return "\n".join(parts)

