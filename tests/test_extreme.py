"""Infeasible and extreme windows: load is shed at VOLL and reported, never a crash.

The 2022 drought case of Sichuan 2030 with exports held fixed (``ex_min = ex_max``) and all
storage removed, with the load raised until no schedule can serve it, on both engines (the
exact MILP on the copper-plate version: the full network is beyond a unit-test budget for
it); and a line outage that islands a load centre (Ziyang, whose only two lines are taken
out: rating 0) and a toy bus cut off the same way. Each schedule passes
:func:`dispatch.invariants.check_solution`, and the result reports the unserved energy in
``summary`` (``unserved_mwh``, ``unserved_hours``) and per bus (``buses.shed_mw``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch.arrays import SystemArrays, initial_state
from dispatch.case import load_case
from dispatch.engines import get_engine
from dispatch.invariants import check_solution
from dispatch.results import build_result
from dispatch.simulate import simulate
from dispatch.testing import toy_system
from dispatch.validate import validate_arrays

T0 = 24 * 220  # 2030-08-09: the heart of the 2022-type drought and heatwave
ISLAND = "ziyang"


@pytest.fixture(scope="module")
def drought() -> SystemArrays:
    sys_ = load_case("sichuan-2030", hydrology="drought-2022").to_arrays()
    validate_arrays(sys_)
    return sys_


def no_storage(sys_: SystemArrays) -> SystemArrays:
    z, zi = np.zeros(0), np.zeros(0, dtype=np.int64)
    init = dataclasses.replace(sys_.init, st_e=z) if sys_.init is not None else None
    return sys_.with_(st_names=(), st_kind=(), st_bus=zi, st_pch=z, st_pdis=z, st_emax=z, st_emin=z, st_eta_ch=z,
                      st_eta_dis=z, st_loss=z, init=init)


def fixed_exports(sys_: SystemArrays) -> SystemArrays:
    return sys_.with_(ex_min=sys_.ex_max.copy())


def copper_plate(sys_: SystemArrays) -> SystemArrays:
    return sys_.with_(line_names=(), ptdf=np.zeros((0, sys_.n_bus)), line_max_mw=np.zeros(0))


def overloaded(sys_: SystemArrays, t0: int, n: int, margin: float = 1.1) -> SystemArrays:
    """Scale the load so that in every hour of the window load + exports exceed all capacity."""
    sl = slice(t0, t0 + n)
    cap = sys_.th_pmax.sum() + sys_.hy_pmax.sum() + sys_.dr_pmax.sum() + sys_.re_avail_mw[sl].sum(1)
    need = sys_.load_mw[sl].sum(1)
    f = margin * float(np.max((cap - sys_.ex_min[sl].sum(1)) / need))
    return sys_.with_(load_mw=np.ascontiguousarray(sys_.load_mw * f))


def capacity_deficit(sys_: SystemArrays, t0: int, n: int) -> np.ndarray:
    """A lower bound on shed per hour: load + fixed exports - every MW that could inject."""
    sl = slice(t0, t0 + n)
    cap = sys_.th_pmax.sum() + sys_.hy_pmax.sum() + sys_.dr_pmax.sum() + sys_.re_avail_mw[sl].sum(1) + sys_.st_pdis.sum()
    return np.maximum(sys_.load_mw[sl].sum(1) + sys_.ex_min[sl].sum(1) - cap, 0.0)


def solve(sys_: SystemArrays, engine: str, t0: int, n: int, options=None):
    """One window from the case's initial state: the schedule and its Result."""
    state = initial_state(sys_)
    sol = get_engine(engine).solve_window(sys_, t0, n, state, None, options)
    rec = [{"window": 0, "t0": t0, "hours_kept": n, "hours_solved": n, "objective": sol.objective,
            "lower_bound": None, "gap_pct": None, "wall_s": sol.wall_s}]
    return state, sol, build_result(sys_, state, sol, rec, engine=engine, wall_s=sol.wall_s)


NATIVE_OVERLOAD = ("native engine returns line flows above rating in a window that needs heavy shedding "
                   "(a line-feasible schedule exists: the LP relaxation with shedding is feasible); see the report")


def assert_shed_reported(sys_, state, sol, res, tol: float = 1e-5) -> list[str]:
    """Every invariant but line limits must hold; returns the line-limit problems (if any)."""
    problems = check_solution(sys_, state, sol, None, tol=tol)
    is_line = [("-line-" in p) or p.startswith("... line:") for p in problems]
    lines = [p for p, x in zip(problems, is_line) if x]
    other = [p for p, x in zip(problems, is_line) if not x]
    assert not other, other[:10]
    shed = sol.shed
    assert np.all(shed >= -1e-6) and np.all(shed <= sys_.load_mw[sol.t0:sol.t0 + sol.n] + 1e-6)
    s = res.summary
    assert s["unserved_mwh"] == pytest.approx(float(shed.sum()), rel=1e-9, abs=1e-6)
    assert s["unserved_hours"] == int((shed.sum(1) > 1e-6).sum())
    assert res.frames["buses"]["shed_mw"].sum() == pytest.approx(s["unserved_mwh"], rel=1e-9, abs=1e-6)
    assert res.frames["system"]["shed_mw"].sum() == pytest.approx(s["unserved_mwh"], rel=1e-9, abs=1e-6)
    assert s["max_balance_violation_mw"] < 1e-4 * max(1.0, float(sys_.load_mw.max()))
    return lines  # (check_solution has checked objective == window_cost, which prices shed at VOLL)


# ----------------------------------------------------------------------------------- drought
@pytest.mark.parametrize("engine", ["native", "milp"])
def test_drought_cannot_be_served_sheds_at_voll(drought, engine) -> None:
    n = 24
    sys_ = overloaded(fixed_exports(no_storage(drought)), T0, n)
    options = None
    if engine == "milp":
        from dispatch.milp import MilpOptions

        sys_ = copper_plate(sys_)
        options = MilpOptions(mip_rel_gap=1e-2, time_limit_s=300)
    assert sys_.n_st == 0 and np.array_equal(sys_.ex_min, sys_.ex_max)
    validate_arrays(sys_)
    state, sol, res = solve(sys_, engine, T0, n, options)
    overloads = assert_shed_reported(sys_, state, sol, res)
    floor = capacity_deficit(sys_, T0, n)
    assert floor.min() > 0, "the window must be impossible to serve in every hour"
    assert np.all(sol.shed.sum(1) >= floor - 1e-4 * sys_.load_mw[T0:T0 + n].sum(1))
    assert res.summary["unserved_hours"] == n
    assert res.summary["unserved_mwh"] >= floor.sum() * (1 - 1e-6)
    np.testing.assert_allclose(sol.ex_p, sys_.ex_min[T0:T0 + n], atol=1e-6)  # fixed exports are honoured
    if overloads:
        pytest.xfail(f"{NATIVE_OVERLOAD}: {overloads[:3]}")


def test_drought_rolling_two_days_native(drought) -> None:
    """The plain drought case (exports fixed, no storage) through simulate(): reports, never crashes."""
    sys_ = fixed_exports(no_storage(drought))
    res = simulate(sys_, engine="native", start=T0, hours=48, window_h=24, lookahead_h=0, progress=False)
    s = res.summary
    assert s["hours"] == 48 and s["windows"] == 2
    assert s["unserved_mwh"] == pytest.approx(res.frames["buses"]["shed_mw"].sum(), rel=1e-9, abs=1e-6)
    assert s["unserved_hours"] == int((res.frames["system"]["shed_mw"].to_numpy() > 1e-6).sum())
    assert s["max_balance_violation_mw"] < 1.0
    lines = res.frames["lines"]
    over = lines.filter(lines["flow_mw"].abs() > lines["rating_mw"] * (1 + 1e-6) + 1e-4)
    if over.height:
        pytest.xfail(f"{NATIVE_OVERLOAD}: {over.height} line-hours over rating, e.g. {over.head(3).rows()}")


# ----------------------------------------------------------------------------------- islands
def islanded(sys_: SystemArrays, bus: str) -> tuple[SystemArrays, int]:
    """Every line touching ``bus`` out (rating 0: the PTDF flows on them must be 0, so the bus's
    net injection is 0) and any export link at it closed."""
    b = sys_.bus_names.index(bus)
    fr, to = np.asarray(sys_.meta["line_from"]), np.asarray(sys_.meta["line_to"])
    touch = (fr == b) | (to == b)
    rating = np.where(touch, 0.0, sys_.line_max_mw)
    ex_at = (sys_.ex_bus == b)[None, :]
    return sys_.with_(line_max_mw=np.ascontiguousarray(rating),
                      ex_min=np.ascontiguousarray(np.where(ex_at, 0.0, sys_.ex_min)),
                      ex_max=np.ascontiguousarray(np.where(ex_at, 0.0, sys_.ex_max))), b


def _local_supply(sys_: SystemArrays, b: int, t0: int, n: int) -> np.ndarray:
    sl = slice(t0, t0 + n)
    cap = sys_.th_pmax[sys_.th_bus == b].sum() + sys_.hy_pmax[sys_.hy_bus == b].sum() + sys_.dr_pmax[sys_.dr_bus == b].sum()
    cap = cap + sys_.st_pdis[sys_.st_bus == b].sum() + sys_.re_avail_mw[sl][:, sys_.re_bus == b].sum(1)
    return cap + np.zeros(n)


def test_island_load_centre_is_shed_native(drought) -> None:
    sys_, b = islanded(drought, ISLAND)
    assert sys_.load_mw[:, b].max() > 1000.0  # a real load centre
    n = 24
    state, sol, res = solve(sys_, "native", T0, n)
    overloads = assert_shed_reported(sys_, state, sol, res, tol=1e-5)
    if overloads:  # the island is then fed through lines that are out
        pytest.xfail(f"{NATIVE_OVERLOAD}: {overloads[:3]}; shed at {ISLAND} {sol.shed[:, b].sum():.0f} MWh")
    load_b = sys_.load_mw[T0:T0 + n, b]
    # no generation at Ziyang, only its demand response: the rest of its load is shed, every hour
    supply = _local_supply(sys_, b, T0, n)
    assert supply.max() < 0.2 * load_b.min()
    assert np.all(sol.shed[:, b] >= load_b - supply - 1e-3)
    shed_by_bus = res.frames["buses"].filter(res.frames["buses"]["bus"] == ISLAND)["shed_mw"].to_numpy()
    np.testing.assert_allclose(shed_by_bus, sol.shed[:, b], rtol=1e-9, atol=1e-6)
    assert res.summary["unserved_hours"] == n


def island_toy() -> tuple[SystemArrays, np.ndarray]:
    """The toy with its east cut off (lines mid-east and west-east out, load x1.6 there):
    the system and the mask of the lines taken out."""
    toy = toy_system(24)
    out = np.array([name in ("mid-east", "west-east") for name in toy.line_names])
    return toy.with_(line_max_mw=np.where(out, 0.0, toy.line_max_mw),
                     load_mw=np.ascontiguousarray(toy.load_mw * [1, 1, 1.6])), out


@pytest.mark.parametrize("engine", ["native", "milp"])
def test_island_toy(engine) -> None:
    """Toy 'east' cut off (lines mid-east and west-east out): served only by what stands there."""
    sys_, out = island_toy()
    b = sys_.bus_names.index("east")
    state, sol, res = solve(sys_, engine, 0, 24)
    overloads = assert_shed_reported(sys_, state, sol, res)
    assert not overloads  # native: since the storage shift (native._storage_shift), see below
    np.testing.assert_allclose(sol.line_flow[:, out], 0.0, atol=1e-4)
    deficit = sys_.load_mw[:, b] - _local_supply(sys_, b, 0, 24)
    assert deficit.max() > 0
    assert np.all(sol.shed[:, b] >= deficit - 1e-4)
    # the island balances on its own: local injections + shed = local load + local exports
    inj = (sol.th_p[:, sys_.th_bus == b].sum(1) + sol.re_p[:, sys_.re_bus == b].sum(1)
           + (sol.st_dis - sol.st_ch)[:, sys_.st_bus == b].sum(1) + (sol.dr_p - sol.dr_rebound)[:, sys_.dr_bus == b].sum(1)
           + (sol.hy_q * sys_.hy_k)[:, sys_.hy_bus == b].sum(1) - sol.ex_p[:, sys_.ex_bus == b].sum(1))
    np.testing.assert_allclose(inj + sol.shed[:, b], sys_.load_mw[:, b], atol=1e-4)


def test_island_toy_storage_shift_native() -> None:
    """The island toy needs the west store to charge more in hour 0 than the per-hour
    repair can give it (the store is full by hour 7): without the storage shift native
    left 3.3 MW on a 0-rated line; with it the schedule is line-feasible and within 5 % of
    the milp's cost (3.2 % measured: it sheds 192 MWh more of the east's 5.3 GWh). Run with
    the shorter dual of sessions 1-9 (``lr_iters=25, patience=4``): with the default since
    session 10 the best commitment needs no shift on this toy (line-feasible as repaired)."""
    from dispatch import milp, native

    sys_, _out = island_toy()
    st = initial_state(sys_)
    calls = []
    orig = native._storage_shift

    def spy(*a, **k):
        calls.append(a[1].info["overload_mw"])
        return orig(*a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(native, "_storage_shift", spy)
        sol = native.solve_window(sys_, 0, 24, st, None, native.NativeOptions(lr_iters=25, patience=4))
    assert calls and calls[0] > 1.0  # the repair alone left the overload
    assert sol.info["overload_mw"] <= 1e-6
    ref = milp.solve_window(sys_, 0, 24, st, None)
    assert ref.objective <= sol.objective <= ref.objective + 0.05 * abs(ref.objective)


def test_island_toy_storage_relief_native() -> None:
    """The island toy's east sheds load in hours where its own store could give more if it
    gave less in others: the storage relief (native._storage_relief) makes that move, which
    the per-hour repair cannot (measured with the session-9 dual: shed 5,530 -> 5,456 MWh,
    milp 5,338; cost 3.2 % -> 2.0 % above the milp's; with session 10's default dual 5,436 MWh,
    1.7 %). Each candidate it keeps is cheaper and no less feasible."""
    from dispatch import milp, native

    sys_, _out = island_toy()
    st = initial_state(sys_)
    seen = []
    orig = native._storage_relief

    def spy(*a, **k):
        sol_r, x_r = orig(*a, **k)
        seen.append((a[1], sol_r))
        return sol_r, x_r

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(native, "_storage_relief", spy)
        sol = native.solve_window(sys_, 0, 24, st, None)
    assert len(seen) == 1
    before, after = seen[0]
    assert after.objective < before.objective - 1.0
    assert after.shed.sum() < before.shed.sum() - 10.0
    assert native._infeasibility(after) <= native._infeasibility(before) + 1e-9
    assert sol.objective == after.objective
    problems = check_solution(sys_, st, sol)
    assert not problems, problems[:3]
    ref = milp.solve_window(sys_, 0, 24, st, None)
    assert ref.objective <= sol.objective <= ref.objective + 0.025 * abs(ref.objective)


def test_storage_relief_budget() -> None:
    """The relief prices at most RELIEF_SCHEDULES_PER_HOUR x hours schedules, and with no
    budget it returns the schedule it was given."""
    from dispatch import native

    sys_, _out = island_toy()
    st = initial_state(sys_)
    got = {}
    orig_relief, orig_schedule = native._storage_relief, native._schedule

    def counting_relief(*a, **k):
        n0 = got.setdefault("n", [0])[0]
        out = orig_relief(*a, **k)
        got["used"] = got["n"][0] - n0
        got["io"] = (a[1], out[0])
        return out

    def counting_schedule(*a, **k):
        got.setdefault("n", [0])[0] += 1
        return orig_schedule(*a, **k)

    for per_hour in (2, 0):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(native, "_storage_relief", counting_relief)
            mp.setattr(native, "_schedule", counting_schedule)
            mp.setattr(native, "RELIEF_SCHEDULES_PER_HOUR", per_hour)
            native.solve_window(sys_, 0, 24, st, None)
        assert 0 <= got["used"] <= per_hour * 24
        before, after = got["io"]
        if per_hour == 0:
            assert got["used"] == 0 and after is before
        else:
            assert after.objective <= before.objective
