"""Cost of a schedule, recomputed from the schedule alone.

Both engines report ``objective``; tests check it equals :func:`window_cost` of their
schedule. Keeping one definition here is what makes the engines comparable.
"""

from __future__ import annotations

import numpy as np

from .arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays, WindowSolution


def thermal_energy_cost(sys: SystemArrays, p: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Per unit-hour running cost (cost at pmin plus convex segments), shape like ``p``."""
    cost = on * sys.th_cost_pmin[None, :]
    above = np.maximum(p - on * sys.th_pmin[None, :], 0.0)
    K = sys.th_seg_mw.shape[1] if sys.th_seg_mw.ndim == 2 else 0
    for k in range(K):
        x = np.minimum(above, sys.th_seg_mw[None, :, k])
        cost = cost + x * sys.th_seg_cost[None, :, k]
        above = above - x
    return cost


def startup_costs(sys: SystemArrays, state: State, on: np.ndarray) -> np.ndarray:
    """Start-up cost per unit-hour (n, G) from the commitment and the hours offline before."""
    n, G = on.shape
    out = np.zeros((n, G))
    for g in range(G):
        prev_on = bool(state.th_on[g])
        off_h = 0 if prev_on else int(state.th_hours[g])
        lags = sys.th_su_lag[g]
        costs = sys.th_su_cost[g]
        for t in range(n):
            if on[t, g] and not prev_on:
                s = int(np.searchsorted(lags, off_h, side="right")) - 1
                out[t, g] = costs[max(s, 0)]
            if on[t, g]:
                off_h = 0
            else:
                off_h += 1
            prev_on = bool(on[t, g])
    return out


def window_cost_breakdown(
    sys: SystemArrays, state: State, sol: WindowSolution, targets: HydroTargets | None
) -> dict[str, float]:
    """Every cost term of a window schedule (currency)."""
    t0, n = sol.t0, sol.n
    on = sol.th_on.astype(float)
    avail = sys.re_avail_mw[t0 : t0 + n]
    curtailed = np.maximum(avail - sol.re_p, 0.0)
    parts = {
        "thermal_energy": float(thermal_energy_cost(sys, sol.th_p, on).sum()),
        "startup": float(startup_costs(sys, state, sol.th_on.astype(bool)).sum()),
        "unserved": float(sys.voll * sol.shed.sum()),
        "reserve_shortfall": float(sys.reserve_short_cost * sol.res_short.sum()),
        "curtailment": float(sys.curtail_cost * curtailed.sum()),
        "spill": float(sys.spill_cost * (sol.hy_s * sys.hy_k[None, :]).sum()),
        "demand_response": float((sol.dr_p * sys.dr_cost[None, :]).sum()),
        "export_revenue": float(-(sol.ex_p * sys.ex_price[None, :]).sum()),
        "water_value": 0.0,
    }
    if targets is not None and sys.n_hy:
        short = np.maximum(targets.v_end - sol.hy_v[-1], 0.0)
        parts["water_value"] = float((short * targets.value_per_hm3).sum())
    return parts


def window_cost(sys: SystemArrays, state: State, sol: WindowSolution, targets: HydroTargets | None) -> float:
    """Total window objective (sum of :func:`window_cost_breakdown`)."""
    return float(sum(window_cost_breakdown(sys, state, sol, targets).values()))


def co2_tonnes(sys: SystemArrays, th_p: np.ndarray) -> np.ndarray:
    """CO2 per unit-hour in tonnes."""
    return th_p * sys.th_co2[None, :]


__all__ = [
    "M3S_TO_HM3_PER_H",
    "co2_tonnes",
    "startup_costs",
    "thermal_energy_cost",
    "window_cost",
    "window_cost_breakdown",
]
