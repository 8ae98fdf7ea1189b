"""The warm-started network simplex against an LP twin and the successive-shortest-path kernel."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dispatch import kernels as K
from dispatch import netsimplex as NS

import naive


def _basis(n, m):
    return (np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64), np.zeros(n + 1, np.bool_), np.zeros(m + n, np.int8),
            np.zeros(m + n))


def _random_network(rng, n=30, m=120):
    tail = rng.integers(0, n, m)
    head = (tail + rng.integers(1, n, m)) % n
    lo = np.where(rng.random(m) < 0.2, rng.uniform(0, 3, m), 0.0)
    hi = lo + rng.uniform(1, 20, m)
    supply = np.zeros(n)
    # supplies that a feasible flow exists for: push a random feasible flow through the arcs
    f = lo + rng.random(m) * (hi - lo)
    np.add.at(supply, tail, f)
    np.add.at(supply, head, -f)
    return n, tail.astype(np.int64), head.astype(np.int64), lo, hi, supply


def _check(n, tail, head, lo, hi, cost, supply, flow, unrouted):
    assert unrouted < 1e-7
    assert np.all(flow >= lo - 1e-9) and np.all(flow <= hi + 1e-9)
    bal = np.bincount(head, flow, n) - np.bincount(tail, flow, n) + supply
    assert np.abs(bal).max() < 1e-7


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_match_lp_cold_and_warm(seed):
    rng = np.random.default_rng(seed)
    n, tail, head, lo, hi, supply = _random_network(rng)
    basis = _basis(n, len(tail))
    for k in range(5):  # first call cold, then warm with new costs
        cost = rng.uniform(-10, 10, len(tail))
        flow, unrouted, piv = NS.ns_solve(n, tail, head, lo, hi, cost, supply, *basis, k > 0, 10**6)
        assert piv >= 0
        _check(n, tail, head, lo, hi, cost, supply, flow, unrouted)
        assert_allclose(cost @ flow, naive.mcf_lp(n, tail, head, lo, hi, cost, supply), rtol=1e-9, atol=1e-6)


def test_infeasible_supply_is_reported_unrouted():
    # node 0 must send 5 units but its only arc carries 3
    tail, head = np.array([0], np.int64), np.array([1], np.int64)
    flow, unrouted, _ = NS.ns_solve(2, tail, head, np.zeros(1), np.array([3.0]), np.array([1.0]),
                                    np.array([5.0, -5.0]), *_basis(2, 1), False, 1000)
    assert abs(unrouted - 4.0) < 1e-9 or abs(unrouted - 2.0) < 1e-9  # the 2 missing units leave and arrive artificially
    assert flow[0] == pytest.approx(3.0)


def _toy_graph(n=48, seed=7):
    from dispatch import testing
    from dispatch.arrays import initial_state

    sys = testing.toy_system(n, seed=seed)
    st = initial_state(sys)
    arr = K.hist_arrivals(n, sys.hy_down, sys.hy_delay, st.hy_hist)
    return K.build_flex_graph(n, sys.hy_k, sys.hy_pmax, sys.hy_qmin, sys.hy_vmin, sys.hy_vmax, sys.hy_down,
                              sys.hy_delay, sys.hy_inflow[:n], arr, st.hy_v, st.hy_v, np.full(sys.n_hy, 1e5), 1.0,
                              sys.st_pch, sys.st_pdis, sys.st_emin, sys.st_emax, sys.st_eta_ch, sys.st_eta_dis,
                              sys.st_loss, np.asarray(st.st_e, float), 1e7)


def test_flex_network_warm_calls_match_shortest_paths():
    """The hydro/storage network of a toy window over a sequence of prices, as the engine calls it."""
    n = 48
    n_nodes, tail, head, lo, hi, base, energy, rescoef, hour, role, unit, supply, const = _toy_graph(n)
    rng = np.random.default_rng(0)
    basis = _basis(n_nodes, len(tail))
    price = 200 + 100 * np.sin(np.arange(n) / 3)
    for k in range(8):
        price = price * (1 + 0.1 * rng.standard_normal(n))
        mu = np.abs(rng.normal(0, 20, n))
        cost = K.flex_costs(base, energy, rescoef, hour, price, mu)
        flow, unrouted, piv = NS.ns_solve(n_nodes, tail, head, lo, hi, cost, supply, *basis, k > 0, 10**6)
        ref, ref_un, _, _ = K.mcf_solve(n_nodes, tail, head, lo, hi, cost, supply)
        _check(n_nodes, tail, head, lo, hi, cost, supply, flow, unrouted)
        # supplies sum to ~1e-10, not 0: that residue at the slack cost (1e7) is ~1e-3
        assert_allclose(cost @ flow, cost @ ref, rtol=1e-9, atol=1e-2)


def test_pivot_limit_falls_back_to_shortest_paths():
    """A component whose pivot limit is hit is solved exactly by the fallback and loses its basis."""
    from dispatch import native
    from dispatch.arrays import initial_state
    from dispatch import testing

    sys = testing.toy_system(24)
    w = native._Win(sys, 0, 24, initial_state(sys), None)
    cost = K.flex_costs(w.base, w.energy, w.rescoef, w.hour, np.full(24, 300.0), np.zeros(24))
    sel = w.all_comps
    lflow = np.zeros_like(w.mcf_flow)
    un, piv = NS.ns_solve_comps(sel, *w.comps, w.lo, w.hi, cost, w.lsupply, lflow, *w.ns_basis, w.ns_ready, 0)
    assert un < 1e-6 and piv == 0 and np.all(w.ns_ready == 0)
    f0 = K.mcf_scatter(w.comps[1], w.comps[2], lflow, w.lo.shape[0])
    un, piv = NS.ns_solve_comps(sel, *w.comps, w.lo, w.hi, cost, w.lsupply, lflow, *w.ns_basis, w.ns_ready, 50)
    assert un < 1e-6 and piv > 0 and np.all(w.ns_ready == 1)
    f1 = K.mcf_scatter(w.comps[1], w.comps[2], lflow, w.lo.shape[0])
    assert_allclose(cost @ f1, cost @ f0, rtol=1e-10, atol=1e-3)


@pytest.mark.parametrize("seed", range(6))
def test_reseated_basis_under_new_bounds_matches_lp(seed):
    """A basis optimal under one set of bounds, reseated on boxes of other bounds (as the
    trust-region re-plan's boxes move), ends at the LP optimum of each box."""
    rng = np.random.default_rng(100 + seed)
    n, tail, head, lo, hi, supply = _random_network(rng)
    m = len(tail)
    f0 = lo + rng.random(m) * (hi - lo)  # feasible: the supplies were made from such a flow
    supply = np.bincount(tail, f0, n) - np.bincount(head, f0, n)
    basis = _basis(n, m)
    for k in range(6):
        cost = rng.uniform(-10, 10, m)
        d = rng.uniform(0.05, 0.8) * (hi - lo)
        blo, bhi = np.maximum(lo, f0 - d), np.minimum(hi, f0 + d)
        flow, unrouted, piv = NS.ns_solve(n, tail, head, blo, bhi, cost, supply, *basis, k > 0, 10**6, k > 0)
        assert piv >= 0
        _check(n, tail, head, blo, bhi, cost, supply, flow, unrouted)
        assert_allclose(cost @ flow, naive.mcf_lp(n, tail, head, blo, bhi, cost, supply), rtol=1e-9, atol=1e-6)
        f0 = 0.5 * (f0 + flow)  # the next box around a point between the centre and the optimum


def test_reseat_moves_tree_arcs_off_bounds_they_break():
    """A small box around an interior flow, away from the last optimum: tree arcs whose
    flows leave the box go to its bounds, artificial arcs carry the rest, and the simplex
    still ends at the box's LP optimum."""
    rng = np.random.default_rng(3)
    n, tail, head, lo, hi, _ = _random_network(rng, n=12, m=40)
    m = len(tail)
    f0 = lo + (0.3 + 0.4 * rng.random(m)) * (hi - lo)
    supply = np.bincount(tail, f0, n) - np.bincount(head, f0, n)
    basis = _basis(n, m)
    cost = rng.uniform(-10, 10, m)
    flow, _, _ = NS.ns_solve(n, tail, head, lo, hi, cost, supply, *basis, False, 10**6)
    d = 0.05 * (hi - lo)
    blo, bhi = f0 - d, f0 + d
    tree = basis[3][:m] == NS.IN_TREE
    assert np.any(tree & ((flow < blo) | (flow > bhi)))  # the reseat must move tree arcs
    cost2 = rng.uniform(-10, 10, m)
    flow2, unrouted, piv = NS.ns_solve(n, tail, head, blo, bhi, cost2, supply, *basis, True, 10**6, True)
    assert piv >= 0
    _check(n, tail, head, blo, bhi, cost2, supply, flow2, unrouted)
    assert_allclose(cost2 @ flow2, naive.mcf_lp(n, tail, head, blo, bhi, cost2, supply), rtol=1e-9, atol=1e-6)
