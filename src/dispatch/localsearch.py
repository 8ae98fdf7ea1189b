"""Numba kernels: local search over a window's thermal commitment (primal improvement).

The Lagrangian commitment is bang-bang where units are alike and the dual has not
converged: whole groups start for a peak, or stay on through hours where they only push
cheaper units down (PGLib's RTS-GMLC winter days: +20-40 % over the MILP optimum before
this search). The search takes a feasible commitment and improves it one unit at a time
with the classic moves of commitment heuristics -- drop a run, merge two runs over the
gap between them, shorten or lengthen a run by 1..``max_shift`` hours (then 2, 4, ... times
``max_shift``: a long run can end half a day earlier), start a new run of
min-up hours over an hour that sheds load or is short of reserve -- each checked for
minimum up/down time (with the history before the window) and the forced hours, each
evaluated exactly on the dispatch model of :func:`dispatch.kernels.dispatch_ahead`:

``cost(on) = running cost (cost at pmin + segments) + start-up cost by hours offline
+ curtailment + export revenue lost + reserve shortfall + unserved load + dump x surplus``

with the flexible (hydro/storage) injection held fixed, and the envelope of the moved
unit recomputed (:func:`dispatch.kernels.ramp_envelope_unit`). For each unit the best
improving move is taken; passes repeat until none improves (or ``max_passes``). A move
is re-dispatched only from the first hour where the commitment or an envelope differs
from the current one, the earlier hours copied from the current commitment's first pass
(:func:`dispatch_cost_from`; the same bits as a full re-dispatch, tested). No
network here: the caller re-solves the improved commitment with the full primal (flows,
network repair) and keeps it only if it is better there.

Every kernel has a plain-Python twin in ``tests/naive.py``, or (the incremental re-dispatch)
is tested against the full one.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit
from .kernels import (dispatch_ahead_from, dispatch_hours, dispatch_hours_from, ramp_envelope_unit, startup_category,
                      thermal_cost_rows)


@njit
def pattern_ok(on, g, init_on, init_h, min_up, min_down, force):
    """Unit ``g``'s column of ``on`` keeps min up/down time (history included) and ``force``
    (1 forced on, -1 forced off)."""
    n = on.shape[0]
    mu = max(min_up[g], 1)
    md = max(min_down[g], 1)
    prev = init_on[g]
    run = init_h[g]
    for t in range(n):
        x = on[t, g]
        if (force[t, g] > 0 and not x) or (force[t, g] < 0 and x):
            return False
        if x != prev:
            if prev and run < mu:
                return False
            if (not prev) and run < md:
                return False
            run = 1
        else:
            run += 1
        prev = x
    return True


@njit
def unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost):
    """Start-up cost of unit ``g`` over the window (category by hours offline, as
    :func:`dispatch.costs.startup_costs`)."""
    n = on.shape[0]
    prev = init_on[g]
    off_h = 0 if init_on[g] else init_h[g]
    total = 0.0
    for t in range(n):
        if on[t, g]:
            if not prev:
                total += su_cost[g, startup_category(su_lag, g, off_h)]
            off_h = 0
        else:
            off_h += 1
        prev = on[t, g]
    return total


@njit
def dispatch_cost(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_tot,
                  curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, dump, res_ramp,
                  prio, rounds):
    """Cost of the merit-order dispatch of a commitment (start-ups excluded) and the (n,)
    flags of hours that shed load or fall short of reserve."""
    e0 = np.empty((0, 0))
    z0 = np.empty(0)
    return dispatch_cost_from(0, e0, z0, e0, z0, z0, z0, on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin,
                              seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve,
                              res_cost, voll, demand, dump, res_ramp, prio, rounds)


@njit
def dispatch_cost_from(t_from, b_p, b_re, b_ex, b_shed, b_sur, b_head, on, elo, ehi, p0, init_on, ru, rd, pmin,
                       pmax, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot,
                       reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds):
    """:func:`dispatch_cost` re-dispatching from hour ``t_from`` on (the first pass before it
    copied from ``b_*``, see :func:`dispatch.kernels.dispatch_ahead_from`): the same bits."""
    p, re_used, ex, shed, surplus, head = dispatch_ahead_from(
        t_from, b_p, b_re, b_ex, b_shed, b_sur, b_head, on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw,
        seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp,
        prio, rounds)
    n = on.shape[0]
    E = ex.shape[1]
    running = thermal_cost_rows(p, on, pmin, cost_pmin, seg_mw, seg_cost)
    total = 0.0
    short_h = np.zeros(n, np.bool_)
    for t in range(n):
        total += running[t]
        short = reserve[t] - head[t]
        if short > 0.0:
            total += res_cost * short
        short_h[t] = short > 1e-6 or shed[t] > 1e-6
        total += curtail_cost * max(re_tot[t] - re_used[t], 0.0)
        for e in range(E):
            total -= ex[t, e] * ex_price[e]
        total += voll * shed[t] + dump * surplus[t]
    return total, short_h


@njit
def _unit_moves(on, g, short_h, min_up, max_shift, ca, cb):
    """Hour ranges ``[ca, cb]`` whose flip is a move of unit ``g`` (see module doc)."""
    n = on.shape[0]
    nc = 0
    t = 0
    while t < n:
        s = t
        while t + 1 < n and on[t + 1, g] == on[s, g]:
            t += 1
        e = t
        # the whole run (drop an on-run, fill an off-gap), its first / last k hours
        ca[nc] = s
        cb[nc] = e
        nc += 1
        # edges moved by k = 1..max_shift hours, then 2, 4, 8, ... times max_shift
        k = 1
        while k <= e - s and nc + 2 <= ca.shape[0]:
            ca[nc] = s
            cb[nc] = s + k - 1
            nc += 1
            ca[nc] = e - k + 1
            cb[nc] = e
            nc += 1
            k = k + 1 if k < max_shift else 2 * k
        if not on[s, g]:
            nc = _cover_moves(g, s, e, short_h, min_up, ca, cb, nc)
        t += 1
    return nc


@njit
def _cover_moves(g, s, e, short_h, min_up, ca, cb, nc):
    """Append new runs of min-up hours of unit ``g`` inside its off-run ``[s, e]`` over each
    short hour there (ending at, centred on, starting at it)."""
    L = max(min_up[g], 1)
    for h in range(s, e + 1):
        if not short_h[h]:
            continue
        for a0 in (h - L + 1, h - (L - 1) // 2, h):
            a = max(a0, s)
            b = min(a + L - 1, e)
            if b - a + 1 < e - s + 1 and nc < ca.shape[0]:
                ca[nc] = a
                cb[nc] = b
                nc += 1
    return nc


@njit
def _first_diff(on, elo, ehi, base):
    """First hour where the commitment or an envelope differs from the base's (n if none)."""
    on0, elo0, ehi0 = base[6], base[7], base[8]
    n, G = on.shape
    for t in range(n):
        for g in range(G):
            if on[t, g] != on0[t, g] or elo[t, g] != elo0[t, g] or ehi[t, g] != ehi0[t, g]:
                return t
    return n


@njit
def _evaluate(on, g, sug_out, elo, ehi, base, init_on, init_h, su_lag, su_cost, p0, pmin, pmax, ru, rd, su_ramp,
              sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve,
              res_cost, voll, demand, dump, res_ramp, prio, rounds):
    """Dispatch cost and short hours after unit ``g``'s column changed (its envelope
    recomputed; its start-up cost into ``sug_out[0]``), re-dispatched from the first hour
    that differs from ``base`` (:func:`_base`)."""
    ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
    sug_out[0] = unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost)
    t_from = min(_first_diff(on, elo, ehi, base), on.shape[0] - 1)
    return dispatch_cost_from(t_from, base[0], base[1], base[2], base[3], base[4], base[5], on, elo, ehi, p0, init_on,
                              ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
                              ex_price, load_tot, reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds)


@njit
def _base(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
          ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp):
    """The current commitment's first-pass dispatch (p, re, ex, shed, surplus, head) and
    copies of ``on``, ``elo``, ``ehi``: what moves re-dispatch from."""
    p, re_used, ex, shed, surplus, head = dispatch_hours(
        on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
        ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp)
    return (p, re_used, ex, shed, surplus, head, on.copy(), elo.copy(), ehi.copy())


@njit
def _flip(on, g, a, b):
    for t in range(a, b + 1):
        on[t, g] = not on[t, g]


@njit
def commit_search(on0, force, init_on, init_h, min_up, min_down, su_lag, su_cost, p0, pmin, pmax, ru, rd,
                  su_ramp, sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price,
                  load_tot, reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds, max_passes,
                  max_shift, max_cover, cover_units, order, max_evals):
    """Improve a commitment by unit moves (see module doc).

    A move that switches a unit off and leaves hours short (load shed or reserve short) is
    followed by up to ``max_cover`` covers: each the best new run, among the first
    ``cover_units`` units in ``prio`` order that are off in the first short hour, over that
    hour; the compound move is judged as a whole. Units are visited in ``order``; the
    search stops after ``max_evals`` dispatch evaluations.

    Returns
    -------
    on : (n, G) bool, the improved commitment (``on0`` is not modified)
    cost0, cost : the model cost (start-ups included) before and after
    moves : number of moves taken
    evals : number of dispatch evaluations
    """
    n, G = on0.shape
    on = on0.copy()
    elo = np.zeros((n, G))
    ehi = np.zeros((n, G))
    for g in range(G):
        ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
    su_g = np.zeros(G)
    for g in range(G):
        su_g[g] = unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost)
    cur, short_h = dispatch_cost(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost,
                                 re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll,
                                 demand, dump, res_ramp, prio, rounds)
    cur += su_g.sum()
    cost0 = cur
    base = _base(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
                 ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp)
    n_cand = n * (2 * max_shift + 16) + 3 * n + 1
    ca = np.empty(n_cand, np.int64)
    cb = np.empty(n_cand, np.int64)
    ua = np.empty(3 * n + 1, np.int64)
    ub = np.empty(3 * n + 1, np.int64)
    # units flipped by the move being tried: (unit, a, b)
    mv_u = np.empty(max_cover + 1, np.int64)
    mv_a = np.empty(max_cover + 1, np.int64)
    mv_b = np.empty(max_cover + 1, np.int64)
    best_on = on.copy()
    best_short = short_h.copy()
    moves = 0

    sug = np.zeros(1)
    evals = 0
    for _ in range(max_passes):
        improved = False
        for gi in range(G):
            if evals >= max_evals:
                break
            g = order[gi]
            nc = _unit_moves(on, g, short_h, min_up, max_shift, ca, cb)
            best = cur
            found = False
            for c in range(nc):
                a, b = ca[c], cb[c]
                turn_off = on[a, g]
                _flip(on, g, a, b)
                if pattern_ok(on, g, init_on, init_h, min_up, min_down, force):
                    nmv = 1
                    mv_u[0], mv_a[0], mv_b[0] = g, a, b
                    su_sum = su_g.sum() - su_g[g]
                    evals += 1
                    val, sh = _evaluate(on, g, sug, elo, ehi, base, init_on, init_h, su_lag, su_cost, p0, pmin, pmax, ru, rd, su_ramp,
                                     sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
                                     ex_price, load_tot, reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds)
                    su_sum += sug[0]
                    val += su_sum
                    # cover the hours the switch-off left short
                    while turn_off and nmv <= max_cover:
                        h = -1
                        for t in range(n):
                            if sh[t] and not short_h[t]:
                                h = t
                                break
                        if h < 0:
                            break
                        c_val, c_u, c_a, c_b, c_su = np.inf, -1, -1, -1, 0.0
                        tried = 0
                        for i in range(G):
                            u = prio[i]
                            if tried >= cover_units:
                                break
                            if u == g or on[h, u]:
                                continue
                            s0 = h
                            while s0 > 0 and not on[s0 - 1, u]:
                                s0 -= 1
                            e0 = h
                            while e0 < n - 1 and not on[e0 + 1, u]:
                                e0 += 1
                            nu = _cover_moves(u, s0, e0, sh, min_up, ua, ub, 0)
                            any_ok = False
                            for j in range(nu):
                                if ua[j] > h or ub[j] < h:
                                    continue
                                _flip(on, u, ua[j], ub[j])
                                if pattern_ok(on, u, init_on, init_h, min_up, min_down, force):
                                    any_ok = True
                                    old_su = su_g[u]
                                    evals += 1
                                    v2, _sh2 = _evaluate(on, u, sug, elo, ehi, base, init_on, init_h, su_lag, su_cost, p0, pmin, pmax, ru, rd, su_ramp,
                                     sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
                                     ex_price, load_tot, reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds)
                                    v2 += su_sum - old_su + sug[0]
                                    if v2 < c_val:
                                        c_val, c_u, c_a, c_b, c_su = v2, u, ua[j], ub[j], sug[0] - old_su
                                _flip(on, u, ua[j], ub[j])
                                ramp_envelope_unit(on, u, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo,
                                                   ehi)
                            if any_ok:
                                tried += 1
                        if c_u < 0 or c_val >= val:
                            break
                        _flip(on, c_u, c_a, c_b)
                        mv_u[nmv], mv_a[nmv], mv_b[nmv] = c_u, c_a, c_b
                        nmv += 1
                        evals += 1
                        val, sh = _evaluate(on, c_u, sug, elo, ehi, base, init_on, init_h, su_lag, su_cost, p0, pmin, pmax, ru, rd, su_ramp,
                                     sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
                                     ex_price, load_tot, reserve, res_cost, voll, demand, dump, res_ramp, prio, rounds)
                        su_sum += c_su
                        val += su_sum
                    if val < best - 1e-7 * max(abs(best), 1.0):
                        best = val
                        best_short[:] = sh
                        best_on[:, :] = on
                        found = True
                    # undo
                    for i in range(nmv - 1, -1, -1):
                        _flip(on, mv_u[i], mv_a[i], mv_b[i])
                        ramp_envelope_unit(on, mv_u[i], p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
                else:
                    _flip(on, g, a, b)
            if found:
                for t in range(n):
                    for u in range(G):
                        if on[t, u] != best_on[t, u]:
                            on[t, u] = best_on[t, u]
                for u in range(G):
                    ramp_envelope_unit(on, u, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
                    su_g[u] = unit_startup_cost(on, u, init_on, init_h, su_lag, su_cost)
                cur = best
                short_h[:] = best_short
                moves += 1
                improved = True
                base = _base(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost,
                             ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp)
        if not improved:
            break
    return on, cost0, cur, moves, evals


@njit
def relink(on_a, on_b, init_on, init_h, su_lag, su_cost, p0, pmin, pmax, ru, rd, su_ramp,
           sd_ramp, cost_pmin, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve,
           res_cost, voll, demand, dump, res_ramp, prio, rounds):
    """Path relinking from commitment ``on_a`` to ``on_b``: the units whose columns differ
    take ``on_b``'s column one at a time, each step the unit whose switch gives the cheapest
    commitment (a step may cost more: the path is walked to its end). Every column is a
    valid pattern of its own unit, so every commitment on the path keeps min up/down.

    Returns the cheapest commitment strictly between the two ends (``on_a`` when the
    columns differ in fewer than two units), its model cost (start-ups included; ``inf``
    when there is none) and the cost of ``on_a``.
    """
    n, G = on_a.shape
    on = on_a.copy()
    elo = np.zeros((n, G))
    ehi = np.zeros((n, G))
    su_g = np.zeros(G)
    for g in range(G):
        ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
        su_g[g] = unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost)
    cost_a = dispatch_cost(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_tot,
                           curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, dump,
                           res_ramp, prio, rounds)[0] + su_g.sum()
    left = np.zeros(G, np.bool_)
    n_left = 0
    for g in range(G):
        for t in range(n):
            if on_a[t, g] != on_b[t, g]:
                left[g] = True
                n_left += 1
                break
    best_on = on_a.copy()
    best_cost = np.inf
    col = np.empty(n, np.bool_)
    while n_left > 1:  # the last step reaches on_b itself
        step_cost, step_g = np.inf, -1
        for g in range(G):
            if not left[g]:
                continue
            for t in range(n):
                col[t] = on[t, g]
                on[t, g] = on_b[t, g]
            ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
            su = su_g.sum() - su_g[g] + unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost)
            val = dispatch_cost(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_tot,
                                curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, dump,
                                res_ramp, prio, rounds)[0] + su
            if val < step_cost:
                step_cost, step_g = val, g
            for t in range(n):
                on[t, g] = col[t]
            ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
        g = step_g
        for t in range(n):
            on[t, g] = on_b[t, g]
        ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su_ramp, sd_ramp, elo, ehi)
        su_g[g] = unit_startup_cost(on, g, init_on, init_h, su_lag, su_cost)
        left[g] = False
        n_left -= 1
        if step_cost < best_cost:
            best_cost = step_cost
            best_on[:, :] = on
    return best_on, best_cost, cost_a


__all__ = ["commit_search", "dispatch_cost", "pattern_ok", "relink", "unit_startup_cost"]
