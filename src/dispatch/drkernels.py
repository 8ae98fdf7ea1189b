"""Numba kernels of the native engine's demand-response recovery (arrays and scalars only).

Compiled versions of the demand-response helpers of :mod:`dispatch.native` (called by its
``_dr_dispatch`` and ``_dr_for_shedding``; until session 5 they were Python loops, ~14 % of a
year's run). They perform the same floating-point operations in the same order as the
Python originals, except that the 1e-6 MW test of a bus's total shedding sums in hour order
where NumPy sums pairwise (the two totals differ in the last bits, which matters only for a
total within rounding of 1e-6 MW); ``tests/test_drkernels.py`` keeps the Python originals
as twins and compares them bit for bit on random cases. Orders that need a stable sort are
computed by the caller (NumPy) and passed in as ``int64`` arrays; nothing here validates
input.

Kernels
-------
* :func:`dr_events` -- reduction covering a need hour by hour within power, duration and
  event-count limits.
* :func:`dr_payback` -- rebound placed after each reduction at the cheapest free hours.
* :func:`dr_dispatch` -- all programmes, cheapest first, covering the hours a schedule
  would shed (reduction, payback, event count).
* :func:`dr_for_shedding` -- shedding left at a bus replaced by an unused programme
  without payback.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit

__all__ = ["dr_dispatch", "dr_events", "dr_for_shedding", "dr_payback"]

@njit
def dr_events(need, pmax, max_dur, events):
    """Reduction covering ``need`` hour by hour.

    At most ``pmax`` an hour, events of at most ``max_dur`` hours with an idle hour between
    them, at most ``events`` events.

    Parameters
    ----------
    need : ndarray of float64, shape (n,)
        MW to cover each hour.
    pmax : float
        MW reduction limit.
    max_dur : int
        Hours an event lasts at most.
    events : int
        Events available.

    Returns
    -------
    x : ndarray of float64, shape (n,)
        MW reduced each hour.
    used : int
        Events used.
    """
    n = need.shape[0]
    x = np.zeros(n)
    run = 0
    used = 0
    for t in range(n):
        v = need[t] if need[t] < pmax else pmax  # Python's min(pmax, need[t])
        if v <= 1e-6 or run >= max_dur or (run == 0 and used >= events):
            run = 0
            continue
        if run == 0:
            used += 1
        x[t] = v
        run += 1
    return x, used


@njit
def dr_payback(p, rb, frac, pmax, order, short):
    """Place ``frac * p`` of rebound after each reduction, cheapest hours first (in place).

    Rebound owed by hour t may be taken at any later hour that is idle (``p <= 1e-6``) and
    not short (``short <= 1e-6``), at most ``pmax`` an hour; what finds no hour is removed
    from the reduction at t (latest reductions first).

    Parameters
    ----------
    p : ndarray of float64, shape (n,)
        MW reduced each hour; lowered where the payback does not fit.
    rb : ndarray of float64, shape (n,)
        MW paid back each hour; raised.
    frac : float
        Payback fraction (> 0).
    pmax : float
        MW payback limit an hour.
    order : ndarray of int64, shape (n,)
        Hours cheapest first (``np.argsort(price, kind="stable")``).
    short : ndarray of float64, shape (n,)
        MW still short each hour.
    """
    n = p.shape[0]
    free = np.empty(n, np.bool_)
    for t in range(n):
        free[t] = (p[t] <= 1e-6) and (short[t] <= 1e-6)
    for t in range(n - 1, -1, -1):
        if p[t] <= 1e-6:
            continue
        owe = frac * p[t]
        for k in range(order.shape[0]):
            if owe <= 1e-9:
                break
            u = order[k]
            if u <= t or not free[u]:
                continue
            room = pmax - rb[u]
            x = owe if owe < room else room  # Python's min(room, owe)
            if x > 0:
                rb[u] += x
                owe -= x
        if owe > 1e-9:
            p[t] -= owe / frac
            if p[t] <= 1e-6:
                p[t] = 0.0


@njit
def dr_dispatch(need, load, dr_left, prog_order, pay_order, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                dr_payback_frac, voll):
    """Demand response covering the hours a schedule would shed load.

    Programmes in ``prog_order``; each skips if it has no event left, no power or costs at
    least ``voll``. Its reduction (:func:`dr_events`) covers the need left and at most the
    bus load left; with payback it is paid back by :func:`dr_payback`; reductions of at most
    1e-6 MW are dropped, and the programme is dropped in the window if payback cuts split an
    event beyond the events left.

    Parameters
    ----------
    need : ndarray of float64, shape (n,)
        MW short each hour.
    load : ndarray of float64, shape (n, B)
        MW load at each bus.
    dr_left : ndarray of int64, shape (D,)
        Events left this year per programme.
    prog_order : ndarray of int64, shape (D,)
        Programme order (``np.lexsort((dr_payback_frac, dr_cost))``).
    pay_order : ndarray of int64, shape (n,)
        Hours cheapest first (``np.argsort(price, kind="stable")``).
    dr_bus : ndarray of int64, shape (D,)
        Bus of each programme.
    dr_pmax : ndarray of float64, shape (D,)
        MW reduction limit.
    dr_cost : ndarray of float64, shape (D,)
        Cost per MWh reduced.
    dr_max_dur : ndarray of int64, shape (D,)
        Hours per event at most.
    dr_payback_frac : ndarray of float64, shape (D,)
        Fraction of reduced energy paid back.
    voll : float
        Value of lost load.

    Returns
    -------
    dr_p, dr_rb : ndarray of float64, shape (n, D)
        MW reduced and MW paid back.
    """
    n = need.shape[0]
    D = dr_pmax.shape[0]
    dr_p = np.zeros((n, D))
    dr_rb = np.zeros((n, D))
    left = need.copy()
    bus_room = load.copy()
    events = dr_left.copy()
    want = np.empty(n)
    for k in range(prog_order.shape[0]):
        d = prog_order[k]
        if events[d] <= 0 or dr_pmax[d] <= 0 or dr_cost[d] >= voll:
            continue
        b = dr_bus[d]
        frac = dr_payback_frac[d]
        for t in range(n):
            a = left[t]
            c = bus_room[t, b]
            want[t] = a if (a <= c or a != a) else c  # np.minimum (NaN propagates)
        x, _ = dr_events(want, dr_pmax[d], dr_max_dur[d], events[d])
        dr_p[:, d] = x
        if frac > 0:
            anyp = False
            for t in range(n):
                if dr_p[t, d] != 0.0:
                    anyp = True
                    break
            if anyp:
                dr_payback(dr_p[:, d], dr_rb[:, d], frac, dr_pmax[d], pay_order, left)
        starts = 0
        prev = False
        for t in range(n):
            act = dr_p[t, d] > 1e-6
            if not act:
                dr_p[t, d] = 0.0
            elif not prev:
                starts += 1
            prev = act
        if starts > events[d]:  # payback cuts split an event: drop the programme in this window
            for t in range(n):
                dr_p[t, d] = 0.0
                dr_rb[t, d] = 0.0
            starts = 0
        events[d] -= starts
        for t in range(n):
            left[t] -= dr_p[t, d]
            bus_room[t, b] -= dr_p[t, d] - dr_rb[t, d]
    return dr_p, dr_rb


@njit
def dr_for_shedding(shed, dr_p, dr_left, cost_order, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                    dr_payback_frac, voll):
    """Replace shedding left at a bus by demand response of that bus (in place).

    Programmes in ``cost_order`` without payback, unused in the window (``dr_p[:, d]`` all
    zero), with events left and cheaper than ``voll``, at a bus that sheds more than 1e-6 MW
    in all: their :func:`dr_events` reduction of the shedding is
    written to ``dr_p[:, d]`` and taken off ``shed[:, b]``.

    Parameters
    ----------
    shed : ndarray of float64, shape (n, B)
        MW shed at each bus; lowered.
    dr_p : ndarray of float64, shape (n, D)
        MW reduced; filled for the programmes used.
    dr_left : ndarray of int64, shape (D,)
        Events left this year per programme.
    cost_order : ndarray of int64, shape (D,)
        Programme order (``np.argsort(dr_cost, kind="stable")``).
    dr_bus : ndarray of int64, shape (D,)
        Bus of each programme.
    dr_pmax : ndarray of float64, shape (D,)
        MW reduction limit.
    dr_cost : ndarray of float64, shape (D,)
        Cost per MWh reduced.
    dr_max_dur : ndarray of int64, shape (D,)
        Hours per event at most.
    dr_payback_frac : ndarray of float64, shape (D,)
        Fraction of reduced energy paid back.
    voll : float
        Value of lost load.

    Returns
    -------
    ndarray of float64, shape (n, D)
        ``dr_p`` (the same array).
    """
    n = shed.shape[0]
    for k in range(cost_order.shape[0]):
        d = cost_order[k]
        used = False
        for t in range(n):
            if dr_p[t, d] != 0.0:
                used = True
                break
        if dr_payback_frac[d] > 0 or used or dr_left[d] <= 0 or dr_cost[d] >= voll:
            continue
        b = dr_bus[d]
        tot = 0.0
        for t in range(n):
            tot += shed[t, b]
        if tot <= 1e-6:
            continue
        x, _ = dr_events(shed[:, b], dr_pmax[d], dr_max_dur[d], dr_left[d])
        for t in range(n):
            dr_p[t, d] = x[t]
            shed[t, b] -= x[t]
    return dr_p
