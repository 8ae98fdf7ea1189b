"""Slow, obviously-correct twins of the native kernels, and a feasibility checker.

Nothing here is fast or clever on purpose: plain loops and brute force, used by
``tests/test_kernels.py`` and ``tests/test_native.py`` to check the compiled code.
"""

from __future__ import annotations

import itertools

import numpy as np

from dispatch.arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays, WindowSolution, upstream_arrivals
from dispatch.costs import window_cost


# ---------------------------------------------------------------------------------------
def commit_brute(on_cost, off_cost, su_lag, su_cost, min_up, min_down, init_on, init_hours, force=None):
    """Best schedule of each unit by enumerating all 2^n on/off patterns."""
    n, G = on_cost.shape
    best_on = np.zeros((n, G), dtype=np.int8)
    best_val = np.full(G, np.inf)
    for g in range(G):
        for pat in itertools.product((0, 1), repeat=n):
            if not _pattern_ok(pat, int(min_up[g]), int(min_down[g]), bool(init_on[g]), int(init_hours[g])):
                continue
            if force is not None and any((force[t, g] > 0 and not pat[t]) or (force[t, g] < 0 and pat[t]) for t in range(n)):
                continue
            v = 0.0
            prev = bool(init_on[g])
            off_h = 0 if prev else int(init_hours[g])
            for t, x in enumerate(pat):
                if x:
                    if not prev:
                        s = max([i for i in range(su_lag.shape[1]) if su_lag[g, i] <= off_h] or [0])
                        v += su_cost[g, s]
                    v += on_cost[t, g]
                    off_h = 0
                else:
                    v += off_cost[t, g]
                    off_h += 1
                prev = bool(x)
            if v < best_val[g]:
                best_val[g] = v
                best_on[:, g] = pat
    return best_on, best_val


def _pattern_ok(pat, mu, md, init_on, init_h):
    mu, md = max(mu, 1), max(md, 1)
    prev = init_on
    run = init_h
    for x in pat:
        x = bool(x)
        if x != prev:
            if prev and run < mu:
                return False
            if not prev and run < md:
                return False
            run = 1
        else:
            run += 1
        prev = x
    return True


# ---------------------------------------------------------------------------------------
def storage_lp_brute(price, pch, pdis, emin, emax, eta_ch, eta_dis, loss, e0):
    """Price response of one storage unit as an LP in HiGHS (tests only)."""
    import highspy

    n = len(price)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    # variables: ch[0..n), dis[0..n), e[0..n)
    for t in range(n):
        h.addVar(0.0, pch)
        h.changeColCost(t, price[t])
    for t in range(n):
        h.addVar(0.0, pdis)
        h.changeColCost(n + t, -price[t])
    for t in range(n):
        h.addVar(emin, emax)
    for t in range(n):
        idx = [2 * n + t, t, n + t]
        val = [1.0, -eta_ch, 1.0 / eta_dis]
        rhs = 0.0
        if t > 0:
            idx.append(2 * n + t - 1)
            val.append(-(1.0 - loss))
        else:
            rhs = (1.0 - loss) * e0
        h.addRow(rhs, rhs, len(idx), np.array(idx, dtype=np.int32), np.array(val))
    h.run()
    return h.getInfo().objective_function_value, np.array(h.getSolution().col_value)


def merit_order(demand, widths, costs):
    """Cheapest fill of ``demand`` from segments (width, cost): total cost."""
    order = sorted(range(len(costs)), key=lambda i: costs[i])
    left, v = demand, 0.0
    for i in order:
        x = min(widths[i], left)
        v += x * costs[i]
        left -= x
    return v


def stack_cost(width_row, cost_row, nseg, D, dump):
    if D <= 0:
        return -D * dump
    return merit_order(D, list(width_row[:nseg]), list(cost_row[:nseg]))


def volumes_naive(sys: SystemArrays, state: State, t0: int, q, s):
    n = q.shape[0]
    arr = upstream_arrivals(sys, state, t0, n, q + s)
    v = np.zeros_like(q)
    for h in range(sys.n_hy):
        prev = state.hy_v[h]
        for t in range(n):
            prev = prev + M3S_TO_HM3_PER_H * (sys.hy_inflow[t0 + t, h] + arr[t, h] - q[t, h] - s[t, h])
            v[t, h] = prev
    return v


# ---------------------------------------------------------------------------------------
def check_feasible(sys: SystemArrays, state: State, sol: WindowSolution, targets: HydroTargets | None,
                   rtol: float = 1e-6) -> list[str]:
    """Every constraint of the window model (milp.py formulation); returns the violations."""
    bad: list[str] = []
    t0, n = sol.t0, sol.n
    sl = slice(t0, t0 + n)
    scale = max(float(sys.load_mw[sl].sum(axis=1).max()), 1.0)
    tol = rtol * scale

    def need(cond, msg):
        if not bool(np.all(cond)):
            bad.append(msg)

    G = sys.n_th
    on = sol.th_on.astype(bool)
    p = sol.th_p
    if G:
        pmin, pmax = sys.th_pmin, sys.th_pmax
        su = np.clip(sys.th_su_ramp, pmin, pmax)
        sd = np.clip(sys.th_sd_ramp, pmin, pmax)
        ru = np.minimum(sys.th_ramp_up, pmax)
        rd = np.minimum(sys.th_ramp_down, pmax)
        need(p >= pmin * on - tol, "thermal below pmin")
        need(p <= pmax * on + tol, "thermal above pmax")
        prev_on = np.vstack([state.th_on[None, :], on[:-1]])
        need(sol.th_su == (on & ~prev_on), "start-up flags")
        p0 = np.where(state.th_on, state.th_p, 0.0)
        pprev = np.vstack([p0[None, :], p[:-1]])
        start = on & ~prev_on
        stop = ~on & prev_on
        need(p - pprev <= ru * prev_on + su * start + tol, "ramp up")
        need(pprev - p <= rd * on + sd * stop + tol, "ramp down")
        need(p <= pmax + (su - pmax) * start + tol, "start-up capability")
        nxt_stop = np.vstack([stop[1:], np.zeros((1, G), bool)])
        need(p <= pmax + (sd - pmax) * nxt_stop + tol, "shut-down capability")
        for g in range(G):
            if not _pattern_ok([int(x) for x in on[:, g]], int(sys.th_min_up[g]), int(sys.th_min_down[g]),
                               bool(state.th_on[g]), int(state.th_hours[g])):
                # the pattern may be fine but the last run shorter than min up/down inside the
                # window is allowed: only transitions are checked by _pattern_ok
                bad.append(f"min up/down {sys.th_names[g]}")
            if sys.th_must_run[g] and not on[:, g].all():
                mdl = max(int(sys.th_min_down[g]), 1) - int(state.th_hours[g]) if not state.th_on[g] else 0
                if not on[max(mdl, 0):, g].all():
                    bad.append(f"must-run {sys.th_names[g]}")
    avail = sys.re_avail_mw[sl]
    need((sol.re_p >= -tol) & (sol.re_p <= avail + tol), "renewables")
    if sys.n_hy:
        qmax = sys.hy_pmax / sys.hy_k
        need(sol.hy_q >= np.minimum(sys.hy_qmin, qmax) - 1e-6, "hydro qmin")
        need(sol.hy_q <= qmax + 1e-6, "hydro qmax")
        need(sol.hy_s >= -1e-6, "spill")
        v = volumes_naive(sys, state, t0, sol.hy_q, sol.hy_s)
        need(np.abs(v - sol.hy_v) <= 1e-6 * np.maximum(1.0, np.abs(v)), "hydro mass balance")
        need((sol.hy_v >= sys.hy_vmin - 1e-6) & (sol.hy_v <= sys.hy_vmax + 1e-6), "hydro volume bounds")
    if sys.n_st:
        need((sol.st_ch >= -tol) & (sol.st_ch <= sys.st_pch + tol), "storage charge")
        need((sol.st_dis >= -tol) & (sol.st_dis <= sys.st_pdis + tol), "storage discharge")
        need(np.minimum(sol.st_ch, sol.st_dis) <= tol, "simultaneous charge/discharge")
        e = np.zeros_like(sol.st_e)
        prev = np.asarray(state.st_e, float)
        for t in range(n):
            prev = prev * (1 - sys.st_loss) + sys.st_eta_ch * sol.st_ch[t] - sol.st_dis[t] / sys.st_eta_dis
            e[t] = prev
        need(np.abs(e - sol.st_e) <= 1e-6 * np.maximum(1.0, np.abs(e)), "storage energy balance")
        need((sol.st_e >= sys.st_emin - 1e-6) & (sol.st_e <= sys.st_emax + 1e-6), "storage energy bounds")
    if sys.n_dr:
        need((sol.dr_p >= -tol) & (sol.dr_p <= sys.dr_pmax + tol), "dr power")
        need((sol.dr_rebound >= -tol) & (sol.dr_rebound <= sys.dr_pmax + tol), "dr rebound power")
        debt = np.cumsum(sys.dr_payback_frac * sol.dr_p - sol.dr_rebound, axis=0)
        need(debt >= -tol, "dr rebound before reduction")
        need(np.abs(debt[-1]) <= tol * n, "dr payback incomplete")
        for d in range(sys.n_dr):
            act = sol.dr_p[:, d] > 1e-6
            need(~(act & (sol.dr_rebound[:, d] > 1e-6)), "dr rebound while active")
            starts = int(np.sum(act & ~np.concatenate([[False], act[:-1]])))
            need(starts <= max(int(sys.dr_max_events[d]) - int(state.dr_events_used[d]), 0), "dr events")
            run = 0
            for a in act:
                run = run + 1 if a else 0
                if run > sys.dr_max_dur[d]:
                    bad.append("dr duration")
                    break
    if sys.n_ex:
        need((sol.ex_p >= sys.ex_min[sl] - tol) & (sol.ex_p <= sys.ex_max[sl] + tol), "exports")
    if sys.n_dc:
        need(np.abs(sol.dc_p) <= sys.dc_pmax + tol, "dc link capacity")
    load = sys.load_mw[sl]
    need((sol.shed >= -tol) & (sol.shed <= np.maximum(load, 0) + tol), "shedding")
    B = sys.n_bus
    inj = sol.shed - load

    def add(x, bus):
        nonlocal inj
        for j, b in enumerate(bus):
            inj[:, b] += x[:, j]

    add(p, sys.th_bus)
    add(sol.re_p, sys.re_bus)
    add(sol.hy_q * sys.hy_k, sys.hy_bus)
    add(sol.st_dis - sol.st_ch, sys.st_bus)
    add(sol.dr_p - sol.dr_rebound, sys.dr_bus)
    add(-sol.ex_p, sys.ex_bus)
    add(-sol.dc_p, sys.dc_from)
    add(sol.dc_p, sys.dc_to)
    need(np.abs(inj.sum(axis=1)) <= tol, "energy balance")
    if sys.n_line:
        f = inj @ sys.ptdf.T
        need(np.abs(f - sol.line_flow) <= tol, "line flows = PTDF x injection")
        need(np.abs(f) <= sys.line_max_mw + tol, "line limits")
    res = ((sys.th_pmax - p) * on).sum(axis=1) if G else np.zeros(n)
    if sys.n_hy:
        res = res + (sys.hy_pmax - sol.hy_q * sys.hy_k).sum(axis=1)
    if sys.n_st:
        res = res + np.minimum(sys.st_pdis - sol.st_dis + sol.st_ch, sys.st_eta_dis * (sol.st_e - sys.st_emin)).sum(axis=1)
    need(sol.res_short >= -tol, "reserve shortfall sign")
    need(res + sol.res_short >= sys.reserve_up_mw[sl] - tol, "reserve")
    obj = window_cost(sys, state, sol, targets)
    need(abs(obj - sol.objective) <= 1e-6 * max(1.0, abs(obj)), f"objective {sol.objective} != window_cost {obj}")
    return bad


def mcf_lp(n_nodes, tail, head, lo, hi, cost, supply):
    """Min-cost flow as a plain LP (scipy/HiGHS): the twin of the network-flow kernels.

    Returns the optimal cost, or None when infeasible.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    m = len(tail)
    rows = np.concatenate([head, tail])
    cols = np.concatenate([np.arange(m), np.arange(m)])
    vals = np.concatenate([np.ones(m), -np.ones(m)])
    A = coo_matrix((vals, (rows, cols)), shape=(n_nodes, m)).tocsr()
    res = linprog(cost, A_eq=A, b_eq=-np.asarray(supply, float), bounds=list(zip(lo, hi)), method="highs")
    return float(res.fun) if res.status == 0 else None


def startup_costs_loop(sys: SystemArrays, state: State, on: np.ndarray) -> np.ndarray:
    """Twin of :func:`dispatch.costs.startup_costs`: hour by hour, unit by unit."""
    n, G = on.shape
    out = np.zeros((n, G))
    for g in range(G):
        prev_on = bool(state.th_on[g])
        off_h = 0 if prev_on else int(state.th_hours[g])
        for t in range(n):
            if on[t, g] and not prev_on:
                s = int(np.searchsorted(sys.th_su_lag[g], off_h, side="right")) - 1
                out[t, g] = sys.th_su_cost[g][max(s, 0)]
            off_h = 0 if on[t, g] else off_h + 1
            prev_on = bool(on[t, g])
    return out
