"""PGLib-UC reader and the milp engine against the published reference objectives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dispatch.arrays import WindowSolution
from dispatch.costs import window_cost
from dispatch.errors import CaseError
from dispatch.pglib import PGLIB_DIR, read_pglib, reference

RTS_DAY = PGLIB_DIR / "rts_gmlc" / "2020-01-27.json"
pytestmark = pytest.mark.skipif(not RTS_DAY.is_file(), reason="PGLib-UC instances not available")


@pytest.fixture(scope="module")
def rts_day():
    case = read_pglib(RTS_DAY)
    return case, case.to_arrays(), json.loads(RTS_DAY.read_text())


def test_reader_hand_checked_facts(rts_day):
    case, sys, _ = rts_day
    assert case.name == "pglib:rts_gmlc/2020-01-27"
    assert sys.n_hours == 48 and sys.n_th == 73 and sys.n_re == 81 and sys.n_line == 0
    g = sys.th_names.index("115_STEAM_1")  # values read off the JSON by hand
    assert (sys.th_pmin[g], sys.th_pmax[g]) == (5.0, 12.0)
    assert (sys.th_min_up[g], sys.th_min_down[g]) == (4, 2)
    assert sys.th_cost_pmin[g] == pytest.approx(897.29)
    np.testing.assert_allclose(sys.th_seg_mw[g], [2.33, 2.34, 2.33], atol=1e-9)
    np.testing.assert_allclose(sys.th_seg_cost[g], [(1187.39 - 897.29) / 2.33, (1480.01 - 1187.39) / 2.34,
                                                    (1791.39 - 1480.01) / 2.33])
    np.testing.assert_array_equal(sys.th_su_lag[g], [2, 4, 12])
    np.testing.assert_allclose(sys.th_su_cost[g], [393.28, 455.37, 703.76])
    n = sys.th_names.index("121_NUCLEAR_1")
    assert sys.th_must_run[n] and sys.init.th_on[n] and sys.init.th_hours[n] == 168 and sys.init.th_p[n] == 396.0
    np.testing.assert_array_equal(sys.th_su_lag[n], [48, 48, 48])  # one category, padded
    assert not sys.init.th_on[g] and sys.init.th_hours[g] == 168
    ct = sys.th_names.index("101_CT_1")
    assert sys.init.th_hours[ct] == 28
    assert sys.reserve_up_mw[0] == pytest.approx(97.8693)
    # must-take (hydro, rooftop PV: min = max) is taken off the load
    assert sys.meta["demand_mw"][0] == pytest.approx(3262.31)
    assert sys.load_mw[0, 0] == pytest.approx(3262.31 - sys.meta["re_min_mw"][0].sum())
    h = sys.re_names.index("122_HYDRO_1")
    assert sys.re_kind[h] == "hydro_ror" and sys.meta["re_min_mw"][0, h] == 13.2 and sys.re_avail_mw[0, h] == 0.0
    w = sys.re_names.index("122_WIND_1")
    assert sys.re_kind[w] == "wind" and sys.re_avail_mw[0, w] == pytest.approx(706.9)


def _pglib_objective(data: dict, p: np.ndarray, on: np.ndarray) -> float:
    """Naive twin: PGLib's objective straight from the JSON (interpolated curve + categories)."""
    total = 0.0
    for g, (name, u) in enumerate(data["thermal_generators"].items()):
        mw = [pt["mw"] for pt in u["piecewise_production"]]
        c = [pt["cost"] for pt in u["piecewise_production"]]
        off = 0 if u["unit_on_t0"] else u["time_down_t0"]
        prev = bool(u["unit_on_t0"])
        for t in range(p.shape[0]):
            if on[t, g]:
                total += float(np.interp(p[t, g], mw, c)) if len(mw) > 1 else c[0]
                if not prev:
                    cost = u["startup"][0]["cost"]
                    for s in u["startup"]:
                        if off >= s["lag"]:
                            cost = s["cost"]
                    total += cost
                off = 0
            else:
                off += 1
            prev = bool(on[t, g])
    return total


def test_window_cost_equals_pglib_objective(rts_day):
    """Our cost definition on the mapped arrays equals PGLib's objective for any schedule."""
    _, sys, data = rts_day
    rng = np.random.default_rng(3)
    T, G, R = sys.n_hours, sys.n_th, sys.n_re
    names = list(data["thermal_generators"])
    assert tuple(names) == sys.th_names
    on = rng.random((T, G)) < 0.6
    p = np.where(on, sys.th_pmin + rng.random((T, G)) * (sys.th_pmax - sys.th_pmin), 0.0)
    prev = np.vstack([sys.init.th_on[None, :], on[:-1]])
    z = lambda *s: np.zeros(s)  # noqa: E731
    sol = WindowSolution(
        t0=0, th_p=p, th_on=on, th_su=on & ~prev, re_p=sys.re_avail_mw.copy(), hy_q=z(T, 0), hy_s=z(T, 0),
        hy_v=z(T, 0), st_ch=z(T, 0), st_dis=z(T, 0), st_e=z(T, 0), dr_p=z(T, 0), dr_rebound=z(T, 0),
        ex_p=z(T, 0), shed=z(T, 1), res_short=z(T), line_flow=z(T, 0), price=z(T), objective=0.0,
        lower_bound=np.nan,
    )
    assert R == 81
    assert window_cost(sys, sys.init, sol, None) == pytest.approx(_pglib_objective(data, p, on), rel=1e-10)


def test_reader_errors(tmp_path: Path):
    data = json.loads(RTS_DAY.read_text())
    u = data["thermal_generators"]["101_CT_1"]
    u["piecewise_production"][2]["cost"] = u["piecewise_production"][1]["cost"] + 1.0  # slope drops
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(data))
    with pytest.raises(CaseError, match="101_CT_1.*not convex|not convex.*"):
        read_pglib(f).to_arrays()
    del data["demand"]
    f.write_text(json.dumps(data))
    with pytest.raises(CaseError, match="demand"):
        read_pglib(f)


def test_all_instances_read():
    for f in sorted(PGLIB_DIR.glob("*/*.json")):
        sys = read_pglib(f).to_arrays()
        assert sys.n_hours == 48 and sys.load_mw.min() > 0
        assert np.all(np.diff(sys.th_seg_cost, axis=1) >= -1e-9)
        assert np.all(np.diff(sys.th_su_lag, axis=1) >= 0)


def _check_against_reference(summary: dict, tol_pct: float = 0.1) -> None:
    ref_obj, ref_lb = summary["reference_objective"], summary["reference_bound"]
    ours, our_lb = summary["total_cost"], summary["lower_bound"]
    assert summary["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert summary["reserve_short_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert summary["max_balance_violation_mw"] < 1e-5
    # ours is a feasible schedule of the same model (reserve_ramp_limited: PGLib's reserve
    # rows): not below the reference bound, and our own bound is not above the reference
    # incumbent (tol: solver tolerances and the two solvers' MIP gaps)
    assert ours >= ref_lb * (1 - tol_pct / 100)
    if our_lb is not None:
        assert our_lb <= ref_obj * (1 + tol_pct / 100)
    if summary["reference_gap_pct"] <= tol_pct and our_lb is not None and (ours - our_lb) / ours * 100 <= tol_pct:
        assert abs(summary["gap_to_reference_pct"]) <= tol_pct


def test_milp_rts_day_matches_reference(tmp_path: Path):
    """One proven-optimal RTS day (ref gap 0.008 %) end to end, result files included (~1-2 min).

    The time limit keeps it short: a time-limited incumbent comes back with its bound, and
    the checks only compare objectives tightly when our own gap is small.
    """
    pytest.importorskip("highspy")
    from dispatch.pglib import solve_pglib
    from dispatch.results import read_result

    f = PGLIB_DIR / "rts_gmlc" / "2020-06-09.json"
    s = solve_pglib(f, engine="milp", out=tmp_path, time_limit_s=120)
    assert s["engine"] == "milp" and s["hours"] == 48 and s["case"] == "pglib:rts_gmlc/2020-06-09"
    _check_against_reference(s)
    assert s["energy_by_type_mwh"]["hydro"] > 0  # must-take hydro reported gross
    res = read_result(tmp_path)
    assert res.summary["reference_objective"] == reference("rts_gmlc/2020-06-09")["best_known_objective"]
    assert res.units.height == 48 * 73
    load = res.system["load_mw"].to_numpy()
    np.testing.assert_allclose(load, json.loads(f.read_text())["demand"])


@pytest.mark.slow
@pytest.mark.parametrize("day", sorted(p.stem for p in (PGLIB_DIR / "rts_gmlc").glob("*.json")))
def test_milp_all_rts_days(day: str):
    from dispatch.pglib import solve_pglib

    s = solve_pglib(PGLIB_DIR / "rts_gmlc" / f"{day}.json", engine="milp", time_limit_s=300)
    # same model as PGLib's (per-unit reserve in capacity and ramp-up rows): a time-limited
    # schedule with its bound must sit consistently with the reference bracket
    _check_against_reference(s, tol_pct=0.1)


def test_milp_reserve_ramp_limited_short_window():
    """PGLib reserve convention: per-unit r within capacity and ramp-up, sum r >= R (6 h window)."""
    pytest.importorskip("highspy")
    import dataclasses

    from dispatch.milp import MilpOptions, build_window, read_solution, solve_model

    sys = read_pglib(RTS_DAY).to_arrays()  # fresh arrays, not the shared fixture
    assert sys.reserve_ramp_limited
    n = 6
    # a reserve large enough that ramp limits bind: 15 % of load
    sys = dataclasses.replace(sys, reserve_up_mw=0.15 * sys.load_mw[:, 0])
    opt = MilpOptions(mip_rel_gap=1e-6)  # threads left alone: HiGHS fixes its pool on first use
    m = build_window(sys, 0, n, sys.init, None, opt)
    res = solve_model(m, opt)
    sol = read_solution(m, res)
    r = res["x"][m.v["th_r"]]
    pmin, pmax = sys.th_pmin, sys.th_pmax
    ph = sol.th_p - pmin * sol.th_on
    assert np.all(r >= -1e-7) and np.all(r[~sol.th_on] <= 1e-7)
    assert np.all(ph + r <= (pmax - pmin) * sol.th_on + 1e-6)
    ph_prev = np.vstack([(np.where(sys.init.th_on, sys.init.th_p, 0) - pmin * sys.init.th_on)[None], ph[:-1]])
    ru = np.minimum(sys.th_ramp_up, pmax - pmin)
    on_on = sol.th_on & np.vstack([sys.init.th_on[None], sol.th_on[:-1]])
    assert np.all((ph + r - ph_prev <= ru + 1e-6)[on_on])
    np.testing.assert_array_less(sys.reserve_up_mw[:n] - 1e-6, r.sum(1) + sol.res_short)
    # headroom reserve (flag off) is looser: never costs more
    loose = dataclasses.replace(sys, reserve_ramp_limited=False)
    m2 = build_window(loose, 0, n, loose.init, None, opt)
    res2 = solve_model(m2, opt)
    assert "th_r" not in m2.v
    assert res2["mip_objective"] <= res["mip_objective"] * (1 + 1e-6) + 1e-6
