"""Lower a :class:`dispatch.case.Case` to :class:`dispatch.arrays.SystemArrays` (once).

Thermal cost model (per unit, fuel price ``c`` in CNY/GJ plus CO2 price times the
fuel's emission factor): fuel input ``F(p)`` is fixed by the average heat rate at
``p_min`` and at ``p_max``; ``cost_pmin = c F(p_min) + vom p_min``; the range
``p_min..p_max`` is split into :data:`N_SEG` equal segments whose incremental cost is
``c * (F(p_max) - F(p_min)) / (p_max - p_min) * SEG_SHAPE[k] + vom`` (``SEG_SHAPE`` is
increasing with mean 1, so the curve is convex and reproduces ``F(p_max)``).

Start-up categories: hot from ``min_down_h`` offline, warm from ``warm_after_h``, cold from
``cold_after_h``. Start-up / shut-down ramps: ``max(p_min, min(p_max, ramp/2))``.
Spinning reserve: ``max(reserve_min_mw, reserve_frac * load)`` each hour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .arrays import State, SystemArrays

N_SEG = 3
SEG_SHAPE = np.array([0.96, 1.0, 1.04])
#: Start-of-year reservoir level as a share of the regulating range, by regulation type [K]:
#: reservoirs are refilled by October and drawn down towards May.
INIT_FILL = {"multi-year": 0.65, "annual": 0.6, "seasonal": 0.55, "weekly": 0.5, "daily": 0.5, "ror": 0.5}


def _f(df: pl.DataFrame, c: str) -> np.ndarray:
    return np.ascontiguousarray(df[c].to_numpy().astype(np.float64))


def _i(df: pl.DataFrame, c: str) -> np.ndarray:
    return np.ascontiguousarray(df[c].to_numpy().astype(np.int64))


def _c2(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def thermal_costs(th: pl.DataFrame, fuel_price: dict[str, float], co2_price: float) -> dict[str, np.ndarray]:
    """Cost arrays of the thermal units (see module docstring)."""
    pmin, pmax = _f(th, "p_min_mw"), _f(th, "p_max_mw")
    hr1, hr0 = _f(th, "heat_rate_gj_per_mwh"), _f(th, "heat_rate_pmin_gj_per_mwh")
    vom = _f(th, "vom_cny_per_mwh")
    ef = _f(th, "co2_t_per_mwh") / hr1  # t/GJ
    price = np.array([fuel_price[k] for k in th["kind"].to_list()]) + co2_price * ef
    F0, F1 = hr0 * pmin, hr1 * pmax
    span = pmax - pmin
    inc = np.where(span > 0, (F1 - F0) / np.where(span > 0, span, 1.0), 0.0)
    seg_mw = np.repeat((span / N_SEG)[:, None], N_SEG, axis=1)
    seg_cost = (price * inc)[:, None] * SEG_SHAPE[None, :] + vom[:, None]
    return {
        "cost_pmin": price * F0 + vom * pmin,
        "seg_mw": _c2(seg_mw),
        "seg_cost": _c2(seg_cost),
    }


def _pool_dr(dr: pl.DataFrame) -> pl.DataFrame:
    """One DR resource per bus and programme: the yearly tranches (rows with different
    ``in_service_from``) of the same programme at the same bus share cost, duration, events
    and payback, so they are pooled (capacities summed; events are counted per pool, which
    is the programme's rule). This halves the DR count of sichuan-2030 (162 rows -> pools)
    and with it the engines' DR binaries."""
    if dr.height == 0:
        return dr
    keys = ["bus", "program", "cost_cny_per_mwh", "max_dur_h", "max_events", "payback_frac"]
    return (
        dr.group_by(keys, maintain_order=True)
        .agg(pl.col("p_max_mw").sum(), pl.col("name").first().alias("first"))
        .with_columns(("dr_" + pl.col("program") + "_" + pl.col("bus")).alias("name"))
        .drop("first")
    )


def compile_case(case: Any) -> SystemArrays:
    """The flat arrays of ``case`` (shapes, dtypes and contiguity as :mod:`dispatch.arrays` says)."""
    from .network import branch_table, ptdf_from_net

    tb, se, meta = case.tables, case.series, case.meta
    T = se["load"].height
    t0 = np.datetime64(f"{case.year}-01-01T00", "h")
    timestamps = np.arange(t0, t0 + T, dtype="datetime64[h]")
    buses = tb["buses"]
    bus_names = tuple(buses["name"].to_list())
    pos = {n: i for i, n in enumerate(bus_names)}
    bidx = lambda df, c="bus": np.array([pos[b] for b in df[c].to_list()], dtype=np.int64)  # noqa: E731
    load = np.zeros((T, len(bus_names)))
    for c in se["load"].columns:
        if c != "hour":
            load[:, pos[c]] = se["load"][c].to_numpy()
    total_load = load.sum(axis=1)

    # network
    ptdf, br_names = ptdf_from_net(case.net)
    br = branch_table(tb)
    assert br["name"].to_list() == br_names, "branch order of the net differs from the tables"
    line_max = _f(br, "rating_mw")

    # thermal
    th = tb["thermal"]
    cost = thermal_costs(th, meta["fuel_price_cny_per_gj"], meta["co2_price_cny_per_t"])
    pmin, pmax = _f(th, "p_min_mw"), _f(th, "p_max_mw")
    ru, rd = _f(th, "ramp_up_mw_per_h"), _f(th, "ramp_down_mw_per_h")
    mdown = _i(th, "min_down_h")
    su_ramp = np.maximum(pmin, np.minimum(pmax, 0.5 * ru))
    sd_ramp = np.maximum(pmin, np.minimum(pmax, 0.5 * rd))
    lag0 = np.maximum(mdown, 1)
    lag1 = np.maximum(_i(th, "warm_after_h"), lag0 + 1)
    lag2 = np.maximum(_i(th, "cold_after_h"), lag1 + 1)
    su_lag = np.ascontiguousarray(np.stack([lag0, lag1, lag2], axis=1).astype(np.int64))
    su_cost = _c2(np.stack([_f(th, "su_hot_cny"), _f(th, "su_warm_cny"), _f(th, "su_cold_cny")], axis=1))

    # renewables (wind, solar, small hydro)
    re = tb["renewables"]
    avail = np.zeros((T, re.height))
    for j, (kind, prof, p) in enumerate(zip(re["kind"].to_list(), re["profile"].to_list(), re["p_max_mw"].to_list())):
        src = se["ror_pu"] if kind == "hydro_ror" else se["renewables_pu"]
        avail[:, j] = p * src[prof].to_numpy()

    # hydro
    hy = tb["hydro"]
    hnames = hy["name"].to_list()
    hpos = {n: i for i, n in enumerate(hnames)}
    hy_down = np.array([hpos[d] if d else -1 for d in hy["downstream"].to_list()], dtype=np.int64)
    inflow = np.ascontiguousarray(np.stack([se["inflow"][n].to_numpy() for n in hnames], axis=1).astype(np.float64)) if hnames else np.zeros((T, 0))

    # storage, DR, exports
    st, dr, ex = tb["storage"], _pool_dr(tb["dr"]), tb["exports"]
    exs = se["exports"]
    ex_names = ex["name"].to_list()
    ex_min = np.zeros((T, len(ex_names)))
    ex_max = np.zeros((T, len(ex_names)))
    for j, n in enumerate(ex_names):
        ex_min[:, j] = exs[f"{n}_min"].to_numpy()
        ex_max[:, j] = exs[f"{n}_max"].to_numpy()
    reserve = np.maximum(meta["reserve_min_mw"], meta["reserve_frac"] * total_load)

    sys = SystemArrays(
        name=case.name,
        timestamps=timestamps,
        currency="CNY",
        bus_names=bus_names,
        load_mw=_c2(load),
        line_names=tuple(br_names),
        ptdf=_c2(ptdf),
        line_max_mw=line_max,
        th_names=tuple(th["name"].to_list()),
        th_kind=tuple(th["kind"].to_list()),
        th_bus=bidx(th),
        th_pmin=pmin,
        th_pmax=pmax,
        th_ramp_up=ru,
        th_ramp_down=rd,
        th_su_ramp=_c2(su_ramp),
        th_sd_ramp=_c2(sd_ramp),
        th_min_up=_i(th, "min_up_h"),
        th_min_down=mdown,
        th_cost_pmin=_c2(cost["cost_pmin"]),
        th_seg_mw=cost["seg_mw"],
        th_seg_cost=cost["seg_cost"],
        th_su_lag=su_lag,
        th_su_cost=su_cost,
        th_co2=_f(th, "co2_t_per_mwh"),
        th_must_run=np.ascontiguousarray(th["must_run"].to_numpy().astype(bool)),
        re_names=tuple(re["name"].to_list()),
        re_kind=tuple(re["kind"].to_list()),
        re_bus=bidx(re),
        re_avail_mw=_c2(avail),
        hy_names=tuple(hnames),
        hy_kind=tuple(hy["regulation"].to_list()),
        hy_bus=bidx(hy),
        hy_k=_f(hy, "k_mw_per_m3s"),
        hy_pmax=_f(hy, "p_max_mw"),
        hy_qmin=_f(hy, "q_min_m3s"),
        hy_vmin=_f(hy, "v_min_hm3"),
        hy_vmax=_f(hy, "v_max_hm3"),
        hy_inflow=inflow,
        hy_down=hy_down,
        hy_delay=_i(hy, "delay_h"),
        st_names=tuple(st["name"].to_list()),
        st_kind=tuple(st["kind"].to_list()),
        st_bus=bidx(st),
        st_pch=_f(st, "p_ch_mw"),
        st_pdis=_f(st, "p_dis_mw"),
        st_emax=_f(st, "e_max_mwh"),
        st_emin=_f(st, "e_min_mwh"),
        st_eta_ch=_f(st, "eta_ch"),
        st_eta_dis=_f(st, "eta_dis"),
        st_loss=_f(st, "loss_per_h"),
        dr_names=tuple(dr["name"].to_list()),
        dr_bus=bidx(dr),
        dr_pmax=_f(dr, "p_max_mw"),
        dr_cost=_f(dr, "cost_cny_per_mwh"),
        dr_max_dur=_i(dr, "max_dur_h"),
        dr_max_events=_i(dr, "max_events"),
        dr_payback_frac=_f(dr, "payback_frac"),
        ex_names=tuple(ex_names),
        ex_bus=bidx(ex),
        ex_min=_c2(ex_min),
        ex_max=_c2(ex_max),
        ex_price=_f(ex, "price_cny_per_mwh"),
        reserve_up_mw=_c2(reserve),
        voll=float(meta["voll"]),
        meta={},
    )
    init = initial_state(sys, case)
    m = {
        "case": case.name,
        "hydrology": case.hydrology,
        "year": case.year,
        "peak_load_mw": float(total_load.max()),
        "energy_twh": float(total_load.sum() / 1e6),
        "bus_x": buses["lon"].to_list(),
        "bus_y": buses["lat"].to_list(),
        "bus_region": buses["region"].to_list(),
        "bus_kind": buses["kind"].to_list(),
        "line_limit": br["limit"].to_list(),
        "line_from": [pos[b] for b in br["from_bus"].to_list()],
        "line_to": [pos[b] for b in br["to_bus"].to_list()],
        "slack_bus": "cd_south",
        "th_plant": th["plant"].to_list(),
        "hy_basin": hy["basin"].to_list(),
        "hy_stat_share": hy["stat_share"].to_list(),
        "ex_kind": ex["kind"].to_list(),
        "ex_stat_share": ex["stat_share"].to_list(),
        "dr_program": dr["program"].to_list(),
        "hydro_routing": dict(meta["hydro_routing"]),
        "init": init,
        "source": "dispatch.compile.compile_case from networks/sichuan and timeseries/",
    }
    return sys.with_(init=init, meta=m)


def initial_state(sys: SystemArrays, case: Any) -> State:
    """A start-of-year state: reservoirs at :data:`INIT_FILL` of their regulating range, coal
    and biomass units on at ``p_min`` (winter is the thermal season) and free to stop, gas off
    long enough to be cold, storage half full, upstream history = January natural flows."""
    G = sys.n_th
    on = np.array([k in ("coal", "biomass") for k in sys.th_kind], dtype=bool) | sys.th_must_run
    hours = np.where(on, sys.th_min_up, sys.th_su_lag[:, -1] if G else 0).astype(np.int64)
    fill = np.array([INIT_FILL[k] for k in sys.hy_kind])
    hy_v = sys.hy_vmin + fill * (sys.hy_vmax - sys.hy_vmin)
    # natural total flow at each station over the first day
    H = sys.n_hy
    first = sys.hy_inflow[:24].mean(axis=0) if H else np.zeros(0)
    total = first.copy()
    order = _topo_order(sys.hy_down)
    for h in order:
        d = int(sys.hy_down[h])
        if d >= 0:
            total[d] += total[h]
    D = max(1, sys.max_delay)
    return State(
        th_on=on,
        th_hours=np.maximum(hours, 1),
        th_p=np.where(on, sys.th_pmin, 0.0).astype(np.float64),
        st_e=(0.5 * (sys.st_emin + sys.st_emax)).astype(np.float64),
        hy_v=np.ascontiguousarray(hy_v, dtype=np.float64),
        hy_hist=np.ascontiguousarray(np.repeat(total[:, None], D, axis=1), dtype=np.float64),
        dr_events_used=np.zeros(sys.n_dr, dtype=np.int64),
    )


def _topo_order(down: np.ndarray) -> list[int]:
    """Stations ordered upstream first (each before its downstream station)."""
    H = len(down)
    indeg = np.zeros(H, dtype=int)
    for d in down:
        if d >= 0:
            indeg[d] += 1
    order, stack = [], [h for h in range(H) if indeg[h] == 0]
    while stack:
        h = stack.pop()
        order.append(h)
        d = int(down[h])
        if d >= 0:
            indeg[d] -= 1
            if indeg[d] == 0:
                stack.append(d)
    return order
