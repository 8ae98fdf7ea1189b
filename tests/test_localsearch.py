"""Commitment local search, look-ahead dispatch and the ramp-limited reserve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch import invariants, kernels as K, localsearch as LS, native, testing
from dispatch.arrays import initial_state
from dispatch.costs import startup_costs, thermal_energy_cost

from naive import _pattern_ok


def test_pattern_ok_matches_naive():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 10))
        on = rng.random((n, 1)) < 0.6
        init_on = np.array([bool(rng.random() < 0.5)])
        init_h = np.array([int(rng.integers(0, 5))], np.int64)
        mu, md = np.array([int(rng.integers(0, 4))]), np.array([int(rng.integers(0, 4))])
        force = np.zeros((n, 1), np.int8)
        want = _pattern_ok(on[:, 0], mu[0], md[0], bool(init_on[0]), int(init_h[0]))
        assert LS.pattern_ok(on, 0, init_on, init_h, mu, md, force) == want
        # a forced hour against the pattern is never ok
        t = int(rng.integers(0, n))
        force[t, 0] = -1 if on[t, 0] else 1
        assert not LS.pattern_ok(on, 0, init_on, init_h, mu, md, force)


def test_unit_startup_cost_matches_costs():
    sys = testing.toy_system(24)
    st = initial_state(sys)
    rng = np.random.default_rng(7)
    for _ in range(20):
        on = rng.random((24, sys.n_th)) < 0.5
        want = startup_costs(sys, st, on).sum(axis=0)
        got = [LS.unit_startup_cost(on, g, np.asarray(st.th_on, bool), np.asarray(st.th_hours, np.int64),
                                    sys.th_su_lag, sys.th_su_cost) for g in range(sys.n_th)]
        np.testing.assert_allclose(got, want)


def _ramp_case():
    """Two units, the dear one slow (20 MW/h): demand jumps from 100 to 150 MW in one hour,
    which only works if the slow unit has ramped up ahead (70 MW at hour 2)."""
    on = np.ones((4, 2), bool)
    pmin, pmax = np.array([50.0, 10.0]), np.array([200.0, 60.0])
    ru = rd = np.array([20.0, 100.0])
    p0, init_on = np.array([50.0, 10.0]), np.ones(2, bool)
    elo, ehi = K.ramp_envelope(on, p0, init_on, pmin, pmax, ru, rd, pmax, pmax)
    seg_mw, seg_cost = (pmax - pmin)[:, None], np.array([[50.0], [10.0]])
    demand = np.array([100.0, 100.0, 100.0, 150.0])
    args = (on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, np.zeros(4), 0.0, np.zeros((4, 0)),
            np.zeros((4, 0)), np.zeros(0), demand, np.zeros(4), 1000.0, 1e4, demand, False)
    return args, ru


def test_dispatch_ahead_ramps_before_a_jump():
    args, ru = _ramp_case()
    p, _re, _ex, shed, surplus, _head = K.dispatch_hours(*args)
    assert shed[3] > 1.0  # myopic: the slow unit sits low, the peak cannot be reached
    prio = np.array([1, 0], np.int64)
    p2, _re, _ex, shed2, surplus2, _head = K.dispatch_ahead(*args, prio, 4)
    assert shed2.sum() <= 1e-9 and surplus2.sum() <= 1e-9
    np.testing.assert_allclose(p2.sum(axis=1), args[-6])  # balance every hour
    prev = np.vstack([args[3][None], p2[:-1]])
    assert np.all(np.abs(p2 - prev) <= ru[None] + 1e-9)  # ramps kept


def test_dispatch_cost_is_the_schedule_cost():
    """dispatch_cost == running cost (costs.thermal_energy_cost) of the dispatch it makes."""
    args, _ = _ramp_case()
    on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, cc, exmin, exmax, exp, load, res, rc, voll, dem, rr = args
    prio = np.array([0, 1], np.int64)
    cost_pmin = np.array([100.0, 30.0])
    got, short = LS.dispatch_cost(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_tot,
                                  cc, exmin, exmax, exp, load, res, rc, voll, dem, 1e6, rr, prio, 4)
    p = K.dispatch_ahead(*args, prio, 4)[0]
    sys = dataclasses.make_dataclass("S", ["th_cost_pmin", "th_pmin", "th_seg_mw", "th_seg_cost"])(
        cost_pmin, pmin, seg_mw, seg_cost)
    assert got == pytest.approx(thermal_energy_cost(sys, p, on).sum())
    assert not short.any()


def test_commit_search_improves_and_stays_feasible():
    """From the everything-on commitment the search only lowers the modelled cost and every
    unit keeps its min up/down time and forced hours; the native window it feeds is feasible."""
    sys = testing.toy_system(48)
    st = initial_state(sys)
    w = native._Win(sys, 0, 48, st, None)
    on = np.ones((48, sys.n_th), bool)
    x, _ = w.flex(native._initial_prices(w))
    _elo, _ehi, _st, res_eff = native._stacks(w, on, x)
    demand = w.load_tot + w.ex_max.sum(axis=1) - K.flex_injection(x, w.energy, w.hour, 48)
    out, c0, c1, moves, evals = LS.commit_search(
        on, w.force, w.th_init_on, w.th_init_h, sys.th_min_up, sys.th_min_down, sys.th_su_lag, sys.th_su_cost,
        w.th_p0, sys.th_pmin, sys.th_pmax, sys.th_ramp_up, sys.th_ramp_down, sys.th_su_ramp, sys.th_sd_ramp,
        sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, w.re_tot, float(sys.curtail_cost), w.ex_min, w.ex_max,
        sys.ex_price, w.load_tot, res_eff, float(sys.reserve_short_cost), float(sys.voll), demand, native.DUMP_COST,
        False, w.prio, 4, 4, 3, 3, 4, np.arange(sys.n_th, dtype=np.int64), 100000)
    assert moves > 0 and c1 < c0 and evals > moves
    for g in range(sys.n_th):
        assert LS.pattern_ok(out, g, w.th_init_on, w.th_init_h, sys.th_min_up, sys.th_min_down, w.force)
    np.testing.assert_array_equal(on, True)  # input untouched


def test_thermal_reserve_hand_case():
    """PGLib unit reserve: start-up hour capped at SU, last hour before a stop at SD, ramp-up
    room from the previous hour; plain headroom when the flag is off."""
    sys = testing.toy_system(4)
    g = 0
    G = sys.n_th
    pmin, pmax = float(sys.th_pmin[g]), float(sys.th_pmax[g])
    su, ru = pmin + 0.25 * (pmax - pmin), 0.1 * (pmax - pmin)
    sys = dataclasses.replace(sys, reserve_ramp_limited=True,
                              th_su_ramp=np.where(np.arange(G) == g, su, sys.th_su_ramp),
                              th_sd_ramp=np.where(np.arange(G) == g, su, sys.th_sd_ramp),
                              th_ramp_up=np.where(np.arange(G) == g, ru, sys.th_ramp_up))
    st = dataclasses.replace(initial_state(sys), th_on=np.zeros(G, bool), th_p=np.zeros(G))
    on = np.zeros((4, G), bool)
    on[0:3, g] = True  # start at 0, run, stop after hour 2
    p = np.zeros((4, G))
    p[:, g] = [pmin, pmin + 0.5 * ru, pmin + 0.5 * ru, 0.0]
    r = invariants.thermal_reserve(sys, st, on, p)[:, g]
    np.testing.assert_allclose(r, [su - pmin, ru - 0.5 * ru, min(su - p[2, g], ru), 0.0])
    loose = dataclasses.replace(sys, reserve_ramp_limited=False)
    np.testing.assert_allclose(invariants.thermal_reserve(loose, st, on, p)[:, g], np.where(on[:, g], pmax - p[:, g], 0))


@pytest.mark.parametrize("seed", range(40))
def test_dispatch_hours_bit_identical_to_the_sorting_twin(seed):
    """The presorted, merging dispatch gives the same bits as sorting every hour (ties in
    cost, reserve splits, exports at the renewables' price, shedding, surplus)."""
    from naive import dispatch_hours_sorting

    rng = np.random.default_rng(seed)
    n, G, K_, E = int(rng.integers(1, 30)), int(rng.integers(1, 9)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
    on = rng.random((n, G)) < 0.7
    pmin = rng.uniform(0, 50, G)
    pmax = pmin + rng.uniform(0, 120, G)
    seg_mw = np.repeat(((pmax - pmin) / K_)[:, None], K_, 1)
    seg_cost = np.sort(rng.choice([10.0, 20.0, 20.0, 30.0, 45.5], (G, K_)), axis=1)  # many ties
    ru, rd = rng.uniform(5, 150, G), rng.uniform(5, 150, G)
    p0, init_on = pmin + rng.random(G) * (pmax - pmin), rng.random(G) < 0.5
    elo, ehi = K.ramp_envelope(on, p0, init_on, pmin, pmax, ru, rd, pmin + 0.5 * (pmax - pmin), pmax)
    re_tot = rng.uniform(0, 100, n) * (rng.random(n) < 0.7)
    ex_min = rng.uniform(0, 10, (n, E))
    ex_max = ex_min + rng.uniform(0, 40, (n, E))
    ex_price = rng.choice([-5.0, 20.0, 30.0], E)
    load = rng.uniform(0, 400, n)
    reserve = rng.uniform(0, 80, n) * (rng.random(n) < 0.6)
    demand = load + ex_max.sum(axis=1) - rng.uniform(0, 50, n)
    for res_ramp in (False, True):
        for res_cost in (0.0, 15.0, 500.0):
            args = (on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, 20.0 * (seed % 2),
                    ex_min, ex_max, ex_price, load, reserve, res_cost, 1000.0, demand, res_ramp)
            got = K.dispatch_hours(*args)
            want = dispatch_hours_sorting(*args)
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(10))
def test_dispatch_from_an_hour_is_bit_identical(seed):
    """Re-dispatching from hour t with the earlier hours copied from a first pass of the same
    inputs (what the commitment search does after a move) gives the full dispatch's bits,
    also when the inputs change from hour t on."""
    rng = np.random.default_rng(seed)
    n, G, K_ = 24, 6, 2
    on = rng.random((n, G)) < 0.7
    pmin = rng.uniform(10, 50, G)
    pmax = pmin + rng.uniform(20, 120, G)
    seg_mw = np.repeat(((pmax - pmin) / K_)[:, None], K_, 1)
    seg_cost = np.sort(rng.uniform(10, 40, (G, K_)), axis=1)
    ru = rd = rng.uniform(10, 80, G)
    p0, init_on = pmin.copy(), rng.random(G) < 0.5
    load = rng.uniform(100, 400, n)
    reserve = rng.uniform(0, 50, n)
    prio = np.argsort(seg_cost[:, 0]).astype(np.int64)

    def args(on_):
        elo, ehi = K.ramp_envelope(on_, p0, init_on, pmin, pmax, ru, rd, pmin, pmax)
        return (on_, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, rng.uniform(0, 0, n), 0.0,
                np.zeros((n, 0)), np.zeros((n, 0)), np.zeros(0), load, reserve, 50.0, 1000.0, load, True)

    base_args = args(on)
    base = K.dispatch_hours(*base_args)
    for t in (1, 7, 23):
        on2 = on.copy()
        on2[t:, int(rng.integers(0, G))] ^= True  # a move from hour t on
        a2 = args(on2)
        # the envelope may change before t (shut-down ramps): start where anything differs
        diff = np.nonzero((a2[0] != base_args[0]).any(1) | (a2[1] != base_args[1]).any(1) | (a2[2] != base_args[2]).any(1))[0]
        t0 = int(diff[0]) if len(diff) else n - 1
        got = LS.dispatch_cost_from(t0, *base, *a2[:9], np.zeros(G), *a2[9:20], a2[20], 1e6, a2[21], prio, 4)
        want = LS.dispatch_cost(*a2[:9], np.zeros(G), *a2[9:20], a2[20], 1e6, a2[21], prio, 4)
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])


def _relink_case(seed):
    """Two commitments of the toy system, each unit's column a valid pattern, and the model
    cost of any commitment (dispatch + start-ups) as the relinking kernel counts it."""
    sys = testing.toy_system(24)
    st = initial_state(sys)
    w = native._Win(sys, 0, 24, st, None)
    x, _ = w.flex(native._initial_prices(w))
    rng = np.random.default_rng(seed)
    ends = []
    for _ in range(2):
        on = np.ones((24, sys.n_th), bool)
        for g in range(sys.n_th):
            if rng.random() < 0.6:  # off for a stretch that keeps min up/down
                a = int(rng.integers(0, 12))
                b = int(rng.integers(a + 1, 24))
                on[a:b, g] = False
                if not LS.pattern_ok(on, g, w.th_init_on, w.th_init_h, sys.th_min_up, sys.th_min_down, w.force):
                    on[:, g] = True
        ends.append(on)
    model = native._dispatch_model(w, x, native.NativeOptions())  # p0 .. rounds, as the engine passes them

    def cost(on):
        p0, pmin, pmax, ru, rd, su, sd = model[:7]
        elo, ehi = K.ramp_envelope(on, p0, w.th_init_on, pmin, pmax, ru, rd, su, sd)
        disp = LS.dispatch_cost(on, elo, ehi, p0, w.th_init_on, ru, rd, pmin, pmax, *model[7:])[0]
        return disp + startup_costs(sys, st, on).sum()

    return sys, w, ends, model, cost


@pytest.mark.parametrize("seed", range(6))
def test_relink_matches_the_brute_force_twin(seed):
    from naive import relink_naive

    sys, w, (on_a, on_b), model, cost = _relink_case(seed)
    got_on, got, cost_a = LS.relink(on_a, on_b, w.th_init_on, w.th_init_h, sys.th_su_lag, sys.th_su_cost, *model)
    want_on, want = relink_naive(on_a, on_b, cost)
    assert cost_a == pytest.approx(cost(on_a), rel=1e-12)
    assert got == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(got_on, want_on)
    if np.isfinite(got):
        differ_a = np.any(got_on != on_a, axis=0)
        differ_b = np.any(got_on != on_b, axis=0)
        assert differ_a.any() and differ_b.any()  # strictly between the ends
        for g in range(sys.n_th):  # every column is one of the ends' own
            assert np.array_equal(got_on[:, g], on_a[:, g]) or np.array_equal(got_on[:, g], on_b[:, g])


def test_relink_needs_two_differing_units():
    sys, w, (on_a, _b), model, _cost = _relink_case(0)
    on_b = on_a.copy()
    on_b[:, 0] = ~on_b[:, 0]
    on, cost, _ = LS.relink(on_a, on_b, w.th_init_on, w.th_init_h, sys.th_su_lag, sys.th_su_cost, *model)
    assert not np.isfinite(cost)
    np.testing.assert_array_equal(on, on_a)


@pytest.mark.parametrize("seed", range(6))
def test_dispatch_reserve_is_the_models_reserve(seed):
    """With ``res_ramp`` the merit-order dispatch counts each unit's reserve as the milp
    model writes it and the invariant checker checks it (:func:`invariants.thermal_reserve`:
    start-up / shut-down capability only in those hours, ``prev + ru`` while on), not as the
    envelope: a unit ramping down towards a later shut-down still holds reserve up to pmax.
    On PGLib's RTS-GMLC 01-27 with commitments of random valid runs (min up/down kept)."""
    from dispatch import _core
    from dispatch.pglib import PGLIB_DIR, read_pglib

    sys = read_pglib(PGLIB_DIR / "rts_gmlc" / "2020-01-27.json").to_arrays()
    st = sys.init
    n, G = sys.n_hours, sys.n_th
    rng = np.random.default_rng(seed)
    pref = rng.normal(size=(n, G)).cumsum(axis=0)  # runs of several hours
    on, _v = _core.commit_dp(pref, np.zeros((n, G)), np.zeros((n, G), np.int8), sys.th_su_lag,
                             np.zeros_like(sys.th_su_cost), sys.th_min_up, sys.th_min_down, st.th_on, st.th_hours)
    on = on.astype(bool)
    elo, ehi = K.ramp_envelope(on, st.th_p, st.th_on, sys.th_pmin, sys.th_pmax, sys.th_ramp_up, sys.th_ramp_down,
                               sys.th_su_ramp, sys.th_sd_ramp)
    load = sys.load_mw.sum(axis=1)
    demand = np.minimum(load, 0.8 * (ehi.sum(axis=1)))
    p, _re, _ex, shed, surplus, head = K.dispatch_hours(
        on, elo, ehi, st.th_p, st.th_on, sys.th_ramp_up, sys.th_ramp_down, sys.th_pmin, sys.th_pmax, sys.th_seg_mw,
        sys.th_seg_cost, np.zeros(n), 0.0, np.zeros((n, 0)), np.zeros((n, 0)), np.zeros(0), demand,
        sys.reserve_up_mw, 1e3, 1e4, demand, True)
    want = invariants.thermal_reserve(sys, st, on, p).sum(axis=1)
    np.testing.assert_allclose(head, want, rtol=1e-12, atol=1e-6)
    stopping = on & ~np.vstack([on[1:], on[-1:]])
    ramping = on & (ehi < sys.th_pmax[None] - 1e-9) & ~stopping & np.vstack([st.th_on[None], on[:-1]])
    assert ramping.any()  # hours where the envelope is under pmax and the reserve is not
