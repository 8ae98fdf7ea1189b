"""Hand-built results and a pandapower net of the toy system, for the checks/report/CLI tests.

A "result" here is a schedule made up by hand (not solved) and turned into a Result with
:func:`dispatch.results.build_result`, so a test controls exactly what is curtailed,
spilled, shed or congested.
"""

from __future__ import annotations

import numpy as np

from dispatch.arrays import WindowSolution, initial_state
from dispatch.results import Result, build_result
from dispatch.testing import toy_system


def fake_result(
    hours: int = 48,
    *,
    re_frac: float = 1.0,
    spill_m3s: float = 0.0,
    shed_mw: float = 0.0,
    line_flow: tuple[float, float, float] = (100.0, -10.0, 5.0),
    export_frac: float = 1.0,
    charge_frac: float = 1.0,
    soc_frac: float = 1.0,
    thermal_above_pmin_mw: float = 0.0,
    engine: str = "milp",
    **sys_changes: object,
) -> Result:
    """Thermal at pmin, renewables at ``re_frac`` of availability, storage full and charging,
    exports at their maximum, hydro releasing 20 m3/s and spilling ``spill_m3s``."""
    s = toy_system(hours)
    if sys_changes:
        s = s.with_(**sys_changes)
    n = hours
    z = np.zeros
    sol = WindowSolution(
        t0=0,
        th_p=np.tile(s.th_pmin, (n, 1)) + thermal_above_pmin_mw,
        th_on=np.ones((n, s.n_th), bool),
        th_su=z((n, s.n_th), bool),
        re_p=s.re_avail_mw * re_frac,
        hy_q=np.full((n, s.n_hy), 20.0),
        hy_s=np.full((n, s.n_hy), float(spill_m3s)),
        hy_v=np.full((n, s.n_hy), 10.0) + np.linspace(0, 1, n)[:, None],
        st_ch=np.tile(s.st_pch, (n, 1)) * charge_frac,
        st_dis=z((n, s.n_st)),
        st_e=np.tile(s.st_emax, (n, 1)) * soc_frac,
        dr_p=z((n, s.n_dr)),
        dr_rebound=z((n, s.n_dr)),
        ex_p=np.array(s.ex_max[:n]) * export_frac,
        shed=np.tile([0.0, 0.0, float(shed_mw)], (n, 1)),
        res_short=z(n),
        line_flow=np.tile(np.asarray(line_flow, float), (n, 1)),
        price=z(n),
        objective=0.0,
        lower_bound=float("nan"),
    )
    win = [dict(window=0, t0=0, hours_kept=n, hours_solved=n, objective=0.0, lower_bound=None, gap_pct=None, wall_s=0.0)]
    return build_result(s, initial_state(s), sol, win, engine=engine, wall_s=0.0)


def toy_net(max_i_ka: float = 2.0):
    """A 500 kV pandapower net of the toy system, elements named like its components."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=100.0)
    b = {n: pp.create_bus(net, 500.0, name=n) for n in ("west", "mid", "east")}
    for nm, f, t in (("west-mid", "west", "mid"), ("mid-east", "mid", "east"), ("west-east", "west", "east")):
        pp.create_line_from_parameters(net, b[f], b[t], length_km=100.0, r_ohm_per_km=0.02, x_ohm_per_km=0.28,
                                       c_nf_per_km=13.0, max_i_ka=max_i_ka, name=nm)
    pp.create_ext_grid(net, b["west"], vm_pu=1.0, name="slack")
    for nm, bus in (("coal_a", "west"), ("coal_b", "mid"), ("gas_cc", "east"), ("gas_ct", "east"), ("upper", "west"), ("lower", "mid")):
        pp.create_gen(net, b[bus], p_mw=0.0, vm_pu=1.0, name=nm)
    pp.create_sgen(net, b["west"], 0.0, name="wind_w")
    pp.create_sgen(net, b["east"], 0.0, name="solar_e")
    pp.create_storage(net, b["east"], 0.0, max_e_mwh=200.0, name="battery_e")
    pp.create_storage(net, b["west"], 0.0, max_e_mwh=800.0, name="phs_w")
    for n in ("west", "mid", "east"):
        pp.create_load(net, b[n], 100.0, name=f"load:{n}")
    pp.create_load(net, b["mid"], 0.0, name="export:hvdc_east")
    return net
