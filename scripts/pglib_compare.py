"""Solve PGLib-UC instances with a dispatch engine and compare with REFERENCE.csv.

Writes a markdown table (default ``benches/PGLIB.md``): per instance our objective, our
proven lower bound, wall time, the reference best-known objective and bound, and where
ours falls relative to the reference bracket ``[best_known_bound, best_known_objective]``.

Usage::

    python scripts/pglib_compare.py [--engine milp] [--time-limit 300] [--jobs 1]
        [--pattern 'rts_gmlc/*.json'] [--out benches/PGLIB.md] [--threads 1]

With ``--rts`` it instead solves the 12 ``rts_gmlc`` days from our own RTS-GMLC case
(``dispatch.load_case("rts-gmlc")``, network switched off) with the milp engine along a
chain of runs that moves one convention at a time from PGLib's model to ours
(:data:`RTS_STEPS`), and writes ``networks/rts-gmlc/PGLIB_CHECK.md``: ours vs the
reference, the decomposition of the difference, and an input-data check per day::

    python scripts/pglib_compare.py --rts --time-limit 300 --gap 1e-3 --threads 1 \
        [--steps ours,pglib,own,reserve,ramp60] [--days 2020-07-06] [--json /tmp/pglib_rts.jsonl]
    python scripts/pglib_compare.py --rts --report-only     # rewrite the markdown from the JSON lines
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any


def _one(args: tuple[str, str, float | None, int | None, float]) -> dict[str, Any]:
    path, engine, limit, threads, gap = args
    from dispatch.pglib import read_pglib, solve_pglib

    opts = None
    if engine == "milp":
        from dispatch.milp import MilpOptions

        opts = MilpOptions(time_limit_s=limit, threads=threads, mip_rel_gap=gap)
    t = time.perf_counter()
    try:
        s = solve_pglib(path, engine=engine, options=opts, time_limit_s=limit)
        err = None
    except Exception as exc:  # noqa: BLE001 - reported in the table
        s, err = {}, f"{type(exc).__name__}: {exc}"
    sys = read_pglib(path).to_arrays()
    return {
        "instance": read_pglib(path).meta["instance"],
        "units": sys.n_th,
        "objective": s.get("total_cost"),
        "bound": s.get("lower_bound"),
        "wall_s": s.get("wall_s", time.perf_counter() - t),
        "ref_obj": s.get("reference_objective"),
        "ref_bound": s.get("reference_bound"),
        "ref_gap_pct": s.get("reference_gap_pct"),
        "diff_pct": s.get("gap_to_reference_pct"),
        "shed_mwh": s.get("unserved_mwh"),
        "res_short_mwh": s.get("reserve_short_mwh"),
        "error": err,
    }


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", default="milp")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds per instance (milp: a hit limit returns the incumbent with its bound)")
    ap.add_argument("--gap", type=float, default=None, help="relative MIP gap (milp; default 1e-4, --rts 1e-3)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--pattern", action="append", default=None)
    ap.add_argument("--dir", default=os.environ.get("DISPATCH_PGLIB_DIR", "/work/shared/benchmarks/pglib-uc"))
    ap.add_argument("--out", default=None, help="markdown output (default benches/PGLIB.md; --rts: "
                    "networks/rts-gmlc/PGLIB_CHECK.md)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON here (--rts: the JSON-lines file "
                    "results are appended to and resumed from; default /tmp/pglib_rts.jsonl)")
    ap.add_argument("--rts", action="store_true",
                    help="instead: solve the rts_gmlc days from the RTS-GMLC case (copper plate) along the "
                    "decomposition chain RTS_STEPS and compare with REFERENCE.csv")
    ap.add_argument("--steps", default=None, help="--rts: comma-separated chain steps to solve (default all: "
                    "pglib,reserve,ramp60,own,ours), solved step by step over all days")
    ap.add_argument("--days", default=None, help="--rts: comma-separated dates (default all 12)")
    ap.add_argument("--report-only", action="store_true", help="--rts: no solves, rewrite the markdown from --json")
    ap.add_argument("--rerun", action="store_true", help="--rts: solve (day, step) pairs already in --json again")
    args = ap.parse_args()
    if args.rts:
        args.gap = 1e-3 if args.gap is None else args.gap
        args.out = args.out or "networks/rts-gmlc/PGLIB_CHECK.md"
        return _rts_main(args)
    args.gap = 1e-4 if args.gap is None else args.gap
    args.out = args.out or "benches/PGLIB.md"
    pats = args.pattern or ["rts_gmlc/*.json"]
    files = sorted({f for p in pats for f in glob.glob(os.path.join(args.dir, p))})
    work = [(f, args.engine, args.time_limit, args.threads, args.gap) for f in files]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            rows = list(ex.map(_one, work))
    else:
        rows = [_one(w) for w in work]
    lines = [
        f"# PGLib-UC: `{args.engine}` engine vs REFERENCE.csv",
        "",
        f"Generated by `scripts/pglib_compare.py --engine {args.engine} --time-limit {args.time_limit} --gap {args.gap:g} "
        f"--threads {args.threads} --jobs {args.jobs}` on {platform.node() or 'host'} "
        f"({os.cpu_count()} CPUs), {time.strftime('%Y-%m-%d')}. Objective in $; `diff` = 100 (ours - ref) / ref; "
        "`bracket`: ours inside [ref bound, ref objective] (`in`), below the reference bound (`below`: "
        "only possible where our model is looser), or above the reference objective (`above`); `0.1 %`: |diff| <= 0.1.",
        "",
        "| instance | units | ours | our bound | wall s | ref objective | ref bound | ref gap % | diff % | bracket | 0.1 % | shed MWh | res short MWh |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        if r["error"]:
            lines.append(f"| {r['instance']} | {r['units']} | error: {r['error'][:80]} ||||||||||")
            continue
        br = "-"
        close = "-" if r["diff_pct"] is None else ("yes" if abs(r["diff_pct"]) <= 0.1 else "no")
        if r["ref_obj"] is not None and r["objective"] is not None:
            tol = 1e-6 * r["ref_obj"]
            br = "below" if r["objective"] < r["ref_bound"] - tol else ("above" if r["objective"] > r["ref_obj"] + tol else "in")
        lines.append(
            f"| {r['instance']} | {r['units']} | {_fmt(r['objective'])} | {_fmt(r['bound'])} | {_fmt(r['wall_s'], 1)} | "
            f"{_fmt(r['ref_obj'])} | {_fmt(r['ref_bound'])} | {_fmt(r['ref_gap_pct'], 3)} | {_fmt(r['diff_pct'], 4)} | {br} | {close} | "
            f"{_fmt(r['shed_mwh'], 1)} | {_fmt(r['res_short_mwh'], 1)} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print("\n".join(lines))


# ---------------------------------------------------------------------------------------
# --rts: the PGLib-UC rts_gmlc days solved from our own RTS-GMLC case (copper plate)
# ---------------------------------------------------------------------------------------
#: The decomposition chain. Each step changes ONE thing relative to the step before, from
#: PGLib's model of the day ("pglib") to our case's own model of it ("ours"), so the
#: difference between consecutive objectives is the value of that one change.
RTS_STEPS: dict[str, dict[str, Any]] = {
    "pglib": {"label": "PGLib conventions: ramps x20 min, hydro + rooftop PV fixed, no CSP, no battery, "
                       "per-unit ramp-limited reserve, PGLib initial state",
              "ramp_minutes": 20.0, "must_take_fixed": True, "csp": False, "storage": False,
              "unit_reserve": True, "state": "pglib"},
    "reserve": {"label": "our reserve model (system headroom sum(pmax u - p) + storage, not ramp-limited)",
                "ramp_minutes": 20.0, "must_take_fixed": True, "csp": False, "storage": False,
                "unit_reserve": False, "state": "pglib"},
    "ramp60": {"label": "our ramp rates (Ramp Rate MW/min x 60)",
               "ramp_minutes": 60.0, "must_take_fixed": True, "csp": False, "storage": False,
               "unit_reserve": False, "state": "pglib"},
    "own": {"label": "our resources: hydro + rooftop PV curtailable, CSP 212_CSP_1 + store, battery",
            "ramp_minutes": 60.0, "must_take_fixed": False, "csp": True, "storage": True,
            "unit_reserve": False, "state": "pglib"},
    "ours": {"label": "our initial state (the case's neutral state: nuclear on, all else off and cold), "
                      "i.e. the RTS-GMLC case as shipped, copper plate",
             "ramp_minutes": 60.0, "must_take_fixed": False, "csp": True, "storage": True,
             "unit_reserve": False, "state": "ours"},
}
STEP_CAUSE = {"pglib": "residual (MIP gaps)", "reserve": "reserve model", "ramp60": "ramp rates",
              "own": "hydro/RTPV curtailment, CSP, battery", "ours": "initial state"}
RTS_YEAR_START = "2020-01-01T00"


def rts_hour_index(day: str) -> int:
    """RTS-GMLC hour index of 00:00 on ``day`` (``"2020-07-06"``): hour 0 = 2020-01-01 00:00.

    2020 is a leap year, so March and later are one day (24 h) later than in 2019.
    """
    import numpy as np

    return int((np.datetime64(day + "T00", "h") - np.datetime64(RTS_YEAR_START, "h")).astype(int))


_CASE: Any = None


def _rts_case() -> Any:
    global _CASE
    if _CASE is None:
        from dispatch.rts import load_rts_case

        _CASE = load_rts_case()
    return _CASE


def rts_day(case: Any, pglib_json: str | os.PathLike[str], step: str) -> tuple[Any, int, Any]:
    """``(sys, t0, state)``: our copper-plate RTS-GMLC arrays for one PGLib day at one chain step.

    The network is switched off (``ptdf`` 0 x B, no lines); load shedding and reserve
    shortfall cost 1e6 $/MWh (PGLib has them as hard constraints). ``state`` is PGLib's
    initial state (``dispatch.rts.pglib_day``) or the case's own (``sys.init``).
    """
    import numpy as np

    from dispatch.rts import pglib_day, rts_to_arrays

    cfg = RTS_STEPS[step]
    sys = rts_to_arrays(case, network=True, ramp_minutes=cfg["ramp_minutes"], must_take_fixed=cfg["must_take_fixed"],
                        csp=cfg["csp"], storage=cfg["storage"])
    sys = sys.with_(ptdf=np.zeros((0, sys.n_bus)), line_names=(), line_max_mw=np.zeros(0),
                    voll=1e6, reserve_short_cost=1e6, reserve_ramp_limited=bool(cfg["unit_reserve"]))
    t0 = rts_hour_index(Path(pglib_json).stem)
    if sys.timestamps[t0] != np.datetime64(Path(pglib_json).stem + "T00", "h"):
        raise ValueError(f"hour {t0} is {sys.timestamps[t0]}, not {Path(pglib_json).stem}")
    if cfg["state"] == "pglib":
        # pglib_day's state (PGLib's unit_on_t0, time_*_t0, power_output_t0) for arrays with
        # the same storage set as ours here
        _, t0b, state = pglib_day(case, pglib_json, mode="rts" if cfg["storage"] else "pglib")
        assert t0b == t0
    else:
        assert sys.init is not None
        state = sys.init.copy()
    return sys, t0, state


def rts_day_consistency(case: Any, pglib_json: str | os.PathLike[str]) -> dict[str, Any]:
    """Compare our RTS-GMLC data for a PGLib day with the instance itself (no solve).

    Returns max absolute differences (MW, $, h) of demand, reserve, renewable availability
    (per unit, CSP apart), thermal parameters (with PGLib's 20-minute ramps), the unit
    sets, and both initial states.
    """
    import numpy as np

    from dispatch.pglib import read_pglib
    from dispatch.rts import rts_to_arrays

    day = Path(pglib_json).stem
    t0 = rts_hour_index(day)
    s = rts_to_arrays(case, network=False, ramp_minutes=20.0)
    pc = read_pglib(pglib_json)
    p = pc.to_arrays()
    T = p.n_hours
    out: dict[str, Any] = {"day": day, "t0": t0, "timestamp": str(s.timestamps[t0])}
    out["demand_max_abs_mw"] = float(np.abs(s.load_mw[t0:t0 + T].sum(1) - p.meta["demand_mw"]).max())
    out["reserve_max_abs_mw"] = float(np.abs(s.reserve_up_mw[t0:t0 + T] - p.reserve_up_mw).max())
    out["thermal_only_ours"] = sorted(set(s.th_names) - set(p.th_names))
    out["thermal_only_pglib"] = sorted(set(p.th_names) - set(s.th_names))
    out["re_only_ours"] = sorted(set(s.re_names) - set(p.re_names))
    out["re_only_pglib"] = sorted(set(p.re_names) - set(s.re_names))
    re_max, re_min = p.meta["re_max_mw"], p.meta["re_min_mw"]
    diff, csp_ours, csp_pglib, fixed_bad = 0.0, 0.0, 0.0, 0
    for j, n in enumerate(p.re_names):
        if n not in s.re_names:
            continue
        a = s.re_avail_mw[t0:t0 + T, s.re_names.index(n)]
        if s.re_kind[s.re_names.index(n)] == "csp":
            csp_ours += float(a.sum())
            csp_pglib += float(re_max[:, j].sum())
            continue
        diff = max(diff, float(np.abs(a - re_max[:, j]).max()))
        if ("HYDRO" in n or "RTPV" in n) and not np.allclose(re_min[:, j], re_max[:, j]):
            fixed_bad += 1
    out["re_max_abs_mw"] = diff
    out["csp_mwh_ours"] = csp_ours
    out["csp_mwh_pglib"] = csp_pglib
    out["hydro_rtpv_not_fixed_in_pglib"] = fixed_bad
    kinds = {}
    for n, k in zip(s.re_names, s.re_kind):
        cat = "rtpv" if "RTPV" in n else k
        kinds.setdefault(cat, []).append(s.re_names.index(n))
    out["re_mwh_ours"] = {k: float(s.re_avail_mw[t0:t0 + T, v].sum()) for k, v in kinds.items()}
    idx = {n: i for i, n in enumerate(s.th_names)}
    order = [idx[n] for n in p.th_names if n in idx]
    th = {}
    for f in ("th_pmin", "th_pmax", "th_ramp_up", "th_ramp_down", "th_su_ramp", "th_sd_ramp", "th_min_up",
              "th_min_down", "th_cost_pmin", "th_seg_mw", "th_seg_cost", "th_su_lag", "th_su_cost"):
        a = np.asarray(getattr(s, f))[order].astype(float)
        b = np.asarray(getattr(p, f)).astype(float)
        th[f] = float(np.abs(a - b).max())
        th[f + "_rel"] = float((np.abs(a - b) / np.maximum(np.abs(b), 1e-9)).max())
    out["thermal_max_abs"] = th
    out["must_run_equal"] = bool(np.array_equal(np.asarray(s.th_must_run)[order], np.asarray(p.th_must_run)))
    assert p.init is not None and s.init is not None
    out["pglib_init_on"] = int(p.init.th_on.sum())
    out["pglib_init_mw"] = float(p.init.th_p.sum())
    out["ours_init_on"] = int(s.init.th_on.sum())
    out["ours_init_mw"] = float(s.init.th_p.sum())
    return out


def _rts_one(args: tuple[str, str, float | None, int | None, float]) -> dict[str, Any]:
    """Solve one (day, step) with the milp engine; cost terms under both cost functions."""
    import dataclasses

    import numpy as np

    from dispatch.costs import startup_costs, thermal_energy_cost, window_cost_breakdown
    from dispatch.engines import get_engine
    from dispatch.milp import MilpOptions
    from dispatch.pglib import read_pglib

    path, step, limit, threads, gap = args
    sys, t0, state = rts_day(_rts_case(), path, step)
    n = 48
    t = time.perf_counter()
    # lazy_storage off: with a time limit, the lazy loop can run out of time between rounds
    # (EngineError); the two stores' mode binaries are cheap up front
    sol = get_engine("milp").solve_window(sys, t0, n, state, None,
                                          MilpOptions(mip_rel_gap=gap, time_limit_s=limit, threads=threads,
                                                      lazy_storage=False))
    wall = time.perf_counter() - t
    br = window_cost_breakdown(sys, state, sol, None)
    # PGLib's own cost function (its piecewise points and start-up categories) on our schedule
    pg = read_pglib(path).to_arrays()
    assert pg.init is not None
    order = [sys.th_names.index(u) for u in pg.th_names]
    on = sol.th_on[:, order].astype(bool)
    pst = dataclasses.replace(pg.init.copy(), th_on=state.th_on[order].copy(), th_hours=state.th_hours[order].copy(),
                              th_p=state.th_p[order].copy())
    pg_energy = float(thermal_energy_cost(pg, sol.th_p[:, order], on.astype(float)).sum())
    pg_su = float(startup_costs(pg, pst, on).sum())
    avail = sys.re_avail_mw[t0:t0 + n]
    curt = np.maximum(avail - sol.re_p, 0.0)
    fixed = np.array([("HYDRO" in u or "RTPV" in u) for u in sys.re_names], dtype=bool)
    lb = float(sol.lower_bound)
    return {
        "day": Path(path).stem, "step": step, "t0": t0,
        "objective": float(sol.objective), "bound": lb if np.isfinite(lb) else None,
        "gap_pct": 100.0 * (sol.objective - lb) / sol.objective if np.isfinite(lb) and sol.objective else None,
        "wall_s": wall, "time_limit_s": limit, "mip_rel_gap": gap,
        "thermal_energy": br["thermal_energy"], "startup": br["startup"],
        "penalties": br["unserved"] + br["reserve_shortfall"],
        "pglib_fn_energy": pg_energy, "pglib_fn_startup": pg_su,
        "shed_mwh": float(sol.shed.sum()), "res_short_mwh": float(sol.res_short.sum()),
        "thermal_mwh": float(sol.th_p.sum()), "starts": int(sol.th_su.sum()),
        "units_on_h0": int(sol.th_on[0].sum()),
        "curtailed_mwh": float(curt.sum()), "curtailed_hydro_rtpv_mwh": float(curt[:, fixed].sum()),
        "csp_mwh": float(sol.re_p[:, [k == "csp" for k in sys.re_kind]].sum()),
        "storage_dis_mwh": float(sol.st_dis.sum()), "storage_ch_mwh": float(sol.st_ch.sum()),
        "status": str(sol.info.get("status", sol.info.get("mip_status", ""))),
    }


def _load_jsonl(path: str) -> list[dict[str, Any]]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _rts_main(args: Any) -> None:
    files = sorted(glob.glob(os.path.join(args.dir, "rts_gmlc/*.json")))
    if args.days:
        want = set(args.days.split(","))
        files = [f for f in files if Path(f).stem in want]
    steps = args.steps.split(",") if args.steps else list(RTS_STEPS)
    for s in steps:
        if s not in RTS_STEPS:
            raise SystemExit(f"unknown step {s!r}; steps: {', '.join(RTS_STEPS)}")
    jsonls = (args.json or "/tmp/pglib_rts.jsonl").split(",")
    jsonl = jsonls[0]  # new rows go here; all listed files are read for the report
    if not args.report_only:
        done = {(r["day"], r["step"]) for r in _load_jsonl(jsonl)}
        for s in steps:  # step-major: a partial run still has whole columns
            for f in files:
                if (Path(f).stem, s) in done and not args.rerun:
                    continue
                try:
                    row = _rts_one((f, s, args.time_limit, args.threads, args.gap))
                except Exception as exc:  # noqa: BLE001 - reported, the other runs go on
                    print(f"{Path(f).stem} {s}: {type(exc).__name__}: {exc}", flush=True)
                    continue
                with open(jsonl, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{row['day']} {s:8s} obj {row['objective']:,.0f} gap {row['gap_pct'] or 0:.3f}% "
                      f"{row['wall_s']:.0f} s shed {row['shed_mwh']:.1f}", flush=True)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in (r for j in jsonls for r in _load_jsonl(j)):
        # several runs of one (day, step) solve the same model: keep the best incumbent and
        # the best bound (each is valid for the model whichever run found it)
        k = (r["day"], r["step"])
        old = rows.get(k)
        if old is not None:
            best = dict(r if r["objective"] < old["objective"] else old)
            bounds = [b for b in (r["bound"], old["bound"]) if b is not None]
            best["bound"] = max(bounds) if bounds else None
            if best["bound"] is not None:
                best["gap_pct"] = 100.0 * (best["objective"] - best["bound"]) / best["objective"]
            best["wall_s"] = max(r["wall_s"], old["wall_s"])
            best["time_limit_s"] = max(r["time_limit_s"] or 0, old["time_limit_s"] or 0) or None
            r = best
        rows[k] = r
    all_files = sorted(glob.glob(os.path.join(args.dir, "rts_gmlc/*.json")))
    checks = [rts_day_consistency(_rts_case(), f) for f in all_files]
    text = _rts_report(all_files, rows, checks, args)
    out = Path(args.out)
    keep = ""
    if out.is_file():
        old = out.read_text(encoding="utf-8")
        if _END in old:
            keep = old[old.index(_END):]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n" + (keep or _END + "\n"), encoding="utf-8")
    print(text)


_END = "<!-- end of generated part: text below this line is kept when the script rewrites the file -->"


def _pct(a: float | None, ref: float) -> str:
    return "-" if a is None else f"{100.0 * a / ref:+.3f}"


def _rts_report(files: list[str], rows: dict[tuple[str, str], dict[str, Any]], checks: list[dict[str, Any]],
                args: Any) -> str:
    from dispatch.pglib import reference

    steps = list(RTS_STEPS)
    run_keys = sorted({(r["time_limit_s"], r["mip_rel_gap"]) for r in rows.values()}, key=str)
    L = [
        "# RTS-GMLC case vs PGLib-UC `rts_gmlc` days (issue #8, consistency with PGLib-UC)",
        "",
        f"Generated by `python scripts/pglib_compare.py --rts --time-limit {args.time_limit} --gap {args.gap:g} "
        f"--threads {args.threads} --out {args.out}` ({time.strftime('%Y-%m-%d')}, {platform.node() or 'host'}, "
        f"{os.cpu_count()} CPUs shared with other jobs; solver settings found in the rows: "
        + ", ".join(f"limit {a} s / gap {b:g}" for a, b in run_keys) + ").",
        "Each PGLib day `rts_gmlc/<date>.json` is 48 h from 00:00 of `<date>`; our RTS-GMLC hour index is "
        "`(date - 2020-01-01) x 24` (2020 is a leap year: 2020-07-06 -> hour 4488). Our case is solved "
        "copper plate (`ptdf` 0 x 73, no lines) with `dispatch.milp` (HiGHS, 1 thread), load shedding and "
        "reserve shortfall at 1e6 $/MWh. Objectives in $ (production cost incl. cost at Pmin + start-up; "
        "renewables, curtailment and storage cost nothing in both models).",
        "",
        "Chain of runs, each changing one thing relative to the row above (the difference between two "
        "consecutive objectives is the value of that change):",
        "",
    ]
    for s in steps:
        L.append(f"- `{s}`: {RTS_STEPS[s]['label']}.")
    L += [
        "",
        "## Ours vs the PGLib reference",
        "",
        "`ours` = the RTS-GMLC case as shipped (copper plate, own state); `pglib` = our case under PGLib's "
        "conventions (the anchor: should equal the reference up to both MIP gaps). diff % = 100 (x - ref) / ref. "
        "Main cause = the chain step with the largest |change|.",
        "",
        "| day | hour | PGLib ref | ref gap % | `pglib` (anchor) | diff % | gap % | `ours` | diff % | gap % | shed MWh (ours) | main cause |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    dec = ["", "## Decomposition: ours - ref = sum of the steps (in % of the reference objective)", "",
           "Each cell is the change in objective caused by that step, 100 x (obj(step) - obj(previous)) / ref. "
           "Both runs of a cell stop at a relative MIP gap (column `noise` = the largest gap % of the chain, "
           "cells smaller than it are not resolved). `cost fn` = PGLib's own cost function minus ours, "
           "evaluated on the `ours` schedule (piecewise points and start-up categories), in $. A cell marked `+` "
           "also covers the steps before it shown as `-` (not solved).", "",
           "| day | `pglib` - ref | reserve | ramps x60 | curtail/CSP/battery | init state | = ours - ref | noise | cost fn $ |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    det = ["", "## Per step: start-up cost, thermal energy, curtailment, storage", "",
           "| day | step | objective | start-up $ | starts | units on h0 | thermal MWh | curtailed MWh (hydro+RTPV) | CSP MWh | storage out MWh | wall s |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in files:
        day = Path(f).stem
        ref = reference(f"rts_gmlc/{day}", Path(args.dir) / "REFERENCE.csv")
        ro = ref["best_known_objective"] if ref else float("nan")
        a, b = rows.get((day, "pglib")), rows.get((day, "ours"))
        # delta of a step = its objective minus the last solved step before it; where steps
        # in between were not solved the delta covers them too (marked "+" in the table)
        deltas: dict[str, float | None] = {}
        spans: dict[str, list[str]] = {}
        prev, skipped = ro, []
        for s in steps:
            r = rows.get((day, s))
            if r is None:
                deltas[s] = None
                skipped.append(s)
                continue
            deltas[s] = r["objective"] - prev
            spans[s] = skipped + [s]
            prev, skipped = r["objective"], []
        known = {s: v for s, v in deltas.items() if v is not None}
        cause = "-"
        if b is not None and known:
            top = max(known, key=lambda s: abs(known[s]))
            cause = " + ".join(STEP_CAUSE[x] for x in spans[top])

        def obj(r: dict[str, Any] | None) -> str:
            return "-" if r is None else f"{r['objective']:,.0f}"

        def gp(r: dict[str, Any] | None) -> str:
            return "-" if r is None or r["gap_pct"] is None else f"{r['gap_pct']:.3f}"

        L.append(f"| {day} | {rts_hour_index(day)} | {ro:,.0f} | {ref['proven_gap_pct'] if ref else '-'} | {obj(a)} | "
                 f"{_pct(a['objective'] - ro if a else None, ro)} | {gp(a)} | {obj(b)} | "
                 f"{_pct(b['objective'] - ro if b else None, ro)} | {gp(b)} | "
                 f"{'-' if b is None else format(b['shed_mwh'], '.1f')} | {cause} |")
        gaps = [rows[(day, s)]["gap_pct"] or 0.0 for s in steps if (day, s) in rows] + ([ref["proven_gap_pct"]] if ref else [])
        fn = "-"
        if b is not None:
            fn = f"{b['pglib_fn_energy'] + b['pglib_fn_startup'] - b['thermal_energy'] - b['startup']:+,.2f}"
        cells = [_pct(deltas[s], ro) + ("+" if len(spans.get(s, [])) > 1 else "") for s in steps]
        dec.append(f"| {day} | " + " | ".join(cells)
                   + f" | {_pct(b['objective'] - ro if b else None, ro)} | {max(gaps) if gaps else 0:.3f} | {fn} |")
        for s in steps:
            r = rows.get((day, s))
            if r is None:
                continue
            det.append(f"| {day} | {s} | {r['objective']:,.0f} | {r['startup']:,.0f} | {r['starts']} | {r['units_on_h0']} | "
                       f"{r['thermal_mwh']:,.0f} | {r['curtailed_mwh']:,.0f} ({r['curtailed_hydro_rtpv_mwh']:,.0f}) | "
                       f"{r['csp_mwh']:,.0f} | {r['storage_dis_mwh']:,.0f} | {r['wall_s']:.0f} |")
    ck = ["", "## Input data: our case vs each PGLib instance (no solve)", "",
          "Max absolute differences over the 48 h and all units (thermal data with PGLib's 20-minute ramps): "
          "`thermal MW` over Pmin, Pmax, ramps, start-up/shut-down ramps and cost-segment widths; `thermal h` "
          "over min up/down times and start-up category lags; `thermal $` over the cost at Pmin ($/h) and "
          "start-up costs ($); `slope rel` = largest relative difference of a segment slope ($/MWh). PGLib "
          "rounds its numbers to 0.01, which is all that is left. Unit sets are equal on every day unless "
          "listed.", "",
          "| day | demand MW | reserve MW | renewables MW (excl. CSP) | hydro/RTPV fixed in PGLib | CSP MWh PGLib / ours | thermal MW | thermal h | thermal $ | slope rel | must-run equal | init on / MW PGLib | init on / MW ours |",
          "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for c in checks:
        sets = [k for k in ("thermal_only_ours", "thermal_only_pglib", "re_only_ours", "re_only_pglib") if c[k]]
        th = c["thermal_max_abs"]
        mw = max(th[k] for k in ("th_pmin", "th_pmax", "th_ramp_up", "th_ramp_down", "th_su_ramp", "th_sd_ramp",
                                 "th_seg_mw"))
        hours = max(th[k] for k in ("th_min_up", "th_min_down", "th_su_lag"))
        usd = max(th[k] for k in ("th_cost_pmin", "th_su_cost"))
        ck.append(f"| {c['day']} | {c['demand_max_abs_mw']:.3f} | {c['reserve_max_abs_mw']:.3f} | {c['re_max_abs_mw']:.3f} | "
                  f"{'yes' if not c['hydro_rtpv_not_fixed_in_pglib'] else 'no: ' + str(c['hydro_rtpv_not_fixed_in_pglib'])} | "
                  f"{c['csp_mwh_pglib']:,.0f} / {c['csp_mwh_ours']:,.0f} | {mw:.4f} | {hours:g} | {usd:.4f} | "
                  f"{th['th_seg_cost_rel']:.1e} | {'yes' if c['must_run_equal'] else 'NO'} | "
                  f"{c['pglib_init_on']} / {c['pglib_init_mw']:,.0f} | {c['ours_init_on']} / {c['ours_init_mw']:,.0f} |"
                  + (f" sets differ: {sets}" if sets else ""))
    return "\n".join(L + dec + det + ck) + "\n"


if __name__ == "__main__":
    main()
