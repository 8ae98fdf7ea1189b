"""The flat, typed arrays every engine sees, and the state carried between windows.

This module is the contract between the I/O layer (``case.py``/``compile.py``/``pglib.py``)
and the engines (``milp.py``, ``native.py``). Engines never read files, frames or the
pandapower net: they get a :class:`SystemArrays`, a start hour, a window length, a
:class:`State` and :class:`HydroTargets`, and return a :class:`WindowSolution`.

Conventions (stated once)
-------------------------
* Time is hourly; ``T`` rows. Power in MW, energy in MWh, water volume in hm3 (10^6 m3),
  water flow in m3/s, money in the case's currency (``SystemArrays.currency``).
* Injection is positive: generation, storage discharge, demand response and load shedding
  inject; load, storage charge, DR payback (rebound) and exports withdraw.
* One hour of a flow of 1 m3/s is ``M3S_TO_HM3_PER_H`` = 0.0036 hm3.
* Thermal cost: ``cost_pmin`` (currency/h) when on at ``pmin``, plus convex piecewise-linear
  segments above ``pmin``: ``p = pmin*on + sum_k x_k``, ``0 <= x_k <= seg_mw[k]``, at
  ``seg_cost[k]`` (currency/MWh, non-decreasing in k).
* Start-up cost by time offline: start-up category ``s`` applies when the unit has been off
  for ``h`` hours with ``su_lag[s] <= h < su_lag[s+1]`` (``su_lag[0]`` is 1 or min-down);
  rows are padded by repeating the last category so all units have ``S`` columns.
* Hydro: ``p = k * q`` (``k`` in MW per m3/s). A plant's outflow (release ``q`` + spill ``s``)
  reaches plant ``down`` after ``delay_h`` hours. Volume is end-of-hour:
  ``v[t] = v[t-1] + 0.0036*(inflow[t] + upstream_outflow[t-delay] - q[t] - s[t])``.
* Storage: ``e[t] = e[t-1]*(1-loss) + eta_ch*ch[t] - dis[t]/eta_dis``, end-of-hour energy.
* Demand response: reduction ``dr[t] <= pmax`` in events of at most ``max_dur_h``
  consecutive hours, at most the remaining events of the year; ``payback_frac`` of the
  reduced energy is consumed again (rebound) later inside the same window at up to ``pmax``.
* Exports withdraw ``ex_min[t] <= x[t] <= ex_max[t]`` and earn ``ex_price`` per MWh
  (a negative cost).
* DC links (two-terminal HVDC lines, ``K``): a controllable flow ``dc_p`` (MW, positive
  from ``dc_from`` to ``dc_to``) within ``-dc_pmax <= dc_p <= dc_pmax``; the link injects
  ``-dc_p`` at ``dc_from`` and ``+dc_p`` at ``dc_to`` (lossless, no cost), so it never
  changes the system balance, only where power is injected (and hence the AC line flows).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

M3S_TO_HM3_PER_H = 0.0036

FloatArr = np.ndarray
IntArr = np.ndarray


@dataclass(frozen=True, eq=False)
class SystemArrays:
    """Everything an engine needs about a system over its whole horizon (``T`` hours).

    All arrays are C-contiguous; floats are float64, indices/hours int64, flags bool.
    Time-dependent arrays have time as the first axis.
    """

    name: str
    timestamps: np.ndarray  # (T,) datetime64[h], hour-beginning, local time
    currency: str
    # --- buses and load ---------------------------------------------------------------
    bus_names: tuple[str, ...]
    load_mw: FloatArr  # (T, B)
    # --- network (L == 0 means copper plate) ----------------------------------------
    line_names: tuple[str, ...]
    ptdf: FloatArr  # (L, B) MW flow per MW injected at bus (withdrawn at the slack)
    line_max_mw: FloatArr  # (L,)
    # --- thermal units (G) ---------------------------------------------------------------
    th_names: tuple[str, ...]
    th_kind: tuple[str, ...]  # 'coal', 'gas', 'oil', 'nuclear', 'biomass', ...
    th_bus: IntArr  # (G,)
    th_pmin: FloatArr
    th_pmax: FloatArr
    th_ramp_up: FloatArr  # MW/h while on
    th_ramp_down: FloatArr
    th_su_ramp: FloatArr  # max output in the start-up hour
    th_sd_ramp: FloatArr  # max output in the hour before shut-down
    th_min_up: IntArr  # h
    th_min_down: IntArr  # h
    th_cost_pmin: FloatArr  # currency/h when on at pmin (no-load + pmin energy)
    th_seg_mw: FloatArr  # (G, K)
    th_seg_cost: FloatArr  # (G, K) currency/MWh, non-decreasing
    th_su_lag: IntArr  # (G, S) hours offline where category starts, ascending
    th_su_cost: FloatArr  # (G, S) currency per start
    th_co2: FloatArr  # t/MWh
    th_must_run: np.ndarray  # (G,) bool
    # --- wind / solar / other non-dispatchable (R) -------------------------------------
    re_names: tuple[str, ...]
    re_kind: tuple[str, ...]  # 'wind', 'solar', 'hydro_ror', 'csp', ...
    re_bus: IntArr
    re_avail_mw: FloatArr  # (T, R)
    # --- hydro plants with reservoirs, cascades (H) -----------------------------------
    hy_names: tuple[str, ...]
    hy_kind: tuple[str, ...]  # regulation: 'multi-year','annual','seasonal','weekly','daily','ror'
    hy_bus: IntArr
    hy_k: FloatArr  # MW per m3/s
    hy_pmax: FloatArr  # MW
    hy_qmin: FloatArr  # m3/s minimum (ecological) outflow: release + spill
    hy_vmin: FloatArr  # hm3
    hy_vmax: FloatArr  # hm3
    hy_inflow: FloatArr  # (T, H) m3/s local (incremental) natural inflow
    hy_down: IntArr  # (H,) index of downstream plant, -1 if none
    hy_delay: IntArr  # (H,) h travel time to the downstream plant
    # --- storage: pumped hydro and new-type (S) --------------------------------------
    st_names: tuple[str, ...]
    st_kind: tuple[str, ...]  # 'pumped_hydro', 'li_ion', 'caes', 'flow', ...
    st_bus: IntArr
    st_pch: FloatArr  # MW charge
    st_pdis: FloatArr  # MW discharge
    st_emax: FloatArr  # MWh
    st_emin: FloatArr  # MWh
    st_eta_ch: FloatArr
    st_eta_dis: FloatArr
    st_loss: FloatArr  # fraction of energy lost per hour
    # --- demand response (D) --------------------------------------------------------------
    dr_names: tuple[str, ...]
    dr_bus: IntArr
    dr_pmax: FloatArr  # MW
    dr_cost: FloatArr  # currency/MWh reduced
    dr_max_dur: IntArr  # h per event
    dr_max_events: IntArr  # events per year
    dr_payback_frac: FloatArr  # fraction of reduced energy consumed again later
    # --- exports / interconnectors (E) ------------------------------------------------
    ex_names: tuple[str, ...]
    ex_bus: IntArr
    ex_min: FloatArr  # (T, E) MW
    ex_max: FloatArr  # (T, E) MW
    ex_price: FloatArr  # (E,) currency/MWh earned
    # --- system ------------------------------------------------------------------------
    reserve_up_mw: FloatArr  # (T,)
    voll: float = 10000.0  # currency/MWh of load shed
    reserve_short_cost: float = 1000.0  # currency/MW-h of spinning reserve short
    curtail_cost: float = 0.0  # currency/MWh of wind/solar/ROR curtailed
    spill_cost: float = 1.0  # currency/MWh-equivalent of hydro spill (k * s)
    init: "State | None" = None  # state before hour 0
    meta: dict[str, Any] = field(default_factory=dict)
    # when True, spinning reserve is provided by thermal units only, through per-unit
    # reserve r_g limited with the output by capacity with start-up/shut-down capability
    # (p + r <= pmax*u - (pmax-SU)*v - (pmax-SD)*w[t+1]) and by the ramp-up limit
    # (p^[t] + r[t] - p^[t-1] <= RU, on output above pmin): the PGLib-UC convention
    # (Knueven, Ostrowski & Watson 2020). False: reserve = headroom pmax*u - p (+ hydro, storage).
    reserve_ramp_limited: bool = False
    # --- DC links: two-terminal, lossless, controllable (K); see the module conventions ---
    dc_names: tuple[str, ...] = ()
    dc_from: IntArr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (K,) bus index
    dc_to: IntArr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (K,) bus index
    dc_pmax: FloatArr = field(default_factory=lambda: np.zeros(0))  # (K,) MW in either direction

    # -- sizes -------------------------------------------------------------------------
    @property
    def n_hours(self) -> int:
        return int(self.load_mw.shape[0])

    @property
    def n_bus(self) -> int:
        return len(self.bus_names)

    @property
    def n_line(self) -> int:
        return len(self.line_names)

    @property
    def n_th(self) -> int:
        return len(self.th_names)

    @property
    def n_re(self) -> int:
        return len(self.re_names)

    @property
    def n_hy(self) -> int:
        return len(self.hy_names)

    @property
    def n_st(self) -> int:
        return len(self.st_names)

    @property
    def n_dr(self) -> int:
        return len(self.dr_names)

    @property
    def n_ex(self) -> int:
        return len(self.ex_names)

    @property
    def n_dc(self) -> int:
        return len(self.dc_names)

    @property
    def max_delay(self) -> int:
        return int(self.hy_delay.max()) if self.n_hy else 0

    def hy_upstream(self) -> list[list[int]]:
        """For each hydro plant, the indices of plants directly upstream of it."""
        ups: list[list[int]] = [[] for _ in range(self.n_hy)]
        for h, d in enumerate(self.hy_down):
            if d >= 0:
                ups[int(d)].append(h)
        return ups

    def with_(self, **changes: Any) -> "SystemArrays":
        """A copy with some fields replaced (the arrays are shared, not copied)."""
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class State:
    """What carries from one window to the next (the system just before hour ``t0``)."""

    th_on: np.ndarray  # (G,) bool
    th_hours: IntArr  # (G,) hours already spent in the current on/off state (>= 1)
    th_p: FloatArr  # (G,) MW in the last hour
    st_e: FloatArr  # (S,) MWh
    hy_v: FloatArr  # (H,) hm3
    hy_hist: FloatArr  # (H, max(1, max_delay)) outflow q+s in m3/s; column j = hour t0-1-j
    dr_events_used: IntArr  # (D,) events already used this year

    def copy(self) -> "State":
        return State(**{f.name: np.array(getattr(self, f.name), copy=True) for f in fields(self)})


def initial_state(sys: SystemArrays) -> State:
    """The state before hour 0: the case's own ``init`` or a neutral default.

    The default has must-run units on at pmin for their min-up time, others off long enough
    to be free to start, storage at half energy, reservoirs half full, no upstream history.
    """
    if sys.init is not None:
        return sys.init.copy()
    G = sys.n_th
    on = np.asarray(sys.th_must_run, dtype=bool).copy()
    hours = np.where(on, np.maximum(sys.th_min_up, 1), np.maximum(sys.th_min_down, 1)).astype(np.int64)
    hours = np.maximum(hours, sys.th_su_lag[:, -1] if G and sys.th_su_lag.size else hours)
    return State(
        th_on=on,
        th_hours=hours.astype(np.int64),
        th_p=np.where(on, sys.th_pmin, 0.0).astype(np.float64),
        st_e=(0.5 * (sys.st_emin + sys.st_emax)).astype(np.float64),
        hy_v=(0.5 * (sys.hy_vmin + sys.hy_vmax)).astype(np.float64),
        hy_hist=np.zeros((sys.n_hy, max(1, sys.max_delay))),
        dr_events_used=np.zeros(sys.n_dr, dtype=np.int64),
    )


@dataclass(frozen=True, eq=False)
class HydroTargets:
    """End-of-window reservoir targets from the mid-term plan (``hydro.py``).

    Falling short of ``v_end`` at the window's last hour costs ``value_per_hm3`` per hm3
    (the water value); ending above it earns nothing. ``v_end`` is clipped by the engines'
    physics only through the penalty, never by changing the target.
    """

    v_end: FloatArr  # (H,) hm3
    value_per_hm3: FloatArr  # (H,) currency/hm3


@dataclass(eq=False)
class WindowSolution:
    """An engine's schedule for hours ``t0 .. t0+n-1``. Shapes are ``(n, X)`` unless noted."""

    t0: int
    th_p: FloatArr  # (n, G)
    th_on: np.ndarray  # (n, G) bool
    th_su: np.ndarray  # (n, G) bool start-up in this hour
    re_p: FloatArr  # (n, R) used (available - curtailed)
    hy_q: FloatArr  # (n, H) m3/s release through turbines
    hy_s: FloatArr  # (n, H) m3/s spill
    hy_v: FloatArr  # (n, H) hm3 end of hour
    st_ch: FloatArr  # (n, S) MW
    st_dis: FloatArr  # (n, S) MW
    st_e: FloatArr  # (n, S) MWh end of hour
    dr_p: FloatArr  # (n, D) MW reduced
    dr_rebound: FloatArr  # (n, D) MW paid back
    ex_p: FloatArr  # (n, E) MW exported
    shed: FloatArr  # (n, B) MW load not served
    res_short: FloatArr  # (n,) MW spinning reserve short
    line_flow: FloatArr  # (n, L) MW
    price: FloatArr  # (n,) system marginal price (currency/MWh), nan where not defined
    objective: float  # the engine's objective for the window (incl. water-value penalty)
    lower_bound: float  # a certified lower bound on the window optimum, nan if none
    wall_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    # (n, K) MW DC-link flow from ``dc_from`` to ``dc_to``; None (the default) means no
    # links and becomes an (n, 0) array
    dc_p: FloatArr = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.dc_p is None:
            self.dc_p = np.zeros((self.n, 0))

    @property
    def n(self) -> int:
        return int(self.th_p.shape[0]) if self.th_p.ndim == 2 else int(self.shed.shape[0])

    @property
    def hy_p(self) -> FloatArr:
        raise AttributeError("hy_p needs k: use dispatch.arrays.hydro_power(sys, sol)")

    def head(self, n: int) -> "WindowSolution":
        """The first ``n`` hours (the part a rolling horizon keeps)."""
        kw: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v[:n] if isinstance(v, np.ndarray) else v
        return WindowSolution(**kw)


SOLUTION_ARRAYS = tuple(
    f.name for f in fields(WindowSolution) if f.name not in {"t0", "objective", "lower_bound", "wall_s", "info"}
)


def hydro_power(sys: SystemArrays, sol: WindowSolution) -> FloatArr:
    """Hydro output in MW, ``k * q`` per plant and hour."""
    return sol.hy_q * sys.hy_k[None, :]


def advance_state(sys: SystemArrays, state: State, sol: WindowSolution, keep: int) -> State:
    """The state after the first ``keep`` hours of ``sol`` (which started from ``state``)."""
    if keep <= 0:
        return state.copy()
    on_hist = sol.th_on[:keep]
    G = sys.n_th
    on_last = on_hist[-1] if G else np.zeros(0, dtype=bool)
    hours = np.empty(G, dtype=np.int64)
    for g in range(G):
        run = 0
        for t in range(keep - 1, -1, -1):
            if on_hist[t, g] == on_last[g]:
                run += 1
            else:
                break
        if run == keep and bool(state.th_on[g]) == bool(on_last[g]):
            run += int(state.th_hours[g])
        hours[g] = run
    D = max(1, sys.max_delay)
    out = sol.hy_q[:keep] + sol.hy_s[:keep]  # (keep, H)
    hist = np.zeros((sys.n_hy, D))
    for j in range(D):  # column j = hour (t0+keep-1-j)
        src = keep - 1 - j
        hist[:, j] = out[src] if src >= 0 else state.hy_hist[:, -src - 1]
    starts = np.zeros(sys.n_dr, dtype=np.int64)
    if sys.n_dr:
        active = sol.dr_p[:keep] > 1e-6
        prev = np.zeros(sys.n_dr, dtype=bool)
        for t in range(keep):
            starts += (active[t] & ~prev).astype(np.int64)
            prev = active[t]
    return State(
        th_on=on_last.astype(bool).copy(),
        th_hours=hours,
        th_p=sol.th_p[keep - 1].copy() if G else np.zeros(0),
        st_e=sol.st_e[keep - 1].copy() if sys.n_st else np.zeros(0),
        hy_v=sol.hy_v[keep - 1].copy() if sys.n_hy else np.zeros(0),
        hy_hist=hist,
        dr_events_used=state.dr_events_used + starts,
    )


def upstream_arrivals(sys: SystemArrays, state: State, t0: int, n: int, outflow: FloatArr | None = None) -> FloatArr:
    """Water (m3/s) arriving at each plant from upstream in window hours ``0..n-1``.

    ``outflow`` (n, H) is the window's own release+spill; arrivals that left before the
    window come from ``state.hy_hist``. With ``outflow=None`` only the history is counted.
    """
    arr = np.zeros((n, sys.n_hy))
    for h in range(sys.n_hy):
        d = int(sys.hy_down[h])
        if d < 0:
            continue
        lag = int(sys.hy_delay[h])
        for t in range(n):
            src = t - lag
            if src >= 0:
                if outflow is not None:
                    arr[t, d] += outflow[src, h]
            else:
                arr[t, d] += state.hy_hist[h, -src - 1]
    return arr
