"""The exact reference engine: one window as a mixed-integer linear program in HiGHS.

:func:`solve_window` builds the whole window model with vectorised index arithmetic
(:class:`ModelBuilder` collects blocks of variables and rows as index arrays; one sparse
matrix is handed to HiGHS through ``highspy``), solves it, enforces line limits lazily,
re-solves the LP with the binaries fixed for prices, and reads the schedule back into a
:class:`~dispatch.arrays.WindowSolution`. Build, solve and read-back are separate steps
(:func:`build_window`, :func:`solve_model`, :func:`read_solution`) so a caller can inspect
or write the model between them (``model.highs.writeModel("w.lp")``).

Formulation (all in :mod:`dispatch.arrays` conventions)
--------------------------------------------------------
Thermal units, with binaries ``u`` (on), ``v`` (start-up), ``w`` (shut-down), after
Morales-España, Latorre and Ramos (2013), "Tight and compact MILP formulation for the
thermal unit commitment problem", IEEE Trans. Power Syst. 28(4), 4897-4908,
doi:10.1109/TPWRS.2013.2251373:

* logic ``u[t] - u[t-1] = v[t] - w[t]`` (``u[-1]`` from ``state.th_on``);
* min up ``sum(v[t-UT+1..t]) <= u[t]``, min down ``sum(w[t-DT+1..t]) <= 1 - u[t]`` (eqs. 4-5);
  history fixes ``u`` for the first ``UT - th_hours`` (resp. ``DT - th_hours``) hours;
* output ``p = pmin*u + sum_k x_k``, ``0 <= x_k <= seg_mw[k]`` (convex costs);
* capacity with start-up/shut-down capability (eq. 10 for ``UT >= 2``,
  eqs. 11-12 for ``UT == 1``): ``p[t] <= pmax*u[t] - (pmax-SU)*v[t] - (pmax-SD)*w[t+1]``;
  ``SU``/``SD`` (``th_su_ramp``/``th_sd_ramp``) are taken within ``[pmin, pmax]``
  (a unit must reach pmin in its start-up hour);
* ramps on the output above pmin ``p^ = p - pmin*u`` (``p[-1] = state.th_p``):
  ``p^[t] - p^[t-1] <= RU*u[t] + (SU-pmin-RU)*v[t]`` and
  ``p^[t-1] - p^[t] <= RD*u[t-1] + (SD-pmin-RD)*w[t]`` (exact for every on/off pair, and
  tighter in the LP relaxation than the same limits written on ``p``);
* start-up cost by hours offline (eqs. 6-7): ``v[t] = sum_s delta[s,t]``,
  ``delta[s,t] <= sum_{h in [lag_s, lag_{s+1})} w[t-h]`` with the shut-down before the
  window (``state.th_hours`` hours ago) counted as data; the coldest category is free.

Hydro: volume balance with upstream release + spill arriving after ``hy_delay`` (history
from ``state.hy_hist`` exactly as :func:`dispatch.arrays.upstream_arrivals`), volume and
release bounds, spill cost, end-of-window shortfall below ``HydroTargets.v_end`` at
``value_per_hm3``. Storage: energy balance with efficiencies and self-discharge, a binary
forbids simultaneous charge and discharge. Demand response: binary ``active``, starts,
max duration, remaining events (``dr_max_events - state.dr_events_used``), rebound not
while active, paid back after the reduction (cumulative "debt" >= 0, zero at window end,
so total rebound = ``payback_frac`` x total reduction). Exports within bounds earn
``ex_price``. Spinning reserve up: thermal ``pmax*u - p``, hydro ``pmax - k*q``, storage
``min(pdis - dis + ch, eta_dis*(e - emin))``, shortfall at ``reserve_short_cost``.
Network: bus injections, one system balance per hour (its dual is the price), and DC line
flows ``PTDF @ injection`` within ``±line_max`` added lazily (solve, check every line,
add the violated ones, re-solve) so no returned flow exceeds its rating. Load shedding per
bus at VOLL. DC links: a free-signed flow ``-dc_pmax <= f <= dc_pmax`` per link and hour
(``{link}-flow-t{hour}``), withdrawn at ``dc_from`` and injected at ``dc_to`` in the bus
rows (so the balance and the PTDF line rows see it), no cost, no losses.

With ``sys.reserve_ramp_limited`` (the PGLib-UC convention, Knueven, Ostrowski & Watson
2020) reserve comes from thermal units only, through per-unit ``r >= 0`` that shares the
capacity rows with the output (``p + r <= pmax*u - (pmax-SU)*v - (pmax-SD)*w[t+1]``) and
enters the ramp-up row (``p^[t] + r[t] - p^[t-1] <= RU*u[t] + (SU-pmin-RU)*v[t]``); the
reserve row is ``sum r + shortfall >= requirement``. PGLib writes the ramp-up limit without
the start-up term; the two agree wherever ``RU >= SU - pmin`` (true of every shipped PGLib
unit; elsewhere ours allows up to ``SU - pmin`` in a start-up hour).

Rows and columns are named ``"{component}-{family}-t{hour}"`` (e.g. ``coal_a-minup-t12``,
``sys-balance-t5``, ``west-mid-line-t3``) so infeasibility reports are readable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import highspy
import numpy as np
import scipy.sparse as sp

from .arrays import M3S_TO_HM3_PER_H, HydroTargets, State, SystemArrays, WindowSolution, upstream_arrivals
from .costs import window_cost, window_cost_breakdown
from .errors import EngineError

INF = highspy.kHighsInf

__all__ = [
    "MilpOptions", "ModelBuilder", "WindowModel", "build_window", "new_highs", "read_solution", "solve_model", "solve_window",
]


# mip_lp_solver="ipm": the MIP's root LP by interior point (+ crossover); on a 48 h
# sichuan-2030 window with ~1500 line rows it took ~24 s where the dual simplex had not
# finished after 100 s (node LPs stay on the simplex)
_TUNED = {
    "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False, "mip_allow_restart": False,
    "mip_lp_solver": "ipm",
}


@dataclass(frozen=True)
class MilpOptions:
    """Options of the exact engine.

    Parameters
    ----------
    mip_rel_gap : relative MIP gap at which HiGHS stops.
    time_limit_s : wall-clock limit for all HiGHS runs of one window (None: none).
    threads : HiGHS threads (None: HiGHS default).
    lazy_lines : add line limits only when violated (True) or all up front (False).
    lazy_storage : start with the storage mode binaries relaxed and make one binary only
        where the relaxation charges and discharges a unit in the same hour (exact: the
        final schedule never does both; much faster when simultaneity does not pay).
    repair : when the MIP's schedule breaks a line limit, first re-dispatch its commitment
        with an LP and stop if that is within ``mip_rel_gap`` of the MIP's bound (exact to
        the same tolerance; see :func:`solve_model`); otherwise it starts the next round.
    warm_lp : re-solve the LP relaxation warm-started from the previous basis after line
        rows are added (False: from scratch, with presolve; much faster on the dense PTDF
        rows of the large cases).
    relax_solver : HiGHS ``solver`` for those LP relaxations ("ipm": interior point with
        crossover, ~20 s on a 48 h sichuan-2030 window with 400 line rows where the dual
        simplex had not finished after 90 s; "choose": HiGHS's default, the simplex).
    relax_rounds : LP relaxations solved to find line limits before the MIP (each costs
        ~25 s on a 48 h sichuan-2030 window; the second, with the lines, is often integral,
        and then no MIP is needed: 40 s instead of 140 s on the January window).
    round_start : when the relaxation is fractional, round its commitment up (min up/down
        kept), re-dispatch it and stop if within the gap, else start the MIP from it. Off by
        default: on the July 2030 sichuan-2030 windows the re-dispatch LP (line rows added
        lazily) took 77-319 s, used the whole time limit, and left gaps of 9-63 %.
    line_spread : a line the LP relaxation or a MIP round overloads gets its limit at every
        hour of the window, not only where it was overloaded (fewer rounds).
    warm_start : "native" solves the window with the native engine first (its default
        options) and gives HiGHS that commitment (and demand-response events and storage
        modes) as the first incumbent, completed by the LP with those integers fixed: where
        that LP is within ``mip_rel_gap`` of the relaxation's bound the window is done,
        otherwise branch-and-bound starts from it. The bound and the exactness are HiGHS's
        as without it; what changes is the incumbent a time limit leaves. None: no start.
    output_flag : print the HiGHS log.
    names : pass row/column names to HiGHS (for its log and ``writeModel``; costs ~0.5 s
        on a 48 h x 200-unit window). Error reports name rows either way.
    line_tol : relative tolerance on line ratings when checking flows.
    check_objective : raise if HiGHS's objective differs from ``window_cost``.
    highs_options : any other HiGHS options. The default turns off the RINS/RENS sub-MIP
        heuristics and restarts, which made the toy 48 h window ~5x faster (the UC LP
        relaxation finds incumbents by rounding), and solves the root LP by interior point;
        pass ``{}`` for HiGHS's own defaults.
    """

    mip_rel_gap: float = 1e-4
    time_limit_s: float | None = None
    threads: int | None = None
    lazy_lines: bool = True
    lazy_storage: bool = True
    repair: bool = True
    warm_lp: bool = False
    relax_solver: str = "ipm"
    line_spread: bool = True
    relax_rounds: int = 2
    round_start: bool = False
    warm_start: str | None = None
    output_flag: bool = False
    names: bool = False
    line_tol: float = 1e-6
    check_objective: bool = True
    highs_options: Mapping[str, Any] = field(default_factory=lambda: dict(_TUNED))


_BANNER_SHOWN = False


def new_highs(output_flag: bool = False) -> highspy.Highs:
    """A fresh ``Highs`` with ``output_flag`` set, and without HiGHS's start-up banner.

    HiGHS prints its banner ("Running HiGHS ...") on stdout when the first ``Highs`` of a
    process is constructed, before any option can be set. With ``output_flag`` False that
    first construction runs with file descriptor 1 pointed at ``/dev/null``.
    """
    global _BANNER_SHOWN
    if output_flag or _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        import ctypes
        import os
        import sys as _sys

        _sys.stdout.flush()
        libc = ctypes.CDLL(None)
        libc.fflush(None)
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
                libc.fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(output_flag))
    return h


# ------------------------------------------------------------------------------------------
# a small vectorised model builder
# ------------------------------------------------------------------------------------------
@dataclass
class _Block:
    start: int
    family: str
    comps: Sequence[str]
    pos: np.ndarray  # (m, 2) (hour, component) of each member, in order
    sub: Sequence[str] | None = None


class ModelBuilder:
    """Collects blocks of columns and rows as arrays, then makes one sparse model.

    Every block lives on a grid ``(n, X)`` of (window hour, component); its members are
    named ``"{component}-{family}-t{t0 + hour}"``.
    """

    def __init__(self, t0: int = 0) -> None:
        self.t0 = t0
        self.n_col = 0
        self.n_row = 0
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._cost: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self._rlb: list[np.ndarray] = []
        self._rub: list[np.ndarray] = []
        self._ri: list[np.ndarray] = []
        self._rj: list[np.ndarray] = []
        self._rv: list[np.ndarray] = []
        self.col_blocks: list[_Block] = []
        self.row_blocks: list[_Block] = []
        self.offset = 0.0

    def var(
        self,
        family: str,
        comps: Sequence[str],
        n: int,
        lb: Any = 0.0,
        ub: Any = INF,
        cost: Any = 0.0,
        integer: bool = False,
        sub: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Add an ``(n, len(comps))`` block of columns; returns their indices (same shape)."""
        X = len(comps)
        shape = (n, X)
        m = n * X
        idx = np.arange(self.n_col, self.n_col + m, dtype=np.int64).reshape(shape)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), shape).ravel().copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), shape).ravel().copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=float), shape).ravel().copy())
        self._int.append(np.full(m, 1 if integer else 0, dtype=np.int32))
        tt, xx = np.divmod(np.arange(m), X) if X else (np.zeros(0, int), np.zeros(0, int))
        self.col_blocks.append(_Block(self.n_col, family, comps, np.stack([tt, xx], 1), sub))
        self.n_col += m
        return idx

    def rows(
        self,
        family: str,
        comps: Sequence[str],
        n: int,
        lb: Any,
        ub: Any,
        terms: Sequence[tuple[Any, Any]],
        mask: Any = True,
        sub: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Add rows ``lb <= sum(coef * x[col]) <= ub`` on the grid ``(n, len(comps))``.

        ``terms`` are ``(cols, coefs)`` pairs broadcast to ``(n, X)`` or ``(n, X, J)``; a
        column index ``-1`` (or a zero coefficient) drops the term. ``mask`` selects the
        rows that exist. Returns the grid of row indices (``-1`` where absent).
        """
        X = len(comps)
        shape = (n, X)
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), shape)
        rid = np.full(shape, -1, dtype=np.int64)
        m = int(mask.sum())
        rid[mask] = np.arange(self.n_row, self.n_row + m)
        self._rlb.append(np.broadcast_to(np.asarray(lb, dtype=float), shape)[mask].copy())
        self._rub.append(np.broadcast_to(np.asarray(ub, dtype=float), shape)[mask].copy())
        for cols, coefs in terms:
            cols = np.asarray(cols)
            coefs = np.asarray(coefs, dtype=float)
            extra = max(cols.ndim, coefs.ndim) - 2
            r = rid.reshape(shape + (1,) * max(extra, 0))
            r, c, v = np.broadcast_arrays(r, cols, coefs)
            keep = (r >= 0) & (c >= 0) & (v != 0.0)
            self._ri.append(r[keep].astype(np.int64))
            self._rj.append(c[keep].astype(np.int64))
            self._rv.append(v[keep].astype(float))
        tt, xx = np.nonzero(mask)
        self.row_blocks.append(_Block(self.n_row, family, comps, np.stack([tt, xx], 1), sub))
        self.n_row += m
        return rid

    def add_terms(self, rows: np.ndarray, cols: np.ndarray, coefs: Any) -> None:
        """Add matrix entries to existing rows (any shapes that broadcast; -1 drops)."""
        r, c, v = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(coefs, dtype=float))
        keep = (r >= 0) & (c >= 0) & (v != 0.0)
        self._ri.append(r[keep].astype(np.int64))
        self._rj.append(c[keep].astype(np.int64))
        self._rv.append(v[keep].astype(float))

    # -- names ----------------------------------------------------------------------------
    def _names(self, blocks: list[_Block]) -> list[str]:
        out: list[str] = []
        t0 = self.t0
        for b in blocks:
            comps = b.comps
            fam = b.family
            if b.sub is None:
                out.extend(f"{comps[x]}-{fam}-t{t0 + t}" for t, x in b.pos.tolist())
            else:
                sub = b.sub
                out.extend(f"{comps[x]}-{fam}{sub[x]}-t{t0 + t}" for t, x in b.pos.tolist())
        return out

    def row_names(self) -> list[str]:
        return self._names(self.row_blocks)

    def col_names(self) -> list[str]:
        return self._names(self.col_blocks)

    def _name_at(self, blocks: list[_Block], i: int) -> str:
        for b in reversed(blocks):
            if i >= b.start:
                t, x = b.pos[i - b.start]
                sub = b.sub[x] if b.sub is not None else ""
                return f"{b.comps[x]}-{b.family}{sub}-t{self.t0 + t}"
        raise IndexError(i)

    def row_name(self, i: int) -> str:
        """Name of row ``i`` (works with or without names passed to HiGHS)."""
        return self._name_at(self.row_blocks, i)

    def col_name(self, j: int) -> str:
        """Name of column ``j``."""
        return self._name_at(self.col_blocks, j)

    # -- assembly ---------------------------------------------------------------------------
    def to_lp(self, names: bool = True) -> highspy.HighsLp:
        cat = lambda xs, dt=float: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        A = sp.csc_matrix(
            (cat(self._rv), (cat(self._ri, np.int64), cat(self._rj, np.int64))), shape=(self.n_row, self.n_col)
        )
        A.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_col
        lp.num_row_ = self.n_row
        lp.col_cost_ = cat(self._cost)
        lp.col_lower_ = cat(self._lb)
        lp.col_upper_ = cat(self._ub)
        lp.row_lower_ = cat(self._rlb)
        lp.row_upper_ = cat(self._rub)
        lp.offset_ = float(self.offset)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n_col
        lp.a_matrix_.num_row_ = self.n_row
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        if names:
            lp.col_names_ = self.col_names()
            lp.row_names_ = self.row_names()
        return lp


# ------------------------------------------------------------------------------------------
# the window model
# ------------------------------------------------------------------------------------------
@dataclass
class WindowModel:
    """A built window: the HiGHS object plus the index grids of every variable family."""

    sys: SystemArrays
    t0: int
    n: int
    state: State
    targets: HydroTargets | None
    builder: ModelBuilder
    highs: highspy.Highs
    v: dict[str, np.ndarray]  # variable family -> column indices
    r: dict[str, np.ndarray]  # row family -> row indices (-1 absent)
    inj_load: np.ndarray  # (n, B) fixed withdrawals (load) per bus
    int_cols: np.ndarray
    lines_added: np.ndarray  # (n, L) bool: line row present
    info: dict[str, Any] = field(default_factory=dict)


def _shift(idx: np.ndarray, k: int = 1) -> np.ndarray:
    """Column indices of hour ``t-k`` on the grid of hour ``t`` (``-1`` before the window)."""
    out = np.full_like(idx, -1)
    if k < idx.shape[0]:
        out[k:] = idx[: idx.shape[0] - k]
    return out


def _lagged(idx: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``idx[t - lags[..]]`` on an ``(n, X, J)`` grid, ``-1`` where ``t - lag < 0``.

    ``lags`` has shape ``(X, J)`` (or broadcastable); negative lags mean "no term".
    """
    n, X = idx.shape
    tt = np.arange(n)[:, None, None]
    src = tt - np.asarray(lags)[None]
    ok = (src >= 0) & (np.asarray(lags)[None] >= 0)
    src_c = np.where(ok, src, 0)
    xx = np.broadcast_to(np.arange(X)[None, :, None], src.shape)
    return np.where(ok, idx[src_c, xx], -1)


def build_window(
    sys: SystemArrays,
    t0: int,
    n: int,
    state: State,
    targets: HydroTargets | None = None,
    options: MilpOptions | None = None,
) -> WindowModel:
    """Build the window MILP (hours ``t0 .. t0+n-1``) and pass it to a fresh HiGHS object."""
    opt = options or MilpOptions()
    if not 0 <= t0 < t0 + n <= sys.n_hours:
        raise ValueError(f"window t0={t0}, n={n} outside the system's {sys.n_hours} hours")
    mb = ModelBuilder(t0)
    V: dict[str, np.ndarray] = {}
    R: dict[str, np.ndarray] = {}
    sl = slice(t0, t0 + n)
    B, G, H, S, D, E, L, Rn = sys.n_bus, sys.n_th, sys.n_hy, sys.n_st, sys.n_dr, sys.n_ex, sys.n_line, sys.n_re
    tt = np.arange(n)[:, None]
    reserve = np.asarray(sys.reserve_up_mw[sl], dtype=float)
    has_res = bool(np.any(reserve > 0))
    # injections into each bus, collected as (cols (n, X), coef (X,), bus (X,)) groups
    bus_terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    res_terms: list[tuple[np.ndarray, Any]] = []  # (cols (n,X), coef) summed in the reserve row
    res_const = np.zeros(n)  # constant part of the reserve supply

    # ---------------------------------------------------------------- thermal --------------
    if G:
        names = sys.th_names
        pmin = np.asarray(sys.th_pmin, float)
        pmax = np.asarray(sys.th_pmax, float)
        su = np.clip(sys.th_su_ramp, pmin, pmax)
        sd = np.clip(sys.th_sd_ramp, pmin, pmax)
        ru = np.minimum(sys.th_ramp_up, pmax)
        rd = np.minimum(sys.th_ramp_down, pmax)
        UT = np.maximum(np.asarray(sys.th_min_up, np.int64), 1)
        DT = np.maximum(np.asarray(sys.th_min_down, np.int64), 1)
        on0 = np.asarray(state.th_on, bool)
        h0 = np.asarray(state.th_hours, np.int64)
        p0 = np.where(on0, np.asarray(state.th_p, float), 0.0)
        u_lb = np.zeros((n, G))
        u_ub = np.ones((n, G))
        force_on = on0[None] & (tt < (UT - h0)[None])
        force_off = ~on0[None] & (tt < (DT - h0)[None])
        u_lb[force_on] = 1.0
        u_ub[force_off] = 0.0
        u_lb[np.asarray(sys.th_must_run, bool)[None] & ~force_off] = 1.0
        # a unit above its shut-down capability cannot be off in hour 0
        u_lb[0, on0 & (p0 > sd + 1e-9)] = 1.0
        u = V["th_u"] = mb.var("u", names, n, u_lb, u_ub, sys.th_cost_pmin[None, :], integer=True)
        # v, w are integral once u is (logic + min up/down rows, which exist for UT, DT >= 1)
        v = V["th_v"] = mb.var("su", names, n, 0.0, 1.0)
        w = V["th_w"] = mb.var("sd", names, n, 0.0, 1.0)
        p = V["th_p"] = mb.var("p", names, n, 0.0, pmax[None, :])
        K = sys.th_seg_mw.shape[1]
        segs = []
        for k in range(K):
            segs.append(mb.var(f"seg{k}", names, n, 0.0, sys.th_seg_mw[None, :, k], sys.th_seg_cost[None, :, k]))
        V["th_x"] = np.stack(segs, axis=2) if K else np.zeros((n, G, 0), np.int64)
        u_prev = _shift(u)
        w_next = np.full_like(w, -1)
        w_next[:-1] = w[1:]
        R["th_logic"] = mb.rows(
            "logic", names, n, np.where(tt == 0, on0[None] * 1.0, 0.0), np.where(tt == 0, on0[None] * 1.0, 0.0),
            [(u, 1.0), (u_prev, -1.0), (v, -1.0), (w, 1.0)],
        )
        R["th_pdef"] = mb.rows(
            "pdef", names, n, 0.0, 0.0, [(p, 1.0), (u, -pmin[None]), (V["th_x"], -1.0)]
        )
        long_up = (UT >= 2)[None, :]
        # per-unit reserve (PGLib-UC convention): r enters the capacity and ramp-up rows
        unit_res = has_res and bool(sys.reserve_ramp_limited)
        r_th = np.full((n, G), -1, np.int64)  # -1: no term
        if unit_res:
            r_th = V["th_r"] = mb.var("res", names, n, 0.0, (pmax - pmin)[None])
        R["th_pmax"] = mb.rows(
            "pmax", names, n, -INF, 0.0,
            [(p, 1.0), (r_th, 1.0), (u, -pmax[None]), (v, (pmax - su)[None]), (w_next, (pmax - sd)[None])],
            mask=long_up,
        )
        R["th_pmax_su"] = mb.rows(
            "pmaxsu", names, n, -INF, 0.0, [(p, 1.0), (r_th, 1.0), (u, -pmax[None]), (v, (pmax - su)[None])],
            mask=~long_up,
        )
        R["th_pmax_sd"] = mb.rows(
            "pmaxsd", names, n, -INF, 0.0, [(p, 1.0), (r_th, 1.0), (u, -pmax[None]), (w_next, (pmax - sd)[None])],
            mask=~long_up & (tt < n - 1),
        )
        # ramps on the output above pmin, p^ = p - pmin*u (tight: Morales-España et al. 2013):
        #   p^[t] - p^[t-1] <= RU*u[t]   + (SU - pmin - RU)*v[t]
        #   p^[t-1] - p^[t] <= RD*u[t-1] + (SD - pmin - RD)*w[t]
        # exact for on/on, start-up (p <= SU), shut-down (p[t-1] <= SD) and off/off hours.
        span = pmax - pmin
        ru = np.minimum(ru, span)
        rd = np.minimum(rd, span)
        need_ru = (tt == 0) | (ru < span - 1e-9)[None]
        need_rd = (tt == 0) | (rd < span - 1e-9)[None]
        p_prev = _shift(p)
        ph0 = p0 - pmin * on0
        R["th_rampup"] = mb.rows(
            "rampup", names, n, -INF, np.where(tt == 0, ph0[None], 0.0),
            [(p, 1.0), (r_th, 1.0), (u, -(pmin + ru)[None]), (p_prev, -1.0), (u_prev, pmin[None]),
             (v, -(su - pmin - ru)[None])],
            mask=need_ru,
        )
        R["th_rampdown"] = mb.rows(
            "rampdown", names, n, -INF, np.where(tt == 0, (-ph0 + rd * on0)[None], 0.0),
            [(p_prev, 1.0), (u_prev, -(pmin + rd)[None]), (p, -1.0), (u, pmin[None]), (w, -(sd - pmin - rd)[None])],
            mask=need_rd,
        )
        J = int(min(max(UT.max(), DT.max()), n))
        jj = np.arange(J)[None, :]
        lag_up = np.where(jj < UT[:, None], jj, -1)  # (G, J)
        lag_dn = np.where(jj < DT[:, None], jj, -1)
        R["th_minup"] = mb.rows(
            "minup", names, n, -INF, 0.0, [(_lagged(v, lag_up), 1.0), (u, -1.0)]
        )
        R["th_mindown"] = mb.rows(
            "mindown", names, n, -INF, 1.0, [(_lagged(w, lag_dn), 1.0), (u, 1.0)]
        )
        # start-up categories (Morales-España et al. 2013, eqs. 6-7)
        lag = np.asarray(sys.th_su_lag, np.int64)
        cost = np.asarray(sys.th_su_cost, float)
        Sc = lag.shape[1]
        lo = lag.copy()
        lo[:, 0] = 1
        hi = np.empty_like(lag)  # exclusive
        hi[:, :-1] = lag[:, 1:]
        hi[:, -1] = np.iinfo(np.int64).max
        lo = np.minimum(lo, hi)
        # a category no cheaper than the coldest never helps: it is switched off
        useful = cost < cost[:, -1:] - 1e-12
        useful[:, -1] = True
        useful &= hi > lo
        d_ub = useful[None].astype(float) * np.ones((n, 1, 1))
        comps_gs = [nm for nm in names for _ in range(Sc)]
        sub_gs = [f"{s}" for _ in names for s in range(Sc)]
        delta = mb.var("sucat", comps_gs, n, 0.0, d_ub.reshape(n, G * Sc), np.tile(cost.ravel(), (n, 1)), sub=sub_gs)
        delta = delta.reshape(n, G, Sc)
        V["th_delta"] = delta
        R["th_susum"] = mb.rows("susum", names, n, 0.0, 0.0, [(v, -1.0), (delta, 1.0)])
        # rows delta[s,t] <= sum_{h in [lo, hi)} w[t-h] + [history shut-down in range]
        rowcat = useful.copy()
        rowcat[:, -1] = False
        hmax = int(min(np.where(rowcat, hi - 1, 0).max(initial=0), n - 1))
        if rowcat.any():
            # ragged (unit, category, h) triples with lo <= h < hi, h <= hmax, crossed with t
            lo_c = np.minimum(lo, hmax + 1)
            hi_c = np.minimum(hi, hmax + 1)
            cnt = np.where(rowcat, np.maximum(hi_c - lo_c, 0), 0).ravel()  # (G*Sc,)
            gs = np.repeat(np.arange(G * Sc), cnt)
            first = np.repeat(np.cumsum(cnt) - cnt, cnt)
            hv = lo_c.ravel()[gs] + (np.arange(len(gs)) - first)
            src = tt - hv[None, :]  # (n, M)
            okc = src >= 0
            wl = np.where(okc, w[np.where(okc, src, 0), (gs // Sc)[None, :]], -1)  # (n, M)
            row_of = np.broadcast_to(gs[None, :], wl.shape)
            off_h = np.where(on0, -(10**9), h0)  # hours offline at t=0 (a shut-down then)
            hist_h = (tt[:, :, None] + off_h[None, :, None])  # (n, G, 1): offline hours if starting at t
            hist_in = (hist_h >= lo[None]) & (hist_h < hi[None]) & ~on0[None, :, None]
            R["th_sucat"] = mb.rows(
                "sucat", comps_gs, n, -INF, hist_in.reshape(n, G * Sc).astype(float),
                [(delta.reshape(n, G * Sc), 1.0)], mask=rowcat.reshape(1, G * Sc), sub=sub_gs,
            )
            rid = R["th_sucat"]
            mb.add_terms(rid[tt, row_of], wl, -1.0)
        bus_terms.append((p, np.ones(G), np.asarray(sys.th_bus)))
        if unit_res:
            res_terms.append((r_th, 1.0))
        elif has_res:
            res_terms += [(u, pmax[None]), (p, -1.0)]

    # ---------------------------------------------------------------- renewables -----------
    if Rn:
        avail = np.asarray(sys.re_avail_mw[sl], float)
        avail = np.where(avail > 1e-9, avail, 0.0)
        V["re_p"] = mb.var("p", sys.re_names, n, 0.0, avail, -sys.curtail_cost)
        mb.offset += float(sys.curtail_cost * avail.sum())
        bus_terms.append((V["re_p"], np.ones(Rn), np.asarray(sys.re_bus)))

    # ---------------------------------------------------------------- hydro ----------------
    if H:
        names = sys.hy_names
        k = np.asarray(sys.hy_k, float)
        qmax = np.asarray(sys.hy_pmax, float) / np.where(k > 0, k, 1.0)
        qmin = np.minimum(np.asarray(sys.hy_qmin, float), qmax)
        q = V["hy_q"] = mb.var("q", names, n, 0.0, qmax[None])
        s = V["hy_s"] = mb.var("spill", names, n, 0.0, INF, sys.spill_cost * k[None])
        # the minimum (ecological) flow is on the outflow: water may pass by the turbines
        R["hy_qmin"] = mb.rows("qmin", names, n, np.broadcast_to(qmin[None], (n, H)), INF, [(q, 1.0), (s, 1.0)])
        vol = V["hy_v"] = mb.var("v", names, n, sys.hy_vmin[None], sys.hy_vmax[None])
        c = M3S_TO_HM3_PER_H
        arr_hist = upstream_arrivals(sys, state, t0, n, None)
        rhs = c * (np.asarray(sys.hy_inflow[sl], float) + arr_hist)
        rhs[0] += np.asarray(state.hy_v, float)
        # upstream outflow terms: for plant d, each upstream h with lag: (q+s)[t-lag, h]
        ups = sys.hy_upstream()
        J = max((len(u_) for u_ in ups), default=0)
        terms: list[tuple[Any, Any]] = [(vol, 1.0), (_shift(vol), -1.0), (q, c), (s, c)]
        if J:
            up_idx = np.full((H, J), -1, np.int64)
            for d_, u_ in enumerate(ups):
                up_idx[d_, : len(u_)] = u_
            lagu = np.where(up_idx >= 0, np.asarray(sys.hy_delay)[np.maximum(up_idx, 0)], -1)  # (H, J)
            # map the lagged column grid of the upstream plant onto the downstream row
            src = tt[:, :, None] - lagu[None]  # (n, H, J)
            ok = (src >= 0) & (up_idx[None] >= 0)
            src_c = np.where(ok, src, 0)
            hup = np.broadcast_to(np.maximum(up_idx, 0)[None], src.shape)
            terms += [(np.where(ok, q[src_c, hup], -1), -c), (np.where(ok, s[src_c, hup], -1), -c)]
        R["hy_balance"] = mb.rows("balance", names, n, rhs, rhs, terms)
        if targets is not None:
            short = V["hy_short"] = mb.var("short", names, 1, 0.0, INF, np.asarray(targets.value_per_hm3, float)[None])
            vend = np.asarray(targets.v_end, float)[None]
            R["hy_target"] = mb.rows("target", names, 1, vend, INF, [(short, 1.0), (vol[-1:], 1.0)])
            R["hy_target"] = R["hy_target"]
        bus_terms.append((q, k, np.asarray(sys.hy_bus)))
        if has_res and not sys.reserve_ramp_limited:
            res_terms.append((q, -k[None]))
            res_const += float(np.sum(sys.hy_pmax))

    # ---------------------------------------------------------------- storage --------------
    if S:
        names = sys.st_names
        ch = V["st_ch"] = mb.var("ch", names, n, 0.0, sys.st_pch[None])
        dis = V["st_dis"] = mb.var("dis", names, n, 0.0, sys.st_pdis[None])
        e = V["st_e"] = mb.var("e", names, n, sys.st_emin[None], sys.st_emax[None])
        # 1 = charging allowed; with lazy_storage relaxed until simultaneity shows up
        z = V["st_z"] = mb.var("mode", names, n, 0.0, 1.0, integer=not opt.lazy_storage)
        keep = 1.0 - np.asarray(sys.st_loss, float)
        R["st_ch"] = mb.rows("chmode", names, n, -INF, 0.0, [(ch, 1.0), (z, -sys.st_pch[None])])
        R["st_dis"] = mb.rows("dismode", names, n, -INF, sys.st_pdis[None], [(dis, 1.0), (z, sys.st_pdis[None])])
        rhs = np.zeros((n, S))
        rhs[0] = keep * np.asarray(state.st_e, float)
        R["st_energy"] = mb.rows(
            "energy", names, n, rhs, rhs,
            [(e, 1.0), (_shift(e), -keep[None]), (ch, -sys.st_eta_ch[None]), (dis, 1.0 / sys.st_eta_dis[None])],
        )
        bus_terms.append((dis, np.ones(S), np.asarray(sys.st_bus)))
        bus_terms.append((ch, -np.ones(S), np.asarray(sys.st_bus)))
        if has_res and not sys.reserve_ramp_limited:
            rs = V["st_res"] = mb.var("res", names, n, 0.0, INF)
            R["st_res_p"] = mb.rows("respower", names, n, -INF, sys.st_pdis[None], [(rs, 1.0), (dis, 1.0), (ch, -1.0)])
            R["st_res_e"] = mb.rows(
                "resenergy", names, n, -INF, -(sys.st_eta_dis * sys.st_emin)[None], [(rs, 1.0), (e, -sys.st_eta_dis[None])]
            )
            res_terms.append((rs, 1.0))

    # ---------------------------------------------------------------- demand response ------
    if D:
        names = sys.dr_names
        pm = np.asarray(sys.dr_pmax, float)
        dur = np.asarray(sys.dr_max_dur, np.int64)
        left = np.maximum(np.asarray(sys.dr_max_events, np.int64) - np.asarray(state.dr_events_used, np.int64), 0)
        can = (pm > 0) & (dur > 0) & (left > 0)
        dp = V["dr_p"] = mb.var("p", names, n, 0.0, np.where(can, pm, 0.0)[None], sys.dr_cost[None])
        a = V["dr_a"] = mb.var("active", names, n, 0.0, can[None] * 1.0, integer=True)
        y = V["dr_y"] = mb.var("start", names, n, 0.0, 1.0)
        rb = V["dr_rb"] = mb.var("rebound", names, n, 0.0, pm[None])
        debt = np.full((n, D), INF)
        debt[-1] = 0.0
        dbt = V["dr_debt"] = mb.var("debt", names, n, 0.0, debt)
        eps = np.maximum(1e-3, 1e-6 * pm)
        R["dr_active"] = mb.rows("active", names, n, -INF, 0.0, [(dp, 1.0), (a, -pm[None])])
        R["dr_minp"] = mb.rows("minp", names, n, 0.0, INF, [(dp, 1.0), (a, -eps[None])])
        R["dr_start"] = mb.rows("start", names, n, 0.0, INF, [(y, 1.0), (a, -1.0), (_shift(a), 1.0)])
        Jd = int(min(dur.max(initial=0) + 1, n))
        jj = np.arange(Jd)[None, :]
        lagd = np.where(jj <= dur[:, None], jj, -1)
        R["dr_maxdur"] = mb.rows(
            "maxdur", names, n, -INF, dur[None] * 1.0, [(_lagged(a, lagd), 1.0)], mask=(tt >= dur[None]) & (dur[None] > 0)
        )
        R["dr_events"] = mb.rows("events", names, 1, -INF, left[None] * 1.0, [(y.T[None], 1.0)])
        R["dr_idle"] = mb.rows("idle", names, n, -INF, pm[None], [(rb, 1.0), (a, pm[None])])
        R["dr_payback"] = mb.rows(
            "payback", names, n, 0.0, 0.0,
            [(dbt, 1.0), (_shift(dbt), -1.0), (dp, -np.asarray(sys.dr_payback_frac, float)[None]), (rb, 1.0)],
        )
        bus_terms.append((dp, np.ones(D), np.asarray(sys.dr_bus)))
        bus_terms.append((rb, -np.ones(D), np.asarray(sys.dr_bus)))

    # ---------------------------------------------------------------- exports --------------
    if E:
        xp = V["ex_p"] = mb.var(
            "p", sys.ex_names, n, sys.ex_min[sl], np.maximum(sys.ex_max[sl], sys.ex_min[sl]), -sys.ex_price[None]
        )
        bus_terms.append((xp, -np.ones(E), np.asarray(sys.ex_bus)))

    # ---------------------------------------------------------------- DC links -------------
    if sys.n_dc:
        Kd = sys.n_dc
        pm = np.asarray(sys.dc_pmax, float)[None]
        dcp = V["dc_p"] = mb.var("flow", sys.dc_names, n, -pm, pm)
        bus_terms.append((dcp, -np.ones(Kd), np.asarray(sys.dc_from)))
        bus_terms.append((dcp, np.ones(Kd), np.asarray(sys.dc_to)))

    # ---------------------------------------------------------------- buses, balance -------
    load = np.asarray(sys.load_mw[sl], float)
    shed = V["shed"] = mb.var("shed", sys.bus_names, n, 0.0, np.maximum(load, 0.0), sys.voll)
    inj = V["inj"] = mb.var("inj", sys.bus_names, n, -INF, INF)
    # bus rows: inj_b - sum(sources at b) = shed_b - load_b  ->  inj - sources - shed = -load
    bterms: list[tuple[Any, Any]] = [(inj, 1.0), (shed, -1.0)]
    for cols, coef, bus in bus_terms:
        # scatter each unit's column onto its bus row: grid (n, B, X) with -1 off-bus
        X = cols.shape[1]
        if X == 0:
            continue
        onbus = bus[None, :] == np.arange(B)[:, None]  # (B, X)
        c3 = np.where(onbus[None], cols[:, None, :], -1)
        bterms.append((c3, -np.broadcast_to(coef, (X,))[None, None, :]))
    R["bus"] = mb.rows("bus", sys.bus_names, n, -load, -load, bterms)
    R["balance"] = mb.rows("balance", ("sys",), n, 0.0, 0.0, [(inj[:, None, :], 1.0)])
    if has_res:
        rs_short = V["res_short"] = mb.var("resshort", ("sys",), n, 0.0, INF, sys.reserve_short_cost)
        rterms: list[tuple[Any, Any]] = [(rs_short, 1.0)]
        for cols, coef in res_terms:
            rterms.append((cols[:, None, :], np.asarray(coef)[..., None, :] if np.ndim(coef) else coef))
        R["reserve"] = mb.rows("reserve", ("sys",), n, (reserve - res_const)[:, None], INF, rterms)

    # ---------------------------------------------------------------- lines ----------------
    lines_added = np.zeros((n, L), bool)
    if L and not opt.lazy_lines:
        lines_added[:] = True
        R["line"] = _line_rows(mb, sys, inj, lines_added)

    t_b = time.perf_counter()
    lp = mb.to_lp(names=opt.names)
    h = new_highs(opt.output_flag)
    h.setOptionValue("mip_rel_gap", float(opt.mip_rel_gap))
    if opt.threads is not None:
        h.setOptionValue("threads", int(opt.threads))
    for key, val in opt.highs_options.items():
        if h.setOptionValue(key, val) == highspy.HighsStatus.kError:
            raise ValueError(f"MilpOptions.highs_options: HiGHS rejects {key}={val!r}")
    st = h.passModel(lp)
    if st == highspy.HighsStatus.kError:
        raise EngineError("HiGHS rejected the window model (passModel error)")
    int_cols = np.flatnonzero(np.concatenate(mb._int)) if mb._int else np.zeros(0, np.int64)
    if len(int_cols):
        h.changeColsIntegrality(len(int_cols), int_cols.astype(np.int32), np.ones(len(int_cols), np.uint8))
    model = WindowModel(sys, t0, n, state, targets, mb, h, V, R, load, int_cols, lines_added)
    model.info["pass_s"] = time.perf_counter() - t_b
    return model


def _line_rows(mb: ModelBuilder, sys: SystemArrays, inj: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Rows ``-line_max <= PTDF[l] @ inj[t] <= line_max`` for the (t, l) in ``which``."""
    n = inj.shape[0]
    ptdf = np.where(np.abs(sys.ptdf) > 1e-10, sys.ptdf, 0.0)
    fmax = np.asarray(sys.line_max_mw, float)[None]
    return mb.rows(
        "line", sys.line_names, n, -fmax, fmax, [(inj[:, None, :], ptdf[None])], mask=which
    )


# ------------------------------------------------------------------------------------------
# solve
# ------------------------------------------------------------------------------------------
def _run(model: WindowModel, deadline: float | None) -> str:
    h = model.highs
    # the option persists on the Highs object: always set it (no deadline = no limit)
    h.setOptionValue("time_limit", max(1e-3, deadline - time.perf_counter()) if deadline is not None else float("inf"))
    st = h.run()
    if st == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        # HiGHS fixes its thread pool on first use in a process: an explicit ``threads``
        # that differs from it (e.g. after plan_hydro ran with the default) is refused
        # until the pool is rebuilt
        highspy.Highs.resetGlobalScheduler(True)
        h.run()
    return h.modelStatusToString(h.getModelStatus())


def _has_solution(model: WindowModel) -> bool:
    info = model.highs.getInfo()
    return int(info.primal_solution_status) == 2  # kSolutionStatusFeasible


def _flows(model: WindowModel, x: np.ndarray) -> np.ndarray:
    inj = x[model.v["inj"]]  # (n, B)
    return inj @ model.sys.ptdf.T if model.sys.n_line else np.zeros((model.n, 0))


def _add_violated_lines(model: WindowModel, x: np.ndarray, tol: float, spread: bool = False) -> int:
    """Add the limits of the lines ``x`` overloads (``spread``: at every hour of the window)."""
    sys = model.sys
    if not sys.n_line:
        return 0
    flow = _flows(model, x)
    fmax = np.asarray(sys.line_max_mw, float)[None]
    bad = np.abs(flow) > fmax * (1 + tol) + tol
    if spread:
        bad = np.broadcast_to(bad.any(0)[None], bad.shape)
    bad = bad & ~model.lines_added
    m = int(bad.sum())
    if not m:
        return 0
    mb = model.builder
    r0, nnz0 = mb.n_row, sum(len(a) for a in mb._rv)
    _line_rows(mb, sys, model.v["inj"], bad)
    model.lines_added |= bad
    ri = np.concatenate(mb._ri)[nnz0:] - r0
    rj = np.concatenate(mb._rj)[nnz0:]
    rv = np.concatenate(mb._rv)[nnz0:]
    A = sp.csr_matrix((rv, (ri, rj)), shape=(m, mb.n_col))
    lo, hi = mb._rlb[-1], mb._rub[-1]
    model.highs.addRows(m, lo, hi, A.nnz, A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data)
    if model.info.get("names", True):
        b = mb.row_blocks[-1]
        for i, nm in enumerate(mb._names([b])):
            model.highs.passRowName(r0 + i, nm)
    return m


def _iis_report(model: WindowModel, limit: int = 30) -> str:
    """Names of the rows of an irreducible infeasible subset of the LP relaxation, if any."""
    h = model.highs
    try:
        nint = len(model.int_cols)
        if nint:
            h.changeColsIntegrality(
                nint, model.int_cols.astype(np.int32), np.zeros(nint, np.uint8)
            )
        h.setOptionValue("iis_strategy", 4)  # a true irreducible subset
        h.setOptionValue("iis_time_limit", 10.0)
        h.setOptionValue("time_limit", 30.0)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kInfeasible:
            return "the LP relaxation is feasible: the integer restrictions make the window infeasible"
        st, iis = h.getIis()
        rows = [model.builder.row_name(int(i)) for i in list(iis.row_index_)[:limit]]
        cols = [model.builder.col_name(int(j)) for j in list(iis.col_index_)[:limit]]
        return "irreducible infeasible set: rows " + ", ".join(rows) + "; bounds of " + ", ".join(cols)
    except Exception as exc:  # pragma: no cover - diagnostics only
        return f"(no IIS: {exc})"


def _storage_simultaneous(model: WindowModel, x: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Grid (n, S) of hours where a storage unit both charges and discharges in ``x``."""
    if "st_ch" not in model.v:
        return np.zeros((model.n, 0), bool)
    return (x[model.v["st_ch"]] > tol) & (x[model.v["st_dis"]] > tol)


def _make_storage_binary(model: WindowModel, x: np.ndarray) -> int:
    """Turn the relaxed storage mode variables of simultaneous hours into binaries."""
    sim = _storage_simultaneous(model, x)
    if not sim.any():
        return 0
    cols = model.v["st_z"][sim].astype(np.int32)
    cols = cols[~np.isin(cols, model.int_cols)]
    if not len(cols):
        return 0
    model.highs.changeColsIntegrality(len(cols), cols, np.ones(len(cols), np.uint8))
    model.int_cols = np.union1d(model.int_cols, cols)
    return len(cols)


def _int_values(model: WindowModel, x: np.ndarray) -> np.ndarray:
    """Integer values for ``model.int_cols`` from a solution ``x``: rounded, and a storage
    mode that was relaxed (or mixed charge and discharge) set to the larger of the two."""
    ic = model.int_cols
    val = np.round(x[ic])
    if "st_z" in model.v and len(ic):
        zc = model.v["st_z"].ravel()
        mode = (x[model.v["st_ch"]] >= x[model.v["st_dis"]]).astype(float).ravel()
        pos = np.searchsorted(ic, zc)
        hit = (pos < len(ic)) & (ic[np.minimum(pos, len(ic) - 1)] == zc)
        val[pos[hit]] = mode[hit]
    return val


def _runs(on: np.ndarray) -> list[tuple[bool, int, int]]:
    """Maximal runs ``(value, start, end)`` of a boolean vector."""
    out = []
    a = 0
    for t in range(1, len(on) + 1):
        if t == len(on) or on[t] != on[a]:
            out.append((bool(on[a]), a, t))
            a = t
    return out


def _round_commitment(model: WindowModel, x_rel: np.ndarray) -> np.ndarray:
    """``x_rel`` with a feasible integer commitment: every thermal unit on wherever the
    relaxation has it partly on, off-gaps shorter than the minimum down time filled, on-runs
    shorter than the minimum up time extended; demand response idle; storage modes from the
    larger of charge and discharge (see :func:`_int_values`)."""
    sys, n = model.sys, model.n
    x = np.array(x_rel, dtype=float)
    if "th_u" in model.v:
        u_cols = model.v["th_u"]
        u = x[u_cols] > 1e-6
        UT = np.maximum(np.asarray(sys.th_min_up, np.int64), 1)
        DT = np.maximum(np.asarray(sys.th_min_down, np.int64), 1)
        on0 = np.asarray(model.state.th_on, bool)
        for g in range(sys.n_th):
            col = u[:, g]
            for _ in range(3):
                changed = False
                for val, a, b in _runs(col):
                    if not val and b < n and (a > 0 or on0[g]) and b - a < DT[g]:
                        col[a:b] = True  # an off-gap too short to restart after
                        changed = True
                    elif val and b < n and (a > 0 or not on0[g]) and b - a < UT[g]:
                        col[a : min(n, a + UT[g])] = True  # a start-up too short
                        changed = True
                if not changed:
                    break
            u[:, g] = col
        x[u_cols] = u
    if "dr_a" in model.v:
        x[model.v["dr_a"]] = 0.0
        x[model.v["dr_p"]] = 0.0
    return x


def _fix_integers(model: WindowModel, x: np.ndarray) -> None:
    """Make the model an LP with every integer column fixed at its value in ``x``."""
    ic = model.int_cols.astype(np.int32)
    if not len(ic):
        return
    val = _int_values(model, x)
    model.highs.changeColsIntegrality(len(ic), ic, np.zeros(len(ic), np.uint8))
    model.highs.changeColsBounds(len(ic), ic, val, val)


def _unfix_integers(model: WindowModel) -> None:
    """Undo :func:`_fix_integers` (and storage modes fixed by :func:`_fixed_lp`)."""
    cols = model.int_cols
    if "st_z" in model.v:
        cols = np.union1d(cols, model.v["st_z"].ravel())
    if not len(cols):
        return
    mb = model.builder
    lb = np.concatenate(mb._lb)[cols]
    ub = np.concatenate(mb._ub)[cols]
    c32 = cols.astype(np.int32)
    model.highs.changeColsBounds(len(c32), c32, lb, ub)
    ic = model.int_cols.astype(np.int32)
    model.highs.changeColsIntegrality(len(ic), ic, np.ones(len(ic), np.uint8))


def _fixed_lp(model: WindowModel, x_mip: np.ndarray, opt: MilpOptions) -> tuple[Any, int]:
    """LP with the integers fixed (call :func:`_fix_integers` first), lines added lazily.

    Where the LP mixes charge and discharge of a storage unit its mode is fixed as in
    ``x_mip``. Returns HiGHS's solution (None if the LP is not optimal) and the LP count.
    """
    h = model.highs
    n_lp = 0
    while True:
        _run(model, None)
        n_lp += 1
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None, n_lp
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        added = _add_violated_lines(model, x, opt.line_tol)
        if added and not opt.warm_lp:
            h.clearSolver()  # cold and presolved: far quicker after many line rows (see solve_model)
        sim = _storage_simultaneous(model, x)
        if sim.any():  # keep the MIP's mode where the LP re-mixes charge and discharge
            cols = model.v["st_z"][sim].astype(np.int32)
            mode = (x_mip[model.v["st_ch"]] >= x_mip[model.v["st_dis"]])[sim].astype(float)
            h.changeColsBounds(len(cols), cols, mode, mode)
            added += len(cols)
        if not added:
            return sol, n_lp


def _rel_gap(ub: float, bound: float) -> float:
    """Relative MIP gap of an incumbent ``ub`` over a bound, as HiGHS reports it."""
    return (ub - bound) / max(abs(ub), 1e-9)


def _start_vector(model: WindowModel, sol: WindowSolution) -> np.ndarray:
    """A column vector carrying a schedule's integer decisions (commitment, demand-response
    events, storage modes via charge vs discharge), for :func:`_fix_integers`."""
    x = np.zeros(model.builder.n_col)
    v = model.v
    if "th_u" in v:
        x[v["th_u"]] = np.asarray(sol.th_on, float)
    if "dr_a" in v:
        x[v["dr_a"]] = (np.asarray(sol.dr_p) > 1e-9).astype(float)
    if "st_ch" in v:
        x[v["st_ch"]] = sol.st_ch
        x[v["st_dis"]] = sol.st_dis
    return x


def solve_model(model: WindowModel, options: MilpOptions | None = None,
                start_schedule: WindowSolution | None = None) -> dict[str, Any]:
    """Solve a built window: MIP with lazy lines, then the LP with binaries fixed.

    Lines (and storage modes) the MIP's schedule violates are added and the MIP solved
    again, unless the schedule's commitment, re-dispatched by the LP with those limits
    (``MilpOptions.repair``), already costs within ``mip_rel_gap`` of the MIP's bound: that
    bound holds for the full window too (the MIP had fewer constraints), so the repaired
    schedule is as exact as a further MIP round would be. Otherwise the repaired schedule
    is the next MIP round's starting incumbent.

    ``start_schedule`` (a schedule of the same window, e.g. the native engine's): its integer
    decisions re-dispatched by the LP are the first incumbent (see ``MilpOptions.warm_start``).

    Returns the final primal column values and row duals plus solve statistics.
    """
    opt = options or MilpOptions()
    model.info["names"] = opt.names
    h = model.highs
    t_start = time.perf_counter()
    deadline = t_start + opt.time_limit_s if opt.time_limit_s else None
    rounds = 0
    lp_pre = 0
    repairs = 0
    repaired = False
    times: dict[str, float] = {"relax_s": 0.0, "mip_rounds_s": 0.0, "repair_s": 0.0, "fixed_lp_s": 0.0}
    round_s: list[float] = []
    x_mip = np.zeros(0)
    mip_obj = bound = gap = float("nan")
    mip = len(model.int_cols) > 0
    sol = None  # HiGHS's solution of the final LP, once there is one
    start: Any = None  # a full feasible schedule to start the next MIP round from
    mip_status = "not run"
    lp_rounds = 0

    def repair(x: np.ndarray, bound: float) -> bool:
        """Re-dispatch the commitment of ``x``; True (and ``sol`` set) if within the gap."""
        nonlocal sol, start, repairs, repaired, lp_rounds
        t_f = time.perf_counter()
        _fix_integers(model, x)
        got, n_lp = _fixed_lp(model, x, opt)
        repairs += 1
        ok = False
        if got is not None:
            ub = float(h.getInfo().objective_function_value)
            late = deadline is not None and time.perf_counter() > deadline
            if late or _rel_gap(ub, bound) <= opt.mip_rel_gap:
                sol, repaired, lp_rounds, ok = got, True, n_lp, True
            else:
                start = highspy.HighsSolution()
                start.col_value = list(np.asarray(got.col_value))
                start.value_valid = True
        if not ok:
            _unfix_integers(model)
        times["repair_s"] += time.perf_counter() - t_f
        return ok

    # --- line limits the LP relaxation needs -----------------------------------------------
    obj_rel = -INF  # the last LP relaxation's objective: a bound of the window
    if model.sys.n_line and mip:
        ic = model.int_cols.astype(np.int32)
        h.changeColsIntegrality(len(ic), ic, np.zeros(len(ic), np.uint8))
        obj_prev = -INF
        x_rel = None
        while True:
            # the simplex is quick without line rows, the interior point with them
            h.setOptionValue("solver", opt.relax_solver if model.lines_added.any() else "choose")
            _run(model, deadline)
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                x_rel = None
                break
            lp_pre += 1
            obj = float(h.getInfo().objective_function_value)
            obj_rel = obj
            x_rel = np.asarray(h.getSolution().col_value)
            # the rows only help the MIP; once they stop moving the relaxation's optimum
            # the MIP rounds (and repair) take care of what is left
            if obj - obj_prev <= 0.1 * opt.mip_rel_gap * max(abs(obj), 1.0):
                break
            obj_prev = obj
            if not _add_violated_lines(model, x_rel, opt.line_tol, spread=opt.line_spread):
                break
            if lp_pre >= opt.relax_rounds:
                break
            if not opt.warm_lp:
                # from scratch with presolve: on sichuan-2030 (dense PTDF rows) the dual
                # simplex warm-started after adding ~400 line rows ran > 70 s where a cold
                # presolved solve takes ~3 s
                h.clearSolver()
        h.setOptionValue("solver", "choose")
        h.changeColsIntegrality(len(ic), ic, np.ones(len(ic), np.uint8))
        times["relax_s"] = time.perf_counter() - t_start
        # an integral relaxation is a commitment whose re-dispatch may already be within
        # the gap of the relaxation's bound (often so on sichuan-2030, where the MIP's own
        # root LP is what takes the time); else it is the MIP's starting incumbent
        if x_rel is not None and opt.repair:
            frac = np.abs(x_rel[model.int_cols] - np.round(x_rel[model.int_cols]))
            if frac.max(initial=0.0) <= 1e-6:
                x_mip = x_rel
                mip_obj = bound = obj
                if repair(x_rel, obj):
                    mip_status = "relaxation integral"
            elif opt.round_start:
                # a commitment rounded up from the relaxation, re-dispatched: often within
                # the gap already, else a good first incumbent (HiGHS's own are weak here)
                x_try = _round_commitment(model, x_rel)
                x_mip = x_try
                mip_obj = bound = obj
                if repair(x_try, obj):
                    mip_status = "relaxation rounded"
            if repaired:
                gap = _rel_gap(float(h.getInfo().objective_function_value), bound)
    if start_schedule is not None and mip and not repaired:
        # the given schedule's integers, re-dispatched: done if within the gap of the
        # relaxation's bound, else the first round's incumbent (``start``)
        x_ws = _start_vector(model, start_schedule)
        if repair(x_ws, obj_rel):
            x_mip, mip_obj, bound = x_ws, float(h.getInfo().objective_function_value), obj_rel
            mip_status = "warm start within gap"
            gap = _rel_gap(mip_obj, bound)
    # --- MIP with lazy line limits and lazy storage binaries -----------------------------
    while not repaired:
        if start is not None:
            # a repaired schedule satisfies every row added so far: a full incumbent
            h.setSolution(start)
            start = None
        t_r = time.perf_counter()
        status = _run(model, deadline)
        round_s.append(time.perf_counter() - t_r)
        if not _has_solution(model):
            if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
                raise EngineError(f"window t0={model.t0} n={model.n}: time limit reached before a feasible schedule")
            raise EngineError(
                f"window t0={model.t0} n={model.n}: HiGHS found no feasible schedule ({status}); "
                + _iis_report(model)
            )
        x = np.asarray(h.getSolution().col_value)
        info = h.getInfo()
        mip_obj = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if mip else mip_obj
        gap = float(info.mip_gap) if mip else 0.0
        mip_status = status
        x_mip = x
        added = _add_violated_lines(model, x, opt.line_tol, spread=opt.line_spread) + _make_storage_binary(model, x)
        rounds += 1
        if not added:
            break
        if opt.repair and mip and repair(x, bound):
            gap = _rel_gap(float(h.getInfo().objective_function_value), bound)
            break
        if deadline is not None and time.perf_counter() > deadline:
            raise EngineError(f"window t0={model.t0}: time limit reached while adding lazy constraints")
        if start is None:
            # start the next round from this commitment (HiGHS completes it with an LP)
            ic = model.int_cols.astype(np.int32)
            h.setSolution(len(ic), ic, _int_values(model, x))
    t_mip = time.perf_counter() - t_start
    times["mip_rounds_s"] = t_mip - times["relax_s"] - times["repair_s"]
    # --- fix binaries, re-solve the LP (prices, hottest start-up categories) -------------
    t_lp = time.perf_counter()
    if not repaired:
        _fix_integers(model, x_mip)
        sol, lp_rounds = _fixed_lp(model, x_mip, opt)
        if sol is None:
            status = h.modelStatusToString(h.getModelStatus())
            raise EngineError(f"window t0={model.t0}: LP with fixed commitment not optimal ({status})")
    times["fixed_lp_s"] = time.perf_counter() - t_lp
    x = np.asarray(sol.col_value)
    return {
        "x": x,
        "row_dual": np.asarray(sol.row_dual),
        "lp_objective": float(h.getInfo().objective_function_value),
        "mip_objective": mip_obj,
        "lower_bound": bound,
        "mip_gap": gap,
        "mip_status": mip_status,
        "mip_rounds": rounds,
        "repairs": repairs,
        "repaired": repaired,
        "lp_rounds": lp_rounds,
        "relaxation_line_rounds": lp_pre,
        "mip_s": t_mip,
        "solve_s": time.perf_counter() - t_start,
        "lines_enforced": int(model.lines_added.sum()),
        "storage_binaries": int(np.isin(model.v["st_z"], model.int_cols).sum()) if "st_z" in model.v else 0,
        "round_s": round_s,
        **times,
    }


# ------------------------------------------------------------------------------------------
# read back
# ------------------------------------------------------------------------------------------
def read_solution(model: WindowModel, res: dict[str, Any]) -> WindowSolution:
    """The schedule of a solved window as a :class:`WindowSolution` (objective not set)."""
    sys, n = model.sys, model.n
    x = res["x"]
    V = model.v

    def get(name: str, X: int, lo: float | None = 0.0) -> np.ndarray:
        if name not in V or X == 0:
            return np.zeros((n, X))
        a = np.array(x[V[name]], dtype=float)
        return np.maximum(a, lo) if lo is not None else a

    G = sys.n_th
    on = get("th_u", G) > 0.5
    su = get("th_v", G) > 0.5
    th_p = np.where(on, get("th_p", G), 0.0)
    if G:
        th_p = np.clip(th_p, on * sys.th_pmin[None], sys.th_pmax[None])
    re_p = np.minimum(get("re_p", sys.n_re), np.maximum(sys.re_avail_mw[model.t0 : model.t0 + n], 0.0))
    st_ch = get("st_ch", sys.n_st)
    st_dis = get("st_dis", sys.n_st)
    dr_p = get("dr_p", sys.n_dr)
    active = get("dr_a", sys.n_dr) > 0.5
    dr_p = np.where(active, dr_p, 0.0)
    dr_rb = np.where(active, 0.0, get("dr_rb", sys.n_dr))
    inj = get("inj", sys.n_bus, lo=None)
    flow = inj @ sys.ptdf.T if sys.n_line else np.zeros((n, 0))
    price = np.full(n, np.nan)
    bal = model.r["balance"][:, 0]
    rd = res.get("row_dual")
    if rd is not None and len(rd) > bal.max():
        price = np.asarray(rd)[bal].astype(float)
    return WindowSolution(
        t0=model.t0,
        th_p=th_p,
        th_on=on,
        th_su=su,
        re_p=re_p,
        hy_q=get("hy_q", sys.n_hy),
        hy_s=get("hy_s", sys.n_hy),
        hy_v=get("hy_v", sys.n_hy),
        st_ch=st_ch,
        st_dis=st_dis,
        st_e=get("st_e", sys.n_st),
        dr_p=dr_p,
        dr_rebound=dr_rb,
        ex_p=get("ex_p", sys.n_ex, lo=None),
        shed=get("shed", sys.n_bus),
        res_short=get("res_short", 1)[:, 0] if "res_short" in V else np.zeros(n),
        line_flow=flow,
        price=price,
        objective=float("nan"),
        lower_bound=float(res["lower_bound"]),
        dc_p=np.clip(get("dc_p", sys.n_dc, lo=None), -sys.dc_pmax[None], sys.dc_pmax[None]),
    )


def solve_window(
    sys: SystemArrays,
    t0: int,
    n: int,
    state: State,
    targets: HydroTargets | None,
    options: MilpOptions | None = None,
) -> WindowSolution:
    """Solve hours ``t0 .. t0+n-1`` of ``sys`` exactly (to ``mip_rel_gap``) with HiGHS.

    Parameters
    ----------
    sys : the system arrays.
    t0, n : first hour and number of hours of the window.
    state : the system just before ``t0``.
    targets : end-of-window reservoir targets (None: no water-value penalty).
    options : :class:`MilpOptions`.

    Returns
    -------
    WindowSolution
        ``objective`` is :func:`dispatch.costs.window_cost` of the schedule (checked against
        HiGHS's objective), ``lower_bound`` HiGHS's MIP dual bound, ``price`` the dual of the
        system balance in the LP with the commitment fixed.
    """
    opt = options or MilpOptions()
    t_wall = time.perf_counter()
    warm = None
    if opt.warm_start == "native":
        from . import native

        warm = native.solve_window(sys, t0, n, state, targets)
    elif opt.warm_start is not None:
        raise ValueError(f"MilpOptions.warm_start must be None or 'native', not {opt.warm_start!r}")
    warm_s = time.perf_counter() - t_wall
    model = build_window(sys, t0, n, state, targets, opt)
    build_s = time.perf_counter() - t_wall - warm_s
    res = solve_model(model, opt, start_schedule=warm)
    sol = read_solution(model, res)
    sol.objective = window_cost(sys, state, sol, targets)
    ref = res["lp_objective"]
    if opt.check_objective and abs(sol.objective - ref) > 1e-6 * max(1.0, abs(ref)) + 1e-6:
        parts = window_cost_breakdown(sys, state, sol, targets)
        raise EngineError(
            f"window t0={t0}: window_cost {sol.objective:.6f} != HiGHS objective {ref:.6f}; breakdown {parts}"
        )
    sol.lower_bound = min(float(res["lower_bound"]), sol.objective)
    sol.wall_s = time.perf_counter() - t_wall
    sol.info = {
        "engine": "milp",
        "build_s": build_s,
        "warm_start_s": warm_s,
        "warm_start_objective": None if warm is None else float(warm.objective),
        "solve_s": res["solve_s"],
        "mip_s": res["mip_s"],
        "mip_objective": res["mip_objective"],
        "lp_objective": ref,
        "mip_gap": res["mip_gap"],
        "mip_status": res["mip_status"],
        "mip_rounds": res["mip_rounds"],
        "lp_rounds": res["lp_rounds"],
        "relaxation_line_rounds": res["relaxation_line_rounds"],
        "relax_s": res["relax_s"],
        "mip_rounds_s": res["mip_rounds_s"],
        "repairs": res["repairs"],
        "repaired": res["repaired"],
        "repair_s": res["repair_s"],
        "round_s": res["round_s"],
        "fixed_lp_s": res["fixed_lp_s"],
        "lines_enforced": res["lines_enforced"],
        "storage_binaries": res["storage_binaries"],
        "n_cols": model.builder.n_col,
        "n_rows": model.highs.getNumRow(),
        "n_int": int(len(model.int_cols)),
    }
    return sol
