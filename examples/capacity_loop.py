"""A capacity-expansion model's inner loop: change the storage build, re-run a week.

Run from the repository root::

    python examples/capacity_loop.py [--case sichuan-2030] [--start 2030-04-15]
                                     [--scales 0.5 1 2 3] [--engine native]
                                     [--toy]

The case is lowered to :class:`dispatch.SystemArrays` once; each build scales every
storage unit's power and energy with ``SystemArrays.with_`` (the other arrays are
shared, not copied) and the same week is simulated again. Printed per build: cost,
curtailment (wind, solar, avoidable hydro spill), unserved energy and CO2, the numbers
an outer investment model would read back. ``--toy`` uses the 3-bus toy system.
"""

from __future__ import annotations

import argparse

import numpy as np

import dispatch
from dispatch import checks


def storage_build(sys_: dispatch.SystemArrays, scale: float) -> dispatch.SystemArrays:
    """``sys_`` with every storage unit's power and energy scaled by ``scale``.

    The initial state of charge is scaled too, so it stays within the new bounds.
    """
    init = sys_.init
    if init is not None:
        from dataclasses import replace

        init = replace(init, st_e=init.st_e * scale)
    return sys_.with_(
        st_pch=sys_.st_pch * scale,
        st_pdis=sys_.st_pdis * scale,
        st_emax=sys_.st_emax * scale,
        st_emin=sys_.st_emin * scale,
        init=init,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="sichuan-2030")
    ap.add_argument("--hydrology", default="normal")
    ap.add_argument("--start", default="2030-04-15")
    ap.add_argument("--hours", type=int, default=168)
    ap.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0, 3.0])
    ap.add_argument("--engine", default="native", choices=["native", "milp"])
    ap.add_argument("--toy", action="store_true", help="use dispatch.testing.toy_system instead of a case")
    a = ap.parse_args()

    if a.toy:
        from dispatch.testing import toy_system

        base = toy_system(a.hours)
        start = None
    else:
        base = dispatch.load_case(a.case, hydrology=a.hydrology).to_arrays()  # lowered once
        start = a.start
    rows = []
    for scale in a.scales:
        sys_ = storage_build(base, scale)
        res = dispatch.simulate(sys_, engine=a.engine, start=start, hours=a.hours, progress=False)
        s = res.summary
        cu = checks.curtailment(res)
        util = dict(cu.totals.select("tech", "utilisation").iter_rows())
        rows.append(
            {
                "storage_scale": scale,
                "storage_mw": float(sys_.st_pdis.sum()),
                "storage_mwh": float(sys_.st_emax.sum()),
                "total_cost": s["total_cost"],
                "curtailed_mwh": float(sum(s["curtailment_mwh"].values())),
                "wind_util_%": 100 * util.get("wind", np.nan),
                "solar_util_%": 100 * util.get("solar", np.nan),
                "unserved_mwh": s["unserved_mwh"],
                "co2_t": s["co2_t"],
                "wall_s": s["wall_s"],
            }
        )
        print(f"scale {scale:g}: cost {s['total_cost']:,.0f} {s['currency']}, curtailed {rows[-1]['curtailed_mwh']:,.0f} MWh")
    print()
    print(checks.text_table(rows))


if __name__ == "__main__":
    main()
