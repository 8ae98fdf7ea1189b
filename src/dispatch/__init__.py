"""dispatch: hourly unit commitment and dispatch of the Sichuan power system.

Public surface (a contract other models rely on)::

    import dispatch
    dispatch.list_cases()
    case = dispatch.load_case("sichuan-2030", hydrology="normal")
    res = dispatch.simulate(case, engine="native", start="2030-07-01", hours=168)
    res.write("out/"); res = dispatch.read_result("out/")
    dispatch.checks.peak_response(res); dispatch.checks.curtailment(res)
    dispatch.read_pglib("ca/2014-09-01_reserves_0.json")
    dispatch.sweep(spec, scheduler=None, out="sweep/")

Heavy modules are imported on first use so ``import dispatch`` and ``dispatch --help``
stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._check_build import check_build

check_build()

__version__ = "0.1.0"

_LAZY = {
    "list_cases": ("dispatch.case", "list_cases"),
    "load_case": ("dispatch.case", "load_case"),
    "Case": ("dispatch.case", "Case"),
    "CaseError": ("dispatch.errors", "CaseError"),
    "simulate": ("dispatch.simulate", "simulate"),
    "Result": ("dispatch.results", "Result"),
    "read_result": ("dispatch.results", "read_result"),
    "read_pglib": ("dispatch.pglib", "read_pglib"),
    "sweep": ("dispatch.sweep", "sweep"),
    "SystemArrays": ("dispatch.arrays", "SystemArrays"),
    "checks": ("dispatch.checks", None),
    "report": ("dispatch.report", None),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        mod_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dispatch' has no attribute {name!r}") from None
    mod = importlib.import_module(mod_name)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
