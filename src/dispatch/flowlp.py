"""The window's flows LP under the network, solved exactly: Dantzig-Wolfe decomposition.

With the commitment fixed, what is left of a window is one linear programme: the hydro
cascades and stores as a min-cost-flow network (:func:`dispatch.kernels.build_flex_graph`),
and each hour's dispatch around them -- committed thermal units between their ramp
envelope's bounds (segment costs), renewables' curtailment, exports, shedding, dumping, DC
links (:func:`dispatch.kernels.hour_pieces`) -- under the hour's balance and the line
ratings (PTDF rows). Ramps between hours are left to the envelope, reserve and demand
response to the schedule that follows (:func:`dispatch.native._schedule`), as in the
network surrogate of :func:`dispatch.kernels.recourse_hours`. Session 14 measured what
the exact optimum of this LP is worth: the scheduled flows of HiGHS's optimum took the
normal January window from +3.06 % to +0.76 % over the milp, dry July from +12.05 % to
-2.53 % (below the time-limited reference).

Dantzig-Wolfe (Dantzig & Wolfe, Operations Research 8, 1960; Desrosiers & Luebbecke,
*A primer in column generation*, 2005): the flows are a convex combination of stored
flows (``lam``, one column each, summing to one); every hour's pieces and every line's
slack are the master's own columns; its rows are the hours' balances, the line-hours in
play and the convexity row. The pricing problem is the exact min-cost flow at the master's
nodal prices (the warm network simplex of :meth:`dispatch.native._Win.flex`): a flow with
negative reduced cost enters as a new column, none means the master is optimal for the
whole LP, and every pricing gives the Lagrangian bound ``master + reduced cost``. Line-hours
enter as rows where the master's point would overload them (a few rounds; the master is
then rebuilt with every column kept).

The master is solved by a bounded revised simplex with the basis inverse kept explicitly
(:func:`rs_simplex`: a few hundred rows, tens of thousands of sparse columns) whose pieces
come in groups -- every piece at a bus in an hour is the same sparse column up to its sign.
A new flow's column enters and the simplex goes on from the last basis; a round with more
line rows starts from the last round's basis too (:func:`_warm`). The ratio test, the
step and the pivot are the repair LP's (:func:`dispatch.kernels.ratio_test`,
:func:`~dispatch.kernels.take_step`, :func:`~dispatch.kernels.pivot_rows`).

Kernels take arrays only; the driver is :func:`solve_flows`.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit
from . import kernels as K


@njit
def master_pieces(n, on, elo, ehi, pmin, cost_pmin, seg_mw, seg_cost, th_bus, re_avail, re_bus, curtail_cost,
                  ex_min, ex_max, ex_price, ex_bus, load, voll, dump_cost, dc_from, dc_to, dc_pmax):
    """Every hour's pieces (:func:`dispatch.kernels.hour_pieces`, no spill piece: the network
    spills on its own arcs): (hour, bus, second bus, sign, cost, width) per piece, the fixed
    injections (n, B) and their cost."""
    B = load.shape[1]
    G, Kk = seg_mw.shape
    per = G * Kk + re_avail.shape[1] + ex_min.shape[1] + 3 * B + 2 * dc_pmax.shape[0]
    cap = n * per
    ph = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    pb2 = np.empty(cap, np.int64)
    ps = np.empty(cap)
    pc = np.empty(cap)
    pw = np.empty(cap)
    cbus, cbus2, csign, ccost, cw = K.piece_buffers(per)
    cown = np.empty(per, np.int64)
    po = np.empty(cap, np.int64)
    fspill = np.zeros((n, B))
    fixed = np.empty((n, B))
    inj = np.empty(B)
    const = 0.0
    m = 0
    for t in range(n):
        for b in range(B):
            inj[b] = -load[t, b]
        nc, n1, base = K.hour_pieces(t, inj, on, elo, ehi, pmin, cost_pmin, seg_mw, seg_cost, th_bus, re_avail,
                                     re_bus, curtail_cost, ex_min, ex_max, ex_price, ex_bus, load, fspill, 0.0, voll,
                                     dump_cost, dc_from, dc_to, dc_pmax, cbus, cbus2, csign, ccost, cw, cown)
        const += base
        for b in range(B):
            fixed[t, b] = inj[b]
        for j in range(nc):
            ph[m] = t
            pb[m] = cbus[j]
            pb2[m] = cbus2[j]  # -1 but on the DC pieces (reset below for the next hour)
            ps[m] = csign[j]
            pc[m] = ccost[j]
            pw[m] = cw[j]
            po[m] = cown[j]
            m += 1
        for j in range(n1, nc):
            cbus2[j] = -1
    return ph[:m], pb[:m], pb2[:m], ps[:m], pc[:m], pw[:m], po[:m], fixed, const


@njit
def flow_column(U, ptdf, row_line, row_hour, n):
    """A stored flow's master column: its injections' sum in each hour's balance row,
    their line flow in each line-hour row, one in the convexity row."""
    R = row_line.shape[0]
    a = np.zeros(n + R + 1)
    a[:n] = _hour_sums_and_flows(U, ptdf, row_line, row_hour, a[n:n + R])
    a[n + R] = 1.0
    return a


@njit
def _hour_sums_and_flows(M, ptdf, row_line, row_hour, flows):
    """Each hour's sum of the injections ``M`` (n, B), returned, and their flow over each
    row's line in its hour, written into ``flows`` (R,)."""
    n, B = M.shape
    sums = np.zeros(n)
    for t in range(n):
        for b in range(B):
            sums[t] += M[t, b]
    for r in range(row_line.shape[0]):
        f = 0.0
        for b in range(B):
            f += ptdf[row_line[r], b] * M[row_hour[r], b]
        flows[r] = f
    return sums


@njit
def master_build(n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour, cols, col_cost, cap):
    """The master LP in the revised simplex's terms, with a basis of artificials.

    Groups (sparse columns ``gptr/grow/gval``): one per bus-hour (its pieces: ``sg`` times
    the group's column), one per DC piece pair, one slack per line-hour row (``0 .. 2 fmax``:
    the row reads ``ptdf . inj + s = fmax``), one artificial per row (``+-e_i``, the sign of
    the row's residual, so it starts non-negative). The stored flows ``cols`` (k, m) are
    dense groups (``lam`` in 0..1, cost ``col_cost``) after them, with room for ``cap``
    more. Returns the arrays of :func:`rs_simplex` and the first artificial's index."""
    R = row_line.shape[0]
    m = n + R + 1
    P = ph.shape[0]
    k0 = cols.shape[0]
    pg = np.empty(P, np.int64)
    ng = n * B
    last_key = -1
    for j in range(P):
        if pb2[j] < 0:
            pg[j] = ph[j] * B + pb[j]
        else:
            key = (ph[j] * B + pb[j]) * B + pb2[j]
            if key != last_key:
                last_key = key
                ng += 1
            pg[j] = ng - 1
    g_slack = ng
    g_art = g_slack + R
    NGs = g_art + m
    # rows of each hour
    rstart = np.zeros(n + 1, np.int64)
    for r in range(R):
        rstart[row_hour[r] + 1] += 1
    for t in range(n):
        rstart[t + 1] += rstart[t]
    order = np.argsort(row_hour, kind="mergesort")
    # the group (hour, bus, second bus) of each group, then the sparse columns
    g_t = np.full(ng, -1, np.int64)
    g_b = np.zeros(ng, np.int64)
    g_b2 = np.full(ng, -1, np.int64)
    for t in range(n):
        for b in range(B):
            g_t[t * B + b] = t
            g_b[t * B + b] = b
    for j in range(P):
        if pb2[j] >= 0:
            g_t[pg[j]] = ph[j]
            g_b[pg[j]] = pb[j]
            g_b2[pg[j]] = pb2[j]
    nnz = ng * (1 + R) + R + m
    gptr = np.zeros(NGs + 1, np.int64)
    grow = np.empty(nnz, np.int64)
    gval = np.empty(nnz)
    q = 0
    for g in range(ng):
        t = g_t[g]
        if g_b2[g] < 0:
            grow[q] = t
            gval[q] = 1.0
            q += 1
        for k in range(rstart[t], rstart[t + 1]):
            r = order[k]
            v = ptdf[row_line[r], g_b[g]]
            if g_b2[g] >= 0:
                v -= ptdf[row_line[r], g_b2[g]]
            if v != 0.0:
                grow[q] = n + r
                gval[q] = v
                q += 1
        gptr[g + 1] = q
    for r in range(R):
        grow[q] = n + r
        gval[q] = 1.0
        q += 1
        gptr[g_slack + r + 1] = q
    rhs = np.empty(m)
    f = np.empty(R)
    sums = _hour_sums_and_flows(fixed, ptdf, row_line, row_hour, f)
    for t in range(n):
        rhs[t] = -sums[t]
    for r in range(R):
        rhs[n + r] = fmax[row_line[r]] - f[r]
    rhs[m - 1] = 1.0
    N = P + R + m + k0 + cap
    grp = np.empty(N, np.int64)
    sg = np.ones(N)
    lo = np.zeros(N)
    hi = np.zeros(N)
    cost = np.zeros(N)
    x = np.zeros(N)
    for j in range(P):
        grp[j] = pg[j]
        sg[j] = ps[j]
        hi[j] = pw[j]
        cost[j] = pc[j]
    res = rhs.copy()
    for r in range(R):
        j = P + r
        grp[j] = g_slack + r
        hi[j] = 2.0 * fmax[row_line[r]]
        x[j] = min(max(rhs[n + r], 0.0), hi[j])  # the line at zero flow where it can be
        res[n + r] -= x[j]
    a0 = P + R
    basis = np.empty(m, np.int64)
    isbasic = np.zeros(N, np.bool_)
    Binv = np.zeros((m, m))
    for i in range(m):
        j = a0 + i
        sgn = 1.0 if res[i] >= 0.0 else -1.0
        grow[q] = i
        gval[q] = sgn
        q += 1
        gptr[g_art + i + 1] = q
        grp[j] = g_art + i
        hi[j] = 1e300
        x[j] = abs(res[i])
        basis[i] = j
        isbasic[j] = True
        Binv[i, i] = sgn
    lamcol = np.zeros((k0 + cap, m))
    for k in range(k0):
        j = a0 + m + k
        grp[j] = NGs + k
        hi[j] = 1.0
        cost[j] = col_cost[k]
        for i in range(m):
            lamcol[k, i] = cols[k, i]
    return gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs, a0


@njit
def _col(gptr, grow, gval, NGs, lamcol, g, sgn, out):
    """``out = sgn *`` column of group ``g`` (dense, m)."""
    for i in range(out.shape[0]):
        out[i] = 0.0
    if g >= NGs:
        for i in range(out.shape[0]):
            out[i] = sgn * lamcol[g - NGs, i]
    else:
        for q in range(gptr[g], gptr[g + 1]):
            out[grow[q]] = sgn * gval[q]


@njit
def _refactor(gptr, grow, gval, NGs, lamcol, grp, sg, basis, Binv, x, rhs, N):
    """``Binv`` recomputed from the basis (Gauss-Jordan, partial pivoting) and the basic
    values from the non-basic ones: drift of the product updates removed. Returns False
    where the basis is singular (then nothing is changed)."""
    m = Binv.shape[0]
    M = np.zeros((m, 2 * m))
    col = np.empty(m)
    for i in range(m):
        j = basis[i]
        _col(gptr, grow, gval, NGs, lamcol, grp[j], sg[j], col)
        for r in range(m):
            M[r, i] = col[r]
        M[i, m + i] = 1.0
    for c in range(m):
        p = c
        best = abs(M[c, c])
        for r in range(c + 1, m):
            if abs(M[r, c]) > best:
                best = abs(M[r, c])
                p = r
        if best < 1e-12:
            return False
        if p != c:
            for k in range(2 * m):
                tmp = M[c, k]
                M[c, k] = M[p, k]
                M[p, k] = tmp
        K.pivot_rows(M, c, M[:, c].copy())
    for i in range(m):
        for k in range(m):
            Binv[i, k] = M[i, m + k]
    # basic values: B^-1 (rhs - sum of the non-basic columns at their values)
    isb = np.zeros(N, np.bool_)
    for i in range(m):
        isb[basis[i]] = True
    r0 = row_residuals(gptr, grow, gval, NGs, lamcol, grp, sg, x, rhs, isb, N)
    for i in range(m):
        v = 0.0
        for k in range(m):
            v += Binv[i, k] * r0[k]
        x[basis[i]] = v
    return True


@njit
def rs_simplex(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, c, x, basis, isbasic, Binv, rhs, N, NG, max_iter):
    """Bounded primal simplex, revised, with the basis inverse kept explicitly (the master
    has a few hundred rows and tens of thousands of sparse columns): Dantzig pricing over
    the first ``N`` variables (Bland's rule for a while after a run of degenerate pivots),
    bound flips without a basis change, a refactorisation every 200 pivots. Returns the
    iterations, or -1 at ``max_iter``; the duals are the caller's to read
    (:func:`rs_duals`)."""
    m = Binv.shape[0]
    y = np.empty(m)
    yag = np.empty(NG)
    col = np.empty(m)
    w = np.empty(m)
    dtol = 1e-9
    ptol = 1e-9
    degen = 0
    bland = False
    since = 0
    fresh = False  # y and yag hold for this basis (a bound flip changes neither)
    for it in range(max_iter):
        if not fresh:
            y = K._group_prices(Binv, c, basis)  # y = c_B B^-1, anew after each pivot (updates drift)
            for g in range(NG):
                v = 0.0
                if g >= NGs:
                    for i in range(m):
                        v += y[i] * lamcol[g - NGs, i]
                else:
                    for q in range(gptr[g], gptr[g + 1]):
                        v += y[grow[q]] * gval[q]
                yag[g] = v
            fresh = True
        jin = -1
        dirn = 0
        best = 0.0
        for j in range(N):
            if isbasic[j]:
                continue
            sc, dd = K.eligible(c[j] - sg[j] * yag[grp[j]], x[j], lo[j], hi[j], dtol)
            if dd == 0:
                continue
            if bland:
                jin = j
                dirn = dd
                break
            if sc > best:
                best = sc
                jin = j
                dirn = dd
        if jin < 0:
            return it
        _col(gptr, grow, gval, NGs, lamcol, grp[jin], sg[jin], col)
        for i in range(m):
            v = 0.0
            for k in range(m):
                if col[k] != 0.0:
                    v += Binv[i, k] * col[k]
            w[i] = v
        wmax = 0.0
        for i in range(m):
            wmax = max(wmax, abs(w[i]))
        # a relative pivot tolerance: flow columns are ~1e4 times a piece's
        theta, r = K.ratio_test(w, dirn, x, lo, hi, basis, hi[jin] - lo[jin], bland, ptol * max(wmax, 1.0))
        if theta > 1e200:
            return -1
        if theta <= 1e-12:
            degen += 1
            if degen > 50:
                bland = True
            if degen > 250:  # Bland's rule for 200 pivots, then Dantzig's again
                bland = False
                degen = 0
        else:
            degen = 0
            bland = False
        if K.take_step(x, basis, w, dirn, theta, jin, r, lo, hi):
            continue  # a bound flip
        b = basis[r]
        K.pivot_rows(Binv, r, w)
        isbasic[b] = False
        isbasic[jin] = True
        basis[r] = jin
        fresh = False
        since += 1
        if since >= 200:
            since = 0
            _refactor(gptr, grow, gval, NGs, lamcol, grp, sg, basis, Binv, x, rhs, N)
    return -1


@njit
def row_residuals(gptr, grow, gval, NGs, lamcol, grp, sg, x, rhs, skip, N):
    """``rhs - A x`` over the first ``N`` variables but those ``skip`` marks."""
    res = rhs.copy()
    m = rhs.shape[0]
    col = np.empty(m)
    for j in range(N):
        if skip[j] or x[j] == 0.0:
            continue
        _col(gptr, grow, gval, NGs, lamcol, grp[j], sg[j], col)
        for i in range(m):
            res[i] -= col[i] * x[j]
    return res


@njit
def rs_duals(c, basis, Binv):
    """``y = c_B B^-1``: the row duals (the basic costs through the inverse's columns)."""
    return K._group_prices(Binv, c, basis)


@njit
def solve_master(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs, a0, N, NG,
                 max_iter):
    """Both phases from the artificial basis of :func:`master_build`: phase one drives the
    artificials out, which are then held at what it left; the cost phase follows. Returns
    (infeasibility, iterations or -1)."""
    m = Binv.shape[0]
    c1 = np.zeros(N)
    for j in range(a0, a0 + m):
        c1[j] = 1.0
    it1 = rs_simplex(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, c1, x, basis, isbasic, Binv, rhs, N, NG,
                     max_iter)
    infeas = 0.0
    for j in range(a0, a0 + m):
        if x[j] < 0.0:
            x[j] = 0.0
        infeas += x[j]
        hi[j] = x[j]
    it2 = rs_simplex(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs, N, NG,
                     max_iter)
    return infeas, (it1 + it2 if it1 >= 0 and it2 >= 0 else -1)


@njit
def lagrangian_rest(y, gptr, grow, gval, grp, sg, c, lo, hi, rhs, a0, n_rows_relaxed):
    """The part of the Lagrangian value at row duals ``y`` that is not the flows': the
    duals times the right-hand sides of the relaxed rows (all but the convexity row) plus
    each piece's and slack's least reduced cost over its bounds (variables ``0 .. a0``)."""
    v = 0.0
    for i in range(n_rows_relaxed):
        v += y[i] * rhs[i]
    for j in range(a0):
        g = grp[j]
        ya = 0.0
        for q in range(gptr[g], gptr[g + 1]):
            ya += y[grow[q]] * gval[q]
        d = c[j] - sg[j] * ya
        v += min(d * lo[j], d * hi[j])
    return v


@njit
def master_prices(y, n, B, ptdf, row_line, row_hour):
    """The master's duals as nodal prices (n, B) -- the hour's balance dual plus each
    line-hour row's dual times the line's PTDF -- and the convexity row's dual."""
    R = row_line.shape[0]
    pi = np.empty((n, B))
    for t in range(n):
        for b in range(B):
            pi[t, b] = y[t]
    for r in range(R):
        v = y[n + r]
        if v == 0.0:
            continue
        l = row_line[r]
        t = row_hour[r]
        for b in range(B):
            pi[t, b] += v * ptdf[l, b]
    return pi, y[n + R]


@njit
def master_point(x, ph, pb, pb2, ps, fixed, n_pieces):
    """(n, B) injections of the master's pieces plus the fixed part (the flows' part is
    added by the caller)."""
    inj = fixed.copy()
    for j in range(n_pieces):
        v = x[j]
        if v == 0.0:
            continue
        inj[ph[j], pb[j]] += ps[j] * v
        if pb2[j] >= 0:
            inj[ph[j], pb2[j]] -= ps[j] * v
    return inj


def solve_flows(w, on: np.ndarray, x0: np.ndarray, line_flow0: np.ndarray, pi0: np.ndarray, iters: int,
                dump_cost: float, rounds: int = 8, near: float = 0.98, tol: float = 1e-5, smooth: float = 0.5,
                check_every: int = 20, max_iter: int = 20_000, box: tuple[np.ndarray, np.ndarray] | None = None,
                more: tuple[np.ndarray, ...] = (), rows: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """The flows of the window ``w`` (:class:`dispatch.native._Win`) that minimise the LP
    above for the commitment ``on``, by column generation from the flows ``x0`` (whose
    schedule had line flows ``line_flow0`` (n, L) and nodal prices ``pi0`` (n, B)); dumping
    costs ``dump_cost`` per MW.

    Line-hours where ``line_flow0`` is at ``near`` x the rating or more start as rows; more
    enter where the master's point overloads a line (``rounds`` rebuilds). ``iters`` flows
    are priced at most in all. Returns a dict: ``x`` the flows, ``value`` the LP's value at
    them (the master's), ``bound`` the best Lagrangian bound, ``columns``, ``rows``,
    ``pricings``, ``pivots_ok`` (False where the simplex hit its limit), ``overloaded``
    (a line-hour outside the rows still over its rating after the last round), ``elo`` the
    thermal envelope's floor (n, G), ``pi`` the master's nodal prices (n, B) and ``price``
    its balance duals (n,), and ``pieces``: (hour, owner, sign, level) of each
    piece at the master's point (owners as :func:`dispatch.kernels.hour_pieces`),
    ``columns_x`` the stored flows and ``weights`` theirs in that point, ``line_flow`` its
    line flows (n, L) and ``rows_at`` its line-hour rows (hours, lines).

    ``box`` (lo, hi): the arcs' bounds narrowed (the pricing is then
    :meth:`dispatch.native._Win.flex_box`; ``x0`` must lie in it); ``more``: flows to start
    with beside ``x0`` (in the box); ``rows`` (hours, lines): line-hours to start with
    besides those ``line_flow0`` puts near their rating (a former solve's ``rows_at``)."""
    sys = w.sys

    def price(pi: np.ndarray) -> tuple[np.ndarray, float]:
        """The exact min-cost flow at nodal prices ``pi`` and its priced cost."""
        if box is None:
            return w.flex(w.zero_n, pi=pi)
        return w.flex_box(pi, box[0], box[1], with_cost=True)

    n, B = w.n, sys.n_bus
    ptdf = np.ascontiguousarray(sys.ptdf, dtype=np.float64)
    fmax = np.maximum(np.asarray(sys.line_max_mw, float) * (1.0 - 1e-9), 0.0)
    elo, ehi = K.ramp_envelope(on, w.th_p0, w.th_init_on, sys.th_pmin, sys.th_pmax, sys.th_ramp_up,
                               sys.th_ramp_down, sys.th_su_ramp, sys.th_sd_ramp)
    ph, pb, pb2, ps, pc, pw, po, fixed, const = master_pieces(
        n, on, elo, ehi, sys.th_pmin, sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, sys.th_bus, w.re_avail,
        sys.re_bus, float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price, sys.ex_bus, w.load, float(sys.voll),
        float(dump_cost), sys.dc_from, sys.dc_to, np.asarray(sys.dc_pmax, float))
    hot = np.abs(line_flow0) >= near * np.maximum(fmax, 1e-9)[None, :]
    if rows is not None:
        hot[rows[0], rows[1]] = True
    row_hour, row_line = (a.astype(np.int64) for a in np.nonzero(hot))
    V: list[np.ndarray] = []
    Us: list[np.ndarray] = []
    cbs: list[float] = []

    def terms(v: np.ndarray) -> tuple[np.ndarray, float]:
        """A flow's bus injections and its own cost."""
        U = K.flex_bus_injection(v, w.energy, w.hour, w.role, w.unit, sys.hy_bus, sys.st_bus, n, B)
        return U, float(w.base @ v) + w.wconst

    def store(v: np.ndarray, U: np.ndarray, cb: float) -> None:
        V.append(v)
        Us.append(U)
        cbs.append(cb)

    for v in (np.asarray(x0, float), *more, price(np.ascontiguousarray(pi0, dtype=np.float64))[0]):
        store(v, *terms(v))
    P = ph.shape[0]

    def point(x, n_used, a0, m, row_hour, row_line):
        """The master's point: flow weights, value, line-hours outside the rows over their
        rating, line flows."""
        lam = np.maximum(x[a0 + m:n_used], 0.0)
        inj = master_point(x, ph, pb, pb2, ps, fixed, P) + np.tensordot(lam, np.asarray(Us), axes=1)
        flow = inj @ ptdf.T
        over = np.abs(flow) > fmax[None, :] * (1.0 + 1e-7) + 1e-6
        over &= ~_in_rows(row_hour, row_line, n, fmax.shape[0])
        return lam, const + float(cost[:n_used] @ x[:n_used]), over, flow

    priced = 0
    bound = -np.inf
    ok = True
    lam = np.zeros(len(V))
    value = np.inf
    y_c = np.zeros(0)  # the stability centre: the duals of the best bound so far
    L_c = -np.inf
    prev = None
    for rnd in range(max(1, rounds)):
        R = row_line.shape[0]
        m = n + R + 1
        cols = np.array([flow_column(U, ptdf, row_line, row_hour, n) for U in Us])
        cap = max(iters - priced, 0)
        (gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs,
         a0) = master_build(n, B, ph, pb, pb2, ps, pc, pw, fixed, ptdf, fmax, row_line, row_hour, cols,
                                np.asarray(cbs), cap)
        k0 = len(V)
        n_used, ng_used = a0 + m + k0, NGs + k0
        if prev is not None:
            _warm(prev, a0, m, n, R, gptr, grow, gval, NGs, lamcol, grp, sg, hi, x, basis, isbasic, Binv, rhs,
                  n_used)
        infeas, it = solve_master(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs,
                                  a0, n_used, ng_used, max_iter)
        ok = ok and it >= 0 and infeas <= 1e-6
        if y_c.shape[0] < m:  # new rows: the centre prices them at zero (still a valid bound)
            y_c = np.concatenate([y_c[:-1], np.zeros(m - y_c.shape[0]), y_c[-1:]]) if y_c.shape[0] else y_c
        misprice = False
        while priced < iters:
            y = rs_duals(cost, basis, Binv)
            obj = const + float(cost[:n_used] @ x[:n_used])
            y_s = y if (misprice or not y_c.shape[0] or smooth <= 0.0) else smooth * y_c + (1.0 - smooth) * y
            pi, _ = master_prices(y_s, n, B, ptdf, row_line, row_hour)
            v, fc = price(pi)
            priced += 1
            L = const + lagrangian_rest(y_s, gptr, grow, gval, grp, sg, cost, lo, hi, rhs, a0, m - 1) + fc
            if infeas <= 1e-6:
                bound = max(bound, L)
                if L > L_c or not y_c.shape[0]:
                    L_c, y_c = L, y_s.copy()
            if obj - bound <= tol * max(abs(obj), 1.0):
                break
            U, cb = terms(v)
            a = flow_column(U, ptdf, row_line, row_hour, n)
            if cb - float(y @ a) >= -tol * max(abs(obj), 1.0):
                if misprice:
                    break  # the master's own duals price no better flow: optimal for these rows
                misprice = True
                continue
            misprice = False
            store(v, U, cb)
            lamcol[ng_used - NGs] = a
            j = n_used
            grp[j], sg[j], lo[j], hi[j], cost[j], x[j], isbasic[j] = ng_used, 1.0, 0.0, 1.0, cb, 0.0, False
            n_used, ng_used = n_used + 1, ng_used + 1
            it = rs_simplex(gptr, grow, gval, NGs, lamcol, grp, sg, lo, hi, cost, x, basis, isbasic, Binv, rhs,
                            n_used, ng_used, max_iter)
            if it < 0:  # the simplex hit its limit: stop here (the point goes to the usual dispatch)
                ok = False
                break
            if (rnd < rounds - 1 and priced % check_every == 0
                    and point(x, n_used, a0, m, row_hour, row_line)[2].any()):
                break  # a line-hour outside the rows is overloaded: add it now, while the master is small
        lam, value, over, flow = point(x, n_used, a0, m, row_hour, row_line)
        if not over.any() or rnd == rounds - 1 or not ok:
            break
        prev = (x[:n_used].copy(), basis.copy(), hi[:n_used].copy(), a0, m, R)
        # the overloaded line-hours and those near their rating at this point
        hot = (np.abs(flow) >= near * fmax[None, :]) & ~_in_rows(row_hour, row_line, n, fmax.shape[0])
        nh, nl = np.nonzero(hot | over)
        row_hour = np.concatenate([row_hour, nh.astype(np.int64)])
        row_line = np.concatenate([row_line, nl.astype(np.int64)])
    s = lam.sum()
    xs = np.tensordot(lam / s if s > 0 else lam, np.asarray(V), axes=1)
    xp = np.clip(x[:P], lo[:P], hi[:P])
    y = rs_duals(cost, basis, Binv)
    pi, _ = master_prices(y, n, B, ptdf, row_line, row_hour)
    return {"x": xs, "value": value, "bound": bound, "columns": len(V), "rows": int(row_line.shape[0]),
            "pricings": priced, "pivots_ok": ok, "overloaded": bool(over.any()), "elo": elo,
            "pi": pi, "price": y[:n].copy(),
            "pieces": (ph, po, ps, xp), "columns_x": V, "weights": lam, "line_flow": flow,
            "rows_at": (row_hour, row_line)}


def mode_box(w, x: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None = None,
             tol: float = 1e-6) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, int]:
    """Each store's mode fixed hour by hour to the one the flows ``x`` net to: the arc bounds
    of the window ``w`` with the discharge arc shut where the store charges on balance or
    idles and the charge arc where it discharges, and ``x`` with each store's charge and
    discharge netted (the same energy path, :func:`dispatch.kernels.storage_net`), which
    lies in those bounds. A convex combination
    of flows can charge and discharge a store at once (one flow charges, another
    discharges), and the LP takes that as a free load where a line-locked pocket has surplus
    (wet January): no schedule can. ``box``: bounds to narrow further (a former pass's).
    Returns ((lo, hi), the netted flows, the store-hours that did both)."""
    sys = w.sys
    n, S = w.n, sys.n_st
    _q, _s, ch, dis, _slack = K.flex_unpack(x, w.energy, w.hour, w.role, w.unit, n, sys.n_hy, S, sys.st_loss)
    ch1, dis1, _e = K.storage_net(ch, dis, np.asarray(w.state.st_e, float), sys.st_eta_ch, sys.st_eta_dis,
                                  sys.st_loss)
    lo, hi = (w.lo.copy(), w.hi.copy()) if box is None else (box[0].copy(), box[1].copy())
    xn = np.asarray(x, float).copy()
    for role, level, against in ((K.R_CH, ch1, dis1), (K.R_DIS, dis1, ch1)):
        a = np.nonzero(w.role == role)[0]
        t, k = w.hour[a], w.unit[a]
        xn[a] = np.where(level[t, k] > tol, level[t, k], 0.0) / np.abs(w.energy[a])
        # shut this arc where the store's net is the other way; where the store is idle,
        # the discharge arc (a convex combination can no more make it do both)
        shut = against[t, k] > tol
        if role == K.R_DIS:
            shut |= (ch1[t, k] <= tol) & (dis1[t, k] <= tol)
        hi[a[shut]] = lo[a[shut]]
    both = int(np.sum(np.minimum(ch, dis) > tol))
    return (lo, hi), xn, both


def in_box(v: np.ndarray, box: tuple[np.ndarray, np.ndarray], tol: float = 1e-9) -> bool:
    """Whether the flow ``v`` lies within the bounds ``box``."""
    return bool(np.all(v >= box[0] - tol) and np.all(v <= box[1] + tol))


def _warm(prev, a0, m, n, R, gptr, grow, gval, NGs, lamcol, grp, sg, hi, x, basis, isbasic, Binv, rhs, N) -> None:
    """The last round's basis on the master with more line rows, in place: every variable
    keeps its value, the old basic ones stay basic, each new row's artificial (its sign
    that of the row's residual) joins the basis; phase one then only has those to drive
    out. Left as built (artificial basis) where that basis comes out singular."""
    x_o, basis_o, hi_o, a0_o, m_o, R_o = prev
    P = a0 - R

    def new_index(j: int) -> int:
        if j < a0_o:
            return j  # pieces, then the old rows' slacks (same order)
        if j < a0_o + m_o:
            i = j - a0_o
            return a0 + (i if i < n + R_o else m - 1)  # the convexity row is last
        return a0 + m + (j - a0_o - m_o)

    x2 = x.copy()
    hi2 = hi.copy()
    x2[a0:a0 + m] = 0.0
    for j in range(x_o.shape[0]):
        jn = new_index(j)
        x2[jn] = x_o[j]
        if a0_o <= j < a0_o + m_o:
            hi2[jn] = hi_o[j]
    for r in range(R_o, R):  # the new rows' slacks at the bound nearest the line's flow
        x2[P + r] = 0.0
    art = np.zeros(N, np.bool_)
    art[a0:a0 + m] = True
    res = row_residuals(gptr, grow, gval, NGs, lamcol, grp, sg, x2, rhs, art, N)
    art_q = gptr[NGs - m:NGs]  # each artificial's one entry
    signs = gval[art_q].copy()  # as built, for the way back
    for r in range(R_o, R):
        slack = min(max(res[n + r], 0.0), hi[P + r])
        x2[P + r] = slack
        res[n + r] -= slack
        gval[art_q[n + r]] = 1.0 if res[n + r] >= 0.0 else -1.0
    b2 = np.array([new_index(int(j)) for j in basis_o] + [a0 + n + r for r in range(R_o, R)], np.int64)
    Bi = np.zeros_like(Binv)
    if not _refactor(gptr, grow, gval, NGs, lamcol, grp, sg, b2, Bi, x2, rhs, N):
        gval[art_q] = signs  # back to the artificial basis master_build left
        return
    x[:] = x2
    hi[:] = hi2
    basis[:] = b2
    isbasic[:] = False
    isbasic[b2] = True
    Binv[:] = Bi


def _in_rows(row_hour: np.ndarray, row_line: np.ndarray, n: int, L: int) -> np.ndarray:
    m = np.zeros((n, L), bool)
    m[row_hour, row_line] = True
    return m

