"""Simulate one week of a shipped case, print the summary and the policy checks.

Run from the repository root::

    python examples/run_week.py [--case sichuan-2030] [--hydrology normal]
                                [--start 2030-07-22] [--engine native] [--out out/week]

The same as ``dispatch run CASE --hours 168 ...`` followed by ``dispatch check DIR``.
"""

from __future__ import annotations

import argparse

import dispatch
from dispatch import checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="sichuan-2030")
    ap.add_argument("--hydrology", default="normal")
    ap.add_argument("--start", default="2030-07-22")
    ap.add_argument("--engine", default="native", choices=["native", "milp"])
    ap.add_argument("--out", default="out/week")
    ap.add_argument("--no-ac", action="store_true", help="skip the AC power flow")
    a = ap.parse_args()

    case = dispatch.load_case(a.case, hydrology=a.hydrology)
    res = dispatch.simulate(case, engine=a.engine, start=a.start, hours=168, window_h=24, lookahead_h=24)
    res.write(a.out)
    print(res.table())

    # the checks take the case itself: the year's load for the 5 % peak-response
    # requirement, the PTDF for curtailment causes and the pandapower net for the AC check
    pr = checks.peak_response(res, case=case)
    cu = checks.curtailment(res, case=case.to_arrays())
    cs = checks.carbon_supply(res)
    for c in (pr, cu, cs):
        print()
        print(c.table())
    if not a.no_ac:
        print()
        print(checks.ac_power_flow(res, case=case).table())


if __name__ == "__main__":
    main()
