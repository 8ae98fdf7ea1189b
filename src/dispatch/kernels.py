"""Numba kernels of the native engine (arrays and scalars in, arrays out).

Every kernel here has a slow, obviously-correct twin in ``tests/naive.py``. The Python
orchestration lives in :mod:`dispatch.native`; nothing here validates input.

Kernels
-------
* :func:`mcf_solve` -- exact min-cost flow (successive shortest paths, Dijkstra with
  potentials, lower bounds); solves the price response of all hydro cascades and storage
  units at once (both are pure network flows, see :func:`build_flex_graph`).
* :func:`build_flex_graph` / :func:`flex_costs` / :func:`flex_unpack` -- the water and
  storage network of a window: hydro nodes (plant, hour) with volume, release, spill and
  delayed cascade arcs; storage nodes (unit, hour) in loss-scaled energy units.
* :func:`thermal_on_cost` -- the hourly Lagrangian cost of a unit being on.
* :func:`build_stacks` / :func:`stack_eval` -- per hour, the convex piecewise-linear cost
  of serving a residual demand with committed thermal (with start-up/shut-down ramp
  envelopes), renewables, export reduction, reserve shortfall and load shedding.
* :func:`ramp_envelope` -- per unit-hour output bounds implied by the commitment, initial
  output and start-up/shut-down/ramp limits.
* :func:`dispatch_ed` -- hour-by-hour merit-order dispatch with ramp windows.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit

BIG_CAP = 1e12
INF = np.inf

# arc roles in the flexible graph
R_VOL, R_REL, R_SPILL, R_TERM_A, R_TERM_B, R_CH, R_DIS, R_SVOL, R_STERM, R_SLACK, R_DRAIN = range(11)


# ----------------------------------------------------------------------------------------
# min-cost flow
# ----------------------------------------------------------------------------------------
@njit
def _heap_push(hk, hv, size, key, val):
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


@njit
def _heap_pop(hk, hv, size):
    key = hk[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= size:
            break
        r = l + 1
        c = l
        if r < size and hk[r] < hk[l]:
            c = r
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return key, val, size


@njit
def mcf_solve(n_nodes, tail, head, lo, hi, cost, supply):
    """Exact min-cost flow with arc bounds ``lo <= f <= hi``.

    Successive shortest paths with Dijkstra on reduced costs; negative-cost arcs are
    saturated first so all residual reduced costs start non-negative.

    Parameters
    ----------
    n_nodes : int
    tail, head : (m,) int64
    lo, hi : (m,) float64 ; cost : (m,) float64 per unit of flow
    supply : (n_nodes,) float64, positive = source; must sum to ~0

    Returns
    -------
    flow : (m,) float64
    unrouted : float
        Supply that could not be routed (0 when the flow is feasible).
    phases, augs : int
        Dijkstra phases and augmenting paths used.
    """
    x0 = np.zeros(0)
    pot0 = np.zeros(0)
    flow, unrouted, phases, augs, _ = mcf_solve_warm(n_nodes, tail, head, lo, hi, cost, supply, x0, pot0, False)
    return flow, unrouted, phases, augs


@njit
def mcf_solve_warm(n_nodes, tail, head, lo, hi, cost, supply, x0, pot0, warm):
    """:func:`mcf_solve` started from a previous optimal flow ``x0`` and node potentials ``pot0``.

    Warm start (``warm=True``): every arc keeps its flow ``x0`` unless its reduced cost
    ``cost + pot0[tail] - pot0[head]`` under the *new* costs is negative (arc saturated)
    or positive (arc emptied); the node imbalances this creates are then routed by
    successive shortest paths from ``pot0``. All residual reduced costs are non-negative
    from the start, so the result is an exact optimum, like the cold start
    (``warm=False``, ``x0``/``pot0`` ignored: ``pot0 = 0`` and ``x0 = lo``). When the costs
    moved little only a few arcs change and only a few phases are needed.

    Returns
    -------
    flow, unrouted, phases, augs
        As :func:`mcf_solve`.
    pot : (n_nodes,) float64
        Node potentials proving optimality of ``flow`` (shifted so their minimum is 0);
        pass them back with ``flow`` for the next warm start.
    """
    m = tail.shape[0]
    N = n_nodes + 2
    S = n_nodes
    T = n_nodes + 1
    exc = np.zeros(N)
    for v in range(n_nodes):
        exc[v] = supply[v]
    x = np.zeros(m)
    pot = np.zeros(N)
    if warm:
        pmax = -INF
        pmin = INF
        for v in range(n_nodes):
            pot[v] = pot0[v]
            pmax = max(pmax, pot0[v])
            pmin = min(pmin, pot0[v])
        pot[S] = pmax  # S -> v arcs (cost 0) start with reduced cost >= 0
        pot[T] = pmin  # v -> T arcs likewise
    for a in range(m):
        exc[tail[a]] -= lo[a]
        exc[head[a]] += lo[a]
        if warm:
            xa = min(max(x0[a], lo[a]), hi[a]) - lo[a]
            pu = pot[tail[a]]
            pv = pot[head[a]]
            rc = cost[a] + pu - pv
            if rc < -1e-11 * (1.0 + abs(cost[a]) + abs(pu) + abs(pv)):
                xa = hi[a] - lo[a]
            elif rc > 1e-11 * (1.0 + abs(cost[a]) + abs(pu) + abs(pv)):
                xa = 0.0
            x[a] = xa
        elif cost[a] < 0.0:
            x[a] = hi[a] - lo[a]
        exc[tail[a]] -= x[a]
        exc[head[a]] += x[a]
    # residual graph: arcs 0..m-1 forward/backward pairs, then S->v and v->T arcs
    n_extra = 0
    for v in range(n_nodes):
        if exc[v] > 1e-9 or exc[v] < -1e-9:
            n_extra += 1
    M = m + n_extra
    E = 2 * M
    eto = np.empty(E, np.int64)
    efrom = np.empty(E, np.int64)
    ecap = np.empty(E)
    ecost = np.empty(E)
    for a in range(m):
        eto[2 * a] = head[a]
        efrom[2 * a] = tail[a]
        ecap[2 * a] = hi[a] - lo[a] - x[a]
        ecost[2 * a] = cost[a]
        eto[2 * a + 1] = tail[a]
        efrom[2 * a + 1] = head[a]
        ecap[2 * a + 1] = x[a]
        ecost[2 * a + 1] = -cost[a]
    j = m
    total_exc = 0.0
    for v in range(n_nodes):
        if exc[v] > 1e-9:
            efrom[2 * j] = S
            eto[2 * j] = v
            ecap[2 * j] = exc[v]
            total_exc += exc[v]
        elif exc[v] < -1e-9:
            efrom[2 * j] = v
            eto[2 * j] = T
            ecap[2 * j] = -exc[v]
        else:
            continue
        ecost[2 * j] = 0.0
        efrom[2 * j + 1] = eto[2 * j]
        eto[2 * j + 1] = efrom[2 * j]
        ecap[2 * j + 1] = 0.0
        ecost[2 * j + 1] = 0.0
        j += 1
    # CSR by from-node
    deg = np.zeros(N + 1, np.int64)
    for e in range(E):
        deg[efrom[e] + 1] += 1
    for v in range(N):
        deg[v + 1] += deg[v]
    adj = np.empty(E, np.int64)
    fill = deg[:N].copy()
    for e in range(E):
        adj[fill[efrom[e]]] = e
        fill[efrom[e]] += 1
    dist = np.empty(N)
    pred = np.empty(N, np.int64)
    done = np.zeros(N, np.bool_)
    hk = np.empty(E + N + 1)
    hv = np.empty(E + N + 1, np.int64)
    level = np.empty(N, np.int64)
    cur = np.empty(N, np.int64)
    bq = np.empty(N, np.int64)
    stack = np.empty(N + 1, np.int64)
    routed = 0.0
    phases = 0
    augs = 0
    while total_exc - routed > 1e-13 * max(1.0, total_exc):
        for v in range(N):
            dist[v] = INF
            pred[v] = -1
            done[v] = False
        dist[S] = 0.0
        size = _heap_push(hk, hv, 0, 0.0, S)
        while size > 0:
            d, u, size = _heap_pop(hk, hv, size)
            if done[u]:
                continue
            done[u] = True
            if u == T:
                break
            for ii in range(deg[u], deg[u + 1]):
                e = adj[ii]
                if ecap[e] <= 1e-12:
                    continue
                w = eto[e]
                if done[w]:
                    continue
                rc = ecost[e] + pot[u] - pot[w]
                if rc < 0.0:
                    rc = 0.0
                nd = d + rc
                if nd < dist[w]:
                    dist[w] = nd
                    pred[w] = e
                    size = _heap_push(hk, hv, size, nd, w)
        if not done[T]:
            break
        dT = dist[T]
        phases += 1
        for v in range(N):
            if done[v]:
                pot[v] += dist[v]
            else:
                pot[v] += dT
        # blocking flow on the admissible graph (reduced cost ~ 0): BFS levels + DFS
        tol = 1e-9 * (1.0 + abs(pot[T]))
        for v in range(N):
            level[v] = -1
        level[S] = 0
        qh = 0
        qt = 0
        bq[qt] = S
        qt += 1
        while qh < qt:
            u = bq[qh]
            qh += 1
            for ii in range(deg[u], deg[u + 1]):
                e = adj[ii]
                if ecap[e] <= 1e-12:
                    continue
                w = eto[e]
                if level[w] >= 0:
                    continue
                if ecost[e] + pot[u] - pot[w] > tol:
                    continue
                level[w] = level[u] + 1
                bq[qt] = w
                qt += 1
        if level[T] < 0:
            continue
        for v in range(N):
            cur[v] = deg[v]
        while True:
            # iterative DFS from S along level-increasing admissible arcs
            top = 0
            u = S
            found = False
            while True:
                if u == T:
                    found = True
                    break
                advanced = False
                while cur[u] < deg[u + 1]:
                    e = adj[cur[u]]
                    w = eto[e]
                    if ecap[e] > 1e-12 and level[w] == level[u] + 1 and ecost[e] + pot[u] - pot[w] <= tol:
                        stack[top] = e
                        top += 1
                        u = w
                        advanced = True
                        break
                    cur[u] += 1
                if not advanced:
                    if u == S:
                        break
                    level[u] = -1  # dead end
                    top -= 1
                    u = efrom[stack[top]]
                    cur[u] += 1
            if not found:
                break
            b = INF
            for i in range(top):
                if ecap[stack[i]] < b:
                    b = ecap[stack[i]]
            for i in range(top):
                e = stack[i]
                ecap[e] -= b
                ecap[e ^ 1] += b
            routed += b
            augs += 1
    flow = np.empty(m)
    for a in range(m):
        flow[a] = lo[a] + ecap[2 * a + 1]
    pout = np.empty(n_nodes)
    pmin = INF
    for v in range(n_nodes):
        pmin = min(pmin, pot[v])
    for v in range(n_nodes):
        pout[v] = pot[v] - pmin
    return flow, max(total_exc - routed, 0.0), phases, augs, pout


# ----------------------------------------------------------------------------------------
# the water + storage network of a window
# ----------------------------------------------------------------------------------------
@njit
def hist_arrivals(n, hy_down, hy_delay, hy_hist):
    """(n, H) m3/s arriving from upstream outflow that left before the window."""
    H = hy_down.shape[0]
    arr = np.zeros((n, H))
    for h in range(H):
        d = hy_down[h]
        if d < 0:
            continue
        lag = hy_delay[h]
        for t in range(min(lag, n)):
            arr[t, d] += hy_hist[h, lag - t - 1]
    return arr


@njit
def build_flex_graph(
    n, hy_k, hy_pmax, hy_qmin, hy_vmin, hy_vmax, hy_down, hy_delay, inflow, arrivals, v0,
    v_target, value_per_hm3, spill_cost,
    st_pch, st_pdis, st_emin, st_emax, st_eta_ch, st_eta_dis, st_loss, e0, slack_cost,
):
    """Arcs of the hydro cascades and storage units of one window as one network.

    Units: hydro flow in m3/s held one hour (volume unit 0.0036 hm3); storage flow in
    loss-scaled MWh (``e[t] / (1-loss)^(t+1)``), which makes self-discharge a pure flow.

    Returns
    -------
    n_nodes, tail, head, lo, hi, base_cost, energy, rescoef, hour, role, unit, supply, const
        ``energy`` (MWh injected per unit of flow), ``rescoef`` (MW of spinning reserve
        gained per unit of flow: hydro headroom ``pmax - k q``, storage ``pdis - dis + ch``)
        and ``hour`` give the price-dependent part of each arc's cost:
        ``cost = base_cost - energy * lam[hour] - rescoef * mu[hour]``. ``const`` is
        the constant part of the water-value penalty.
    """
    H = hy_k.shape[0]
    NS = st_pch.shape[0]
    n_nodes = H * n + NS * n + 2
    SINK = n_nodes - 2
    SLACK = n_nodes - 1
    m_max = H * n * 3 + H * 2 + NS * n * 3 + NS + (H + NS) * n + 1
    tail = np.empty(m_max, np.int64)
    head = np.empty(m_max, np.int64)
    lo = np.zeros(m_max)
    hi = np.zeros(m_max)
    base = np.zeros(m_max)
    energy = np.zeros(m_max)
    rescoef = np.zeros(m_max)
    hour = np.full(m_max, -1, np.int64)
    role = np.empty(m_max, np.int64)
    unit = np.empty(m_max, np.int64)
    supply = np.zeros(n_nodes)
    c = 1.0 / 0.0036
    const = 0.0
    a = 0
    for h in range(H):
        qmax = hy_pmax[h] / hy_k[h] if hy_k[h] > 0 else 0.0
        qlo = min(hy_qmin[h], qmax)
        for t in range(n):
            node = h * n + t
            supply[node] += inflow[t, h] + arrivals[t, h]
            if t == 0:
                supply[node] += v0[h] * c
            d = hy_down[h]
            tgt = SINK
            if d >= 0 and t + hy_delay[h] < n:
                tgt = d * n + t + hy_delay[h]
            # release
            tail[a] = node; head[a] = tgt; lo[a] = qlo; hi[a] = qmax
            energy[a] = hy_k[h]; rescoef[a] = -hy_k[h]; hour[a] = t; role[a] = R_REL; unit[a] = h
            a += 1
            # spill
            tail[a] = node; head[a] = tgt; lo[a] = 0.0; hi[a] = BIG_CAP
            base[a] = spill_cost * hy_k[h]; role[a] = R_SPILL; unit[a] = h; hour[a] = t
            a += 1
            if t < n - 1:
                tail[a] = node; head[a] = node + 1; lo[a] = hy_vmin[h] * c; hi[a] = hy_vmax[h] * c
                role[a] = R_VOL; unit[a] = h
                a += 1
        # terminal: penalty value * max(target - v, 0)
        tp = min(max(v_target[h], hy_vmin[h]), hy_vmax[h])
        const += value_per_hm3[h] * max(v_target[h], tp)
        node = h * n + n - 1
        tail[a] = node; head[a] = SINK; lo[a] = hy_vmin[h] * c; hi[a] = tp * c
        base[a] = -value_per_hm3[h] * 0.0036; role[a] = R_TERM_A; unit[a] = h
        a += 1
        tail[a] = node; head[a] = SINK; lo[a] = 0.0; hi[a] = (hy_vmax[h] - tp) * c
        role[a] = R_TERM_B; unit[a] = h
        a += 1
    off = H * n
    for s in range(NS):
        keep = 1.0 - st_loss[s]
        for t in range(n):
            node = off + s * n + t
            gt = keep ** (t + 1)
            if t == 0:
                supply[node] += e0[s]
            tail[a] = SINK; head[a] = node; lo[a] = 0.0; hi[a] = st_eta_ch[s] * st_pch[s] / gt
            energy[a] = -gt / st_eta_ch[s]; rescoef[a] = gt / st_eta_ch[s]; hour[a] = t; role[a] = R_CH; unit[a] = s
            a += 1
            tail[a] = node; head[a] = SINK; lo[a] = 0.0; hi[a] = st_pdis[s] / (st_eta_dis[s] * gt)
            energy[a] = st_eta_dis[s] * gt; rescoef[a] = -st_eta_dis[s] * gt; hour[a] = t; role[a] = R_DIS; unit[a] = s
            a += 1
            if t < n - 1:
                tail[a] = node; head[a] = node + 1; lo[a] = st_emin[s] / gt; hi[a] = st_emax[s] / gt
                role[a] = R_SVOL; unit[a] = s
                a += 1
        gt = keep ** n
        node = off + s * n + n - 1
        tail[a] = node; head[a] = SINK; lo[a] = st_emin[s] / gt; hi[a] = st_emax[s] / gt
        role[a] = R_STERM; unit[a] = s
        a += 1
    # slack water/energy (only used when the window is infeasible as given)
    total = 0.0
    for v in range(n_nodes - 2):
        total += abs(supply[v])
    W = total + 1e6
    supply[SLACK] = W
    for v in range(n_nodes - 2):
        tail[a] = SLACK; head[a] = v; lo[a] = 0.0; hi[a] = W; base[a] = slack_cost
        role[a] = R_SLACK; unit[a] = v
        a += 1
    tail[a] = SLACK; head[a] = SINK; lo[a] = 0.0; hi[a] = W; role[a] = R_DRAIN; unit[a] = -1
    a += 1
    tot = 0.0
    for v in range(n_nodes - 2):
        tot += supply[v]
    supply[SINK] = -(tot + W)
    return (n_nodes, tail[:a].copy(), head[:a].copy(), lo[:a].copy(), hi[:a].copy(), base[:a].copy(),
            energy[:a].copy(), rescoef[:a].copy(), hour[:a].copy(), role[:a].copy(), unit[:a].copy(), supply, const)


@njit
def flex_costs(base, energy, rescoef, hour, lam, mu):
    """Arc costs for hourly energy and reserve prices (see :func:`build_flex_graph`)."""
    m = base.shape[0]
    out = np.empty(m)
    for a in range(m):
        out[a] = base[a]
        if hour[a] >= 0:
            out[a] -= energy[a] * lam[hour[a]] + rescoef[a] * mu[hour[a]]
    return out


@njit
def flex_injection(flow, energy, hour, n):
    """(n,) MW injected by the flexible resources for a flow."""
    y = np.zeros(n)
    for a in range(flow.shape[0]):
        if hour[a] >= 0:
            y[hour[a]] += energy[a] * flow[a]
    return y


@njit
def flex_bus_injection(flow, energy, hour, role, unit, hy_bus, st_bus, n, B):
    """(n, B) MW injected by the flexible resources at each bus."""
    y = np.zeros((n, B))
    for a in range(flow.shape[0]):
        t = hour[a]
        if t < 0:
            continue
        r = role[a]
        if r == R_REL:
            y[t, hy_bus[unit[a]]] += energy[a] * flow[a]
        elif r == R_CH or r == R_DIS:
            y[t, st_bus[unit[a]]] += energy[a] * flow[a]
    return y


@njit
def flex_unpack(flow, energy, hour, role, unit, n, H, NS, st_loss):
    """Schedules from a flow: hy_q, hy_s (m3/s), st_ch, st_dis (MW), slack used."""
    q = np.zeros((n, H))
    s = np.zeros((n, H))
    ch = np.zeros((n, NS))
    dis = np.zeros((n, NS))
    slack = 0.0
    for a in range(flow.shape[0]):
        r = role[a]
        u = unit[a]
        if r == R_REL:
            q[hour[a], u] += flow[a]
        elif r == R_SPILL:
            s[hour[a], u] += flow[a]
        elif r == R_CH:
            ch[hour[a], u] += -energy[a] * flow[a]
        elif r == R_DIS:
            dis[hour[a], u] += energy[a] * flow[a]
        elif r == R_SLACK:
            slack += flow[a]
    return q, s, ch, dis, slack


@njit
def hydro_volumes(q, s, inflow, arrivals_hist, v0, hy_down, hy_delay):
    """(n, H) end-of-hour volumes (hm3) of a release/spill schedule (mass balance)."""
    n, H = q.shape
    arr = arrivals_hist.copy()
    for h in range(H):
        d = hy_down[h]
        if d < 0:
            continue
        for t in range(n):
            tt = t + hy_delay[h]
            if tt < n:
                arr[tt, d] += q[t, h] + s[t, h]
    v = np.empty((n, H))
    for h in range(H):
        prev = v0[h]
        for t in range(n):
            prev = prev + 0.0036 * (inflow[t, h] + arr[t, h] - q[t, h] - s[t, h])
            v[t, h] = prev
    return v


@njit
def storage_net(ch, dis, e0, eta_ch, eta_dis, loss):
    """Remove simultaneous charge/discharge keeping the energy path; returns ch, dis, e."""
    n, NS = ch.shape
    c2 = np.zeros((n, NS))
    d2 = np.zeros((n, NS))
    e = np.empty((n, NS))
    for s in range(NS):
        prev = e0[s]
        for t in range(n):
            delta = eta_ch[s] * ch[t, s] - dis[t, s] / eta_dis[s]
            if delta >= 0.0:
                c2[t, s] = delta / eta_ch[s]
            else:
                d2[t, s] = -delta * eta_dis[s]
            prev = prev * (1.0 - loss[s]) + eta_ch[s] * c2[t, s] - d2[t, s] / eta_dis[s]
            e[t, s] = prev
    return c2, d2, e


# ----------------------------------------------------------------------------------------
# thermal
# ----------------------------------------------------------------------------------------
@njit
def thermal_on_cost(lam, mu, pmin, pmax, cost_pmin, seg_mw, seg_cost):
    """(n, G) Lagrangian cost of being on, and the output that attains it.

    ``cost_pmin + sum_k seg_cost_k x_k - lam * p - mu * (pmax - p)`` minimised over
    ``p = pmin + sum_k x_k``, ``0 <= x_k <= seg_mw_k`` (reserve = headroom ``pmax - p``).
    One system price per hour; :func:`thermal_on_cost_g` takes one per unit and hour.
    """
    lamg = np.empty((lam.shape[0], pmin.shape[0]))
    for t in range(lam.shape[0]):
        lamg[t, :] = lam[t]
    return thermal_on_cost_g(lamg, mu, pmin, pmax, cost_pmin, seg_mw, seg_cost)


@njit
def startup_category(su_lag, g, off_h):
    """Unit ``g``'s start-up category after ``off_h`` hours offline: the last ``s`` with
    ``su_lag[g, s] <= off_h`` (0 if none), as :func:`dispatch.costs.startup_costs`."""
    cat = 0
    for s in range(su_lag.shape[1]):
        if su_lag[g, s] <= off_h:
            cat = s
    return cat


@njit
def ramp_envelope(on, p0, init_on, pmin, pmax, ru, rd, su, sd):
    """(n, G) lower/upper output bounds implied by commitment and ramp limits.

    Upper: start-up hour at most ``max(su, pmin)``, then ``+ru`` per hour; hour before a
    shut-down at most ``max(sd, pmin)``, ``+rd`` per hour before that; from the initial
    output ``p0 + (t+1) ru``. Lower: ``p0 - (t+1) rd`` while the initial run lasts, else
    ``pmin``. Zero when off.
    """
    n, G = on.shape
    lo = np.zeros((n, G))
    hi = np.zeros((n, G))
    for g in range(G):
        ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su, sd, lo, hi)
    return lo, hi


@njit
def ramp_envelope_unit(on, g, p0, init_on, pmin, pmax, ru, rd, su, sd, lo, hi):
    """Column ``g`` of :func:`ramp_envelope`, written into ``lo``/``hi`` in place."""
    n = on.shape[0]
    prev_on = init_on[g]
    cap = p0[g] if init_on[g] else 0.0
    first_run = init_on[g]
    flo = p0[g]
    for t in range(n):
        lo[t, g] = 0.0
        hi[t, g] = 0.0
        if on[t, g]:
            if not prev_on:
                cap = max(su[g], pmin[g])
                first_run = False
            else:
                cap = cap + ru[g]
            hi[t, g] = min(pmax[g], cap)
            cap = hi[t, g]
            if first_run:
                flo = flo - rd[g]
                lo[t, g] = max(pmin[g], flo)
            else:
                lo[t, g] = pmin[g]
        else:
            first_run = False
            cap = 0.0
        prev_on = on[t, g]
    # backward: shut-down limits
    nxt_cap = INF
    for t in range(n - 1, -1, -1):
        if on[t, g]:
            if t == n - 1:
                nxt_cap = INF
            elif not on[t + 1, g]:
                nxt_cap = max(sd[g], pmin[g])
            else:
                nxt_cap = nxt_cap + rd[g]
            if hi[t, g] > nxt_cap:
                hi[t, g] = max(nxt_cap, pmin[g])
            nxt_cap = hi[t, g]
    for t in range(n):
        if on[t, g] and lo[t, g] > hi[t, g]:
            lo[t, g] = hi[t, g]


@njit
def thermal_cost_rows(p, on, pmin, cost_pmin, seg_mw, seg_cost):
    """(n,) running cost of a thermal schedule, summed over units."""
    n, G = p.shape
    K = seg_mw.shape[1]
    out = np.zeros(n)
    for t in range(n):
        for g in range(G):
            if not on[t, g]:
                continue
            v = cost_pmin[g]
            above = p[t, g] - pmin[g]
            for k in range(K):
                if above <= 0.0:
                    break
                x = min(above, seg_mw[g, k])
                v += x * seg_cost[g, k]
                above -= x
            out[t] += v
    return out


# ----------------------------------------------------------------------------------------
# merit-order stacks (residual demand cost per hour)
# ----------------------------------------------------------------------------------------
@njit
def build_stacks(on, elo, ehi, pmin, pmax, cost_pmin, seg_mw, seg_cost, re_avail, curtail_cost,
                 ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, dump_cost):
    """Per hour a convex piecewise-linear cost of residual demand ``D`` (MW).

    ``D`` is what the flexible resources (hydro, storage) leave to the rest:
    ``D = load + exports_at_max - flexible - must_take``. The stack, cheapest first:
    renewables (``-curtail_cost``), thermal segments within the ramp envelope (``+res_cost``
    on thermal output beyond the reserve headroom), export reduction (``ex_price``) and
    shedding (``voll``). ``D < 0`` (must-take above demand) costs ``dump_cost`` per MW.

    Returns
    -------
    width, mcost : (n, J) sorted segments (zero-padded), nseg : (n,), base_cost : (n,),
    must_take : (n,), headroom_free : (n,) MW of thermal output possible before reserve
    shortfall starts.
    """
    n, G = on.shape
    K = seg_mw.shape[1]
    R = re_avail.shape[1]
    E = ex_min.shape[1]
    J = G * (K + 2) + R + E + 2
    width = np.zeros((n, J))
    mcost = np.zeros((n, J))
    nseg = np.zeros(n, np.int64)
    base = np.zeros(n)
    must = np.zeros(n)
    hfree = np.zeros(n)
    tw = np.empty(G * (K + 2))
    tc = np.empty(G * (K + 2))
    for t in range(n):
        b = 0.0
        mt = 0.0
        cap = 0.0
        nt = 0
        for g in range(G):
            if not on[t, g]:
                continue
            cap += pmax[g]
            lo_g = elo[t, g]
            hi_g = ehi[t, g]
            # cost at lo_g
            b += cost_pmin[g]
            above = lo_g - pmin[g]
            for k in range(K):
                x = min(max(above, 0.0), seg_mw[g, k])
                b += x * seg_cost[g, k]
                above -= x
            mt += lo_g
            # segments between lo_g and hi_g
            pos = pmin[g]
            for k in range(K):
                s0 = pos
                s1 = pos + seg_mw[g, k]
                pos = s1
                a0 = max(s0, lo_g)
                a1 = min(s1, hi_g)
                if a1 > a0 + 1e-12:
                    tw[nt] = a1 - a0
                    tc[nt] = seg_cost[g, k]
                    nt += 1
        # sort thermal segments by cost (insertion sort, small)
        for i in range(1, nt):
            kw = tw[i]
            kc = tc[i]
            j = i - 1
            while j >= 0 and tc[j] > kc:
                tw[j + 1] = tw[j]
                tc[j + 1] = tc[j]
                j -= 1
            tw[j + 1] = kw
            tc[j + 1] = kc
        free = cap - reserve[t] - mt  # thermal MW above must-take before reserve shortfall
        hfree[t] = free
        if free < 0.0:
            b += res_cost * min(-free, reserve[t])
        # split thermal at the reserve threshold
        ns = 0
        acc = 0.0
        for i in range(nt):
            w = tw[i]
            if free > acc:
                w1 = min(w, free - acc)
                width[t, ns] = w1
                mcost[t, ns] = tc[i]
                ns += 1
                if w - w1 > 1e-12:
                    width[t, ns] = w - w1
                    mcost[t, ns] = tc[i] + res_cost
                    ns += 1
            else:
                width[t, ns] = w
                # shortfall cannot exceed the requirement
                short_now = max(acc - free, 0.0)
                extra = res_cost if short_now < reserve[t] else 0.0
                mcost[t, ns] = tc[i] + extra
                ns += 1
            acc += w
        for r in range(R):
            if re_avail[t, r] > 0.0:
                width[t, ns] = re_avail[t, r]
                mcost[t, ns] = -curtail_cost
                ns += 1
                b += curtail_cost * re_avail[t, r]
        for e in range(E):
            b -= ex_price[e] * ex_max[t, e]
            if ex_max[t, e] - ex_min[t, e] > 0.0:
                width[t, ns] = ex_max[t, e] - ex_min[t, e]
                mcost[t, ns] = ex_price[e]
                ns += 1
        width[t, ns] = load_tot[t]
        mcost[t, ns] = voll
        ns += 1
        # sort all segments by cost
        for i in range(1, ns):
            kw = width[t, i]
            kc = mcost[t, i]
            j = i - 1
            while j >= 0 and mcost[t, j] > kc:
                width[t, j + 1] = width[t, j]
                mcost[t, j + 1] = mcost[t, j]
                j -= 1
            width[t, j + 1] = kw
            mcost[t, j + 1] = kc
        nseg[t] = ns
        base[t] = b
        must[t] = mt
    return width, mcost, nseg, base, must, hfree


@njit
def stack_cost(width, mcost, nseg, t, D, dump_cost):
    """Cost of serving residual demand ``D`` at hour ``t`` from its stack."""
    if D <= 0.0:
        return -D * dump_cost
    acc = 0.0
    v = 0.0
    for i in range(nseg[t]):
        w = width[t, i]
        if D - acc <= w:
            return v + (D - acc) * mcost[t, i]
        v += w * mcost[t, i]
        acc += w
    # beyond the stack (more than load + thermal): priced at the last (shedding) cost
    return v + (D - acc) * mcost[t, nseg[t] - 1] * 10.0


@njit
def stack_slope(width, mcost, nseg, t, D, dump_cost):
    """Right derivative of :func:`stack_cost` in ``D``."""
    if D < 0.0:
        return -dump_cost
    acc = 0.0
    for i in range(nseg[t]):
        w = width[t, i]
        if D - acc < w:
            return mcost[t, i]
        acc += w
    return mcost[t, nseg[t] - 1] * 10.0


@njit
def stack_price(width, mcost, nseg, D, delta, dump_cost):
    """(n,) smoothed marginal cost: mean slope over ``[D - delta, D + delta]``."""
    n = D.shape[0]
    out = np.empty(n)
    for t in range(n):
        if delta[t] > 0.0:
            out[t] = (stack_cost(width, mcost, nseg, t, D[t] + delta[t], dump_cost)
                      - stack_cost(width, mcost, nseg, t, D[t] - delta[t], dump_cost)) / (2.0 * delta[t])
        else:
            out[t] = stack_slope(width, mcost, nseg, t, D[t], dump_cost)
    return out


@njit
def stack_left_price(width, mcost, nseg, D, dump_cost):
    """(n,) cost of the last MW served (left derivative) at residual demand ``D``."""
    n = D.shape[0]
    out = np.empty(n)
    for t in range(n):
        out[t] = _left_slope(width, mcost, nseg, t, D[t], dump_cost)
    return out


@njit
def fw_line_search(width, mcost, nseg, D, dD, dlin, dump_cost, iters):
    """argmin over g in [0, 1] of sum_t stack(D + g dD) + g dlin (convex: bisection)."""
    lo = 0.0
    hi = 1.0
    n = D.shape[0]
    # derivative at 1
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        der = dlin
        for t in range(n):
            if dD[t] > 0.0:
                der += dD[t] * stack_slope(width, mcost, nseg, t, D[t] + mid * dD[t], dump_cost)
            elif dD[t] < 0.0:
                # left derivative along a decreasing D
                x = D[t] + mid * dD[t]
                der += dD[t] * _left_slope(width, mcost, nseg, t, x, dump_cost)
        if der > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@njit
def _left_slope(width, mcost, nseg, t, D, dump_cost):
    if D <= 0.0:
        return -dump_cost
    acc = 0.0
    for i in range(nseg[t]):
        w = width[t, i]
        if D - acc <= w:
            return mcost[t, i]
        acc += w
    return mcost[t, nseg[t] - 1] * 10.0


# ----------------------------------------------------------------------------------------
# economic dispatch with ramps
# ----------------------------------------------------------------------------------------
@njit
def reserve_cap(t, g, on, ehi, pmax, started):
    """PGLib's cap on unit ``g``'s output plus reserve in hour ``t`` (on then), ramps from the
    hour before aside: the envelope ``ehi`` (start-up / shut-down capability) in a start-up
    hour (``started``) and the hour before a shut-down, else ``pmax``."""
    if started or (t + 1 < on.shape[0] and not on[t + 1, g]):
        return ehi[t, g]
    return pmax[g]


@njit
def reserve_ceiling(t, g, on, ehi, pmax, prev, prev_on, ru, u, res_ramp):
    """The most unit ``g`` (on in hour ``t``, dispatch ceiling ``u``) could produce for its
    reserve: ``pmax``; with ``res_ramp`` PGLib's ramp-limited reserve as :mod:`dispatch.milp`
    writes it (:func:`dispatch.invariants.thermal_reserve`): :func:`reserve_cap` and
    ``prev + ru`` while on. Never under ``u``."""
    r = pmax[g]
    if res_ramp:
        r = reserve_cap(t, g, on, ehi, pmax, not prev_on[g])
        if prev_on[g]:
            r = min(r, prev[g] + ru[g])
        r = max(r, u)
    return r


@njit
def dispatch_hours(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost,
                   ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp):
    """Hour-by-hour merit-order dispatch of everything but the flexible resources.

    ``demand`` (n,) is load plus exports at their maximum minus the flexible injection.
    Each hour thermal units move within their envelope and their ramp window around the
    previous hour; the residual is filled cheapest first from renewables (``-curtail_cost``),
    thermal segments (``+res_cost`` once thermal output eats into the reserve), export
    reduction (``ex_price``) and shedding (``voll``). A unit's reserve is its headroom to
    ``pmax``, or with ``res_ramp`` (PGLib's ramp-limited reserve, as :mod:`dispatch.milp`
    writes it and :func:`dispatch.invariants.thermal_reserve` checks it) to the most it
    could produce this hour: ``pmax`` (its envelope, the start-up/shut-down capability, in a
    start-up hour and the hour before a shut-down) and ``prev + ru``. Not the envelope in
    the other hours: that it must ramp down towards a later shut-down does not limit the
    reserve it holds now.

    Returns
    -------
    p : (n, G) ; re_used : (n,) ; ex : (n, E) ; shed : (n,) ; surplus : (n,)
        ``surplus`` > 0 where must-take output exceeds demand even with all renewables
        curtailed and exports at their maximum (the caller must absorb it).
    head : (n,) thermal reserve of the dispatch (see above).
    """
    e0 = np.empty((0, 0))
    z0 = np.empty(0)
    return dispatch_hours_from(0, e0, z0, e0, z0, z0, z0, on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw,
                               seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost,
                               voll, demand, res_ramp)


@njit
def dispatch_hours_from(t_from, b_p, b_re, b_ex, b_shed, b_sur, b_head, on, elo, ehi, p0, init_on, ru, rd, pmin,
                        pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve,
                        res_cost, voll, demand, res_ramp):
    """:func:`dispatch_hours` with hours before ``t_from`` copied from an earlier dispatch
    ``b_*`` of the same inputs (its output for those hours depends on nothing later, so the
    result is bit-identical to a full run while the inputs before ``t_from`` are the same;
    the commitment search re-dispatches only from the first hour a move touches)."""

    n, G = on.shape
    K = seg_mw.shape[1]
    E = ex_min.shape[1]
    p = np.zeros((n, G))
    re_used = np.zeros(n)
    ex = np.zeros((n, E))
    shed = np.zeros(n)
    surplus = np.zeros(n)
    head = np.zeros(n)
    lo = np.empty(G)
    hi = np.empty(G)
    rh = np.empty(G)
    tw = np.empty(G * K)
    tc = np.empty(G * K)
    tg = np.empty(G * K, np.int64)
    prev = np.empty(G)
    prev_on = np.empty(G, np.bool_)
    max_seg = 0.0
    gorder = np.argsort(seg_cost.copy().ravel(), kind="mergesort")  # stable: ties by (unit, segment)
    seg_lo = np.empty((G, K))
    for g in range(G):
        pos = pmin[g]
        for k in range(K):
            seg_lo[g, k] = pos
            pos = pos + seg_mw[g, k]
    aw = np.empty(G * K)
    ow = np.empty(E + 2)
    oc = np.empty(E + 2)
    oo = np.empty(E + 2, np.int64)
    for g in range(G):
        prev[g] = p0[g] if init_on[g] else 0.0
        prev_on[g] = init_on[g]
        for k in range(K):
            max_seg = max(max_seg, seg_cost[g, k])
    if t_from > 0:
        for t in range(t_from):
            for g in range(G):
                p[t, g] = b_p[t, g]
            for e in range(E):
                ex[t, e] = b_ex[t, e]
            re_used[t] = b_re[t]
            shed[t] = b_shed[t]
            surplus[t] = b_sur[t]
            head[t] = b_head[t]
        for g in range(G):
            prev[g] = p[t_from - 1, g]
            prev_on[g] = on[t_from - 1, g]
    for t in range(t_from, n):
        must = 0.0
        cap = 0.0
        for g in range(G):
            if on[t, g]:
                l = elo[t, g]
                u = ehi[t, g]
                if prev_on[g]:
                    l = max(l, prev[g] - rd[g])
                    u = min(u, prev[g] + ru[g])
                if u < l:
                    u = l
                lo[g] = l
                hi[g] = u
                must += l
                rh[g] = reserve_ceiling(t, g, on, ehi, pmax, prev, prev_on, ru, u, res_ramp)
                cap += rh[g]
            else:
                lo[g] = 0.0
                hi[g] = 0.0
                rh[g] = 0.0
            p[t, g] = lo[g]
        for e in range(E):
            ex[t, e] = ex_max[t, e]
        need = demand[t] - must
        if need < 0.0:
            surplus[t] = -need
            for g in range(G):
                prev[g] = p[t, g]
                prev_on[g] = on[t, g]
                if on[t, g]:
                    head[t] += rh[g] - p[t, g]
            continue
        # thermal pieces available this hour, cheapest first (presorted order)
        nt = 0
        for ii in range(G * K):
            j = gorder[ii]
            g = j // K
            k = j - g * K
            if hi[g] <= lo[g]:
                continue
            a0 = max(seg_lo[g, k], lo[g])
            a1 = min(seg_lo[g, k] + seg_mw[g, k], hi[g])
            if a1 > a0 + 1e-12:
                tw[nt] = a1 - a0
                tc[nt] = seg_cost[g, k]
                tg[nt] = g
                nt += 1
        # the pieces, in order, while capacity is free above the reserve: their free part
        # at cost (run A, ``aw``); the last one's remainder and all later pieces at cost +
        # res_cost (run B); merged with the other offers (renewables, exports by price,
        # shedding) in the order of a stable sort of A + B + others
        free = cap - reserve[t] - must
        acc = 0.0
        na = 0
        for i in range(nt):
            if not free > acc:
                break
            aw[i] = min(tw[i], free - acc)
            na = i + 1
            acc += tw[i]
        has_rem = na > 0 and tw[na - 1] - aw[na - 1] > 1e-12
        b0 = na - 1 if has_rem else na
        nb = nt - b0
        # the others, stably sorted by price
        no = 0
        ow[no] = re_tot[t]
        oc[no] = -curtail_cost
        oo[no] = -1
        no += 1
        for e in range(E):
            ow[no] = ex_max[t, e] - ex_min[t, e]
            oc[no] = ex_price[e]
            oo[no] = -2 - e
            no += 1
        ow[no] = load_tot[t]
        oc[no] = max(voll, res_cost + max_seg + 1.0)  # shed only after the reserve is used
        oo[no] = -1000000
        no += 1
        for i in range(1, no):  # insertion sort, stable
            j = i
            while j > 0 and oc[j - 1] > oc[j]:
                oc[j - 1], oc[j] = oc[j], oc[j - 1]
                ow[j - 1], ow[j] = ow[j], ow[j - 1]
                oo[j - 1], oo[j] = oo[j], oo[j - 1]
                j -= 1
        ia = 0
        ib = 0
        io = 0
        while need > 0.0 and (ia < na or ib < nb or io < no):
            # the next offer of each run (inf when the run is done); ties go to A, then B,
            # then the others, as in a stable sort of A + B + others
            ka = INF
            if ia < na:
                ka = tc[ia]
            kb = INF
            if ib < nb:
                kb = tc[b0 + ib] + res_cost
            ko = INF
            if io < no:
                ko = oc[io]
            if ia < na and ka <= kb and ka <= ko:
                w = aw[ia]
                o = tg[ia]
                ia += 1
            elif ib < nb and kb <= ko:
                i = b0 + ib
                w = tw[i] - aw[i] if (ib == 0 and has_rem) else tw[i]
                o = tg[i]
                ib += 1
            else:
                w = ow[io]
                o = oo[io]
                io += 1
            x = min(w, need)
            if x <= 0.0:
                continue
            if o >= 0:
                p[t, o] += x
            elif o == -1:
                re_used[t] += x
            elif o == -1000000:
                shed[t] += x
            else:
                ex[t, -2 - o] -= x
            need -= x
        for g in range(G):
            prev[g] = p[t, g]
            prev_on[g] = on[t, g]
            if on[t, g]:
                head[t] += rh[g] - p[t, g]
    return p, re_used, ex, shed, surplus, head


@njit
def dispatch_ahead(on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost,
                   ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp, prio, rounds):
    """:func:`dispatch_hours` with look-ahead for ramps.

    The hour-by-hour dispatch is myopic: before a steep rise units sit at their cheapest
    output and then cannot ramp fast enough, so the peak hour sheds load (or, with
    ``res_ramp``, runs out of ramp-limited reserve) although the commitment could serve
    it. Each round finds such hours and raises the lower bounds of the hours before, unit by
    unit (``prio`` order: cheapest first) where the ramp-up limit bound, by the missing
    amount (and by ``ru`` per hour further back), then dispatches again; the round with
    the least shortage + surplus is returned (ties: the first). ``elo`` is not modified.
    """
    e0 = np.empty((0, 0))
    z0 = np.empty(0)
    return dispatch_ahead_from(0, e0, z0, e0, z0, z0, z0, on, elo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw,
                               seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost,
                               voll, demand, res_ramp, prio, rounds)


@njit
def dispatch_ahead_from(t_from, b_p, b_re, b_ex, b_shed, b_sur, b_head, on, elo, ehi, p0, init_on, ru, rd, pmin,
                        pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve,
                        res_cost, voll, demand, res_ramp, prio, rounds):
    """:func:`dispatch_ahead` whose first pass copies the hours before ``t_from`` from the
    first pass ``b_*`` of the same inputs there (:func:`dispatch_hours_from`); the look-ahead
    rounds re-dispatch every hour as before, so the result is bit-identical."""
    n, G = on.shape
    lo = elo.copy()
    p, re_used, ex, shed, surplus, head = dispatch_hours_from(
        t_from, b_p, b_re, b_ex, b_shed, b_sur, b_head, on, lo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw,
        seg_cost, re_tot, curtail_cost, ex_min, ex_max, ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp)
    best_bad = _shortage(shed, surplus, head, reserve, res_ramp)
    bp, bre, bex, bsh, bsu, bhe = p, re_used, ex, shed, surplus, head
    for _ in range(rounds):
        if best_bad <= 1e-6:
            break
        changed = False
        for t in range(1, n):
            d = shed[t]
            d_res = 0.0
            if res_ramp:
                d_res = max(reserve[t] - head[t], 0.0)
                d += d_res
            if d <= 1e-6:
                continue
            for i in range(G):
                g = prio[i]
                if d <= 1e-9:
                    break
                if not (on[t, g] and on[t - 1, g]):
                    continue
                # what a higher start can add: output up to the envelope; reserve up to its cap
                top = min(ehi[t, g], pmax[g])
                if d_res > 0.0:
                    top = min(reserve_cap(t, g, on, ehi, pmax, False), pmax[g])
                room = top - (p[t - 1, g] + ru[g])
                up = min(room, d, ehi[t - 1, g] - p[t - 1, g])
                if up <= 1e-9:
                    continue
                need = p[t - 1, g] + up
                lo[t - 1, g] = max(lo[t - 1, g], need)
                for k in range(t - 2, -1, -1):
                    if not on[k, g]:
                        break
                    need -= ru[g]
                    if need <= lo[k, g]:
                        break
                    lo[k, g] = min(need, ehi[k, g])
                d -= up
                changed = True
        if not changed:
            break
        p, re_used, ex, shed, surplus, head = dispatch_hours(
            on, lo, ehi, p0, init_on, ru, rd, pmin, pmax, seg_mw, seg_cost, re_tot, curtail_cost, ex_min, ex_max,
            ex_price, load_tot, reserve, res_cost, voll, demand, res_ramp)
        bad = _shortage(shed, surplus, head, reserve, res_ramp)
        if bad < best_bad - 1e-6:
            best_bad = bad
            bp, bre, bex, bsh, bsu, bhe = p, re_used, ex, shed, surplus, head
    return bp, bre, bex, bsh, bsu, bhe


@njit
def _shortage(shed, surplus, head, reserve, res_ramp):
    """MW-hours shed, surplus and (with ``res_ramp``) short of reserve."""
    bad = 0.0
    for t in range(shed.shape[0]):
        bad += shed[t] + surplus[t]
        if res_ramp:
            bad += max(reserve[t] - head[t], 0.0)
    return bad


# ----------------------------------------------------------------------------------------
# network redispatch
# ----------------------------------------------------------------------------------------
@njit
def _seg_cost_at(g, p, pmin, seg_mw, seg_cost, up):
    """Marginal cost of unit g just above (up) or below p, and room within that segment."""
    K = seg_mw.shape[1]
    pos = pmin[g]
    for k in range(K):
        s1 = pos + seg_mw[g, k]
        if up:
            if p < s1 - 1e-9:
                return seg_cost[g, k], s1 - p
        else:
            if p > pos + 1e-9 and p <= s1 + 1e-9:
                return seg_cost[g, k], p - pos
        pos = s1
    return 0.0, 0.0


@njit
def mcf_solve_comps(sel, comp_nodes, arc_ptr, arc_idx, node_ptr, ltail, lhead, lo, hi, cost, lsupply, lflow, lpot,
                    warm):
    """Solve the components ``sel`` only, writing their local flows/potentials in place.

    Component ``c`` owns arcs ``arc_idx[arc_ptr[c]:arc_ptr[c+1]]`` (indices into the global
    ``lo``/``hi``/``cost``), with local end points ``ltail``/``lhead`` (aligned with
    ``arc_idx``) numbered ``0..comp_nodes[c]-1``, and supplies
    ``lsupply[node_ptr[c]:node_ptr[c+1]]``; ``lflow`` is aligned with ``arc_idx`` and ``lpot``
    with ``lsupply`` (read as a warm start when ``warm``). Components own disjoint slices of
    ``lflow``/``lpot``, so disjoint selections may run in parallel threads (the kernel
    releases the GIL). Returns their unrouted supply.
    """
    unrouted = 0.0
    for k in range(sel.shape[0]):
        c = sel[k]
        a0 = arc_ptr[c]
        a1 = arc_ptr[c + 1]
        n0 = node_ptr[c]
        idx = arc_idx[a0:a1]
        f, u, _, _, p = mcf_solve_warm(comp_nodes[c], ltail[a0:a1], lhead[a0:a1], lo[idx], hi[idx], cost[idx],
                                       lsupply[n0:node_ptr[c + 1]], lflow[a0:a1], lpot[n0:node_ptr[c + 1]], warm)
        for i in range(a1 - a0):
            lflow[a0 + i] = f[i]
        for i in range(comp_nodes[c]):
            lpot[n0 + i] = p[i]
        unrouted += u
    return unrouted


@njit
def mcf_scatter(arc_ptr, arc_idx, lflow, m):
    """Global (m,) flow from the components' local flows, in component order."""
    flow = np.zeros(m)
    for c in range(arc_ptr.shape[0] - 1):
        for i in range(arc_ptr[c], arc_ptr[c + 1]):
            flow[arc_idx[i]] = lflow[i]
    return flow


# ----------------------------------------------------------------------------------------
# exact per-hour network repair: a dense bounded-variable LP (own primal simplex)
# ----------------------------------------------------------------------------------------
@njit
def piece_buffers(nc):
    """Empty buffers for ``nc`` pieces of an hour's dispatch LP: bus, second bus (-1: none),
    sign of the injection, cost per MW, width (see :func:`hour_pieces`)."""
    return np.empty(nc, np.int64), np.full(nc, -1, np.int64), np.empty(nc), np.empty(nc), np.empty(nc)


@njit
def take_step(x, basis, col, dirn, theta, jin, r, lo, hi):
    """Move the entering variable ``jin`` by ``theta`` in direction ``dirn`` and the basic
    ones along ``col``; with no leaving row (``r < 0``) the entering one lands on its other
    bound (a bound flip: returns True), else the leaving basic one is put on the bound it
    hit."""
    x[jin] += dirn * theta
    for i in range(col.shape[0]):
        if col[i] != 0.0:
            x[basis[i]] -= dirn * col[i] * theta
    if r < 0:
        x[jin] = hi[jin] if dirn > 0 else lo[jin]
        return True
    b = basis[r]
    x[b] = lo[b] if dirn * col[r] > 0.0 else hi[b]
    return False


@njit
def pivot_rows(M, r, col):
    """Gauss-Jordan pivot of ``M`` (a tableau, or a basis inverse) on row ``r`` with the
    entering column ``col``: row ``r`` divided by ``col[r]``, every other row cleared."""
    piv = col[r]
    NG = M.shape[1]
    for k in range(NG):
        M[r, k] /= piv
    for i in range(M.shape[0]):
        if i == r:
            continue
        f = col[i]
        if f != 0.0:
            for k in range(NG):
                M[i, k] -= f * M[r, k]


@njit
def eligible(dj, xj, loj, hij, dtol):
    """Dantzig pricing of one non-basic bounded variable with reduced cost ``dj``: (score,
    direction), direction +1 to increase it, -1 to decrease it, 0 where it cannot improve."""
    if dj < -dtol and xj < hij - 1e-12:
        return -dj, 1
    if dj > dtol and xj > loj + 1e-12:
        return dj, -1
    return 0.0, 0


@njit
def ratio_test(col, dirn, x, lo, hi, basis, theta, bland, ptol):
    """The bounded primal ratio test: how far the entering column ``col`` (``B^-1 a``) may
    move in direction ``dirn`` before a basic variable hits a bound, starting from its own
    range ``theta`` (a bound flip); entries within ``ptol`` of zero are passed over; ties go
    to the lowest basic index under Bland's rule. Returns (step, the leaving row or -1)."""
    r = -1
    rb = 1 << 62
    for i in range(col.shape[0]):
        a = dirn * col[i]
        b = basis[i]
        if a > ptol:
            lim = (x[b] - lo[b]) / a
        elif a < -ptol:
            lim = (hi[b] - x[b]) / (-a)
        else:
            continue
        if lim < 0.0:
            lim = 0.0
        if lim < theta - 1e-12 or (bland and lim <= theta + 1e-12 and r >= 0 and b < rb):
            theta = lim
            r = i
            rb = b
    return theta, r


@njit
def lp_grouped_simplex(T, grp, sg, x, lo, hi, d0, z, basis, isbasic, max_iter):
    """Primal simplex on a dense tableau with bounded variables whose columns come in
    parallel groups, in place.

    Column ``j`` is ``sg[j]`` (+1 or -1) times the column of its group ``grp[j]``, so
    ``T`` (m, NG) holds ``B^-1 A`` once per *group*, and the reduced cost of column ``j``
    is ``d0[j] - sg[j] * z[grp[j]]`` (``d0``: the costs, ``z``: ``c_B^T B^-1`` times each
    group's column). The repair LPs have ~250 pieces on ~60 buses: every piece at a bus is
    the same column up to sign, so a pivot updates ~4x fewer entries; with one group per
    column (:func:`lp_dense`) it is the plain dense tableau. Entering column by Dantzig's
    rule, switching to Bland's after a run of degenerate pivots (no cycling); a bound flip
    takes the next best column of the last pricing pass (see below).
    Returns the iterations, or -1 when ``max_iter`` was hit.
    """
    m, NG = T.shape
    N = grp.shape[0]
    dtol = 1e-9
    ptol = 1e-9
    degen = 0
    bland = False
    col = np.empty(m)
    # the eligible columns of the last pricing pass, their scores and directions: a bound
    # flip changes neither the basis nor any reduced cost, and no other column's
    # eligibility, so until the next pivot the entering column is the next best of this
    # list (the same choice as a new Dantzig pass, ties to the lowest index)
    el = np.empty(N, np.int64)
    esc = np.empty(N)
    edir = np.empty(N, np.int64)
    ne = 0
    fresh = False
    for it in range(max_iter):
        jin = -1
        dirn = 0
        best = 0.0
        if fresh and not bland:
            kb = -1
            for k in range(ne):
                if esc[k] > best:
                    best = esc[k]
                    kb = k
            if kb >= 0:
                jin = el[kb]
                dirn = edir[kb]
                esc[kb] = -1.0
        else:
            ne = 0
            kb = -1
            for j in range(N):
                if isbasic[j]:
                    continue
                sc, dd = eligible(d0[j] - sg[j] * z[grp[j]], x[j], lo[j], hi[j], dtol)
                if dd == 0:
                    continue
                if bland:
                    jin = j
                    dirn = dd
                    break
                el[ne] = j
                esc[ne] = sc
                edir[ne] = dd
                if sc > best:
                    best = sc
                    jin = j
                    dirn = dd
                    kb = ne
                ne += 1
            if kb >= 0:
                esc[kb] = -1.0
            fresh = True
        if jin < 0:
            return it
        gin = grp[jin]
        sin = sg[jin]
        for i in range(m):
            col[i] = sin * T[i, gin]
        theta, r = ratio_test(col, dirn, x, lo, hi, basis, hi[jin] - lo[jin], bland, ptol)
        if theta > 1e200:
            return -1
        if theta <= 1e-12:
            degen += 1
            if degen > 50:
                bland = True
        else:
            degen = 0
        if take_step(x, basis, col, dirn, theta, jin, r, lo, hi):
            continue  # a bound flip
        b = basis[r]
        din = d0[jin] - sin * z[gin]
        pivot_rows(T, r, col)
        if din != 0.0:
            for k in range(NG):
                z[k] += din * T[r, k]
        isbasic[b] = False
        isbasic[jin] = True
        basis[r] = jin
        fresh = False
    return -1


@njit
def _group_prices(T, c, basis):
    """``z[g] = sum_i c[basis[i]] * T[i, g]``: the basic costs through each group's column."""
    m, NG = T.shape
    z = np.zeros(NG)
    for i in range(m):
        cb = c[basis[i]]
        if cb != 0.0:
            for k in range(NG):
                z[k] += cb * T[i, k]
    return z


@njit
def _two_phase(T, grp, sg, x, lo, hi, cost, a0, basis, isbasic, max_iter):
    """Both phases of :func:`lp_grouped_simplex` from a basis of artificials, in place.

    Columns ``a0..`` are the artificials: phase 1 minimises their sum, then fixes each at
    what phase 1 left (``hi = x``) and phase 2 minimises ``cost`` (full length, zero on
    slacks and artificials). Returns (infeasibility, the cost phase's group prices ``z``).
    """
    N = grp.shape[0]
    c = np.zeros(N)
    for j in range(a0, N):
        c[j] = 1.0
    z = _group_prices(T, c, basis)
    lp_grouped_simplex(T, grp, sg, x, lo, hi, c, z, basis, isbasic, max_iter)
    infeas = 0.0
    for j in range(a0, N):
        if x[j] < 0.0:
            x[j] = 0.0
        infeas += x[j]
        hi[j] = x[j]  # never more infeasible than phase 1 left it
    z = _group_prices(T, cost, basis)
    lp_grouped_simplex(T, grp, sg, x, lo, hi, cost, z, basis, isbasic, max_iter)
    return infeas, z


@njit
def lp_dense(A, b, c, lo, hi, max_iter):
    """min ``c . x`` s.t. ``A x = b``, ``lo <= x <= hi`` (finite bounds), dense, two phases.

    Phase 1 starts every variable at its bound nearest zero (a nonbasic variable sits at a
    bound) and puts one artificial per row in the basis; :func:`lp_grouped_simplex` (one
    group per column) drives them out, then the cost phase runs with the artificials fixed at what phase 1
    left. Returns ``(x, infeasibility)``; infeasibility is the artificials' sum.
    """
    m, nv = A.shape
    N = nv + m
    T = np.zeros((m, N))
    x = np.zeros(N)
    lo2 = np.zeros(N)
    hi2 = np.zeros(N)
    for j in range(nv):
        lo2[j] = lo[j]
        hi2[j] = hi[j]
        x[j] = lo[j] if abs(lo[j]) <= abs(hi[j]) else hi[j]
    basis = np.empty(m, np.int64)
    isbasic = np.zeros(N, np.bool_)
    for i in range(m):
        r = b[i]
        for j in range(nv):
            r -= A[i, j] * x[j]
        sg = 1.0 if r >= 0.0 else -1.0
        for j in range(nv):
            T[i, j] = sg * A[i, j]
        T[i, nv + i] = 1.0
        x[nv + i] = abs(r)
        hi2[nv + i] = 1e300
        basis[i] = nv + i
        isbasic[nv + i] = True
    cc = np.zeros(N)
    for j in range(nv):
        cc[j] = c[j]
    # every column its own group: the grouped simplex is then the plain dense tableau
    infeas, _z = _two_phase(T, np.arange(N), np.ones(N), x, lo2, hi2, cc, nv, basis, isbasic, max_iter)
    out = np.empty(nv)
    for j in range(nv):
        out[j] = min(max(x[j], lo[j]), hi[j])
    return out, infeas


@njit
def lp_solve_rows(cbus, csign, ccost, cw, rows, fl, flo, fhi, ptdf, max_iter):
    """min cost . x over columns (pieces) ``0 <= x_j <= cw_j`` injecting ``csign_j`` MW at
    bus ``cbus_j`` per unit, keeping the balance (sum of injections 0) and, for each line in
    ``rows``, the flow change within ``[flo - f, fhi - f]``. Two phases (infeasibility, then
    cost). Returns the piece values and the remaining infeasibility (0 when solved).
    """
    out, infeas, _y = lp_solve_pairs(cbus, np.full(cbus.shape[0], -1, np.int64), csign, ccost, cw, rows, fl, flo,
                                     fhi, ptdf, max_iter)
    return out, infeas


@njit
def lp_solve_pairs(cbus, cbus2, csign, ccost, cw, rows, fl, flo, fhi, ptdf, max_iter, bal=0.0):
    """:func:`lp_solve_rows` where a column may also withdraw: column ``j`` injects
    ``csign_j`` MW at ``cbus_j`` and, when ``cbus2_j >= 0``, withdraws the same at
    ``cbus2_j`` (a DC link: no balance coefficient, line coefficient
    ``ptdf[l, cbus] - ptdf[l, cbus2]``). ``cbus2_j = -1`` is a one-bus column. ``bal`` is the
    net injection the columns must add (0: the starting point is balanced).

    Also returns the row duals ``y`` (m,) of the cost phase: ``y[0]`` of the balance,
    ``y[1 + i]`` of line ``rows[i]``, so that one more MW injected at bus ``b`` is worth
    ``y[0] + sum_i y[1 + i] * ptdf[rows[i], b]`` (the hour's nodal price after the repair).

    Two phases of :func:`lp_grouped_simplex` from a basis of artificials: the one-bus
    pieces at a bus share one tableau column (their sign apart), each DC-link piece, each
    row's flow slack and each row's pair of artificials (+1/-1) has its own.
    """
    nc = cbus.shape[0]
    m = rows.shape[0] + 1
    B = ptdf.shape[1]
    # variables: nc pieces, (m-1) flow slacks, 2m artificials
    N = nc + (m - 1) + 2 * m
    # groups: the buses that carry a one-bus piece, then DC pieces, slacks, artificial pairs
    gbus = np.full(B, -1, np.int64)
    ng = 0
    for j in range(nc):
        if cbus2[j] < 0 and gbus[cbus[j]] < 0:
            gbus[cbus[j]] = ng
            ng += 1
    n_bus_g = ng
    for j in range(nc):
        if cbus2[j] >= 0:
            ng += 1
    NG = ng + (m - 1) + m
    T = np.zeros((m, NG))
    grp = np.empty(N, np.int64)
    sg = np.empty(N)
    lo = np.zeros(N)
    hi = np.zeros(N)
    x = np.zeros(N)
    for b in range(B):
        g = gbus[b]
        if g >= 0:
            T[0, g] = 1.0
            for i in range(m - 1):
                T[i + 1, g] = ptdf[rows[i], b]
    gdc = n_bus_g
    for j in range(nc):
        b2 = cbus2[j]
        if b2 < 0:
            grp[j] = gbus[cbus[j]]
        else:
            grp[j] = gdc
            for i in range(m - 1):
                T[i + 1, gdc] = ptdf[rows[i], cbus[j]] - ptdf[rows[i], b2]
            gdc += 1
        sg[j] = csign[j]
        hi[j] = cw[j]
    basis = np.empty(m, np.int64)
    isbasic = np.zeros(N, np.bool_)
    for i in range(m):
        pa = nc + (m - 1) + 2 * i
        ga = ng + (m - 1) + i
        T[i, ga] = 1.0
        grp[pa] = ga
        sg[pa] = 1.0
        grp[pa + 1] = ga
        sg[pa + 1] = -1.0
        hi[pa] = 1e30
        hi[pa + 1] = 1e30
        if i == 0:
            if bal >= 0.0:
                basis[i] = pa
                x[pa] = bal
            else:
                basis[i] = pa + 1
                x[pa + 1] = -bal
            continue
        l = rows[i - 1]
        sj = nc + i - 1
        gs = ng + i - 1
        T[i, gs] = 1.0
        grp[sj] = gs
        sg[sj] = -1.0
        lo[sj] = flo[l] - fl[l]
        hi[sj] = fhi[l] - fl[l]
        if lo[sj] > hi[sj]:
            hi[sj] = lo[sj]
        if lo[sj] <= 0.0 and hi[sj] >= 0.0:
            basis[i] = sj
            x[sj] = 0.0
        elif hi[sj] < 0.0:
            x[sj] = hi[sj]
            basis[i] = pa + 1  # -q = s  ->  q = -s
            x[pa + 1] = -hi[sj]
        else:
            x[sj] = lo[sj]
            basis[i] = pa
            x[pa] = lo[sj]
    # tableau = B^-1 A (B is diagonal +-1 here)
    for i in range(m):
        piv = sg[basis[i]] * T[i, grp[basis[i]]]
        if piv != 1.0:
            for k in range(NG):
                T[i, k] /= piv
        isbasic[basis[i]] = True
    c = np.zeros(N)
    for j in range(nc):
        c[j] = ccost[j]
    infeas, z = _two_phase(T, grp, sg, x, lo, hi, c, nc + (m - 1), basis, isbasic, max_iter)
    out = np.empty(nc)
    for j in range(nc):
        out[j] = min(max(x[j], 0.0), cw[j])
    # duals: row i's artificial pair is +-e_i with cost 0, so its reduced cost is -+z: y_i = z
    y = np.empty(m)
    for i in range(m):
        y[i] = z[ng + (m - 1) + i]
    return out, infeas, y


@njit
def _hour_injection(t, inj, shed, load, th_bus, th_p, re_bus, re_p, ex_bus, ex_p, hy_bus, hy_k, q, st_bus, dis, ch,
                    dc_from, dc_to, dc_p):
    """Net injection at each bus in hour ``t``, written into ``inj`` (B,); DC links withdraw
    ``dc_p`` at ``dc_from`` and inject it at ``dc_to``."""
    for b in range(inj.shape[0]):
        inj[b] = shed[t, b] - load[t, b]
    for g in range(th_p.shape[1]):
        inj[th_bus[g]] += th_p[t, g]
    for r in range(re_p.shape[1]):
        inj[re_bus[r]] += re_p[t, r]
    for x in range(ex_p.shape[1]):
        inj[ex_bus[x]] -= ex_p[t, x]
    for h in range(q.shape[1]):
        inj[hy_bus[h]] += hy_k[h] * q[t, h]
    for x in range(ch.shape[1]):
        inj[st_bus[x]] += dis[t, x] - ch[t, x]
    for k in range(dc_p.shape[1]):
        inj[dc_from[k]] -= dc_p[t, k]
        inj[dc_to[k]] += dc_p[t, k]


@njit
def bus_injection(shed, load, th_bus, th_p, re_bus, re_p, ex_bus, ex_p, hy_bus, hy_k, q, st_bus, dis, ch, dr_bus, dr_net,
                  dc_from, dc_to, dc_p):
    """(n, B) net injection at each bus in every hour (:func:`_hour_injection` per hour, plus
    demand response ``dr_net`` (n, D): demand reduction minus rebound, at ``dr_bus``)."""
    n, B = load.shape
    out = np.empty((n, B))
    inj = np.empty(B)
    for t in range(n):
        _hour_injection(t, inj, shed, load, th_bus, th_p, re_bus, re_p, ex_bus, ex_p, hy_bus, hy_k, q, st_bus, dis, ch,
                        dc_from, dc_to, dc_p)
        for d in range(dr_net.shape[1]):
            inj[dr_bus[d]] += dr_net[t, d]
        for b in range(B):
            out[t, b] = inj[b]
    return out


@njit
def dual_tail(pi, inj, re_bus, re_avail, curtail_cost, ex_bus, ex_price, ex_min, ex_max, dc_from, dc_to, dc_pmax,
              voll, load, dr_bus, dr_cost, dr_pmax, dr_payback_frac, dr_active):
    """The Lagrangian's closed-form subproblems at nodal prices ``pi`` (n, B): renewables
    (used where their price beats curtailment), exports (at ``ex_max`` below their price,
    else ``ex_min``), DC links (full flow towards the dearer end, none at equal prices),
    shedding (above VOLL) and relaxed demand response (every hour where it pays, its
    payback at the programme's cheapest hour; ``dr_active``: events left). Adds their
    injections to ``inj`` (n, B) in place and returns their part of the dual value."""
    n, B = pi.shape
    L = 0.0
    for t in range(n):
        for r in range(re_bus.shape[0]):
            b = re_bus[r]
            a = re_avail[t, r]
            if pi[t, b] + curtail_cost > 0.0:
                L -= pi[t, b] * a
                inj[t, b] += a
            else:
                L += curtail_cost * a
        for e in range(ex_bus.shape[0]):
            b = ex_bus[e]
            x = ex_max[t, e] if pi[t, b] < ex_price[e] else ex_min[t, e]
            L += (pi[t, b] - ex_price[e]) * x
            inj[t, b] -= x
        for k in range(dc_to.shape[0]):
            d = pi[t, dc_to[k]] - pi[t, dc_from[k]]
            f = 0.0
            if d > 0.0:
                f = dc_pmax[k]
            elif d < 0.0:
                f = -dc_pmax[k]
            L -= abs(d) * dc_pmax[k]
            inj[t, dc_to[k]] += f
            inj[t, dc_from[k]] -= f
        for b in range(B):
            if pi[t, b] > voll:
                L += (voll - pi[t, b]) * load[t, b]
                inj[t, b] += load[t, b]
    for d in range(dr_bus.shape[0]):
        if not dr_active[d]:
            continue
        b = dr_bus[d]
        tmin = 0
        for t in range(1, n):
            if pi[t, b] < pi[tmin, b]:
                tmin = t
        pay = dr_payback_frac[d] * pi[tmin, b]
        taken = 0.0
        for t in range(n):
            unit = dr_cost[d] - pi[t, b] + pay
            if unit < 0.0:
                inj[t, b] += dr_pmax[d]
                L += unit * dr_pmax[d]
                taken += dr_pmax[d]
        inj[tmin, b] -= dr_payback_frac[d] * taken
    return L


@njit
def net_repair(ptdf, line_max, margin, on, elo, ehi, p0, init_on, ru, rd, pmin, seg_mw, seg_cost, th_bus, th_p,
               re_avail, re_p, re_bus, curtail_cost, ex_min, ex_max, ex_price, ex_bus, ex_p, load, shed, voll,
               hy_k, hy_qlo, hy_qmax, hy_vmin, hy_vmax, hy_down, hy_delay, hy_nup, hy_bus, hy_wv, q, s, v,
               spill_cost, st_pch, st_pdis, st_emin, st_emax, st_eta_ch, st_eta_dis, st_loss, st_bus, st_e0, ch, dis, e,
               dc_from, dc_to, dc_pmax, dc_p, max_rounds, max_iter, pi):
    """Make every hour's DC line flows feasible by a least-cost redispatch, in place.

    Hours in sequence; each hour an exact LP (:func:`lp_solve_rows`) over per-hour moves that
    keep every other constraint valid: thermal within its envelope and ramp window between
    the repaired previous hour and the planned next one; renewables down to 0 / up to the
    available; exports within their limits; shedding per bus (VOLL); hydro release turned
    into spill (or spill into release), or water kept in / taken from the reservoir as far
    as the plant's and its downstream plant's volumes stay within bounds in all later hours;
    storage within its power limits and energy margins of all later hours; DC link flows
    ``dc_p`` (n, K) moved at no cost within ``[-dc_pmax, dc_pmax]`` (a two-bus column: no
    balance coefficient, line coefficient ``ptdf[l, to] - ptdf[l, from]``). Lines enter as
    rows once overloaded or within ``margin`` of their rating (row generation). Returns the
    largest remaining overload (MW).

    ``pi`` (n, B) receives the nodal prices of each repaired hour (the last LP's duals, see
    :func:`lp_solve_pairs`); rows of hours that needed no LP are left as they were.
    """
    n, G = th_p.shape
    L = ptdf.shape[0]
    B = load.shape[1]
    R = re_p.shape[1]
    E = ex_p.shape[1]
    H = q.shape[1]
    NS = ch.shape[1]
    K = seg_mw.shape[1]
    NK = dc_p.shape[1]
    NC = G * 2 * K + 2 * R + 2 * E + 2 * B + 4 * H + 4 * NS + 2 * NK
    cbus, cbus2, csign, ccost, cw = piece_buffers(NC)
    ckind = np.empty(NC, np.int64)
    cidx = np.empty(NC, np.int64)
    flo = np.empty(L)
    fhi = np.empty(L)
    for l in range(L):
        tl = 1e-9 * max(1.0, line_max[l])
        fhi[l] = max(line_max[l] - tl, 0.0)
        flo[l] = -fhi[l]
    inrow = np.zeros(L, np.bool_)
    rows = np.empty(L, np.int64)
    inj = np.empty(B)
    fl = np.empty(L)
    worst = 0.0
    c36 = 0.0036
    for t in range(n):
        for l in range(L):
            inrow[l] = False
        nrow = 0
        for rnd in range(max_rounds):
            # injections and flows
            _hour_injection(t, inj, shed, load, th_bus, th_p, re_bus, re_p, ex_bus, ex_p, hy_bus, hy_k, q, st_bus, dis, ch,
                            dc_from, dc_to, dc_p)
            viol = False
            for l in range(L):
                f = 0.0
                for b in range(B):
                    f += ptdf[l, b] * inj[b]
                fl[l] = f
                if abs(f) > fhi[l] + 1e-9 * max(1.0, line_max[l]):
                    viol = True
            if not viol:
                break
            for l in range(L):
                if not inrow[l] and abs(fl[l]) > margin * line_max[l]:
                    inrow[l] = True
                    rows[nrow] = l
                    nrow += 1
            # columns
            nc = 0
            for g in range(G):
                if not on[t, g]:
                    continue
                lo_ = elo[t, g]
                hi_ = ehi[t, g]
                if t > 0:
                    if on[t - 1, g]:
                        lo_ = max(lo_, th_p[t - 1, g] - rd[g])
                        hi_ = min(hi_, th_p[t - 1, g] + ru[g])
                elif init_on[g]:
                    lo_ = max(lo_, p0[g] - rd[g])
                    hi_ = min(hi_, p0[g] + ru[g])
                if t + 1 < n and on[t + 1, g]:
                    lo_ = max(lo_, th_p[t + 1, g] - ru[g])
                    hi_ = min(hi_, th_p[t + 1, g] + rd[g])
                pg = th_p[t, g]
                lo_ = min(lo_, pg)
                hi_ = max(hi_, pg)
                pos = pmin[g]
                for k in range(K):
                    s0 = pos
                    s1 = pos + seg_mw[g, k]
                    pos = s1
                    if k == K - 1:
                        s1 = max(s1, hi_)
                    if k == 0:
                        s0 = min(s0, lo_)
                    wu = min(s1, hi_) - max(s0, pg)
                    if wu > 1e-9:
                        cbus[nc] = th_bus[g]; csign[nc] = 1.0; ccost[nc] = seg_cost[g, k]; cw[nc] = wu
                        ckind[nc] = 0; cidx[nc] = g
                        nc += 1
                    wd = min(s1, pg) - max(s0, lo_)
                    if wd > 1e-9:
                        cbus[nc] = th_bus[g]; csign[nc] = -1.0; ccost[nc] = -seg_cost[g, k]; cw[nc] = wd
                        ckind[nc] = 0; cidx[nc] = g
                        nc += 1
            for r in range(R):
                a = max(re_avail[t, r], 0.0)
                if a - re_p[t, r] > 1e-9:
                    cbus[nc] = re_bus[r]; csign[nc] = 1.0; ccost[nc] = -curtail_cost; cw[nc] = a - re_p[t, r]
                    ckind[nc] = 1; cidx[nc] = r
                    nc += 1
                if re_p[t, r] > 1e-9:
                    cbus[nc] = re_bus[r]; csign[nc] = -1.0; ccost[nc] = curtail_cost; cw[nc] = re_p[t, r]
                    ckind[nc] = 1; cidx[nc] = r
                    nc += 1
            for x in range(E):
                if ex_p[t, x] - ex_min[t, x] > 1e-9:
                    cbus[nc] = ex_bus[x]; csign[nc] = 1.0; ccost[nc] = ex_price[x]; cw[nc] = ex_p[t, x] - ex_min[t, x]
                    ckind[nc] = 2; cidx[nc] = x
                    nc += 1
                if ex_max[t, x] - ex_p[t, x] > 1e-9:
                    cbus[nc] = ex_bus[x]; csign[nc] = -1.0; ccost[nc] = -ex_price[x]; cw[nc] = ex_max[t, x] - ex_p[t, x]
                    ckind[nc] = 2; cidx[nc] = x
                    nc += 1
            for b in range(B):
                ld = max(load[t, b], 0.0)
                if ld - shed[t, b] > 1e-9:
                    cbus[nc] = b; csign[nc] = 1.0; ccost[nc] = voll; cw[nc] = ld - shed[t, b]
                    ckind[nc] = 3; cidx[nc] = b
                    nc += 1
                if shed[t, b] > 1e-9:
                    cbus[nc] = b; csign[nc] = -1.0; ccost[nc] = -voll; cw[nc] = shed[t, b]
                    ckind[nc] = 3; cidx[nc] = b
                    nc += 1
            for h in range(H):
                k_ = hy_k[h]
                if k_ <= 0.0:
                    continue
                d_ = hy_down[h]
                share = 1.0 / (1.0 + hy_nup[h])
                # room to keep water (release down, volume up) / take water (release up, volume down)
                keep = 1e300
                take = 1e300
                for tt in range(t, n):
                    keep = min(keep, (hy_vmax[h] - v[tt, h]) / c36)
                    take = min(take, (v[tt, h] - hy_vmin[h]) / c36)
                keep *= share
                take *= share
                if d_ >= 0:
                    sd = 1.0 / (1.0 + hy_nup[d_])
                    for tt in range(t + hy_delay[h], n):
                        keep = min(keep, sd * (v[tt, d_] - hy_vmin[d_]) / c36)
                        take = min(take, sd * (hy_vmax[d_] - v[tt, d_]) / c36)
                keep = max(keep * (1.0 - 1e-9) - 1e-9, 0.0)
                take = max(take * (1.0 - 1e-9) - 1e-9, 0.0)
                up_room = max(hy_qmax[h] - q[t, h], 0.0)
                dn_room = max(q[t, h] - hy_qlo[h], 0.0)
                w1 = min(s[t, h], up_room)
                if w1 * k_ > 1e-9:
                    cbus[nc] = hy_bus[h]; csign[nc] = 1.0; ccost[nc] = -spill_cost; cw[nc] = w1 * k_
                    ckind[nc] = 4; cidx[nc] = h
                    nc += 1
                w2 = min(up_room - w1, take)
                if w2 * k_ > 1e-9:
                    cbus[nc] = hy_bus[h]; csign[nc] = 1.0; ccost[nc] = hy_wv[h]; cw[nc] = w2 * k_
                    ckind[nc] = 5; cidx[nc] = h
                    nc += 1
                w3 = min(dn_room, keep)
                if w3 * k_ > 1e-9:
                    cbus[nc] = hy_bus[h]; csign[nc] = -1.0; ccost[nc] = 0.0; cw[nc] = w3 * k_
                    ckind[nc] = 6; cidx[nc] = h
                    nc += 1
                w4 = dn_room - w3
                if w4 * k_ > 1e-9:
                    cbus[nc] = hy_bus[h]; csign[nc] = -1.0; ccost[nc] = spill_cost; cw[nc] = w4 * k_
                    ckind[nc] = 7; cidx[nc] = h
                    nc += 1
            for x in range(NS):
                mlo = 1e300
                mhi = 1e300
                fac = 1.0
                for tt in range(t, n):
                    mlo = min(mlo, (e[tt, x] - st_emin[x]) / fac)
                    mhi = min(mhi, (st_emax[x] - e[tt, x]) / fac)
                    fac *= 1.0 - st_loss[x]
                mlo = max(mlo * (1.0 - 1e-9) - 1e-9, 0.0)
                mhi = max(mhi * (1.0 - 1e-9) - 1e-9, 0.0)
                # up: less charge (energy -eta_ch per MW), then discharge (-1/eta_dis)
                w1 = min(ch[t, x], mlo / st_eta_ch[x])
                if w1 > 1e-9:
                    cbus[nc] = st_bus[x]; csign[nc] = 1.0; ccost[nc] = 0.0; cw[nc] = w1
                    ckind[nc] = 8; cidx[nc] = x
                    nc += 1
                w2 = min(st_pdis[x] - dis[t, x], (mlo - w1 * st_eta_ch[x]) * st_eta_dis[x])
                if w2 > 1e-9:
                    cbus[nc] = st_bus[x]; csign[nc] = 1.0; ccost[nc] = 1e-3; cw[nc] = w2
                    ckind[nc] = 8; cidx[nc] = x
                    nc += 1
                w1 = min(dis[t, x], mhi * st_eta_dis[x])
                if w1 > 1e-9:
                    cbus[nc] = st_bus[x]; csign[nc] = -1.0; ccost[nc] = 0.0; cw[nc] = w1
                    ckind[nc] = 9; cidx[nc] = x
                    nc += 1
                w2 = min(st_pch[x] - ch[t, x], (mhi - w1 / st_eta_dis[x]) / st_eta_ch[x])
                if w2 > 1e-9:
                    cbus[nc] = st_bus[x]; csign[nc] = -1.0; ccost[nc] = 1e-3; cw[nc] = w2
                    ckind[nc] = 9; cidx[nc] = x
                    nc += 1
            n1 = nc  # one-bus columns end here; DC links follow (from -> to is +)
            for k in range(NK):
                f = dc_p[t, k]
                if dc_pmax[k] - f > 1e-9:
                    cbus[nc] = dc_to[k]; cbus2[nc] = dc_from[k]; csign[nc] = 1.0; ccost[nc] = 0.0
                    cw[nc] = dc_pmax[k] - f; ckind[nc] = 10; cidx[nc] = k
                    nc += 1
                if dc_pmax[k] + f > 1e-9:
                    cbus[nc] = dc_to[k]; cbus2[nc] = dc_from[k]; csign[nc] = -1.0; ccost[nc] = 0.0
                    cw[nc] = dc_pmax[k] + f; ckind[nc] = 10; cidx[nc] = k
                    nc += 1
            xs, infeas, ydual = lp_solve_pairs(cbus[:nc], cbus2[:nc], csign[:nc], ccost[:nc], cw[:nc], rows[:nrow],
                                               fl, flo, fhi, ptdf, max_iter)
            for b in range(B):
                pb = ydual[0]
                for i in range(nrow):
                    pb += ydual[1 + i] * ptdf[rows[i], b]
                pi[t, b] = pb
            for j in range(n1, nc):
                cbus2[j] = -1  # the next round's one-bus columns may land here
            # apply
            for j in range(nc):
                val = xs[j]
                if val <= 0.0:
                    continue
                dv = csign[j] * val
                i = cidx[j]
                kd = ckind[j]
                if kd == 0:
                    th_p[t, i] += dv
                elif kd == 1:
                    re_p[t, i] = min(max(re_p[t, i] + dv, 0.0), max(re_avail[t, i], 0.0))
                elif kd == 2:
                    ex_p[t, i] = min(max(ex_p[t, i] - dv, ex_min[t, i]), ex_max[t, i])
                elif kd == 3:
                    shed[t, i] = min(max(shed[t, i] + dv, 0.0), max(load[t, i], 0.0))
                elif kd == 4 or kd == 7:
                    dq = dv / hy_k[i]
                    q[t, i] += dq
                    s[t, i] = max(s[t, i] - dq, 0.0)
                elif kd == 10:
                    dc_p[t, i] = min(max(dc_p[t, i] + dv, -dc_pmax[i]), dc_pmax[i])
                elif kd == 5 or kd == 6:
                    dq = dv / hy_k[i]
                    q[t, i] += dq
                    for tt in range(t, n):
                        v[tt, i] -= c36 * dq
                    d_ = hy_down[i]
                    if d_ >= 0:
                        for tt in range(t + hy_delay[i], n):
                            v[tt, d_] += c36 * dq
                else:
                    net = dis[t, i] - ch[t, i] + dv
                    if net >= 0.0:
                        dis[t, i] = min(net, st_pdis[i])
                        ch[t, i] = 0.0
                    else:
                        ch[t, i] = min(-net, st_pch[i])
                        dis[t, i] = 0.0
            # storage energy recursion from hour t (e before t unchanged)
            for x in range(NS):
                prev = e[t - 1, x] if t > 0 else st_e0[x]
                for tt in range(t, n):
                    prev = prev * (1.0 - st_loss[x]) + st_eta_ch[x] * ch[tt, x] - dis[tt, x] / st_eta_dis[x]
                    e[tt, x] = prev
        # flows after this hour's repair
        _hour_injection(t, inj, shed, load, th_bus, th_p, re_bus, re_p, ex_bus, ex_p, hy_bus, hy_k, q, st_bus, dis, ch,
                            dc_from, dc_to, dc_p)
        for l in range(L):
            f = 0.0
            for b in range(B):
                f += ptdf[l, b] * inj[b]
            o = abs(f) - line_max[l]
            if o > worst:
                worst = o
    return worst


OWN = 1 << 32  # owner kinds of :func:`hour_pieces`' pieces (``kind * OWN + index``)


@njit
def hour_pieces(t, inj, on, elo, ehi, pmin, cost_pmin, seg_mw, seg_cost, th_bus, re_avail, re_bus, curtail_cost,
                ex_min, ex_max, ex_price, ex_bus, load, fspill, spill_cost, voll, dump_cost, dc_from, dc_to, dc_pmax,
                cbus, cbus2, csign, ccost, cw, cown):
    """The pieces of hour ``t``'s dispatch around its fixed part, as :func:`recourse_hours` and
    :mod:`dispatch.flowlp` price them: committed thermal units' segments above their envelope's
    floor ``elo`` up to ``ehi``, renewables' curtailment, exports above their minimum,
    shedding (up to the bus's load) at ``voll``, hydro output turned into spill (up to
    ``fspill[t]``), dumping at ``dump_cost`` at every bus, then both directions of each DC link
    (``cbus2`` its from-bus; -1 for the others). ``cown`` names each piece's owner: the unit
    ``g`` for a thermal piece, ``OWN * 1 + r`` a renewable, ``OWN * 2 + x`` an export, ``OWN * 3 +
    b`` shedding, ``OWN * 4 + b`` spill, ``OWN * 5 + b`` dumping, ``OWN * 6 + k`` a DC link
    (:data:`OWN`). ``inj`` (B,) comes in holding the flexible
    injections less the load and leaves with the fixed part added (units at ``elo``,
    renewables at availability, exports at their minimum). Fills ``cbus, cbus2, csign, ccost,
    cw`` (bus, second bus, sign of the injection, cost per MW, width) and returns (pieces,
    the first DC piece, the fixed part's cost)."""
    G = on.shape[1]
    K = seg_mw.shape[1]
    R = re_avail.shape[1]
    E = ex_min.shape[1]
    B = inj.shape[0]
    NK = dc_pmax.shape[0]
    base = 0.0
    nc = 0
    for g in range(G):
        if not on[t, g]:
            continue
        p = elo[t, g]
        inj[th_bus[g]] += p
        base += cost_pmin[g]
        pos = pmin[g]
        for k in range(K):
            s0 = pos
            s1 = pos + seg_mw[g, k]
            pos = s1
            if k == K - 1:
                s1 = max(s1, ehi[t, g])
            base += max(min(s1, p) - s0, 0.0) * seg_cost[g, k]
            wu = min(s1, ehi[t, g]) - max(s0, p)
            if wu > 1e-9:
                cbus[nc] = th_bus[g]; csign[nc] = 1.0; ccost[nc] = seg_cost[g, k]; cw[nc] = wu
                cown[nc] = g
                nc += 1
    for r in range(R):
        a = max(re_avail[t, r], 0.0)
        inj[re_bus[r]] += a
        if a > 1e-9:
            cbus[nc] = re_bus[r]; csign[nc] = -1.0; ccost[nc] = curtail_cost; cw[nc] = a
            cown[nc] = OWN + r
            nc += 1
    for x in range(E):
        inj[ex_bus[x]] -= ex_min[t, x]
        base -= ex_min[t, x] * ex_price[x]
        wx = ex_max[t, x] - ex_min[t, x]
        if wx > 1e-9:
            cbus[nc] = ex_bus[x]; csign[nc] = -1.0; ccost[nc] = -ex_price[x]; cw[nc] = wx
            cown[nc] = 2 * OWN + x
            nc += 1
    big = 0.0
    for b in range(B):
        big += abs(inj[b])
    big = 2.0 * big + 1.0
    for b in range(B):
        ld = max(load[t, b], 0.0)
        if ld > 1e-9:
            cbus[nc] = b; csign[nc] = 1.0; ccost[nc] = voll; cw[nc] = ld
            cown[nc] = 3 * OWN + b
            nc += 1
        if fspill[t, b] > 1e-9:
            cbus[nc] = b; csign[nc] = -1.0; ccost[nc] = spill_cost; cw[nc] = fspill[t, b]
            cown[nc] = 4 * OWN + b
            nc += 1
        cbus[nc] = b; csign[nc] = -1.0; ccost[nc] = dump_cost; cw[nc] = big
        cown[nc] = 5 * OWN + b
        nc += 1
    n1 = nc
    for k in range(NK):
        if dc_pmax[k] > 1e-9:
            for sg in (1.0, -1.0):
                cbus[nc] = dc_to[k]; cbus2[nc] = dc_from[k]; csign[nc] = sg; ccost[nc] = 0.0; cw[nc] = dc_pmax[k]
                cown[nc] = 6 * OWN + k
                nc += 1
    return nc, n1, base


@njit
def recourse_hours(ptdf, line_max, margin, finj, fspill, spill_cost, load, on, elo, ehi, pmin, cost_pmin, seg_mw,
                   seg_cost, th_bus, re_avail, re_bus, curtail_cost, ex_min, ex_max, ex_price, ex_bus, voll, dump_cost,
                   dc_from, dc_to, dc_pmax, max_rounds, max_iter):
    """Least cost of serving each hour with the flexible injections ``finj`` (n, B) fixed.

    Each hour is an LP (:func:`lp_solve_pairs`) over *absolute* levels, not moves from a
    schedule: committed thermal units between their envelope bounds ``elo``/``ehi``
    (segment costs), renewables curtailed at ``curtail_cost``, exports between their
    limits, DC links, hydro output turned into spill at ``spill_cost`` (up to ``fspill``
    (n, B), the hydro part of ``finj``), shedding at ``voll`` and dumping at ``dump_cost``
    at every bus (so every hour is feasible); the balance and every line that the LP's point overloads
    (row generation, ``max_rounds``) as rows. Ramps between hours are *not* imposed, so
    the sum is a convex function of ``finj`` whose subgradient is minus the hour's nodal
    prices. Returns (each hour's cost incl. the units' cost at ``elo`` (n,), nodal prices
    (n, B), largest line overload left).
    """
    n, B = load.shape
    G = on.shape[1]
    K = seg_mw.shape[1]
    R = re_avail.shape[1]
    E = ex_min.shape[1]
    L = ptdf.shape[0]
    NK = dc_pmax.shape[0]
    NC = G * K + R + E + 3 * B + 2 * NK
    cbus, cbus2, csign, ccost, cw = piece_buffers(NC)
    cown = np.empty(NC, np.int64)
    flo = np.empty(L)
    fhi = np.empty(L)
    for l in range(L):
        fhi[l] = max(line_max[l] * (1.0 - 1e-9), 0.0)
        flo[l] = -fhi[l]
    rows = np.empty(L, np.int64)
    inrow = np.zeros(L, np.bool_)
    inj = np.empty(B)
    inj1 = np.empty(B)
    fl = np.empty(L)
    pi = np.zeros((n, B))
    hour_cost = np.zeros(n)
    worst = 0.0
    for t in range(n):
        for b in range(B):
            inj[b] = finj[t, b] - load[t, b]
        nc, n1, base = hour_pieces(t, inj, on, elo, ehi, pmin, cost_pmin, seg_mw, seg_cost, th_bus, re_avail, re_bus,
                                   curtail_cost, ex_min, ex_max, ex_price, ex_bus, load, fspill, spill_cost, voll,
                                   dump_cost, dc_from, dc_to, dc_pmax, cbus, cbus2, csign, ccost, cw, cown)
        bal = 0.0
        for b in range(B):
            bal -= inj[b]
        for l in range(L):
            f = 0.0
            for b in range(B):
                f += ptdf[l, b] * inj[b]
            fl[l] = f
            inrow[l] = False
        nrow = 0
        cost_t = 0.0
        over_t = 0.0
        for rnd in range(max_rounds):
            xs, infeas, y = lp_solve_pairs(cbus[:nc], cbus2[:nc], csign[:nc], ccost[:nc], cw[:nc], rows[:nrow], fl,
                                           flo, fhi, ptdf, max_iter, bal)
            # the point's flows
            for b in range(B):
                inj1[b] = inj[b]
            for j in range(nc):
                if xs[j] > 0.0:
                    inj1[cbus[j]] += csign[j] * xs[j]
                    if cbus2[j] >= 0:
                        inj1[cbus2[j]] -= csign[j] * xs[j]
            cost_t = 0.0
            for j in range(nc):
                cost_t += ccost[j] * xs[j]
            for b in range(B):
                pb = y[0]
                for i in range(nrow):
                    pb += y[1 + i] * ptdf[rows[i], b]
                pi[t, b] = pb
            over_t = 0.0
            added = False
            for l in range(L):
                f = 0.0
                for b in range(B):
                    f += ptdf[l, b] * inj1[b]
                o = abs(f) - line_max[l]
                if o > over_t:
                    over_t = o
                if not inrow[l] and abs(f) > margin * line_max[l]:
                    inrow[l] = True
                    rows[nrow] = l
                    nrow += 1
                    added = True
            if over_t <= 1e-6 or not added:
                break
        for j in range(n1, nc):
            cbus2[j] = -1
        if over_t > worst:
            worst = over_t
        hour_cost[t] = base + cost_t
    return hour_cost, pi, worst


@njit
def thermal_on_cost_g(lamg, mu, pmin, pmax, cost_pmin, seg_mw, seg_cost):
    """(n, G) Lagrangian cost of being on and the output attaining it, at a price per unit
    and hour ``lamg`` (n, G) (nodal prices); see :func:`thermal_on_cost`."""
    n, G = lamg.shape
    K = seg_mw.shape[1]
    c = np.empty((n, G))
    p = np.empty((n, G))
    for t in range(n):
        for g in range(G):
            lt = lamg[t, g]
            eff = lt - mu[t]
            v = cost_pmin[g] - lt * pmin[g] - mu[t] * (pmax[g] - pmin[g])
            pp = pmin[g]
            for k in range(K):
                d = seg_cost[g, k] - eff
                if d < 0.0:
                    v += d * seg_mw[g, k]
                    pp += seg_mw[g, k]
            c[t, g] = v
            p[t, g] = pp
    return c, p


@njit
def flex_costs_nodal(base, energy, rescoef, hour, abus, pi, mu):
    """:func:`flex_costs` with nodal prices ``pi`` (n, B); ``abus`` is each arc's bus (-1: none)."""
    m = base.shape[0]
    out = np.empty(m)
    for a in range(m):
        out[a] = base[a]
        t = hour[a]
        if t >= 0:
            pr = pi[t, abus[a]] if abus[a] >= 0 else 0.0
            out[a] -= energy[a] * pr + rescoef[a] * mu[t]
    return out
