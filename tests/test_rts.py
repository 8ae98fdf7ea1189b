"""RTS-GMLC case: loading, shapes, mapping facts, the network, a short milp window."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dispatch.pglib import PGLIB_DIR, read_pglib
from dispatch.rts import load_rts_case, network_dir, rts_net, rts_to_arrays

SHIPPED_NET = Path("/work/shared/benchmarks/rts-gmlc/pandapower/pandapower_net.json")


@pytest.fixture(scope="module")
def case():
    return load_rts_case()


@pytest.fixture(scope="module")
def sys(case):
    return rts_to_arrays(case)


def test_shapes(sys):
    assert sys.n_hours == 8784  # 2020 is a leap year
    assert sys.timestamps[0] == np.datetime64("2020-01-01T00") and sys.timestamps[-1] == np.datetime64("2020-12-31T23")
    assert sys.n_bus == 73 and sys.n_line == 120 and sys.ptdf.shape == (120, 73)
    assert sys.n_th == 73  # 16 coal, 10 CC, 27 CT gas, 12 oil CT, 7 oil ST, 1 nuclear
    assert sorted(set(sys.th_kind)) == ["coal", "gas", "nuclear", "oil"]
    assert sys.n_re == 20 + 25 + 31 + 4 + 1 and sys.n_st == 2 and sys.n_ex == 0 and sys.n_dc == 1
    assert sys.load_mw.shape == (8784, 73) and np.all(sys.load_mw >= 0)
    assert np.all(sys.re_avail_mw >= 0)
    for name in ("load_mw", "ptdf", "re_avail_mw", "th_seg_cost", "th_su_lag"):
        assert getattr(sys, name).flags.c_contiguous, name


def test_notice_travels():
    for d in (network_dir(), network_dir().parents[1] / "timeseries" / "rts-gmlc"):
        assert (d / "NOTICE.md").is_file() and (d / "SOURCE.md").is_file()


def test_mapping_facts(sys):
    g = sys.th_names.index("123_STEAM_3")  # hand-checked against gen.csv and PGLib
    assert sys.th_ramp_up[g] == pytest.approx(4.0 * 60)
    assert sys.th_cost_pmin[g] == pytest.approx(140 * 12.106 * 2.11399, rel=1e-6)
    np.testing.assert_array_equal(sys.th_su_lag[g][:2], [48, 96])
    np.testing.assert_allclose(sys.th_su_cost[g][:2], [10114.4 * 2.11399, 17384.1 * 2.11399])
    assert (sys.th_min_up[g], sys.th_min_down[g]) == (24, 48)
    cc = sys.th_names.index("107_CC_1")
    assert sys.th_min_down[cc] == 5  # 4.5 h rounded up
    assert sys.th_must_run[sys.th_names.index("121_NUCLEAR_1")]
    # spinning reserve = sum of the three areas = 3 % of load
    np.testing.assert_allclose(sys.reserve_up_mw / sys.load_mw.sum(1), 0.03, atol=2e-4)
    b = sys.st_names.index("313_STORAGE_1")
    assert sys.st_eta_ch[b] * sys.st_eta_dis[b] == pytest.approx(0.85)
    assert sys.st_emax[b] == 150.0
    csp = sys.re_names.index("212_CSP_1")
    assert sys.re_avail_mw[:, csp].max() <= 200.0
    np.testing.assert_array_equal(sys.ex_min, 0.0)
    np.testing.assert_array_equal(sys.ex_max, 0.0)


@pytest.mark.skipif(not (PGLIB_DIR / "rts_gmlc").is_dir(), reason="PGLib-UC instances not available")
def test_thermal_data_agree_with_pglib(case):
    """With PGLib's 20-minute ramps, every thermal parameter equals the PGLib rts_gmlc day's."""
    s = rts_to_arrays(case, network=False, ramp_minutes=20.0)
    p = read_pglib(PGLIB_DIR / "rts_gmlc" / "2020-01-27.json").to_arrays()
    idx = {n: i for i, n in enumerate(s.th_names)}
    order = [idx[n] for n in p.th_names]
    for f in ("th_pmin", "th_pmax", "th_ramp_up", "th_su_ramp", "th_sd_ramp", "th_min_up", "th_min_down",
              "th_cost_pmin", "th_seg_mw", "th_seg_cost", "th_su_lag", "th_su_cost", "th_must_run"):
        np.testing.assert_allclose(getattr(s, f)[order], getattr(p, f), rtol=1e-3, atol=0.011, err_msg=f)
    t0 = int(np.nonzero(s.timestamps == np.datetime64("2020-01-27T00"))[0][0])
    np.testing.assert_allclose(s.load_mw[t0 : t0 + 48].sum(1), p.meta["demand_mw"], atol=0.01)
    np.testing.assert_allclose(s.reserve_up_mw[t0 : t0 + 48], p.reserve_up_mw, atol=0.01)


def test_ptdf_properties(sys):
    # the slack column is zero; an injection at a bus and withdrawal at the slack conserve flow
    slack = sys.bus_names.index("113")
    np.testing.assert_allclose(sys.ptdf[:, slack], 0.0, atol=1e-12)
    assert np.all(np.abs(sys.ptdf) <= 1.0 + 1e-9)
    np.testing.assert_allclose(sys.line_max_mw[:3], [175.0, 175.0, 175.0])


@pytest.mark.skipif(not SHIPPED_NET.is_file(), reason="shipped pandapower net not available")
def test_net_agrees_with_shipped_pandapower(case):
    import pandapower as pp

    ours = rts_net(case.tables["bus"], case.tables["branch"], case.tables["gen"])
    shipped = pp.from_json(str(SHIPPED_NET))  # trusted shipped data, test only
    assert len(ours.bus) == len(shipped.bus) == 73
    assert len(ours.line) == len(shipped.line) == 104 and len(ours.trafo) == len(shipped.trafo) == 16

    def line_x_pu(net):
        # keyed by the two bus names (the shipped net repeats some line names, e.g. 'A31-2' twice)
        zb = net.bus.vn_kv.loc[net.line.from_bus].to_numpy() ** 2 / 100.0
        x = net.line.x_ohm_per_km.to_numpy() * net.line.length_km.to_numpy() / zb
        out: dict[tuple[str, str], list[float]] = {}
        for f, t, v in zip(net.line.from_bus, net.line.to_bus, x):
            key = tuple(sorted((net.bus.name.at[f], net.bus.name.at[t])))
            out.setdefault(key, []).append(float(v))
        return {k: sorted(v) for k, v in out.items()}

    a, b = line_x_pu(ours), line_x_pu(shipped)
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, err_msg=str(k))

    def trafo_x_pu(net):
        vk, vkr = net.trafo.vk_percent.to_numpy(), net.trafo.vkr_percent.to_numpy()
        x = np.sqrt(vk**2 - vkr**2) / 100 * 100.0 / net.trafo.sn_mva.to_numpy()
        buses = [tuple(sorted((net.bus.name.at[h], net.bus.name.at[l]))) for h, l in zip(net.trafo.hv_bus, net.trafo.lv_bus)]
        return dict(zip(buses, x))

    ta, tb = trafo_x_pu(ours), trafo_x_pu(shipped)
    assert set(ta) == set(tb)
    for k in ta:
        assert ta[k] == pytest.approx(tb[k], rel=1e-3), k
    # DC power flow on our net works (balanced by the external grid)
    pp.rundcpp(ours)
    assert np.isfinite(ours.res_line.p_from_mw).all()


@pytest.mark.skipif(importlib.util.find_spec("highspy") is None, reason="highspy missing")
def test_milp_window_with_network(sys):
    """A 24 h summer window with the network: a feasible schedule, cost = window_cost."""
    from dispatch.costs import window_cost
    from dispatch.engines import get_engine
    from dispatch.milp import MilpOptions

    t0 = int(np.nonzero(sys.timestamps == np.datetime64("2020-07-15T00"))[0][0])
    state = sys.init.copy()
    sol = get_engine("milp").solve_window(sys, t0, 24, state, None, MilpOptions(time_limit_s=150, mip_rel_gap=1e-2, lazy_lines=False))
    assert sol.objective == pytest.approx(window_cost(sys, state, sol, None), rel=1e-6)
    assert sol.shed.sum() < 1e-6
    try:
        from dispatch.invariants import assert_feasible
    except ImportError:
        inj = sol.th_p.sum(1) + sol.re_p.sum(1) + sol.st_dis.sum(1) - sol.st_ch.sum(1) + sol.shed.sum(1)
        np.testing.assert_allclose(inj, sys.load_mw[t0 : t0 + 24].sum(1) + sol.ex_p.sum(1), atol=1e-4)
        assert np.all(np.abs(sol.line_flow) <= sys.line_max_mw[None, :] + 1e-4)
    else:
        assert_feasible(sys, state, sol, None)


# --- consistency with the PGLib-UC rts_gmlc days (issue #8; scripts/pglib_compare.py --rts) ---
PGLIB_DAYS = sorted((PGLIB_DIR / "rts_gmlc").glob("*.json")) if (PGLIB_DIR / "rts_gmlc").is_dir() else []
needs_pglib = pytest.mark.skipif(not PGLIB_DAYS, reason="PGLib-UC rts_gmlc instances not available")


@pytest.fixture(scope="module")
def compare():
    """scripts/pglib_compare.py as a module (it holds the --rts mapping and checks)."""
    f = Path(__file__).resolve().parents[1] / "scripts" / "pglib_compare.py"
    spec = importlib.util.spec_from_file_location("pglib_compare", f)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@needs_pglib
def test_pglib_day_hour_mapping(compare, sys):
    # hour 0 = 2020-01-01 00:00 and 2020 is a leap year (29 Feb shifts March onwards by 24 h)
    assert compare.rts_hour_index("2020-01-27") == 26 * 24
    assert compare.rts_hour_index("2020-03-05") == (31 + 29 + 4) * 24 == 1536
    assert compare.rts_hour_index("2020-12-23") == 8568
    assert len(PGLIB_DAYS) == 12
    for f in PGLIB_DAYS:
        t0 = compare.rts_hour_index(f.stem)
        assert sys.timestamps[t0] == np.datetime64(f.stem + "T00") and t0 + 48 <= sys.n_hours


@needs_pglib
def test_pglib_days_input_data_match(compare, case):
    """Every PGLib day = our case's data for those 48 h, except CSP (0 in PGLib) and the initial state."""
    for f in PGLIB_DAYS:
        c = compare.rts_day_consistency(case, f)
        assert c["demand_max_abs_mw"] < 0.01, f.stem  # PGLib rounds demand to 0.01 MW
        assert c["reserve_max_abs_mw"] < 0.01, f.stem  # both 3 % of load
        assert c["re_max_abs_mw"] < 1e-6, f.stem  # wind, PV, rooftop PV, hydro: identical profiles
        assert c["hydro_rtpv_not_fixed_in_pglib"] == 0, f.stem  # PGLib: min = max (must take)
        assert c["csp_mwh_pglib"] == 0.0 and c["csp_mwh_ours"] > 0.0, f.stem
        for k in ("thermal_only_ours", "thermal_only_pglib", "re_only_ours", "re_only_pglib"):
            assert c[k] == [], (f.stem, k)
        th = c["thermal_max_abs"]
        for k in ("th_pmin", "th_pmax", "th_ramp_up", "th_ramp_down", "th_su_ramp", "th_sd_ramp", "th_min_up",
                  "th_min_down", "th_su_lag"):
            assert th[k] == 0.0, (f.stem, k)
        # PGLib rounds its cost points: $ to 0.01, MW breakpoints to 0.01 (widths within 0.007 MW)
        assert th["th_cost_pmin"] < 0.01 and th["th_su_cost"] < 0.01 and th["th_seg_mw"] < 0.011, f.stem
        assert th["th_seg_cost_rel"] < 1e-3, f.stem
        assert c["must_run_equal"], f.stem
        # PGLib starts every day from the same state (24 units on at Pmin, 2510 MW); ours from
        # the case's neutral one (nuclear only)
        assert (c["pglib_init_on"], c["pglib_init_mw"]) == (24, 2510.0), f.stem
        assert (c["ours_init_on"], c["ours_init_mw"]) == (1, 396.0), f.stem


@needs_pglib
@pytest.mark.skipif(importlib.util.find_spec("highspy") is None, reason="highspy missing")
def test_pglib_day_short_window_same_optimum(compare, case):
    """6 h of 2020-07-06: our copper-plate case under PGLib's conventions has PGLib's optimum."""
    from dispatch.costs import window_cost
    from dispatch.engines import get_engine
    from dispatch.milp import MilpOptions

    f = PGLIB_DIR / "rts_gmlc" / "2020-07-06.json"
    ours, t0, state = compare.rts_day(case, f, "pglib")
    assert t0 == 4488 and ours.n_line == 0 and ours.reserve_ramp_limited
    p = read_pglib(f).to_arrays()
    assert p.init is not None
    opts = MilpOptions(mip_rel_gap=1e-6, time_limit_s=50, threads=1)
    a = get_engine("milp").solve_window(ours, t0, 6, state, None, opts)
    b = get_engine("milp").solve_window(p, 0, 6, p.init.copy(), None, opts)
    assert a.shed.sum() < 1e-6 and b.shed.sum() < 1e-6
    assert a.objective == pytest.approx(window_cost(ours, state, a, None), rel=1e-6)
    # the data agree to PGLib's rounding (< 1e-3 relative on any cost number): the optima agree to 1e-4
    assert a.objective == pytest.approx(b.objective, rel=1e-4)
