"""The demand-response kernels of ``dispatch.drkernels`` against their Python twins.

The twins are copies of the Python helpers of ``dispatch.native`` (``_dr_events``,
``_dr_payback``, ``_dr_dispatch``, ``_dr_for_shedding``) taking arrays instead of the window
object; the kernels must reproduce them bit for bit (``assert_array_equal``).
"""

from __future__ import annotations

import numpy as np
import pytest

from dispatch import drkernels as DRK


# ----------------------------------------------------------------------------------------
# twins: the Python originals, taking arrays
# ----------------------------------------------------------------------------------------
def naive_events(need, pmax, max_dur, events):
    x = np.zeros(need.shape[0])
    run = used = 0
    for t in range(need.shape[0]):
        v = min(pmax, need[t])
        if v <= 1e-6 or run >= max_dur or (run == 0 and used >= events):
            run = 0
            continue
        used += run == 0
        x[t] = v
        run += 1
    return x, used


def naive_payback(p, rb, frac, pmax, price, short):
    n = p.shape[0]
    free = (p <= 1e-6) & (short <= 1e-6)
    order = np.argsort(price, kind="stable")
    for t in range(n - 1, -1, -1):
        if p[t] <= 1e-6:
            continue
        owe = frac * p[t]
        for u in order:
            if owe <= 1e-9:
                break
            if u <= t or not free[u]:
                continue
            x = min(pmax - rb[u], owe)
            if x > 0:
                rb[u] += x
                owe -= x
        if owe > 1e-9:
            p[t] -= owe / frac
            if p[t] <= 1e-6:
                p[t] = 0.0


def naive_dispatch(need, price, load, dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                   dr_payback_frac, voll):
    n, D = need.shape[0], dr_pmax.shape[0]
    dr_p = np.zeros((n, D))
    dr_rb = np.zeros((n, D))
    left = need.copy()
    bus_room = load.copy()
    events = dr_left.copy()
    for d in np.lexsort((dr_payback_frac, dr_cost)):
        if events[d] <= 0 or dr_pmax[d] <= 0 or dr_cost[d] >= voll:
            continue
        b, frac = dr_bus[d], float(dr_payback_frac[d])
        dr_p[:, d], _ = naive_events(np.minimum(left, bus_room[:, b]), float(dr_pmax[d]),
                                     int(dr_max_dur[d]), int(events[d]))
        if frac > 0 and dr_p[:, d].any():
            naive_payback(dr_p[:, d], dr_rb[:, d], frac, float(dr_pmax[d]), price, left)
        act = dr_p[:, d] > 1e-6
        dr_p[~act, d] = 0.0
        starts = int((act & ~np.concatenate([[False], act[:-1]])).sum())
        if starts > events[d]:
            dr_p[:, d] = 0.0
            dr_rb[:, d] = 0.0
            starts = 0
        events[d] -= starts
        left -= dr_p[:, d]
        bus_room[:, b] -= dr_p[:, d] - dr_rb[:, d]
    return dr_p, dr_rb


def naive_for_shedding(shed, dr_p, dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                       dr_payback_frac, voll):
    for d in np.argsort(dr_cost, kind="stable"):
        if (dr_payback_frac[d] > 0 or dr_p[:, d].any() or dr_left[d] <= 0
                or dr_cost[d] >= voll):
            continue
        b = dr_bus[d]
        if shed[:, b].sum() <= 1e-6:
            continue
        x, _ = naive_events(shed[:, b], float(dr_pmax[d]), int(dr_max_dur[d]), int(dr_left[d]))
        dr_p[:, d] = x
        shed[:, b] -= x
    return dr_p


# ----------------------------------------------------------------------------------------
# the kernels called like the twins (the orders computed as the native.py wrappers do)
# ----------------------------------------------------------------------------------------
def kern_dispatch(need, price, load, dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur, frac, voll):
    order = np.lexsort((frac, dr_cost)).astype(np.int64)
    pay = np.argsort(price, kind="stable").astype(np.int64)
    return DRK.dr_dispatch(need, load, dr_left, order, pay, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                           frac, voll)


def kern_for_shedding(shed, dr_p, dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur, frac, voll):
    order = np.argsort(dr_cost, kind="stable").astype(np.int64)
    return DRK.dr_for_shedding(shed, dr_p, dr_left, order, dr_bus, dr_pmax, dr_cost, dr_max_dur,
                               frac, voll)


def check_dispatch(need, price, load, prog):
    """Kernel and twin of ``_dr_dispatch`` agree bit for bit; returns the twin's result."""
    p0, r0 = naive_dispatch(need, price, load, *prog)
    p1, r1 = kern_dispatch(need, price, load, *prog)
    np.testing.assert_array_equal(p1, p0)
    np.testing.assert_array_equal(r1, r0)
    return p0, r0


def check_for_shedding(shed, dr_p, prog):
    """Kernel and twin of ``_dr_for_shedding`` agree bit for bit (outputs and ``shed``)."""
    s0, s1, d1 = shed.copy(), shed.copy(), dr_p.copy()
    out0 = naive_for_shedding(s0, dr_p.copy(), *prog)
    out1 = kern_for_shedding(s1, d1, *prog)
    assert out1 is d1
    np.testing.assert_array_equal(out1, out0)
    np.testing.assert_array_equal(s1, s0)


# ----------------------------------------------------------------------------------------
# random cases
# ----------------------------------------------------------------------------------------
TINY = [1e-7, 1e-6, 2e-6, 5e-6, 9e-6, 5e-10, 1e-9]  # around the 1e-6 and 1e-9 thresholds


def _values(rng, size, scale):
    """Non-negative values with many exact zeros, some tiny ones and some ties."""
    v = rng.uniform(0.0, scale, size)
    kind = rng.integers(0, 6, size)
    v[kind == 0] = 0.0
    v[kind == 1] = rng.choice(TINY, size=int((kind == 1).sum()))
    v[kind == 2] = np.round(v[kind == 2], 0)  # ties
    return v


def _case(rng):
    """A random window: ``(n, B, need, price, load, prog)``, ``prog`` the programme arrays
    ``(dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur, dr_payback_frac, voll)``."""
    n = int(rng.integers(1, 61))
    D = int(rng.integers(1, 6))
    B = int(rng.integers(1, 5))
    need = _values(rng, n, 80.0)
    price = np.round(rng.uniform(-20.0, 300.0, n), int(rng.integers(0, 3)))  # ties
    load = _values(rng, (n, B), 120.0)
    dr_left = rng.integers(0, 4, D).astype(np.int64)
    dr_bus = rng.integers(0, B, D).astype(np.int64)
    dr_pmax = rng.choice([0.0, 5.0, 20.0, 50.0, 1e-7], size=D) * rng.uniform(0.5, 1.5, D)
    dr_pmax[rng.random(D) < 0.15] = 0.0
    dr_cost = np.round(rng.uniform(50.0, 1200.0, D), -2)  # ties
    dr_max_dur = rng.integers(1, 7, D).astype(np.int64)
    frac = np.where(rng.random(D) < 0.5, 0.0, rng.uniform(0.1, 1.2, D))
    tiny = rng.random(D) < 0.15  # owe = frac * p below 1e-9 for small p: cuts can split events
    frac[tiny] = rng.choice([1e-4, 2e-4], size=int(tiny.sum()))
    prog = (dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur, frac, 1000.0)
    return n, B, need, price, load, prog


def test_events_matches_twin():
    rng = np.random.default_rng(11)
    for _ in range(400):
        n = int(rng.integers(1, 61))
        need = _values(rng, n, 80.0)
        pmax = float(rng.choice([0.0, 1e-7, 5.0, 30.0, 100.0]))
        max_dur = int(rng.integers(1, 7))
        events = int(rng.integers(0, 4))
        x0, u0 = naive_events(need, pmax, max_dur, events)
        x1, u1 = DRK.dr_events(need, pmax, max_dur, events)
        np.testing.assert_array_equal(x1, x0)
        assert u1 == u0


def test_payback_matches_twin():
    rng = np.random.default_rng(12)
    for _ in range(400):
        n = int(rng.integers(1, 61))
        p = _values(rng, n, 40.0)
        short = _values(rng, n, 40.0) * (rng.random(n) < 0.5)
        rb = np.zeros(n) if rng.random() < 0.5 else _values(rng, n, 10.0)
        price = np.round(rng.uniform(-20.0, 300.0, n), int(rng.integers(0, 3)))
        frac = float(rng.uniform(0.05, 1.5))
        pmax = float(rng.choice([5.0, 20.0, 60.0]))
        p0, r0 = p.copy(), rb.copy()
        naive_payback(p0, r0, frac, pmax, price, short)
        p1, r1 = p.copy(), rb.copy()
        order = np.argsort(price, kind="stable").astype(np.int64)
        DRK.dr_payback(p1, r1, frac, pmax, order, short)
        np.testing.assert_array_equal(p1, p0)
        np.testing.assert_array_equal(r1, r0)


@pytest.mark.parametrize("seed", range(400))
def test_dispatch_matches_twin(seed):
    rng = np.random.default_rng(seed)
    n, _B, need, price, load, prog = _case(rng)
    p0, _ = check_dispatch(need, price, load, prog)
    assert p0.shape == (n, prog[2].shape[0])


@pytest.mark.parametrize("seed", range(400))
def test_for_shedding_matches_twin(seed):
    rng = np.random.default_rng(10_000 + seed)
    n, B, need, price, load, prog = _case(rng)
    shed = _values(rng, (n, B), 30.0) * (rng.random((n, B)) < 0.6)
    dr_p = np.zeros((n, prog[2].shape[0]))
    if rng.random() < 0.5:  # some programmes already used in the window
        dr_p, _ = naive_dispatch(need, price, load, *prog)
    check_for_shedding(shed, dr_p, prog)


def test_dispatch_split_event_dropped():
    """A payback cut in the middle of an event splits it; with no event to spare the
    programme is dropped in the window (both twin and kernel)."""
    need = np.array([5e-6, 1.0, 5e-6])
    price = np.array([3.0, 1.0, 2.0])
    load = np.full((3, 1), 100.0)
    rest = (np.array([0], np.int64), np.array([10.0]), np.array([100.0]),
            np.array([6], np.int64), np.array([1e-4]), 1000.0)
    p1, _ = check_dispatch(need, price, load, (np.array([1], np.int64),) + rest)
    assert not p1.any()  # dropped: two events from one, one event left
    p2, _ = check_dispatch(need, price, load, (np.array([2], np.int64),) + rest)
    np.testing.assert_array_equal(p2[:, 0], [5e-6, 0.0, 5e-6])  # two events left: kept


@pytest.mark.parametrize("seed", range(100))
def test_dispatch_split_prone_matches_twin(seed):
    """Needs alternating between tiny and large values, tiny payback fractions, few events:
    payback cuts split events and programmes get dropped."""
    rng = np.random.default_rng(20_000 + seed)
    n, _B, _need, price, load, prog = _case(rng)
    dr_left, dr_bus, dr_pmax, dr_cost, dr_max_dur, frac, voll = prog
    need = rng.choice([0.0, 5e-6, 9e-6, 1.0, 30.0], size=n, p=[0.1, 0.35, 0.15, 0.2, 0.2])
    prog = (np.minimum(dr_left + 1, 2).astype(np.int64), dr_bus, np.maximum(dr_pmax, 1.0),
            dr_cost, dr_max_dur, np.where(rng.random(frac.shape[0]) < 0.6, 1e-4, frac), voll)
    check_dispatch(need, price, np.maximum(load, 50.0), prog)


@pytest.mark.parametrize("seed", range(20))
def test_large_cases_match_twins(seed):
    """Sizes of the Sichuan case (about 54 programmes at 53 buses, tens of events left) and
    windows past NumPy's 128-value summation block."""
    rng = np.random.default_rng(30_000 + seed)
    n, D, B = int(rng.integers(40, 200)), int(rng.integers(20, 61)), int(rng.integers(10, 56))
    need = _values(rng, n, 300.0)
    price = np.round(rng.uniform(-20.0, 300.0, n), 0)
    load = _values(rng, (n, B), 60.0)
    frac = np.where(rng.random(D) < 0.5, 0.0, rng.choice([1e-4, 0.5, 1.0], size=D))
    prog = (rng.integers(0, 61, D).astype(np.int64), rng.integers(0, B, D).astype(np.int64),
            rng.uniform(0.0, 20.0, D), np.round(rng.uniform(50.0, 1200.0, D), -2),
            rng.integers(1, 7, D).astype(np.int64), frac, 1000.0)
    p0, _ = check_dispatch(need, price, load, prog)
    shed = _values(rng, (n, B), 5.0) * (rng.random((n, B)) < 0.3)
    check_for_shedding(shed, p0, prog)


def test_read_only_inputs():
    rng = np.random.default_rng(5)
    _n, _B, need, price, load, prog = _case(rng)
    for a in (need, load) + prog[:-1]:
        a.setflags(write=False)
    check_dispatch(need, price, load, prog)
