"""The ramp-aware commitment program of the Lagrangian dual (dispatch.rampdp)."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch import _core, kernels as K, rampdp as RD

from naive import ramp_dp_brute


def _unit(rng, G=1):
    pmin = rng.uniform(10, 60, G)
    pmax = pmin + rng.uniform(20, 150, G)
    span = pmax - pmin
    ru = span * rng.uniform(0.2, 1.2, G)
    rd = span * rng.uniform(0.2, 1.2, G)
    su = pmin + span * rng.uniform(-0.2, 0.6, G)
    sd = pmin + span * rng.uniform(-0.2, 0.6, G)
    K_ = 3
    seg_mw = np.repeat((span / K_)[:, None], K_, 1)
    seg_cost = np.sort(rng.uniform(10, 40, (G, K_)), axis=1)
    cost_pmin = pmin * rng.uniform(15, 35, G)
    su_lag = np.array([[1, 4]] * G, np.int64)
    su_cost = np.array([[200.0, 500.0]] * G) * rng.uniform(0.5, 2, (G, 1))
    return pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost, su_lag, su_cost


@pytest.mark.parametrize("seed", range(12))
def test_ramp_dp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 5
    pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost, su_lag, su_cost = _unit(rng)
    pi = rng.uniform(5, 50, n)
    mu = rng.uniform(0, 8, n) * (seed % 2)
    force = np.zeros((n, 1), np.int8)
    if seed % 3 == 0:
        force[int(rng.integers(0, n)), 0] = 1 if rng.random() < 0.5 else -1
    min_up = np.array([int(rng.integers(1, 3))])
    min_down = np.array([int(rng.integers(1, 3))])
    init_on = np.array([bool(seed % 4 < 2)])
    init_h = np.array([int(rng.integers(1, 4))], np.int64)
    p0 = np.where(init_on, pmin + (pmax - pmin) * rng.random(), 0.0)
    capped = bool(seed % 5 < 2)
    a, b = RD.unit_cells(pmin[0], pmax[0], ru[0], rd[0], su[0], sd[0], 1.0, 3)
    on = np.zeros((n, 1), np.int8)
    p, head = np.zeros((n, 1)), np.zeros((n, 1))
    got = RD.ramp_unit_dp(0, pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h, p0, pmin, pmax, ru,
                          rd, su, sd, cost_pmin, seg_mw, seg_cost, capped, 1.0, 3, on, p, head)
    want = ramp_dp_brute(0, pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h, p0, pmin, pmax, ru, rd,
                         su, sd, cost_pmin, seg_mw, seg_cost, capped, list(zip(a, b)))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)
    # the schedule it returns: within the cells' ranges, costed as it says
    assert np.all((p[:, 0] >= pmin[0] - 1e-9) | (on[:, 0] == 0))
    assert np.all(p[:, 0] <= pmax[0] + 1e-9)


def test_ramp_dp_is_the_plain_program_without_ramps():
    rng = np.random.default_rng(3)
    n, G = 24, 6
    pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost, su_lag, su_cost = _unit(rng, G)
    big = pmax * 10
    pi = rng.uniform(5, 50, (n, G))
    mu = rng.uniform(0, 5, n)
    force = np.zeros((n, G), np.int8)
    min_up, min_down = rng.integers(1, 6, G), rng.integers(1, 6, G)
    init_on = rng.random(G) < 0.5
    init_h = rng.integers(1, 8, G).astype(np.int64)
    c_on, p_on = K.thermal_on_cost_g(pi, mu, pmin, pmax, cost_pmin, seg_mw, seg_cost)
    on, val = _core.commit_dp(c_on, np.zeros((n, G)), force, su_lag, su_cost, min_up, min_down, init_on, init_h)
    on2, p2, head2, val2 = RD.ramp_commit_dp(pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h,
                                             pmax.copy(), pmin, pmax, big, big, big, big, cost_pmin, seg_mw, seg_cost,
                                             False, 2.0, 8)
    np.testing.assert_allclose(val2, val, rtol=1e-12, atol=1e-7)
    # with ramps it is a tighter relaxation: never below the plain program
    on3, p3, head3, val3 = RD.ramp_commit_dp(pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h,
                                             pmin.copy(), pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost,
                                             False, 2.0, 8)
    assert np.all(val3 >= val - 1e-7)


def _unit_milp(g, pi, mu, init_on, init_h, p0, pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost, min_up,
               min_down, su_cost):
    """One unit's exact ramp-constrained optimum at prices (HiGHS), one start-up category."""
    highspy = pytest.importorskip("highspy")
    n = len(pi)
    Kseg = seg_mw.shape[1]
    # columns: u (n), v (n), w (n), p (n), s (n*K)
    nc = 4 * n + n * Kseg
    U, V, W, P = 0, n, 2 * n, 3 * n
    S = 4 * n
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    sucap, sdcap = max(su[g], pmin[g]), max(sd[g], pmin[g])
    cost = np.zeros(nc)
    lb, ub = np.zeros(nc), np.ones(nc)
    ub[P:P + n] = pmax[g]
    for t in range(n):
        cost[U + t] = cost_pmin[g] - mu[t] * pmax[g]
        cost[V + t] = su_cost[g, 0]
        cost[P + t] = -pi[t] + mu[t]
        for k in range(Kseg):
            cost[S + t * Kseg + k] = seg_cost[g, k]
            ub[S + t * Kseg + k] = seg_mw[g, k]
    h.addVars(nc, lb, ub)
    h.changeColsCost(nc, np.arange(nc, dtype=np.int32), cost)
    h.changeColsIntegrality(3 * n, np.arange(3 * n, dtype=np.int32), np.ones(3 * n, np.uint8))
    inf = highspy.kHighsInf

    def row(lo, hi, idx, val):
        h.addRow(lo, hi, len(idx), np.array(idx, np.int32), np.array(val, float))

    u0 = 1.0 if init_on[g] else 0.0
    for t in range(n):
        # p = pmin u + sum s ; s_k <= seg_mw u
        row(0, 0, [P + t, U + t] + [S + t * Kseg + k for k in range(Kseg)], [1.0, -pmin[g]] + [-1.0] * Kseg)
        for k in range(Kseg):
            row(-inf, 0, [S + t * Kseg + k, U + t], [1.0, -seg_mw[g, k]])
        # logic: u_t - u_{t-1} = v_t - w_t
        if t == 0:
            row(u0, u0, [U, V, W], [1.0, -1.0, 1.0])
        else:
            row(0, 0, [U + t, U + t - 1, V + t, W + t], [1.0, -1.0, -1.0, 1.0])
        # start-up / shut-down capability: p_t <= pmax u_t - (pmax - SU) v_t ; p_t <= pmax u_t - (pmax - SD) w_{t+1}
        row(-inf, 0, [P + t, U + t, V + t], [1.0, -pmax[g], pmax[g] - sucap])
        if t + 1 < n:
            row(-inf, 0, [P + t, U + t, W + t + 1], [1.0, -pmax[g], pmax[g] - sdcap])
        # ramps
        if t == 0:
            if init_on[g]:
                row(-inf, p0[g] + ru[g], [P, V], [1.0, -max(sucap, p0[g] + ru[g])])
                row(-inf, rd[g] - p0[g], [P, W], [-1.0, -max(sdcap, rd[g])])  # relaxed by a shut-down
        else:
            row(-inf, 0, [P + t, P + t - 1, U + t - 1, V + t], [1.0, -1.0, -ru[g], -sucap])
            row(-inf, 0, [P + t - 1, P + t, U + t, W + t], [1.0, -1.0, -rd[g], -sdcap])
        # min up / down
        up = [V + k for k in range(max(0, t - min_up[g] + 1), t + 1)]
        row(-inf, 0, up + [U + t], [1.0] * len(up) + [-1.0])
        dn = [W + k for k in range(max(0, t - min_down[g] + 1), t + 1)]
        row(-inf, 1, dn + [U + t], [1.0] * len(dn) + [1.0])
    # history: hours left of the current run
    if init_on[g]:
        for t in range(max(0, min(n, min_up[g] - init_h[g]))):
            h.changeColBounds(U + t, 1.0, 1.0)
    else:
        for t in range(max(0, min(n, min_down[g] - init_h[g]))):
            h.changeColBounds(U + t, 0.0, 0.0)
    h.run()
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("seed", range(8))
def test_ramp_dp_is_a_lower_bound_of_the_exact_unit_problem(seed):
    rng = np.random.default_rng(100 + seed)
    n = 12
    pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost, su_lag, su_cost = _unit(rng)
    su_lag, su_cost = su_lag[:, :1], su_cost[:, :1]
    pi = rng.uniform(5, 60, n)
    mu = rng.uniform(0, 5, n)
    min_up, min_down = np.array([int(rng.integers(1, 4))]), np.array([int(rng.integers(1, 4))])
    init_on = np.array([bool(seed % 2)])
    init_h = np.array([6], np.int64)
    p0 = np.where(init_on, pmin + 0.5 * (pmax - pmin), 0.0)
    exact = _unit_milp(0, pi, mu, init_on, init_h, p0, pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost,
                       min_up, min_down, su_cost)
    force = np.zeros((n, 1), np.int8)
    vals = []
    for frac, cells in ((1.0, 2), (2.0, 8), (8.0, 32)):
        _on, _p, _h, val = RD.ramp_commit_dp(pi[:, None], mu, force, su_lag, su_cost, min_up, min_down, init_on,
                                             init_h, p0, pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost,
                                             False, frac, cells)
        vals.append(val[0])
        assert val[0] <= exact + 1e-6 * max(1.0, abs(exact))
    # and above the plain program (ramps ignored)
    c_on, _p = K.thermal_on_cost_g(pi[:, None], mu, pmin, pmax, cost_pmin, seg_mw, seg_cost)
    _on, plain = _core.commit_dp(c_on, np.zeros((n, 1)), force, su_lag, su_cost, min_up, min_down, init_on, init_h)
    assert min(vals) >= plain[0] - 1e-7


@pytest.fixture(scope="module")
def rts_1125():
    """PGLib RTS-GMLC 2020-11-25 (a winter day whose ramps bind) and its initial state."""
    from dispatch.pglib import PGLIB_DIR, read_pglib

    day = PGLIB_DIR / "rts_gmlc" / "2020-11-25.json"
    if not day.is_file():
        pytest.skip("PGLib-UC instances not available")
    sys = read_pglib(day).to_arrays()
    return sys, sys.init.copy()


def test_native_ramp_phase_raises_the_bound_and_rounded_start_never_hurts(rts_1125):
    """On a PGLib RTS-GMLC day (24 h): the ramp-aware final dual phase gives a certified
    bound above the plain one (and below the objective); the rounded extra start can only
    add a candidate, so the schedule is never dearer; both pass the invariant checker."""
    from dispatch import invariants, native

    sys, st = rts_1125
    base = dict(lr_iters=60, patience=4, search_work=5e6, lr_bound_iters=60)
    plain = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base, lr_ramp=False))
    ramp = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base))
    both = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base, lr_round=(0.3,)))
    assert ramp.lower_bound >= plain.lower_bound - 1e-6 * abs(plain.lower_bound)
    assert ramp.lower_bound > plain.lower_bound  # ramps bind on this day
    assert ramp.objective == plain.objective  # the primal uses the plain phase
    assert both.objective <= ramp.objective + 1e-9
    for sol in (plain, ramp, both):
        assert sol.lower_bound <= sol.objective
        assert not invariants.check_solution(sys, st, sol, None)


def test_native_extra_search_only_where_the_gap_is_wide(rts_1125):
    """PGLib RTS-GMLC 2020-11-25 (24 h): kicks and the starts rounded from the ramp-aware
    phase's average commitment (``lr_bound_round``) only add candidates, so the schedule is
    never dearer; with ``search_more_gap`` above the window's gap neither runs and the
    schedule is the plain one's; every schedule passes the invariant checker."""
    from dispatch import invariants, native

    sys, st = rts_1125
    base = dict(lr_iters=60, patience=4, search_work=5e6, lr_bound_iters=60)
    more = dict(base, search_kicks=2, lr_bound_round=(0.3, 0.5))
    plain = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base))
    gated = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**more, search_more_gap=1.0))
    extra = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**more, search_more_gap=0.0))
    assert plain.info["gap"] < 1.0
    assert gated.objective == plain.objective
    assert np.array_equal(gated.th_on, plain.th_on)
    assert extra.objective <= plain.objective + 1e-9
    for sol in (plain, gated, extra):
        assert sol.lower_bound <= sol.objective
        assert not invariants.check_solution(sys, st, sol, None)


def test_native_relinking_only_adds_candidates(rts_1125):
    """PGLib RTS-GMLC 2020-11-25 (24 h): path relinking between the best schedule and the
    cheapest other local optima (``search_relink``) only adds candidates: cheaper here,
    off where ``search_more_gap`` is above the window's gap, and every schedule passes the
    invariant checker."""
    from dispatch import invariants, native

    sys, st = rts_1125
    base = dict(lr_iters=60, patience=4, search_work=5e6)
    plain = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base))
    gated = native.solve_window(sys, 0, 24, st, None,
                                native.NativeOptions(**base, search_relink=3, search_more_gap=1.0))
    relinked = native.solve_window(sys, 0, 24, st, None,
                                   native.NativeOptions(**base, search_relink=3, search_relink_rounds=3))
    assert np.array_equal(gated.th_on, plain.th_on) and gated.objective == plain.objective
    assert relinked.objective < plain.objective  # 717,963 -> 717,442 $ on this day
    for sol in (plain, relinked):
        assert sol.lower_bound <= sol.objective
        assert not invariants.check_solution(sys, st, sol, None)


def test_native_more_search_starts_only_where_the_gap_is_wide(rts_1125):
    """PGLib RTS-GMLC 2020-11-25 (24 h): ``search_more_starts`` searches from further
    distinct candidates only where the gap is at least ``search_more_gap``: identical to the
    plain run when the gate is shut, never dearer when it is open (the starts only add
    candidates), every schedule feasible."""
    from dispatch import invariants, native

    sys, st = rts_1125
    base = dict(lr_iters=60, patience=4, search_work=5e6, search_more_starts=2)
    plain = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**dict(base, search_more_starts=0)))
    gated = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base, search_more_gap=1.0))
    more = native.solve_window(sys, 0, 24, st, None, native.NativeOptions(**base, search_more_gap=0.0))
    assert np.array_equal(gated.th_on, plain.th_on) and gated.objective == plain.objective
    assert more.objective <= plain.objective + 1e-9
    for sol in (plain, more):
        assert sol.lower_bound <= sol.objective
        assert not invariants.check_solution(sys, st, sol, None)


def test_relinking_guides_within_the_walk_budget():
    """``native._guides``: the cheapest distinct schedules that differ from the head in at
    least two units and at most ``max_units`` (a walk re-dispatches ~d^2/2 times; the
    relinking passes over guides whose walk would cost more than one search)."""
    from types import SimpleNamespace

    from dispatch import native

    head_on = np.zeros((4, 10), bool)

    def cand(units, obj):
        on = head_on.copy()
        on[:, :units] = True
        return SimpleNamespace(th_on=on, objective=obj), None

    tried = [cand(1, 1.0), cand(3, 2.0), cand(8, 3.0), cand(3, 4.0), cand(5, 5.0)]
    head = SimpleNamespace(th_on=head_on, objective=0.0)
    assert [g.objective for g in native._guides(head, tried, 5)] == [2.0, 3.0, 5.0]
    assert [g.objective for g in native._guides(head, tried, 5, max_units=5)] == [2.0, 5.0]
    assert [g.objective for g in native._guides(head, tried, 1, max_units=5)] == [2.0]
