"""Scenario sweeps: many simulations on Dask, one comparison table.

A *spec* (a TOML file or a dict) names a base scenario, a grid and/or an explicit list of
variations; every resulting scenario is one Dask task that loads its case, applies its
modifications to a copy of the :class:`~dispatch.arrays.SystemArrays` (shared arrays are
never written), runs :func:`dispatch.simulate` and writes its frames into
``OUT/scenario=<id>/``. The scenario id is a stable hash of the scenario's parameters, so
a re-run of the same spec skips scenarios already finished.

Spec
----
.. code-block:: toml

    [sweep]                  # optional: how to run
    retries = 2              # re-runs of a task that raised (and lost workers tolerated)
    frames = ["system", "windows", "renewables", "hydro", "dr", "components"]

    [base]                   # defaults of every scenario
    case = "toy"             # a shipped case name, or "toy" (dispatch.testing.toy_system)
    hydrology = "normal"     # normal | wet | dry | drought-2022
    engine = "milp"          # native | milp
    start = "2030-07-01"     # date or hour index; omitted: the case's first hour
    hours = 168              # omitted: to the end of the case (toy: 48)
    window_h = 24
    lookahead_h = 24

    [grid]                   # cartesian product of these lists
    dr_share = [0.0, 0.05]   # DR p_max scaled so its total = share x peak load
    storage_scale = [1.0, 2.0]

    [[scenarios]]            # explicit list, each combined with every grid point
    name = "drought"
    hydrology = "drought-2022"

Scenario parameters: ``name`` (a label; not part of the id), ``case``, ``hydrology``,
``engine``, ``start``, ``hours``, ``window_h``, ``lookahead_h``, ``dr_share`` (fraction of
the peak of the whole case horizon, after load growth), ``storage_scale`` (a factor on
storage power and energy, or a table ``{kind = factor}``), ``storage_add`` (a list of
tables ``{name, kind, bus, p_mw, e_mwh, eta_ch, eta_dis[, loss_per_h, e_min_mwh,
soc0_frac]}``), ``load_growth`` (factor on every bus load) and ``exports_factor`` (factor
on export minimum and maximum). Modifications apply in that order: load growth, DR share,
storage, exports.

Output
------
``OUT/scenario=<id>/``   ``<frame>.parquet``, ``summary.json``, ``meta.json`` (as
                         :meth:`Result.write`) and ``scenario.json`` (parameters and the
                         comparison row); written to a temporary directory and renamed.
``OUT/comparison.parquet``, ``.csv``, ``.png``  one row per scenario.
``OUT/spec.json``        the expanded spec.

Read one frame of every scenario with :func:`read_frame` (a hive-partitioned scan).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import shutil
import sys as _sys
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import polars as pl

from .arrays import State, SystemArrays
from .errors import DispatchError

SPEC_VERSION = 1
HYDROLOGIES = ("normal", "wet", "dry", "drought-2022")
DEFAULT_FRAMES = ("system", "windows", "renewables", "hydro", "storage", "dr", "exports", "components")
#: Static policy thresholds of the simple checks (used when ``dispatch.checks`` is absent).
#: DR able to answer 5% of peak load and >= 95% utilisation of wind and solar: targets of
#: the NDRC/NEA carbon-peak plans as stated in the project brief (README, policy checks).
PEAK_RESPONSE_TARGET = 0.05
RE_UTILISATION_TARGET = 0.95
TOY_DEFAULT_HOURS = 48

#: name -> (type check, description) of every scenario parameter.
_PARAMS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "case": (lambda v: isinstance(v, str) and v != "", "a case name (string)"),
    "hydrology": (lambda v: v in HYDROLOGIES, f"one of {', '.join(HYDROLOGIES)}"),
    "engine": (lambda v: isinstance(v, str), "an engine name"),
    "start": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or isinstance(v, str),
              "an hour index >= 0 or a date string"),
    "hours": (lambda v: v is None or (_is_int(v) and v >= 1), "an integer >= 1"),
    "window_h": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "lookahead_h": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "dr_share": (lambda v: v is None or (_is_num(v) and 0 <= v <= 1), "a fraction of peak load in [0, 1]"),
    "storage_scale": (lambda v: (_is_num(v) and v >= 0) or (isinstance(v, Mapping) and all(isinstance(k, str) and _is_num(x) and x >= 0 for k, x in v.items())),
                      "a factor >= 0 or a table {kind = factor}"),
    "storage_add": (lambda v: isinstance(v, list) and all(isinstance(x, Mapping) for x in v), "a list of tables"),
    "load_growth": (lambda v: _is_num(v) and v > 0, "a factor > 0"),
    "exports_factor": (lambda v: _is_num(v) and v >= 0, "a factor >= 0"),
}
_DEFAULTS: dict[str, Any] = {
    "case": None, "hydrology": "normal", "engine": "native", "start": None, "hours": None,
    "window_h": 24, "lookahead_h": 24, "dr_share": None, "storage_scale": 1.0, "storage_add": [],
    "load_growth": 1.0, "exports_factor": 1.0,
}
_STORAGE_ADD_KEYS = {
    "name": (True, lambda v: isinstance(v, str) and v != ""),
    "kind": (True, lambda v: isinstance(v, str) and v != ""),
    "bus": (True, lambda v: isinstance(v, str) or _is_int(v)),
    "p_mw": (True, lambda v: _is_num(v) and v >= 0),
    "e_mwh": (True, lambda v: _is_num(v) and v >= 0),
    "eta_ch": (True, lambda v: _is_num(v) and 0 < v <= 1),
    "eta_dis": (True, lambda v: _is_num(v) and 0 < v <= 1),
    "loss_per_h": (False, lambda v: _is_num(v) and 0 <= v < 1),
    "e_min_mwh": (False, lambda v: _is_num(v) and v >= 0),
    "soc0_frac": (False, lambda v: _is_num(v) and 0 <= v <= 1),
}
_SWEEP_KEYS = {"retries", "frames", "name", "dynamic_peak_check"}
_TOP_KEYS = {"sweep", "base", "grid", "scenarios"}


class SweepError(DispatchError, ValueError):
    """A bad sweep spec, or scenarios that failed; names the spec, table and key."""


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(float(v))


# ---------------------------------------------------------------------------------------
# Spec: parse, validate, expand
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One task of a sweep: its id (a hash of ``params``), a label and the parameters."""

    id: str
    label: str
    params: dict[str, Any]


@dataclass(frozen=True)
class SweepSpec:
    """A validated, expanded spec."""

    source: str
    scenarios: tuple[Scenario, ...]
    retries: int = 2
    frames: tuple[str, ...] = DEFAULT_FRAMES
    name: str = "sweep"
    dynamic_peak_check: bool = False

    @property
    def run_options(self) -> dict[str, Any]:
        """What every task gets besides its parameters (not part of the scenario id)."""
        return {"frames": list(self.frames), "dynamic_peak_check": self.dynamic_peak_check}


def load_spec(spec: str | os.PathLike[str] | Mapping[str, Any] | SweepSpec, *, check_available: bool = True) -> SweepSpec:
    """Read (TOML file or dict), validate and expand a sweep spec.

    Parameters
    ----------
    spec : path, mapping or SweepSpec
        A TOML file, the same structure as a dict, or an already loaded spec.
    check_available : bool
        Also check that every engine and case name exists here.

    Returns
    -------
    SweepSpec

    Raises
    ------
    SweepError
        Naming the spec, the table/scenario and the key that is wrong and what is allowed.
    """
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        raw, src = dict(spec), "<spec dict>"
    else:
        path = Path(spec)
        src = str(path)
        if not path.exists() or path.is_dir():
            raise SweepError(f"sweep spec {src}: no such file")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise SweepError(f"sweep spec {src}: not valid TOML: {e}") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise SweepError(f"sweep spec {src}: unknown table(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    opts = _table(raw, "sweep", src)
    bad = sorted(set(opts) - _SWEEP_KEYS)
    if bad:
        raise SweepError(f"sweep spec {src}: [sweep] has unknown key(s) {bad}; allowed: {sorted(_SWEEP_KEYS)}")
    retries = opts.get("retries", 2)
    if not _is_int(retries) or retries < 0:
        raise SweepError(f"sweep spec {src}: [sweep] retries must be an integer >= 0, got {retries!r}")
    from .results import FRAMES

    frames = opts.get("frames", list(DEFAULT_FRAMES))
    if not isinstance(frames, list) or not all(f in FRAMES for f in frames):
        raise SweepError(f"sweep spec {src}: [sweep] frames must be a list of {list(FRAMES)}, got {frames!r}")
    dyn = opts.get("dynamic_peak_check", False)
    if not isinstance(dyn, bool):
        raise SweepError(f"sweep spec {src}: [sweep] dynamic_peak_check must be true or false, got {dyn!r}")
    base = _table(raw, "base", src)
    _check_params(base, src, "[base]")
    grid = _table(raw, "grid", src)
    for k, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise SweepError(f"sweep spec {src}: [grid] {k} must be a non-empty list of values, got {vals!r}")
        if k == "name":
            raise SweepError(f"sweep spec {src}: [grid] cannot vary 'name' (labels come from the varied values)")
        for i, v in enumerate(vals):
            _check_params({k: v}, src, f"[grid] {k}[{i}]")
    explicit = raw.get("scenarios", [])
    if not isinstance(explicit, list) or not all(isinstance(s, Mapping) for s in explicit):
        raise SweepError(f"sweep spec {src}: 'scenarios' must be a list of tables ([[scenarios]])")
    for i, s in enumerate(explicit):
        _check_params(s, src, f"[[scenarios]] #{i + 1}" + (f" ({s['name']!r})" if "name" in s else ""))

    keys = list(grid)
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))] if keys else [{}]
    rows = [dict(s) for s in explicit] or [{}]
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for row in rows:
        for point in points:
            p = {**_DEFAULTS, **base, **row, **point}
            label = _label(p, row, point)
            p.pop("name", None)
            where = f"scenario {label!r}"
            if p["case"] is None:
                raise SweepError(f"sweep spec {src}: {where} has no 'case' (set it in [base] or the scenario)")
            p = _normalise(p)
            sid = scenario_id(p)
            if sid in seen:
                raise SweepError(
                    f"sweep spec {src}: scenarios {seen[sid]!r} and {label!r} have identical parameters (id {sid})"
                )
            seen[sid] = label
            scenarios.append(Scenario(id=sid, label=label, params=p))
    if check_available:
        _check_available(scenarios, src)
    return SweepSpec(source=src, scenarios=tuple(scenarios), retries=int(retries), frames=tuple(frames),
                     dynamic_peak_check=dyn, name=str(opts.get("name", Path(src).stem if not src.startswith("<") else "sweep")))


def _table(raw: Mapping[str, Any], key: str, src: str) -> dict[str, Any]:
    v = raw.get(key, {})
    if not isinstance(v, Mapping):
        raise SweepError(f"sweep spec {src}: '{key}' must be a table ([{key}]), got {type(v).__name__}")
    return dict(v)


def _check_params(p: Mapping[str, Any], src: str, where: str) -> None:
    for k, v in p.items():
        if k not in _PARAMS:
            raise SweepError(f"sweep spec {src}: {where}: unknown parameter {k!r}; allowed: {sorted(_PARAMS)}")
        ok, what = _PARAMS[k]
        if not ok(v):
            raise SweepError(f"sweep spec {src}: {where}: {k} must be {what}, got {v!r}")
        if k == "storage_add":
            for i, unit in enumerate(v):
                for kk, (required, check) in _STORAGE_ADD_KEYS.items():
                    if kk not in unit:
                        if required:
                            raise SweepError(f"sweep spec {src}: {where}: storage_add[{i}] needs {kk!r}")
                    elif not check(unit[kk]):
                        raise SweepError(f"sweep spec {src}: {where}: storage_add[{i}].{kk} has a bad value {unit[kk]!r}")
                extra = sorted(set(unit) - set(_STORAGE_ADD_KEYS))
                if extra:
                    raise SweepError(f"sweep spec {src}: {where}: storage_add[{i}] has unknown key(s) {extra}; "
                                     f"allowed: {sorted(_STORAGE_ADD_KEYS)}")


def _label(p: Mapping[str, Any], row: Mapping[str, Any], point: Mapping[str, Any]) -> str:
    parts = [str(row["name"])] if "name" in row else []
    for k, v in point.items():
        parts.append(f"{k}={_short(v)}")
    if not parts:
        parts = [str(p.get("name") or p["case"])]
    return " ".join(parts)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, Mapping):
        return ",".join(f"{k}:{_short(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "+".join(str(x.get("name", "?")) if isinstance(x, Mapping) else str(x) for x in v) or "none"
    return str(v)


def _normalise(p: dict[str, Any]) -> dict[str, Any]:
    """Canonical types so equal parameters hash equally (1 == 1.0 for factors)."""
    q = dict(p)
    for k in ("load_growth", "exports_factor"):
        q[k] = float(q[k])
    if q["dr_share"] is not None:
        q["dr_share"] = float(q["dr_share"])
    s = q["storage_scale"]
    q["storage_scale"] = {str(k): float(v) for k, v in sorted(s.items())} if isinstance(s, Mapping) else float(s)
    q["storage_add"] = [
        {k: (float(v) if k not in ("name", "kind", "bus") else v) for k, v in sorted(u.items())} for u in q["storage_add"]
    ]
    for k in ("hours", "window_h", "lookahead_h"):
        if q[k] is not None:
            q[k] = int(q[k])
    return q


def scenario_id(params: Mapping[str, Any]) -> str:
    """A stable 12-hex-digit hash of a scenario's (normalised) parameters."""
    payload = json.dumps({"v": SPEC_VERSION, **params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _check_available(scenarios: Iterable[Scenario], src: str) -> None:
    from .engines import ENGINES

    names = None
    for s in scenarios:
        p = s.params
        if p["engine"] not in ENGINES:
            raise SweepError(f"sweep spec {src}: scenario {s.label!r}: unknown engine {p['engine']!r}; "
                             f"choose one of {sorted(ENGINES)}")
        if p["case"] == "toy":
            continue
        if names is None:
            try:
                from .case import list_cases

                names = list(list_cases())
            except (ImportError, DispatchError) as e:
                raise SweepError(f"sweep spec {src}: scenario {s.label!r}: case {p['case']!r} cannot be loaded "
                                 f"(listing the shipped cases failed: {e}); case = \"toy\" always works") from None
        if p["case"] not in names:
            raise SweepError(f"sweep spec {src}: scenario {s.label!r}: unknown case {p['case']!r}; "
                             f"shipped cases: {names + ['toy']}")


# ---------------------------------------------------------------------------------------
# Scenario -> SystemArrays
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _base_arrays(case: str, hydrology: str, toy_hours: int) -> SystemArrays:
    """The unmodified system of a case (cached per worker process; never mutated)."""
    if case == "toy":
        from .testing import toy_system

        sys = toy_system(hours=toy_hours)
        return sys.with_(meta={**sys.meta, "hydrology": hydrology})
    from .case import load_case

    c = load_case(case, hydrology=hydrology)
    return c if isinstance(c, SystemArrays) else c.to_arrays()


def _toy_hours(p: Mapping[str, Any]) -> int:
    start, hours = p["start"], p["hours"] or TOY_DEFAULT_HOURS
    if start is None:
        off = 0
    elif isinstance(start, int):
        off = start
    else:
        off = int((np.datetime64(str(start), "h") - np.datetime64("2030-07-01T00", "h")).astype(int))
    return off + hours + p["lookahead_h"]


def scenario_arrays(params: Mapping[str, Any]) -> SystemArrays:
    """The system of one scenario: the case's arrays with the scenario's changes applied.

    Every changed field is a new array; the case's arrays (shared, cached) are untouched.
    """
    p = params
    sys = _base_arrays(p["case"], p["hydrology"], _toy_hours(p) if p["case"] == "toy" else 0)
    return apply_modifications(sys, p)


def apply_modifications(sys: SystemArrays, p: Mapping[str, Any]) -> SystemArrays:
    """Load growth, DR share, storage scale/additions and export factor, in that order."""
    ch: dict[str, Any] = {}
    g = float(p.get("load_growth", 1.0))
    load = sys.load_mw * g if g != 1.0 else sys.load_mw
    if g != 1.0:
        ch["load_mw"] = np.ascontiguousarray(load)
    share = p.get("dr_share")
    if share is not None:
        peak = float(load.sum(axis=1).max()) if sys.n_hours else 0.0
        total = float(sys.dr_pmax.sum())
        if sys.n_dr == 0 or total <= 0:
            if share > 0:
                raise SweepError(f"case {sys.name!r} has no demand-response resource to scale to dr_share={share}")
        else:
            ch["dr_pmax"] = sys.dr_pmax * (share * peak / total)
    scale = p.get("storage_scale", 1.0)
    adds = p.get("storage_add", [])
    if sys.n_st and (isinstance(scale, Mapping) or scale != 1.0):
        kinds = np.array(sys.st_kind, dtype=object)
        if isinstance(scale, Mapping):
            unknown = sorted(set(scale) - set(sys.st_kind))
            if unknown:
                raise SweepError(f"storage_scale: case {sys.name!r} has no storage of kind(s) {unknown}; "
                                 f"its kinds: {sorted(set(sys.st_kind))}")
            f = np.array([float(scale.get(k, 1.0)) for k in kinds])
        else:
            f = np.full(sys.n_st, float(scale))
        ch.update(st_pch=sys.st_pch * f, st_pdis=sys.st_pdis * f, st_emax=sys.st_emax * f, st_emin=sys.st_emin * f)
    elif isinstance(scale, Mapping) and scale:
        raise SweepError(f"storage_scale: case {sys.name!r} has no storage to scale")
    init = sys.init
    if init is not None and "st_emax" in ch:
        f_e = ch["st_emax"] / np.where(sys.st_emax > 0, sys.st_emax, 1.0)
        init = State(**{**_state_dict(init), "st_e": np.where(sys.st_emax > 0, init.st_e * f_e, 0.0)})
    if adds:
        names = list(sys.st_names)
        cols = {k: ch.get(k, getattr(sys, k)) for k in ("st_pch", "st_pdis", "st_emax", "st_emin")}
        new: dict[str, list[Any]] = {k: [] for k in ("names", "kind", "bus", "pch", "pdis", "emax", "emin", "eta_ch", "eta_dis", "loss", "e0")}
        for u in adds:
            if u["name"] in names:
                raise SweepError(f"storage_add: a storage unit called {u['name']!r} already exists in {sys.name!r}")
            names.append(u["name"])
            b = u["bus"]
            if isinstance(b, str):
                if b not in sys.bus_names:
                    raise SweepError(f"storage_add {u['name']!r}: no bus {b!r} in case {sys.name!r}")
                b = sys.bus_names.index(b)
            elif not 0 <= int(b) < sys.n_bus:
                raise SweepError(f"storage_add {u['name']!r}: bus index {b} outside 0..{sys.n_bus - 1}")
            emin = float(u.get("e_min_mwh", 0.0))
            emax = float(u["e_mwh"])
            if emin > emax:
                raise SweepError(f"storage_add {u['name']!r}: e_min_mwh {emin} > e_mwh {emax}")
            new["names"].append(u["name"])
            new["kind"].append(u["kind"])
            new["bus"].append(int(b))
            new["pch"].append(float(u["p_mw"]))
            new["pdis"].append(float(u["p_mw"]))
            new["emax"].append(emax)
            new["emin"].append(emin)
            new["eta_ch"].append(float(u["eta_ch"]))
            new["eta_dis"].append(float(u["eta_dis"]))
            new["loss"].append(float(u.get("loss_per_h", 0.0)))
            new["e0"].append(emin + float(u.get("soc0_frac", 0.5)) * (emax - emin))
        cat = np.concatenate
        ch.update(
            st_names=tuple(sys.st_names) + tuple(new["names"]),
            st_kind=tuple(sys.st_kind) + tuple(new["kind"]),
            st_bus=cat([sys.st_bus, np.array(new["bus"], dtype=np.int64)]),
            st_pch=cat([cols["st_pch"], new["pch"]]),
            st_pdis=cat([cols["st_pdis"], new["pdis"]]),
            st_emax=cat([cols["st_emax"], new["emax"]]),
            st_emin=cat([cols["st_emin"], new["emin"]]),
            st_eta_ch=cat([sys.st_eta_ch, new["eta_ch"]]),
            st_eta_dis=cat([sys.st_eta_dis, new["eta_dis"]]),
            st_loss=cat([sys.st_loss, new["loss"]]),
        )
        if init is not None:
            init = State(**{**_state_dict(init), "st_e": cat([init.st_e, new["e0"]])})
    if init is not sys.init:
        ch["init"] = init
    xf = float(p.get("exports_factor", 1.0))
    if xf != 1.0:
        ch.update(ex_min=np.ascontiguousarray(sys.ex_min * xf), ex_max=np.ascontiguousarray(sys.ex_max * xf))
    if not ch:
        return sys
    for k, v in ch.items():
        if isinstance(v, np.ndarray):
            ch[k] = np.ascontiguousarray(v, dtype=getattr(sys, k).dtype)
    return sys.with_(**ch)


def _state_dict(st: State) -> dict[str, Any]:
    return {k: getattr(st, k) for k in st.__dataclass_fields__}


# ---------------------------------------------------------------------------------------
# One task
# ---------------------------------------------------------------------------------------
def partition_dir(out: str | os.PathLike[str], sid: str) -> Path:
    """Where scenario ``sid`` of a sweep writing to ``out`` keeps its results."""
    return Path(out) / f"scenario={sid}"


def _finished_row(out: Path, sid: str) -> dict[str, Any] | None:
    f = partition_dir(out, sid) / "scenario.json"
    if not f.is_file():
        return None
    return json.loads(f.read_text(encoding="utf-8"))["row"]


def run_scenario(sid: str, label: str, params: dict[str, Any], out: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run one scenario and write ``out/scenario=<sid>/`` atomically; return its comparison row.

    Idempotent: if the partition already exists (an earlier run, or a duplicate attempt of
    a task whose worker was presumed dead) the stored row is returned and nothing is
    written. Finished windows are checkpointed under ``out/_work/<sid>/`` so a retried task
    resumes where the dead attempt stopped. ``options``: ``frames`` (the Result frames to
    keep), ``dynamic_peak_check`` (see :func:`dispatch.checks.peak_response`) and
    ``native_threads`` (:attr:`dispatch.native.NativeOptions.threads` and ``mcf_threads``;
    the dask workers run one process per core, so they set 1).
    """
    opts = dict(options or {})
    frames = tuple(opts.get("frames", DEFAULT_FRAMES))
    from .results import Result
    from .simulate import simulate

    root = Path(out)
    row = _finished_row(root, sid)
    if row is not None:
        return row
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    sys = scenario_arrays(params)
    work = root / "_work" / sid
    res = simulate(
        sys,
        engine=params["engine"],
        start=params["start"],
        hours=params["hours"] if params["hours"] is not None or params["case"] != "toy" else TOY_DEFAULT_HOURS,
        window_h=params["window_h"],
        lookahead_h=params["lookahead_h"],
        checkpoint_dir=work,
        progress=False,
        options=_engine_options(params["engine"], opts),
    )
    row = comparison_row(sid, label, params, sys, res, bool(opts.get("dynamic_peak_check", False)))
    row["task_wall_s"] = time.perf_counter() - t_wall
    row["task_cpu_s"] = time.process_time() - t_cpu  # this process's CPU (all its threads)
    tmp = root / f".tmp-{sid}-{uuid.uuid4().hex[:8]}"
    try:
        Result(frames={k: v for k, v in res.frames.items() if k in frames}, summary=res.summary, meta=res.meta).write(tmp)
        doc = {"id": sid, "label": label, "params": params, "row": row, "spec_version": SPEC_VERSION}
        (tmp / "scenario.json").write_text(json.dumps(doc, indent=2, default=_json_default), encoding="utf-8")
        _fsync_dir(tmp)
        try:
            os.rename(tmp, partition_dir(root, sid))
        except OSError:
            done = _finished_row(root, sid)
            if done is None:
                raise
            row = done  # another attempt of this task won the race; keep its result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return row


def _engine_options(engine: str, opts: Mapping[str, Any]) -> Any:
    """The window solver's options for a scenario task: the native engine's defaults, with
    ``native_threads`` where the task says so (identical results and the same checkpoint
    fingerprint, since the thread count is kept out of it, whichever the task runs with)."""
    if engine != "native":
        return None
    from .native import NativeOptions

    if "native_threads" not in opts:
        return NativeOptions()
    n = int(opts["native_threads"])
    return NativeOptions(threads=n, mcf_threads=n)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def comparison_row(sid: str, label: str, params: Mapping[str, Any], sys: SystemArrays, res: Any,
                   dynamic: bool = False) -> dict[str, Any]:
    """The scenario's line of the comparison table (flat scalars only).

    The policy columns come from :mod:`dispatch.checks` where it exists (``checks`` column
    says which); otherwise: ``peak_response_ratio`` = DR nameplate / peak load of the
    scenario's horizon, ``re_utilisation`` = used / available wind+solar energy,
    ``hydro_utilisation`` = hydro energy / (energy + avoidable spill).
    """
    s = res.summary
    curt = s.get("curtailment_mwh", {})
    e = s.get("energy_by_type_mwh", {})
    peak_case = float(sys.load_mw.sum(axis=1).max()) if sys.n_hours else 0.0
    dr_mw = float(sys.dr_pmax.sum())
    wind_used, solar_used = float(e.get("wind", 0.0)), float(e.get("solar", 0.0))
    wind_c, solar_c = float(curt.get("wind", 0.0)), float(curt.get("solar", 0.0))
    spill = float(curt.get("hydro_spill", 0.0))
    hydro_used = float(e.get("hydro", 0.0))
    re_av = wind_used + wind_c + solar_used + solar_c
    row: dict[str, Any] = {
        "scenario": sid,
        "label": label,
        "case": params["case"],
        "hydrology": params["hydrology"],
        "engine": params["engine"],
        "start": str(s.get("start")),
        "currency": str(s.get("currency", sys.currency)),
        "hours": int(s.get("hours", 0)),
        "load_growth": float(params["load_growth"]),
        "dr_share": params["dr_share"],
        "storage_scale": json.dumps(params["storage_scale"]) if isinstance(params["storage_scale"], Mapping) else str(params["storage_scale"]),
        "storage_added": "+".join(u["name"] for u in params["storage_add"]),
        "exports_factor": float(params["exports_factor"]),
        "total_cost": float(s.get("total_cost", float("nan"))),
        "co2_t": float(s.get("co2_t", float("nan"))),
        "curtailed_wind_mwh": wind_c,
        "curtailed_solar_mwh": solar_c,
        "hydro_spill_avoidable_mwh": spill,
        "hydro_spill_total_mwh": float(s.get("hydro_spill_total_mwh", float("nan"))),
        "unserved_mwh": float(s.get("unserved_mwh", float("nan"))),
        "load_mwh": float(s.get("load_mwh", float("nan"))),
        "peak_load_mw": peak_case,
        "dr_capacity_mw": dr_mw,
        "storage_power_mw": float(sys.st_pdis.sum()),
        "storage_energy_mwh": float(sys.st_emax.sum()),
        # static policy checks (see module constants)
        "peak_response_ratio": dr_mw / peak_case if peak_case > 0 else float("nan"),
        "peak_response_ok": bool(peak_case > 0 and dr_mw / peak_case >= PEAK_RESPONSE_TARGET - 1e-12),
        "re_utilisation": (wind_used + solar_used) / re_av if re_av > 0 else float("nan"),
        "hydro_utilisation": hydro_used / (hydro_used + spill) if hydro_used + spill > 0 else float("nan"),
        "max_balance_violation_mw": float(s.get("max_balance_violation_mw", float("nan"))),
        "window_gap_max_pct": s.get("window_gap_max_pct"),
        "sim_wall_s": float(s.get("wall_s", float("nan"))),
    }
    row["re_utilisation_ok"] = bool(not math.isfinite(row["re_utilisation"]) or row["re_utilisation"] >= RE_UTILISATION_TARGET)
    row["checks"] = "sweep (simple static)"
    row.update(_policy_checks(res, sys, dynamic))
    return row


def _policy_checks(res: Any, sys: SystemArrays, dynamic: bool = False) -> dict[str, Any]:
    """The two policy checks from :mod:`dispatch.checks` (where that module exists).

    Overrides the simple static columns of :func:`comparison_row` with the checks' own
    definitions (DR derated for duration and events over the peak periods; utilisation per
    technology) and adds their verdicts. The scenario's own (modified) arrays are the case,
    so the peak is that of the scenario's whole horizon.
    """
    try:
        from . import checks
    except ImportError:
        return {}
    pr = checks.peak_response(res, case=sys, dynamic=dynamic)
    cu = checks.curtailment(res, case=sys)
    out: dict[str, Any] = {
        "checks": "dispatch.checks",
        "peak_load_mw": float(pr.annual_peak_mw),
        "peak_response_ratio": float(pr.static_share),
        "peak_response_ok": bool(pr.passed),
        "dr_effective_mw": float(pr.dr_effective_mw),
        "curtailment_ok": bool(cu.passed) if cu.passed is not None else None,
    }
    if dynamic:
        out["peak_response_dynamic_ratio"] = pr.dynamic_share
    tot = {t: (a, u) for t, a, u in cu.totals.select("tech", "available_mwh", "used_mwh").iter_rows()}
    ws = [tot[t] for t in ("wind", "solar") if t in tot]
    a_ws, u_ws = sum(a for a, _ in ws), sum(u for _, u in ws)
    out["re_utilisation"] = u_ws / a_ws if a_ws > 0 else float("nan")
    if "hydro" in tot:
        a, u = tot["hydro"]
        out["hydro_utilisation"] = u / a if a > 0 else float("nan")
    out["re_utilisation_ok"] = bool(not math.isfinite(out["re_utilisation"]) or out["re_utilisation"] >= RE_UTILISATION_TARGET)
    return out


# ---------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------
def sweep(
    spec: str | os.PathLike[str] | Mapping[str, Any] | SweepSpec,
    *,
    scheduler: str | None = None,
    out: str | os.PathLike[str] = "sweep",
    workers: int | None = None,
    progress: bool = True,
    retries: int | None = None,
) -> pl.DataFrame:
    """Run every scenario of a spec on Dask and compare them.

    Parameters
    ----------
    spec : path to a TOML file, a mapping or a SweepSpec
        See the module docstring.
    scheduler : str or None
        None: a LocalCluster on 127.0.0.1 (processes, one thread each); a scheduler
        address such as ``'tcp://10.0.0.5:8786'``: run there; ``'serial'``: an in-process
        loop without Dask (the baseline the cluster is measured against).
    out : path
        Output directory; scenarios already finished there are skipped.
    workers : int or None
        Worker processes of the LocalCluster (default 2); ignored with a scheduler address.
    progress : bool
        Show a progress bar over tasks and print the dashboard address.
    retries : int or None
        Times a task that raised is re-run, overriding the spec's ``[sweep] retries``.
        A task whose worker died is re-scheduled ``max(3, retries + 1)`` times on a
        LocalCluster (``distributed.scheduler.allowed-failures``; an external
        scheduler uses its own setting).

    Returns
    -------
    polars.DataFrame
        The comparison table, one row per scenario in spec order (also written to
        ``out/comparison.parquet``, ``.csv`` and plotted in ``out/comparison.png``).

    Raises
    ------
    SweepError
        For a bad spec, or (after every other scenario finished and the table of those
        was written) when some scenarios failed; it lists them with their errors.
    """
    sp = load_spec(spec)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    n_retry = sp.retries if retries is None else int(retries)
    _write_spec(root, sp)
    _clean_stale(root, {s.id for s in sp.scenarios})
    todo = [s for s in sp.scenarios if _finished_row(root, s.id) is None]
    failures: dict[str, str] = {}
    if progress and len(todo) < len(sp.scenarios):
        print(f"sweep: {len(sp.scenarios) - len(todo)} of {len(sp.scenarios)} scenarios already finished in {root}", file=_sys.stderr)
    if todo:
        if scheduler == "serial":
            failures = _run_serial(todo, root, sp.run_options, progress)
        else:
            failures = _run_dask(todo, root, sp.run_options, scheduler, workers, progress, n_retry)
    rows = [r for s in sp.scenarios if (r := _finished_row(root, s.id)) is not None]
    table = comparison_table(rows)
    write_comparison(table, root)
    shutil.rmtree(root / "_work", ignore_errors=True) if not failures else None
    if failures:
        lines = "\n".join(f"  {sid} ({next(s.label for s in sp.scenarios if s.id == sid)}): {err}" for sid, err in failures.items())
        raise SweepError(f"{len(failures)} of {len(sp.scenarios)} scenarios failed (re-run to retry only these):\n{lines}")
    return table


def _write_spec(root: Path, sp: SweepSpec) -> None:
    from .results import _atomic_write

    doc = {"source": sp.source, "name": sp.name, "retries": sp.retries, **sp.run_options,
           "scenarios": [{"id": s.id, "label": s.label, "params": s.params} for s in sp.scenarios]}
    text = json.dumps(doc, indent=2, default=_json_default)
    _atomic_write(root / "spec.json", lambda p: Path(p).write_text(text, encoding="utf-8"))


def _clean_stale(root: Path, ids: set[str]) -> None:
    """Remove temporary directories left by killed attempts (no sweep runs on ``root`` now)."""
    for d in root.glob(".tmp-*"):
        shutil.rmtree(d, ignore_errors=True)


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="scenario", desc="sweep")


def _run_serial(todo: list[Scenario], root: Path, options: dict[str, Any], progress: bool) -> dict[str, str]:
    failures: dict[str, str] = {}
    bar = _bar(len(todo), progress)
    try:
        for s in todo:
            try:
                run_scenario(s.id, s.label, s.params, str(root), options)
            except Exception as e:  # noqa: BLE001 - reported per scenario
                failures[s.id] = f"{type(e).__name__}: {e}"
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return failures


#: Dask settings for the workers of the LocalCluster a sweep starts (its nannies pass the
#: config on): no statistical profiler. Distributed's profiler samples the running task's
#: stack every 10 ms holding the GIL; on the engine's Python-orchestrated windows that cost
#: 27 % more CPU per scenario on a worker than in a serial loop (benches/SWEEP.md). Set the
#: same on the workers of a cluster you start yourself (``distributed.worker.profile.enabled:
#: false`` in its dask config) for the same effect.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def _run_dask(todo: list[Scenario], root: Path, options: dict[str, Any], scheduler: str | None,
              workers: int | None, progress: bool, retries: int) -> dict[str, str]:
    import dask
    from distributed import Client, LocalCluster, as_completed

    failures: dict[str, str] = {}
    cluster = None
    options = {**options, "native_threads": 1}  # one process per core: no second thread each
    with dask.config.set({"distributed.scheduler.allowed-failures": max(3, retries + 1), **LOCAL_WORKER_CONFIG}):
        if scheduler is None:
            n = int(workers) if workers else 2
            if n < 1:
                raise SweepError(f"workers must be >= 1, got {workers}")
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # loopback only, a free port
            )
            client = Client(cluster)
        else:
            if not isinstance(scheduler, str) or "://" not in scheduler:
                raise SweepError(f"scheduler must be an address like 'tcp://host:8786' (or 'serial'), got {scheduler!r}")
            client = Client(scheduler)
    try:
        if progress:
            link = _dashboard(client) if _has_bokeh() or cluster is None else None
            print(f"sweep: {len(todo)} scenarios on {client.scheduler.address}"
                  + (f"; dashboard {link}" if link else ""), file=_sys.stderr)
        futures = {
            client.submit(run_scenario, s.id, s.label, s.params, str(root.resolve()), options,
                          key=f"scenario-{s.id}", retries=retries, pure=False): s
            for s in todo
        }
        bar = _bar(len(todo), progress)
        try:
            for fut in as_completed(futures):
                s = futures[fut]
                if fut.status != "finished":
                    try:
                        exc = fut.exception()
                        failures[s.id] = f"{type(exc).__name__}: {exc}"
                    except Exception as e:  # noqa: BLE001 - e.g. cancelled
                        failures[s.id] = f"{type(e).__name__}: {e}"
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return failures


def _dashboard(client: Any) -> str | None:
    """The dashboard link, or None when the scheduler serves none."""
    try:
        return str(client.dashboard_link) if client.scheduler_info().get("services", {}).get("dashboard") else None
    except Exception:  # noqa: BLE001 - a link is a courtesy
        return None


@functools.cache
def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# Comparison table and plot
# ---------------------------------------------------------------------------------------
def comparison_table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per scenario (columns as :func:`comparison_row`), in the given order."""
    if not rows:
        return pl.DataFrame({"scenario": [], "label": []}, schema={"scenario": pl.Utf8, "label": pl.Utf8})
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    return pl.DataFrame([{k: r.get(k) for k in keys} for r in rows], infer_schema_length=None)


def write_comparison(table: pl.DataFrame, out: str | os.PathLike[str]) -> None:
    """Write ``comparison.parquet``, ``comparison.csv`` and ``comparison.png`` into ``out``."""
    from .results import _atomic_write

    root = Path(out)
    _atomic_write(root / "comparison.parquet", lambda p: table.write_parquet(p))
    _atomic_write(root / "comparison.csv", lambda p: table.write_csv(p))
    if table.height:
        _atomic_write(root / "comparison.png", lambda p: plot_comparison(table, p))


def plot_comparison(table: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Six panels across scenarios: cost, CO2, curtailment by type, unserved energy and the
    two policy checks against their targets."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    labels = [str(x) for x in table["label"]]
    x = np.arange(len(labels))
    fig, axes = plt.subplots(2, 3, figsize=(max(10.0, 1.1 * len(labels) + 6), 7.5), sharex=True)
    cur = table["currency"][0] if "currency" in table.columns else "CNY"
    ax = axes[0, 0]
    ax.bar(x, table["total_cost"].to_numpy() / 1e6, color="#4c72b0")
    ax.set_title(f"total cost (million {cur})")
    ax = axes[0, 1]
    ax.bar(x, table["co2_t"].to_numpy() / 1e3, color="#55a868")
    ax.set_title("CO2 (kt)")
    ax = axes[0, 2]
    bottom = np.zeros(len(x))
    for col, name, color in (("curtailed_wind_mwh", "wind", "#8172b2"), ("curtailed_solar_mwh", "solar", "#ccb974"),
                             ("hydro_spill_avoidable_mwh", "hydro spill", "#64b5cd")):
        v = table[col].to_numpy() / 1e3
        ax.bar(x, v, bottom=bottom, label=name, color=color)
        bottom += v
    ax.set_title("curtailment (GWh)")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ax.bar(x, table["unserved_mwh"].to_numpy() / 1e3, color="#c44e52")
    ax.set_title("unserved energy (GWh)")
    ax = axes[1, 1]
    ax.bar(x, 100 * table["peak_response_ratio"].to_numpy(), color="#dd8452")
    ax.axhline(100 * PEAK_RESPONSE_TARGET, color="k", ls="--", lw=1, label=f"target {100 * PEAK_RESPONSE_TARGET:g}%")
    ax.set_title("DR capacity / peak load (%)")
    ax.legend(fontsize=8)
    ax = axes[1, 2]
    w = 0.4
    ax.bar(x - w / 2, 100 * table["re_utilisation"].cast(pl.Float64).to_numpy(), w, label="wind+solar", color="#937860")
    ax.bar(x + w / 2, 100 * table["hydro_utilisation"].cast(pl.Float64).to_numpy(), w, label="hydro", color="#64b5cd")
    ax.axhline(100 * RE_UTILISATION_TARGET, color="k", ls="--", lw=1, label=f"target {100 * RE_UTILISATION_TARGET:g}%")
    ax.set_ylim(min(80.0, float(np.nanmin(100 * table["re_utilisation"].to_numpy(), initial=100.0)) - 2), 100.5)
    ax.set_title("utilisation (%)")
    ax.legend(fontsize=8, loc="lower left")
    for a in axes[1]:
        a.set_xticks(x)
        a.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    for a in (axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]):  # non-negative quantities
        a.set_ylim(bottom=0.0)
    for a in axes.flat:
        a.grid(axis="y", alpha=0.3)
    fig.suptitle(f"scenario comparison ({len(labels)} scenarios)")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def read_frame(out: str | os.PathLike[str], frame: str) -> pl.DataFrame:
    """One result frame of every finished scenario, with a ``scenario`` column (hive scan)."""
    files = sorted(Path(out).glob(f"scenario=*/{frame}.parquet"))
    if not files:
        raise SweepError(f"{out}: no scenario has a {frame!r} frame (see [sweep] frames)")
    return pl.scan_parquet([str(f) for f in files], hive_partitioning=True).collect()


# ---------------------------------------------------------------------------------------
def main_cli(args: Any) -> int:
    """``dispatch sweep SPEC --out DIR [--scheduler ADDR] [--workers N]`` (argparse Namespace)."""
    out = getattr(args, "out", None) or "sweep"
    try:
        table = sweep(args.spec, scheduler=getattr(args, "scheduler", None), out=out,
                      workers=getattr(args, "workers", None), progress=not getattr(args, "quiet", False))
    except DispatchError as e:
        print(f"dispatch sweep: {e}", file=_sys.stderr)
        return 2
    cols = [c for c in ("label", "total_cost", "co2_t", "curtailed_wind_mwh", "curtailed_solar_mwh",
                        "hydro_spill_avoidable_mwh", "unserved_mwh", "peak_response_ratio", "re_utilisation")
            if c in table.columns]
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=160, fmt_str_lengths=40):
        print(table.select(cols))
    print(f"wrote {Path(out) / 'comparison.parquet'}, .csv, .png and {table.height} scenario partitions")
    return 0


__all__ = ["sweep", "main_cli", "load_spec", "scenario_arrays", "apply_modifications", "run_scenario",
           "comparison_table", "read_frame", "SweepSpec", "Scenario", "SweepError", "scenario_id"]
