"""Rolling-horizon simulation over a year (or any span) with either engine.

Each window solves ``window_h + lookahead_h`` hours and keeps the first ``window_h``; unit
status and time in state, last output (ramps), state of charge, reservoir volumes, upstream
water in transit and DR events used carry to the next window (:func:`advance_state`). A
mid-term hydro plan (:mod:`dispatch.hydro`) gives each window end-of-window reservoir
targets and water values, so reservoirs neither spill early nor run dry.

With ``checkpoint_dir`` every finished window is written at once (temporary file, then
rename); a run restarted with the same directory and inputs resumes after the last
finished window and gives bit-identical results.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import SOLUTION_ARRAYS, State, SystemArrays, WindowSolution, advance_state, initial_state
from .engines import get_engine
from .errors import DispatchError
from .results import Result, _atomic_write, build_result, concat_solutions
from .validate import validate_arrays, validate_state

CHECKPOINT_VERSION = 1


def _as_arrays(case: Any, hydrology: str | None) -> SystemArrays:
    if isinstance(case, SystemArrays):
        return case
    if isinstance(case, str):
        from .case import load_case

        case = load_case(case, hydrology=hydrology or "normal")
    to_arrays = getattr(case, "to_arrays", None)
    if to_arrays is None:
        raise TypeError(f"simulate() needs a Case, a case name or SystemArrays, not {type(case).__name__}")
    return to_arrays()


def hour_index(sys: SystemArrays, start: Any) -> int:
    """Hour index of ``start`` (None, an int hour, or a date/datetime string) in ``sys``."""
    if start is None:
        return 0
    if isinstance(start, (int, np.integer)):
        t = int(start)
    else:
        ts = np.datetime64(str(start), "h")
        t = int((ts - sys.timestamps[0]).astype(int))
    if not 0 <= t < sys.n_hours:
        raise DispatchError(
            f"start {start!r} is outside the case's hours {sys.timestamps[0]} .. {sys.timestamps[-1]}"
        )
    return t


def fingerprint(sys: SystemArrays, engine: str, t_start: int, hours: int, window_h: int, lookahead_h: int, options: Any) -> str:
    """A hash of everything that determines a run's results (guards checkpoint reuse)."""
    h = hashlib.sha256()
    h.update(json.dumps([sys.name, sys.meta.get("hydrology"), engine, t_start, hours, window_h, lookahead_h, repr(options), CHECKPOINT_VERSION]).encode())
    for name in ("load_mw", "re_avail_mw", "hy_inflow", "ex_min", "ex_max", "th_pmax", "th_seg_cost", "ptdf", "line_max_mw"):
        h.update(np.ascontiguousarray(getattr(sys, name)).tobytes())
    if sys.n_dc:  # only with links, so fingerprints of systems without them are unchanged
        for name in ("dc_from", "dc_to", "dc_pmax"):
            h.update(np.ascontiguousarray(getattr(sys, name)).tobytes())
    return h.hexdigest()[:16]


class _Checkpoints:
    """Finished windows on disk: ``window_00000.npz`` ... plus ``run.json``."""

    def __init__(self, root: str | os.PathLike[str], fp: str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        meta = self.root / "run.json"
        if meta.is_file():
            old = json.loads(meta.read_text()).get("fingerprint")
            if old != fp:
                raise DispatchError(
                    f"checkpoint directory {self.root} holds windows of a different run "
                    f"(fingerprint {old}, this run {fp}); use another directory or empty it"
                )
        else:
            _atomic_write(meta, lambda p: Path(p).write_text(json.dumps({"fingerprint": fp, "version": CHECKPOINT_VERSION})))

    def path(self, k: int) -> Path:
        return self.root / f"window_{k:05d}.npz"

    def save(self, k: int, sol: WindowSolution, state_after: State, record: dict[str, Any]) -> None:
        arrays = {f"sol_{n}": getattr(sol, n) for n in SOLUTION_ARRAYS}
        arrays.update({f"state_{f.name}": getattr(state_after, f.name) for f in fields(State)})
        arrays["record"] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
        scal = np.array([sol.t0, sol.objective, sol.lower_bound, sol.wall_s], dtype=np.float64)
        arrays["scalars"] = scal

        def write(p: str) -> None:
            with open(p, "wb") as fh:
                np.savez(fh, **arrays)

        _atomic_write(self.path(k), write)

    def load(self, k: int) -> tuple[WindowSolution, State, dict[str, Any]] | None:
        p = self.path(k)
        if not p.is_file():
            return None
        try:
            z = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DispatchError(f"checkpoint {p} cannot be read ({exc}); delete it to recompute that window") from exc
        with z:
            sc = z["scalars"]
            sol = WindowSolution(
                t0=int(sc[0]), objective=float(sc[1]), lower_bound=float(sc[2]), wall_s=float(sc[3]),
                # checkpoints written before DC links existed have no sol_dc_p (no links)
                **{n: z[f"sol_{n}"] for n in SOLUTION_ARRAYS if f"sol_{n}" in z.files},
            )
            st = State(**{f.name: z[f"state_{f.name}"] for f in fields(State)})
            rec = json.loads(bytes(z["record"]).decode())
        return sol, st, rec


def _plan(sys: SystemArrays, state: State, t_start: int, hours: int, lookahead_h: int) -> Any:
    if sys.n_hy == 0:
        return None
    from .hydro import plan_hydro

    return plan_hydro(sys, state, t0=t_start, hours=min(sys.n_hours - t_start, hours + lookahead_h))


def state_at(plan: Any, state: State, t: int) -> State:
    """``state`` with reservoir volumes at the mid-term plan's level for hour ``t``."""
    if plan is None:
        return state.copy()
    v = [np.interp(t, plan.bounds_h, plan.v_hm3[:, h]) for h in range(plan.v_hm3.shape[1])]
    return replace(state.copy(), hy_v=np.asarray(v, dtype=float))


def simulate(
    case: Any,
    engine: str = "native",
    start: Any = None,
    hours: int | None = None,
    window_h: int = 24,
    lookahead_h: int = 24,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    *,
    hydrology: str | None = None,
    options: Any = None,
    state: State | None = None,
) -> Result:
    """Run a rolling-horizon unit commitment and dispatch.

    Parameters
    ----------
    case : Case, case name or SystemArrays
        What to simulate (a name is loaded with ``hydrology``).
    engine : {'native', 'milp'}
        The window solver.
    start : str, int or None
        First hour: a date ('2030-07-01'), an hour index, or None for the first hour.
    hours : int or None
        Hours to simulate; None runs to the end of the case's horizon.
    window_h, lookahead_h : int
        Hours kept per window and extra hours solved beyond them (discarded).
    checkpoint_dir : path or None
        Where finished windows are saved; a rerun with the same inputs resumes there.
    progress : bool
        Show a progress bar (windows done, time left).
    options : engine options dataclass, optional
    state : State, optional
        The state before ``start`` (default: the case's initial state).

    Returns
    -------
    Result
    """
    t_wall = time.perf_counter()
    sys = _as_arrays(case, hydrology)
    validate_arrays(sys)
    if state is not None:
        validate_state(sys, state)
    eng = get_engine(engine)
    if window_h < 1 or lookahead_h < 0:
        raise DispatchError(f"window_h must be >= 1 and lookahead_h >= 0 (got {window_h}, {lookahead_h})")
    t_start = hour_index(sys, start)
    if hours is None:
        hours = sys.n_hours - t_start
    if hours < 1 or t_start + hours > sys.n_hours:
        raise DispatchError(
            f"hours={hours} from hour {t_start} does not fit the case's {sys.n_hours} hours"
        )
    plan = None
    if state is not None:
        state0 = state.copy()
    else:
        state0 = initial_state(sys)
        if t_start > 0 and sys.n_hy:
            # a run that starts mid-horizon finds its reservoirs where the plan from hour 0
            # puts them, not at the start-of-horizon levels; the same plan sets the targets
            plan = _plan(sys, state0, 0, t_start + hours, lookahead_h)
            state0 = state_at(plan, state0, t_start)
    n_win = -(-hours // window_h)
    ckpt = None
    if checkpoint_dir is not None:
        ckpt = _Checkpoints(checkpoint_dir, fingerprint(sys, engine, t_start, hours, window_h, lookahead_h, options))
    if plan is None:
        plan = _plan(sys, state0, t_start, hours, lookahead_h)

    parts: list[WindowSolution] = []
    records: list[dict[str, Any]] = []
    st = state0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_win, unit="window", desc=f"{sys.name} [{engine}]", leave=True)
    try:
        for k in range(n_win):
            t0 = t_start + k * window_h
            keep = min(window_h, t_start + hours - t0)
            loaded = ckpt.load(k) if ckpt is not None else None
            if loaded is not None:
                head, st_next, rec = loaded
            else:
                n = min(keep + lookahead_h, sys.n_hours - t0)
                targets = plan.targets(t0 + n) if plan is not None else None
                tw = time.perf_counter()
                sol = eng.solve_window(sys, t0, n, st, targets, options)
                wall = time.perf_counter() - tw
                head = sol.head(keep)
                head.wall_s = wall
                st_next = advance_state(sys, st, sol, keep)
                lb = float(sol.lower_bound)
                gap = 100.0 * (sol.objective - lb) / max(abs(sol.objective), 1e-9) if np.isfinite(lb) else None
                rec = {
                    "window": k, "t0": t0, "hours_kept": keep, "hours_solved": n,
                    "objective": float(sol.objective), "lower_bound": lb if np.isfinite(lb) else None,
                    "gap_pct": gap, "wall_s": wall,
                }
                if ckpt is not None:
                    ckpt.save(k, head, st_next, rec)
            parts.append(head)
            records.append(rec)
            st = st_next
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    full = concat_solutions(parts)
    wall_s = time.perf_counter() - t_wall
    res = build_result(sys, state0, full, records, engine=engine, wall_s=wall_s)
    res.meta["final_state"] = {f.name: np.asarray(getattr(st, f.name)).tolist() for f in fields(State)}
    return res


__all__ = ["simulate", "hour_index", "fingerprint", "state_at"]
