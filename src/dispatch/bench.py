"""``dispatch bench``: native against the exact MILP on the same windows, as a table.

The benchmark suite proper lives in ``benches/`` (pytest-benchmark); this command is the
analyst's quick look: for a few windows spread over the year it solves each window with
both engines from the same state and targets, checks both schedules with the invariant
checker, and prints engine, window, hours, wall time, cost, gap to the MILP and speed-up.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def compare_windows(
    case: str = "sichuan-2030",
    hydrology: str = "normal",
    starts: list[str] | None = None,
    hours: int = 48,
    milp_gap: float = 1e-4,
    time_limit_s: float = 120.0,
) -> list[dict[str, Any]]:
    """Solve the same windows with both engines; one row per window.

    Parameters
    ----------
    case, hydrology : the case to load.
    starts : window start dates (default: one in each quarter).
    hours : window length.
    milp_gap, time_limit_s : MILP options.
    """
    from .arrays import initial_state
    from .case import load_case
    from .engines import get_engine
    from .invariants import check_solution
    from .milp import MilpOptions
    from .simulate import _plan, hour_index, state_at

    sys_ = load_case(case, hydrology=hydrology).to_arrays()
    year = str(sys_.timestamps[0])[:4]
    starts = starts or [f"{year}-01-15", f"{year}-04-15", f"{year}-07-15", f"{year}-10-15"]
    native, milp = get_engine("native"), get_engine("milp")
    state = initial_state(sys_)
    plan = _plan(sys_, state, 0, sys_.n_hours, 0)
    rows = []
    # warm the JIT once so compile time is not counted
    t = time.perf_counter()
    native.solve_window(sys_, 0, hours, state, plan.targets(hours) if plan else None, None)
    compile_s = time.perf_counter() - t
    for s in starts:
        t0 = hour_index(sys_, s)
        n = min(hours, sys_.n_hours - t0)
        targets = plan.targets(t0 + n) if plan else None
        st = state_at(plan, state, t0)
        t = time.perf_counter()
        a = native.solve_window(sys_, t0, n, st, targets, None)
        wn = time.perf_counter() - t
        t = time.perf_counter()
        b = milp.solve_window(sys_, t0, n, st, targets, MilpOptions(mip_rel_gap=milp_gap, time_limit_s=time_limit_s))
        wm = time.perf_counter() - t
        rows.append(
            {
                "window": s,
                "hours": n,
                "native_s": wn,
                "milp_s": wm,
                "native_cost": a.objective,
                "milp_cost": b.objective,
                "milp_bound": b.lower_bound,
                "native_bound": a.lower_bound,
                "gap_to_milp_pct": 100.0 * (a.objective - b.objective) / abs(b.objective),
                "speedup": wm / max(wn, 1e-9),
                "native_violations": len(check_solution(sys_, st, a, targets)),
                "milp_violations": len(check_solution(sys_, st, b, targets)),
                "jit_warmup_s": compile_s,
            }
        )
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    head = f"{'window':<12}{'h':>4}{'native s':>10}{'milp s':>10}{'native cost':>16}{'milp cost':>16}{'gap %':>8}{'speed-up':>10}{'viol n/m':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['window']:<12}{r['hours']:>4}{r['native_s']:>10.3f}{r['milp_s']:>10.2f}"
            f"{r['native_cost']:>16,.0f}{r['milp_cost']:>16,.0f}{r['gap_to_milp_pct']:>8.3f}"
            f"{r['speedup']:>10.0f}{r['native_violations']:>5}/{r['milp_violations']}"
        )
    if rows:
        lines.append(f"(native JIT warm-up, not counted above: {rows[0]['jit_warmup_s']:.2f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dispatch bench", description=__doc__.splitlines()[0])
    p.add_argument("--case", default="sichuan-2030")
    p.add_argument("--hydrology", default="normal")
    p.add_argument("--hours", type=int, default=48)
    p.add_argument("--start", action="append", help="window start date (repeatable)")
    p.add_argument("--time-limit", type=float, default=120.0)
    a = p.parse_args(argv)
    rows = compare_windows(a.case, a.hydrology, a.start, a.hours, time_limit_s=a.time_limit)
    print(format_rows(rows))
    return 0
