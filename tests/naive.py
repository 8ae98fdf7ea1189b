"""Slow, obviously-correct twins of the native kernels, and a feasibility checker.

Nothing here is fast or clever on purpose: plain loops and brute force, used by
``tests/test_kernels.py`` and ``tests/test_native.py`` to check the compiled code.
"""

from __future__ import annotations

import itertools

import numpy as np

from dispatch.arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays, WindowSolution, upstream_arrivals
from dispatch.costs import window_cost
from dispatch.kernels import reserve_ceiling


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


# ---------------------------------------------------------------------------------------
def _pl_min(lo, hi, e, const, pmin, cost_pmin, seg_mw, seg_cost):
    """Least ``c(p) - e p + const`` over ``[lo, hi]`` by trying the cell ends and every
    segment breakpoint inside (``c`` convex piecewise linear from ``pmin``)."""
    pts = [lo, hi]
    acc = pmin
    for w in seg_mw:
        acc += w
        if lo < acc < hi:
            pts.append(acc)

    def c(p):
        v, left = cost_pmin, p - pmin
        for w, k in zip(seg_mw, seg_cost):
            take = min(max(left, 0.0), w)
            v += take * k
            left -= take
        return v

    return min(c(p) - e * p + const for p in pts)


def ramp_dp_brute(g, pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h, p0, pmin, pmax, ru, rd, su,
                  sd, cost_pmin, seg_mw, seg_cost, start_capped, cells):
    """:func:`dispatch.rampdp.ramp_unit_dp` by enumerating every path over ``cells``
    (list of ``(a, b)``) and off: the same relaxation, checked move by move."""
    n = len(pi)
    su_cap, sd_cap = max(su[g], pmin[g]), max(sd[g], pmin[g])
    cap_s = su_cap if start_capped else pmax[g]
    eps = 1e-9
    best = np.inf
    for path in itertools.product(range(-1, len(cells)), repeat=n):
        pat = [k >= 0 for k in path]
        if not _pattern_ok(pat, int(min_up[g]), int(min_down[g]), bool(init_on[g]), int(init_h[g])):
            continue
        if any((force[t, g] > 0 and not pat[t]) or (force[t, g] < 0 and pat[t]) for t in range(n)):
            continue
        v = 0.0
        ok = True
        prev = -2 if init_on[g] else -1  # -2: the history's output p0
        off_h = 0 if init_on[g] else int(init_h[g])
        for t, k in enumerate(path):
            e = pi[t] - mu[t]
            if k >= 0:
                a, b = cells[k]
                if prev == -1:  # start-up
                    if a > su_cap + eps:
                        ok = False
                        break
                    s = max([i for i in range(su_lag.shape[1]) if su_lag[g, i] <= off_h] or [0])
                    v += su_cost[g, s] + _pl_min(a, min(b, su_cap), e, -mu[t] * cap_s, pmin[g], cost_pmin[g],
                                                 seg_mw[g], seg_cost[g])
                else:
                    pa, pb = (p0[g], p0[g]) if prev == -2 else cells[prev]
                    if a - pb > ru[g] + eps or pa - b > rd[g] + eps:
                        ok = False
                        break
                    v += _pl_min(a, b, e, -mu[t] * pmax[g], pmin[g], cost_pmin[g], seg_mw[g], seg_cost[g])
                off_h = 0
            else:
                if prev >= 0 and cells[prev][0] > sd_cap + eps:
                    ok = False
                    break
                off_h += 1
            prev = k
        if ok:
            best = min(best, v)
    return best


# ---------------------------------------------------------------------------------------
# The merit-order dispatch as it was written first: every hour sorts its thermal segment
# pieces and then the whole offer stack (stable mergesorts). dispatch.kernels.dispatch_hours
# walks a presorted segment order and merges instead; its results must be bit-identical.
def dispatch_hours_sorting(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost,
                   ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp):
    """:func:`dispatch.kernels.dispatch_hours` (see its doc: the same model and outputs),
    with every hour's pieces and offers sorted afresh."""
    n, G = on.shape
    K = seg_mw.shape[1]
    E = ex_min.shape[1]
    J = G * K * 2 + E + 2
    p = np.zeros((n, G))
    re_used = np.zeros(n)
    ex = np.zeros((n, E))
    shed = np.zeros(n)
    surplus = np.zeros(n)
    head = np.zeros(n)
    lo = np.empty(G)
    hi = np.empty(G)
    rh = np.empty(G)
    tw = np.empty(G * K)
    tc = np.empty(G * K)
    tg = np.empty(G * K, np.int64)
    sw = np.empty(J)
    sc = np.empty(J)
    so = np.empty(J, np.int64)
    prev = np.empty(G)
    prev_on = np.empty(G, np.bool_)
    max_seg = 0.0
    for g in range(G):
        prev[g] = p0[g] if init_on[g] else 0.0
        prev_on[g] = init_on[g]
        for k in range(K):
            max_seg = max(max_seg, seg_cost[g, k])
    for t in range(n):
        must = 0.0
        cap = 0.0
        for g in range(G):
            if on[t, g]:
                l = elo[t, g]
                u = ehi[t, g]
                if prev_on[g]:
                    l = max(l, prev[g] - rd[g])
                    u = min(u, prev[g] + ru[g])
                if u < l:
                    u = l
                lo[g] = l
                hi[g] = u
                must += l
                rh[g] = reserve_ceiling(t, g, on, ehi, pmax, prev, prev_on, ru, u, res_ramp)
                cap += rh[g]
            else:
                lo[g] = 0.0
                hi[g] = 0.0
                rh[g] = 0.0
            p[t, g] = lo[g]
        for e in range(E):
            ex[t, e] = ex_max[t, e]
        need = demand[t] - must
        if need < 0.0:
            surplus[t] = -need
            for g in range(G):
                prev[g] = p[t, g]
                prev_on[g] = on[t, g]
                if on[t, g]:
                    head[t] += rh[g] - p[t, g]
            continue
        nt = 0
        for g in range(G):
            if hi[g] <= lo[g]:
                continue
            pos = pmin[g]
            for k in range(K):
                s0 = pos
                s1 = pos + seg_mw[g, k]
                pos = s1
                a0 = max(s0, lo[g])
                a1 = min(s1, hi[g])
                if a1 > a0 + 1e-12:
                    tw[nt] = a1 - a0
                    tc[nt] = seg_cost[g, k]
                    tg[nt] = g
                    nt += 1
        order = np.argsort(tc[:nt], kind="mergesort")
        free = cap - reserve[t] - must
        ns = 0
        acc = 0.0
        for ii in range(nt):
            i = order[ii]
            w = tw[i]
            if free > acc:
                w1 = min(w, free - acc)
                sw[ns] = w1
                sc[ns] = tc[i]
                so[ns] = tg[i]
                ns += 1
                if w - w1 > 1e-12:
                    sw[ns] = w - w1
                    sc[ns] = tc[i] + res_cost
                    so[ns] = tg[i]
                    ns += 1
            else:
                sw[ns] = w
                sc[ns] = tc[i] + res_cost
                so[ns] = tg[i]
                ns += 1
            acc += w
        sw[ns] = re_tot[t]
        sc[ns] = -curtail_cost
        so[ns] = -1
        ns += 1
        for e in range(E):
            sw[ns] = ex_max[t, e] - ex_min[t, e]
            sc[ns] = ex_price[e]
            so[ns] = -2 - e
            ns += 1
        sw[ns] = load_tot[t]
        sc[ns] = max(voll, res_cost + max_seg + 1.0)  # shed only after the reserve is used
        so[ns] = -1000000
        ns += 1
        order2 = np.argsort(sc[:ns], kind="mergesort")
        for ii in range(ns):
            if need <= 0.0:
                break
            i = order2[ii]
            x = min(sw[i], need)
            if x <= 0.0:
                continue
            o = so[i]
            if o >= 0:
                p[t, o] += x
            elif o == -1:
                re_used[t] += x
            elif o == -1000000:
                shed[t] += x
            else:
                ex[t, -2 - o] -= x
            need -= x
        for g in range(G):
            prev[g] = p[t, g]
            prev_on[g] = on[t, g]
            if on[t, g]:
                head[t] += rh[g] - p[t, g]
    return p, re_used, ex, shed, surplus, head


def dual_tail(pi, inj, re_bus, re_avail, curtail_cost, ex_bus, ex_price, ex_min, ex_max, dc_from, dc_to, dc_pmax,
              voll, load, dr_bus, dr_cost, dr_pmax, dr_payback_frac, dr_active):
    """Twin of :func:`dispatch.kernels.dual_tail`: whole-array numpy with incidence matrices."""
    n, B = pi.shape
    eye = np.eye(B)
    L = 0.0
    pr = pi[:, re_bus]
    use = (pr + curtail_cost) > 0
    L += float(np.sum(np.where(use, -pr * re_avail, curtail_cost * re_avail)))
    inj += np.where(use, re_avail, 0.0) @ eye[re_bus]
    pe = pi[:, ex_bus]
    x = np.where(pe < ex_price[None, :], ex_max, ex_min)
    L += float(((pe - ex_price[None, :]) * x).sum())
    inj -= x @ eye[ex_bus]
    d = pi[:, dc_to] - pi[:, dc_from]
    L -= float(np.sum(np.abs(d) * dc_pmax[None, :]))
    inj += (np.sign(d) * dc_pmax[None, :]) @ (eye[dc_to] - eye[dc_from])
    shed = np.where(pi > voll, load, 0.0)
    L += float(np.sum((voll - pi) * shed))
    inj += shed
    pd = pi[:, dr_bus]
    tmin = np.argmin(pd, axis=0)
    unit = dr_cost[None, :] - pd + (dr_payback_frac * pd[tmin, np.arange(dr_bus.shape[0])])[None, :]
    take = np.where((unit < 0) & dr_active[None, :], dr_pmax[None, :], 0.0)
    inj += take @ eye[dr_bus]
    np.add.at(inj, (tmin, dr_bus), -dr_payback_frac * take.sum(axis=0))
    L += float(np.sum(unit * take))
    return L


def relink_naive(on_a, on_b, cost):
    """Path relinking by brute force (twin of :func:`dispatch.localsearch.relink`): the
    units whose columns differ take ``on_b``'s column one at a time, each step the one
    (lowest index on ties) whose switch makes ``cost(on)`` least; returns the cheapest
    commitment strictly between the ends and its cost (``on_a``, inf when none)."""
    on = on_a.copy()
    left = [g for g in range(on_a.shape[1]) if np.any(on_a[:, g] != on_b[:, g])]
    best_on, best = on_a.copy(), np.inf
    while len(left) > 1:
        vals = []
        for g in left:
            trial = on.copy()
            trial[:, g] = on_b[:, g]
            vals.append(cost(trial))
        k = int(np.argmin(vals))
        on[:, left[k]] = on_b[:, left[k]]
        del left[k]
        if vals[k] < best:
            best, best_on = vals[k], on.copy()
    return best_on, best


def flows_lp(w, on: np.ndarray, dump_cost: float) -> float:
    """Twin of :func:`dispatch.flowlp.solve_flows`: the window's flows LP under the network
    written out whole and solved by HiGHS (scipy). Variables: every arc of the flexible
    network; per hour each committed unit's output between its ramp envelope's bounds
    (segment costs), renewables used up to availability (curtailment at its cost), exports
    between their limits, shedding up to the bus's load, dumping, DC links; rows: node
    conservation, each hour's balance, every line's rating in every hour. Returns the
    optimal cost (the flows' constant included)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    from dispatch import kernels as K

    sys = w.sys
    n, B, L = w.n, sys.n_bus, sys.n_line
    elo, ehi = K.ramp_envelope(on, w.th_p0, w.th_init_on, sys.th_pmin, sys.th_pmax, sys.th_ramp_up,
                               sys.th_ramp_down, sys.th_su_ramp, sys.th_sd_ramp)
    cols = []  # (cost, lo, hi, {row: coefficient}) per variable
    inj_rows = lambda t, b, v: {("bus", t, b): v}  # noqa: E731
    M = w.tail.shape[0]
    for a in range(M):
        coef = {("node", int(w.tail[a])): 1.0, ("node", int(w.head[a])): -1.0}
        if w.hour[a] >= 0 and w.abus[a] >= 0 and w.energy[a] != 0.0:
            coef[("bus", int(w.hour[a]), int(w.abus[a]))] = float(w.energy[a])
        cols.append((float(w.base[a]), float(w.lo[a]), float(w.hi[a]), coef))
    const = float(w.wconst)
    for t in range(n):
        for g in range(sys.n_th):
            if not on[t, g]:
                continue
            const += float(sys.th_cost_pmin[g])
            # output above pmin by segments (the last one stretched to the envelope's top)
            pos = float(sys.th_pmin[g])
            lo_left = float(elo[t, g]) - pos
            for k in range(sys.th_seg_mw.shape[1]):
                width = float(sys.th_seg_mw[g, k])
                if k == sys.th_seg_mw.shape[1] - 1:
                    width = max(width, float(ehi[t, g]) - pos)
                top = min(width, max(float(ehi[t, g]) - pos, 0.0))
                need = min(max(lo_left, 0.0), top)
                lo_left -= need
                pos += width
                cols.append((float(sys.th_seg_cost[g, k]), need, top, inj_rows(t, sys.th_bus[g], 1.0)))
            const_p = float(sys.th_pmin[g])
            cols.append((0.0, const_p, const_p, inj_rows(t, sys.th_bus[g], 1.0)))
        for r in range(sys.n_re):
            a = max(float(w.re_avail[t, r]), 0.0)
            const += float(sys.curtail_cost) * a
            cols.append((-float(sys.curtail_cost), 0.0, a, inj_rows(t, sys.re_bus[r], 1.0)))
        for x in range(w.ex_min.shape[1]):
            cols.append((-float(sys.ex_price[x]), float(w.ex_min[t, x]), float(w.ex_max[t, x]),
                         inj_rows(t, sys.ex_bus[x], -1.0)))
        for b in range(B):
            cols.append((float(sys.voll), 0.0, max(float(w.load[t, b]), 0.0), inj_rows(t, b, 1.0)))
            cols.append((float(dump_cost), 0.0, None, inj_rows(t, b, -1.0)))
        for k in range(sys.n_dc):
            pm = float(sys.dc_pmax[k])
            cols.append((0.0, -pm, pm, {("bus", t, int(sys.dc_to[k])): 1.0, ("bus", t, int(sys.dc_from[k])): -1.0}))
    # rows: nodes (= -supply), bus injections aggregated into hour balance and line flows
    nv = len(cols)
    eq_r, eq_c, eq_v = [], [], []
    ub_r, ub_c, ub_v = [], [], []
    node_row = {}
    for j, (_c, _lo, _hi, coef) in enumerate(cols):
        for key, v in coef.items():
            if key[0] == "node":
                eq_r.append(node_row.setdefault(key[1], len(node_row)))
                eq_c.append(j)
                eq_v.append(v)
            else:
                _, t, b = key
                eq_r.append(("bal", t))
                eq_c.append(j)
                eq_v.append(v)
                for ln in range(L):
                    if sys.ptdf[ln, b] != 0.0:
                        for sgn, k in ((1.0, 0), (-1.0, 1)):
                            ub_r.append((t, ln, k))
                            ub_c.append(j)
                            ub_v.append(sgn * v * sys.ptdf[ln, b])
    n_node = len(node_row)
    bal_rows = {("bal", t): n_node + t for t in range(n)}
    eq_r = [r if isinstance(r, int) else bal_rows[r] for r in eq_r]
    b_eq = np.zeros(n_node + n)
    for node, i in node_row.items():
        b_eq[i] = float(w.supply[node])
    # load at the buses: balance rows and line flows carry it on the right-hand side
    ub_index = {}
    ub_r2 = [ub_index.setdefault(r, len(ub_index)) for r in ub_r]
    b_ub = np.zeros(len(ub_index))
    for (t, ln, k), i in ub_index.items():
        f_load = -float(sys.ptdf[ln] @ w.load[t])
        b_ub[i] = float(sys.line_max_mw[ln]) - (f_load if k == 0 else -f_load)
    for t in range(n):
        b_eq[n_node + t] = float(w.load[t].sum())
    A_eq = coo_matrix((eq_v, (eq_r, eq_c)), shape=(n_node + n, nv)).tocsr()
    A_ub = coo_matrix((ub_v, (ub_r2, ub_c)), shape=(len(ub_index), nv)).tocsr()
    c = np.array([col[0] for col in cols])
    bounds = [(col[1], col[2]) for col in cols]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise AssertionError(f"flows_lp: HiGHS status {res.status}: {res.message}")
    return float(res.fun) + const
