"""The engine interface: one window, one call.

An engine is a module with::

    solve_window(sys: SystemArrays, t0: int, n: int, state: State,
                 targets: HydroTargets | None, options=None) -> WindowSolution

solving hours ``t0 .. t0+n-1`` of ``sys`` from ``state`` (the system just before ``t0``).
``targets`` are the end-of-window reservoir targets from the mid-term hydro plan.
The returned ``objective`` must equal :func:`dispatch.costs.window_cost` of the schedule.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from .arrays import HydroTargets, State, SystemArrays, WindowSolution

ENGINES = {"native": "dispatch.native", "milp": "dispatch.milp"}


class Engine(Protocol):
    def solve_window(
        self, sys: SystemArrays, t0: int, n: int, state: State, targets: HydroTargets | None, options: Any = None
    ) -> WindowSolution: ...


def get_engine(name: str) -> Engine:
    """The engine module called ``name`` ('native' or 'milp')."""
    try:
        mod = ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {sorted(ENGINES)}") from None
    return importlib.import_module(mod)  # type: ignore[return-value]
