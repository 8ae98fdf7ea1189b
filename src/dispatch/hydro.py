"""The mid-term hydro plan: how much water each reservoir should hold at each window's end.

:func:`plan_hydro` solves one LP (HiGHS) over the whole horizon at daily (or weekly)
resolution:

* load, renewables and exports as period averages (MW); storage and demand response are
  left out (they shift energy within a day, which this resolution does not see);
* thermal as one aggregated supply curve: every unit's pmin block (at ``cost_pmin/pmin``)
  and cost segments (no-load cost spread over the segments of a unit with ``pmin == 0``),
  sorted by cost and merged into ``n_blocks`` capacity-weighted blocks; must-run units'
  pmin is a floor on thermal output; commitment, ramps and the network are ignored;
* reservoirs with volume bounds, inflows, release ``min(qmin, pmax/k) .. pmax/k`` (period
  average; where a drought makes ``qmin`` impossible, "virtual" inflow up to ``qmin`` at
  twice VOLL per MWh of the cascade keeps the plan feasible), spill at ``spill_cost``, cascades with delays rounded to whole periods (history
  ``state.hy_hist`` stands for outflow before the start);
* at the end of the horizon each reservoir should hold at least its starting volume; a
  shortfall costs the water's value through the cascade at the dearest thermal block.

The duals of the reservoir balances are the water values (currency/hm3).
:meth:`HydroPlan.targets` turns the plan into :class:`~dispatch.arrays.HydroTargets` for a
window: the planned volume at the window's end (linear between period ends) and the water
value there, floored at ``floor_frac`` x the cheapest thermal cost x the cascade's MWh per
hm3 (so falling short is never free).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from .arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays
from .errors import EngineError
from .milp import ModelBuilder, new_highs

__all__ = ["HydroPlan", "cascade_mwh_per_hm3", "plan_hydro", "thermal_supply_curve"]

MWH_PER_HM3_PER_K = 1.0 / M3S_TO_HM3_PER_H  # 1 hm3 through k=1 MW/(m3/s) gives 277.8 MWh


def cascade_mwh_per_hm3(sys: SystemArrays) -> np.ndarray:
    """MWh produced by 1 hm3 released at each plant and passing every plant downstream."""
    H = sys.n_hy
    out = np.zeros(H)
    for h in range(H):
        j, seen = h, 0
        while j >= 0 and seen <= H:
            out[h] += sys.hy_k[j]
            j = int(sys.hy_down[j])
            seen += 1
    return out * MWH_PER_HM3_PER_K


def thermal_supply_curve(sys: SystemArrays, n_blocks: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Aggregated thermal supply curve: block capacities (MW) and costs (currency/MWh)."""
    G = sys.n_th
    if G == 0:
        return np.zeros(0), np.zeros(0)
    pmin = sys.th_pmin
    segs = sys.th_seg_mw
    seg_cost = sys.th_seg_cost.copy()
    noload = np.where(pmin > 0, 0.0, sys.th_cost_pmin)
    seg_total = segs.sum(1)
    seg_cost = seg_cost + np.where(seg_total > 0, noload / np.where(seg_total > 0, seg_total, 1.0), 0.0)[:, None]
    cap = np.concatenate([pmin, segs.ravel()])
    cost = np.concatenate([np.where(pmin > 0, sys.th_cost_pmin / np.where(pmin > 0, pmin, 1.0), 0.0), seg_cost.ravel()])
    keep = cap > 1e-9
    cap, cost = cap[keep], cost[keep]
    order = np.argsort(cost, kind="stable")
    cap, cost = cap[order], cost[order]
    if len(cap) <= n_blocks:
        return cap, cost
    # merge into n_blocks groups of about equal capacity (cost = capacity-weighted mean)
    edges = np.searchsorted(np.cumsum(cap), np.linspace(0, cap.sum(), n_blocks + 1)[1:-1], side="right")
    groups = np.split(np.arange(len(cap)), np.unique(edges))
    bcap = np.array([cap[g].sum() for g in groups if len(g)])
    bcost = np.array([(cap[g] * cost[g]).sum() / cap[g].sum() for g in groups if len(g)])
    return bcap, bcost


@dataclass
class HydroPlan:
    """The plan: reservoir volumes at period ends and water values.

    ``bounds_h`` (P+1,) are the absolute hours of the period boundaries (``bounds_h[0]`` is
    the plan's start); ``v_hm3`` (P+1, H) the volumes there (row 0 = the starting state);
    ``water_value`` (P+1, H) currency/hm3 of water held at each boundary (row 0 copies row 1).
    """

    bounds_h: np.ndarray
    v_hm3: np.ndarray
    water_value: np.ndarray
    q_m3s: np.ndarray  # (P, H) period-average release
    s_m3s: np.ndarray  # (P, H) period-average spill
    value_floor: np.ndarray  # (H,) currency/hm3
    objective: float
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)

    def targets(self, t_end: int) -> HydroTargets:
        """Targets for a window that ends just before hour ``t_end`` (exclusive end).

        The volume is the plan's volume at boundary ``t_end`` (linear between period ends,
        clipped to the plan); the value is the water value at the first period end at or
        after ``t_end``, floored at :attr:`value_floor`.
        """
        b = self.bounds_h
        H = self.v_hm3.shape[1]
        te = float(np.clip(t_end, b[0], b[-1]))
        v_end = np.array([np.interp(te, b, self.v_hm3[:, h]) for h in range(H)])
        i = int(np.clip(np.searchsorted(b, te, side="left"), 1, len(b) - 1))
        value = np.maximum(self.water_value[i], self.value_floor)
        return HydroTargets(v_end=v_end, value_per_hm3=value)


def _period_means(a: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    if a.shape[1] == 0:
        return np.zeros((len(starts), 0))
    return np.add.reduceat(a, starts, axis=0) / lengths[:, None]


def plan_hydro(
    sys: SystemArrays,
    state: State,
    resolution_h: int = 24,
    *,
    t0: int = 0,
    hours: int | None = None,
    n_blocks: int = 24,
    floor_frac: float = 0.1,
    end_volume: np.ndarray | None = None,
    solver: str = "ipm",
    output_flag: bool = False,
) -> HydroPlan:
    """Solve the mid-term hydro LP from hour ``t0`` over ``hours`` (default: to the end).

    Parameters
    ----------
    sys : the system.
    state : the state just before ``t0`` (volumes, upstream history).
    resolution_h : hours per period (24: daily, 168: weekly).
    t0, hours : the planned span.
    n_blocks : blocks of the aggregated thermal supply curve.
    floor_frac : water values are floored at this fraction of the cheapest thermal cost
        times the cascade's MWh per hm3.
    end_volume : (H,) hm3 wanted at the end (default: the starting volume, clipped to bounds).
    solver : "ipm" (interior point without crossover: about half the simplex time on a
        year at daily resolution; its duals are the water values) or "simplex".
    output_flag : print the HiGHS log.

    Returns
    -------
    HydroPlan
    """
    t_wall = time.perf_counter()
    T = sys.n_hours - t0 if hours is None else int(hours)
    if T <= 0 or t0 + T > sys.n_hours:
        raise ValueError(f"plan t0={t0}, hours={T} outside the system's {sys.n_hours} hours")
    res = int(resolution_h)
    starts = np.arange(0, T, res)
    lengths = np.minimum(starts + res, T) - starts
    P = len(starts)
    H = sys.n_hy
    sl = slice(t0, t0 + T)
    load = _period_means(np.asarray(sys.load_mw[sl], float), starts, lengths).sum(1)  # (P,)
    mb = ModelBuilder(t0)
    Lh = lengths[:, None].astype(float)
    bcap, bcost = thermal_supply_curve(sys, n_blocks)
    conv = cascade_mwh_per_hm3(sys)
    cheapest = float(bcost.min()) if len(bcost) else 0.0
    dearest = float(bcost.max()) if len(bcost) else float(sys.voll)
    terms: list[tuple[Any, Any]] = []
    comps_sys = ("sys",)
    if len(bcap):
        g = mb.var("thermal", tuple(f"block{i}" for i in range(len(bcap))), P, 0.0, bcap[None], Lh * bcost[None])
        terms.append((g[:, None, :], 1.0))
        mr = float(np.sum(sys.th_pmin[np.asarray(sys.th_must_run, bool)]))
        if mr > 0:
            mb.rows("mustrun", comps_sys, P, mr, np.inf, [(g[:, None, :], 1.0)])
    if sys.n_re:  # one aggregate: no network here and one curtailment cost
        avail = _period_means(np.maximum(np.asarray(sys.re_avail_mw[sl], float), 0.0), starts, lengths).sum(1)[:, None]
        re = mb.var("re", ("renewables",), P, 0.0, avail, -Lh * sys.curtail_cost)
        mb.offset += float(sys.curtail_cost * (avail * Lh).sum())
        terms.append((re[:, None, :], 1.0))
    if sys.n_ex:
        xmin = _period_means(np.asarray(sys.ex_min[sl], float), starts, lengths)
        xmax = np.maximum(_period_means(np.asarray(sys.ex_max[sl], float), starts, lengths), xmin)
        ex = mb.var("ex", sys.ex_names, P, xmin, xmax, -Lh * sys.ex_price[None])
        terms.append((ex[:, None, :], -1.0))
    shed = mb.var("shed", comps_sys, P, 0.0, np.maximum(load, 0.0)[:, None], Lh * sys.voll)
    terms.append((shed[:, None, :], 1.0))
    c = M3S_TO_HM3_PER_H
    if H:
        k = np.asarray(sys.hy_k, float)
        qmax = np.asarray(sys.hy_pmax, float) / np.where(k > 0, k, 1.0)
        qmin = np.minimum(np.asarray(sys.hy_qmin, float), qmax)
        q = mb.var("q", sys.hy_names, P, 0.0, qmax[None])
        # the minimum release is soft here (a plan must exist even in a drought): "virtual"
        # water up to qmin may enter a reservoir at more than VOLL x the cascade's energy, so
        # it is used only where qmin cannot be met; reported in info["qmin_short_hm3"]
        conv_k = conv / MWH_PER_HM3_PER_K  # MW per m3/s through the cascade
        qshort = mb.var("qminshort", sys.hy_names, P, 0.0, qmin[None], Lh * 2.0 * sys.voll * np.maximum(conv_k, 1e-3)[None])
        s = mb.var("spill", sys.hy_names, P, 0.0, np.inf, Lh * sys.spill_cost * k[None])
        v = mb.var("v", sys.hy_names, P, sys.hy_vmin[None], sys.hy_vmax[None])
        terms.append((q[:, None, :], k[None, None, :]))
        inflow = _period_means(np.asarray(sys.hy_inflow[sl], float), starts, lengths)
        rhs = c * Lh * inflow
        v0 = np.clip(np.asarray(state.hy_v, float), sys.hy_vmin, sys.hy_vmax)
        rhs[0] += v0
        # upstream outflow arriving dp periods later; before the start: the history mean
        dp = np.rint(np.asarray(sys.hy_delay, float) / res).astype(np.int64)
        hist_mean = np.asarray(state.hy_hist, float).mean(1) if state.hy_hist.size else np.zeros(H)
        ups = sys.hy_upstream()
        J = max((len(u) for u in ups), default=0)
        bal_terms: list[tuple[Any, Any]] = []
        if J:
            up = np.full((H, J), -1, np.int64)
            for d, u in enumerate(ups):
                up[d, : len(u)] = u
            tt = np.arange(P)[:, None, None]
            lag = np.where(up >= 0, dp[np.maximum(up, 0)], 0)[None]
            src = tt - lag
            ok = (src >= 0) & (up[None] >= 0)
            hup = np.broadcast_to(np.maximum(up, 0)[None], src.shape)
            srcc = np.where(ok, src, 0)
            coef = -c * Lh[:, :, None]
            bal_terms += [(np.where(ok, q[srcc, hup], -1), coef), (np.where(ok, s[srcc, hup], -1), coef)]
            early = (src < 0) & (up[None] >= 0)
            rhs += c * Lh * (early * hist_mean[np.maximum(up, 0)][None]).sum(2)
        prev_v = np.full_like(v, -1)
        prev_v[1:] = v[:-1]
        bal = mb.rows(
            "balance", sys.hy_names, P, rhs, rhs,
            [(v, 1.0), (prev_v, -1.0), (q, c * Lh), (s, c * Lh), (qshort, -c * Lh)] + bal_terms,
        )
        v_goal = v0 if end_volume is None else np.clip(np.asarray(end_volume, float), sys.hy_vmin, sys.hy_vmax)
        short = mb.var("short", sys.hy_names, 1, 0.0, np.inf, (conv * max(dearest, 1.0))[None])
        end = mb.rows("end", sys.hy_names, 1, v_goal[None], np.inf, [(v[-1:], 1.0), (short, 1.0)])
        # minimum (ecological) flow on the outflow, as in the window model
        mb.rows("qmin", sys.hy_names, P, np.broadcast_to(qmin[None], (P, H)), np.inf, [(q, 1.0), (s, 1.0)])
    mb.rows("balance", comps_sys, P, load[:, None], load[:, None], terms)
    lp = mb.to_lp(names=False)
    h = new_highs(bool(output_flag))
    h.passModel(lp)
    if solver == "ipm":
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    elif solver != "simplex":
        raise ValueError(f"plan_hydro: solver must be 'ipm' or 'simplex', not {solver!r}")
    h.run()
    if solver == "ipm" and h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        h.setOptionValue("solver", "simplex")  # fall back on the exact vertex solver
        h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise EngineError(f"hydro plan LP not optimal: {h.modelStatusToString(h.getModelStatus())}")
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    y = np.asarray(sol.row_dual)
    bounds = t0 + np.concatenate([[0], np.cumsum(lengths)])
    if H:
        vv = np.vstack([v0[None], x[v]])
        wv = np.zeros((P + 1, H))
        wv[1:P] = -y[bal[1:]]  # water held at the end of period p is used from period p+1
        wv[P] = y[end[0]]
        wv[0] = wv[1]
        wv = np.maximum(wv, 0.0)
        qv, sv = x[q], x[s]
        qmin_short = float((x[qshort] * Lh).sum() * c)
    else:
        vv = np.zeros((P + 1, 0))
        wv = np.zeros((P + 1, 0))
        qv = sv = np.zeros((P, 0))
        qmin_short = 0.0
    floor = floor_frac * max(cheapest, 1.0) * conv
    return HydroPlan(
        bounds_h=bounds,
        v_hm3=vv,
        water_value=wv,
        q_m3s=qv,
        s_m3s=sv,
        value_floor=floor,
        objective=float(h.getInfo().objective_function_value),
        wall_s=time.perf_counter() - t_wall,
        info={"periods": P, "resolution_h": res, "n_cols": mb.n_col, "n_rows": mb.n_row, "blocks": len(bcap),
              "qmin_short_hm3": qmin_short},
    )
