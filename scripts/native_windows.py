"""The native engine on the milp reference windows of ``benches/milp_windows.json``.

Rebuilds each reference window by the recipe of ``scripts/milp_windows.py`` (state checked
by hash), solves it with :func:`dispatch.native.solve_window`, checks it with the
invariant checker and prints one row per window: native and milp objectives, the
difference (CNY and % of |milp|), curtailment of both, wall time and speed-up.

Usage::

    .venv/bin/python scripts/native_windows.py                         # all 12 windows
    .venv/bin/python scripts/native_windows.py --only normal:7600      # one window
    .venv/bin/python scripts/native_windows.py --set net_fw_iters=0    # a NativeOptions field
    .venv/bin/python scripts/native_windows.py --json /tmp/native.json # rows as JSON too
"""

from __future__ import annotations

import argparse
import json
import sys as _sys
import time
from pathlib import Path

import numpy as np

_sys.path.insert(0, str(Path(__file__).resolve().parent))
import milp_windows as mw  # noqa: E402

from dispatch import native  # noqa: E402
from dispatch.invariants import check_solution  # noqa: E402


def _options(pairs: list[str]) -> native.NativeOptions:
    try:
        return native.NativeOptions.from_pairs(pairs)
    except ValueError as exc:
        raise SystemExit(f"--set: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", default=[], help="HYDROLOGY:T0 (repeatable)")
    p.add_argument("--set", action="append", default=[], help="NativeOptions FIELD=VALUE (repeatable)")
    p.add_argument("--json", type=Path, help="write the rows here as JSON")
    args = p.parse_args(argv)
    opt = _options(args.set)
    recs = json.loads(mw.DEFAULT_JSON.read_text())["records"]
    recs = [r for r in recs if r.get("objective") is not None]
    if args.only:
        want = {(h, int(t)) for h, t in (o.split(":") for o in args.only)}
        recs = [r for r in recs if (r["hydrology"], int(r["t0"])) in want]
    recs.sort(key=lambda r: (mw.HYDROLOGIES.index(r["hydrology"]), r["t0"]))
    rows = []
    print(f"{'window':<18}{'native':>14}{'milp':>14}{'diff':>12}{'%|milp|':>9}{'curt n':>9}{'curt m':>9}"
          f"{'wall s':>8}{'x':>7}{'viol':>5}")
    for r in recs:
        s, st, tg = mw.window_inputs(r["hydrology"], r["t0"], r["n"])
        if mw.state_sha(st) != r["state_sha"]:
            raise SystemExit(f"{r['hydrology']}:{r['t0']}: the state differs from the reference run")
        tic = time.perf_counter()
        sol = native.solve_window(s, r["t0"], r["n"], st, tg, opt)
        wall = time.perf_counter() - tic
        viol = check_solution(s, st, sol, tg)
        fig = mw._sol_figures(s, sol)
        row = {"hydrology": r["hydrology"], "t0": r["t0"], "native": sol.objective, "milp": r["objective"],
               "diff": sol.objective - r["objective"], "pct": 100 * (sol.objective - r["objective"]) / abs(r["objective"]),
               "curtailed_native_mwh": fig["curtailed_mwh"], "curtailed_milp_mwh": r["curtailed_mwh"],
               "wall_s": wall, "milp_s": r["wall_s"], "violations": len(viol), "lower_bound": sol.lower_bound}
        rows.append(row)
        print(f"{r['hydrology'] + ':' + str(r['t0']):<18}{row['native']:>14.4e}{row['milp']:>14.4e}{row['diff']:>12.3e}"
              f"{row['pct']:>9.2f}{row['curtailed_native_mwh'] / 1e3:>9.1f}{row['curtailed_milp_mwh'] / 1e3:>9.1f}"
              f"{wall:>8.2f}{r['wall_s'] / wall:>7.0f}{len(viol):>5}", flush=True)
    d = np.array([r["diff"] for r in rows])
    print(f"sum diff {d.sum():.4e} CNY; mean {np.mean([r['pct'] for r in rows]):.2f} % of |milp|; "
          f"within 0.5 %: {sum(r['pct'] <= 0.5 for r in rows)} of {len(rows)}; native {sum(r['wall_s'] for r in rows):.1f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
