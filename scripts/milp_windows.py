"""Exact MILP reference on fixed 48 h windows of sichuan-2030 (with the PTDF network).

Two modes:

``windows`` (default)
    Solves 12 fixed windows (hydrology x start hour) with :func:`dispatch.milp.solve_window`
    and appends one record per window to ``benches/milp_windows.json`` (resumable: a window
    already in the file is skipped unless ``--redo``). Each window is rebuilt by the recipe::

        sys   = dispatch.load_case("sichuan-2030", hydrology=h).to_arrays()
        st0   = dispatch.arrays.initial_state(sys)
        plan  = dispatch.hydro.plan_hydro(sys, st0)
        state = dispatch.simulate.state_at(plan, st0, t0)
        tg    = plan.targets(t0 + n)

    and the record stores a SHA-256 of the state's and the targets' arrays so another
    engine can check it solves the very same window (:func:`window_inputs`,
    :func:`state_sha`).

``rolling``
    A rolling-horizon milp run (what ``dispatch run CASE --engine milp`` does: 24 h kept +
    24 h look-ahead, reservoir volumes from the plan from hour 0) through
    :func:`dispatch.simulate`, with every window's full solution checked by
    :func:`dispatch.invariants.check_solution` as it is solved; writes the result directory
    (as ``dispatch run --out``) and ``rolling.json`` there with per-window figures.

Usage::

    .venv/bin/python scripts/milp_windows.py                       # the 12 windows
    .venv/bin/python scripts/milp_windows.py --only normal:4800     # one window
    .venv/bin/python scripts/milp_windows.py rolling --start 2030-07-01 --rolling-hours 168 --out /tmp/milp7d
    .venv/bin/python scripts/milp_windows.py table                  # Markdown table of the records
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys as _sys
import time
import types
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

import dispatch
import dispatch.engines
from dispatch.arrays import HydroTargets, State, SystemArrays, initial_state
from dispatch.hydro import HydroPlan, plan_hydro
from dispatch.invariants import check_solution
from dispatch.milp import MilpOptions, solve_window
from dispatch.simulate import simulate, state_at

ROOT = Path(__file__).resolve().parents[1]
CASE = "sichuan-2030"
HYDROLOGIES = ("normal", "dry", "wet", "drought-2022")
# hour 500: 21 Jan (winter, low flow); 4800: 19 Jul (flood season); 7600: 13 Nov (autumn drawdown)
STARTS = (500, 4800, 7600)
N_HOURS = 48
DEFAULT_JSON = ROOT / "benches" / "milp_windows.json"


def _git_rev() -> str:
    """The commit of the code this process imported (read once, at start), '+dirty' if
    ``src/dispatch`` differed from it."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src/dispatch"], cwd=ROOT).returncode
    except OSError:
        return "?"
    return rev + ("+dirty" if dirty else "")


GIT_REV = _git_rev()


def _sha(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def state_sha(state: State) -> str:
    """SHA-256 (16 hex) of every array of a :class:`State`, in field order."""
    return _sha([np.asarray(getattr(state, f.name)) for f in fields(State)])


def targets_sha(tg: HydroTargets | None) -> str | None:
    """SHA-256 (16 hex) of every array of a :class:`HydroTargets`."""
    if tg is None:
        return None
    return _sha([np.asarray(getattr(tg, f.name)) for f in fields(tg)])


_CACHE: dict[str, tuple[SystemArrays, State, HydroPlan]] = {}


def case_inputs(hydrology: str) -> tuple[SystemArrays, State, HydroPlan]:
    """System arrays, initial state and the year's hydro plan for one hydrology (cached)."""
    if hydrology not in _CACHE:
        s = dispatch.load_case(CASE, hydrology=hydrology).to_arrays()
        st0 = initial_state(s)
        _CACHE.clear()  # one hydrology in memory at a time
        _CACHE[hydrology] = (s, st0, plan_hydro(s, st0))
    return _CACHE[hydrology]


def window_inputs(hydrology: str, t0: int, n: int = N_HOURS) -> tuple[SystemArrays, State, HydroTargets]:
    """The system, state and targets of a reference window (the recipe in the module doc)."""
    s, st0, plan = case_inputs(hydrology)
    return s, state_at(plan, st0, t0), plan.targets(t0 + n)


def _key(rec: dict[str, Any]) -> tuple[str, str, int, int]:
    return (rec["case"], rec["hydrology"], int(rec["t0"]), int(rec["n"]))


def _load(path: Path) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text())
    return {"description": "exact MILP reference windows; see scripts/milp_windows.py and benches/MILP_REFERENCE.md", "records": []}


def _save(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def _options(args: argparse.Namespace) -> MilpOptions:
    return MilpOptions(mip_rel_gap=args.gap, time_limit_s=args.time_limit, threads=args.threads,
                       warm_start=args.warm_start)


def _sol_figures(s: SystemArrays, sol: Any) -> dict[str, Any]:
    avail = np.maximum(s.re_avail_mw[sol.t0 : sol.t0 + sol.n], 0.0)
    return {
        "shed_mwh": float(np.sum(sol.shed)),
        "curtailed_mwh": float(np.maximum(avail - sol.re_p, 0.0).sum()),
        "res_short_mwh": float(np.sum(sol.res_short)),
        "startups": int(np.sum(sol.th_su)),
        "max_line_loading": float(np.max(np.abs(sol.line_flow) / s.line_max_mw[None])) if s.n_line else None,
    }


def _info(sol: Any) -> dict[str, Any]:
    keep = {}
    for k, v in (sol.info or {}).items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            keep[k] = v
        elif isinstance(v, list):
            keep[k] = [float(x) for x in v]
    return keep


def solve_one(hydrology: str, t0: int, n: int, opt: MilpOptions) -> dict[str, Any]:
    """Solve one reference window and return its record."""
    s, st, tg = window_inputs(hydrology, t0, n)
    rec: dict[str, Any] = {
        "case": CASE, "hydrology": hydrology, "t0": t0, "n": n, "start": str(s.timestamps[t0]),
        "state_sha": state_sha(st), "targets_sha": targets_sha(tg),
        "options": {k: (dict(v) if k == "highs_options" else v) for k, v in asdict(opt).items()},
    }
    t = time.perf_counter()
    try:
        sol = solve_window(s, t0, n, st, tg, opt)
    except Exception as exc:  # record it and go on with the other windows
        rec.update(status="error", error=f"{type(exc).__name__}: {exc}", wall_s=time.perf_counter() - t)
        return rec
    wall = time.perf_counter() - t
    viol = check_solution(s, st, sol, tg)
    obj, lb = float(sol.objective), float(sol.lower_bound)
    rec.update(
        status=str(sol.info.get("mip_status")),
        objective=obj,
        lower_bound=lb,
        mip_objective=float(sol.info["mip_objective"]),
        gap_pct=100.0 * (obj - lb) / max(abs(obj), 1e-9),
        wall_s=wall,
        warm_start=opt.warm_start,
        warm_start_objective=sol.info.get("warm_start_objective"),
        violations=len(viol),
        violation_lines=viol[:10],
        **_sol_figures(s, sol),
        info=_info(sol),
    )
    return rec


def cmd_windows(args: argparse.Namespace) -> int:
    path = Path(args.json)
    data = _load(path)
    have = {_key(r): i for i, r in enumerate(data["records"])}
    todo = [(h, t0) for h in HYDROLOGIES for t0 in STARTS]
    if args.only:
        todo = [(h, int(t)) for h, t in (x.rsplit(":", 1) for x in args.only)]
    opt = _options(args)
    for h, t0 in todo:
        k = (CASE, h, t0, args.hours)
        if k in have and not args.redo:
            print(f"skip {h} t0={t0} (in {path.name})", flush=True)
            continue
        print(f"solve {h} t0={t0} n={args.hours} ...", flush=True)
        rec = solve_one(h, t0, args.hours, opt)
        rec["git"] = GIT_REV
        rec["host"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
        if args.dry:
            print(json.dumps(rec, indent=1))
            continue
        data = _load(path)  # re-read: another writer may have added records
        recs = [r for r in data["records"] if _key(r) != k] + [rec]
        recs.sort(key=lambda r: (HYDROLOGIES.index(r["hydrology"]) if r["hydrology"] in HYDROLOGIES else 99, r["t0"], r["n"]))
        data["records"] = recs
        _save(path, data)
        print(
            f"  {rec['status']}: obj {rec.get('objective', float('nan')):.6g} bound {rec.get('lower_bound', float('nan')):.6g} "
            f"gap {rec.get('gap_pct', float('nan')):.3f}% wall {rec['wall_s']:.1f}s violations {rec.get('violations')} "
            f"{rec.get('error', '')}",
            flush=True,
        )
    return 0


def cmd_rolling(args: argparse.Namespace) -> int:
    opt = _options(args)
    windows: list[dict[str, Any]] = []
    case = dispatch.load_case(CASE if args.case is None else args.case, hydrology=args.hydrology)
    sysa = case.to_arrays()

    # an engine module that solves with milp and checks every full window as it goes
    def checked(s: SystemArrays, t0: int, n: int, state: State, targets: HydroTargets | None, options: Any = None):
        t = time.perf_counter()
        sol = solve_window(s, t0, n, state, targets, options)
        wall = time.perf_counter() - t
        viol = check_solution(s, state, sol, targets)
        rec = {
            "t0": t0, "n": n, "objective": float(sol.objective), "lower_bound": float(sol.lower_bound),
            "gap_pct": 100.0 * (sol.objective - sol.lower_bound) / max(abs(sol.objective), 1e-9),
            "wall_s": wall, "violations": len(viol), "violation_lines": viol[:10],
            **_sol_figures(s, sol), "info": _info(sol),
        }
        windows.append(rec)
        print(f"  window t0={t0}: gap {rec['gap_pct']:.3f}% wall {wall:.1f}s violations {len(viol)}", flush=True)
        return sol

    mod = types.ModuleType("milp_checked")
    mod.solve_window = checked  # type: ignore[attr-defined]
    _sys.modules["milp_checked"] = mod
    dispatch.engines.ENGINES["milp_checked"] = "milp_checked"
    t = time.perf_counter()
    res = simulate(
        sysa, engine="milp_checked", start=args.start, hours=args.rolling_hours, window_h=args.window_h,
        lookahead_h=args.lookahead_h, options=opt, progress=False,
    )
    wall = time.perf_counter() - t
    out = res.write(args.out)
    sm = res.summary
    rep = {
        "case": sysa.name, "hydrology": args.hydrology, "start": args.start, "hours": args.rolling_hours,
        "window_h": args.window_h, "lookahead_h": args.lookahead_h,
        "options": {k: (dict(v) if k == "highs_options" else v) for k, v in asdict(opt).items()},
        "wall_s": wall, "total_cost": sm["total_cost"], "production_cost": sm["production_cost"],
        "max_balance_violation_mw": sm["max_balance_violation_mw"], "unserved_mwh": sm["unserved_mwh"],
        "curtailment_mwh": sm["curtailment_mwh"], "window_gap_max_pct": sm["window_gap_max_pct"],
        "max_line_loading": sm["max_line_loading"], "violations_total": sum(w["violations"] for w in windows),
        "git": GIT_REV, "windows": windows,
    }
    (out / "rolling.json").write_text(json.dumps(rep, indent=1, default=float) + "\n")
    print(res.table())
    print(f"wall {wall:.1f}s; invariant violations over all windows: {rep['violations_total']}; wrote {out}/")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    """Print the recorded windows as a Markdown table."""
    data = _load(Path(args.json))
    print("| hydrology | t0 | start | objective | lower bound | gap % | wall s | status | violations | shed MWh | curtailed MWh | MIP rounds | lines | MIP start |")
    print("|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in data["records"]:
        if r.get("status") == "error":
            print(f"| {r['hydrology']} | {r['t0']} | {r['start']} | - | - | - | {r['wall_s']:.0f} | error: {r['error'][:60]} | - | - | - | - | - | - |")
            continue
        i = r.get("info", {})
        print(
            f"| {r['hydrology']} | {r['t0']} | {r['start'][:13]} | {r['objective']:.6e} | {r['lower_bound']:.6e} | "
            f"{r['gap_pct']:.3f} | {r['wall_s']:.0f} | {r['status']} | {r['violations']} | {r['shed_mwh']:.0f} | "
            f"{r['curtailed_mwh']:.0f} | {i.get('mip_rounds', '')} | {i.get('lines_enforced', '')} | {r.get('warm_start') or '-'} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", default="windows", choices=["windows", "rolling", "table"])
    p.add_argument("--json", default=str(DEFAULT_JSON), help="record file (windows mode)")
    p.add_argument("--only", nargs="*", metavar="HYDROLOGY:T0", help="solve only these windows")
    p.add_argument("--redo", action="store_true", help="re-solve windows already recorded")
    p.add_argument("--dry", action="store_true", help="print records instead of writing them")
    p.add_argument("--hours", type=int, default=N_HOURS, help="window length (windows mode)")
    p.add_argument("--gap", type=float, default=1e-3, help="mip_rel_gap")
    p.add_argument("--time-limit", type=float, default=400.0, help="seconds per window (all HiGHS runs)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warm-start", default=None, choices=["native"],
                   help="first incumbent: the native engine's schedule re-dispatched (MilpOptions.warm_start)")
    p.add_argument("--case", default=None)
    p.add_argument("--hydrology", default="normal", help="rolling mode")
    p.add_argument("--start", default="2030-07-01", help="rolling mode: first day")
    p.add_argument("--rolling-hours", type=int, default=168)
    p.add_argument("--window-h", type=int, default=24)
    p.add_argument("--lookahead-h", type=int, default=24)
    p.add_argument("--out", default="/tmp/milp7d")
    args = p.parse_args(argv)
    return {"rolling": cmd_rolling, "table": cmd_table}.get(args.mode, cmd_windows)(args)


if __name__ == "__main__":
    raise SystemExit(main())
