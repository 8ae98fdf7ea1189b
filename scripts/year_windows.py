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


def evaluate(root: Path, name: str, pairs: list[str], every: int, against: str | None) -> None:
    """Solve every ``every``-th recorded window with the setting; print and save the sums."""
    meta = json.loads((root / "capture.json").read_text())
    sysa = compile_case(load_case(meta["case"], meta["hydrology"]))
    opt = native.NativeOptions.from_pairs(pairs)
    files = sorted(root.glob("w*.pkl"))[::every]
    if not files:
        raise SystemExit(f"{root}: no recorded windows (run `capture` first)")
    rows = []
    for k, f in enumerate(files):
        with open(f, "rb") as fh:
            w = pickle.load(fh)
        if k == 0:  # JIT warm-up outside the timing
            native.solve_window(sysa, w["t0"], w["n"], w["state"], w["targets"], opt)
        tic = time.perf_counter()
        sol = native.solve_window(sysa, w["t0"], w["n"], w["state"], w["targets"], opt)
        rows.append({"t0": w["t0"], "objective": float(sol.objective), "lower_bound": float(sol.lower_bound),
                     "wall_s": time.perf_counter() - tic, "shed_mwh": float(sol.shed.sum())})
    (root / f"eval_{name}.json").write_text(json.dumps({"set": pairs, "every": every, "rows": rows}, indent=0))
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
    args = p.parse_args(argv)
    try:
        if args.cmd == "capture":
            capture(args.dir, args.case, args.hydrology, args.set, args.hours)
        else:
            evaluate(args.dir, args.name, args.set, max(1, args.every), args.against)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return 0


if __name__ == "__main__":
    _sys.exit(main())
