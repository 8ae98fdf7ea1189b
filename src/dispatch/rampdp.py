"""Numba kernel: the ramp-aware unit commitment program of the Lagrangian dual.

The plain program (:func:`dispatch._core.commit_dp`) lets a unit jump from off to any output
and back; on PGLib's RTS-GMLC days, where a 355 MW unit starts at its 170 MW minimum and
climbs 83 MW an hour, that relaxation is loose: the dual bound lies 5-6 % under the optimum
(the LP relaxation with ramps, solved by HiGHS, 1 %) and the commitments it suggests run
big units for short spells they cannot reach.

This program keeps the ramps, as a *relaxation* over output cells. Each unit's range
``[pmin, pmax]`` is covered by cells: the point ``pmin``, the start-up and shut-down
capabilities as points, and intervals no wider than ``ru / cell_frac``. A state is (cell,
hours on) or (hours off). In an hour the unit pays the least Lagrangian cost over the cell
(the running cost minus the nodal price times output minus the reserve price times
headroom -- convex piecewise linear in the output, so its minimum is the unconstrained
optimum clamped to the cell). Moving from cell ``k`` to ``k'`` is allowed when *some*
output in ``k`` and some in ``k'`` lie within the ramp limits (``a_k' - b_k <= ru`` and
``a_k - b_k' <= rd``); a start-up enters only cells that reach down to the start-up
capability ``max(su, pmin)`` and pays its output there at most that; a shut-down leaves only
cells that reach down to ``max(sd, pmin)``. Every schedule feasible for the unit maps to a
path of no greater cost, so the program's optimum is a lower bound on the unit's true
ramp-constrained optimum (a valid Lagrangian bound), and it is never below the plain
program's (same hourly costs, fewer moves). Narrower cells tighten it.

Minimum up/down time, forced hours, start-up cost by hours offline and the history before
hour 0 (``init_on``, ``init_hours``, last output ``p0``: the first hour lies within the
ramps of ``p0``) are exact, as in the plain program. Headroom counts as reserve up to
``pmax`` (up to the start-up capability in a start-up hour when ``start_capped``).

A plain-Python twin that enumerates every path lives in ``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit
from .kernels import startup_category

INF = np.inf


@njit
def unit_cells(pmin, pmax, ru, rd, su, sd, cell_frac, max_cells):
    """Cells ``(a, b)`` covering ``[pmin, pmax]``: points at ``pmin``, ``max(su, pmin)``,
    ``max(sd, pmin)`` (inside the range), then intervals no wider than
    ``min(ru, rd) / cell_frac`` (at most ``max_cells`` of them)."""
    span = pmax - pmin
    a = np.empty(max_cells + 3)
    b = np.empty(max_cells + 3)
    m = 0
    a[m] = pmin
    b[m] = pmin
    m += 1
    if span <= 1e-9:
        return a[:m].copy(), b[:m].copy()
    for cap in (max(su, pmin), max(sd, pmin)):
        if pmin + 1e-9 < cap < pmax - 1e-9:
            dup = False
            for j in range(m):
                if abs(a[j] - cap) <= 1e-9 and abs(b[j] - cap) <= 1e-9:
                    dup = True
            if not dup:
                a[m] = cap
                b[m] = cap
                m += 1
    r = min(ru, rd)
    k = 1
    if r > 0.0:
        k = int(np.ceil(span * cell_frac / r - 1e-9))
    k = min(max(k, 1), max_cells)
    wid = span / k
    for i in range(k):
        a[m] = pmin + i * wid
        b[m] = pmax if i == k - 1 else pmin + (i + 1) * wid
        m += 1
    return a[:m].copy(), b[:m].copy()


@njit
def _cell_min(lo, hi, e, const, pmin, cost_pmin, seg_mw, seg_cost, g):
    """Least ``c(p) - e*p + const`` over ``p`` in ``[lo, hi]`` and the output attaining it;
    ``c`` is unit ``g``'s convex running cost (cost at pmin plus segments)."""
    K = seg_mw.shape[1]
    p = pmin
    for s in range(K):  # the unconstrained optimum: every segment cheaper than e
        if seg_cost[g, s] < e:
            p += seg_mw[g, s]
    p = min(max(p, lo), hi)
    c = cost_pmin[g]
    left = p - pmin
    for s in range(K):
        take = min(left, seg_mw[g, s])
        if take <= 0.0:
            break
        c += take * seg_cost[g, s]
        left -= take
    return c - e * p + const, p


@njit
def ramp_unit_dp(g, pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h, p0, pmin, pmax, ru, rd,
                 su, sd, cost_pmin, seg_mw, seg_cost, start_capped, cell_frac, max_cells, out_on, out_p, out_head):
    """Unit ``g``'s ramp-aware program (module doc); writes column ``g`` of ``out_on``,
    ``out_p`` (output) and ``out_head`` (headroom counted as reserve); returns the optimum
    (+inf when the history and ``force`` leave no schedule)."""
    n = pi.shape[0]
    ca, cb = unit_cells(pmin[g], pmax[g], ru[g], rd[g], su[g], sd[g], cell_frac, max_cells)
    M = ca.shape[0]
    MU = max(min_up[g], 1)
    MD = max(min_down[g], 1)
    KD = MD
    S = su_lag.shape[1]
    if S > 0 and su_lag[g, S - 1] > KD:
        KD = su_lag[g, S - 1]
    su_cap = max(su[g], pmin[g])
    sd_cap = max(sd[g], pmin[g])
    cap_s = su_cap if start_capped else pmax[g]
    eps = 1e-9
    ok = np.zeros((M, M), np.bool_)  # ok[k, k2]: from cell k to cell k2
    for k in range(M):
        for k2 in range(M):
            ok[k, k2] = (ca[k2] - cb[k] <= ru[g] + eps) and (ca[k] - cb[k2] <= rd[g] + eps)
    NS = M * MU + KD  # on(k, c) = k * MU + c - 1; off(d) = M * MU + d - 1
    val = np.full((n + 1, NS), INF)
    back = np.full((n + 1, NS), -1, np.int64)
    f_on = np.empty(M)
    f_st = np.empty(M)
    start_cell = np.zeros(M, np.bool_)
    for k in range(M):
        start_cell[k] = ca[k] <= su_cap + eps
    # hour 0 from the history: a virtual layer
    h0 = max(init_h[g], 1)
    for t in range(n):
        e = pi[t] - mu[t]
        allow_on = force[t, g] >= 0
        allow_off = force[t, g] <= 0
        for k in range(M):
            f_on[k], _p = _cell_min(ca[k], cb[k], e, -mu[t] * pmax[g], pmin[g], cost_pmin, seg_mw, seg_cost, g)
            if start_cell[k]:
                f_st[k], _p = _cell_min(ca[k], min(cb[k], su_cap), e, -mu[t] * cap_s, pmin[g], cost_pmin,
                                             seg_mw, seg_cost, g)
        if t == 0:
            if init_on[g]:
                c0 = min(h0, MU)
                c1 = min(c0 + 1, MU)
                if allow_on:
                    for k in range(M):
                        if ca[k] - p0[g] <= ru[g] + eps and p0[g] - cb[k] <= rd[g] + eps:
                            val[1, k * MU + c1 - 1] = f_on[k]
                if allow_off and c0 >= MU:
                    val[1, M * MU] = 0.0
            else:
                d0 = min(h0, KD)
                if allow_on and d0 >= MD:
                    sc = su_cost[g, startup_category(su_lag, g, d0)]
                    for k in range(M):
                        if start_cell[k]:
                            val[1, k * MU] = sc + f_st[k]
                if allow_off:
                    val[1, M * MU + min(d0 + 1, KD) - 1] = 0.0
            continue
        # on states
        if allow_on:
            # start-up from off(d), d >= MD
            bs = INF
            bsi = -1
            for d in range(MD, KD + 1):
                v = val[t, M * MU + d - 1]
                if v < INF:
                    v += su_cost[g, startup_category(su_lag, g, d)]
                    if v < bs:
                        bs = v
                        bsi = M * MU + d - 1
            for k2 in range(M):
                if start_cell[k2] and bsi >= 0:
                    val[t + 1, k2 * MU] = bs + f_st[k2]
                    back[t + 1, k2 * MU] = bsi
            # continue on: on(k, c) -> on(k2, min(c + 1, MU))
            for c in range(1, MU + 1):
                c1 = min(c + 1, MU)
                for k2 in range(M):
                    best = INF
                    bi = -1
                    for k in range(M):
                        if ok[k, k2]:
                            v = val[t, k * MU + c - 1]
                            if v < best:
                                best = v
                                bi = k * MU + c - 1
                    if bi >= 0:
                        v = best + f_on[k2]
                        j = k2 * MU + c1 - 1
                        if v < val[t + 1, j]:
                            val[t + 1, j] = v
                            back[t + 1, j] = bi
        # off states
        if allow_off:
            best = INF
            bi = -1
            for k in range(M):
                if ca[k] <= sd_cap + eps:
                    v = val[t, k * MU + MU - 1]
                    if v < best:
                        best = v
                        bi = k * MU + MU - 1
            if bi >= 0:
                val[t + 1, M * MU] = best
                back[t + 1, M * MU] = bi
            for d in range(1, KD + 1):
                d1 = min(d + 1, KD)
                v = val[t, M * MU + d - 1]
                j = M * MU + d1 - 1
                if v < val[t + 1, j]:
                    val[t + 1, j] = v
                    back[t + 1, j] = M * MU + d - 1
    best = INF
    s = -1
    for j in range(NS):
        if val[n, j] < best:
            best = val[n, j]
            s = j
    if s < 0:
        return INF
    for t in range(n, 0, -1):
        tt = t - 1
        if s < M * MU:
            k = s // MU
            prev = back[t, s]
            started = (tt == 0 and not init_on[g]) or (tt > 0 and prev >= M * MU)
            e = pi[tt] - mu[tt]
            if started:
                _f, p = _cell_min(ca[k], min(cb[k], su_cap), e, 0.0, pmin[g], cost_pmin, seg_mw, seg_cost, g)
                out_head[tt, g] = cap_s - p
            else:
                _f, p = _cell_min(ca[k], cb[k], e, 0.0, pmin[g], cost_pmin, seg_mw, seg_cost, g)
                out_head[tt, g] = pmax[g] - p
            out_on[tt, g] = 1
            out_p[tt, g] = p
        else:
            out_on[tt, g] = 0
            out_p[tt, g] = 0.0
            out_head[tt, g] = 0.0
        s = back[t, s]
    return best


@njit
def ramp_commit_dp(pi, mu, force, su_lag, su_cost, min_up, min_down, init_on, init_h, p0, pmin, pmax, ru, rd, su, sd,
                   cost_pmin, seg_mw, seg_cost, start_capped, cell_frac, max_cells):
    """:func:`ramp_unit_dp` for every unit at its prices ``pi`` (n, G) and the reserve price
    ``mu`` (n,). Returns ``on`` (n, G) int8, output ``p`` and headroom (n, G), and each
    unit's optimum (G,)."""
    n, G = pi.shape
    on = np.zeros((n, G), np.int8)
    p = np.zeros((n, G))
    head = np.zeros((n, G))
    val = np.empty(G)
    for g in range(G):
        val[g] = ramp_unit_dp(g, np.ascontiguousarray(pi[:, g]), mu, force, su_lag, su_cost, min_up, min_down,
                              init_on, init_h, p0, pmin, pmax, ru, rd, su, sd, cost_pmin, seg_mw, seg_cost,
                              start_capped, cell_frac, max_cells, on, p, head)
    return on, p, head, val


__all__ = ["ramp_commit_dp", "ramp_unit_dp", "unit_cells"]
