"""Rolling horizon: state carry-over, checkpoints, resume after SIGINT/SIGKILL, determinism."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import dispatch
from dispatch.arrays import SOLUTION_ARRAYS, advance_state, initial_state
from dispatch.errors import DispatchError
from dispatch.simulate import simulate
from dispatch.testing import toy_system

ENGINES = ["milp", "native"]


def _frames_equal(a: dispatch.Result, b: dispatch.Result) -> None:
    for name, df in a.frames.items():
        other = b.frames[name]
        if name == "windows":
            df, other = df.drop("wall_s"), other.drop("wall_s")
        assert df.equals(other), f"frame {name} differs"


@pytest.mark.parametrize("engine", ENGINES)
def test_rolling_horizon_is_feasible_and_balanced(engine: str) -> None:
    from dispatch.invariants import check_solution

    sys_ = toy_system(96)
    res = simulate(sys_, engine=engine, window_h=24, lookahead_h=12, progress=False)
    s = res.summary
    assert s["hours"] == 96 and s["windows"] == 4
    assert s["max_balance_violation_mw"] < 1e-5
    assert res.frames["windows"].height == 4
    assert res.frames["units"].height == 96 * sys_.n_th
    # the joined schedule is itself a feasible schedule of the 96 hours
    from dispatch.results import concat_solutions  # noqa: F401  (documented join)

    sol = _solution_from_result(sys_, res)
    problems = [p for p in check_solution(sys_, initial_state(sys_), sol, None, tol=1e-5) if "objective" not in p]
    assert not problems, problems


def _solution_from_result(sys_, res):
    """Rebuild a WindowSolution from the frames (tests that frames hold the whole schedule)."""
    from dispatch.arrays import WindowSolution

    n = res.summary["hours"]

    def wide(frame: str, key: str, col: str, names: tuple[str, ...]) -> np.ndarray:
        if not names:
            return np.zeros((n, 0))
        df = res.frames[frame]
        arr = df[col].to_numpy().reshape(n, len(names))
        assert tuple(df[key][: len(names)].to_list()) == names
        return arr

    sysf = res.frames["system"]
    return WindowSolution(
        t0=0,
        th_p=wide("units", "unit", "p_mw", sys_.th_names),
        th_on=wide("units", "unit", "on", sys_.th_names).astype(bool),
        th_su=wide("units", "unit", "startup", sys_.th_names).astype(bool),
        re_p=wide("renewables", "plant", "p_mw", sys_.re_names),
        hy_q=wide("hydro", "plant", "release_m3s", sys_.hy_names),
        hy_s=wide("hydro", "plant", "spill_m3s", sys_.hy_names),
        hy_v=wide("hydro", "plant", "volume_hm3", sys_.hy_names),
        st_ch=wide("storage", "unit", "charge_mw", sys_.st_names),
        st_dis=wide("storage", "unit", "discharge_mw", sys_.st_names),
        st_e=wide("storage", "unit", "soc_mwh", sys_.st_names),
        dr_p=wide("dr", "resource", "p_mw", sys_.dr_names),
        dr_rebound=wide("dr", "resource", "rebound_mw", sys_.dr_names),
        ex_p=wide("exports", "link", "p_mw", sys_.ex_names),
        shed=wide("buses", "bus", "shed_mw", sys_.bus_names),
        res_short=sysf["reserve_short_mw"].to_numpy(),
        line_flow=wide("lines", "line", "flow_mw", sys_.line_names),
        price=sysf["price"].to_numpy(),
        objective=float("nan"),
        lower_bound=float("nan"),
    )


def test_advance_state_counts_hours_in_state() -> None:
    sys_ = toy_system(24)
    st = initial_state(sys_)
    from dispatch.engines import get_engine

    sol = get_engine("milp").solve_window(sys_, 0, 24, st, None, None)
    nxt = advance_state(sys_, st, sol, 12)
    for g in range(sys_.n_th):
        on = sol.th_on[:12, g]
        assert nxt.th_on[g] == on[-1]
        run = 0
        for v in on[::-1]:
            if v == on[-1]:
                run += 1
            else:
                break
        if run == 12 and st.th_on[g] == on[-1]:
            run += st.th_hours[g]
        assert nxt.th_hours[g] == run
    np.testing.assert_allclose(nxt.hy_v, sol.hy_v[11])
    np.testing.assert_allclose(nxt.st_e, sol.st_e[11])
    np.testing.assert_allclose(nxt.hy_hist[:, 0], sol.hy_q[11] + sol.hy_s[11])


@pytest.mark.parametrize("engine", ENGINES)
def test_checkpoint_resume_is_identical(tmp_path: Path, engine: str) -> None:
    sys_ = toy_system(96)
    straight = simulate(sys_, engine=engine, window_h=24, lookahead_h=12, progress=False)
    ck = tmp_path / "ck"
    first = simulate(sys_, engine=engine, hours=48, window_h=24, lookahead_h=12, progress=False)
    assert first.summary["hours"] == 48
    # a full run that finds two finished windows of a *different* run must refuse them
    simulate(sys_, engine=engine, hours=96, window_h=24, lookahead_h=12, checkpoint_dir=ck, progress=False)
    files = sorted(ck.glob("window_*.npz"))
    assert len(files) == 4
    # drop the last two windows: a resumed run recomputes only them
    for f in files[2:]:
        f.unlink()
    resumed = simulate(sys_, engine=engine, hours=96, window_h=24, lookahead_h=12, checkpoint_dir=ck, progress=False)
    _frames_equal(straight, resumed)
    with pytest.raises(DispatchError, match="different run"):
        simulate(sys_, engine=engine, hours=72, window_h=24, lookahead_h=12, checkpoint_dir=ck, progress=False)


def test_same_inputs_same_bits() -> None:
    sys_ = toy_system(72)
    a = simulate(sys_, engine="native", window_h=24, lookahead_h=12, progress=False)
    b = simulate(sys_, engine="native", window_h=24, lookahead_h=12, progress=False)
    _frames_equal(a, b)


def test_write_read_roundtrip(tmp_path: Path) -> None:
    res = simulate(toy_system(48), engine="milp", window_h=24, lookahead_h=0, progress=False)
    res.write(tmp_path / "out")
    back = dispatch.read_result(tmp_path / "out")
    _frames_equal(res, back)
    for key in ("case", "engine", "hours", "total_cost", "lower_bound", "wall_s", "energy_by_type_mwh",
                "curtailment_mwh", "unserved_mwh", "co2_t", "peak_load_mw", "max_balance_violation_mw"):
        assert key in back.summary
    assert set(back.summary["curtailment_mwh"]) == {"wind", "solar", "hydro_spill"}
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_bad_window_arguments() -> None:
    sys_ = toy_system(24)
    with pytest.raises(DispatchError, match="outside"):
        simulate(sys_, engine="milp", start="2031-01-01", progress=False)
    with pytest.raises(DispatchError, match="does not fit"):
        simulate(sys_, engine="milp", hours=25, progress=False)
    with pytest.raises(ValueError, match="unknown engine"):
        simulate(sys_, engine="cplex", progress=False)


_CHILD = textwrap.dedent(
    """
    import sys, time
    import dispatch.native as native
    from dispatch.simulate import simulate
    from dispatch.testing import toy_system
    orig = native.solve_window
    def slow(*a, **k):
        time.sleep(0.4)
        return orig(*a, **k)
    native.solve_window = slow
    simulate(toy_system(240), engine="native", window_h=24, lookahead_h=12,
             checkpoint_dir=sys.argv[1], progress=False)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_resumes_identically(tmp_path: Path, sig: int) -> None:
    ck = tmp_path / "ck"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(ck.glob("window_*.npz"))) < 3:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    done = sorted(ck.glob("window_*.npz"))
    assert 3 <= len(done) < 10, "the child must be stopped mid-run"
    assert not list(ck.glob("*.tmp")), "no partial file is left behind"
    resumed = simulate(toy_system(240), engine="native", window_h=24, lookahead_h=12, checkpoint_dir=ck, progress=False)
    straight = simulate(toy_system(240), engine="native", window_h=24, lookahead_h=12, progress=False)
    _frames_equal(straight, resumed)


def test_solution_arrays_listed() -> None:
    assert "th_p" in SOLUTION_ARRAYS and "objective" not in SOLUTION_ARRAYS
    assert isinstance(pl.__version__, str) and os.sep


def test_mid_horizon_start_takes_reservoirs_from_the_plan() -> None:
    from dispatch.arrays import M3S_TO_HM3_PER_H
    from dispatch.hydro import plan_hydro
    from dispatch.simulate import state_at

    sys_ = toy_system(96)
    st0 = initial_state(sys_)
    plan = plan_hydro(sys_, st0, t0=0, hours=72)  # what simulate plans for start=48, hours=24
    mid = state_at(plan, st0, 48)
    want = [np.interp(48, plan.bounds_h, plan.v_hm3[:, h]) for h in range(sys_.n_hy)]
    np.testing.assert_allclose(mid.hy_v, want)
    np.testing.assert_array_equal(mid.th_on, st0.th_on)
    res = simulate(sys_, engine="milp", start=48, hours=24, window_h=24, lookahead_h=0, progress=False)
    first = res.frames["hydro"].filter(pl.col("plant") == "upper").row(0, named=True)
    # the head reservoir's first hour starts from the plan's volume, not the start-of-horizon one
    v1 = mid.hy_v[0] + M3S_TO_HM3_PER_H * (first["inflow_m3s"] - first["release_m3s"] - first["spill_m3s"])
    assert first["volume_hm3"] == pytest.approx(v1, abs=1e-6)
    assert abs(mid.hy_v[0] - st0.hy_v[0]) > 1e-3
