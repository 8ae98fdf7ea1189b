"""The toy 3-bus system end to end: simulate, summarise, check, report.

Run from the repository root::

    python examples/toy.py [--engine milp|native] [--hours 48] [--out out/toy]

Uses :func:`dispatch.testing.toy_system` (every component at a size the exact MILP solves
in seconds), so it needs no case data.
"""

from __future__ import annotations

import argparse

import dispatch
from dispatch import checks
from dispatch.report import make_report
from dispatch.testing import toy_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="milp", choices=["milp", "native"])
    ap.add_argument("--hours", type=int, default=48)
    ap.add_argument("--out", default="out/toy")
    a = ap.parse_args()

    sys_ = toy_system(a.hours)
    res = dispatch.simulate(sys_, engine=a.engine, hours=a.hours, window_h=24, lookahead_h=12, progress=False)
    print(res.table())
    res.write(a.out)

    # the toy has no pandapower net: run the checks that do not need one; pass the
    # arrays so the peak-response check and the curtailment causes use them
    out = checks.run_all(res, case=sys_, ac=False)
    print()
    print(checks.render(out))
    print("\nreport:", make_report(res, out=f"{a.out}/report", case=sys_))


if __name__ == "__main__":
    main()
