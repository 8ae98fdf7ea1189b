"""The invariant checker accepts a good schedule and names each kind of violation."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dispatch import milp
from dispatch.arrays import initial_state
from dispatch.costs import window_cost
from dispatch.invariants import assert_feasible, check_solution
from dispatch.testing import toy_system


@pytest.fixture(scope="module")
def good():
    s = toy_system(12)
    st = initial_state(s)
    sol = milp.solve_window(s, 0, 12, st, None)
    return s, st, sol


def _bad(good, **arrays):
    s, st, sol = good
    bad = copy.deepcopy(sol)
    for name, fn in arrays.items():
        setattr(bad, name, fn(np.array(getattr(bad, name), copy=True)))
    bad.objective = window_cost(s, st, bad, None)
    return check_solution(s, st, bad)


def test_good_schedule_passes(good):
    s, st, sol = good
    assert check_solution(s, st, sol) == []
    assert_feasible(s, st, sol)


def _set(idx, val):
    def f(a):
        a[idx] = val
        return a
    return f


def _add(idx, val):
    def f(a):
        a[idx] += val
        return a
    return f


@pytest.mark.parametrize(
    "change, text",
    [
        ({"shed": _add((3, 0), 5.0)}, "sys-balance-t3"),
        ({"th_p": _add((5, 0), 1e-3), "shed": _add((5, 0), -1e-3)}, ""),  # balanced: other checks only
        ({"re_p": _add((2, 0), 1e4)}, "wind_w-curtail-t2"),
        ({"st_e": _add((4, 1), 10.0)}, "phs_w-energy-t4"),
        ({"hy_v": _add((6, 0), 0.5)}, "upper-balance-t6"),
        ({"hy_q": _set((1, 1), 0.0)}, "lower-qmin-t1"),
        ({"line_flow": _add((0, 1), 3.0)}, "mid-east-flow-t0"),
        ({"ex_p": _set((0, 0), 0.0)}, "hvdc_east-exmin-t0"),
        ({"th_su": _set((7, 0), True)}, "coal_a-startflag-t7"),
        ({"res_short": _set(slice(None), -1.0)}, "sys-reserve"),
        ({"dr_rebound": _set((0, 0), -1.0)}, "dr_east-rebound-t0"),
    ],
)
def test_each_violation_is_named(good, change, text):
    lines = _bad(good, **change)
    if text:
        assert any(text in ln for ln in lines), lines


def test_ramp_and_min_up(good):
    s, st, sol = good
    on = np.array(sol.th_on, copy=True)
    # coal_a is on from history (10 h) with min up 8: switch it off at hour 1 -> ramp/SD and balance
    bad = copy.deepcopy(sol)
    bad.th_p = np.array(sol.th_p, copy=True)
    bad.th_p[1, 0] = sol.th_p[0, 0] + 200.0
    lines = check_solution(s, st, bad)
    assert any("coal_a-rampup-t1" in ln for ln in lines), lines
    # gas_ct (min up 1) started for one hour is fine; coal_b started for 1 h breaks min up 6
    bad = copy.deepcopy(sol)
    bad.th_on = on.copy()
    bad.th_on[:, 1] = False
    bad.th_on[2, 1] = True
    bad.th_su = bad.th_on & ~np.vstack([st.th_on[None], bad.th_on[:-1]])
    bad.th_p = np.array(sol.th_p, copy=True)
    bad.th_p[:, 1] = np.where(bad.th_on[:, 1], 100.0, 0.0)
    lines = check_solution(s, st, bad)
    assert any("coal_b-minup-t3" in ln for ln in lines), lines


def test_objective_mismatch_and_bound(good):
    s, st, sol = good
    bad = copy.deepcopy(sol)
    bad.objective = sol.objective + 1.0
    assert any("objective" in ln for ln in check_solution(s, st, bad))
    bad = copy.deepcopy(sol)
    bad.lower_bound = sol.objective * 1.01
    assert any("lower_bound" in ln for ln in check_solution(s, st, bad))
    with pytest.raises(AssertionError, match="invariant violation"):
        assert_feasible(s, st, bad)


def test_dr_rules(good):
    s, st, sol = good
    bad = copy.deepcopy(sol)
    bad.dr_p = np.zeros_like(sol.dr_p)
    bad.dr_rebound = np.zeros_like(sol.dr_rebound)
    bad.dr_p[0:6, 0] = 10.0  # 6 h event, max 4 h; paid back nowhere
    bad.shed = np.array(sol.shed, copy=True)
    bad.shed[0:6, 2] -= 10.0  # keep the balance (may go negative: also reported)
    bad.objective = window_cost(s, st, bad, None)
    lines = check_solution(s, st, bad)
    assert any("dr_east-maxdur-t4" in ln for ln in lines), lines
    assert any("dr_east-payback" in ln for ln in lines), lines


def test_shape_errors_are_reported(good):
    s, st, sol = good
    bad = copy.deepcopy(sol)
    bad.hy_q = bad.hy_q[:, :1]
    assert any("sol.hy_q: shape" in ln for ln in check_solution(s, st, bad))
