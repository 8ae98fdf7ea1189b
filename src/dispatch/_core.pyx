# cython: language_level=3
"""Private compiled core of dispatch: the thermal commitment dynamic program.

One ``def`` wrapper (:func:`commit_dp`) validates shapes and releases the GIL; the typed
kernel :func:`commit_unit_dp` solves one unit exactly. Public code uses
:mod:`dispatch.native`, never this module directly.

The program (per unit, hours ``t = 0..n-1``): state = (on/off, hours in that state), with
the on-count capped at ``MU = max(min_up, 1)`` and the off-count at
``KD = max(min_down, su_lag[-1], 1)`` (beyond these the future is the same). Moves:

* ``on_k -> on_min(k+1, MU)`` at ``on_cost[t]``; ``on_k -> off_1`` (shut down) only when
  ``k >= MU`` (minimum up time), at ``off_cost[t]``;
* ``off_k -> off_min(k+1, KD)`` at ``off_cost[t]``; ``off_k -> on_1`` (start) only when
  ``k >= max(min_down, 1)``, at ``su_cost[s(k)] + on_cost[t]`` where ``s(k)`` is the last
  category with ``su_lag[s] <= k`` (category 0 if none): start-up cost by hours offline.

History (``init_on``, ``init_hours``) enters as the state before hour 0, so min up/down
carried from the previous window are exact. ``force[t] = 1/-1`` forbids off/on at hour t.
The result is the exact minimum of the sum of hourly costs plus start-up costs over all
schedules that respect min up/down time (ramps are not part of the program).
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport INFINITY

cnp.import_array()


cdef inline long _cat(const long[:, ::1] su_lag, Py_ssize_t g, long k) noexcept nogil:
    cdef Py_ssize_t s, S = su_lag.shape[1]
    cdef long cat = 0
    for s in range(S):
        if su_lag[g, s] <= k:
            cat = s
    return cat


cdef double commit_unit_dp(
    const double[:, ::1] on_cost,
    const double[:, ::1] off_cost,
    const signed char[:, ::1] force,
    Py_ssize_t g,
    const long[:, ::1] su_lag,
    const double[:, ::1] su_cost,
    long min_up,
    long min_down,
    bint init_on,
    long init_hours,
    double[:, ::1] value,
    int[:, ::1] back,
    signed char[:, ::1] out_on,
) noexcept nogil:
    """Exact commitment of unit ``g``; writes ``out_on[:, g]`` and returns the optimum.

    ``value`` and ``back`` are scratch of shape ``(n + 1, >= MU + KD)``. Returns +inf (and
    leaves ``out_on`` untouched) when no schedule satisfies ``force`` and the history.
    """
    cdef Py_ssize_t n = on_cost.shape[0]
    cdef Py_ssize_t S = su_lag.shape[1]
    cdef long MU = min_up if min_up > 1 else 1
    cdef long MD = min_down if min_down > 1 else 1
    cdef long KD = MD
    if S > 0 and su_lag[g, S - 1] > KD:
        KD = su_lag[g, S - 1]
    cdef Py_ssize_t NS = MU + KD
    cdef Py_ssize_t t, s, k, best_s
    cdef double con, coff, v, best, start
    cdef long h0 = init_hours if init_hours > 1 else 1

    for s in range(NS):
        value[0, s] = INFINITY
    if init_on:
        value[0, (h0 if h0 < MU else MU) - 1] = 0.0
    else:
        value[0, MU + (h0 if h0 < KD else KD) - 1] = 0.0

    for t in range(n):
        con = on_cost[t, g]
        coff = off_cost[t, g]
        if force[t, g] < 0:
            con = INFINITY
        elif force[t, g] > 0:
            coff = INFINITY
        # on_1: start from off_k with k >= MD
        best = INFINITY
        best_s = -1
        for k in range(MD, KD + 1):
            v = value[t, MU + k - 1]
            if v < INFINITY:
                v = v + su_cost[g, _cat(su_lag, g, k)]
                if v < best:
                    best = v
                    best_s = MU + k - 1
        value[t + 1, 0] = best + con
        back[t + 1, 0] = <int>best_s
        # on_k, k = 2..MU: from on_{k-1}; on_MU also from on_MU
        for k in range(2, MU + 1):
            value[t + 1, k - 1] = value[t, k - 2] + con
            back[t + 1, k - 1] = <int>(k - 2)
        if MU > 1:
            if value[t, MU - 1] < value[t, MU - 2]:
                value[t + 1, MU - 1] = value[t, MU - 1] + con
                back[t + 1, MU - 1] = <int>(MU - 1)
        else:
            # MU == 1: on_1 also continues from on_1
            v = value[t, 0]
            if v < best:
                value[t + 1, 0] = v + con
                back[t + 1, 0] = 0
        # off_1: shut down from on_MU
        value[t + 1, MU] = value[t, MU - 1] + coff
        back[t + 1, MU] = <int>(MU - 1)
        if KD == 1:
            v = value[t, MU]
            if v < value[t, MU - 1]:
                value[t + 1, MU] = v + coff
                back[t + 1, MU] = <int>MU
        else:
            for k in range(2, KD + 1):
                value[t + 1, MU + k - 1] = value[t, MU + k - 2] + coff
                back[t + 1, MU + k - 1] = <int>(MU + k - 2)
            if value[t, MU + KD - 1] < value[t, MU + KD - 2]:
                value[t + 1, MU + KD - 1] = value[t, MU + KD - 1] + coff
                back[t + 1, MU + KD - 1] = <int>(MU + KD - 1)

    best = INFINITY
    best_s = -1
    for s in range(NS):
        if value[n, s] < best:
            best = value[n, s]
            best_s = s
    if best_s < 0:
        return INFINITY
    s = best_s
    for t in range(n, 0, -1):
        out_on[t - 1, g] = 1 if s < MU else 0
        s = back[t, s]
    return best


def commit_dp(on_cost, off_cost, force, su_lag, su_cost, min_up, min_down, init_on, init_hours):
    """Exact per-unit commitment dynamic program for all units (GIL released).

    Parameters
    ----------
    on_cost, off_cost : (n, G) float64
        Cost of being on / off in each hour (e.g. running cost minus price times output).
    force : (n, G) int8
        1 forces on, -1 forces off, 0 leaves the hour free.
    su_lag : (G, S) int64 ; su_cost : (G, S) float64
        Start-up categories by hours offline (see :mod:`dispatch.arrays`).
    min_up, min_down : (G,) int64
    init_on : (G,) bool ; init_hours : (G,) int64
        The state before hour 0.

    Returns
    -------
    on : (n, G) int8
        The optimal schedule (0 where a unit has no feasible schedule).
    value : (G,) float64
        Each unit's optimum (+inf when infeasible).
    """
    cdef const double[:, ::1] con = np.ascontiguousarray(on_cost, dtype=np.float64)
    cdef const double[:, ::1] coff = np.ascontiguousarray(off_cost, dtype=np.float64)
    cdef const signed char[:, ::1] frc = np.ascontiguousarray(force, dtype=np.int8)
    cdef const long[:, ::1] lag = np.ascontiguousarray(su_lag, dtype=np.int64)
    cdef const double[:, ::1] sc = np.ascontiguousarray(su_cost, dtype=np.float64)
    cdef const long[::1] mu = np.ascontiguousarray(min_up, dtype=np.int64)
    cdef const long[::1] md = np.ascontiguousarray(min_down, dtype=np.int64)
    cdef const unsigned char[::1] ion = np.ascontiguousarray(init_on, dtype=np.uint8)
    cdef const long[::1] ih = np.ascontiguousarray(init_hours, dtype=np.int64)
    cdef Py_ssize_t n = con.shape[0], G = con.shape[1], S = lag.shape[1]
    if coff.shape[0] != n or coff.shape[1] != G or frc.shape[0] != n or frc.shape[1] != G:
        raise ValueError("commit_dp: on_cost, off_cost and force must have the same (n, G) shape")
    if lag.shape[0] != G or sc.shape[0] != G or sc.shape[1] != S:
        raise ValueError("commit_dp: su_lag and su_cost must be (G, S)")
    if mu.shape[0] != G or md.shape[0] != G or ion.shape[0] != G or ih.shape[0] != G:
        raise ValueError("commit_dp: min_up, min_down, init_on, init_hours must be (G,)")
    cdef Py_ssize_t g, ns, width = 2
    for g in range(G):
        ns = max(mu[g], 1) + max(md[g], 1)
        if S > 0:
            ns = max(ns, max(mu[g], 1) + lag[g, S - 1])
        width = max(width, ns)
    out = np.zeros((n, G), dtype=np.int8)
    val = np.empty(G, dtype=np.float64)
    cdef signed char[:, ::1] o = out
    cdef double[::1] vv = val
    cdef double[:, ::1] scratch = np.empty((n + 1, width), dtype=np.float64)
    cdef int[:, ::1] back = np.empty((n + 1, width), dtype=np.int32)
    with nogil:
        for g in range(G):
            vv[g] = commit_unit_dp(con, coff, frc, g, lag, sc, mu[g], md[g], ion[g] != 0,
                                   ih[g], scratch, back, o)
    return out, val


def core_version():
    return 2
