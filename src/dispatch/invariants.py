"""Physical and accounting invariants of a window schedule, for every engine.

:func:`check_solution` recomputes everything from the schedule and the system data alone
(nothing from the engine's internals) and returns one readable line per violation, named
like the MILP rows: ``"{component}-{family}-t{hour}: ..."``. :func:`assert_feasible` raises
an ``AssertionError`` listing them. Used by the tests of every engine and by the benches.

Tolerances are relative: a quantity of natural size ``X`` (a unit's ``pmax``, the hour's
load, a reservoir's ``vmax``) may miss by ``tol * max(1, X)``.

Definitions checked (the model of :mod:`dispatch.milp` and ``docs``):

* balance, each hour: thermal + ``k*q`` + renewables + discharge + DR + shed
  = load + exports + charge + rebound;
* thermal: ``pmin <= p <= pmax`` when on, ``p == 0`` when off; ramps ``RU``/``RD`` between
  on hours (hour 0 against ``state.th_p``); in a start-up hour ``p <= SU``, in the last hour
  before a shut-down ``p <= SD`` (``SU``/``SD`` taken within ``[pmin, pmax]``); ``th_su`` is
  exactly "on now, off the hour before"; min up/down with the history in ``state``;
  must-run units on (unless history forces them off);
* hydro: ``0 <= q <= pmax/k``, ``q + s >= min(qmin, pmax/k)``, ``s >= 0``, ``vmin <= v <= vmax``, the mass
  balance with upstream release + spill after ``hy_delay`` (history from ``state.hy_hist``);
* storage: power and energy bounds, no simultaneous charge and discharge, the energy
  recursion with efficiencies and self-discharge from ``state.st_e``;
* demand response: ``0 <= dr <= pmax``, ``0 <= rebound <= pmax``, no rebound while active,
  events of at most ``max_dur`` hours, at most ``max_events - used`` events, total rebound
  ``= payback_frac x`` total reduction and never ahead of it (cumulative);
* exports within ``[ex_min, ex_max]``; ``0 <= re_p <= avail``; ``0 <= shed <= load``;
* DC links: ``|dc_p| <= dc_pmax`` (lossless: they leave the balance unchanged);
* lines: ``line_flow == PTDF @ bus injections`` (DC links withdraw ``dc_p`` at
  ``dc_from`` and inject it at ``dc_to``) and ``|flow| <= line_max``;
* reserve: ``res_short >= reserve - headroom`` with headroom thermal ``on*pmax - p``, hydro
  ``pmax - k*q`` and storage ``min(pdis - dis + ch, eta_dis*(e - emin))``; with
  ``sys.reserve_ramp_limited`` (PGLib-UC) thermal units only, each limited by its start-up/
  shut-down capability and ramp-up limit (:func:`thermal_reserve`);
* ``objective == window_cost(...)`` and ``lower_bound <= objective``.
"""

from __future__ import annotations

import numpy as np

from .arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays, WindowSolution, upstream_arrivals
from .costs import window_cost

__all__ = ["assert_feasible", "check_solution", "reserve_headroom", "storage_reserve_headroom", "thermal_reserve"]

_MAX_PER_CHECK = 8


class _Report:
    def __init__(self, t0: int) -> None:
        self.t0 = t0
        self.lines: list[str] = []

    def grid(self, bad: np.ndarray, names, family: str, what: str, value: np.ndarray | None = None) -> None:
        """Report every True cell of an ``(n, X)`` grid (at most a few per family)."""
        bad = np.asarray(bad, bool)
        if not bad.any():
            return
        tt, xx = np.nonzero(bad)
        for i, (t, x) in enumerate(zip(tt.tolist(), xx.tolist())):
            if i == _MAX_PER_CHECK:
                self.lines.append(f"... {family}: {len(tt) - i} more")
                break
            val = "" if value is None else f" ({float(value[t, x]):.6g})"
            self.lines.append(f"{names[x]}-{family}-t{self.t0 + t}: {what}{val}")

    def one(self, line: str) -> None:
        self.lines.append(line)


def storage_reserve_headroom(sys: SystemArrays, sol: WindowSolution) -> np.ndarray:
    """Spinning reserve up a storage unit can give, ``min(pdis - dis + ch, eta_dis*(e - emin))``."""
    return np.maximum(
        np.minimum(
            sys.st_pdis[None] - sol.st_dis + sol.st_ch,
            sys.st_eta_dis[None] * (sol.st_e - sys.st_emin[None]),
        ),
        0.0,
    )


def thermal_reserve(sys: SystemArrays, state: State, on: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(n, G) spinning reserve up each thermal unit can give.

    ``on*(pmax - p)``; with ``sys.reserve_ramp_limited`` PGLib-UC's unit reserve (Knueven,
    Ostrowski & Watson 2020, as :mod:`dispatch.milp` writes it): ``r <= pmax - pmin``,
    ``p + r <= SU`` in a start-up hour and ``<= SD`` in the hour before a shut-down, and
    ``(p - pmin) + r - (p_prev - pmin) <= RU`` while on (``<= SU - pmin`` from off), where
    ``RU < pmax - pmin``; the first hour ramps from ``state.th_p``.
    """
    on = np.asarray(on, bool)
    pmax, pmin = sys.th_pmax[None], sys.th_pmin[None]
    if not sys.reserve_ramp_limited:
        return np.where(on, pmax - p, 0.0)
    on0 = np.asarray(state.th_on, bool)
    prev_on = np.vstack([on0[None], on[:-1]])
    next_on = np.vstack([on[1:], on[-1:]])  # no shut-down after the window's last hour
    start = on & ~prev_on
    su = np.clip(sys.th_su_ramp, sys.th_pmin, sys.th_pmax)[None]
    sd = np.clip(sys.th_sd_ramp, sys.th_pmin, sys.th_pmax)[None]
    cap = np.where(start, su, pmax)
    cap = np.where(on & ~next_on, np.minimum(cap, sd), cap)
    r = np.minimum(cap - p, pmax - pmin)
    span = sys.th_pmax - sys.th_pmin
    ru = np.minimum(sys.th_ramp_up, span)[None]
    p_prev = np.vstack([np.where(on0, np.asarray(state.th_p, float), 0.0)[None], p[:-1]])
    ramp = np.where(start, su - p, ru + p_prev - p)
    limited = (sys.th_ramp_up < span - 1e-9)[None] | (np.arange(on.shape[0]) == 0)[:, None]
    r = np.where(limited, np.minimum(r, ramp), r)
    return np.where(on, np.maximum(r, 0.0), 0.0)


def reserve_headroom(sys: SystemArrays, state: State, sol: WindowSolution) -> np.ndarray:
    """(n,) spinning reserve up the schedule holds: thermal (:func:`thermal_reserve`), plus,
    unless ``sys.reserve_ramp_limited``, hydro ``pmax - k*q`` and storage
    (:func:`storage_reserve_headroom`)."""
    head = np.zeros(sol.n)
    if sys.n_th:
        head += thermal_reserve(sys, state, sol.th_on, sol.th_p).sum(1)
    if not sys.reserve_ramp_limited:
        if sys.n_hy:
            head += (sys.hy_pmax[None] - sol.hy_q * sys.hy_k[None]).sum(1)
        if sys.n_st:
            head += storage_reserve_headroom(sys, sol).sum(1)
    return head


def _runs_ok(
    on: np.ndarray, on0: bool, h0: int, ut: int, dt: int
) -> list[tuple[int, str]]:
    """Min up/down violations of one unit: (hour, message) at each too-early switch."""
    out = []
    cur = bool(on0)
    run = int(h0)
    for t, s in enumerate(on.tolist()):
        if s == cur:
            run += 1
            continue
        need = ut if cur else dt
        if run < need:
            out.append((t, f"switched {'off' if cur else 'on'} after {run} h {'on' if cur else 'off'} (min {need} h)"))
        cur = s
        run = 1
    return out


def check_solution(
    sys: SystemArrays,
    state: State,
    sol: WindowSolution,
    targets: HydroTargets | None = None,
    tol: float = 1e-6,
) -> list[str]:
    """Every violated invariant of ``sol`` (hours ``sol.t0 ..``) as a readable line.

    Parameters
    ----------
    sys : the system.
    state : the state just before ``sol.t0`` the schedule started from.
    sol : the schedule.
    targets : the hydro targets the engine used (enters the objective check).
    tol : relative tolerance (see the module docstring).

    Returns
    -------
    list of str
        Empty when the schedule satisfies every invariant.
    """
    t0, n = sol.t0, sol.n
    sl = slice(t0, t0 + n)
    rep = _Report(t0)
    sizes = {
        "th_p": sys.n_th, "th_on": sys.n_th, "th_su": sys.n_th, "re_p": sys.n_re, "hy_q": sys.n_hy,
        "hy_s": sys.n_hy, "hy_v": sys.n_hy, "st_ch": sys.n_st, "st_dis": sys.n_st, "st_e": sys.n_st,
        "dr_p": sys.n_dr, "dr_rebound": sys.n_dr, "ex_p": sys.n_ex, "shed": sys.n_bus, "line_flow": sys.n_line,
        "dc_p": sys.n_dc,
    }
    for name, X in sizes.items():
        a = np.asarray(getattr(sol, name))
        if a.shape != (n, X):
            rep.one(f"sol.{name}: shape {a.shape}, expected {(n, X)}")
        elif a.dtype != bool and not np.all(np.isfinite(a)):
            rep.one(f"sol.{name}: not finite")
    if np.asarray(sol.res_short).shape != (n,):
        rep.one(f"sol.res_short: shape {np.shape(sol.res_short)}, expected {(n,)}")
    if t0 + n > sys.n_hours:
        rep.one(f"window t0={t0} n={n} beyond the system's {sys.n_hours} hours")
    if rep.lines:
        return rep.lines
    hours = np.arange(n)[:, None]
    load = np.asarray(sys.load_mw[sl], float)
    hy_p = sol.hy_q * sys.hy_k[None]

    # --- energy balance ------------------------------------------------------------------
    inj_total = (
        sol.th_p.sum(1) + hy_p.sum(1) + sol.re_p.sum(1) + sol.st_dis.sum(1) + sol.dr_p.sum(1) + sol.shed.sum(1)
    )
    wd_total = load.sum(1) + sol.ex_p.sum(1) + sol.st_ch.sum(1) + sol.dr_rebound.sum(1)
    resid = inj_total - wd_total
    scale = np.maximum(1.0, np.abs(load).sum(1) + np.abs(sol.ex_p).sum(1))
    rep.grid((np.abs(resid) > tol * scale)[:, None], ("sys",), "balance", "injections - withdrawals", resid[:, None])

    # --- thermal -----------------------------------------------------------------------
    G = sys.n_th
    if G:
        names = sys.th_names
        on = sol.th_on.astype(bool)
        p = sol.th_p
        pmin, pmax = sys.th_pmin[None], sys.th_pmax[None]
        tg = tol * np.maximum(1.0, pmax)
        rep.grid(on & (p < pmin - tg), names, "pmin", "on below pmin", p)
        rep.grid(on & (p > pmax + tg), names, "pmax", "above pmax", p)
        rep.grid(~on & (np.abs(p) > tg), names, "off", "off but producing", p)
        on0 = np.asarray(state.th_on, bool)
        prev_on = np.vstack([on0[None], on[:-1]])
        prev_p = np.vstack([np.where(on0, state.th_p, 0.0)[None], p[:-1]])
        su_flag = on & ~prev_on
        rep.grid(sol.th_su.astype(bool) != su_flag, names, "startflag", "th_su inconsistent with th_on")
        su_cap = np.clip(sys.th_su_ramp, sys.th_pmin, sys.th_pmax)[None]
        sd_cap = np.clip(sys.th_sd_ramp, sys.th_pmin, sys.th_pmax)[None]
        both = on & prev_on
        dp = p - prev_p
        rep.grid(both & (dp > sys.th_ramp_up[None] + tg), names, "rampup", "ramp up exceeded", dp)
        rep.grid(both & (-dp > sys.th_ramp_down[None] + tg), names, "rampdown", "ramp down exceeded", dp)
        rep.grid(su_flag & (p > su_cap + tg), names, "suramp", "start-up hour above SU", p)
        sd_flag = ~on & prev_on
        rep.grid(sd_flag & (prev_p > sd_cap + tg), names, "sdramp", "last hour before shut-down above SD", prev_p)
        ut = np.maximum(sys.th_min_up, 1)
        dt = np.maximum(sys.th_min_down, 1)
        h0 = np.asarray(state.th_hours, np.int64)
        for g in range(G):
            for t, msg in _runs_ok(on[:, g], bool(on0[g]), int(h0[g]), int(ut[g]), int(dt[g])):
                rep.one(f"{names[g]}-{'minup' if 'off after' in msg else 'mindown'}-t{t0 + t}: {msg}")
        forced_off = ~on0[None] & (hours < (dt - h0)[None])
        mr = np.asarray(sys.th_must_run, bool)[None] & ~forced_off
        rep.grid(mr & ~on, names, "mustrun", "must-run unit off")

    # --- renewables, shedding, exports ---------------------------------------------------
    if sys.n_re:
        avail = np.maximum(sys.re_avail_mw[sl], 0.0)
        tr = tol * np.maximum(1.0, avail)
        rep.grid(sol.re_p < -tr, sys.re_names, "curtail", "negative output", sol.re_p)
        rep.grid(sol.re_p > avail + tr, sys.re_names, "curtail", "output above availability (negative curtailment)", sol.re_p)
    tl = tol * np.maximum(1.0, np.abs(load))
    rep.grid(sol.shed < -tl, sys.bus_names, "shed", "negative shedding", sol.shed)
    rep.grid(sol.shed > np.maximum(load, 0.0) + tl, sys.bus_names, "shed", "shedding above load", sol.shed)
    if sys.n_ex:
        te = tol * np.maximum(1.0, np.abs(sys.ex_max[sl]))
        rep.grid(sol.ex_p < sys.ex_min[sl] - te, sys.ex_names, "exmin", "export below minimum", sol.ex_p)
        rep.grid(sol.ex_p > sys.ex_max[sl] + te, sys.ex_names, "exmax", "export above maximum", sol.ex_p)
    if sys.n_dc:
        dmax = np.asarray(sys.dc_pmax, float)[None]
        td = tol * np.maximum(1.0, dmax)
        rep.grid(np.abs(sol.dc_p) > dmax + td, sys.dc_names, "dcmax", "DC link flow above its capacity", sol.dc_p)

    # --- hydro ---------------------------------------------------------------------------
    H = sys.n_hy
    if H:
        names = sys.hy_names
        k = sys.hy_k
        qmax = (sys.hy_pmax / np.where(k > 0, k, 1.0))[None]
        qmin = np.minimum(sys.hy_qmin[None], qmax)
        tq = tol * np.maximum(1.0, qmax)
        out = sol.hy_q + sol.hy_s
        rep.grid(out < qmin - tq, names, "qmin", "outflow (release + spill) below minimum", out)
        rep.grid(sol.hy_q < -tq, names, "q", "negative release", sol.hy_q)
        rep.grid(sol.hy_q > qmax + tq, names, "qmax", "release above pmax/k", sol.hy_q)
        rep.grid(sol.hy_s < -tq, names, "spill", "negative spill", sol.hy_s)
        tv = tol * np.maximum(1.0, sys.hy_vmax)[None]
        rep.grid(sol.hy_v < sys.hy_vmin[None] - tv, names, "vmin", "volume below minimum", sol.hy_v)
        rep.grid(sol.hy_v > sys.hy_vmax[None] + tv, names, "vmax", "volume above maximum", sol.hy_v)
        arr = upstream_arrivals(sys, state, t0, n, sol.hy_q + sol.hy_s)
        prev_v = np.vstack([np.asarray(state.hy_v, float)[None], sol.hy_v[:-1]])
        expect = prev_v + M3S_TO_HM3_PER_H * (sys.hy_inflow[sl] + arr - sol.hy_q - sol.hy_s)
        err = sol.hy_v - expect
        rep.grid(np.abs(err) > tv, names, "balance", "volume != previous + inflow + upstream - release - spill", err)

    # --- storage -------------------------------------------------------------------------
    S = sys.n_st
    if S:
        names = sys.st_names
        tp = tol * np.maximum(1.0, np.maximum(sys.st_pch, sys.st_pdis))[None]
        te = tol * np.maximum(1.0, sys.st_emax)[None]
        rep.grid(sol.st_ch < -tp, names, "ch", "negative charge", sol.st_ch)
        rep.grid(sol.st_ch > sys.st_pch[None] + tp, names, "ch", "charge above rating", sol.st_ch)
        rep.grid(sol.st_dis < -tp, names, "dis", "negative discharge", sol.st_dis)
        rep.grid(sol.st_dis > sys.st_pdis[None] + tp, names, "dis", "discharge above rating", sol.st_dis)
        rep.grid((sol.st_ch > tp) & (sol.st_dis > tp), names, "mode", "charging and discharging at once", sol.st_ch)
        rep.grid(sol.st_e < sys.st_emin[None] - te, names, "emin", "energy below minimum", sol.st_e)
        rep.grid(sol.st_e > sys.st_emax[None] + te, names, "emax", "energy above maximum", sol.st_e)
        prev_e = np.vstack([np.asarray(state.st_e, float)[None], sol.st_e[:-1]])
        expect = prev_e * (1 - sys.st_loss[None]) + sys.st_eta_ch[None] * sol.st_ch - sol.st_dis / sys.st_eta_dis[None]
        err = sol.st_e - expect
        rep.grid(np.abs(err) > te, names, "energy", "energy recursion broken", err)

    # --- demand response ------------------------------------------------------------------
    D = sys.n_dr
    if D:
        names = sys.dr_names
        pm = sys.dr_pmax[None]
        td = tol * np.maximum(1.0, pm)
        rep.grid(sol.dr_p < -td, names, "p", "negative reduction", sol.dr_p)
        rep.grid(sol.dr_p > pm + td, names, "p", "reduction above pmax", sol.dr_p)
        rep.grid(sol.dr_rebound < -td, names, "rebound", "negative rebound", sol.dr_rebound)
        rep.grid(sol.dr_rebound > pm + td, names, "rebound", "rebound above pmax", sol.dr_rebound)
        active = sol.dr_p > 1e-6  # the same threshold as dispatch.arrays.advance_state
        rep.grid(active & (sol.dr_rebound > td), names, "idle", "rebound while active", sol.dr_rebound)
        starts = active & ~np.vstack([np.zeros((1, D), bool), active[:-1]])
        left = sys.dr_max_events - state.dr_events_used
        for d in np.flatnonzero(starts.sum(0) > left):
            rep.one(f"{names[d]}-events: {int(starts[:, d].sum())} events, {int(left[d])} left")
        for d in range(D):
            run = 0
            for t in range(n):
                run = run + 1 if active[t, d] else 0
                if run == int(sys.dr_max_dur[d]) + 1:
                    rep.one(f"{names[d]}-maxdur-t{t0 + t}: event longer than {int(sys.dr_max_dur[d])} h")
        frac = sys.dr_payback_frac[None]
        debt = np.cumsum(frac * sol.dr_p - sol.dr_rebound, axis=0)
        tot = tol * np.maximum(1.0, pm * n)
        rep.grid(debt < -tot, names, "payback", "rebound ahead of the reduction it pays back", debt)
        rep.grid(np.abs(debt[-1:]) > tot[-1:] if n else np.zeros((0, D), bool), names, "payback",
                 "total rebound != payback_frac x total reduction", debt[-1:])

    # --- network -------------------------------------------------------------------------
    B = sys.n_bus
    inj = -load + sol.shed
    for vals, bus in (
        (sol.th_p, sys.th_bus), (hy_p, sys.hy_bus), (sol.re_p, sys.re_bus), (sol.st_dis - sol.st_ch, sys.st_bus),
        (sol.dr_p - sol.dr_rebound, sys.dr_bus), (-sol.ex_p, sys.ex_bus),
        (-sol.dc_p, sys.dc_from), (sol.dc_p, sys.dc_to),
    ):
        if vals.shape[1]:
            m = (np.asarray(bus)[None, :] == np.arange(B)[:, None]).astype(float)  # (B, X)
            inj = inj + vals @ m.T
    if sys.n_line:
        flow = inj @ sys.ptdf.T
        fmax = sys.line_max_mw[None]
        tf = tol * np.maximum(1.0, fmax)
        rep.grid(np.abs(flow - sol.line_flow) > tf, sys.line_names, "flow", "line_flow != PTDF @ injections", sol.line_flow - flow)
        rep.grid(np.abs(flow) > fmax + tf, sys.line_names, "line", "flow above rating", flow)

    # --- reserve ---------------------------------------------------------------------------
    req = np.asarray(sys.reserve_up_mw[sl], float)
    head = reserve_headroom(sys, state, sol)
    tr = tol * np.maximum(1.0, req)
    rep.grid((sol.res_short < -tr)[:, None], ("sys",), "reserve", "negative shortfall", sol.res_short[:, None])
    need = req - head
    rep.grid((sol.res_short < need - tr)[:, None], ("sys",), "reserve", "shortfall under-reported", (need - sol.res_short)[:, None])

    # --- objective -----------------------------------------------------------------------
    cost = window_cost(sys, state, sol, targets)
    if not np.isfinite(sol.objective) or abs(sol.objective - cost) > tol * max(1.0, abs(cost)):
        rep.one(f"objective {sol.objective!r} != window_cost {cost!r}")
    if np.isfinite(sol.lower_bound) and sol.lower_bound > sol.objective + tol * max(1.0, abs(sol.objective)):
        rep.one(f"lower_bound {sol.lower_bound!r} above objective {sol.objective!r}")
    return rep.lines


def assert_feasible(
    sys: SystemArrays,
    state: State,
    sol: WindowSolution,
    targets: HydroTargets | None = None,
    tol: float = 1e-6,
) -> None:
    """Raise ``AssertionError`` listing every violated invariant (see :func:`check_solution`)."""
    bad = check_solution(sys, state, sol, targets, tol)
    if bad:
        raise AssertionError(f"{len(bad)} invariant violation(s) in window t0={sol.t0}:\n  " + "\n  ".join(bad))
