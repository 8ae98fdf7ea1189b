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
    """Start-up cost per unit-hour (n, G) from the commitment and the hours offline before.

    A unit starts in hour ``t`` when it is on and was off in ``t - 1`` (or before the
    window); its cost is that of the last start-up category whose lag is at most the hours
    it has been offline (``state.th_hours`` before the window for a unit that was off).
    """
    n, G = on.shape
    out = np.zeros((n, G))
    if n == 0 or G == 0:
        return out
    on = np.asarray(on, dtype=bool)
    init_on = np.asarray(state.th_on, dtype=bool)
    # index of the last hour on before each hour; a unit off before the window was last on
    # th_hours hours before it (hour -1 - th_hours), one on before it at hour -1
    virt = np.where(init_on, -1, -1 - np.asarray(state.th_hours, dtype=np.int64))
    idx = np.where(on, np.arange(n)[:, None], np.iinfo(np.int64).min)
    last = np.maximum.accumulate(np.vstack([virt[None, :], idx]), axis=0)[:-1]
    prev_on = np.vstack([init_on[None, :], on[:-1]])
    start = on & ~prev_on
    off_h = np.arange(n)[:, None] - last - 1
    lags = np.asarray(sys.th_su_lag)
    cat = np.maximum((lags[None, :, :] <= off_h[:, :, None]).sum(axis=2) - 1, 0)
    cost = np.take_along_axis(np.broadcast_to(np.asarray(sys.th_su_cost)[None], (n, *lags.shape)), cat[:, :, None],
                              axis=2)[:, :, 0]
    out[start] = cost[start]
    return out


def window_cost_breakdown(
    sys: SystemArrays, state: State, sol: WindowSolution, targets: HydroTargets | None,
    startup: float | None = None,
) -> dict[str, float]:
    """Every cost term of a window schedule (currency). ``startup``: the start-up term when
    the caller already holds it for this commitment (:func:`startup_costs` summed), e.g. an
    engine that prices many schedules of one commitment."""
    t0, n = sol.t0, sol.n
    on = sol.th_on.astype(float)
    avail = sys.re_avail_mw[t0 : t0 + n]
    curtailed = np.maximum(avail - sol.re_p, 0.0)
    parts = {
        "thermal_energy": float(thermal_energy_cost(sys, sol.th_p, on).sum()),
        "startup": float(startup_costs(sys, state, sol.th_on.astype(bool)).sum()) if startup is None else float(startup),
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


def window_cost(sys: SystemArrays, state: State, sol: WindowSolution, targets: HydroTargets | None,
                startup: float | None = None) -> float:
    """Total window objective (sum of :func:`window_cost_breakdown`)."""
    return float(sum(window_cost_breakdown(sys, state, sol, targets, startup).values()))


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
