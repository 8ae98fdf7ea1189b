"""Small hand-made systems for tests, examples and benchmarks of the engines.

``toy_system`` exercises every component (thermal with start-up categories, wind and
solar, a two-plant hydro cascade with travel delay, a battery and a pumped-hydro unit,
demand response with payback, an export link, spinning reserve and a 3-bus network with a
line that congests) at a size the exact MILP solves in a second.
"""

from __future__ import annotations

import numpy as np

from .arrays import State, SystemArrays


def _ptdf_3bus(x: tuple[float, float, float]) -> np.ndarray:
    """PTDF of a 3-bus triangle (lines 0-1, 1-2, 0-2), slack at bus 0."""
    lines = [(0, 1), (1, 2), (0, 2)]
    B = np.zeros((3, 3))
    for (i, j), xl in zip(lines, x):
        b = 1.0 / xl
        B[i, i] += b
        B[j, j] += b
        B[i, j] -= b
        B[j, i] -= b
    Bred = B[1:, 1:]
    X = np.zeros((3, 3))
    X[1:, 1:] = np.linalg.inv(Bred)
    ptdf = np.zeros((3, 3))
    for l, ((i, j), xl) in enumerate(zip(lines, x)):
        ptdf[l] = (X[i] - X[j]) / xl
    return ptdf


def toy_system(hours: int = 48, seed: int = 7, network: bool = True) -> SystemArrays:
    """A 3-bus system with every component; deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    T = hours
    t = np.arange(T)
    hod = t % 24
    daily = 0.75 + 0.25 * np.sin((hod - 8) / 24 * 2 * np.pi)
    base = 900.0 * daily * (1.0 + 0.02 * rng.standard_normal(T))
    load = np.stack([0.2 * base, 0.3 * base, 0.5 * base], axis=1)
    wind = np.clip(0.35 + 0.2 * np.sin(t / 9.0) + 0.05 * rng.standard_normal(T), 0, 1) * 200.0
    solar = np.clip(np.sin((hod - 6) / 12 * np.pi), 0, None) * 150.0
    inflow = np.stack([60.0 + 10 * np.sin(t / 20.0), 15.0 + 0 * t], axis=1)
    ex = np.full((T, 1), 60.0)
    ptdf = _ptdf_3bus((0.1, 0.1, 0.1)) if network else np.zeros((0, 3))
    G = 4
    return SystemArrays(
        name="toy",
        timestamps=np.arange(np.datetime64("2030-07-01T00"), np.datetime64("2030-07-01T00") + T, dtype="datetime64[h]"),
        currency="CNY",
        bus_names=("west", "mid", "east"),
        load_mw=np.ascontiguousarray(load),
        line_names=("west-mid", "mid-east", "west-east") if network else (),
        ptdf=np.ascontiguousarray(ptdf),
        line_max_mw=np.array([400.0, 250.0, 300.0]) if network else np.zeros(0),
        th_names=("coal_a", "coal_b", "gas_cc", "gas_ct"),
        th_kind=("coal", "coal", "gas", "gas"),
        th_bus=np.array([0, 1, 2, 2], dtype=np.int64),
        th_pmin=np.array([150.0, 100.0, 80.0, 10.0]),
        th_pmax=np.array([350.0, 250.0, 200.0, 60.0]),
        th_ramp_up=np.array([80.0, 70.0, 120.0, 60.0]),
        th_ramp_down=np.array([80.0, 70.0, 120.0, 60.0]),
        th_su_ramp=np.array([160.0, 110.0, 120.0, 60.0]),
        th_sd_ramp=np.array([160.0, 110.0, 120.0, 60.0]),
        th_min_up=np.array([8, 6, 3, 1], dtype=np.int64),
        th_min_down=np.array([8, 6, 3, 1], dtype=np.int64),
        th_cost_pmin=np.array([150 * 300.0, 100 * 330.0, 80 * 520.0, 10 * 800.0]),
        th_seg_mw=np.array([[100.0, 100.0], [75.0, 75.0], [60.0, 60.0], [25.0, 25.0]]),
        th_seg_cost=np.array([[280.0, 310.0], [320.0, 350.0], [480.0, 510.0], [780.0, 850.0]]),
        th_su_lag=np.array([[8, 16, 48], [6, 12, 36], [3, 8, 24], [1, 1, 1]], dtype=np.int64),
        th_su_cost=np.array([[40000.0, 60000.0, 90000.0], [25000.0, 40000.0, 60000.0], [8000.0, 12000.0, 16000.0], [1000.0, 1000.0, 1000.0]]),
        th_co2=np.array([0.85, 0.87, 0.37, 0.55]),
        th_must_run=np.zeros(G, dtype=bool),
        re_names=("wind_w", "solar_e"),
        re_kind=("wind", "solar"),
        re_bus=np.array([0, 2], dtype=np.int64),
        re_avail_mw=np.ascontiguousarray(np.stack([wind, solar], axis=1)),
        hy_names=("upper", "lower"),
        hy_kind=("seasonal", "daily"),
        hy_bus=np.array([0, 1], dtype=np.int64),
        hy_k=np.array([1.5, 0.8]),
        hy_pmax=np.array([180.0, 80.0]),
        hy_qmin=np.array([10.0, 5.0]),
        hy_vmin=np.array([5.0, 0.2]),
        hy_vmax=np.array([40.0, 1.0]),
        hy_inflow=np.ascontiguousarray(inflow),
        hy_down=np.array([1, -1], dtype=np.int64),
        hy_delay=np.array([2, 0], dtype=np.int64),
        st_names=("battery_e", "phs_w"),
        st_kind=("li_ion", "pumped_hydro"),
        st_bus=np.array([2, 0], dtype=np.int64),
        st_pch=np.array([50.0, 100.0]),
        st_pdis=np.array([50.0, 100.0]),
        st_emax=np.array([200.0, 800.0]),
        st_emin=np.array([10.0, 0.0]),
        st_eta_ch=np.array([0.95, 0.87]),
        st_eta_dis=np.array([0.95, 0.87]),
        st_loss=np.array([0.0005, 0.0]),
        dr_names=("dr_east",),
        dr_bus=np.array([2], dtype=np.int64),
        dr_pmax=np.array([40.0]),
        dr_cost=np.array([900.0]),
        dr_max_dur=np.array([4], dtype=np.int64),
        dr_max_events=np.array([20], dtype=np.int64),
        dr_payback_frac=np.array([0.5]),
        ex_names=("hvdc_east",),
        ex_bus=np.array([1], dtype=np.int64),
        ex_min=ex * 0.5,
        ex_max=ex,
        ex_price=np.array([250.0]),
        reserve_up_mw=np.full(T, 60.0),
        voll=20000.0,
        reserve_short_cost=2000.0,
        curtail_cost=0.0,
        spill_cost=1.0,
        init=State(
            th_on=np.array([True, False, True, False]),
            th_hours=np.array([10, 3, 5, 30], dtype=np.int64),
            th_p=np.array([250.0, 0.0, 120.0, 0.0]),
            st_e=np.array([100.0, 400.0]),
            hy_v=np.array([20.0, 0.6]),
            hy_hist=np.array([[60.0, 60.0], [0.0, 0.0]]),
            dr_events_used=np.zeros(1, dtype=np.int64),
        ),
        meta={"source": "hand-made test system (dispatch.testing.toy_system)"},
    )


def two_unit_system(load: list[float], network: bool = False) -> SystemArrays:
    """Two thermal units, one bus, nothing else: for hand-worked commitment cases.

    Unit ``cheap``: 50-200 MW at 10/MWh, cost at pmin 500/h, start 1000, min up/down 3 h.
    Unit ``peaker``: 0-100 MW at 50/MWh, cost at pmin 0, start 100, min up/down 1 h.
    """
    T = len(load)
    z = np.zeros
    return SystemArrays(
        name="two-unit",
        timestamps=np.arange(np.datetime64("2030-01-01T00"), np.datetime64("2030-01-01T00") + T, dtype="datetime64[h]"),
        currency="USD",
        bus_names=("b",),
        load_mw=np.asarray(load, dtype=float).reshape(T, 1),
        line_names=(),
        ptdf=z((0, 1)),
        line_max_mw=z(0),
        th_names=("cheap", "peaker"),
        th_kind=("coal", "gas"),
        th_bus=np.array([0, 0], dtype=np.int64),
        th_pmin=np.array([50.0, 0.0]),
        th_pmax=np.array([200.0, 100.0]),
        th_ramp_up=np.array([200.0, 100.0]),
        th_ramp_down=np.array([200.0, 100.0]),
        th_su_ramp=np.array([200.0, 100.0]),
        th_sd_ramp=np.array([200.0, 100.0]),
        th_min_up=np.array([3, 1], dtype=np.int64),
        th_min_down=np.array([3, 1], dtype=np.int64),
        th_cost_pmin=np.array([500.0, 0.0]),
        th_seg_mw=np.array([[150.0], [100.0]]),
        th_seg_cost=np.array([[10.0], [50.0]]),
        th_su_lag=np.array([[1], [1]], dtype=np.int64),
        th_su_cost=np.array([[1000.0], [100.0]]),
        th_co2=np.array([0.9, 0.5]),
        th_must_run=np.zeros(2, dtype=bool),
        re_names=(), re_kind=(), re_bus=z(0, np.int64), re_avail_mw=z((T, 0)),
        hy_names=(), hy_kind=(), hy_bus=z(0, np.int64), hy_k=z(0), hy_pmax=z(0), hy_qmin=z(0),
        hy_vmin=z(0), hy_vmax=z(0), hy_inflow=z((T, 0)), hy_down=z(0, np.int64), hy_delay=z(0, np.int64),
        st_names=(), st_kind=(), st_bus=z(0, np.int64), st_pch=z(0), st_pdis=z(0), st_emax=z(0),
        st_emin=z(0), st_eta_ch=z(0), st_eta_dis=z(0), st_loss=z(0),
        dr_names=(), dr_bus=z(0, np.int64), dr_pmax=z(0), dr_cost=z(0), dr_max_dur=z(0, np.int64),
        dr_max_events=z(0, np.int64), dr_payback_frac=z(0),
        ex_names=(), ex_bus=z(0, np.int64), ex_min=z((T, 0)), ex_max=z((T, 0)), ex_price=z(0),
        reserve_up_mw=z(T),
        voll=1000.0,
        init=State(
            th_on=np.array([False, False]),
            th_hours=np.array([10, 10], dtype=np.int64),
            th_p=np.zeros(2),
            st_e=z(0), hy_v=z(0), hy_hist=z((0, 1)), dr_events_used=z(0, np.int64),
        ),
        meta={"source": "hand-worked two-unit case"},
    )
