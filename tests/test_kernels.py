"""Compiled kernels of the native engine against their naive twins (tests/naive.py)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import naive
from dispatch import _core
from dispatch import kernels as K


def _dp_case(rng, n, G, S=2):
    on_cost = rng.normal(0.0, 10.0, (n, G))
    off_cost = np.zeros((n, G))
    lag = np.sort(rng.integers(1, 5, (G, S)), axis=1)
    su = np.sort(rng.uniform(0, 15, (G, S)), axis=1)
    mu = rng.integers(1, 4, G)
    md = rng.integers(1, 4, G)
    init_on = rng.random(G) < 0.5
    init_h = rng.integers(1, 5, G)
    return on_cost, off_cost, lag, su, mu, md, init_on, init_h


@pytest.mark.parametrize("seed", range(12))
def test_commit_dp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, G = 7, 3
    on_cost, off_cost, lag, su, mu, md, init_on, init_h = _dp_case(rng, n, G)
    force = np.zeros((n, G), np.int8)
    if seed % 3 == 0:
        force[rng.integers(0, n), 0] = 1
        force[rng.integers(0, n), 1] = -1
    on, val = _core.commit_dp(on_cost, off_cost, force, lag, su, mu, md, init_on, init_h)
    on_b, val_b = naive.commit_brute(on_cost, off_cost, lag, su, mu, md, init_on, init_h, force)
    assert_allclose(val, val_b, rtol=1e-12, atol=1e-9)
    # the returned schedule attains the optimum
    for g in range(G):
        if np.isfinite(val[g]):
            assert naive._pattern_ok(list(on[:, g]), mu[g], md[g], init_on[g], init_h[g])


def test_commit_dp_read_only_inputs():
    rng = np.random.default_rng(1)
    args = list(_dp_case(rng, 6, 2))
    force = np.zeros((6, 2), np.int8)
    args.insert(2, force)
    for a in args:
        a.setflags(write=False)
    on, val = _core.commit_dp(*args)
    assert on.shape == (6, 2) and np.all(np.isfinite(val))


def test_commit_dp_shape_errors():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="shape"):
        _core.commit_dp(z, np.zeros((3, 1)), np.zeros((3, 2), np.int8), np.ones((2, 1), np.int64), np.zeros((2, 1)),
                        np.ones(2, np.int64), np.ones(2, np.int64), np.zeros(2, bool), np.ones(2, np.int64))


@pytest.mark.parametrize("seed", range(4))
def test_storage_min_cost_flow_matches_lp(seed):
    rng = np.random.default_rng(seed)
    n = 12
    price = rng.uniform(-20, 100, n)
    pch, pdis, emin, emax, eta_c, eta_d, loss, e0 = 30.0, 25.0, 5.0, 100.0, 0.92, 0.9, 0.01 * seed, 40.0
    z = np.zeros(0)
    zi = np.zeros(0, np.int64)
    g = K.build_flex_graph(n, z, z, z, z, z, zi, zi, np.zeros((n, 0)), np.zeros((n, 0)), z, z, z, 1.0,
                           np.array([pch]), np.array([pdis]), np.array([emin]), np.array([emax]), np.array([eta_c]),
                           np.array([eta_d]), np.array([loss]), np.array([e0]), 1e7)
    n_nodes, tail, head, lo, hi, base, energy, rescoef, hour, role, unit, supply, const = g
    cost = K.flex_costs(base, energy, rescoef, hour, price, np.zeros(n))
    flow, unrouted, _, _ = K.mcf_solve(n_nodes, tail, head, lo, hi, cost, supply)
    assert unrouted < 1e-9
    ref, _ = naive.storage_lp_brute(price, pch, pdis, emin, emax, eta_c, eta_d, loss, e0)
    assert_allclose(float(cost @ flow) + const, ref, rtol=1e-9, atol=1e-6)


def test_hydro_flow_volumes_and_mass_balance():
    from dispatch import testing
    from dispatch.arrays import initial_state

    sys = testing.toy_system(24)
    st = initial_state(sys)
    n = 24
    arr = K.hist_arrivals(n, sys.hy_down, sys.hy_delay, st.hy_hist)
    g = K.build_flex_graph(n, sys.hy_k, sys.hy_pmax, sys.hy_qmin, sys.hy_vmin, sys.hy_vmax, sys.hy_down, sys.hy_delay,
                           sys.hy_inflow[:n], arr, st.hy_v, st.hy_v, np.full(2, 1e5), 1.0, *(np.zeros(0),) * 7,
                           np.zeros(0), 1e7)
    n_nodes, tail, head, lo, hi, base, energy, rescoef, hour, role, unit, supply, const = g
    price = 200 + 100 * np.sin(np.arange(n) / 3)
    flow, unrouted, _, _ = K.mcf_solve(n_nodes, tail, head, lo, hi, K.flex_costs(base, energy, rescoef, hour, price, np.zeros(n)), supply)
    q, s, ch, dis, slack = K.flex_unpack(flow, energy, hour, role, unit, n, 2, 0, np.zeros(0))
    assert slack < 1e-9
    v = K.hydro_volumes(q, s, sys.hy_inflow[:n], arr, st.hy_v, sys.hy_down, sys.hy_delay)
    assert_allclose(v, naive.volumes_naive(sys, st, 0, q, s), rtol=1e-10, atol=1e-9)
    assert np.all(v >= sys.hy_vmin - 1e-7) and np.all(v <= sys.hy_vmax + 1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_stack_cost_is_merit_order(seed):
    rng = np.random.default_rng(seed)
    n, G = 5, 4
    on = rng.random((n, G)) < 0.7
    pmin = rng.uniform(10, 50, G)
    seg = rng.uniform(10, 60, (G, 2))
    pmax = pmin + seg.sum(axis=1)
    segc = np.sort(rng.uniform(100, 400, (G, 2)), axis=1)
    elo = np.where(on, pmin, 0.0)
    ehi = np.where(on, pmax, 0.0)
    width, mcost, nseg, base, must, _ = K.build_stacks(
        on, elo, ehi, pmin, pmax, rng.uniform(1000, 2000, G), seg, segc, np.zeros((n, 0)), 0.0,
        np.zeros((n, 0)), np.zeros((n, 0)), np.zeros(0), np.full(n, 500.0), np.zeros(n), 0.0, 1e4, 1e6)
    for t in range(n):
        for D in (0.0, 17.3, 80.0, 250.0):
            assert_allclose(K.stack_cost(width, mcost, nseg, t, D, 1e6),
                            naive.stack_cost(width[t], mcost[t], nseg[t], D, 1e6), rtol=1e-12)


def test_ramp_envelope_respects_start_and_stop():
    on = np.array([[0], [1], [1], [1], [0]], dtype=bool)
    lo, hi = K.ramp_envelope(on, np.zeros(1), np.zeros(1, bool), np.array([50.0]), np.array([200.0]),
                             np.array([40.0]), np.array([40.0]), np.array([60.0]), np.array([70.0]))
    assert_allclose(hi[:, 0], [0, 60, 100, 70, 0])
    assert_allclose(lo[:, 0], [0, 50, 50, 50, 0])


def test_repair_lp_relieves_line_at_least_cost():
    """Two buses, one line (PTDF 1 for bus 0 injection, slack at bus 1) carrying 100 MW over a 60 MW rating."""
    ptdf = np.array([[1.0, 0.0]])
    fl, flo, fhi = np.array([100.0]), np.array([-60.0]), np.array([60.0])
    # pieces: bus0 down cheap (saves 10) / dear (saves 5); bus1 up at 20 or 50; shedding at bus1 (VOLL)
    cbus = np.array([0, 0, 1, 1, 1])
    csign = np.array([-1.0, -1.0, 1.0, 1.0, 1.0])
    ccost = np.array([-10.0, -5.0, 20.0, 50.0, 1e4])
    cw = np.array([30.0, 30.0, 25.0, 100.0, 100.0])
    x, infeas = K.lp_solve_rows(cbus, csign, ccost, cw, np.array([0]), fl, flo, fhi, ptdf, 100)
    assert infeas < 1e-9
    inj = np.zeros(2)
    np.add.at(inj, cbus, csign * x)
    assert abs(inj.sum()) < 1e-9 and fl[0] + ptdf[0] @ inj <= 60.0 + 1e-9
    assert_allclose(x, [30.0, 10.0, 25.0, 15.0, 0.0], atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_mcf_warm_start_matches_cold(seed):
    """Warm start from the optimum for other prices reaches the same optimal cost."""
    from dispatch import testing
    from dispatch.arrays import initial_state

    rng = np.random.default_rng(seed)
    sys = testing.toy_system(24)
    st = initial_state(sys)
    n = 24
    arr = K.hist_arrivals(n, sys.hy_down, sys.hy_delay, st.hy_hist)
    g = K.build_flex_graph(n, sys.hy_k, sys.hy_pmax, sys.hy_qmin, sys.hy_vmin, sys.hy_vmax, sys.hy_down, sys.hy_delay,
                           sys.hy_inflow[:n], arr, st.hy_v, st.hy_v, np.full(2, 1e5), 1.0, sys.st_pch, sys.st_pdis,
                           sys.st_emin, sys.st_emax, sys.st_eta_ch, sys.st_eta_dis, sys.st_loss, np.asarray(st.st_e, float),
                           1e7)
    n_nodes, tail, head, lo, hi, base, energy, rescoef, hour, role, unit, supply, const = g
    price = 200 + 100 * np.sin(np.arange(n) / 3)
    c1 = K.flex_costs(base, energy, rescoef, hour, price, np.zeros(n))
    f1, u1, _, _, pot = K.mcf_solve_warm(n_nodes, tail, head, lo, hi, c1, supply, np.zeros(0), np.zeros(0), False)
    assert u1 < 1e-9
    for scale in (0.01, 0.3):
        c2 = K.flex_costs(base, energy, rescoef, hour, price * (1 + scale * rng.standard_normal(n)), np.zeros(n))
        fw, uw, _, _, _ = K.mcf_solve_warm(n_nodes, tail, head, lo, hi, c2, supply, f1, pot, True)
        fc, uc, _, _ = K.mcf_solve(n_nodes, tail, head, lo, hi, c2, supply)
        assert uw < 1e-9 and uc < 1e-9
        assert np.all(fw >= lo - 1e-9) and np.all(fw <= hi + 1e-9)
        bal = np.bincount(head, fw, n_nodes) - np.bincount(tail, fw, n_nodes) + supply
        assert np.abs(bal).max() < 1e-6
        assert_allclose(c2 @ fw, c2 @ fc, rtol=1e-10, atol=1e-6)


def _repair_lp_value(cbus, csign, ccost, cw, rows, fl, flo, fhi, ptdf, b, delta):
    """Twin of the repair LP by HiGHS (scipy) with ``delta`` MW injected at bus ``b``."""
    from scipy.optimize import linprog

    a = csign[None, :] * ptdf[rows][:, cbus]
    shift = ptdf[rows, b] * delta
    A_ub = np.vstack([a, -a])
    b_ub = np.concatenate([fhi[rows] - fl[rows] - shift, -(flo[rows] - fl[rows] - shift)])
    r = linprog(ccost, A_ub=A_ub, b_ub=b_ub, A_eq=csign[None, :], b_eq=[-delta], bounds=list(zip(0 * cw, cw)),
                method="highs")
    assert r.status == 0
    return r.fun


@pytest.mark.parametrize("seed", [0, 2, 4, 7, 11])  # feasible draws; in 0, 2 and 4 a line binds
def test_repair_lp_duals_are_nodal_prices(seed):
    """The repair LP's row duals give each bus's price: ``y0 + sum_i y_i ptdf[rows_i, b]`` lies
    between the left and right derivatives of the LP value in an injection at ``b`` (exact
    where the LP is not degenerate), and the LP's cost equals HiGHS's."""
    rng = np.random.default_rng(seed)
    B, L, nc = 4, 3, 14
    ptdf = rng.uniform(-0.6, 0.6, (L, B))
    ptdf[:, -1] = 0.0  # slack bus
    cbus = rng.integers(0, B, nc)
    csign = np.where(rng.random(nc) < 0.5, 1.0, -1.0)
    ccost = csign * rng.uniform(10, 100, nc)
    cw = rng.uniform(20, 80, nc)
    fl = rng.uniform(-150, 150, L)
    rows = np.arange(L)
    fhi = np.full(L, 100.0)
    flo = -fhi
    x, infeas, y = K.lp_solve_pairs(cbus, np.full(nc, -1, np.int64), csign, ccost, cw, rows, fl, flo, fhi, ptdf, 500)
    assert infeas < 1e-9
    v0 = _repair_lp_value(cbus, csign, ccost, cw, rows, fl, flo, fhi, ptdf, 0, 0.0)
    assert abs(ccost @ x - v0) <= 1e-6 * max(1.0, abs(v0))
    h = 1e-3
    for b in range(B):
        pi_b = y[0] + y[1:] @ ptdf[rows, b]
        right = (_repair_lp_value(cbus, csign, ccost, cw, rows, fl, flo, fhi, ptdf, b, h) - v0) / h
        left = (v0 - _repair_lp_value(cbus, csign, ccost, cw, rows, fl, flo, fhi, ptdf, b, -h)) / h
        assert left - 1e-4 <= -pi_b <= right + 1e-4


@pytest.mark.parametrize("seed", range(4))
def test_lp_dense_matches_highs(seed):
    """The dense two-phase bounded simplex (the decomposition's master) reaches HiGHS's
    optimum on random feasible LPs with free-signed bounds and equality rows."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(seed)
    for _ in range(25):
        m, nv = int(rng.integers(1, 8)), int(rng.integers(2, 12))
        A = rng.normal(size=(m, nv))
        x0 = rng.uniform(-1, 1, nv)
        b = A @ x0
        lo, hi = x0 - rng.uniform(0, 2, nv), x0 + rng.uniform(0, 2, nv)
        c = rng.normal(size=nv)
        x, infeas = K.lp_dense(A, b, c, lo, hi, 1000)
        r = linprog(c, A_eq=A, b_eq=b, bounds=list(zip(lo, hi)), method="highs")
        assert infeas < 1e-9 and np.abs(A @ x - b).max() < 1e-7
        assert np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)
        assert c @ x == pytest.approx(r.fun, rel=1e-7, abs=1e-7)


def test_recourse_hours_matches_hourly_lp_twin():
    """Each hour's recourse cost (:func:`dispatch.kernels.recourse_hours`) equals the same
    LP solved by HiGHS with every line limit, on the congested toy with the flexible
    injections of a native schedule; its prices are the hour's nodal prices."""
    from scipy.optimize import linprog

    from dispatch import native, testing
    from dispatch.arrays import initial_state

    import dataclasses

    s = testing.toy_system(24)
    s = dataclasses.replace(s, line_max_mw=np.array([200.0, 250.0, 150.0]),
                            re_avail_mw=np.ascontiguousarray(s.re_avail_mw * np.array([2.0, 1.0])))
    st = initial_state(s)
    sol = native.solve_window(s, 0, 24, st, None)
    n, B = 24, s.n_bus
    on = sol.th_on
    elo, ehi = K.ramp_envelope(on, st.th_p, np.asarray(st.th_on, bool), s.th_pmin, s.th_pmax, s.th_ramp_up,
                               s.th_ramp_down, s.th_su_ramp, s.th_sd_ramp)
    E_hy, E_st = np.eye(B)[s.hy_bus], np.eye(B)[s.st_bus]
    finj = np.ascontiguousarray((sol.hy_q * s.hy_k) @ E_hy + (sol.st_dis - sol.st_ch) @ E_st)
    fspill = np.ascontiguousarray((sol.hy_q * s.hy_k) @ E_hy)
    load = np.ascontiguousarray(s.load_mw[:n])
    Rt, pi, over = K.recourse_hours(s.ptdf, s.line_max_mw, 0.97, finj, fspill, s.spill_cost, load, on, elo, ehi,
                                    s.th_pmin, s.th_cost_pmin, s.th_seg_mw, s.th_seg_cost, s.th_bus, s.re_avail_mw[:n],
                                    s.re_bus, s.curtail_cost, s.ex_min[:n], s.ex_max[:n], s.ex_price, s.ex_bus, s.voll,
                                    1e6, s.dc_from, s.dc_to, np.asarray(s.dc_pmax, float), 8, 5000)
    assert over <= 1e-6 and pi.shape == (n, B)
    for t in range(n):
        # columns: thermal levels (cost by segment), renewables, exports, shed, spill, dump
        cols, const = [], 0.0
        fixed = finj[t] - load[t]
        for g in np.nonzero(on[t])[0]:
            const += s.th_cost_pmin[g]
            fixed[s.th_bus[g]] += s.th_pmin[g]
            pos = s.th_pmin[g]
            for k in range(s.th_seg_mw.shape[1]):
                top = min(pos + s.th_seg_mw[g, k], ehi[t, g]) - pos
                need = min(max(elo[t, g] - pos, 0.0), max(top, 0.0))
                if top > 1e-9:
                    cols.append((s.th_bus[g], 1.0, s.th_seg_cost[g, k], need, top))
                pos += s.th_seg_mw[g, k]
        for r in range(s.n_re):
            cols.append((s.re_bus[r], 1.0, 0.0, 0.0, s.re_avail_mw[t, r]))
        for e in range(len(s.ex_price)):
            cols.append((s.ex_bus[e], -1.0, -s.ex_price[e], s.ex_min[t, e], s.ex_max[t, e]))
        for b in range(B):
            cols.append((b, 1.0, s.voll, 0.0, load[t, b]))
            cols.append((b, -1.0, s.spill_cost, 0.0, fspill[t, b]))
            cols.append((b, -1.0, 1e6, 0.0, 1e5))
        bus = np.array([c[0] for c in cols])
        sg = np.array([c[1] for c in cols])
        cost = np.array([c[2] for c in cols])
        a = sg[None, :] * s.ptdf[:, bus]
        f0 = s.ptdf @ fixed
        r = linprog(cost, A_ub=np.vstack([a, -a]), b_ub=np.concatenate([s.line_max_mw - f0, s.line_max_mw + f0]),
                    A_eq=sg[None, :], b_eq=[-fixed.sum()], bounds=[(c[3], c[4]) for c in cols],
                    method="highs")
        assert r.status == 0
        assert Rt[t] == pytest.approx(r.fun + const, rel=1e-7, abs=1e-3)


@pytest.mark.parametrize("seed", range(6))
def test_repair_lp_with_links_and_parallel_pieces_matches_highs(seed):
    """The grouped tableau of :func:`kernels.lp_solve_pairs` (pieces at a bus share a column,
    DC-link pieces have their own): many parallel pieces per bus, two-bus link pieces and an
    imbalance to close, against HiGHS on the same LP."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(100 + seed)
    B, L, nc, nk = 5, 4, 40, 4
    ptdf = rng.uniform(-0.7, 0.7, (L, B))
    ptdf[:, 0] = 0.0  # slack bus
    cbus = np.concatenate([rng.integers(0, B, nc), rng.integers(0, B, nk)])
    cbus2 = np.concatenate([np.full(nc, -1), (cbus[nc:] + 1 + rng.integers(0, B - 1, nk)) % B]).astype(np.int64)
    csign = np.where(rng.random(nc + nk) < 0.5, 1.0, -1.0)
    ccost = np.concatenate([csign[:nc] * rng.uniform(5, 100, nc), np.zeros(nk)])
    ccost[rng.random(nc + nk) < 0.2] = 0.0  # ties
    cw = rng.uniform(5, 60, nc + nk)
    fl = rng.uniform(-120, 120, L)
    rows = np.arange(L)
    fhi = np.full(L, 90.0)
    flo = -fhi
    bal = float(rng.uniform(-30, 30))
    x, infeas, y = K.lp_solve_pairs(cbus, cbus2, csign, ccost, cw, rows, fl, flo, fhi, ptdf, 5000, bal)
    one = cbus2 < 0
    a = csign[None, :] * (ptdf[:, cbus] - np.where(one[None, :], 0.0, ptdf[:, np.maximum(cbus2, 0)]))
    r = linprog(ccost, A_ub=np.vstack([a, -a]), b_ub=np.concatenate([fhi - fl, fl - flo]),
                A_eq=(csign * one)[None, :], b_eq=[bal], bounds=list(zip(0 * cw, cw)), method="highs")
    assert r.status == 0  # every draw is feasible; in 0, 1, 3 and 5 a line starts over its rating
    assert infeas < 1e-7
    assert np.all(x >= -1e-9) and np.all(x <= cw + 1e-9)
    assert abs((csign * one) @ x - bal) < 1e-6
    assert np.all(np.abs(a @ x + fl) <= fhi + 1e-6)
    assert ccost @ x == pytest.approx(r.fun, rel=1e-7, abs=1e-6)


def test_bus_injection_matches_scatter_sum():
    """:func:`kernels.bus_injection` against a plain scatter-add of every component's
    injection at its bus (loads and shedding, units, renewables, exports, hydro, storage,
    demand response, DC links withdrawn at one end and injected at the other)."""
    rng = np.random.default_rng(5)
    n, B = 6, 4
    bus = {k: rng.integers(0, B, size) for k, size in (("th", 3), ("re", 2), ("ex", 2), ("hy", 2), ("st", 2), ("dr", 2))}
    dc_from, dc_to = np.array([0, 2]), np.array([3, 1])
    a = {k: rng.uniform(0, 100, (n, v.shape[0])) for k, v in bus.items()}
    ch, dc_p = rng.uniform(0, 50, (n, 2)), rng.uniform(-30, 30, (n, 2))
    shed, load, hy_k = rng.uniform(0, 5, (n, B)), rng.uniform(50, 200, (n, B)), rng.uniform(0.5, 2.0, 2)
    got = K.bus_injection(shed, load, bus["th"], a["th"], bus["re"], a["re"], bus["ex"], a["ex"], bus["hy"], hy_k,
                          a["hy"], bus["st"], a["st"], ch, bus["dr"], a["dr"], dc_from, dc_to, dc_p)
    want = shed - load
    for t in range(n):
        for k, sign in (("th", 1), ("re", 1), ("ex", -1), ("st", 1), ("dr", 1)):
            np.add.at(want[t], bus[k], sign * a[k][t])
        np.add.at(want[t], bus["hy"], hy_k * a["hy"][t])
        np.add.at(want[t], bus["st"], -ch[t])
        np.add.at(want[t], dc_from, -dc_p[t])
        np.add.at(want[t], dc_to, dc_p[t])
    assert_allclose(got, want, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_dual_tail_matches_twin(seed):
    """:func:`kernels.dual_tail` (the Lagrangian's closed-form subproblems) against its
    whole-array twin: renewables, exports (imports below zero), DC links (equal end prices
    in some hours), shedding above VOLL and demand response with one programme out of events."""
    rng = np.random.default_rng(seed)
    n, B = 8, 5
    pi = rng.uniform(-50.0, 800.0, (n, B))
    pi[rng.random((n, B)) < 0.1] = 12_000.0  # above VOLL
    pi[: n // 2, 3] = pi[: n // 2, 1]  # the DC link 1 -> 3 sees equal prices in half the hours
    args = dict(
        re_bus=rng.integers(0, B, 4), re_avail=rng.uniform(0, 90, (n, 4)), curtail_cost=20.0,
        ex_bus=rng.integers(0, B, 3), ex_price=rng.uniform(200, 500, 3), ex_min=rng.uniform(-60, 10, (n, 3)),
        dc_from=np.array([1, 0]), dc_to=np.array([3, 4]), dc_pmax=np.array([40.0, 25.0]), voll=10_000.0,
        load=rng.uniform(50, 300, (n, B)), dr_bus=rng.integers(0, B, 3), dr_cost=rng.uniform(100, 700, 3),
        dr_pmax=rng.uniform(5, 30, 3), dr_payback_frac=rng.uniform(0, 1, 3), dr_active=np.array([True, False, True]))
    args["ex_max"] = args["ex_min"] + rng.uniform(0, 80, (n, 3))
    inj0 = rng.normal(0, 100, (n, B))
    got_inj, want_inj = inj0.copy(), inj0.copy()
    got = K.dual_tail(pi, got_inj, **args)
    want = naive.dual_tail(pi, want_inj, **args)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-6)
    assert_allclose(got_inj, want_inj, rtol=1e-12, atol=1e-9)
