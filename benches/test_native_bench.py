"""Native engine timings with the answer checked inside each benchmark."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dispatch import invariants, native, testing
from dispatch.arrays import HydroTargets, initial_state


def _targets(sys, st):
    return HydroTargets(np.asarray(st.hy_v, float).copy(), np.full(sys.n_hy, 3e5)) if sys.n_hy else None


@pytest.mark.fast
def test_toy_window_48h(benchmark, jit_warm):
    """One 48 h toy window; feasibility and objective accounting asserted."""
    sys = testing.toy_system(48)
    st = initial_state(sys)
    tg = _targets(sys, st)
    sol = benchmark.pedantic(native.solve_window, args=(sys, 0, 48, st, tg), rounds=3, iterations=1)
    invariants.assert_feasible(sys, st, sol, tg)
    assert sol.lower_bound <= sol.objective
    benchmark.extra_info.update(compile_s=jit_warm, objective=sol.objective, lower_bound=sol.lower_bound)


@pytest.mark.fast
def test_toy_week_vs_milp(benchmark, jit_warm):
    """A toy week as 7 windows of 24 h + 24 h look-ahead: native time, gap and speed-up vs milp."""
    from dispatch import milp
    from dispatch.arrays import advance_state

    sys = testing.toy_system(192)

    def run(engine):
        st = initial_state(sys)
        total = 0.0
        for k in range(7):
            tg = _targets(sys, st)
            sol = engine.solve_window(sys, 24 * k, 48, st, tg)
            invariants.assert_feasible(sys, st, sol, tg)
            total += sol.objective
            st = advance_state(sys, st, sol, 24)
        return total

    tic = time.perf_counter()
    ref = run(milp)
    t_milp = time.perf_counter() - tic
    got = benchmark.pedantic(run, args=(native,), rounds=1, iterations=1)
    t_nat = benchmark.stats.stats.mean
    benchmark.extra_info.update(compile_s=jit_warm, native_sum=got, milp_sum=ref, gap_pct=100 * (got - ref) / abs(ref),
                                milp_s=t_milp, speedup=t_milp / t_nat)
    # window sums differ by path dependence; guard against gross regressions only
    assert got <= ref * 1.02


def _sichuan_run(hours: int, start: str = "2030-07-01", case: str = "sichuan-2030"):
    import dispatch

    return dispatch.simulate(case, engine="native", start=start, hours=hours, progress=False)


def _assert_year_like(res, hours):
    s = res.summary
    assert s["hours"] == hours
    assert s["max_balance_violation_mw"] <= 1e-6
    assert np.isfinite(s["total_cost"])
    return s


@pytest.mark.fast
def test_sichuan_week_native(benchmark, jit_warm):
    """sichuan-2030, full network, 7 rolling windows (24 h + 24 h look-ahead) from 1 July."""
    res = benchmark.pedantic(_sichuan_run, args=(168,), rounds=1, iterations=1)
    s = _assert_year_like(res, 168)
    benchmark.extra_info.update(compile_s=jit_warm, total_cost=s["total_cost"], unserved_mwh=s["unserved_mwh"],
                                wall_per_window_s=benchmark.stats.stats.mean / 7)


@pytest.mark.year
def test_sichuan_year_native(benchmark, jit_warm):
    """sichuan-2030 full year (8760 h, 365 windows) with the network; compare with the week."""
    res = benchmark.pedantic(_sichuan_run, args=(8760, "2030-01-01"), rounds=1, iterations=1)
    s = _assert_year_like(res, 8760)
    benchmark.extra_info.update(compile_s=jit_warm, total_cost=s["total_cost"], unserved_mwh=s["unserved_mwh"],
                                curtailment_mwh=s["curtailment_mwh"], wall_per_window_s=benchmark.stats.stats.mean / 365)


@pytest.mark.year
def test_rts_year_native(benchmark, jit_warm):
    """RTS-GMLC full year (8784 h, 366 windows) with the network."""
    res = benchmark.pedantic(_sichuan_run, args=(8784, "2020-01-01", "rts-gmlc"), rounds=1, iterations=1)
    s = _assert_year_like(res, 8784)
    benchmark.extra_info.update(compile_s=jit_warm, total_cost=s["total_cost"], unserved_mwh=s["unserved_mwh"])


@pytest.mark.year
@pytest.mark.parametrize("quality", [False, True], ids=["default", "quality"])
def test_sichuan_windows_vs_milp(benchmark, jit_warm, quality):
    """Native on the milp reference windows of ``benches/milp_windows.json`` (48 h, full
    network, seasons x hydrologies; written by ``scripts/milp_windows.py``): same state
    (checked by hash), same targets, with the default options or ``--quality``'s (the
    exact flows LP). Asserts feasibility and bound consistency; records the gap to the milp
    objective (target 0.5 %), how many windows are within it, and the speed-up."""
    import json
    import sys as _sys
    from pathlib import Path

    _sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import milp_windows as mw

    ref = json.loads((Path(__file__).with_name("milp_windows.json")).read_text())["records"]
    ref = [r for r in ref if r.get("objective") is not None]
    if not ref:
        pytest.skip("no milp reference windows yet (run scripts/milp_windows.py)")
    rows = []
    opts = native.QUALITY_NATIVE if quality else {}
    for r in ref:
        sys, st, tg = mw.window_inputs(r["hydrology"], r["t0"], r["n"])
        assert mw.state_sha(st) == r["state_sha"], "the window's state differs from the reference run"
        tic = time.perf_counter()
        sol = native.solve_window(sys, r["t0"], r["n"], st, tg, native.NativeOptions(**opts))
        tn = time.perf_counter() - tic
        invariants.assert_feasible(sys, st, sol, tg)
        assert sol.objective >= r["lower_bound"] - 1e-6 * abs(r["lower_bound"])  # no schedule beats a proven bound
        assert sol.lower_bound <= r["objective"] + 1e-6 * abs(r["objective"])  # ours is a valid bound
        rows.append({"hydrology": r["hydrology"], "t0": r["t0"], "native": sol.objective, "milp": r["objective"],
                     "milp_bound": r["lower_bound"], "diff": sol.objective - r["objective"],
                     "gap_pct_of_abs_milp": 100 * (sol.objective - r["objective"]) / abs(r["objective"]),
                     "native_s": tn, "milp_s": r["wall_s"], "speedup": r["wall_s"] / tn})
    benchmark.extra_info["windows"] = rows
    benchmark.extra_info.update(diff_sum=sum(r["diff"] for r in rows),
                                within_half_pct=sum(r["gap_pct_of_abs_milp"] <= 0.5 for r in rows),
                                native_s=sum(r["native_s"] for r in rows))
    benchmark(lambda: None)


def _pglib_native(path):
    from dispatch.pglib import solve_pglib

    return solve_pglib(path, engine="native")


@pytest.mark.fast
def test_pglib_day_native(benchmark, jit_warm):
    """PGLib-UC rts_gmlc/2020-06-09 (proven optimum, 0.008 % gap) with the native engine:
    within 1 % of the reference objective, no shedding, no reserve shortfall."""
    from dispatch.pglib import PGLIB_DIR

    f = PGLIB_DIR / "rts_gmlc" / "2020-06-09.json"
    if not f.is_file():
        pytest.skip("PGLib-UC instances not available")
    _pglib_native(f)  # compiles the copper-plate kernels (search, look-ahead) untimed
    s = benchmark.pedantic(_pglib_native, args=(f,), rounds=1, iterations=1)
    assert s["unserved_mwh"] <= 1e-6 and s["reserve_short_mwh"] <= 1e-6
    assert abs(s["gap_to_reference_pct"]) <= 1.0
    benchmark.extra_info.update(objective=s["total_cost"], reference=s["reference_objective"],
                                gap_to_reference_pct=s["gap_to_reference_pct"], lower_bound=s["lower_bound"])


@pytest.mark.year
def test_pglib_native_vs_milp(benchmark, jit_warm):
    """Every PGLib-UC instance with a reference objective (12 RTS-GMLC days + the 610-unit
    California day) with the native engine: cost vs the reference, feasibility (invariants
    with PGLib's ramp-limited reserve), wall time; the milp engine on two proven days in
    the same run for the speed ratio (same options as benches/PGLIB.md)."""
    from dispatch.milp import MilpOptions
    from dispatch.pglib import PGLIB_DIR, PGLIB_NATIVE, read_pglib, solve_pglib

    refs = sorted((PGLIB_DIR / "rts_gmlc").glob("*.json")) + [PGLIB_DIR / "ca" / "2015-06-01_reserves_3.json"]
    refs = [f for f in refs if f.is_file()]
    if not refs:
        pytest.skip("PGLib-UC instances not available")
    _pglib_native(refs[0])  # compile untimed
    rows = []

    def run_all():
        rows.clear()
        for f in refs:
            case = read_pglib(f)
            sys = case.to_arrays()
            tic = time.perf_counter()
            sol = native.solve_window(sys, 0, sys.n_hours, sys.init.copy(), None,
                                      native.NativeOptions(**PGLIB_NATIVE))
            wall = time.perf_counter() - tic
            invariants.assert_feasible(sys, sys.init.copy(), sol, None)
            from dispatch.pglib import reference

            ref = reference(case.meta["instance"])
            rows.append({"instance": case.meta["instance"], "native": sol.objective, "bound": sol.lower_bound,
                         "reference": ref["best_known_objective"], "ref_bound": ref["best_known_bound"],
                         "diff_pct": 100 * (sol.objective / ref["best_known_objective"] - 1), "native_s": wall})
        return rows

    benchmark.pedantic(run_all, rounds=1, iterations=1)
    for day in ("2020-07-06", "2020-08-12"):
        f = PGLIB_DIR / "rts_gmlc" / f"{day}.json"
        tic = time.perf_counter()
        s = solve_pglib(f, engine="milp", options=MilpOptions(time_limit_s=120, threads=1, mip_rel_gap=1e-4))
        t_milp = time.perf_counter() - tic
        row = next(r for r in rows if r["instance"] == f"rts_gmlc/{day}")
        row.update(milp=s["total_cost"], milp_s=t_milp, speedup=t_milp / row["native_s"])
    benchmark.extra_info["instances"] = rows
    for r in rows:
        assert r["diff_pct"] <= 5.0, r  # gross regressions; the 1 % target is read from the table
