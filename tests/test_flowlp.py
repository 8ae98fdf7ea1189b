"""The exact flows LP under the network (:mod:`dispatch.flowlp`): its master simplex against
HiGHS on random LPs, the column generation against the whole LP written out (naive twin),
and the native engine with it on."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from scipy.optimize import linprog

import naive
from dispatch import flowlp as FL
from dispatch import invariants, native, testing
from dispatch.arrays import initial_state
from dispatch.costs import window_cost


def _random_master(seed: int):
    """A random master: n hours x B buses of pieces (shedding and dumping everywhere, so it is
    feasible), a few line rows, a few stored flows' columns."""
    rng = np.random.default_rng(seed)
    n, B, L = 4, 3, 2
    ph, pb, ps, pc, pw = [], [], [], [], []
    for t in range(n):
        for b in range(B):
            for _ in range(rng.integers(0, 3)):
                ph.append(t), pb.append(b), ps.append(1.0)
                pc.append(rng.uniform(10, 100)), pw.append(rng.uniform(5, 50))
            ph += [t, t]; pb += [b, b]; ps += [1.0, -1.0]; pc += [1e4, 1e5]; pw += [1e3, 1e3]  # noqa: E702
    ph, pb = np.array(ph, np.int64), np.array(pb, np.int64)
    pb2 = np.full(ph.shape[0], -1, np.int64)
    ps, pc, pw = np.array(ps), np.array(pc), np.array(pw)
    fixed = -rng.uniform(20, 60, (n, B))
    ptdf = rng.uniform(-0.6, 0.6, (L, B))
    fmax = rng.uniform(20, 40, L)
    row_hour = np.array([0, 1, 1, 3], np.int64)
    row_line = np.array([0, 0, 1, 1], np.int64)
    R, k = 4, 3
    cols = np.zeros((k, n + R + 1))
    U = rng.uniform(0, 40, (k, n, B))
    for i in range(k):
        cols[i] = FL.flow_column(U[i], ptdf, row_line, row_hour, n)
    col_cost = rng.uniform(-500, 500, k)
    return n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour, cols, col_cost


def _highs(n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour, cols, col_cost):
    R = row_line.shape[0]
    P, k = ph.shape[0], cols.shape[0]
    m = n + R + 1
    A = np.zeros((m, P + R + k))
    for j in range(P):
        A[ph[j], j] = ps[j]
        for r in range(R):
            if row_hour[r] == ph[j]:
                A[n + r, j] = ps[j] * ptdf[row_line[r], pb[j]]
    for r in range(R):
        A[n + r, P + r] = 1.0
    A[:, P + R:] = cols.T
    b = np.concatenate([-fixed.sum(axis=1), fmax[row_line] - np.einsum("rb,rb->r", ptdf[row_line], fixed[row_hour]),
                        [1.0]])
    c = np.concatenate([pc, np.zeros(R), col_cost])
    bounds = [(0, w) for w in pw] + [(0, 2 * fmax[l]) for l in row_line] + [(0, 1)] * k
    res = linprog(c, A_eq=A, b_eq=b, bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("seed", range(8))
def test_master_simplex_matches_highs(seed):
    """The master's two-phase revised simplex reaches HiGHS's optimum on random masters, and
    after a column is added (``B^-1 a`` off the artificials) and the simplex goes on, the
    optimum of the bigger master too."""
    args = _random_master(seed)
    n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour, cols, col_cost = args
    k = cols.shape[0]
    (gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs,
     a0) = FL.master_build(n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour,
                               cols[:k - 1], col_cost[:k - 1], 1)
    m = Binv.shape[0]
    n_used, ng_used = a0 + m + k - 1, NGs + k - 1
    infeas, it = FL.solve_master(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs,
                                 a0, n_used, ng_used, 10_000)
    assert infeas <= 1e-9 and it >= 0
    want = _highs(*args[:13], cols[:k - 1], col_cost[:k - 1])
    assert float(cost[:n_used] @ x[:n_used]) == pytest.approx(want, rel=1e-9, abs=1e-6)
    # the last column enters
    lamcol[ng_used - NGs] = cols[k - 1]
    j = n_used
    grp[j], sg[j], lo[j], hi[j], cost[j], x[j], isbasic[j] = ng_used, 1.0, 0.0, 1.0, col_cost[k - 1], 0.0, False
    it = FL.rs_simplex(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs, n_used + 1,
                       ng_used + 1, 10_000)
    assert it >= 0
    want = _highs(*args)
    assert float(cost[:n_used + 1] @ x[:n_used + 1]) == pytest.approx(want, rel=1e-9, abs=1e-6)
    # the duals price every column at a non-negative reduced cost (optimality)
    y = FL.rs_duals(cost, basis, Binv)
    assert float(col_cost[k - 1] - y @ cols[k - 1]) >= -1e-6 or x[j] > 0


def _tight_toy():
    s = testing.toy_system(48)
    return dataclasses.replace(s, line_max_mw=np.array([200.0, 250.0, 150.0]),
                               re_avail_mw=np.ascontiguousarray(s.re_avail_mw * np.array([2.0, 1.0])))


@pytest.fixture(scope="module")
def congested():
    sys = _tight_toy()
    st = initial_state(sys)
    sol = native.solve_window(sys, 0, 48, st, None, native.NativeOptions(net_fw_iters=0, net_tr_iters=0))
    w = native._Win(sys, 0, 48, st, None)
    return sys, st, sol, w


def test_column_generation_reaches_the_whole_lp(congested):
    """On the congested toy the column generation's value is the optimum of the whole LP
    written out and solved by HiGHS (the naive twin) to its stopping tolerance (the gap to
    its own Lagrangian bound, 1e-5 relative), that bound is below the optimum, and the
    master's point overloads no line."""
    sys, st, sol, w = congested
    want = naive.flows_lp(w, sol.th_on, native.DUMP_COST)
    r = FL.solve_flows(w, sol.th_on, _flows(w, sol), sol.line_flow,
                       sol.info["pi"], 400, native.DUMP_COST)
    assert r["pivots_ok"] and not r["overloaded"]
    assert want - 1e-9 * abs(want) <= r["value"] <= want + 1e-5 * abs(want)
    assert r["bound"] <= want + 1e-9 * abs(want)


def _flows(w, sol):
    """The flexible network's flows of a schedule: the price response at its nodal prices
    (any feasible flow starts the master; this one is at hand)."""
    return w.flex(w.zero_n, pi=np.ascontiguousarray(sol.info["pi"]))[0]


def test_native_with_the_flows_lp_feasible_and_never_dearer():
    """The native engine with the flows LP on (``net_lp_iters``) returns a schedule every
    invariant accepts, whose objective is its cost, never dearer than without it."""
    sys = _tight_toy()
    st = initial_state(sys)
    off = native.solve_window(sys, 0, 48, st, None)
    on = native.solve_window(sys, 0, 48, st, None, native.NativeOptions(net_lp_iters=200))
    invariants.assert_feasible(sys, st, on, None)
    assert on.objective == pytest.approx(window_cost(sys, st, on, None), rel=1e-9)
    assert on.objective <= off.objective + 1e-9 * abs(off.objective)
    assert "lp_value" in on.info or on.info.get("replan_evals", 0) > 0


def _mixed_flows(w, sol):
    """Two flows of the congested toy's network, at the schedule's nodal prices and at
    those prices turned upside down, and their average: one charges a store in hours where
    the other discharges it, so the average does both at once."""
    pi = np.ascontiguousarray(sol.info["pi"])
    a = w.flex(w.zero_n, pi=pi)[0]
    b = w.flex(w.zero_n, pi=np.ascontiguousarray(pi.max() + pi.min() - pi))[0]
    return a, b, 0.5 * (a + b)


def _store_flows(w, x):
    s = w.sys
    return native.K.flex_unpack(x, w.energy, w.hour, w.role, w.unit, w.n, s.n_hy, s.n_st, s.st_loss)[2:4]


def test_mode_box_fixes_each_store_hour_and_keeps_the_energy_path(congested):
    """``mode_box`` on a flow that charges and discharges at once: it counts those
    store-hours, its netted flow lies in its bounds, does both nowhere and keeps every
    store's energy path, and every store-hour has one of its two arcs shut."""
    sys, st, sol, w = congested
    _a, _b, x = _mixed_flows(w, sol)
    ch, dis = _store_flows(w, x)
    assert np.sum(np.minimum(ch, dis) > 1e-6) > 0
    box, xn, both = FL.mode_box(w, x)
    assert both == np.sum(np.minimum(ch, dis) > 1e-6)
    assert FL.in_box(xn, box, 1e-9)
    ch1, dis1 = _store_flows(w, xn)
    assert np.all(np.minimum(ch1, dis1) <= 1e-9)
    eta_c, eta_d = sys.st_eta_ch[None, :], sys.st_eta_dis[None, :]
    np.testing.assert_allclose(eta_c * ch1 - dis1 / eta_d, eta_c * ch - dis / eta_d, atol=1e-7)
    shut = {}  # (role, store, hour) -> the arc is shut
    for role in (native.K.R_CH, native.K.R_DIS):
        a = np.nonzero(w.role == role)[0]
        shut.update(zip(zip([role] * a.shape[0], w.unit[a], w.hour[a]), box[1][a] <= box[0][a]))
    for (role, k, t), closed in shut.items():  # at least one of each store-hour's two arcs shut
        if role == native.K.R_CH:
            assert closed or shut[(native.K.R_DIS, k, t)]


def test_column_generation_in_a_box_reaches_the_boxed_lp(congested):
    """With the stores' modes fixed (``box``), the column generation (pricing by the boxed
    network simplex, started from the netted flow and the stored flows inside the box)
    reaches the whole LP with those bounds solved by HiGHS, and its point does both
    nowhere."""
    sys, st, sol, w = congested
    a, b, x = _mixed_flows(w, sol)
    box, xn, _both = FL.mode_box(w, x)
    w2 = copy.copy(w)
    w2.lo, w2.hi = box
    want = naive.flows_lp(w2, sol.th_on, native.DUMP_COST)
    keep = tuple(v for v in (a, b) if FL.in_box(v, box))
    r = FL.solve_flows(w, sol.th_on, xn, sol.line_flow, sol.info["pi"], 400, native.DUMP_COST, box=box, more=keep)
    assert r["pivots_ok"] and not r["overloaded"]
    assert want - 1e-9 * abs(want) <= r["value"] <= want + 1e-5 * abs(want)
    assert r["bound"] <= want + 1e-9 * abs(want)
    ch, dis = _store_flows(w, r["x"])
    assert np.all(np.minimum(ch, dis) <= 1e-6)


def test_absorb_goes_to_the_nearest_bus_within_the_ratings():
    """What a bus cannot take out of its injection (nothing to curtail, export or spill,
    its stores full) goes to another bus, as far as the line ratings allow, and the lines'
    flows move by exactly the shift; where the ratings leave no room it fails."""
    sys = testing.toy_system(4)
    st = initial_state(sys)
    w = native._Win(sys, 0, 4, st, None)
    n = 4
    re_p = np.zeros((n, sys.n_re))
    re_p[:, 1] = 50.0  # renewables only at bus 2
    q = np.tile(np.minimum(sys.hy_qmin, w.hy_qmax), (n, 1))  # release at its minimum: nothing to spill
    s = np.zeros_like(q)
    ex = w.ex_max.copy()  # exports at their maximum
    ch, dis = np.zeros((n, sys.n_st)), np.zeros((n, sys.n_st))
    e = np.tile(sys.st_emax, (n, 1))  # stores full
    extra = np.zeros((n, sys.n_bus))
    extra[1, 1] = 20.0  # bus 1: exports and hydro only
    flow = np.zeros((n, sys.n_line))
    assert native._absorb_at_bus(w, extra, re_p, q, s, ex, flow, ch, dis, e)
    assert re_p[1, 1] == pytest.approx(30.0)
    np.testing.assert_allclose(flow[1], 20.0 * (sys.ptdf[:, 1] - sys.ptdf[:, 2]), atol=1e-9)
    # lines at their ratings in the way: no room anywhere
    re_p[:, 1] = 50.0
    flow = np.tile(np.sign(sys.ptdf[:, 1] - sys.ptdf[:, 2]) * sys.line_max_mw, (n, 1))
    assert not native._absorb_at_bus(w, extra, re_p, q, s, ex, flow, ch, dis, e)


def test_lp_moves_turn_off_a_block_that_loses_money():
    """A unit put on at a loss on top of the engine's commitment (on the congested toy at
    60 % of its load, the dearest unit off in hours 10-29 put on there): ``_lp_moves``
    (ten trials) finds the block's margin at the LP's nodal prices negative, turns it off
    and keeps the cheaper schedule, which every invariant accepts and whose objective is its cost."""
    s0 = _tight_toy()
    sys = dataclasses.replace(s0, load_mw=s0.load_mw * 0.6)
    st = initial_state(sys)
    sol = native.solve_window(sys, 0, 48, st, None, native.NativeOptions(net_fw_iters=0, net_tr_iters=0))
    w = native._Win(sys, 0, 48, st, None)
    opt = native.NativeOptions(net_lp_iters=300, net_lp_moves=10)
    cost_at_pmax = (sys.th_cost_pmin + (sys.th_seg_mw * sys.th_seg_cost).sum(axis=1)) / sys.th_pmax
    off = ~sol.th_on[10:30].any(axis=0)
    g = int(np.argmax(np.where(off, cost_at_pmax, -np.inf)))
    assert off[g]
    on = sol.th_on.astype(bool).copy()
    on[10:30, g] = True
    x = _flows(w, sol)
    start, sx, r, _info = native._lp_schedule(w, on, x, sol.line_flow, sol.info["pi"], None, opt, 300)
    assert start.th_on[10:30, g].all()
    out, _ox, tried, kept = native._lp_moves(w, start, sx, r, None, opt)
    assert tried >= 1 and kept >= 1
    assert not out.th_on[:, g].any()
    assert out.objective < start.objective
    invariants.assert_feasible(sys, st, out, None)
    assert out.objective == pytest.approx(window_cost(sys, st, out, None), rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_best_run_matches_brute_force(seed):
    """``_best_run``: the largest sum over runs at least ``min_len`` long, against every run."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=int(rng.integers(1, 30)))
    for k in (1, 3, 8, 40):
        kk = min(k, v.shape[0])
        want = max(v[s:e].sum() for s in range(v.shape[0]) for e in range(s + kk, v.shape[0] + 1))
        s, e, got = native._best_run(v, k)
        assert e - s >= kk and got == pytest.approx(want) and v[s:e].sum() == pytest.approx(got)
