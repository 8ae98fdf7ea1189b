"""The mid-term hydro plan: mass balance, water values, targets, rolling use."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch import milp
from dispatch.arrays import M3S_TO_HM3_PER_H, initial_state
from dispatch.hydro import cascade_mwh_per_hm3, plan_hydro, thermal_supply_curve
from dispatch.invariants import assert_feasible
from dispatch.testing import toy_system, two_unit_system


@pytest.fixture(scope="module")
def toy_plan():
    s = toy_system(24 * 14)
    st = initial_state(s)
    return s, st, plan_hydro(s, st, 24)


def test_plan_mass_balance_and_bounds(toy_plan):
    """Period volumes follow inflow - release - spill (+ upstream, delay rounded to 0 days)."""
    s, st, plan = toy_plan
    P = len(plan.bounds_h) - 1
    assert plan.v_hm3.shape == (P + 1, s.n_hy)
    np.testing.assert_allclose(plan.v_hm3[0], st.hy_v)
    inflow = s.hy_inflow.reshape(P, 24, s.n_hy).mean(1)
    out = plan.q_m3s + plan.s_m3s
    arrivals = np.zeros_like(out)
    arrivals[:, 1] = out[:, 0]  # upper -> lower, 2 h delay rounds to the same day
    dv = 24 * M3S_TO_HM3_PER_H * (inflow + arrivals - out)
    np.testing.assert_allclose(np.diff(plan.v_hm3, axis=0), dv, atol=1e-5)
    assert (plan.v_hm3 >= s.hy_vmin - 1e-6).all() and (plan.v_hm3 <= s.hy_vmax + 1e-6).all()
    assert (plan.q_m3s <= s.hy_pmax / s.hy_k + 1e-6).all()
    # ends at least as full as it started (the default end condition)
    assert (plan.v_hm3[-1] >= st.hy_v - 1e-5).all()


def test_targets_interpolate_and_floor(toy_plan):
    s, st, plan = toy_plan
    tg = plan.targets(36)  # halfway between the ends of day 1 and day 2
    np.testing.assert_allclose(tg.v_end, 0.5 * (plan.v_hm3[1] + plan.v_hm3[2]))
    assert (tg.value_per_hm3 >= plan.value_floor).all() and (plan.value_floor > 0).all()
    assert plan.targets(10**9).v_end == pytest.approx(plan.v_hm3[-1])


def test_water_value_matches_thermal_margin(toy_plan):
    """Water is worth what the cascade's MWh save: within the aggregated curve's costs."""
    s, st, plan = toy_plan
    cap, cost = thermal_supply_curve(s)
    conv = cascade_mwh_per_hm3(s)
    wv = plan.water_value[1:-1, 0] / conv[0]  # currency per MWh of the cascade
    assert (wv >= cost.min() - 1e-6).all() and (wv <= cost.max() + 1e-6).all()


def test_supply_curve_keeps_capacity():
    s = toy_system(24)
    cap, cost = thermal_supply_curve(s, n_blocks=3)
    assert cap.sum() == pytest.approx(s.th_pmax.sum())
    assert (np.diff(cost) >= 0).all() and len(cap) == 3


def test_drought_plan_exists():
    """Inflow below the minimum release from an empty reservoir: the plan still solves."""
    s = toy_system(24 * 7)
    s = s.with_(hy_inflow=s.hy_inflow * 0.0, init=None)
    st = initial_state(s).copy()
    plan = plan_hydro(s, st.__class__(**{**st.__dict__, "hy_v": s.hy_vmin.copy()}), 24)
    assert plan.info["qmin_short_hm3"] > 0


def test_no_hydro_system():
    s = two_unit_system([100, 150, 120])
    plan = plan_hydro(s, initial_state(s), 24)
    assert plan.v_hm3.shape == (2, 0)
    assert plan.targets(3).v_end.shape == (0,)


def test_rolling_windows_with_plan_targets(toy_plan):
    """Two 24 h windows with the plan's targets: feasible, and reservoirs within bounds."""
    s, st, plan = toy_plan
    from dispatch.arrays import advance_state

    tg = plan.targets(24)
    sol = milp.solve_window(s, 0, 24, st, tg)
    assert_feasible(s, st, sol, tg)
    st2 = advance_state(s, st, sol, 24)
    tg2 = plan.targets(48)
    sol2 = milp.solve_window(s, 24, 24, st2, tg2)
    assert_feasible(s, st2, sol2, tg2)
    # with the plan's water values the upper reservoir does not run dry in two days
    assert sol2.hy_v[-1, 0] >= tg2.v_end[0] - 2.0
