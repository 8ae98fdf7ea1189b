"""Primal network simplex for the flexible (hydro + storage) network, warm-startable.

The Lagrangian dual and the Frank-Wolfe recovery of :mod:`dispatch.native` solve the same
min-cost-flow network (:func:`dispatch.kernels.build_flex_graph`) ~100 times per window
with different arc *costs* only: bounds and supplies never change within a window. A
spanning-tree basis stays primal feasible when costs change, so each call after the first
starts from the previous optimal basis and only re-prices it: a few pivots instead of the
hundreds of shortest-path phases of a cold successive-shortest-path solve.

Algorithm (textbook primal network simplex, e.g. Ahuja, Magnanti & Orlin, *Network Flows*,
1993, ch. 11; strongly feasible trees after Cunningham, Math. Programming 11, 1976):

* lower bounds are shifted out (``x = f - lo``, ``0 <= x <= hi - lo``);
* an artificial root joins every node by an artificial arc of prohibitive cost oriented
  so that the initial tree is strongly feasible (every node can send flow to the root);
* entering arc: block pricing (the most violating arc of a block of ~sqrt(m) arcs);
* leaving arc: the last blocking arc met when walking the cycle from its apex in the
  cycle's direction (keeps the tree strongly feasible, so degenerate pivots never cycle);
* tree update: the cut-off subtree is re-rooted at the entering arc's end point and its
  potentials and depths are updated by a walk over its children lists. The cycle's apex
  is found by climbing from both end points by depth. Parent pointers are the persistent
  state; depths, potentials and children lists are rebuilt from them on each call.

State kept between calls (per component, in caller-owned arrays): parent, pred arc,
pred direction, arc state (tree / at lower / at upper), shifted flow. Potentials are
recomputed from the tree on every call, since the costs changed.

The trust-region re-plan (:meth:`dispatch.native._Win.flex_box`) changes the *bounds*
between calls too (a box around the current flows). Its calls start from the last box's
basis *reseated* (:func:`_reseat`): arcs off the tree go to their new bound, tree arcs carry
what their subtrees must send, and where that breaks a tree arc's bounds the arc stays at the
bound it hits and the subtree's remaining excess goes over its node's artificial arc (a
big-M phase one inside the same pivots). Measured on 12 sichuan-2030 windows with 200
trust-region steps: 24.5 -> 15.0 s for the same quality (session 12).

Kernels take arrays and scalars only. The exact twin for tests is an LP
(``tests/naive.py::mcf_lp``); :func:`dispatch.kernels.mcf_solve` (successive shortest
paths) is the fallback when a pivot limit is hit.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit
from .kernels import mcf_solve

AT_LOWER = 1
AT_UPPER = -1
IN_TREE = 0


@njit
def _tree_potentials(n, parent, pred, up, c, pot, depth, done, stack):
    """Node potentials and depths from the tree: root 0, every tree arc with zero reduced cost."""
    R = n
    for v in range(n + 1):
        done[v] = False
    pot[R] = 0.0
    depth[R] = 0
    done[R] = True
    for v in range(n):
        if done[v]:
            continue
        k = 0
        w = v
        while not done[w]:
            stack[k] = w
            k += 1
            w = parent[w]
        for i in range(k - 1, -1, -1):
            u = stack[i]
            p = parent[u]
            # reduced cost c + pot[tail] - pot[head] = 0 on the tree arc
            if up[u]:
                pot[u] = pot[p] - c[pred[u]]
            else:
                pot[u] = pot[p] + c[pred[u]]
            depth[u] = depth[p] + 1
            done[u] = True


@njit
def _link(v, p, first_child, next_sib, prev_sib):
    """Make ``v`` the first child of ``p``."""
    f = first_child[p]
    next_sib[v] = f
    prev_sib[v] = -1
    if f >= 0:
        prev_sib[f] = v
    first_child[p] = v


@njit
def _unlink(v, p, first_child, next_sib, prev_sib):
    """Remove ``v`` from the children of ``p``."""
    a = prev_sib[v]
    b = next_sib[v]
    if a >= 0:
        next_sib[a] = b
    else:
        first_child[p] = b
    if b >= 0:
        prev_sib[b] = a


@njit
def _reseat(n, m, parent, pred, up, state, x, cap, et, eh, b, c, pot, depth, done, stack):
    """Make a basis found under other arc bounds a basis of these (same arcs and nodes).

    Arcs off the tree go to their new bound (lower or upper, as they were); tree arcs then
    carry what their subtrees must send. A tree arc that would leave its bounds stays at the
    bound it hits and leaves the tree; the rest of its subtree's excess goes over the node's
    artificial arc to the root, which joins the tree in that direction (zero: towards the
    root, as strongly feasible trees want). The simplex then drives those artificial flows
    out at their prohibitive cost, from a tree that is mostly the old optimal one."""
    R = n
    e = np.empty(n + 1)
    for v in range(n):
        e[v] = b[v]
    e[R] = 0.0
    for a in range(m):
        if state[a] != IN_TREE:
            x[a] = 0.0 if state[a] == AT_LOWER else cap[a]
            e[et[a]] -= x[a]
            e[eh[a]] += x[a]
    for v in range(n):
        if state[m + v] != IN_TREE:
            state[m + v] = AT_LOWER
            x[m + v] = 0.0
    _tree_potentials(n, parent, pred, up, c, pot, depth, done, stack)
    order = np.argsort(-depth[:n], kind="mergesort")  # children before their parents
    for k in range(n):
        u = order[k]
        a = pred[u]
        su = e[u]  # what u's subtree must send to its parent (its children are done)
        if a < m:
            f = su if up[u] else -su
            if f >= 0.0 and f <= cap[a]:  # exact: a clipped rounding residue would be lost water
                x[a] = f
                e[parent[u]] += su
                continue
            fc = 0.0 if f < 0.0 else cap[a]
            state[a] = AT_LOWER if f < 0.0 else AT_UPPER
            x[a] = fc
            moved = fc if up[u] else -fc
            e[parent[u]] += moved
            su -= moved
            a = m + u
            state[a] = IN_TREE
            parent[u] = R
            pred[u] = a
        if su >= 0.0:
            et[a] = u
            eh[a] = R
            up[u] = True
            x[a] = su
        else:
            et[a] = R
            eh[a] = u
            up[u] = False
            x[a] = -su


@njit
def ns_solve(n, tail, head, lo, hi, cost, supply, parent, pred, up, state, x, warm, max_pivots, reseat=False):
    """Min-cost flow with ``lo <= f <= hi`` by primal network simplex.

    Parameters
    ----------
    n : number of nodes; tail, head : (m,) int64 ; lo, hi, cost : (m,) float64
    supply : (n,) float64, positive = source, summing to ~0
    parent, pred : (n+1,) int64 ; up : (n+1,) bool -- the basis tree (node ``n`` is the root)
    state : (m+n,) int8 ; x : (m+n,) float64 -- arc states and shifted flows (arcs ``m..m+n-1``
        are the artificial arcs of nodes ``0..n-1``). Read when ``warm``, always overwritten
        with the optimal basis.
    warm : start from the basis in the arrays (same ``n``, arcs, bounds and supplies)
    max_pivots : pivot limit
    reseat : with ``warm``, the basis was optimal under other bounds ``lo``/``hi`` (same
        arcs and supplies): it is first made a basis of these (:func:`_reseat`)

    Returns
    -------
    flow : (m,) float64
    unrouted : float -- flow left on artificial arcs (0 when the problem is feasible)
    pivots : int -- pivots done, or -1 when ``max_pivots`` was hit (flow then not optimal)
    """
    m = tail.shape[0]
    M = m + n
    R = n
    cap = np.empty(M)
    c = np.empty(M)
    et = np.empty(M, np.int64)
    eh = np.empty(M, np.int64)
    b = supply.copy()
    cmax = 1.0
    for a in range(m):
        cap[a] = hi[a] - lo[a]
        c[a] = cost[a]
        et[a] = tail[a]
        eh[a] = head[a]
        b[tail[a]] -= lo[a]
        b[head[a]] += lo[a]
        if abs(cost[a]) > cmax:
            cmax = abs(cost[a])
    big_cap = 0.0
    for v in range(n):
        big_cap += abs(b[v])
    for a in range(m):
        big_cap += cap[a]
    art = (n + 1.0) * cmax + 1.0
    for v in range(n):
        a = m + v
        cap[a] = big_cap + 1.0
        c[a] = art
        if b[v] >= 0.0:
            et[a] = v
            eh[a] = R
        else:
            et[a] = R
            eh[a] = v
    if not warm:
        for a in range(m):
            state[a] = AT_LOWER
            x[a] = 0.0
        for v in range(n):
            parent[v] = R
            pred[v] = m + v
            up[v] = b[v] >= 0.0
            state[m + v] = IN_TREE
            x[m + v] = abs(b[v])
        parent[R] = -1
        pred[R] = -1
        up[R] = False
    pot = np.empty(n + 1)
    depth = np.empty(n + 1, np.int64)
    done = np.zeros(n + 1, np.bool_)
    stack = np.empty(n + 1, np.int64)
    if warm and reseat:
        _reseat(n, m, parent, pred, up, state, x, cap, et, eh, b, c, pot, depth, done, stack)
    _tree_potentials(n, parent, pred, up, c, pot, depth, done, stack)
    # children lists (doubly linked siblings) for subtree walks
    first_child = np.full(n + 1, -1, np.int64)
    next_sib = np.full(n + 1, -1, np.int64)
    prev_sib = np.full(n + 1, -1, np.int64)
    for v in range(n):
        _link(v, parent[v], first_child, next_sib, prev_sib)
    # reduced-cost tolerance: above the rounding of potentials that may carry the artificial cost
    eps = 1e-7 + 1e-17 * art * n
    block = max(int(np.sqrt(M)), 16)
    nxt = 0
    pivots = 0
    while True:
        # --- entering arc: block search
        best = -eps
        ein = -1
        cnt = 0
        a = nxt
        for _ in range(M):
            s = state[a]
            if s != IN_TREE:
                r = s * (c[a] + pot[et[a]] - pot[eh[a]])
                if r < best:
                    best = r
                    ein = a
            a += 1
            if a == M:
                a = 0
            cnt += 1
            if cnt == block:
                if ein >= 0:
                    break
                cnt = 0
        if ein < 0:
            break
        if pivots >= max_pivots:
            pivots = -1
            break
        pivots += 1
        nxt = a
        # --- cycle: apex of the tree paths from both end points
        if state[ein] == AT_LOWER:
            first = et[ein]
            second = eh[ein]
        else:
            first = eh[ein]
            second = et[ein]
        u = first
        v = second
        while u != v:
            if depth[u] >= depth[v]:
                u = parent[u]
            else:
                v = parent[v]
        join = u
        # --- leaving arc (strongly feasible rule)
        delta = cap[ein]
        side = 0
        uout = -1
        u = first
        while u != join:
            e = pred[u]
            d = x[e] if up[u] else cap[e] - x[e]
            if d < delta:
                delta = d
                uout = u
                side = 1
            u = parent[u]
        u = second
        while u != join:
            e = pred[u]
            d = cap[e] - x[e] if up[u] else x[e]
            if d <= delta:
                delta = d
                uout = u
                side = 2
            u = parent[u]
        # --- augment
        if delta > 0.0:
            x[ein] += state[ein] * delta
            u = first
            while u != join:
                if up[u]:
                    x[pred[u]] -= delta
                else:
                    x[pred[u]] += delta
                u = parent[u]
            u = second
            while u != join:
                if up[u]:
                    x[pred[u]] += delta
                else:
                    x[pred[u]] -= delta
                u = parent[u]
        if side == 0:
            # the entering arc goes from one bound to the other; the tree is unchanged
            if state[ein] == AT_LOWER:
                state[ein] = AT_UPPER
                x[ein] = cap[ein]
            else:
                state[ein] = AT_LOWER
                x[ein] = 0.0
            continue
        eout = pred[uout]
        at_upper = (not up[uout]) if side == 1 else up[uout]
        if at_upper:
            state[eout] = AT_UPPER
            x[eout] = cap[eout]
        else:
            state[eout] = AT_LOWER
            x[eout] = 0.0
        state[ein] = IN_TREE
        if side == 1:
            u_in = first
            v_in = second
        else:
            u_in = second
            v_in = first
        rc_in = c[ein] + pot[et[ein]] - pot[eh[ein]]
        shift = -rc_in if u_in == et[ein] else rc_in
        # --- re-root the cut-off path u_in .. uout under v_in
        p_node = v_in
        p_arc = ein
        p_up = et[ein] == u_in
        u = u_in
        while True:
            nx = parent[u]
            a_old = pred[u]
            up_old = up[u]
            _unlink(u, nx, first_child, next_sib, prev_sib)
            parent[u] = p_node
            pred[u] = p_arc
            up[u] = p_up
            _link(u, p_node, first_child, next_sib, prev_sib)
            if u == uout:
                break
            p_node = u
            p_arc = a_old
            p_up = not up_old
            u = nx
        # --- potentials and depths of the subtree now rooted at u_in
        k = 1
        stack[0] = u_in
        while k > 0:
            k -= 1
            v = stack[k]
            pot[v] += shift
            depth[v] = depth[parent[v]] + 1
            ch = first_child[v]
            while ch >= 0:
                stack[k] = ch
                k += 1
                ch = next_sib[ch]
    flow = np.empty(m)
    for a in range(m):
        flow[a] = lo[a] + x[a]
    unrouted = 0.0
    for v in range(n):
        unrouted += x[m + v]
    return flow, unrouted, pivots


@njit
def ns_solve_comps(sel, comp_nodes, arc_ptr, arc_idx, node_ptr, ltail, lhead, lo, hi, cost, lsupply, lflow,
                   t_parent, t_pred, t_up, t_state, t_x, ready, max_pivots_per_arc, reseat=False):
    """Network simplex on the components ``sel`` of the flexible network (see
    :func:`dispatch.kernels.mcf_solve_comps` for the component layout).

    Component ``c``'s basis lives in ``t_parent/t_pred/t_up[node_ptr[c] + c :]`` (``n_c+1``
    entries) and ``t_state/t_x[arc_ptr[c] + node_ptr[c] :]`` (``m_c + n_c`` entries);
    ``ready[c]`` says it holds an optimal basis from an earlier call (warm start);
    ``reseat``: found under other bounds ``lo``/``hi``, it is reseated first (see
    :func:`ns_solve`). A
    component that hits its pivot limit is solved by successive shortest paths instead
    (exact either way) and loses its basis. Writes ``lflow`` in place; returns the
    unrouted supply and the pivots done.
    """
    unrouted = 0.0
    total = 0
    for k in range(sel.shape[0]):
        c = sel[k]
        a0 = arc_ptr[c]
        a1 = arc_ptr[c + 1]
        n0 = node_ptr[c]
        nc = comp_nodes[c]
        idx = arc_idx[a0:a1]
        t0 = n0 + c
        x0 = a0 + n0
        m_c = a1 - a0
        lo_c = lo[idx]
        hi_c = hi[idx]
        cost_c = cost[idx]
        sup = lsupply[n0:n0 + nc]
        f, u, piv = ns_solve(nc, ltail[a0:a1], lhead[a0:a1], lo_c, hi_c, cost_c, sup, t_parent[t0:t0 + nc + 1],
                             t_pred[t0:t0 + nc + 1], t_up[t0:t0 + nc + 1], t_state[x0:x0 + m_c + nc],
                             t_x[x0:x0 + m_c + nc], ready[c] != 0, max_pivots_per_arc * (m_c + nc), reseat)
        if piv < 0:
            f, u, _, _ = mcf_solve(nc, ltail[a0:a1], lhead[a0:a1], lo_c, hi_c, cost_c, sup)
            ready[c] = 0
        else:
            ready[c] = 1
            total += piv
        for i in range(m_c):
            lflow[a0 + i] = f[i]
        unrouted += u
    return unrouted, total
