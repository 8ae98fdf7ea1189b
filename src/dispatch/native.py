"""The native engine: unit commitment and dispatch in the project's own compiled code.

No external solver is called. A window is solved in two phases.

1. **Lagrangian relaxation** (certified lower bound, commitment, prices). The hourly
   system balance (multiplier ``lam``) and spinning-reserve requirement (``mu``, reserve =
   thermal headroom ``pmax*on - p``) are relaxed. What is left separates into subproblems
   that are each solved *exactly* or *relaxed* (which keeps the dual value a valid bound):

   * each thermal unit: exact dynamic program over hours x (on/off, hours in state) with
     min up/down time, history and start-up cost by hours offline (Cython,
     :func:`dispatch._core.commit_dp`). **Relaxed:** ramp, start-up and shut-down ramp limits.
   * all hydro cascades and storage units together: an exact min-cost flow
     (:func:`dispatch.kernels.mcf_solve`) -- cascades with travel delays, volume bounds,
     minimum release, spill, the end-of-window water-value penalty; storage with
     efficiencies and self-discharge in loss-scaled energy units. **Relaxed:** no
     simultaneous charge and discharge; artificial water/energy at a prohibitive cost (only
     used when the window is infeasible as given) -- both only enlarge the feasible set.
   * renewables, exports, load shedding, reserve shortfall: closed form.
   * DC links: closed form (exact): full ``dc_pmax`` from the cheaper to the dearer end at
     the nodal prices, none where they are equal (then only the line multipliers see it).
   * demand response: **relaxed** to no duration/event limits and payback taken at the
     cheapest hour of the window with no power limit.
   * network line limits: **in the dual**. Each line-hour has multipliers ``eta+``/``eta-``
     (``f <= line_max`` / ``-f <= line_max``); every resource sees its nodal price
     ``pi[t, b] = lam[t] - sum_l PTDF[l, b] (eta+ - eta-)[t, l]`` (thermal DP, hydro release
     and storage arcs, renewables, exports, DR, shedding per bus), so congestion moves the
     commitment toward the load side and the dual value stays a certified bound.

   Multipliers follow Polyak subgradient steps (projected). The best dual value is ``lower_bound``.
   After the primal recovery a last dual phase (``lr_bound_iters``, for the bound only)
   continues from the best multipliers with Polyak steps aimed at the best schedule's cost,
   and, where ramps can bind, with each thermal unit's *ramp-aware* program
   (:mod:`dispatch.rampdp`: ramp, start-up and shut-down limits kept, over output cells --
   still a relaxation, so still a valid bound, and never below the plain program at the
   same multipliers). With ``lr_round`` the dual commitments' average over the last
   steps, rounded at each threshold (min up/down kept), starts one more commitment search
   after step 5 below.

2. **Primal recovery** (a feasible schedule, ``objective``).

   * commitment: the DP at the best (nodal) multipliers, re-solved with the recovery prices;
     units forced on where load would otherwise be shed, forced off where a committed
     unit's minimum output feeds a line the repair could not relieve;
   * hydro and storage: Frank-Wolfe on the convex cost of the residual demand they leave,
     whose linear oracle is the same exact min-cost flow and whose per-hour cost is the
     merit-order stack of the committed units (within their ramp envelopes), renewables,
     export reduction, reserve shortfall and shedding (:func:`dispatch.kernels.build_stacks`);
   * thermal: hour-by-hour merit order within start-up/shut-down envelopes and ramp
     windows, looking ahead: units ramp up before hours that would otherwise shed or lose
     ramp-limited reserve (:func:`dispatch.kernels.dispatch_ahead`);
   * commitment local search (windows where thermal units carry at least
     ``search_min_thermal`` of the load): single-unit
     moves and switch-offs covered by other units' starts on the dispatch model, from the
     best candidate and the cheapest other one (:mod:`dispatch.localsearch`);
   * network: **exact per-hour repair LP** (:func:`dispatch.kernels.net_repair`), hours in
     sequence. Each hour a dense bounded-variable LP (own two-phase primal simplex,
     Dantzig pricing with a Bland fallback, :func:`dispatch.kernels.lp_solve_rows`) over
     redispatch pieces that keep every other constraint valid: thermal segments within the
     envelope and the ramp window between the repaired previous hour and the planned next
     hour; renewables curtailment; exports down to ``ex_min``/up to ``ex_max``; shedding per
     bus at VOLL (last resort); DC links at no cost within ``±dc_pmax`` (they start the
     primal idle and move only where a line is overloaded); hydro release <-> spill (volumes unchanged), or water kept
     in / taken from the reservoir within the plant's and its downstream plant's volume
     margins over all later hours (shared between plants that feed the same reservoir);
     storage within power limits and energy margins of all later hours. Rows: the balance
     and every line once it is overloaded or above ``row_margin`` of its rating (row
     generation, ``repair_rounds``). Volumes and storage energy are recomputed afterwards.
     Among the candidate schedules the line-feasible one with the lowest cost is kept;
   * network-aware re-plan of the hydro/storage flows (systems with lines), on the best
     schedule and, with ``replan_starts`` > 1, the cheapest other commitments: with
     ``net_lp_iters`` (``--quality``) first the flows LP under the network solved exactly
     for that commitment (:func:`_net_exact`, :mod:`dispatch.flowlp`: Dantzig-Wolfe, the
     warm network simplex pricing, our own revised simplex master; stores' modes fixed
     where its point does both at once; commitment moves priced by its nodal prices), then
     sequential linear programming in a trust region (:func:`_net_trust`: the exact
     min-cost flow at the repair's nodal prices within a box around the current flows,
     kept where the repaired schedule is cheaper), then Frank-Wolfe on the cost of the
     repaired schedule (:func:`_net_replan`), priced by the repair LP's duals (nodal
     prices), with backtracking on that cost; the cheapest is returned;
   * stores moved through cycles of the flexible network (:func:`_store_cycles`): where a
     line is still overloaded, more charging in that hour at a store that relieves it
     (:func:`_storage_shift`); where load is still shed, more discharging in that hour at a
     store of the shedding pocket (:func:`_storage_relief`), the energy given back or taken
     in another hour. Opt-in
     before it (``dw_iters``): Dantzig-Wolfe on a convex hourly network surrogate
     (:func:`_net_decompose`, :func:`dispatch.kernels.recourse_hours`).

The ``objective`` equals :func:`dispatch.costs.window_cost` of the returned schedule.

Status and known limits (measured figures in ``benches/RESULTS.md``)
--------------------------------------------------------------------
* Min-cost flow: warm-started primal network simplex (:mod:`dispatch.netsimplex`): the
  bounds and supplies of the flexible network are fixed within a window, only costs
  change between the ~90 calls, so each call re-prices the previous optimal basis
  (~0.1 ms on the toy network vs 8 ms for cold successive shortest paths; sichuan-2030
  ~2-4 ms per call for 16 components, 770-818 nodes in the two big cascades).
* Speed: sichuan-2030 48 h window with the network 0.2-0.8 s (was 3-25 s); full year
  (365 windows) 185 s in session 12 with the trust-region re-plan on every start (its boxes
  warm-started), 167 s in session 11 with the gated trust-region re-plan (145 s without it),
  165 s in session 10 (numpy 2.4 / numba 0.68), 209 s in session 8 from a fresh
  install on the quiet 2-core box, 4.5-5.6 min while two
  other solver processes ran (was ~1.5 h); RTS-GMLC year (366 windows) 233 s in session
  12 (672 s beside the suite before) with the commitment search (46 s without). Target
  (year <= 10 s): **missed** by ~18x; the time is split between the flow oracle (~47 %),
  the repair LP (~22 %), the dual's numpy work and Python overhead.
* Feasibility: every window of both full years passes the balance check (max violation
  < 1e-9 MW); surplus hours (must-take output above demand) count as infeasible and
  force units off; windows checked with :func:`dispatch.invariants.check_solution` have 0
  violations. Demand response covers hours that would shed (events, duration, payback).
* RTS-GMLC July week with the network: 13.43 M$ against milp's 13.41 M$ (the commitment
  search took it from 14.50 M$), 16 s against 450 s.
* PGLib-UC (copper plate, ``benches/PGLIB_NATIVE.md``): all 18 instances solved without
  shedding or reserve shortfall; with :data:`dispatch.pglib.PGLIB_NATIVE` within 1 % of the
  reference on 10 of 13, mean +0.73 % (session 9), 2.6-21 s per RTS-GMLC day, 84-87 s on FERC.
* Quality: toy windows within 0.1-0.5 % of milp. sichuan-2030 48 h windows with the
  network (milp references in ``benches/milp_windows.json``): **0.5-3.8e7 CNY per window
  above milp** (1.74e8 over 12 windows against the references two warm-started milp runs
  improved in session 9; 1.53e8 against the first ones with the re-plan's oracle prices capped, session 8;
  1.94e8 before; 4.69e8 before the network re-plan, which took the normal November
  window's curtailment from 82 to 5 GWh). Given the milp's own flows the
  dispatch and repair reproduce its cost, so what is left is the search over the flows:
  the re-plan stalls at kinks of the piecewise-linear repaired cost, and the copper-plate
  Frank-Wolfe hydro plan does not converge on drought windows (it ends cascades far below
  their water-value targets, so low-thermal commitments lose). Dual bounds are weak on
  these windows.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from . import _core
from . import kernels as K
from . import drkernels as DRK
from . import rampdp as RD
from . import localsearch as LS
from . import netsimplex as NS
from . import flowlp as FL
from .arrays import HydroTargets, State, SystemArrays, WindowSolution
from .costs import startup_costs, thermal_energy_cost, window_cost
from .invariants import check_solution, reserve_headroom

SLACK_COST = 1e7  # per unit of artificial water/energy in the flexible network
DUMP_COST = 1e6  # per MW of must-take output above demand in the residual stacks


@dataclass(frozen=True)
class NativeOptions:
    """Tuning of the native engine.

    Attributes
    ----------
    lr_iters : subgradient iterations of the Lagrangian dual (50 with ``patience`` 8 since
        session 10: on the 365 windows of a sichuan-2030 year, each from the same recorded
        inputs, the window objectives sum to 1.1 bn CNY (0.8 %) less than with 25 and 4, for
        ~10-20 % more time: the dual commitments are better, not only the bound).
    lr_bound_iters : dual steps after the primal recovery, for the bound only, from the best
        multipliers towards the best schedule's cost (0: none, the default for speed; 25: the
        sichuan-2030 year's summed window gap 33.6 -> 21.9 bn CNY for 181 -> 227 s; PGLib-UC's
        options use 300).
    lr_ramp : those steps use the ramp-aware unit program (:mod:`dispatch.rampdp`) where some
        unit's ramps can bind.
    lr_cell_frac, lr_max_cells : its output cells are at most ``min(ru, rd) / lr_cell_frac``
        wide, at most ``lr_max_cells`` intervals per unit (plus points at pmin and the
        start-up/shut-down capabilities).
    lr_round : thresholds at which the average dual commitment is rounded into extra
        search starts (each: one schedule and one local search).
    lr_bound_round : the same from the average commitment of the final (ramp-aware) dual
        phase (``lr_bound_iters``), after it: starts whose units respect the ramps' reach,
        where the first phase's relaxed them. For copper-plate windows (PGLib): on network
        windows these starts are not re-planned against the network. Only where the gap is
        at least ``search_more_gap``.
    step0 : initial Polyak step factor (halved after ``patience`` non-improving steps).
    patience : see ``step0``.
    fw_iters : Frank-Wolfe iterations of the hydro/storage dispatch.
    fw_iters_init : Frank-Wolfe iterations of the first (everything-on) schedule.
    fw_iters_screen : Frank-Wolfe iterations of each candidate commitment; the best one is
        then polished up to ``fw_iters`` in all.
    fw_restack : Frank-Wolfe iterations between rebuilds of the merit-order stacks.
    smooth_frac : price smoothing half-width, as a fraction of mean load.
    commit_rounds : commitment rounds (DP re-solved with the recovery prices).
    commit_rounds_max : more rounds, up to this many, while the best schedule still sheds
        load, overloads a line or has a surplus.
    row_margin : a line enters the repair LP once its flow exceeds this share of its rating.
    repair_rounds : row-generation rounds of the per-hour network repair LP.
    lp_max_iter : simplex iterations per phase of the repair LP.
    check_cost : recompute the objective with :func:`dispatch.costs.window_cost`.
    net_fw_iters : steps of the network-aware re-plan of the hydro/storage flows
        (:func:`_net_replan`; systems with lines only); 0 turns it off.
    net_fw_step0, net_fw_min_step : its first step and the smallest step tried by the
        backtracking before a step counts as a miss.
    net_fw_avg : weight of the previous prices in the exponential average of the nodal
        prices its oracle sees (0: the last schedule's prices only).
    net_fw_patience : it stops after this many missed steps in a row.
    net_price_cap : the nodal prices its oracle sees are kept within ``+-net_price_cap``
        x VOLL at every bus and hour where the schedule sheds no load (0: not at all;
        :func:`_oracle_prices`). The repair LP's duals jump to VOLL (or to the dump cost)
        where shedding is the marginal option of a congested pocket at zero level, and
        such a spike makes the min-cost flow pour every reachable flow into that hour.
        12 sichuan-2030 milp windows, native - milp: 1.939e8 (no cap) -> 1.529e8 CNY
        (0.1, the default; 0.05: 2.01e8, 0.15: 1.54e8) at 7.3 -> 7.4-8.8 s; the year -28.650
        -> -28.842 bn CNY, 179 -> 207 s (more re-plan steps succeed). Also applied in the
        trust-region steps where load is still shed (``shed_tr_iters``), not in the
        ``net_tr_iters`` re-plan (``--quality``: 9.68e7 -> 1.15e8 when it was, 9.42e7 now).
    net_lp_iters, net_lp_rounds : the flows LP under the network solved exactly for each
        re-planned start's commitment before its trust region (:func:`_net_exact`,
        :mod:`dispatch.flowlp`): Dantzig-Wolfe with at most ``net_lp_iters`` pricings (exact
        min-cost flows at the master's nodal prices) and ``net_lp_rounds`` rounds of
        line-hour rows, stopping where the master's value is within ``net_lp_tol`` (relative)
        of the Lagrangian bound; the LP's own point is the schedule where the invariants accept it,
        else its flows are scheduled as usual. 0 (the default) turns it off;
        :data:`QUALITY_NATIVE` 300. 12 sichuan-2030 milp windows, native - milp (session 14):
        9.16e7 -> 3.32e7 CNY with 100 (7.0 -> 55.8 s), 2.21e7 with 300 (134 s); within
        0.5 % on 5 of 12 (was 1). ``net_lp_rounds`` 8 -> 30 (session 15): with 8 the last
        point still overloaded a line-hour outside the rows on 11 of 24 starts.
    net_lp_mode_iters, net_lp_mode_passes : where the LP's point charges and discharges a
        store at once and netting cannot place the losses, the LP solved again with each
        store-hour's mode fixed (:func:`dispatch.flowlp.mode_box`), ``net_lp_mode_iters``
        pricings, ``net_lp_mode_passes`` times at most (wet January 5.02 -> 0.00 %).
    net_lp_moves, net_lp_move_iters : commitment moves priced by the LP's nodal prices
        (:func:`_lp_moves`: loss-making on-blocks off, paying off-stretches on), tried
        ``net_lp_moves`` at most per start, each commitment's LP in ``net_lp_move_iters``
        pricings, from the last LP's line-hour rows. Session 15, 12 milp windows with
        ``--quality``: 3.34e6 -> -6.44e6 CNY, 7 -> 10 of 12 within 0.5 %, 125 -> 329 s.
    net_tr_iters : steps of the trust-region re-plan that runs before that Frank-Wolfe
        (:func:`_net_trust`; 0 turns it off; 20 by default since session 12): the exact
        min-cost flow at the nodal prices within a box of ``net_tr_delta`` x each arc's
        range around the current flows, taken when the repaired schedule is cheaper (else
        the half and the quarter step, ``net_tr_halves``; box x1.5 after a step, x0.5 after
        a miss; it stops below
        ``net_tr_min`` or after ``net_tr_patience`` misses in a row); ``net_tr_avg`` weights
        the previous prices as ``net_fw_avg``. 12 sichuan-2030 milp windows, native - milp
        with one re-planned start: 2.14e8 CNY off (7.5 s), 1.62e8 with 10 steps (12.0 s),
        1.32e8 with 20 (12.9 s), 1.15e8 with 40 (20.3 s). Session 12, with the boxes'
        flows warm-started (reseated bases) and the gate below on top, on every re-plan
        start: 20 steps, 12 windows 1.19e8 -> 9.16e7 CNY (6.2 -> 6.9 s); every 5th window of
        a recorded year -0.60 % (sum of objectives) for +21 % time (-0.46 % for +10 % with
        10 steps). Longer in :data:`QUALITY_NATIVE`.
    net_tr_gate, net_tr_gate_iters : where ``net_tr_iters`` is below ``net_tr_gate_iters``,
        the first re-plan start (the best schedule) gets ``net_tr_gate_iters`` trust-region
        steps before its Frank-Wolfe re-plan where it dispatches demand response or its
        nodal prices are apart (by > 1 CNY/MWh: a line binds) in at least the share
        ``net_tr_gate`` of its hours (0: never; the other starts as they were). Measured on
        the 365 windows of a sichuan-2030 year from the same inputs (session 11), sum of window objectives
        against no gate: 0.98 (the default) -1.19e9 CNY (-0.71 %) for +18 % time (131 ->
        154 s, both alone), 0.95 -1.48e9 for about +25 %; the trust region on every window's
        best start -2.05e9 for about +75 %. The year's run: 145 -> 167 s.
    replan_starts : the network re-plan runs on the best schedule and on the cheapest
        other distinct commitments, this many in all, and keeps the cheapest result (the
        ranking before the re-plan misleads where the network binds: normal January, the
        no-thermal commitment ranks below three gas units before it and above after).
        sichuan-2030 year: 1 -> 2 (the default) -28.516 -> -28.687 bn CNY, unserved 1,222
        -> 5 MWh, 181 -> 236 s; 12 milp windows 2.14e8 -> 1.92e8 CNY over milp.
    shed_tr_iters : where the best schedule still sheds load after the re-plan, this many
        trust-region steps (:func:`_net_trust`) on it (0: none; nothing where
        ``net_tr_iters`` is as large). Rare (3 windows of the sichuan-2030 year) and cheap
        there; on the normal July 7 window 535 MWh shed at cd_east -> 0 (see RESULTS).
        Since session 12 the default ``net_tr_iters`` is as large, so it runs only where
        that re-plan is off (``net_tr_iters=0``); with 40 here (the steps on capped prices
        after the re-plan's 20) every 5th window of the recorded year summed -1.0e7 CNY
        cheaper, but window 250 then kept 280 MWh shed that the storage relief had served.
    dw_iters : steps of the decomposition on the network surrogate before that re-plan
        (:func:`_net_decompose`; 0, the default, turns it off: on the 12 sichuan-2030 milp
        windows ``dw_iters=150, dw_cuts=25`` take native - milp from 2.14e8 to 1.60e8 CNY,
        but the 12 windows from 9 to 34 s).
    dw_every : a new pair of min-cost-flow vertices enters the hull every this many steps.
    dw_delta : the first trust-region radius (in convex weights) of its master.
    dw_blocks : the hours are cut into this many blocks, one cutting-plane model each.
    dw_cuts : the master keeps at most this many cuts per block (the start's and the
        newest; 0: all), which bounds its LP.
    mcf : ``"simplex"`` (default): network simplex warm-started from the previous call's
        optimal basis (:mod:`dispatch.netsimplex`); ``"ssp"``: cold successive shortest
        paths (:func:`dispatch.kernels.mcf_solve`). Both exact; optimal flows are not
        unique, so schedules may differ where ties exist.
    mcf_threads : solve the flexible network's independent components in this many
        threads (1 or 2; results are identical either way). Default 2 since session 7:
        the sichuan-2030 year takes 193 -> 166 s with it (two cascades of ~800 nodes each,
        ~1.2 ms a call apiece); in session 4 on a loaded machine 4 windows took 2.0 s with
        1 thread and 3.1 s with 2. Sweeps' dask workers (one process per core) set 1.
    mcf_pivots_per_arc : pivot limit of one network-simplex call per arc of a component
        (past it that component is solved by successive shortest paths).
    threads : 2 (the default) re-plans the distinct starts against the network side by
        side, the first in this thread, the others in a second one; 1 runs them in turn.
        Results are identical either way: every start works in network-simplex bases of
        its own (a copy of the window's at the re-plan's start), whichever thread runs it.
        12 sichuan-2030 milp windows: re-plan 6.75 -> 4.09 s, windows 10.4 -> 8.2 s. (Not
        kept: the flow solve of each Lagrangian step beside the units' commitment
        programs, 1.47 -> 1.54 s: the programs take too little time to hide the hand-off.)
    ahead_rounds : look-ahead rounds of the hour-by-hour thermal dispatch (units ramp up
        ahead of hours that would otherwise shed; :func:`dispatch.kernels.dispatch_ahead`).
    search_passes : passes of the commitment local search (:mod:`dispatch.localsearch`) on
        the best schedule; 0 turns it off.
    search_shift : the search moves a run's edges by up to this many hours.
    search_cover, search_cover_units : a switch-off that leaves hours short is followed by
        up to ``search_cover`` new runs of other units, each the best among the cheapest
        ``search_cover_units`` units (average cost at pmax) that could cover the hour.
    search_work : the search stops after this many unit-hours of dispatch evaluations
        (3e7: ~8,500 evaluations on a 48 h RTS-GMLC day, ~1,000 on PGLib's 610-unit
        California day); units that switch in the window are visited first, dearest first.
    search_starts : the search starts from the best candidate and the cheapest other
        distinct commitments, this many in all.
    search_more_starts : where the gap is still at least ``search_more_gap`` after the
        ``search_starts`` searches, this many more: from the next cheapest distinct
        candidates of those the searches started from (PGLib: 1).
    search_kicks : after the search, this many kicks: the dearest units that start in the
        window are dropped one at a time (each for all its free hours) and the search runs
        again from there (iterated local search). Off by default: on the 12 PGLib RTS days
        4 kicks take the mean from +1.30 % to +0.87 % over the references at 2-4x the time.
    search_more_gap : the kicks (and ``lr_bound_round``'s starts) run only where the best
        schedule's cost is at least this share above the lower bound proved so far: the
        extra search goes where the dual says there is room (PGLib: 0.015 keeps it off the
        summer RTS days, whose 0.3-1.3 % gaps leave little, and their speed-up over milp).
    search_relink : path relinking (:func:`dispatch.localsearch.relink`) between the best
        schedule and each of this many other distinct candidates, both ways, where the gap
        is still at least ``search_more_gap`` after every other start; the cheapest
        commitment met strictly between the two ends is searched and scheduled, unless it
        was searched before or its model cost is more than ``search_relink_slack`` above
        the best's; ``search_relink_rounds`` rounds, again from the new best while a round
        lowers its cost by at least :data:`RELINK_MIN_GAIN`. Reaches exchanges of several
        units that no single-unit move makes (0: off, the default; PGLib: 6 guides, 5 rounds -- RTS 10-27 +1.21 ->
        +0.60 %, 11-25 +2.71 -> +1.42 %, 01-27 +1.87 -> +1.50 % over the references).
        The search from each path's best is most of its time; the slack 0.03 halves the
        searches on 10-27 (0.002 lost 11-25's gain). A walk toward a guide that differs in
        ``d`` units re-dispatches the window ~d^2/2 times: guides that would make one walk
        cost more than one search (``search_work``) are passed over (RTS-GMLC: none, ~130
        units allowed; FERC's ~950 units: more than ~35 differing units).
    search_min_thermal : the search runs on a window only where the best candidate's
        thermal output is at least this share of the load: it improves the thermal
        commitment, which decides the cost of thermal systems (RTS-GMLC July week with the
        network: -7.4 %, 14.50 -> 13.43 M$ against milp's 13.41 M$, at 1.8 -> 16 s) and
        not of hydro-dominated ones (sichuan-2030: thermal 0-25 % of a day's load, median
        5 %; on three network windows it gained nothing at twice the time).
    """

    lr_iters: int = 50
    lr_bound_iters: int = 0
    lr_ramp: bool = True
    lr_cell_frac: float = 2.0
    lr_max_cells: int = 8
    lr_round: tuple = ()
    lr_bound_round: tuple = ()
    step0: float = 1.0
    patience: int = 8
    fw_iters: int = 20
    fw_iters_init: int = 8
    fw_iters_screen: int = 8
    fw_restack: int = 10
    smooth_frac: float = 0.01
    commit_rounds: int = 3
    commit_rounds_max: int = 8
    row_margin: float = 0.97
    repair_rounds: int = 8
    lp_max_iter: int = 5000
    check_cost: bool = True
    mcf: str = "simplex"
    mcf_threads: int = field(default=2, repr=False)  # speed only: kept out of checkpoint fingerprints
    mcf_pivots_per_arc: int = 50
    threads: int = field(default=2, repr=False)  # speed only: kept out of checkpoint fingerprints
    ahead_rounds: int = 4
    search_passes: int = 4
    search_shift: int = 3
    search_cover: int = 3
    search_cover_units: int = 4
    search_work: float = 3e7
    search_starts: int = 2
    search_more_starts: int = 0
    search_kicks: int = 0
    search_more_gap: float = 0.0
    search_relink: int = 0
    search_relink_rounds: int = 1
    search_relink_slack: float = 0.03
    search_min_thermal: float = 0.3
    net_fw_iters: int = 30
    net_price_cap: float = 0.1
    net_fw_step0: float = 0.1
    net_fw_min_step: float = 0.005
    net_fw_avg: float = 0.7
    net_fw_patience: int = 3
    net_lp_iters: int = 0
    net_lp_rounds: int = 30
    net_lp_tol: float = 1e-5
    net_lp_mode_iters: int = 100
    net_lp_mode_passes: int = 3
    net_lp_moves: int = 3
    net_lp_move_iters: int = 60
    net_tr_iters: int = 20
    net_tr_delta: float = 0.05
    net_tr_min: float = 1e-3
    net_tr_avg: float = 0.5
    net_tr_halves: int = 2
    net_tr_patience: int = 3
    net_tr_gate: float = 0.98
    net_tr_gate_iters: int = 40
    replan_starts: int = 2
    shed_tr_iters: int = 20
    dw_iters: int = 0
    dw_every: int = 3
    dw_delta: float = 0.5
    dw_blocks: int = 8
    dw_cuts: int = 0

    @classmethod
    def from_pairs(cls, pairs: list[str] | tuple[str, ...], base: dict[str, Any] | None = None) -> "NativeOptions":
        """Options from ``FIELD=VALUE`` strings (the CLI's ``--set``), over ``base``.

        Values are read as the field's type: ``true/false/1/0/yes/no`` for booleans,
        comma-separated numbers for tuples (``lr_round=0.3,0.5``). An unknown field or a
        value that does not read raises ``ValueError`` naming both."""
        kinds = {f.name: str(f.type) for f in fields(cls)}
        kw: dict[str, Any] = dict(base or {})
        for pair in pairs:
            key, eq, val = pair.partition("=")
            key, val = key.strip(), val.strip()
            if not eq or key not in kinds:
                raise ValueError(f"NativeOptions: {pair!r} is not FIELD=VALUE with a field of "
                                 f"{', '.join(sorted(kinds))}")
            typ = kinds[key]
            try:
                if typ == "bool":
                    low = val.lower()
                    if low not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError(val)
                    kw[key] = low in ("1", "true", "yes")
                elif typ == "tuple":
                    kw[key] = tuple(float(v) for v in val.split(",") if v.strip())
                else:
                    kw[key] = {"int": int, "float": float, "str": str}[typ](val)
            except ValueError:
                raise ValueError(f"NativeOptions: field {key} ({typ}) cannot be {val!r}") from None
        return cls(**kw)


#: The quality setting (``dispatch run --quality``): the flows LP under the network solved
#: exactly (:mod:`dispatch.flowlp`, up to 300 pricings) for the two cheapest commitments
#: before their trust-region and Frank-Wolfe re-plans. Session 14 (benches/RESULTS.md): 12
#: sichuan-2030 milp windows native - milp 2.21e7 CNY in 134 s, 5 of 12 within 0.5 % (the
#: default 9.16e7 in 7.0 s, 1 of 12); the 200-step trust region of sessions 12-13 on top of it:
#: 2.78e7 in 141 s (dry July took another path), so no longer in this setting (alone: 6.48e7).
QUALITY_NATIVE: dict[str, Any] = {"net_lp_iters": 300, "replan_starts": 2}

#: path relinking starts another round only where the last one lowered the best schedule's
#: cost by at least this share (FERC's 934 units: a first round gains 0.006 %, four more took
#: the day from 88 to 164 s for 0.001 % more)
RELINK_MIN_GAIN = 1e-4


class _Win:
    """Slices of the system for one window (no copies where avoidable)."""

    def __init__(self, sys: SystemArrays, t0: int, n: int, state: State, targets: HydroTargets | None,
                 opt: NativeOptions | None = None):
        opt = opt or NativeOptions()
        if opt.mcf not in ("simplex", "ssp"):
            raise ValueError(f"NativeOptions.mcf must be 'simplex' or 'ssp', not {opt.mcf!r}")
        sl = slice(t0, t0 + n)
        self.sys, self.t0, self.n, self.state = sys, t0, n, state
        self.load = np.ascontiguousarray(sys.load_mw[sl])
        self.load_tot = self.load.sum(axis=1)
        self.re_avail = np.ascontiguousarray(sys.re_avail_mw[sl])
        self.re_tot = self.re_avail.sum(axis=1)
        self.ex_min = np.ascontiguousarray(sys.ex_min[sl])
        self.ex_max = np.ascontiguousarray(sys.ex_max[sl])
        self.reserve = np.ascontiguousarray(sys.reserve_up_mw[sl], dtype=np.float64)
        self.inflow = np.ascontiguousarray(sys.hy_inflow[sl])
        H = sys.n_hy
        self.hist_arr = K.hist_arrivals(n, sys.hy_down, sys.hy_delay, np.ascontiguousarray(state.hy_hist, dtype=np.float64)) if H else np.zeros((n, 0))
        if targets is not None and H:
            v_t, val = np.asarray(targets.v_end, float), np.asarray(targets.value_per_hm3, float)
        else:
            v_t, val = np.zeros(H), np.zeros(H)
        self.v_target, self.value = v_t, val
        (self.n_nodes, self.tail, self.head, self.lo, self.hi, self.base, self.energy, self.rescoef, self.hour,
         self.role, self.unit, self.supply, self.wconst) = K.build_flex_graph(
            n, sys.hy_k, sys.hy_pmax, sys.hy_qmin, sys.hy_vmin, sys.hy_vmax, sys.hy_down, sys.hy_delay,
            self.inflow, self.hist_arr, np.asarray(state.hy_v, float), v_t, val, float(sys.spill_cost),
            sys.st_pch, sys.st_pdis, sys.st_emin, sys.st_emax, sys.st_eta_ch, sys.st_eta_dis, sys.st_loss,
            np.asarray(state.st_e, float), SLACK_COST)
        self.th_init_on = np.asarray(state.th_on, dtype=bool)
        self.th_init_h = np.asarray(state.th_hours, dtype=np.int64)
        self.th_p0 = np.asarray(state.th_p, dtype=np.float64)
        span = sys.th_pmax - sys.th_pmin
        binds = ((sys.th_ramp_up < span - 1e-9) | (sys.th_ramp_down < span - 1e-9)
                 | (np.maximum(sys.th_su_ramp, sys.th_pmin) < sys.th_pmax - 1e-9)
                 | (np.maximum(sys.th_sd_ramp, sys.th_pmin) < sys.th_pmax - 1e-9))
        self.ramp_dp = bool(sys.n_th and np.any(binds))
        self.use_ramp = False
        self.cell_frac, self.max_cells = float(opt.lr_cell_frac), int(opt.lr_max_cells)
        G = sys.n_th
        self.force = np.zeros((n, G), dtype=np.int8)
        if G:
            dt_left = np.where(~self.th_init_on, np.maximum(sys.th_min_down, 1) - self.th_init_h, 0)
            mr = np.asarray(sys.th_must_run, bool)[None, :] & (np.arange(n)[:, None] >= dt_left[None, :])
            self.force[mr] = 1
        self.zeros_nG = np.zeros((n, G))
        self.prio = np.argsort(_avg_cost_at_pmax(sys), kind="stable").astype(np.int64)
        self.zero_n = np.zeros(n)
        # a unit above its shut-down capability cannot be off until it has ramped down
        if G:
            pmin, pmax = sys.th_pmin, sys.th_pmax
            sd = np.clip(sys.th_sd_ramp, pmin, pmax)
            rd = np.maximum(np.minimum(sys.th_ramp_down, pmax), 1e-9)
            p0 = np.where(self.th_init_on, self.th_p0, 0.0)
            hours_on = np.ceil(np.maximum(p0 - sd, 0.0) / rd - 1e-9).astype(np.int64)
            tt = np.arange(n)[:, None]
            self.force[(tt < np.minimum(hours_on, n)[None, :]) & self.th_init_on[None, :]] = 1
        self.dr_left = np.maximum(sys.dr_max_events - np.asarray(state.dr_events_used), 0) if sys.n_dr else np.zeros(0, np.int64)

        # reserve the flexible units hold at zero flow (hydro pmax, storage pdis)
        self.flex_res0 = float(np.sum(sys.hy_pmax) + np.sum(sys.st_pdis))
        self.supply_scale = max(1.0, float(np.abs(self.supply[:-2]).sum()))
        self.comps, self.lsupply = _components(self.n_nodes, self.tail, self.head, self.supply, self.role)
        # output buffer of the components' flows (aligned with comps[2]); potentials scratch
        # of the successive-shortest-path solver
        self.mcf_flow = np.zeros(self.comps[2].shape[0])
        self.mcf_pot = np.zeros(self.lsupply.shape[0])
        # network-simplex bases of the components (see dispatch.netsimplex.ns_solve_comps)
        n_comp = self.comps[0].shape[0]
        n_tree = self.lsupply.shape[0] + n_comp
        n_ext = self.comps[2].shape[0] + self.lsupply.shape[0]
        self.ns_basis = (np.zeros(n_tree, np.int64), np.zeros(n_tree, np.int64), np.zeros(n_tree, np.bool_),
                         np.zeros(n_ext, np.int8), np.zeros(n_ext))
        self.ns_ready = np.zeros(n_comp, np.int8)
        # the bases of :meth:`flex_box` (other bounds each call: reseated, not re-priced)
        self.box_basis = tuple(np.zeros_like(b) for b in self.ns_basis)
        self.box_ready = np.zeros(n_comp, np.int8)
        self.mcf, self.mcf_pivots_per_arc = opt.mcf, int(opt.mcf_pivots_per_arc)
        if int(opt.threads) < 1:
            raise ValueError(f"NativeOptions.threads must be at least 1, not {opt.threads!r}")
        self.threads = int(opt.threads)
        self.su_memo: dict[bytes, float] = {}  # start-up cost per commitment (see _objective)
        # two groups of components solved in two threads (opt.mcf_threads > 1)
        self.mcf_groups = _split_components(self.comps[1]) if opt.mcf_threads > 1 and n_comp > 1 else None
        self.all_comps = np.arange(n_comp, dtype=np.int64)
        self.hy_qmax = np.where(sys.hy_k > 0, sys.hy_pmax / np.where(sys.hy_k > 0, sys.hy_k, 1.0), 0.0)
        self.hy_qlo = np.minimum(sys.hy_qmin, self.hy_qmax)
        B = sys.n_bus
        eye = np.eye(B)
        self.E_th, self.E_dr, self.E_hy = eye[sys.th_bus], eye[sys.dr_bus], eye[sys.hy_bus]
        abus = np.full(self.role.shape[0], -1, np.int64)
        abus[self.hour >= 0] = 0
        rel = self.role == K.R_REL
        abus[rel] = sys.hy_bus[self.unit[rel]]
        sto = (self.role == K.R_CH) | (self.role == K.R_DIS)
        abus[sto] = sys.st_bus[self.unit[sto]]
        self.abus = abus if B else np.full(self.role.shape[0], -1, np.int64)
        self.L = sys.n_line
        self.zero_nL = np.zeros((n, sys.n_line))
        self.hy_nup = np.bincount(sys.hy_down[sys.hy_down >= 0], minlength=H).astype(np.int64) if H else np.zeros(0, np.int64)
        # cost per MWh of taking stored water in the repair (its value at the window's end)
        self.hy_wv = np.where(sys.hy_k > 0, val * 0.0036 / np.where(sys.hy_k > 0, sys.hy_k, 1.0), 0.0) if H else np.zeros(0)

    def fork(self) -> "_Win":
        """The same window with flow-solver state of its own (network-simplex bases and
        output buffers copied): a re-plan in another thread works in it without touching
        this one's, and starts from the same bases as this one would."""
        twin = copy.copy(self)
        twin.mcf_flow = self.mcf_flow.copy()
        twin.mcf_pot = self.mcf_pot.copy()
        twin.ns_basis = tuple(b.copy() for b in self.ns_basis)
        twin.ns_ready = self.ns_ready.copy()
        twin.box_basis = tuple(b.copy() for b in self.box_basis)
        twin.box_ready = self.box_ready.copy()
        twin.mcf_groups = None  # no nested hand-off to the component pool from a worker
        return twin

    def flex(self, price: np.ndarray, mu: np.ndarray | None = None, pi: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Exact price response of hydro + storage: flow and its cost (incl. water value).

        ``price`` (n,) system prices, or nodal prices ``pi`` (n, B) when given.
        """
        if mu is None:
            mu = self.zero_n
        if pi is not None:
            cost = K.flex_costs_nodal(self.base, self.energy, self.rescoef, self.hour, self.abus, pi, mu)
        else:
            cost = K.flex_costs(self.base, self.energy, self.rescoef, self.hour, price, mu)
        if self.mcf == "simplex":
            args = (*self.comps, self.lo, self.hi, cost, self.lsupply, self.mcf_flow, *self.ns_basis, self.ns_ready,
                    self.mcf_pivots_per_arc)
            solve = NS.ns_solve_comps  # returns (unrouted, pivots)
        else:
            args = (*self.comps, self.lo, self.hi, cost, self.lsupply, self.mcf_flow, self.mcf_pot, False)
            solve = _ssp_comps
        if self.mcf_groups is None:
            unrouted = solve(self.all_comps, *args)[0]
        else:
            # two disjoint groups of components in two threads (the kernels release the GIL);
            # each writes only its own components' slices, so the result is thread-order free
            fut = _pool().submit(solve, self.mcf_groups[1], *args)
            unrouted = solve(self.mcf_groups[0], *args)[0] + fut.result()[0]
        flow = K.mcf_scatter(self.comps[1], self.comps[2], self.mcf_flow, self.lo.shape[0])
        if unrouted > 1e-6 * self.supply_scale:  # cannot happen: slack arcs make every window routable
            raise RuntimeError(f"native: flexible network infeasible even with slack arcs ({unrouted})")
        return flow, float(cost @ flow) + self.wconst

    def flex_box(self, pi: np.ndarray, lo: np.ndarray, hi: np.ndarray, with_cost: bool = False):
        """The exact min-cost flow at nodal prices ``pi`` (n, B) with the arc bounds narrowed
        to ``lo .. hi`` (a box inside the window's bounds that holds a feasible flow).

        Solved in bases of its own (the warm bases of :meth:`flex` assume bounds that never
        change, so they are left as they are), each started from the last box's optimal
        basis, reseated on these bounds (:func:`dispatch.netsimplex.ns_solve`): the box moves
        a little between the steps of a trust-region re-plan. ``with_cost``: the flow and
        its cost (as :meth:`flex`)."""
        cost = K.flex_costs_nodal(self.base, self.energy, self.rescoef, self.hour, self.abus, pi, self.zero_n)
        flow = np.zeros_like(self.mcf_flow)
        unrouted = NS.ns_solve_comps(self.all_comps, *self.comps, lo, hi, cost, self.lsupply, flow, *self.box_basis,
                                     self.box_ready, self.mcf_pivots_per_arc, True)[0]
        if unrouted > 1e-6 * self.supply_scale:  # the box holds the current flow, so it is routable
            raise RuntimeError(f"native: trust-region flow infeasible ({unrouted})")
        flow = K.mcf_scatter(self.comps[1], self.comps[2], flow, self.lo.shape[0])
        return (flow, float(cost @ flow) + self.wconst) if with_cost else flow


def _ssp_comps(sel: np.ndarray, *args: Any) -> tuple[float, int]:
    """:func:`dispatch.kernels.mcf_solve_comps` with the return shape of the network simplex."""
    return K.mcf_solve_comps(sel, *args), 0


_POOLS: dict[str, Any] = {}


def _pool(kind: str = "mcf"):
    """One worker thread per kind of hand-off, created once: ``"mcf"`` for the second group
    of min-cost-flow components, ``"task"`` for the other re-plan starts. Two pools, so a
    task that solves flows split over components never waits on its own thread."""
    pool = _POOLS.get(kind)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _POOLS[kind] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dispatch-{kind}")
    return pool


def _split_components(arc_ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two groups of components with about equal arc counts (largest first, greedy)."""
    size = np.diff(arc_ptr)
    groups: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    for c in np.argsort(-size, kind="stable"):
        g = 0 if load[0] <= load[1] else 1
        groups[g].append(int(c))
        load[g] += int(size[c])
    return np.array(sorted(groups[0]), np.int64), np.array(sorted(groups[1]), np.int64)


def _components(n_nodes: int, tail: np.ndarray, head: np.ndarray, supply: np.ndarray, role: np.ndarray):
    """Split the flexible network into independent rivers / storage units.

    The shared sink and slack nodes (the last two) are copied into every component; the
    slack-to-sink drain arc too (its capacity is ample for each). Local supplies are
    re-balanced per component.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    SINK, SLACK = n_nodes - 2, n_nodes - 1
    inner = (tail < SINK) & (head < SINK)
    N0 = n_nodes - 2
    g = coo_matrix((np.ones(int(inner.sum())), (tail[inner], head[inner])), shape=(N0, N0))
    nc, lab = connected_components(g, directed=False)
    owner = np.where(tail < SINK, tail, head)
    arc_comp = np.full(tail.shape[0], -1, np.int64)
    real = owner < SINK
    arc_comp[real] = lab[owner[real]]
    drain = np.nonzero(role == K.R_DRAIN)[0]
    arc_ptr = [0]
    arc_idx, ltail, lhead, node_ptr, lsup, cn = [], [], [], [0], [], []
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], np.arange(nc + 1))
    loc = np.empty(n_nodes, np.int64)
    for c in range(nc):
        nodes = order[starts[c]:starts[c + 1]]
        k = len(nodes)
        loc[nodes] = np.arange(k)
        loc[SINK], loc[SLACK] = k, k + 1
        idx = np.concatenate([np.nonzero(arc_comp == c)[0], drain])
        arc_idx.append(idx)
        ltail.append(loc[tail[idx]])
        lhead.append(loc[head[idx]])
        sup = np.zeros(k + 2)
        sup[:k] = supply[nodes]
        sup[k + 1] = supply[SLACK]
        sup[k] = -sup[:k].sum() - sup[k + 1]
        lsup.append(sup)
        cn.append(k + 2)
        arc_ptr.append(arc_ptr[-1] + len(idx))
        node_ptr.append(node_ptr[-1] + k + 2)
    e_i = [np.zeros(0, np.int64)]
    comps = (np.array(cn, np.int64), np.array(arc_ptr, np.int64), np.concatenate(arc_idx + e_i).astype(np.int64),
             np.array(node_ptr, np.int64), np.concatenate(ltail + e_i), np.concatenate(lhead + e_i))
    return comps, np.concatenate(lsup + [np.zeros(0)])


# ----------------------------------------------------------------------------------------
def _nodal(w: _Win, lam: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """(n, B) nodal prices ``lam - PTDF^T (eta_plus - eta_minus)``."""
    pi = np.repeat(lam[:, None], w.sys.n_bus, axis=1)
    if w.L:
        pi -= eta @ w.sys.ptdf
    return pi


def _dual_value(w: _Win, lam: np.ndarray, mu: np.ndarray, eta_p: np.ndarray, eta_m: np.ndarray, force: np.ndarray):
    """Lagrangian dual value at (lam, mu, eta) and the subproblem solutions (see module doc).

    ``eta_p``/``eta_m`` (n, L) are the multipliers of ``f <= line_max`` / ``-f <= line_max``;
    every resource sees its nodal price (:func:`_nodal`).
    """
    sys = w.sys
    n = w.n
    pi = _nodal(w, lam, eta_p - eta_m)
    pig = np.ascontiguousarray(pi[:, sys.th_bus])
    if w.use_ramp:  # ramps kept (a relaxation over output cells, dispatch.rampdp)
        on, pg, head, val = RD.ramp_commit_dp(
            pig, mu, force, sys.th_su_lag, sys.th_su_cost, sys.th_min_up, sys.th_min_down, w.th_init_on,
            w.th_init_h, w.th_p0, sys.th_pmin, sys.th_pmax, sys.th_ramp_up, sys.th_ramp_down, sys.th_su_ramp,
            sys.th_sd_ramp, sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, bool(sys.reserve_ramp_limited),
            w.cell_frac, w.max_cells)
        res = head.sum(axis=1)
    else:
        c_on, p_on = K.thermal_on_cost_g(pig, mu, sys.th_pmin, sys.th_pmax, sys.th_cost_pmin, sys.th_seg_mw,
                                         sys.th_seg_cost)
        on, val = _core.commit_dp(c_on, w.zeros_nG, force, sys.th_su_lag, sys.th_su_cost, sys.th_min_up,
                                  sys.th_min_down, w.th_init_on, w.th_init_h)
        onf = on.astype(bool)
        pg = p_on * onf
        res = ((sys.th_pmax[None, :] - p_on) * onf).sum(axis=1)
    L = float(val.sum())
    inj = pg @ w.E_th - w.load
    flow, fv = w.flex(lam, mu, pi)
    L += fv
    inj += K.flex_bus_injection(flow, w.energy, w.hour, w.role, w.unit, sys.hy_bus, sys.st_bus, n, sys.n_bus)
    fres = w.flex_res0 + K.flex_injection(flow, w.rescoef, w.hour, n)
    L -= float(mu.sum()) * w.flex_res0
    # renewables, exports, DC links, shedding, demand response: closed form, compiled
    L += K.dual_tail(pi, inj, sys.re_bus, w.re_avail, float(sys.curtail_cost), sys.ex_bus, sys.ex_price, w.ex_min,
                     w.ex_max, sys.dc_from, sys.dc_to, sys.dc_pmax, float(sys.voll), w.load, sys.dr_bus, sys.dr_cost,
                     sys.dr_pmax, sys.dr_payback_frac, w.dr_left > 0)
    L += float(np.sum(pi * w.load)) + float(mu @ w.reserve)
    g_lam = -inj.sum(axis=1)
    g_mu = w.reserve - res - fres
    # reserve shortfall variable: free when mu == rsc
    g_mu = np.where(mu >= sys.reserve_short_cost - 1e-9, np.minimum(g_mu, 0.0), g_mu)
    if w.L:
        f = inj @ sys.ptdf.T
        lmax = sys.line_max_mw[None, :]
        L -= float(np.sum((eta_p + eta_m) * lmax))
        g_ep, g_em = f - lmax, -f - lmax
    else:
        g_ep = g_em = w.zero_nL
    return L, g_lam, g_mu, g_ep, g_em, on, flow


def _initial_prices(w: _Win) -> np.ndarray:
    sys = w.sys
    n, G = w.n, sys.n_th
    on = np.ones((n, G), dtype=bool)
    elo = np.broadcast_to(sys.th_pmin, (n, G)).copy()
    ehi = np.broadcast_to(sys.th_pmax, (n, G)).copy()
    width, mcost, nseg, base, must, _ = K.build_stacks(
        on, elo, ehi, sys.th_pmin, sys.th_pmax, sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, w.re_avail,
        float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price, w.load_tot, np.zeros(n), 0.0, float(sys.voll), DUMP_COST)
    hyd = (w.inflow * sys.hy_k[None, :]).sum(axis=1) if sys.n_hy else np.zeros(n)
    D = w.load_tot + w.ex_max.sum(axis=1) - must - hyd
    D = np.maximum(D, 1e-3)
    return K.stack_price(width, mcost, nseg, D, np.full(n, 0.02 * max(w.load_tot.mean(), 1.0)), DUMP_COST)


def _price_clip(sys: SystemArrays, price: np.ndarray) -> np.ndarray:
    """Recovered prices as dual starting points: the dump price of a surplus hour (-1e6)
    and shortage prices above VOLL say nothing about the dual optimum, which lies within
    ``[-curtail_cost, voll]`` (curtailing renewables / shedding load are always possible)."""
    return np.clip(price, min(0.0, -float(sys.curtail_cost)), float(sys.voll))


def _subgradient(w: _Win, opt: NativeOptions, lam, mu, ep, em, iters: int, ub: float):
    """Projected subgradient ascent on the Lagrangian dual from ``lam, mu, ep, em`` (Polyak
    steps towards ``ub``, factor ``opt.step0`` halved after ``opt.patience`` steps without a
    new best). Returns the best value, its multipliers and commitment, and the average flows
    and commitments of the last two thirds of the steps."""
    sys = w.sys
    n = w.n
    best = -np.inf
    best_lam, best_mu, best_eta, best_on = lam.copy(), mu.copy(), ep - em, None
    avg = None
    avg_on = np.zeros((n, sys.n_th))  # ergodic average of the dual commitments
    n_avg = 0
    since = 0
    theta = opt.step0
    scale = max(float(np.abs(w.load_tot).mean()), 1.0)
    flow = None
    for it in range(iters):
        L, g_lam, g_mu, g_ep, g_em, on, flow = _dual_value(w, lam, mu, ep, em, w.force)
        if L > best + 1e-9 * abs(best if np.isfinite(best) else 1.0):
            best, best_lam, best_mu, best_eta, best_on = L, lam.copy(), mu.copy(), ep - em, on
            since = 0
        else:
            since += 1
            if since >= opt.patience:
                theta *= 0.5
                since = 0
        if it >= iters // 3:
            avg = flow.copy() if avg is None else avg + (flow - avg) / (n_avg + 1)
            avg_on += (on - avg_on) / (n_avg + 1)
            n_avg += 1
        gm = np.where((mu <= 0) & (g_mu < 0), 0.0, g_mu)
        gp = np.where((ep <= 0) & (g_ep < 0), 0.0, g_ep)
        gn = np.where((em <= 0) & (g_em < 0), 0.0, g_em)
        nrm = float(g_lam @ g_lam + gm @ gm + np.sum(gp * gp) + np.sum(gn * gn))
        if nrm < 1e-12:
            break
        target = ub if ub > best + 1e-6 * abs(best) else best + max(0.01 * abs(best), 1e-3 * scale * n)
        step = theta * (target - L) / nrm
        lam = np.minimum(lam + step * g_lam, sys.voll)
        mu = np.clip(mu + step * g_mu, 0.0, sys.reserve_short_cost)
        if w.L:
            ep = np.maximum(ep + step * g_ep, 0.0)
            em = np.maximum(em + step * g_em, 0.0)
    if avg is None:
        avg = flow
    return best, best_lam, best_mu, best_eta, best_on, avg, avg_on


def _lagrangian(w: _Win, opt: NativeOptions, lam0: np.ndarray, ub: float):
    """The Lagrangian dual from the prices ``lam0`` (``opt.lr_iters`` steps with the plain
    commitment program). Returns the best value, its multipliers (``lam, mu, eta``: the
    start of :func:`_final_bound`) and commitment, the average flows and the average dual
    commitment."""
    sys = w.sys
    lam = _price_clip(sys, lam0)
    mu = np.zeros(w.n)
    ep, em = w.zero_nL.copy(), w.zero_nL.copy()
    best, b_lam, b_mu, b_eta, b_on, avg, avg_on = _subgradient(w, opt, lam, mu, ep, em, opt.lr_iters, ub)
    return best, b_lam, b_mu, b_eta, b_on, avg, avg_on


def _final_bound(w: _Win, opt: NativeOptions, ub: float, start: tuple) -> tuple[float, np.ndarray]:
    """Best dual value of ``opt.lr_bound_iters`` more steps from the first phase's best
    multipliers ``start = (lam, mu, eta)``, with Polyak steps aimed at ``ub`` (the best schedule's cost: a far better
    target than the first phase had) and, where ramps can bind and ``opt.lr_ramp``, the
    ramp-aware unit program (:mod:`dispatch.rampdp`, never below the plain one at the same
    multipliers). The bound only rises. Run after the primal recovery: it moves the
    warm-started flow oracle's basis, which the primal's flows depend on. Returns the bound and
    the phase's average commitment (the ``lr_bound_round`` starts)."""
    b_lam, b_mu, b_eta = start
    w.use_ramp = bool(w.ramp_dp and opt.lr_ramp)
    try:
        res = _subgradient(w, opt, b_lam, b_mu, np.maximum(b_eta, 0.0), np.maximum(-b_eta, 0.0), opt.lr_bound_iters, ub)
    finally:
        w.use_ramp = False
    return res[0], res[6]


# ----------------------------------------------------------------------------------------
def _reserve_left(w: _Win, flow: np.ndarray) -> np.ndarray:
    """(n,) reserve requirement left to thermal units after the flexible units' headroom."""
    return np.maximum(w.reserve - (w.flex_res0 + K.flex_injection(flow, w.rescoef, w.hour, w.n)), 0.0)


def _stacks(w: _Win, on: np.ndarray, flow: np.ndarray):
    sys = w.sys
    reserve = _reserve_left(w, flow)
    elo, ehi = K.ramp_envelope(on, w.th_p0, w.th_init_on, sys.th_pmin, sys.th_pmax, sys.th_ramp_up,
                               sys.th_ramp_down, sys.th_su_ramp, sys.th_sd_ramp)
    st = K.build_stacks(on, elo, ehi, sys.th_pmin, sys.th_pmax, sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost,
                        w.re_avail, float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price, w.load_tot,
                        reserve, float(sys.reserve_short_cost), float(sys.voll), DUMP_COST)
    return elo, ehi, st, reserve


def _frank_wolfe(w: _Win, onb: np.ndarray, flow0: np.ndarray, iters: int, opt: NativeOptions) -> np.ndarray:
    """Hydro/storage flows minimising the residual-demand stack cost (Frank-Wolfe).

    The stacks carry the reserve left to thermal units after the flexible units' headroom;
    they are rebuilt from the current flows every ``opt.fw_restack`` iterations.
    """
    n = w.n
    x = flow0.copy()
    y = K.flex_injection(x, w.energy, w.hour, n)
    delta = np.full(n, opt.smooth_frac * max(float(w.load_tot.mean()), 1.0))
    it = 0
    while it < iters:
        _elo, _ehi, st, _res = _stacks(w, onb, x)
        width, mcost, nseg, _base, must, _ = st
        dem0 = w.load_tot + w.ex_max.sum(axis=1) - must
        for _ in range(min(opt.fw_restack, iters - it)):
            it += 1
            D = dem0 - y
            price = K.stack_price(width, mcost, nseg, D, delta, DUMP_COST)
            s, _ = w.flex(price)
            ys = K.flex_injection(s, w.energy, w.hour, n)
            dD = -(ys - y)
            dlin = float(w.base @ (s - x))
            gam = K.fw_line_search(width, mcost, nseg, D, dD, dlin, DUMP_COST, 40)
            if gam <= 1e-9:
                delta *= 0.5
                continue
            x = x + gam * (s - x)
            y = y + gam * (ys - y)
            delta *= 0.85
    return x


def _schedule(w: _Win, on: np.ndarray, x: np.ndarray, targets, opt: NativeOptions) -> WindowSolution:
    """The full schedule (dispatch, DR, network repair) and its objective for the
    commitment ``on`` and the flexible flows ``x`` as they are."""
    elo, ehi, st, res_eff = _stacks(w, on, x)
    width, mcost, nseg, _base, must, _ = st
    D = w.load_tot + w.ex_max.sum(axis=1) - must - K.flex_injection(x, w.energy, w.hour, w.n)
    price = K.stack_left_price(width, mcost, nseg, D, DUMP_COST)
    sol = _build_solution(w, on, x, price, elo, ehi, res_eff, opt)
    sol.objective = _objective(w, sol, targets, opt)
    return sol


class _Hull:
    """Flexible flows as convex combinations of stored flows, with cutting planes by block.

    ``V[k]`` are flows of the flexible polytope (the start and min-cost-flow vertices); a
    point is ``sum_k lam_k V[k]`` with ``lam`` in the simplex. Its cost is the flows' own
    (linear) cost plus the hourly recourse ``R_t(u_t)`` of their bus injections ``u_t``,
    convex in ``u_t`` with subgradient ``-pi_t`` (nodal prices). Each evaluated point adds,
    for each block of hours ``d``, the cut ``z_d >= sum_{t in d} R_t(u_t(y)) - pi_t .
    (u_t - u_t(y))`` -- disaggregated cuts describe the sum far better than one cut would.
    """

    def __init__(self, blocks: np.ndarray):
        self.blocks = blocks  # (n,) block of each hour
        self.D = int(blocks.max()) + 1
        self.V: list[np.ndarray] = []
        self.U: list[np.ndarray] = []
        self.cb: list[float] = []
        self.pi: list[np.ndarray] = []
        self.a: list[np.ndarray] = []  # per cut: (D,)
        self.G: list[list[np.ndarray]] = []  # per cut, per vertex: (D,)

    def _g(self, pi: np.ndarray, U: np.ndarray) -> np.ndarray:
        return -np.bincount(self.blocks, weights=(pi * U).sum(axis=1), minlength=self.D)

    def add_vertex(self, v: np.ndarray, U: np.ndarray, cb: float) -> None:
        self.V.append(v)
        self.U.append(U)
        self.cb.append(cb)
        for pi, g in zip(self.pi, self.G):
            g.append(self._g(pi, U))

    def add_cut(self, Rt: np.ndarray, pi: np.ndarray, U: np.ndarray, keep: int = 0) -> None:
        if keep and len(self.a) >= keep:  # drop the oldest cut but the first (the start's)
            for lst in (self.pi, self.a, self.G):
                del lst[1]
        self.pi.append(pi)
        self.a.append(np.bincount(self.blocks, weights=Rt + (pi * U).sum(axis=1), minlength=self.D))
        self.G.append([self._g(pi, Uk) for Uk in self.U])

    def point(self, lam: np.ndarray) -> np.ndarray:
        return np.tensordot(lam, np.asarray(self.V), axes=1)

    def master(self, lam_b: np.ndarray, delta: float, F_b: float) -> tuple[np.ndarray, float]:
        """argmin of the cutting-plane model within ``|lam - lam_b| <= delta``: (lam, model value)."""
        k, m, D = len(self.V), len(self.a), self.D
        sc = max(abs(F_b), 1.0)
        # variables: lam (k), z (D), cut slacks (m*D); rows: sum lam = 1; z_d - G lam - s = a
        nv = k + D + m * D
        A = np.zeros((1 + m * D, nv))
        A[0, :k] = 1.0
        b = np.empty(1 + m * D)
        b[0] = 1.0
        for i in range(m):
            r0 = 1 + i * D
            A[r0:r0 + D, :k] = -np.stack(self.G[i], axis=1) / sc
            A[r0:r0 + D, k:k + D] = np.eye(D)
            A[r0:r0 + D, k + D + i * D:k + D + (i + 1) * D] = -np.eye(D)
            b[r0:r0 + D] = self.a[i] / sc
        lo = np.concatenate([np.maximum(lam_b - delta, 0.0), np.full(D, -1e3), np.zeros(m * D)])
        hi = np.concatenate([np.minimum(lam_b + delta, 1.0), np.full(D, 1e3), np.full(m * D, 1e6)])
        c = np.concatenate([np.asarray(self.cb) / sc, np.ones(D), np.zeros(m * D)])
        x, infeas = K.lp_dense(A, b, c, lo, hi, 50 * (k + m * D + 10))
        if infeas > 1e-7:
            return lam_b, F_b
        lam = np.maximum(x[:k], 0.0)
        return lam / lam.sum(), sc * float(c @ x)


def _flow_terms(w: _Win, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Bus injections (n, B) of the flexible flows ``x`` and their own (linear) cost."""
    sys = w.sys
    U = K.flex_bus_injection(x, w.energy, w.hour, w.role, w.unit, sys.hy_bus, sys.st_bus, w.n, sys.n_bus)
    return U, float(w.base @ x) + w.wconst


def _surrogate(w: _Win, on: np.ndarray, elo: np.ndarray, ehi: np.ndarray, x: np.ndarray, opt: NativeOptions):
    """The flows ``x`` on the network with hours independent and ramps between hours relaxed
    (:func:`dispatch.kernels.recourse_hours`): (total cost, hourly recourse costs (n,),
    nodal prices (n, B), bus injections of the flows (n, B), the flows' own cost)."""
    sys = w.sys
    U, cb = _flow_terms(w, x)
    q = K.flex_unpack(x, w.energy, w.hour, w.role, w.unit, w.n, sys.n_hy, sys.n_st, sys.st_loss)[0]
    fspill = np.ascontiguousarray((q * sys.hy_k[None, :]) @ w.E_hy) if sys.n_hy else np.zeros_like(U)
    Rt, pi, _over = K.recourse_hours(
        sys.ptdf, sys.line_max_mw, opt.row_margin, U, fspill, float(sys.spill_cost), w.load, on, elo, ehi, sys.th_pmin,
        sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, sys.th_bus, w.re_avail, sys.re_bus, float(sys.curtail_cost),
        w.ex_min, w.ex_max, sys.ex_price, sys.ex_bus, float(sys.voll), DUMP_COST, sys.dc_from, sys.dc_to,
        np.asarray(sys.dc_pmax, float), opt.repair_rounds, opt.lp_max_iter)
    return cb + float(Rt.sum()), Rt, pi, U, cb


def _net_decompose(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """Flows minimising the network surrogate (:func:`_surrogate`) over the hull of the
    start and min-cost-flow vertices priced at its nodal prices: Dantzig-Wolfe column
    generation with a trust-region, block-disaggregated cutting-plane master
    (:class:`_Hull`). The surrogate's best flows are then scheduled for real
    (:func:`_schedule`); returns that schedule and its flows, or ``(sol, x)`` when it is not
    cheaper."""
    sys = w.sys
    on = sol.th_on
    elo, ehi = K.ramp_envelope(on, w.th_p0, w.th_init_on, sys.th_pmin, sys.th_pmax, sys.th_ramp_up, sys.th_ramp_down,
                               sys.th_su_ramp, sys.th_sd_ramp)
    hull = _Hull(np.minimum(np.arange(w.n) * opt.dw_blocks // w.n, opt.dw_blocks - 1))
    F_b, Rt, pi_b, U, cb = _surrogate(w, on, elo, ehi, x, opt)
    hull.add_vertex(x, U, cb)
    hull.add_cut(Rt, pi_b, U)
    F0 = F_b
    pi_last: np.ndarray | None = None
    lam = np.ones(1)
    x_b = x
    delta = opt.dw_delta
    for it in range(opt.dw_iters):
        if it % opt.dw_every == 0:
            for p in (pi_b, pi_last):
                if p is None:
                    continue
                v = w.flex(w.zero_n, pi=p)[0]
                hull.add_vertex(v, *_flow_terms(w, v))
                lam = np.append(lam, 0.0)
            pi_last = None
        lam_m, model = hull.master(lam, delta, F_b)
        if F_b - model <= 1e-7 * max(abs(F_b), 1.0):
            if it % opt.dw_every == 0:
                break  # no cheaper point in the hull and the newest vertices did not help
            continue
        y = hull.point(lam_m)
        F, Rt, pi, U, cb = _surrogate(w, on, elo, ehi, y, opt)
        hull.add_cut(Rt, pi, U, opt.dw_cuts)
        pi_last = pi
        if F < F_b:
            F_b, x_b, lam, pi_b = F, y, lam_m, pi
            delta = min(1.0, 2.0 * delta)
        else:
            delta = max(0.5 * delta, 1e-3)
    cand = _schedule(w, on, x_b, targets, opt)
    cand.info.update({"dw_surrogate": (F0, F_b), "dw_vertices": len(hull.V)})
    if _better(cand, sol):
        return cand, x_b
    return sol, x


def _oracle_prices(sys: SystemArrays, sol: WindowSolution, opt: NativeOptions) -> np.ndarray:
    """The repaired schedule's nodal prices as the re-plan's oracle sees them: within
    ``+-opt.net_price_cap`` x VOLL at every bus and hour where no load is shed. The repair LP's
    duals are degenerate where shedding (VOLL) or dumping is the marginal option of a
    congested pocket at zero level, and such a spike makes the min-cost flow pour every
    reachable flow into that hour; where load is shed the spike is the real price."""
    pi = sol.info["pi"]
    if opt.net_price_cap <= 0.0:
        return pi
    cap = opt.net_price_cap * float(sys.voll)
    return np.where(sol.shed > 1e-6, pi, np.clip(pi, -cap, cap))


def _net_replan(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """Hydro/storage flows re-planned against the network (time-coupled).

    Frank-Wolfe on the cost of the *repaired* schedule as a function of the flexible flows,
    ``F(x)`` (:func:`_schedule`: dispatch, demand response and the per-hour network repair).
    Its gradient over the flexible arcs is taken as their cost at the nodal prices of the
    schedule after the repair (the repair LP's duals, :func:`dispatch.kernels.lp_solve_pairs`;
    the merit-order price where no line needed repair); the linear oracle is the exact
    min-cost flow at those prices and the step is found by backtracking on ``F`` itself,
    so a step is taken only where the repaired schedule is cheaper. ``F`` is piecewise
    linear (kinks wherever a line or a piece of the merit order binds), so the prices the
    oracle sees are an exponential average of the iterates' (``net_fw_avg``): the vertex
    then turns slowly instead of jumping between the two sides of a congested hour
    (normal November window: -1.957e8 -> -2.183e8 after 30 steps, where unaveraged prices
    stall at -2.17e8; milp -2.290e8). This moves water and stored energy out of hours
    where a congested pocket curtails (nodal price ~0) into hours where it can leave,
    which the hour-by-hour repair cannot.

    Skipped where no line needed repairing (one price at every bus in every hour).

    Not kept: a simplicial-decomposition polish (Kelley cutting planes over the hull of the
    oracle's vertices) -- these prices are not valid subgradients of ``F`` (on the normal
    November window ``F`` falls twice as fast along the oracle's direction as they
    predict), so the cuts cut off good schedules and no step was accepted.
    Returns the best schedule, its flows and the number of schedules evaluated.
    """
    gam = opt.net_fw_step0
    evals = 0
    pis = None
    misses = 0
    for _ in range(opt.net_fw_iters):
        pi = _oracle_prices(w.sys, sol, opt)
        pis = pi.copy() if pis is None else opt.net_fw_avg * pis + (1.0 - opt.net_fw_avg) * pi
        s, _c = w.flex(w.zero_n, pi=pis)
        d = s - x
        if float(np.abs(d).max()) <= 1e-9:
            break
        gam = min(1.0, 2.0 * gam)
        found = False
        while gam >= opt.net_fw_min_step:
            y = x + gam * d
            cand = _schedule(w, sol.th_on, y, targets, opt)
            evals += 1
            if _better(cand, sol) and cand.objective < sol.objective - 1e-9 * abs(sol.objective):
                sol, x, found = cand, y, True
                break
            gam *= 0.5
        if found:
            misses = 0
        else:
            gam = opt.net_fw_min_step
            misses += 1
            if misses >= opt.net_fw_patience:
                break
    return sol, x, evals


def _net_trust(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions, capped: bool = False):
    """Hydro/storage flows re-planned against the network by sequential linear programming
    in a trust region.

    Same cost ``F(x)`` and prices as :func:`_net_replan` (the repaired schedule, the nodal
    prices of its repair), but the oracle is the exact min-cost flow within a box around
    the current flows (each arc within ``delta`` x its range, :meth:`_Win.flex_box`), and
    its flow is the step: taken when the repaired schedule is cheaper, else its half or
    quarter (``net_tr_halves``) when that is; after a step the box grows x1.5, after a miss
    it halves (the search stops below ``net_tr_min`` or after ``net_tr_patience`` misses
    in a row). Where
    Frank-Wolfe walks towards far vertices and must shorten every step, the box keeps each
    step where the prices still hold: on the normal January window with no thermal unit
    on, -4.0e7 -> -1.28e8 CNY in 47 schedules where Frank-Wolfe's 220 reached -1.27e8
    (milp -1.319e8). ``capped``: its oracle sees :func:`_oracle_prices` (the step where
    load is still shed: the shedding pockets keep their VOLL price and the degenerate
    spikes elsewhere no longer compete with them; the sichuan-2030 year then sheds nothing,
    216 MWh with the raw prices). Returns the best schedule, its flows and the schedules
    evaluated."""
    span = w.hi - w.lo
    delta = opt.net_tr_delta
    evals = misses = 0
    pis = None
    for _ in range(opt.net_tr_iters):
        pi = _oracle_prices(w.sys, sol, opt) if capped else sol.info["pi"]
        pis = pi.copy() if pis is None else opt.net_tr_avg * pis + (1.0 - opt.net_tr_avg) * pi
        y = w.flex_box(pis, np.maximum(w.lo, x - delta * span), np.minimum(w.hi, x + delta * span))
        found = False
        for frac in (1.0, 0.5, 0.25)[: 1 + opt.net_tr_halves]:
            yf = y if frac == 1.0 else x + frac * (y - x)
            cand = _schedule(w, sol.th_on, yf, targets, opt)
            evals += 1
            if _better(cand, sol) and cand.objective < sol.objective - 1e-9 * abs(sol.objective):
                sol, x, found = cand, yf, True
                break
        if found:
            delta = min(1.0, 1.5 * delta)
            misses = 0
        else:
            delta *= 0.5
            misses += 1
            if delta < opt.net_tr_min or misses >= opt.net_tr_patience:
                break
    return sol, x, evals


def _net_exact(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """The flows of the exact flows LP under the network for this commitment
    (:func:`_lp_schedule`, ``net_lp_iters`` pricings), then the commitment's moves that
    pay at the LP's nodal prices tried one by one (:func:`_lp_moves`); kept where the
    schedule is better. Returns the schedule, its flows and the schedules evaluated."""
    cand, cx, r, info = _lp_schedule(w, sol.th_on, x, sol.line_flow, sol.info["pi"], targets, opt,
                                     opt.net_lp_iters)
    evals = 1
    if opt.net_lp_moves > 0 and w.sys.n_th:
        cand, cx, tried, kept = _lp_moves(w, cand, cx, r, targets, opt)
        evals += tried
        info.update(lp_moves_tried=tried, lp_moves_kept=kept)
    if _better(cand, sol):
        cand.info.update(info)
        return cand, cx, evals
    sol.info.update(info)
    return sol, x, evals


def _lp_schedule(w: _Win, on: np.ndarray, x: np.ndarray, line_flow: np.ndarray, pi: np.ndarray, targets,
                 opt: NativeOptions, iters: int, more: tuple = (), rows=None):
    """The flows LP under the network for the commitment ``on``
    (:func:`dispatch.flowlp.solve_flows` from the flows ``x`` and ``more`` and the
    line-hour rows ``rows``, ``iters`` pricings) and the better of its two schedules: its flows through the usual dispatch
    (:func:`_schedule`) and the LP's own point (:func:`_schedule_lp`). Where that point
    charges and discharges a store at once (a free load no schedule can be), the LP is
    solved again with each store-hour's mode fixed to its net
    (:func:`dispatch.flowlp.mode_box`, ``net_lp_mode_passes`` times at most, from the
    netted point and the flows that respect those modes, ``net_lp_mode_iters`` pricings).
    Returns the schedule, its flows, the first LP's result and figures for ``info``."""
    r = FL.solve_flows(w, on, x, line_flow, pi, iters, DUMP_COST, rounds=opt.net_lp_rounds, tol=opt.net_lp_tol,
                       more=more, rows=rows)
    best, bx = _schedule(w, on, r["x"], targets, opt), r["x"]
    direct = _schedule_lp(w, on, r, targets)
    info = {"lp_value": r["value"], "lp_bound": r["bound"], "lp_columns": r["columns"], "lp_rows": r["rows"],
            "lp_pricings": r["pricings"]}
    first, box = r, None
    for _ in range(opt.net_lp_mode_passes):
        if direct is not None or not r["pivots_ok"]:
            break
        box, xn, both = FL.mode_box(w, r["x"], box)
        if not both:
            break
        keep = tuple(v for v in r["columns_x"][1:] if FL.in_box(v, box))
        r = FL.solve_flows(w, on, xn, r["line_flow"], r["pi"], opt.net_lp_mode_iters, DUMP_COST,
                           rounds=opt.net_lp_rounds, tol=opt.net_lp_tol, box=box, more=keep)
        direct = _schedule_lp(w, on, r, targets)
        info.update(lp_mode_value=r["value"], lp_mode_hours=info.get("lp_mode_hours", 0) + both,
                    lp_mode_pricings=info.get("lp_mode_pricings", 0) + r["pricings"])
    if direct is not None and _better(direct, best):
        best, bx = direct, r["x"]
    return best, bx, first, info


def _lp_moves(w: _Win, sol: WindowSolution, x: np.ndarray, r: dict, targets, opt: NativeOptions):
    """The commitment priced at the flows LP's nodal prices (``r["pi"]``): each unit's
    on-block that loses money there (its output valued at its bus's price, less its energy
    and start-up costs) is a move to turn it off; each unit's off-stretch holding hours
    where it would earn more than its costs (at its best output between pmin and pmax) is a
    move to turn the best-paying run of them on (at least min up long, less a start-up).
    The moves, the largest gain first, are tried one by one where min up/down allow: the
    commitment's flows LP solved from the flows with weight in the last LP point and its
    line-hour rows (``net_lp_move_iters`` pricings), kept where the schedule is better (``net_lp_moves``
    trials at most). The commitment search prices its moves with the flows held fixed,
    so a unit that only pays while the flows are wrong stays on, and one that would pay
    once they move stays off (normal January: a unit at a loss for 25 hours). Returns
    the schedule, its flows, the trials and those kept."""
    sys = w.sys
    n, G = w.n, sys.n_th
    on = sol.th_on.astype(bool)
    price = r["pi"][:, sys.th_bus]
    margin = price * sol.th_p - thermal_energy_cost(sys, sol.th_p, on.astype(float)) - startup_costs(sys, w.state, on)
    # what each unit would earn in each hour at its best output (pmin plus the segments
    # that pay)
    best = (price * sys.th_pmin[None, :] - sys.th_cost_pmin[None, :]
            + np.einsum("tgk,gk->tg", np.maximum(price[:, :, None] - sys.th_seg_cost[None], 0.0), sys.th_seg_mw))
    moves = []
    for g in range(G):
        t = 0
        while t < n:
            state = bool(on[t, g])
            a = t
            while t < n and bool(on[t, g]) == state and not w.force[t, g]:
                t += 1
            if t == a:  # a forced hour
                t += 1
                continue
            if state:
                m = float(margin[a:t, g].sum())
                if m < 0.0:
                    moves.append((-m, g, a, t, False))
                continue
            s, e, m = _best_run(best[a:t, g], int(sys.th_min_up[g]))
            m -= float(sys.th_su_cost[g, -1])
            if m > 0.0:
                moves.append((m, g, a + s, a + e, True))
    moves.sort(key=lambda mv: -mv[0])
    trials = kept = 0
    cols = _used_columns(r)
    for _gain, g, a, b, turn_on in moves:
        if trials >= opt.net_lp_moves:
            break
        on2 = sol.th_on.astype(bool).copy()
        on2[a:b, g] = turn_on
        if not LS.pattern_ok(on2, g, w.th_init_on, w.th_init_h, sys.th_min_up, sys.th_min_down, w.force):
            continue
        trials += 1
        cand, cx, r2, _info = _lp_schedule(w, on2, x, sol.line_flow, r["pi"], targets, opt, opt.net_lp_move_iters,
                                           more=cols, rows=r["rows_at"])
        if _better(cand, sol):
            cols = _used_columns(r2)
            sol, x, r, kept = cand, cx, r2, kept + 1
    return sol, x, trials, kept


def _best_run(v: np.ndarray, min_len: int) -> tuple[int, int, float]:
    """The run ``[s, e)`` of ``v`` with the largest sum among those at least ``min_len``
    long (all of ``v`` where it is shorter), and that sum."""
    n = v.shape[0]
    k = min(max(min_len, 1), n)
    c = np.concatenate([[0.0], np.cumsum(v)])
    best, bs, be = -np.inf, 0, n
    lo_i = 0  # the start with the least prefix sum among those at least k before e
    for e in range(k, n + 1):
        if c[e - k] < c[lo_i]:
            lo_i = e - k
        if c[e] - c[lo_i] > best:
            best, bs, be = float(c[e] - c[lo_i]), lo_i, e
    return bs, be, best


def _used_columns(r: dict) -> tuple:
    """The flows with weight in the flows LP's point (:func:`dispatch.flowlp.solve_flows`):
    a small master to start another commitment's LP from."""
    return tuple(v for v, lam in zip(r["columns_x"], r["weights"]) if lam > 1e-9)


def _schedule_lp(w: _Win, on: np.ndarray, lp: dict, targets) -> WindowSolution | None:
    """The schedule the flows LP's own point describes (:func:`dispatch.flowlp.solve_flows`):
    its flows, each thermal unit at its envelope's floor plus its pieces, renewables less
    their curtailment, exports, shedding and DC links as the master left them. None where it
    is not a schedule the invariants accept as it is: dumping, a stored unit charging and
    discharging at once, a line-hour outside the master's rows over its rating, a ramp the
    LP does not see (between hours), or any other violation the checker finds."""
    sys = w.sys
    n = w.n
    ph, po, ps, v = lp["pieces"]
    if not lp["pivots_ok"] or lp["overloaded"]:
        return None
    kind, idx = po // K.OWN, po % K.OWN
    if float(v[kind == 5].sum()) > 1e-6:
        return None
    p = np.where(on, lp["elo"], 0.0)
    m = kind == 0
    np.add.at(p, (ph[m], idx[m]), v[m])
    re_p = np.maximum(w.re_avail, 0.0).copy()
    m = kind == 1
    np.add.at(re_p, (ph[m], idx[m]), -v[m])
    ex = w.ex_min.copy()
    m = kind == 2
    np.add.at(ex, (ph[m], idx[m]), v[m])
    shed = np.zeros((n, sys.n_bus))
    m = kind == 3
    np.add.at(shed, (ph[m], idx[m]), v[m])
    dc_p = np.zeros((n, sys.n_dc))
    m = kind == 6
    np.add.at(dc_p, (ph[m], idx[m]), ps[m] * v[m])
    st = w.state
    q, s, ch, dis, _slack = K.flex_unpack(lp["x"], w.energy, w.hour, w.role, w.unit, n, sys.n_hy, sys.n_st,
                                          sys.st_loss)
    both = np.minimum(ch, dis) > 1e-9
    ch1, dis1, e = K.storage_net(ch, dis, np.asarray(st.st_e, float), sys.st_eta_ch, sys.st_eta_dis, sys.st_loss)
    zero = np.zeros((n, sys.n_dr))
    if np.any(both):
        # the LP burns surplus by charging and discharging a store at once (free where the
        # bus's price is zero); netting them keeps the store's energy path and injects the
        # losses: take that much out at the bus instead (exports, curtailment, hydro spill,
        # its stores), else at the nearest buses the lines allow
        extra = ((dis1 - ch1) - (dis - ch)) @ np.eye(sys.n_bus)[sys.st_bus]
        flow = _bus_injection(w, p, re_p, q, ch, dis, ex, shed, zero, dc_p) @ sys.ptdf.T
        if not _absorb_at_bus(w, extra, re_p, q, s, ex, flow, ch1, dis1, e):
            return None
    ch, dis = ch1, dis1
    hv = K.hydro_volumes(q, s, w.inflow, w.hist_arr, np.asarray(st.hy_v, float), sys.hy_down, sys.hy_delay)
    inj = _bus_injection(w, p, re_p, q, ch, dis, ex, shed, zero, dc_p)
    th_su = on & ~np.vstack([w.th_init_on[None, :], on[:-1]])
    sol = WindowSolution(
        t0=w.t0, th_p=p, th_on=on, th_su=th_su, re_p=re_p, hy_q=q, hy_s=s, hy_v=hv, st_ch=ch, st_dis=dis, st_e=e,
        dr_p=zero, dr_rebound=zero.copy(), ex_p=ex, shed=shed, res_short=np.zeros(n), line_flow=inj @ sys.ptdf.T,
        price=lp["price"], objective=np.nan, lower_bound=np.nan,
        info={"surplus_mw": 0.0, "overload_mw": 0.0, "pi": lp["pi"]}, dc_p=dc_p)
    sol.res_short = np.maximum(w.reserve - reserve_headroom(sys, st, sol), 0.0)
    sol.objective = _objective(w, sol, targets, NativeOptions())
    if check_solution(sys, st, sol, targets):
        return None
    return sol


def _absorb_at_bus(w: _Win, extra: np.ndarray, re_p: np.ndarray, q: np.ndarray, s: np.ndarray,
                   ex: np.ndarray, flow: np.ndarray, ch: np.ndarray, dis: np.ndarray, e: np.ndarray) -> bool:
    """Take ``extra`` (n, B) MW out of the buses' injections in place: exports raised there
    first (up to their limits), then renewables curtailed, then hydro release turned into
    spill (same water path, volumes unchanged, release kept at its minimum), then the
    bus's stores charged more or discharged less (``ch``, ``dis``, ``e`` (n, S), netted,
    as far as their energy stays under its maximum from then on). What a bus cannot take
    goes to the other buses, electrically nearest first (the least PTDF distance), each as
    far as the line ratings allow: ``flow`` (n, L), the lines' flows with ``extra`` taken
    out where it arises, is updated in place. False where not all of it finds a place."""
    sys = w.sys
    for t, b in zip(*np.nonzero(extra > 1e-9)):
        left = _absorb_one(w, t, b, float(extra[t, b]), re_p, q, s, ex)
        left = _store_more(sys, t, b, left, ch, dis, e)
        if left <= 1e-6:
            continue
        dist = np.abs(sys.ptdf - sys.ptdf[:, b : b + 1]).sum(axis=0)  # ptdf is (L, B), also with no lines
        for b2 in np.argsort(dist, kind="stable"):
            if b2 == b or left <= 1e-6:
                continue
            # moving x MW from bus b2's injection to b's changes the flows by x * a
            a = sys.ptdf[:, b] - sys.ptdf[:, b2]
            room = left
            for l in np.nonzero(np.abs(a) > 1e-9)[0]:
                cap = sys.line_max_mw[l] - flow[t, l] if a[l] > 0 else sys.line_max_mw[l] + flow[t, l]
                room = min(room, max(cap, 0.0) / abs(a[l]))
            if room <= 1e-9:
                continue
            took = room - _store_more(sys, t, b2, _absorb_one(w, t, b2, room, re_p, q, s, ex), ch, dis, e)
            flow[t] += took * a
            left -= took
        if left > 1e-6:
            return False
    return True


def _absorb_one(w: _Win, t: int, b: int, left: float, re_p: np.ndarray, q: np.ndarray, s: np.ndarray,
                ex: np.ndarray) -> float:
    """Up to ``left`` MW taken out of bus ``b``'s injection in hour ``t`` in place (exports
    raised, renewables curtailed, hydro release spilled, in that order). Returns what is
    left over."""
    sys = w.sys
    for k in np.nonzero(sys.ex_bus == b)[0]:
        dx = min(left, max(float(w.ex_max[t, k] - ex[t, k]), 0.0))
        ex[t, k] += dx
        left -= dx
    for r in np.nonzero(sys.re_bus == b)[0]:
        dx = min(left, float(re_p[t, r]))
        re_p[t, r] -= dx
        left -= dx
    return _release_to_spill(sys, q, s, t, np.nonzero(sys.hy_bus == b)[0], left)


def _store_more(sys: SystemArrays, t: int, b: int, left: float, ch: np.ndarray, dis: np.ndarray,
                e: np.ndarray) -> float:
    """Up to ``left`` MW of hour ``t`` taken by bus ``b``'s stores in place: a discharging
    store discharges less, another charges more (``ch``, ``dis`` netted), as far as the
    store's energy, raised from hour ``t`` on (decaying by its self-discharge), stays
    within its maximum. Returns the MW left over."""
    n = e.shape[0]
    for k in np.nonzero(sys.st_bus == b)[0]:
        if left <= 0.0:
            break
        decay = (1.0 - sys.st_loss[k]) ** np.arange(n - t)
        room = float(np.min((sys.st_emax[k] - e[t:, k]) / decay))  # MWh the store can still gain at t
        if room <= 0.0:
            continue
        if dis[t, k] > 0.0:
            dx = min(left, float(dis[t, k]), room * sys.st_eta_dis[k])
            dis[t, k] -= dx
            gain = dx / sys.st_eta_dis[k]
        else:
            dx = min(left, float(sys.st_pch[k] - ch[t, k]), room / sys.st_eta_ch[k])
            if dx <= 0.0:
                continue
            ch[t, k] += dx
            gain = dx * sys.st_eta_ch[k]
        e[t:, k] += gain * decay
        left -= dx
    return left


def _release_to_spill(sys: SystemArrays, q: np.ndarray, s: np.ndarray, t: int, plants, left: float) -> float:
    """Up to ``left`` MW of hour ``t``'s hydro release at ``plants`` turned into spill, in
    place (same water path, volumes unchanged; release kept at its minimum). Returns the MW
    left over."""
    for h in plants:
        room = (q[t, h] - min(sys.hy_qmin[h], q[t, h])) * sys.hy_k[h]
        dx = min(room, left)
        if dx > 0:
            q[t, h] -= dx / sys.hy_k[h]
            s[t, h] += dx / sys.hy_k[h]
            left -= dx
    return left


def _storage_arcs(w: _Win) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arc indices of each store's charge, discharge and energy-carry arcs (NS, n) and
    terminal arcs (NS,) in the flexible network (carry arc ``t`` joins hours t and t+1;
    the last column of the carry array is -1)."""
    NS, n = w.sys.n_st, w.n
    ch = np.full((NS, n), -1, np.int64)
    dis = np.full((NS, n), -1, np.int64)
    carry = np.full((NS, n), -1, np.int64)
    term = np.full(NS, -1, np.int64)
    off = w.sys.n_hy * n
    for a in np.nonzero((w.role == K.R_CH) | (w.role == K.R_DIS) | (w.role == K.R_SVOL) | (w.role == K.R_STERM))[0]:
        s = w.unit[a]
        if w.role[a] == K.R_CH:
            ch[s, w.hour[a]] = a
        elif w.role[a] == K.R_DIS:
            dis[s, w.hour[a]] = a
        elif w.role[a] == K.R_SVOL:
            carry[s, w.tail[a] - off - s * n] = a
        else:
            term[s] = a
    return ch, dis, carry, term


def _store_cycles(w: _Win, arcs: tuple, x: np.ndarray, k: int, t: int, s: float, reach: int = 6) -> list:
    """Moves of store ``k`` that change its exchange with the grid in hour ``t`` alone: it takes
    more from the grid there (``s`` = +1: more charging or less discharging) or gives more
    (``s`` = -1), the energy carried to a later hour and given back or taken there (nearest
    first, ``reach`` of them), or kept (lacking) at the window's end, else carried from an
    earlier hour -- cycles in the flexible network. Each is ``(d_max, [(arc, sign), ...])``:
    the flow of each arc moves by ``sign * d`` for ``d`` up to ``d_max``."""
    a_ch, a_dis, a_carry, a_term = arcs

    def room(a: int, sg: float) -> float:
        return float(w.hi[a] - x[a]) if sg > 0 else float(x[a] - w.lo[a])

    out = []
    for a_open, sg_open in ((a_ch[k, t], s), (a_dis[k, t], -s)):
        room0 = room(a_open, sg_open)
        if room0 <= 1e-9:
            continue
        found = []
        for step, stop in ((1, w.n), (-1, -1)):  # later hours (then the end), earlier hours
            r, path = room0, [(a_open, sg_open)]
            for t2 in range(t + step, stop, step):
                a_c = a_carry[k, t2 - 1] if step > 0 else a_carry[k, t2]
                r = min(r, room(a_c, s * step))
                if r <= 1e-9:
                    break
                path = path + [(a_c, s * step)]
                for a_close, sg in ((a_ch[k, t2], -s), (a_dis[k, t2], s)):
                    r_close = room(a_close, sg)
                    if r_close > 1e-9:
                        found.append((min(r, r_close), path + [(a_close, sg)]))
                if len(found) >= reach:
                    break
            else:
                if step > 0 and r > 1e-9 and room(a_term[k], s) > 1e-9:
                    found.append((min(r, room(a_term[k], s)), path + [(a_term[k], s)]))
        out += found
    return out


def _try_cycles(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions, moves: list,
                budget: list[int] | None = None):
    """The first of ``moves`` (:func:`_store_cycles`), whole or half, whose schedule is
    :func:`_better`: ``(schedule, flows)``, or None. ``budget``: ``[schedules left]``,
    decremented per schedule; none are tried once it is spent."""
    for d_max, path in moves:
        arcs = np.array([a for a, _sg in path], np.int64)
        sgn = np.array([sg for _a, sg in path])
        for frac in (1.0, 0.5):
            if budget is not None:
                if budget[0] <= 0:
                    return None
                budget[0] -= 1
            y = x.copy()
            y[arcs] += sgn * (frac * d_max)
            cand = _schedule(w, sol.th_on, y, targets, opt)
            if _better(cand, sol):
                return cand, y
    return None


def _storage_shift(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """Where the repair left a line overloaded: more charging (or less discharging) in that hour
    at a store whose withdrawal relieves the line, the energy given back at another hour or
    kept at the window's end -- a cycle in the flexible network (:func:`_store_cycles`).
    The per-hour repair cannot make this move: it keeps each store within its energy margins
    of all later hours, so a store that is full later cannot charge more now (the island toy:
    the west store must take 6.6 MW more in hour 0 and is full by hour 7). Keeps a candidate
    when :func:`_better`; repeats while it helps. Returns the schedule and flows."""
    sys = w.sys
    arcs = _storage_arcs(w)
    for _round in range(4 * w.n):
        excess = _line_excess(sys, sol.line_flow)
        hours = np.nonzero((excess > 0.0).any(axis=1))[0]
        if hours.size == 0:
            break
        t = int(hours[0])
        l = int(np.argmax(excess[t]))
        push = np.sign(sol.line_flow[t, l]) * sys.ptdf[l]  # flow added per MW injected
        got = None
        for k in np.argsort(-push[sys.st_bus]):  # stores whose charging relieves most, first
            if push[sys.st_bus[k]] <= push.min() + 1e-12:
                break  # charging there helps no more than the balance closing elsewhere
            got = _try_cycles(w, sol, x, targets, opt, _store_cycles(w, arcs, x, int(k), t, 1.0))
            if got is not None:
                break
        if got is None:
            break
        sol, x = got
    return sol, x


RELIEF_STORES = 3  # stores tried per shedding hour (highest bus price first)
RELIEF_SCHEDULES_PER_HOUR = 8  # the relief's schedules at most, per hour of the window


def _storage_relief(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """Where load is still shed: more discharging (or less charging) in that hour at a store
    in the shedding pocket, the energy taken from another hour or from the window's end
    (:func:`_store_cycles`). The per-hour repair cannot make this move for the same reason
    as in :func:`_storage_shift` (a store that runs low later cannot give more now), and the
    re-plans' steps move every flow at once. Stores are tried where the repair's nodal
    price is at least half the shedding bus's (an MW injected there serves the pocket), the
    ``RELIEF_STORES`` dearest-priced of them per hour, at most ``RELIEF_SCHEDULES_PER_HOUR``
    x hours schedules in all (a window that sheds in many hours where no store can help
    costs ~1 s more, not minutes); a candidate is kept when :func:`_better`. Returns the
    schedule and flows."""
    sys = w.sys
    arcs = _storage_arcs(w)
    skip: set[int] = set()
    budget = [RELIEF_SCHEDULES_PER_HOUR * w.n]
    for _round in range(4 * w.n):
        shed_h = sol.shed.sum(axis=1)
        hours = [int(t) for t in np.nonzero(shed_h > 1e-6)[0] if int(t) not in skip]
        if not hours:
            break
        t = hours[0]
        pi = sol.info["pi"][t]
        pb = pi[int(np.argmax(sol.shed[t]))]
        got = None
        for k in np.argsort(-pi[sys.st_bus], kind="stable")[:RELIEF_STORES]:
            if pi[sys.st_bus[k]] < 0.5 * pb:
                break
            got = _try_cycles(w, sol, x, targets, opt, _store_cycles(w, arcs, x, int(k), t, -1.0), budget)
            if got is not None:
                break
        if budget[0] <= 0:
            break
        if got is None:
            skip.add(t)
            continue
        sol, x = got
    return sol, x


def _commit(w: _Win, lam: np.ndarray, mu: np.ndarray, force: np.ndarray, eta: np.ndarray | None = None) -> np.ndarray:
    sys = w.sys
    if eta is not None and w.L:
        lamg = np.ascontiguousarray(_nodal(w, lam, eta)[:, sys.th_bus])
        c_on, _ = K.thermal_on_cost_g(lamg, mu, sys.th_pmin, sys.th_pmax, sys.th_cost_pmin, sys.th_seg_mw,
                                      sys.th_seg_cost)
    else:
        c_on, _ = K.thermal_on_cost(lam, mu, sys.th_pmin, sys.th_pmax, sys.th_cost_pmin, sys.th_seg_mw,
                                    sys.th_seg_cost)
    on, val = _core.commit_dp(c_on, w.zeros_nG, force, sys.th_su_lag, sys.th_su_cost, sys.th_min_up,
                              sys.th_min_down, w.th_init_on, w.th_init_h)
    bad = ~np.isfinite(val)
    if bad.any():
        # forced-off hours that the unit's history or min up/down time cannot honour: drop them
        force = force.copy()
        force[:, bad] = np.maximum(force[:, bad], 0)
        on, val = _core.commit_dp(c_on, w.zeros_nG, force, sys.th_su_lag, sys.th_su_cost, sys.th_min_up,
                                  sys.th_min_down, w.th_init_on, w.th_init_h)
    return on.astype(bool)


def _build_solution(w: _Win, on: np.ndarray, x: np.ndarray, price: np.ndarray, elo, ehi, res_eff,
                    opt: NativeOptions) -> WindowSolution:
    sys = w.sys
    n, st = w.n, w.state
    H, NS = sys.n_hy, sys.n_st
    q, s, ch, dis, _slack = K.flex_unpack(x, w.energy, w.hour, w.role, w.unit, n, H, NS, sys.st_loss)
    ch, dis, e = K.storage_net(ch, dis, np.asarray(st.st_e, float), sys.st_eta_ch, sys.st_eta_dis, sys.st_loss)
    v = K.hydro_volumes(q, s, w.inflow, w.hist_arr, np.asarray(st.hy_v, float), sys.hy_down, sys.hy_delay)
    y = (q * sys.hy_k[None, :]).sum(axis=1) + dis.sum(axis=1) - ch.sum(axis=1)
    demand = w.load_tot + w.ex_max.sum(axis=1) - y
    res_ramp = bool(sys.reserve_ramp_limited)
    p, re_used, ex, shed_tot, surplus, _head = K.dispatch_ahead(
        on, elo, ehi, w.th_p0, w.th_init_on, sys.th_ramp_up, sys.th_ramp_down, sys.th_pmin, sys.th_pmax,
        sys.th_seg_mw, sys.th_seg_cost, w.re_tot, float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price,
        w.load_tot, res_eff, float(sys.reserve_short_cost), float(sys.voll), demand, res_ramp, w.prio,
        opt.ahead_rounds)
    dr_p = np.zeros((n, sys.n_dr))
    dr_rb = np.zeros((n, sys.n_dr))
    load = w.load
    if sys.n_dr and shed_tot.sum() > 1e-6:
        # demand response instead of shedding (it costs dr_cost < VOLL), paid back at cheap hours
        dr_p, dr_rb = _dr_dispatch(w, shed_tot, price)
        net = dr_p.sum(axis=1) - dr_rb.sum(axis=1)
        if np.any(dr_p > 0):
            load = w.load - (dr_p - dr_rb) @ w.E_dr
            p, re_used, ex, shed_tot, surplus, _head = K.dispatch_ahead(
                on, elo, ehi, w.th_p0, w.th_init_on, sys.th_ramp_up, sys.th_ramp_down, sys.th_pmin, sys.th_pmax,
                sys.th_seg_mw, sys.th_seg_cost, w.re_tot, float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price,
                w.load_tot - net, res_eff, float(sys.reserve_short_cost), float(sys.voll), demand - net, res_ramp,
                w.prio, opt.ahead_rounds)
    if np.any(surplus > 1e-9):
        # absorb by turning hydro release into spill (volumes unchanged); what is left makes
        # the schedule infeasible (ranked last by _better, units forced off by _surplus_force)
        for t in np.nonzero(surplus > 1e-9)[0]:
            surplus[t] = _release_to_spill(sys, q, s, t, range(H), surplus[t])
        if NS and np.any(surplus > 1e-9):
            _absorb_storage(w, surplus, ch, dis, e)
    load_tot = load.sum(axis=1)
    re_p = np.where(w.re_tot[:, None] > 0, w.re_avail * (re_used / np.where(w.re_tot > 0, w.re_tot, 1.0))[:, None], 0.0)
    shed = load * (shed_tot / np.where(load_tot > 0, load_tot, 1.0))[:, None]
    th_su = on & ~np.vstack([w.th_init_on[None, :], on[:-1]])
    dc_p = np.zeros((n, sys.n_dc))  # links start idle; the network repair moves them
    pi = np.repeat(np.asarray(price, float)[:, None], sys.n_bus, axis=1)
    if sys.n_line:
        over = K.net_repair(
            sys.ptdf, sys.line_max_mw, opt.row_margin, on, elo, ehi, w.th_p0, w.th_init_on, sys.th_ramp_up,
            sys.th_ramp_down, sys.th_pmin, sys.th_seg_mw, sys.th_seg_cost, sys.th_bus, p, w.re_avail, re_p, sys.re_bus,
            float(sys.curtail_cost), w.ex_min, w.ex_max, sys.ex_price, sys.ex_bus, ex, load, shed, float(sys.voll),
            sys.hy_k, w.hy_qlo, w.hy_qmax, sys.hy_vmin, sys.hy_vmax, sys.hy_down, sys.hy_delay, w.hy_nup, sys.hy_bus,
            w.hy_wv, q, s, v, float(sys.spill_cost), sys.st_pch, sys.st_pdis, sys.st_emin, sys.st_emax, sys.st_eta_ch,
            sys.st_eta_dis, sys.st_loss, sys.st_bus, np.asarray(st.st_e, float), ch, dis, e, sys.dc_from, sys.dc_to,
            np.asarray(sys.dc_pmax, float), dc_p, opt.repair_rounds, opt.lp_max_iter, pi)
        v = K.hydro_volumes(q, s, w.inflow, w.hist_arr, np.asarray(st.hy_v, float), sys.hy_down, sys.hy_delay)
        ch, dis, e = K.storage_net(ch, dis, np.asarray(st.st_e, float), sys.st_eta_ch, sys.st_eta_dis, sys.st_loss)
        if sys.n_dr and shed.sum() > 1e-6:
            dr_p = _dr_for_shedding(w, shed, dr_p)
        inj = _bus_injection(w, p, re_p, q, ch, dis, ex, shed, dr_p - dr_rb, dc_p)
        line_flow = inj @ sys.ptdf.T
        if over > 1e-6:
            _price_overloads(w, line_flow, pi)
    else:
        over = 0.0
        line_flow = np.zeros((n, 0))
    sol = WindowSolution(
        t0=w.t0, th_p=p, th_on=on, th_su=th_su, re_p=re_p, hy_q=q, hy_s=s, hy_v=v, st_ch=ch, st_dis=dis, st_e=e,
        dr_p=dr_p, dr_rebound=dr_rb, ex_p=ex, shed=shed, res_short=np.zeros(n),
        line_flow=line_flow, price=price, objective=np.nan, lower_bound=np.nan,
        info={"surplus_mw": float(surplus.sum()), "surplus_h": surplus, "overload_mw": float(over), "pi": pi},
        dc_p=dc_p,
    )
    sol.res_short = np.maximum(w.reserve - reserve_headroom(sys, st, sol), 0.0)
    return sol


def _line_excess(sys: SystemArrays, line_flow: np.ndarray) -> np.ndarray:
    """(n, L) MW by which each line's flow exceeds its rating beyond the checker's tolerance
    (1e-6 relative, at least 1e-6 MW): positive where the line is overloaded."""
    lim = sys.line_max_mw
    return np.abs(line_flow) - lim[None, :] - 1e-6 * np.maximum(lim, 1.0)[None, :]


def _price_overloads(w: _Win, line_flow: np.ndarray, pi: np.ndarray) -> None:
    """Nodal prices, in place, where the repair left a line over its rating: each MW more
    flow over line ``l`` costs VOLL, as the dual of a line slack at VOLL would say (the
    repair's own duals there are those of its cost phase with the infeasibility fixed, blind
    to it). The bus whose injection relieves the line most keeps its price and every other
    bus loses VOLL per MW of flow its injection adds relative to that one (the PTDF's slack
    bus is arbitrary, so the anchor is the relieving bus, where the balance would close).
    This points the re-plans' flow oracle away from the overload: on the island toy the
    west store then charges more in the overloaded hour and less later."""
    sys = w.sys
    for t, l in zip(*np.nonzero(_line_excess(sys, line_flow) > 0.0)):
        push = np.sign(line_flow[t, l]) * sys.ptdf[l]  # flow added over the rating per MW injected
        pi[t] -= sys.voll * (push - push.min())


def _bus_injection(w: _Win, p, re_p, q, ch, dis, ex, shed, dr_net, dc_p=None) -> np.ndarray:
    """(n, B) net injection at each bus (``dr_net``: demand reduction minus rebound;
    ``dc_p`` (n, K): DC-link flows, withdrawn at ``dc_from``, injected at ``dc_to``)."""
    sys = w.sys
    f64 = np.ascontiguousarray
    dc = f64(dc_p, dtype=float) if dc_p is not None else np.zeros((w.n, sys.n_dc))
    return K.bus_injection(f64(shed, dtype=float), w.load, sys.th_bus, f64(p, dtype=float), sys.re_bus,
                           f64(re_p, dtype=float), sys.ex_bus, f64(ex, dtype=float), sys.hy_bus, sys.hy_k,
                           f64(q, dtype=float), sys.st_bus, f64(dis, dtype=float), f64(ch, dtype=float), sys.dr_bus,
                           f64(dr_net, dtype=float), sys.dc_from, sys.dc_to, dc)


def _dr_dispatch(w: _Win, need: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demand response covering the hours a schedule would shed load (primal recovery).

    Programmes cheapest first; each event lasts at most ``dr_max_dur`` hours (an idle hour
    between events), uses one of the events left this year, reduces at most ``dr_pmax`` and
    at most its bus load. The payback (``dr_payback_frac`` x reduced energy) is taken after
    the reduction at the cheapest hours (by ``price``) that are neither short nor active, at
    most ``dr_pmax`` an hour; energy that cannot be paid back in the window is not reduced.

    Returns ``dr_p``, ``dr_rebound`` (n, D) that pass :func:`dispatch.invariants.check_solution`.
    """
    sys = w.sys
    return DRK.dr_dispatch(
        np.asarray(need, float), np.asarray(w.load, float), np.asarray(w.dr_left, np.int64),
        np.lexsort((sys.dr_payback_frac, sys.dr_cost)).astype(np.int64),
        np.argsort(price, kind="stable").astype(np.int64), np.asarray(sys.dr_bus, np.int64),
        np.asarray(sys.dr_pmax, float), np.asarray(sys.dr_cost, float), np.asarray(sys.dr_max_dur, np.int64),
        np.asarray(sys.dr_payback_frac, float), float(sys.voll))


def _absorb_storage(w: _Win, surplus: np.ndarray, ch: np.ndarray, dis: np.ndarray, e: np.ndarray) -> None:
    """Absorb a surplus by discharging less, then charging more (in place).

    Within each unit's power limits and its energy headroom over all later hours (the
    stored energy rises from that hour on, decayed by self-discharge).
    """
    sys = w.sys
    n = w.n
    for t in np.nonzero(surplus > 1e-9)[0]:
        left = surplus[t]
        for u in range(sys.n_st):
            if left <= 1e-9:
                break
            decay = (1.0 - sys.st_loss[u]) ** np.arange(n - t)
            room = float(np.min((sys.st_emax[u] - e[t:, u]) / decay))  # MWh of stored energy
            if room <= 1e-9:
                continue
            a = min(dis[t, u], left, room * sys.st_eta_dis[u])
            dis[t, u] -= a
            left -= a
            room -= a / sys.st_eta_dis[u]
            b = max(min(sys.st_pch[u] - ch[t, u], left, room / sys.st_eta_ch[u]), 0.0)
            ch[t, u] += b
            left -= b
            e[t:, u] += (a / sys.st_eta_dis[u] + b * sys.st_eta_ch[u]) * decay
        surplus[t] = max(left, 0.0)


def _dr_for_shedding(w: _Win, shed: np.ndarray, dr_p: np.ndarray) -> np.ndarray:
    """Replace shedding left at a bus by demand response of that bus (in place on ``shed``).

    Only programmes without payback and not yet used in the window: the bus injection,
    and so every line flow, stays the same, and the cost falls by ``voll - dr_cost``.
    """
    sys = w.sys
    return DRK.dr_for_shedding(
        shed, dr_p, np.asarray(w.dr_left, np.int64), np.argsort(sys.dr_cost, kind="stable").astype(np.int64),
        np.asarray(sys.dr_bus, np.int64), np.asarray(sys.dr_pmax, float), np.asarray(sys.dr_cost, float),
        np.asarray(sys.dr_max_dur, np.int64), np.asarray(sys.dr_payback_frac, float), float(sys.voll))


def solve_window(sys: SystemArrays, t0: int, n: int, state: State, targets: HydroTargets | None,
                 options: NativeOptions | None = None) -> WindowSolution:
    """Solve hours ``t0 .. t0+n-1`` by Lagrangian relaxation and primal recovery.

    Parameters
    ----------
    sys : the system; state : the system before ``t0``; targets : end-of-window water.
    options : :class:`NativeOptions` (defaults if None).

    Returns
    -------
    WindowSolution
        ``objective`` = :func:`dispatch.costs.window_cost` of the schedule;
        ``lower_bound`` = best Lagrangian dual value (certified, see module doc).
    """
    opt = options or NativeOptions()
    tic = time.perf_counter()
    if t0 < 0 or n <= 0 or t0 + n > sys.n_hours:
        raise ValueError(f"native.solve_window: hours {t0}..{t0 + n - 1} outside 0..{sys.n_hours - 1}")
    w = _Win(sys, t0, n, state, targets, opt)
    best: WindowSolution | None = None

    best_x = None
    tried: list[tuple[WindowSolution, np.ndarray]] = []

    def primal(onb: np.ndarray, x0: np.ndarray, iters: int):
        nonlocal best, best_x
        x = _frank_wolfe(w, onb, x0, iters, opt)
        sol = _schedule(w, onb, x, targets, opt)
        tried.append((sol, x))
        if best is None or _better(sol, best):
            best, best_x = sol, x
        return sol, x, sol.price

    def pattern_start(pref: np.ndarray, force: np.ndarray, x0: np.ndarray, search: bool = True):
        """A commitment on where ``pref`` < 0 and off where > 0 as far as ``force`` and min
        up/down allow (the commitment program, start-up costs aside), scheduled, then
        searched (``search``). Returns the schedule of that commitment and its flows."""
        on_r, _v = _core.commit_dp(pref * 1e6, w.zeros_nG, force, sys.th_su_lag, np.zeros_like(sys.th_su_cost),
                                   sys.th_min_up, sys.th_min_down, w.th_init_on, w.th_init_h)
        sol_r, x_r, _p = primal(on_r.astype(bool), x0, opt.fw_iters_screen)
        on_ls = _search(w, sol_r.th_on, x0, opt) if search and opt.search_passes > 0 else None
        if on_ls is not None:
            primal(on_ls, x0, opt.fw_iters_screen)
        return sol_r, x_r

    def rounded_start(avg_on: np.ndarray, theta: float, x0: np.ndarray) -> None:
        """A search start: the average commitment ``avg_on`` rounded at ``theta``."""
        pattern_start(theta - avg_on, w.force, x0)

    # 1. everything that may run is on: a first schedule, its prices and an upper bound
    on_all = _commit(w, np.full(n, 1e9), w.zero_n, w.force)
    x_init, _ = w.flex(_initial_prices(w))
    sol0, x0, price0 = primal(on_all, x_init, opt.fw_iters_init)
    # 2. Lagrangian dual from those prices
    lb, lam, mu, eta, on, avg, avg_on = _lagrangian(w, opt, price0, best.objective)
    dual_best = (lam, mu, eta)  # (lam is re-blended below; the bound phase starts here)
    # 3. a priority-list commitment (robust where the dual commitment is bang-bang)
    force_pl = np.maximum(w.force, _priority_need(w, avg))
    primal(_commit(w, lam, mu, force_pl, eta), avg, opt.fw_iters_screen)
    # 4. commitments from the dual multipliers; units forced on where a schedule is short
    x = avg
    force = w.force.copy()
    seen = set()
    for rnd in range(max(1, opt.commit_rounds, opt.commit_rounds_max)):
        if rnd >= max(1, opt.commit_rounds) and _settled(best):
            break
        key = on.tobytes()
        if key not in seen:
            seen.add(key)
            sol, x, price = primal(on.astype(bool), x, opt.fw_iters_screen)
        else:
            sol = best
        short = (sol.shed.sum(axis=1) > 1e-6) | (sol.res_short > 1e-6)
        if sol.info["surplus_mw"] > 1e-6:
            force = _surplus_force(w, sol, force)
            surplus_h = sol.info["surplus_h"] > 1e-6
            lam = np.where(surplus_h, 0.5 * (lam + _price_clip(sys, sol.price)), lam)
        elif sol.info["overload_mw"] > 1e-6:
            force = _overload_force(w, sol, force)
        elif np.any(short):
            force = _repair_force(w, sol, short, force)
        else:
            # blend the dual prices with the recovered ones for one more try
            lam = 0.5 * (lam + _price_clip(sys, sol.price))
        on = _commit(w, lam, mu, force, eta)
    assert best is not None
    # 5. local search (dispatch model, flexible flows fixed) from the best commitment and
    # from the cheapest other one (the best may be the everything-on start where every
    # leaner candidate shed a little)
    thermal_share = float(best.th_p.sum()) / max(float(w.load_tot.sum()), 1e-9)
    if opt.search_passes > 0 and sys.n_th and thermal_share >= opt.search_min_thermal:
        pool = _distinct_starts(best, best_x, tried, opt.search_starts + max(opt.search_more_starts, 0))
        for k, (sol_s, x_s) in enumerate(pool):
            if k == opt.search_starts and _gap(best, lb) < opt.search_more_gap:
                break  # the further starts only where the dual says there is room
            on_ls = _search(w, sol_s.th_on, x_s, opt)
            if on_ls is not None:
                primal(on_ls, x_s, opt.fw_iters_screen)
        # kicks: drop a unit that starts in the window for all its free hours, search again
        # (only where the gap the dual proves is still wide)
        kicked = 0
        for g in w.prio[::-1] if _gap(best, lb) >= opt.search_more_gap else ():
            if kicked >= opt.search_kicks:
                break
            if not best.th_su[:, g].any():
                continue
            on_k = best.th_on.copy()
            on_k[:, g] = w.force[:, g] > 0
            if not LS.pattern_ok(on_k, g, w.th_init_on, w.th_init_h, sys.th_min_up, sys.th_min_down, w.force):
                continue
            kicked += 1
            on_ls = _search(w, on_k, best_x, opt)
            primal(on_k if on_ls is None else on_ls, best_x, opt.fw_iters_screen)
    # 5b. more starts: the dual commitments' average rounded at each threshold (min
    # up/down kept, start-up costs aside), then searched
    for theta in opt.lr_round if sys.n_th else ():
        rounded_start(avg_on, theta, avg)
    # 6. polish the best commitment's hydro/storage dispatch with more Frank-Wolfe steps
    if opt.fw_iters > opt.fw_iters_screen:
        primal(best.th_on, best_x, opt.fw_iters - opt.fw_iters_screen)
    # 7. re-plan the flexible flows against the network: decomposition on the network
    # surrogate (opt-in), then on the best schedule and the cheapest other commitments the
    # trust-region re-plan (net_tr_iters steps, more where gated) and repair-priced
    # Frank-Wolfe on the real schedule
    if sys.n_line and opt.dw_iters > 0:
        best, best_x = _net_decompose(w, best, best_x, targets, opt)
    gated = bool(sys.n_line and opt.net_tr_gate_iters > opt.net_tr_iters and opt.net_tr_gate > 0
                 and _tr_gate(best, opt.net_tr_gate))
    # the best start's re-plan: with the trust region first where the gate lets it
    opt0 = replace(opt, net_tr_iters=opt.net_tr_gate_iters) if gated else opt
    if sys.n_line and (opt.net_fw_iters > 0 or opt0.net_tr_iters > 0):
        obj0, tic_r, ev = best.objective, time.perf_counter(), 0
        # starts where a line needed repair (elsewhere one price everywhere: nothing to
        # re-plan for); the first re-plans in this window's bases, every other one in a
        # copy of them, in the task thread when there is one
        starts = [(sol_s, x_s) for sol_s, x_s in _distinct_starts(best, best_x, tried, opt.replan_starts)
                  if np.any(np.ptp(sol_s.info["pi"], axis=1) > 1e-9)]
        forks = [w] + [w.fork() for _ in starts[1:]]
        if w.threads > 1 and len(starts) > 1:
            fut = _pool("task").submit(lambda: [_replan(wk, *st, targets, opt) for wk, st in zip(forks[1:], starts[1:])])
            done = [_replan(w, *starts[0], targets, opt0)] + fut.result()
        else:
            done = [_replan(wk, *st, targets, opt0 if k == 0 else opt) for k, (wk, st) in enumerate(zip(forks, starts))]
        for sol_s, x_s, e in done:
            ev += e
            if _better(sol_s, best):
                best, best_x = sol_s, x_s
        if ev:
            best.info.update({"replan_evals": ev, "replan_gain": obj0 - best.objective,
                              "replan_s": time.perf_counter() - tic_r})
    if sys.n_line and opt.shed_tr_iters > opt.net_tr_iters and float(best.shed.sum()) > 1e-6:
        # load is still shed: the trust-region re-plan on the best schedule (the Frank-Wolfe
        # re-plan's far vertices miss pockets that the box's small steps serve)
        # (it keeps a step only where the schedule gets better, so its result is the one to keep)
        sol_t, best_x, e_t = _net_trust(w, best, best_x, targets, replace(opt, net_tr_iters=opt.shed_tr_iters),
                                        capped=True)
        best.info["shed_tr_evals"] = e_t
        best = _carry_info(sol_t, best)
    if sys.n_line and sys.n_st and _infeasibility(best) > 1e-6:
        # a line is still over its rating: shift storage charging between hours
        best, best_x = _storage_shift(w, best, best_x, targets, opt)
    if sys.n_line and sys.n_st and float(best.shed.sum()) > 1e-6:
        # load is still shed: more from the pocket's stores in those hours, less in others
        sol_r, best_x = _storage_relief(w, best, best_x, targets, opt)
        best = _carry_info(sol_r, best)
    force_sh = _shed_force(w, best) if sys.n_line and sys.n_th and float(best.shed.sum()) > 1e-6 else None
    if force_sh is not None:
        # still shed: the best commitment with the units of the shedding pocket on in those
        # hours (primal keeps it where it is better), then the stores' relief on it
        prev = best
        sol_p, x_p = pattern_start(np.where(best.th_on, -1.0, 1.0), force_sh, best_x, search=False)
        if float(sol_p.shed.sum()) > 1e-6 and sys.n_st:
            sol_q, x_q = _storage_relief(w, sol_p, x_p, targets, opt)
            if _better(sol_q, best):
                best, best_x = sol_q, x_q
        best = _carry_info(best, prev)
    if opt.lr_bound_iters > 0:  # a tighter bound: the best schedule as target, ramps kept
        lb_f, avg_on_f = _final_bound(w, opt, best.objective, dual_best)
        lb = max(lb, lb_f)
        for theta in opt.lr_bound_round if sys.n_th and _gap(best, lb) >= opt.search_more_gap else ():
            rounded_start(avg_on_f, theta, best_x)
    if opt.search_relink > 0 and sys.n_th and opt.search_passes > 0 and _gap(best, lb) >= opt.search_more_gap:
        # path relinking between the best schedule and the cheapest other local optima,
        # again from the new best after a round that gained
        searched: set = set()
        # a walk costs ~d^2/2 dispatches of the window: at most one search's work
        max_units = int(np.sqrt(2.0 * opt.search_work / max(w.n * sys.n_th, 1))) + 1
        for _round in range(max(1, opt.search_relink_rounds)):
            head, head_x = best, best_x
            for sol_g in _guides(head, tried, opt.search_relink, max_units):
                head_cost = np.inf
                for a, b in ((head.th_on, sol_g.th_on), (sol_g.th_on, head.th_on)):
                    on_r, cost_r, cost_a = _relink(w, a, b, head_x, opt)
                    if a is head.th_on:
                        head_cost = cost_a
                    # search from the path's best only where it is near the head (in the
                    # model's cost) and was not searched before (a walk repeated in a later
                    # round, from a head with the same commitment, is only redone)
                    far = cost_r > head_cost + opt.search_relink_slack * abs(head_cost)
                    if on_r is None or far or on_r.tobytes() in searched:
                        continue
                    searched.add(on_r.tobytes())
                    on_ls = _search(w, on_r, head_x, opt)
                    primal(on_r if on_ls is None else on_ls, head_x, opt.fw_iters_screen)
            if best.objective > head.objective - RELINK_MIN_GAIN * abs(head.objective):
                break  # another round only after a round that gained
    best.lower_bound = min(lb, best.objective)
    best.wall_s = time.perf_counter() - tic
    best.info.update({"engine": "native", "gap": _gap(best, lb), "tr_gated": gated})
    return best


def _tr_gate(sol: WindowSolution, share: float) -> bool:
    """The schedule dispatches demand response, or its nodal prices are apart (by more
    than 1 CNY/MWh: a line binds) in at least the share ``share`` of its hours."""
    apart = np.ptp(sol.info["pi"], axis=1) > 1.0
    return bool(float(sol.dr_p.sum()) > 1e-6 or apart.mean() >= share - 1e-9)


def _replan(w: _Win, sol: WindowSolution, x: np.ndarray, targets, opt: NativeOptions):
    """One start's network re-plan: the trust region, then Frank-Wolfe (each where on).
    Returns the schedule, its flows and the schedules evaluated."""
    ev = 0
    if opt.net_lp_iters > 0 and w.L:
        sol, x, e0 = _net_exact(w, sol, x, targets, opt)
        ev += e0
    if opt.net_tr_iters > 0:
        sol, x, e1 = _net_trust(w, sol, x, targets, opt)
        ev += e1
    if opt.net_fw_iters > 0:
        sol, x, e2 = _net_replan(w, sol, x, targets, opt)
        ev += e2
    return sol, x, ev


def _guides(head: WindowSolution, tried: list, k: int, max_units: int | None = None) -> list[WindowSolution]:
    """The ``k`` cheapest schedules of ``tried`` whose commitments differ from ``head``'s in
    two units or more (a path between them has a commitment strictly inside), in at most
    ``max_units`` (None: any number), and from each other."""
    out: list[WindowSolution] = []
    for c, _x in sorted(tried, key=lambda c: c[0].objective):
        if len(out) >= k:
            break
        units = int(np.any(c.th_on != head.th_on, axis=0).sum())
        if 2 <= units <= (max_units or units) and not any(np.array_equal(c.th_on, o.th_on) for o in out):
            out.append(c)
    return out


def _distinct_starts(best: WindowSolution, best_x: np.ndarray, tried: list, k: int) -> list:
    """``(schedule, flows)`` of the best candidate and the cheapest others whose commitments
    differ from those already taken, ``k`` in all (fewer if there are no more)."""
    starts = [(best, best_x)]
    for c in sorted(tried, key=lambda c: c[0].objective):
        if len(starts) >= k:
            break
        if not any(np.array_equal(c[0].th_on, s[0].th_on) for s in starts):
            starts.append(c)
    return starts


def _dispatch_model(w: _Win, x: np.ndarray, opt: NativeOptions) -> tuple:
    """The thermal dispatch model of :mod:`dispatch.localsearch` with the flexible flows ``x``
    fixed: the arguments from ``p0`` to ``rounds`` of its kernels (``dispatch_cost`` and the
    search and relinking built on it)."""
    sys = w.sys
    res_eff = _reserve_left(w, x)
    demand = w.load_tot + w.ex_max.sum(axis=1) - K.flex_injection(x, w.energy, w.hour, w.n)
    return (w.th_p0, sys.th_pmin, sys.th_pmax, sys.th_ramp_up, sys.th_ramp_down, sys.th_su_ramp, sys.th_sd_ramp,
            sys.th_cost_pmin, sys.th_seg_mw, sys.th_seg_cost, w.re_tot, float(sys.curtail_cost), w.ex_min, w.ex_max,
            sys.ex_price, w.load_tot, res_eff, float(sys.reserve_short_cost), float(sys.voll), demand, DUMP_COST,
            bool(sys.reserve_ramp_limited), w.prio, int(opt.ahead_rounds))


def _relink(w: _Win, on_a: np.ndarray, on_b: np.ndarray, x: np.ndarray, opt: NativeOptions):
    """The cheapest commitment on the relinking path from ``on_a`` to ``on_b``
    (:func:`dispatch.localsearch.relink`, flexible flows ``x`` fixed; None when the path
    has no commitment strictly between its ends), its model cost and that of ``on_a``."""
    sys = w.sys
    on, cost, cost_a = LS.relink(
        np.ascontiguousarray(on_a, dtype=np.bool_), np.ascontiguousarray(on_b, dtype=np.bool_), w.th_init_on,
        w.th_init_h, sys.th_su_lag, sys.th_su_cost, *_dispatch_model(w, x, opt))
    return (on if np.isfinite(cost) else None), cost, cost_a


def _search(w: _Win, on: np.ndarray, x: np.ndarray, opt: NativeOptions) -> np.ndarray | None:
    """The commitment ``on`` improved by :func:`dispatch.localsearch.commit_search` with the
    flexible flows ``x`` fixed, or None when no move improves it."""
    sys = w.sys
    # units that switch in the window first, then the rest; dearest first in each group
    switches = np.any(on[1:] != on[:-1], axis=0) | (on[0] != w.th_init_on)
    dear = w.prio[::-1]
    order = np.concatenate([dear[switches[dear]], dear[~switches[dear]]])
    on, _c0, _c1, moves, _evals = LS.commit_search(
        np.ascontiguousarray(on, dtype=np.bool_), w.force, w.th_init_on, w.th_init_h, sys.th_min_up,
        sys.th_min_down, sys.th_su_lag, sys.th_su_cost, *_dispatch_model(w, x, opt), int(opt.search_passes),
        int(opt.search_shift), int(opt.search_cover), int(opt.search_cover_units), order.astype(np.int64),
        int(opt.search_work // max(w.n * sys.n_th, 1)))
    return on if moves else None


def _carry_info(sol: WindowSolution, prev: WindowSolution) -> WindowSolution:
    """``sol`` with the ``info`` entries of ``prev`` (the best schedule it replaces: re-plan
    statistics) that it lacks; returns ``sol``."""
    if sol is not prev:
        sol.info.update({k: v for k, v in prev.info.items() if k not in sol.info})
    return sol


def _gap(sol: WindowSolution, lb: float) -> float:
    """The relative gap between a schedule's cost and a lower bound."""
    return (sol.objective - lb) / max(abs(sol.objective), 1.0)


def _settled(sol: WindowSolution | None) -> bool:
    """No line overload, no surplus, no load shed: no reason for more commitment rounds."""
    return sol is not None and _infeasibility(sol) <= 1e-6 and float(sol.shed.sum()) <= 1e-6


def _infeasibility(sol: WindowSolution) -> float:
    """MW-hours a candidate schedule breaks: line overload plus unabsorbed surplus."""
    return sol.info["overload_mw"] + sol.info["surplus_mw"]


def _better(a: WindowSolution, b: WindowSolution) -> bool:
    """Feasible (no line overload, no surplus left) first, then the lower objective."""
    ia, ib = _infeasibility(a), _infeasibility(b)
    if (ia > 1e-6) != (ib > 1e-6):
        return ib > 1e-6
    if ia > 1e-6 and abs(ia - ib) > 1e-6:
        return ia < ib
    return a.objective < b.objective


def _objective(w: _Win, sol: WindowSolution, targets, opt: NativeOptions) -> float:
    """:func:`dispatch.costs.window_cost` of the schedule, its start-up term remembered per
    commitment (the re-plans price ~40 schedules of one commitment each)."""
    key = np.ascontiguousarray(sol.th_on, dtype=bool).tobytes()
    su = w.su_memo.get(key)
    if su is None:
        if len(w.su_memo) >= 4096:
            w.su_memo.clear()
        su = w.su_memo[key] = float(startup_costs(w.sys, w.state, sol.th_on.astype(bool)).sum())
    return window_cost(w.sys, w.state, sol, targets, startup=su)


def _overload_force(w: _Win, sol: WindowSolution, force: np.ndarray) -> np.ndarray:
    """Force off, where the repair left a line overloaded, units whose output feeds it.

    Such hours have a surplus the network cannot carry that no redispatch within the
    committed units' minimum outputs removes; units pushing flow the wrong way go off.
    """
    sys = w.sys
    lm = sys.line_max_mw
    for t, l in zip(*np.nonzero(_line_excess(sys, sol.line_flow) > 0.0)):
        sg = 1.0 if sol.line_flow[t, l] > 0 else -1.0
        row = sg * sys.ptdf[l]
        sens = row[sys.th_bus] - row.min()  # relief per MW moved from the unit to the best-placed bus
        need = abs(sol.line_flow[t, l]) - lm[l]
        for g in np.argsort(-sens * sys.th_pmin, kind="stable"):
            if need <= 0 or sens[g] <= 1e-6:
                break
            if not sol.th_on[t, g] or w.force[t, g] > 0 or force[t, g] < 0:
                continue
            force[t, g] = -1
            need -= sens[g] * sys.th_pmin[g]
    return force


def _surplus_force(w: _Win, sol: WindowSolution, force: np.ndarray) -> np.ndarray:
    """Force off, in hours whose must-take output exceeds demand, the dearest free units on.

    Dearest by average cost at ``pmin``; enough of them that their ``pmin`` covers the
    surplus; each for the whole run of hours it is on around the surplus hour.
    """
    sys = w.sys
    avg = sys.th_cost_pmin / np.maximum(sys.th_pmin, 1e-9)
    for t in np.nonzero(sol.info["surplus_h"] > 1e-6)[0]:
        left = sol.info["surplus_h"][t]
        for g in np.argsort(-avg, kind="stable"):
            if left <= 0:
                break
            if not sol.th_on[t, g] or w.force[t, g] > 0 or force[t, g] < 0 or sys.th_pmin[g] <= 0:
                continue
            # off for the whole run of hours it is on around t (an hour alone moves the surplus)
            a, b = t, t
            while a > 0 and sol.th_on[a - 1, g] and w.force[a - 1, g] <= 0:
                a -= 1
            while b < w.n - 1 and sol.th_on[b + 1, g] and w.force[b + 1, g] <= 0:
                b += 1
            force[a:b + 1, g] = -1
            left -= sys.th_pmin[g]
    return force


def _shed_force(w: _Win, sol: WindowSolution) -> np.ndarray | None:
    """``w.force`` with, in each hour where ``sol`` sheds load, units of the shedding pocket
    forced on: units off then whose bus price in the repair is at least half the shedding
    bus's (an MW there serves the pocket), cheapest (average cost at ``pmax``) first, until
    their ``pmax`` covers the hour's shedding. None when no such unit is free."""
    sys = w.sys
    force = w.force.copy()
    avg = _avg_cost_at_pmax(sys)
    pi = sol.info["pi"]
    added = False
    for t in np.nonzero(sol.shed.sum(axis=1) > 1e-6)[0]:
        left = float(sol.shed[t].sum())
        p_b = pi[t, int(np.argmax(sol.shed[t]))]
        for g in np.argsort(avg, kind="stable"):
            if left <= 0:
                break
            if sol.th_on[t, g] or force[t, g] != 0 or pi[t, sys.th_bus[g]] < 0.5 * p_b:
                continue
            if not w.th_init_on[g] and t < sys.th_min_down[g] - w.th_init_h[g]:
                continue  # still within its minimum down time from before the window
            force[t, g] = 1
            left -= sys.th_pmax[g]
            added = True
    return force if added else None


def _avg_cost_at_pmax(sys: SystemArrays) -> np.ndarray:
    """(G,) average cost per MWh of each thermal unit at full output: the priority order."""
    return (sys.th_cost_pmin + (sys.th_seg_mw * sys.th_seg_cost).sum(axis=1)) / np.maximum(sys.th_pmax, 1e-9)


def _priority_need(w: _Win, flow: np.ndarray) -> np.ndarray:
    """(n, G) int8: 1 where a unit is needed by a priority list (cheapest average cost at
    ``pmax`` first) to cover the load left after renewables and the flexible units' flow,
    plus exports at their minimum and the reserve requirement."""
    sys = w.sys
    n, G = w.n, sys.n_th
    y = K.flex_injection(flow, w.energy, w.hour, n)
    net = np.maximum(w.load_tot + w.ex_min.sum(axis=1) - w.re_tot - y, 0.0) + w.reserve
    avg = _avg_cost_at_pmax(sys)
    need = np.zeros((n, G), np.int8)
    cap = (w.force > 0) @ sys.th_pmax
    for g in np.argsort(avg, kind="stable"):
        short = (cap < net) & (w.force[:, g] == 0)
        if not short.any():
            continue
        need[short, g] = 1
        cap = cap + short * sys.th_pmax[g]
    return need


def _repair_force(w: _Win, sol: WindowSolution, short: np.ndarray, force: np.ndarray) -> np.ndarray:
    """Force on, in the short hours, the cheapest (average cost at pmax) free units that are off.

    Not network-aware on purpose (measured): ranking the units closest to the shedding
    bus first (PTDF columns) gained 6.6e6 CNY on the 12 sichuan-2030 milp windows but cost
    the year 272e6 CNY (-28.787 -> -28.515 bn; single runs of a year whose total moves by
    up to ~0.5 % with near-exact changes, so at best no gain)."""
    sys = w.sys
    avg = _avg_cost_at_pmax(sys)
    need = sol.shed.sum(axis=1) + sol.res_short
    # what a unit switched on adds: pmax, or where reserve is ramp-limited (PGLib) the most
    # it can produce in its start-up hour (its reserve there is nil; its output frees others')
    gain = np.clip(sys.th_su_ramp, sys.th_pmin, sys.th_pmax) if sys.reserve_ramp_limited else sys.th_pmax
    for t in np.nonzero(short)[0]:
        left = need[t]
        for g in np.argsort(avg):
            if left <= 0:
                break
            if sol.th_on[t, g] or force[t, g] < 0:
                continue
            force[t, g] = 1
            left -= gain[g]
    return force


__all__ = ["NativeOptions", "solve_window"]
