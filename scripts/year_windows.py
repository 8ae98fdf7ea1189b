"""Native settings judged on every window of a year, each from the same inputs.

A year's total moves by ~0.8 % when one window's schedule changes a little (session 10: the
same code with ``net_fw_min_step`` 0.005 -> 0.0049 gave -28.850 instead of -28.611 bn CNY):
every later window starts from another state. To compare two settings, this script first
records the inputs of every window of one year run (state, end-of-window water targets),
then solves each recorded window with a setting and sums the window objectives -- the same
365 problems for every setting, so differences are the setting's own.

Usage::

    .venv/bin/python scripts/year_windows.py capture --dir /tmp/yw            # one default year run
    .venv/bin/python scripts/year_windows.py eval --dir /tmp/yw --name base
    .venv/bin/python scripts/year_windows.py eval --dir /tmp/yw --name tr --set net_tr_iters=40 \\
        --against base                                                          # per-window comparison
    .venv/bin/python scripts/year_windows.py eval --dir /tmp/yw --name milp --engine milp --every 15 \\
        --time-limit 150 --jobs 2 --against base    # the exact engine on the same windows

With ``--engine milp`` each window is solved by HiGHS (``MilpOptions``: ``--gap``,
``--time-limit``, one thread per job, started from the native schedule so that a time limit
still leaves an incumbent no dearer than native's); ``--against`` then also prints native's
gap to it per window, relative to the milp objective's magnitude as in ``dispatch bench``,
and the gap the milp's own bound proves for the native schedule.

The recorded inputs (pickles, ~20 MB for a year) and the results (``DIR/eval_NAME.json``) stay
outside the repository.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys as _sys
import time
from pathlib import Path

import numpy as np

from dispatch import native
from dispatch.case import load_case
from dispatch.compile import compile_case
from dispatch.simulate import simulate


def capture(root: Path, case: str, hydrology: str, pairs: list[str], hours: int | None = None) -> None:
    """Run the year with the native engine (``pairs``: NativeOptions fields) and record the
    inputs of every window as ``root/wNNN.pkl``."""
    root.mkdir(parents=True, exist_ok=True)
    solve = native.solve_window

    def recording(sysa, t0, n, state, targets, options=None):
        with open(root / f"w{t0:05d}.pkl", "wb") as fh:
            pickle.dump({"t0": t0, "n": n, "state": state, "targets": targets}, fh)
        return solve(sysa, t0, n, state, targets, options)

    native.solve_window = recording
    try:
        res = simulate(load_case(case), "native", hours=hours, progress=False, hydrology=hydrology,
                       options=native.NativeOptions.from_pairs(pairs))
    finally:
        native.solve_window = solve
    meta = {"case": case, "hydrology": hydrology, "set": pairs, "total_cost": res.summary["total_cost"],
            "windows": len(list(root.glob("w*.pkl")))}
    (root / "capture.json").write_text(json.dumps(meta, indent=1))
    print(f"recorded {meta['windows']} windows of {case} ({hydrology}) in {root}; run total {meta['total_cost']:,.0f}")


_MILP: dict = {}


def _milp_init(case: str, hydrology: str, gap: float, limit: float | None) -> None:
    from dispatch.milp import MilpOptions

    _MILP["sys"] = compile_case(load_case(case, hydrology))
    _MILP["opt"] = MilpOptions(mip_rel_gap=gap, time_limit_s=limit, threads=1, warm_start="native")


def _milp_one(path: Path) -> dict:
    from dispatch.milp import solve_window

    with open(path, "rb") as fh:
        w = pickle.load(fh)
    tic = time.perf_counter()
    sol = solve_window(_MILP["sys"], w["t0"], w["n"], w["state"], w["targets"], _MILP["opt"])
    return {"t0": w["t0"], "objective": float(sol.objective), "lower_bound": float(sol.lower_bound),
            "wall_s": time.perf_counter() - tic, "shed_mwh": float(sol.shed.sum()),
            "status": str(sol.info.get("mip_status"))}


def evaluate(root: Path, name: str, pairs: list[str], every: int, against: str | None, engine: str = "native",
             gap: float = 1e-3, limit: float | None = None, jobs: int = 1) -> None:
    """Solve every ``every``-th recorded window with the setting (or the milp engine); print
    and save the sums."""
    meta = json.loads((root / "capture.json").read_text())
    files = sorted(root.glob("w*.pkl"))[::every]
    if not files:
        raise SystemExit(f"{root}: no recorded windows (run `capture` first)")
    rows = []
    if engine == "milp":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max(jobs, 1), initializer=_milp_init,
                                 initargs=(meta["case"], meta["hydrology"], gap, limit)) as pool:
            for r in pool.map(_milp_one, files):
                rows.append(r)
                print(f"  t0={r['t0']}: {r['objective']:.6e} bound {r['lower_bound']:.6e} {r['wall_s']:.0f} s "
                      f"{r['status']}", flush=True)
    else:
        sysa = compile_case(load_case(meta["case"], meta["hydrology"]))
        opt = native.NativeOptions.from_pairs(pairs)
        for k, f in enumerate(files):
            with open(f, "rb") as fh:
                w = pickle.load(fh)
            if k == 0:  # JIT warm-up outside the timing
                native.solve_window(sysa, w["t0"], w["n"], w["state"], w["targets"], opt)
            tic = time.perf_counter()
            sol = native.solve_window(sysa, w["t0"], w["n"], w["state"], w["targets"], opt)
            rows.append({"t0": w["t0"], "objective": float(sol.objective), "lower_bound": float(sol.lower_bound),
                         "wall_s": time.perf_counter() - tic, "shed_mwh": float(sol.shed.sum())})
    (root / f"eval_{name}.json").write_text(json.dumps({"set": pairs, "engine": engine, "every": every,
                                                        "rows": rows}, indent=0))
    obj = np.array([r["objective"] for r in rows])
    wall = np.array([r["wall_s"] for r in rows])
    shed = [(r["t0"] // 24, round(r["shed_mwh"], 1)) for r in rows if r["shed_mwh"] > 1e-6]
    print(f"{name}: {len(rows)} windows, sum of objectives {obj.sum():.6e} CNY, wall {wall.sum():.1f} s, "
          f"load shed in {len(shed)} windows {shed[:8]}")
    if against:
        ref = json.loads((root / f"eval_{against}.json").read_text())["rows"]
        by_t0 = {r["t0"]: r for r in ref}
        d = np.array([r["objective"] - by_t0[r["t0"]]["objective"] for r in rows if r["t0"] in by_t0])
        dw = np.array([r["wall_s"] - by_t0[r["t0"]]["wall_s"] for r in rows if r["t0"] in by_t0])
        print(f"vs {against}: objectives {d.sum():+.4e} CNY ({(d < -1.0).sum()} windows cheaper, "
              f"{(d > 1.0).sum()} dearer, largest {d.min():+.3e} / {d.max():+.3e}), wall {dw.sum():+.1f} s")
        if engine == "milp":  # the other one is native: its gap to this exact reference
            pairs_ = [(by_t0[r["t0"]], r) for r in rows if r["t0"] in by_t0]
            gaps = np.array([100.0 * (a["objective"] - b["objective"]) / abs(b["objective"]) for a, b in pairs_])
            proved = np.array([100.0 * (a["objective"] - b["lower_bound"]) / abs(b["objective"]) for a, b in pairs_])
            tot_a = sum(a["objective"] for a, _ in pairs_)
            tot_b = sum(b["objective"] for _, b in pairs_)
            for (a, b), g, pg in zip(pairs_, gaps, proved):
                print(f"  t0={b['t0']:5d} day {b['t0'] // 24 + 1:3d}: native {a['objective']:.6e} milp "
                      f"{b['objective']:.6e} gap {g:+.3f} % (at most {pg:.3f} % over the milp bound) "
                      f"native {a['wall_s']:.1f} s milp {b['wall_s']:.0f} s")
            print(f"{against} over milp: sum {tot_a - tot_b:+.4e} CNY = {100.0 * (tot_a - tot_b) / abs(tot_b):+.3f} % "
                  f"of |{tot_b:.4e}|; within 0.5 %: {(gaps <= 0.5).sum()} of {len(gaps)}; median "
                  f"{np.median(gaps):+.3f} %, worst {gaps.max():+.3f} %; native {sum(a['wall_s'] for a, _ in pairs_):.1f} s, "
                  f"milp {sum(b['wall_s'] for _, b in pairs_):.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture", help="run a year and record every window's inputs")
    c.add_argument("--dir", type=Path, required=True)
    c.add_argument("--case", default="sichuan-2030")
    c.add_argument("--hydrology", default="normal")
    c.add_argument("--hours", type=int, help="hours from the case's start (default: all)")
    c.add_argument("--set", action="append", default=[], help="NativeOptions FIELD=VALUE for the recording run")
    e = sub.add_parser("eval", help="solve the recorded windows with a setting")
    e.add_argument("--dir", type=Path, required=True)
    e.add_argument("--name", required=True)
    e.add_argument("--set", action="append", default=[], help="NativeOptions FIELD=VALUE (repeatable)")
    e.add_argument("--every", type=int, default=1, help="every k-th window only")
    e.add_argument("--against", help="an earlier --name to compare with, window by window")
    e.add_argument("--engine", choices=("native", "milp"), default="native")
    e.add_argument("--gap", type=float, default=1e-3, help="milp: mip_rel_gap")
    e.add_argument("--time-limit", type=float, help="milp: seconds per window")
    e.add_argument("--jobs", type=int, default=1, help="milp: windows solved at once")
    args = p.parse_args(argv)
    try:
        if args.cmd == "capture":
            capture(args.dir, args.case, args.hydrology, args.set, args.hours)
        else:
            evaluate(args.dir, args.name, args.set, max(1, args.every), args.against, args.engine, args.gap,
                     args.time_limit, args.jobs)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return 0


if __name__ == "__main__":
    _sys.exit(main())
