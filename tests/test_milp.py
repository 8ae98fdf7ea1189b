"""The exact MILP engine against hand-worked cases, brute force and the invariant checker."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from dispatch import milp
from dispatch.arrays import HydroTargets, State, advance_state, initial_state
from dispatch.costs import startup_costs, window_cost
from dispatch.errors import EngineError
from dispatch.invariants import assert_feasible, check_solution
from dispatch.testing import toy_system, two_unit_system

FAST = milp.MilpOptions(mip_rel_gap=1e-6)


def test_two_unit_peak_hand_worked():
    """Load 100, 220, 280, 150, 40 MW; both units off for 10 h before.

    ``cheap`` (50-200 MW at 10/MWh, 500/h at pmin, start 1000, min up/down 3 h) cannot
    serve 40 MW (below pmin) so it runs hours 0-3 only: 1000 + 4*500 + 10*(50+150+150+100)
    = 7500. ``peaker`` (50/MWh, start 100) covers 20, 80 and 40 MW: 140*50 + 100 = 7100.
    Anything else sheds at 1000/MWh. Optimum 14600; prices 10, 50, 50, 10, 50.
    """
    s = two_unit_system([100, 220, 280, 150, 40])
    st = initial_state(s)
    sol = milp.solve_window(s, 0, 5, st, None, FAST)
    assert sol.objective == pytest.approx(14600.0)
    assert sol.th_on[:, 0].tolist() == [True, True, True, True, False]
    np.testing.assert_allclose(sol.th_p[:, 0], [100, 200, 200, 150, 0])
    np.testing.assert_allclose(sol.th_p[:, 1], [0, 20, 80, 0, 40], atol=1e-7)
    np.testing.assert_allclose(sol.price, [10, 50, 50, 10, 50], atol=1e-7)
    assert sol.lower_bound <= sol.objective + 1e-6
    assert_feasible(s, st, sol)


def test_two_unit_min_down_forces_shedding():
    """Load 150, 30, 150, 150 MW.

    ``cheap`` cannot run at 30 MW (pmin 50); if it runs hour 0 it must stay off hours 1-3
    (min down 3 h), shedding 50 MW twice (>= 100000). Best: peaker 100 MW + 50 MW shed in
    hour 0 (5000 + 50000), peaker 30 MW in hour 1 (1500), start 100; cheap from hour 2 at
    150 MW: 1000 + 2*(500 + 10*100) = 4000. Optimum 60600.
    """
    s = two_unit_system([150, 30, 150, 150])
    st = initial_state(s)
    sol = milp.solve_window(s, 0, 4, st, None, FAST)
    assert sol.objective == pytest.approx(60600.0)
    assert sol.th_on[:, 0].tolist() == [False, False, True, True]
    np.testing.assert_allclose(sol.shed[:, 0], [50, 0, 0, 0], atol=1e-7)
    assert_feasible(s, st, sol)


def test_two_unit_history_keeps_unit_on():
    """``cheap`` has been on 1 h at 60 MW before the window (min up 3 h); load 60, 60, 60, 20.

    It must stay on hours 0-1 and staying on hour 2 (600/h) beats the peaker (3000 + 100);
    at 20 MW (below pmin) it shuts down and the peaker serves: 20*50 + 100. Optimum
    3*600 + 1100 = 2900, no start-up of ``cheap``.
    """
    s = two_unit_system([60, 60, 60, 20])
    st = State(
        th_on=np.array([True, False]), th_hours=np.array([1, 10]), th_p=np.array([60.0, 0.0]),
        st_e=np.zeros(0), hy_v=np.zeros(0), hy_hist=np.zeros((0, 1)), dr_events_used=np.zeros(0, np.int64),
    )
    sol = milp.solve_window(s, 0, 4, st, None, FAST)
    assert sol.objective == pytest.approx(2900.0)
    assert sol.th_on[:, 0].tolist() == [True, True, True, False]
    assert not sol.th_su[:, 0].any()
    assert_feasible(s, st, sol)


def test_infeasible_window_names_rows():
    """``cheap`` must stay on (history) but the load is below its pmin: a readable error."""
    s = two_unit_system([40, 40, 40])
    st = State(
        th_on=np.array([True, False]), th_hours=np.array([1, 10]), th_p=np.array([50.0, 0.0]),
        st_e=np.zeros(0), hy_v=np.zeros(0), hy_hist=np.zeros((0, 1)), dr_events_used=np.zeros(0, np.int64),
    )
    with pytest.raises(EngineError, match="sys-balance-t0|cheap-"):
        milp.solve_window(s, 0, 3, st, None, FAST)


def _brute_force(s, st, n):
    """Cheapest schedule by enumerating every commitment and solving its dispatch LP.

    Independent of milp.py: min up/down are checked by walking the runs, ramps and
    capacities are written directly per hour, start-up costs come from costs.py.
    """
    G = s.n_th
    best = np.inf
    su_cap = np.clip(s.th_su_ramp, s.th_pmin, s.th_pmax)
    sd_cap = np.clip(s.th_sd_ramp, s.th_pmin, s.th_pmax)
    for bits in itertools.product([0, 1], repeat=G * n):
        on = np.array(bits, bool).reshape(n, G)
        ok = True
        for g in range(G):  # min up / down with history
            cur, run = bool(st.th_on[g]), int(st.th_hours[g])
            for t in range(n):
                if on[t, g] == cur:
                    run += 1
                    continue
                if run < (s.th_min_up[g] if cur else s.th_min_down[g]):
                    ok = False
                cur, run = bool(on[t, g]), 1
        if not ok:
            continue
        # dispatch LP: x = [p (n*G), shed (n)]
        nv = n * G + n
        c = np.zeros(nv)
        lo = np.zeros(nv)
        hi = np.zeros(nv)
        A, b = [], []
        const = 0.0
        K = s.th_seg_mw.shape[1]
        # convex cost above pmin: epigraph variables would be needed for K>1; here one
        # segment per unit (asserted) so the cost is linear in p above pmin.
        assert K == 1
        for t in range(n):
            for g in range(G):
                i = t * G + g
                lo[i] = s.th_pmin[g] * on[t, g]
                hi[i] = s.th_pmax[g] * on[t, g]
                c[i] = s.th_seg_cost[g, 0]
                const += on[t, g] * (s.th_cost_pmin[g] - s.th_seg_cost[g, 0] * s.th_pmin[g])
                prev_on = bool(st.th_on[g]) if t == 0 else on[t - 1, g]
                if on[t, g] and not prev_on:
                    hi[i] = min(hi[i], su_cap[g])
                if t + 1 < n and on[t, g] and not on[t + 1, g]:
                    hi[i] = min(hi[i], sd_cap[g])
                if on[t, g] and prev_on:
                    row = np.zeros(nv)
                    row[i] = 1.0
                    if t == 0:
                        A.append(row.copy()); b.append(s.th_ramp_up[g] + st.th_p[g])  # noqa: E702
                        A.append(-row); b.append(s.th_ramp_down[g] - st.th_p[g])  # noqa: E702
                    else:
                        row[i - G] = -1.0
                        A.append(row.copy()); b.append(s.th_ramp_up[g])  # noqa: E702
                        A.append(-row); b.append(s.th_ramp_down[g])  # noqa: E702
                if t == 0 and not on[t, g] and st.th_on[g] and st.th_p[g] > sd_cap[g]:
                    ok = False
            j = n * G + t
            lo[j], hi[j], c[j] = 0.0, s.load_mw[t].sum(), s.voll
        if not ok or np.any(lo > hi + 1e-9):
            continue
        Aeq = np.zeros((n, nv))
        for t in range(n):
            Aeq[t, t * G : (t + 1) * G] = 1.0
            Aeq[t, n * G + t] = 1.0
        res = linprog(
            c, A_ub=np.array(A) if A else None, b_ub=np.array(b) if b else None, A_eq=Aeq,
            b_eq=s.load_mw[:n].sum(1), bounds=list(zip(lo, hi)), method="highs",
        )
        if res.status != 0:
            continue
        total = res.fun + const + startup_costs(s, st, on).sum()
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brute_force_two_units_four_hours(seed):
    """Every commitment of 2 units x 4 h enumerated: the MILP finds the cheapest."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(30, 290, size=4).round(1).tolist()
    s = two_unit_system(load).with_(
        th_min_up=np.array([2, 1]), th_min_down=np.array([2, 1]),
        th_ramp_up=np.array([60.0, 100.0]), th_ramp_down=np.array([60.0, 100.0]),
        th_su_ramp=np.array([120.0, 100.0]), th_sd_ramp=np.array([120.0, 100.0]),
        th_su_lag=np.array([[1, 3], [1, 1]]), th_su_cost=np.array([[300.0, 1000.0], [100.0, 100.0]]),
    )
    st = State(
        th_on=np.array([rng.random() < 0.5, False]), th_hours=np.array([1, 2]), th_p=np.array([100.0, 0.0]),
        st_e=np.zeros(0), hy_v=np.zeros(0), hy_hist=np.zeros((0, 1)), dr_events_used=np.zeros(0, np.int64),
    )
    if not st.th_on[0]:
        st = State(**{**st.__dict__, "th_p": np.zeros(2)})
    best = _brute_force(s, st, 4)
    sol = milp.solve_window(s, 0, 4, st, None, FAST)
    assert sol.objective == pytest.approx(best, rel=1e-6)
    assert_feasible(s, st, sol)


def _pglib_like():
    """Three units with three cost segments and four start-up categories, nothing else."""
    s = two_unit_system([150, 300, 420, 380, 200, 120, 260, 400])
    return s.with_(
        th_names=("a", "b", "c"), th_kind=("coal", "gas", "gas"), th_bus=np.zeros(3, np.int64),
        th_pmin=np.array([80.0, 40.0, 10.0]), th_pmax=np.array([260.0, 150.0, 90.0]),
        th_ramp_up=np.array([90.0, 80.0, 90.0]), th_ramp_down=np.array([90.0, 80.0, 90.0]),
        th_su_ramp=np.array([100.0, 60.0, 90.0]), th_sd_ramp=np.array([100.0, 60.0, 90.0]),
        th_min_up=np.array([3, 2, 1]), th_min_down=np.array([2, 2, 1]),
        th_cost_pmin=np.array([1600.0, 1400.0, 600.0]),
        th_seg_mw=np.array([[60.0, 60.0, 60.0], [40.0, 40.0, 30.0], [30.0, 30.0, 20.0]]),
        th_seg_cost=np.array([[15.0, 18.0, 22.0], [25.0, 28.0, 35.0], [45.0, 50.0, 60.0]]),
        th_su_lag=np.array([[2, 3, 5, 8], [2, 4, 6, 6], [1, 1, 1, 1]]),
        th_su_cost=np.array([[500.0, 900.0, 1500.0, 2500.0], [300.0, 500.0, 800.0, 800.0], [50.0, 50.0, 50.0, 50.0]]),
        th_co2=np.array([0.9, 0.5, 0.6]), th_must_run=np.zeros(3, bool),
        init=State(
            th_on=np.array([True, False, False]), th_hours=np.array([5, 3, 1]), th_p=np.array([150.0, 0.0, 0.0]),
            st_e=np.zeros(0), hy_v=np.zeros(0), hy_hist=np.zeros((0, 1)), dr_events_used=np.zeros(0, np.int64),
        ),
    )


def test_segments_and_startup_categories():
    """Multi-segment costs and many start-up categories on a system with no hydro/storage/DR/lines."""
    s = _pglib_like()
    st = initial_state(s)
    sol = milp.solve_window(s, 0, 8, st, None, FAST)
    assert_feasible(s, st, sol)
    # the hottest admissible category is charged (objective == window_cost asserted inside)
    assert sol.objective == pytest.approx(window_cost(s, st, sol, None))
    assert np.isfinite(sol.price).all()


@pytest.fixture(scope="module")
def toy24():
    s = toy_system(48)
    st = initial_state(s)
    return s, st, milp.solve_window(s, 0, 24, st, None)


def test_toy_window_invariants(toy24):
    s, st, sol = toy24
    assert check_solution(s, st, sol) == []
    assert sol.objective == pytest.approx(window_cost(s, st, sol, None), rel=1e-9)
    assert sol.lower_bound <= sol.objective
    assert (sol.objective - sol.lower_bound) <= 1.01e-4 * abs(sol.objective)
    assert np.isfinite(sol.price).all()
    assert (np.abs(sol.line_flow) <= s.line_max_mw[None] * (1 + 1e-6) + 1e-6).all()
    assert sol.info["lines_enforced"] >= 1  # the toy's mid-east line congests
    assert not ((sol.st_ch > 1e-6) & (sol.st_dis > 1e-6)).any()


def test_lazy_lines_equal_all_lines():
    s = toy_system(12)
    st = initial_state(s)
    a = milp.solve_window(s, 0, 12, st, None, milp.MilpOptions(mip_rel_gap=1e-7, lazy_lines=True))
    b = milp.solve_window(s, 0, 12, st, None, milp.MilpOptions(mip_rel_gap=1e-7, lazy_lines=False))
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    assert b.info["lines_enforced"] == 12 * s.n_line


def test_rolling_two_windows_with_targets(toy24):
    """Window 1 keeps 12 h, window 2 starts from advance_state; both pass every invariant."""
    s, st, sol1 = toy24
    st2 = advance_state(s, st, sol1, 12)
    tg = HydroTargets(v_end=np.array([30.0, 0.5]), value_per_hm3=np.array([1e7, 5e4]))
    sol2 = milp.solve_window(s, 12, 24, st2, tg)
    assert_feasible(s, st2, sol2, tg)
    assert sol2.t0 == 12
    # water is worth far more at the target: the upper reservoir releases only its minimum
    # and ends as full as it can (or at the target)
    reach = st2.hy_v[0] + 0.0036 * (s.hy_inflow[12:36, 0] - s.hy_qmin[0]).sum()
    assert sol2.hy_v[-1, 0] == pytest.approx(min(30.0, reach), abs=1e-6)


def test_storage_never_charges_and_discharges_at_once():
    """Surplus hydro that must otherwise spill (at a high spill cost) tempts a full battery
    to burn energy by charging and discharging at once; the lazy binaries forbid it and
    agree with binaries up front."""
    s = toy_system(8, network=False)
    s = s.with_(
        th_pmax=s.th_pmax * 0 + 1e-3, th_pmin=s.th_pmin * 0, th_cost_pmin=s.th_cost_pmin * 0,
        th_su_ramp=s.th_su_ramp * 0 + 1e-3, th_sd_ramp=s.th_sd_ramp * 0 + 1e-3,
        re_avail_mw=s.re_avail_mw * 0, load_mw=s.load_mw * 0 + 40.0, reserve_up_mw=s.reserve_up_mw * 0,
        hy_inflow=s.hy_inflow * 0 + np.array([200.0, 0.0]), hy_vmax=np.array([20.001, 1.0]),
        ex_min=s.ex_min * 0, spill_cost=500.0, dr_pmax=np.zeros(1),
        init=State(**{**s.init.__dict__, "st_e": s.st_emax.copy(), "th_on": np.zeros(4, bool), "th_p": np.zeros(4)}),
    )
    st = initial_state(s)
    lazy = milp.solve_window(s, 0, 8, st, None, milp.MilpOptions(mip_rel_gap=1e-7))
    eager = milp.solve_window(s, 0, 8, st, None, milp.MilpOptions(mip_rel_gap=1e-7, lazy_storage=False))
    assert_feasible(s, st, lazy)
    assert lazy.info["storage_binaries"] > 0  # the relaxation did mix: binaries were added
    assert lazy.objective == pytest.approx(eager.objective, rel=1e-6)


def test_build_is_vectorised():
    """A 48 h window of ~200 thermal units builds in well under a second."""
    import time

    s = toy_system(48)
    G = 200
    rep = lambda a: np.resize(a, (G,) + a.shape[1:])  # noqa: E731
    big = s.with_(
        th_names=tuple(f"g{i}" for i in range(G)), th_kind=("coal",) * G,
        **{f: rep(getattr(s, f)) for f in (
            "th_bus", "th_pmin", "th_pmax", "th_ramp_up", "th_ramp_down", "th_su_ramp", "th_sd_ramp",
            "th_min_up", "th_min_down", "th_cost_pmin", "th_seg_mw", "th_seg_cost", "th_su_lag", "th_su_cost",
            "th_co2", "th_must_run")},
        init=None,
    )
    st = initial_state(big)
    t = time.perf_counter()
    model = milp.build_window(big, 0, 48, st, None)
    assert time.perf_counter() - t < 1.0
    assert model.builder.n_col > 48 * G * 5


def test_repair_is_as_exact_as_another_round():
    """The toy's MIP breaks a line limit: re-dispatching its commitment with the line added
    (``repair``) is accepted only within the gap of the MIP's bound, which both runs share."""
    s = toy_system(24)
    st = initial_state(s)
    gap = 1e-4
    a = milp.solve_window(s, 0, 24, st, None, milp.MilpOptions(mip_rel_gap=gap, repair=True, line_spread=False))
    b = milp.solve_window(s, 0, 24, st, None, milp.MilpOptions(mip_rel_gap=gap, repair=False, line_spread=False))
    assert a.info["repaired"] and a.info["mip_rounds"] == 1
    assert not b.info["repaired"] and b.info["mip_rounds"] >= 2
    for sol in (a, b):
        assert check_solution(s, st, sol) == []
        best_bound = max(a.lower_bound, b.lower_bound)
        assert sol.lower_bound <= sol.objective
        assert sol.objective - best_bound <= gap * abs(sol.objective) + 1e-6


def test_no_highs_banner_when_quiet():
    """The first ``Highs`` of a process prints HiGHS's banner unless made by ``new_highs``."""
    import subprocess
    import sys

    code = (
        "from dispatch import milp\n"
        "from dispatch.testing import toy_system\n"
        "from dispatch.arrays import initial_state\n"
        "s = toy_system(4, network=False)\n"
        "milp.solve_window(s, 0, 4, initial_state(s), None)\n"
        "print('done')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "done"
    assert "HiGHS" not in out.stderr


def test_integral_relaxation_needs_no_mip():
    """Every unit must run and DR is off: the LP relaxation with its line limits is integral,
    and its re-dispatch is the optimum without a branch-and-bound run."""
    s = toy_system(24)
    s = s.with_(th_must_run=np.ones(s.n_th, bool), dr_pmax=np.zeros(s.n_dr), init=None)
    st = initial_state(s)
    a = milp.solve_window(s, 0, 24, st, None, milp.MilpOptions(mip_rel_gap=1e-6))
    b = milp.solve_window(s, 0, 24, st, None, milp.MilpOptions(mip_rel_gap=1e-6, repair=False))
    assert a.info["mip_status"] == "relaxation integral" and a.info["mip_rounds"] == 0
    assert b.info["mip_rounds"] >= 1
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    assert check_solution(s, st, a) == []
    assert a.lower_bound <= a.objective


def test_warm_start_from_native_keeps_the_optimum_and_can_end_the_window():
    """``MilpOptions(warm_start="native")``: the native schedule's integers, re-dispatched by
    the LP, are the first incumbent. At the default gap the optimum is the plain MIP's; with
    a gap wide enough for that incumbent the window ends there, no dearer than the native
    schedule itself (the LP re-dispatches its flows exactly) and feasible."""
    sys = toy_system(48)
    st = initial_state(sys)
    plain = milp.solve_window(sys, 0, 48, st, None)
    warm = milp.solve_window(sys, 0, 48, st, None, milp.MilpOptions(warm_start="native"))
    assert warm.objective == pytest.approx(plain.objective, rel=2e-4)
    assert warm.info["warm_start_objective"] >= plain.objective - 1e-6 * abs(plain.objective)
    wide = milp.solve_window(sys, 0, 48, st, None, milp.MilpOptions(warm_start="native", mip_rel_gap=0.5))
    assert wide.info["mip_status"] == "warm start within gap"
    assert wide.objective <= wide.info["warm_start_objective"] + 1e-6 * abs(wide.objective)
    assert wide.lower_bound <= plain.objective + 1e-6 * abs(plain.objective)
    assert not check_solution(sys, st, wide, None)
    with pytest.raises(ValueError, match="warm_start"):
        milp.solve_window(sys, 0, 48, st, None, milp.MilpOptions(warm_start="fast"))
