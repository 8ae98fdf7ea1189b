"""Validation of :class:`dispatch.arrays.SystemArrays` and :class:`State` built by callers.

The case loader validates files (:mod:`dispatch.schema`); a library caller who builds
``SystemArrays`` by hand, or edits one with ``sys.with_(...)``, skips that boundary. The
engines assume the contract of :mod:`dispatch.arrays` and would otherwise fail deep inside
a compiled kernel, or worse, return a schedule of a meaningless system. :func:`validate_arrays`
(called by :func:`dispatch.simulate` before the first window) and :func:`validate_state`
check it once, in Python, and raise :class:`dispatch.errors.CaseError` naming the field,
the element (unit, bus, line, ...) and the hour, and what is allowed. Nothing is clipped.

Checked
-------
* shapes (``(T, X)`` time arrays, one entry per name), dtypes, C-contiguity;
* every float finite (no NaN or inf);
* names non-empty and unique within a component; indices (``*_bus``, ``hy_down``) in range;
* hourly ``timestamps`` without gaps or repeats;
* signs and ranges: capacities, ramps, costs, efficiencies, loads non-negative;
  ``pmin <= pmax``; segments summing to ``pmax - pmin`` at non-decreasing cost;
  start-up lags ascending; ``vmin <= vmax``; storage with positive energy capacity and
  ``emin <= emax``; ``ex_min <= ex_max``; DC links with ``dc_pmax >= 0`` between two
  different buses; cascades without cycles, delay >= 1 downstream;
* order of magnitude: any single element above :data:`dispatch.schema.MAX_ELEMENT_MW`
  (a system load above :data:`MAX_SYSTEM_MW`) is taken as kW written for MW;
* the network: a non-slack bus with an all-zero PTDF column is islanded, which a PTDF model
  cannot represent (it would be served from the slack through no line at all); model the
  outage as ``line_max_mw = 0`` on the island's lines instead (its load is then shed);
* the initial state (:func:`validate_state`): shapes, ``th_hours >= 1``, on units within
  ``[pmin, pmax]``, off units at 0 MW, storage energy and reservoir volume within bounds.
"""

from __future__ import annotations

import numpy as np

from .arrays import State, SystemArrays
from .errors import CaseError
from .schema import MAX_ELEMENT_MW

__all__ = ["validate_arrays", "validate_state"]

#: Relative tolerance on equalities between float fields (segments vs pmax - pmin, ...).
TOL = 1e-6
#: Largest plausible total load of one system in MW (above the peak of any grid on Earth).
MAX_SYSTEM_MW = 2.0e6

# (component label, names field, [per-element fields], [time fields (T, X)])
_COMPONENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "bus": ("bus_names", (), ("load_mw",)),
    "line": ("line_names", ("line_max_mw",), ()),
    "unit": ("th_names", ("th_bus", "th_pmin", "th_pmax", "th_ramp_up", "th_ramp_down", "th_su_ramp", "th_sd_ramp",
                          "th_min_up", "th_min_down", "th_cost_pmin", "th_seg_mw", "th_seg_cost", "th_su_lag",
                          "th_su_cost", "th_co2", "th_must_run"), ()),
    "plant": ("re_names", ("re_bus",), ("re_avail_mw",)),
    "station": ("hy_names", ("hy_bus", "hy_k", "hy_pmax", "hy_qmin", "hy_vmin", "hy_vmax", "hy_down", "hy_delay"),
                ("hy_inflow",)),
    "storage": ("st_names", ("st_bus", "st_pch", "st_pdis", "st_emax", "st_emin", "st_eta_ch", "st_eta_dis", "st_loss"), ()),
    "resource": ("dr_names", ("dr_bus", "dr_pmax", "dr_cost", "dr_max_dur", "dr_max_events", "dr_payback_frac"), ()),
    "link": ("ex_names", ("ex_bus", "ex_price"), ("ex_min", "ex_max")),
    "dc link": ("dc_names", ("dc_from", "dc_to", "dc_pmax"), ()),
}
_KIND_FIELDS = {"th_kind": "th_names", "re_kind": "re_names", "hy_kind": "hy_names", "st_kind": "st_names"}
_INT_FIELDS = {"th_bus", "th_min_up", "th_min_down", "th_su_lag", "re_bus", "hy_bus", "hy_down", "hy_delay", "st_bus",
               "dr_bus", "dr_max_dur", "dr_max_events", "ex_bus", "dc_from", "dc_to"}
_BOOL_FIELDS = {"th_must_run"}
_TIMED = {"load_mw", "re_avail_mw", "hy_inflow", "ex_min", "ex_max"}


class _V:
    """Raises the first problem found, with the system name, field, element and hour."""

    def __init__(self, sys: SystemArrays, what: str = "SystemArrays") -> None:
        self.sys = sys
        self.what = f"{what} {sys.name!r}"

    def fail(self, field: str, msg: str, row: str | None = None) -> CaseError:
        return CaseError(f"{self.what}: {msg}", column=field, row=row)

    def where(self, field: str, label: str, names: tuple[str, ...], idx: tuple[int, ...], t0: int = 0) -> str:
        """'unit 'x'' or 'unit 'x', hour 5' for the index of a (X,) or (T, X) array."""
        if len(idx) == 2:
            t, x = idx
            return f"{label} {names[x]!r}, hour {t0 + t}"
        if len(idx) == 1 and names:
            return f"{label} {names[idx[0]]!r}"
        return f"hour {t0 + idx[0]}" if idx else ""

    def first(self, mask: np.ndarray) -> tuple[int, ...] | None:
        if not mask.any():
            return None
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))

    def check(self, mask: np.ndarray, field: str, label: str, names: tuple[str, ...], msg: str,
              values: np.ndarray | None = None) -> None:
        """Raise if any element of ``mask`` is True; ``mask`` has the shape of the field."""
        mask = np.asarray(mask, dtype=bool)
        i = self.first(mask)
        if i is None:
            return
        if mask.ndim == 2 and field not in _TIMED:
            i = i[:1]  # a per-element 2-D field (segments, start-up categories): name the element
        val = ""
        if values is not None:
            v = np.asarray(values)[tuple(np.unravel_index(int(np.argmax(mask)), mask.shape))]
            val = f" (value {v:g})" if np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number) else ""
        raise self.fail(field, msg + val, self.where(field, label, names, i))


def _arr(sys: SystemArrays, name: str) -> np.ndarray:
    return getattr(sys, name)


def validate_arrays(sys: SystemArrays) -> None:
    """Check ``sys`` against the contract of :mod:`dispatch.arrays` (see module docstring).

    Parameters
    ----------
    sys : SystemArrays
        The system to check (as built by a caller, a loader or ``sys.with_``).

    Raises
    ------
    CaseError
        The first problem found: field (``column``), element and hour (``row``), and what
        is allowed.
    """
    v = _V(sys)
    T = sys.n_hours
    # -- structure: types, shapes, dtypes, contiguity ----------------------------------------
    if not isinstance(sys.load_mw, np.ndarray) or sys.load_mw.ndim != 2:
        raise v.fail("load_mw", "must be a 2-D float64 array (hours x buses)")
    ts = np.asarray(sys.timestamps)
    if ts.shape != (T,):
        raise v.fail("timestamps", f"has shape {ts.shape}; one timestamp per hour of load_mw ({T},) is required")
    if T == 0:
        raise v.fail("load_mw", "has no hours; at least one hour is required")
    if ts.dtype.kind != "M":
        raise v.fail("timestamps", f"dtype {ts.dtype} is not datetime64; hour-beginning datetime64[h] is required")
    step = np.diff(ts.astype("datetime64[h]").astype(np.int64))
    bad = step != 1
    if bad.any():
        i = int(np.argmax(bad))
        raise v.fail("timestamps", f"step of {int(step[i])} h after {ts[i]}; hourly timestamps without gaps or repeats are required",
                     f"hour {i + 1}")
    for label, (nf, per, timed) in _COMPONENTS.items():
        names = getattr(sys, nf)
        if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
            raise v.fail(nf, "must be a tuple of str")
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if not n:
                raise v.fail(nf, "empty name", f"{label} {i}")
            if n in seen:
                raise v.fail(nf, f"duplicate {label} name {n!r} (also at index {seen[n]}); names must be unique", f"{label} {i}")
            seen[n] = i
        X = len(names)
        for f in per + timed:
            a = _arr(sys, f)
            if not isinstance(a, np.ndarray):
                raise v.fail(f, f"must be a numpy array, not {type(a).__name__}")
            want0 = T if f in timed else X
            if a.ndim == 0 or a.shape[0] != want0 or (f in timed and (a.ndim != 2 or a.shape[1] != X)):
                want = f"({T}, {X})" if f in timed else f"({X}, ...)"
                raise v.fail(f, f"has shape {a.shape}; {want} is required (one entry per {label}{' and hour' if f in timed else ''})")
            _dtype(v, f, a)
    for kf, nf in _KIND_FIELDS.items():
        if len(getattr(sys, kf)) != len(getattr(sys, nf)):
            raise v.fail(kf, f"has {len(getattr(sys, kf))} entries for {len(getattr(sys, nf))} names")
    G, B, L = sys.n_th, sys.n_bus, sys.n_line
    for f, shape in (("th_seg_cost", sys.th_seg_mw.shape), ("th_su_cost", sys.th_su_lag.shape)):
        if _arr(sys, f).shape != shape:
            raise v.fail(f, f"has shape {_arr(sys, f).shape}; the shape of its partner {shape} is required")
    for f, shape in (("ptdf", (L, B)), ("reserve_up_mw", (T,))):
        a = _arr(sys, f)
        if not isinstance(a, np.ndarray) or a.shape != shape:
            raise v.fail(f, f"has shape {getattr(a, 'shape', None)}; {shape} is required")
        _dtype(v, f, a)
    for f in ("voll", "reserve_short_cost", "curtail_cost", "spill_cost"):
        x = getattr(sys, f)
        if not isinstance(x, (int, float, np.floating, np.integer)) or not np.isfinite(x) or x < 0:
            raise v.fail(f, f"value {x!r} not allowed; a finite non-negative number (currency/MWh) is required")
    if not sys.voll > 0:
        raise v.fail("voll", "value of lost load must be > 0 (load is shed at voll)")
    # -- finiteness of every float -----------------------------------------------------------
    for label, (nf, per, timed) in _COMPONENTS.items():
        names = getattr(sys, nf)
        for f in per + timed:
            a = _arr(sys, f)
            if a.dtype.kind == "f":
                v.check(~np.isfinite(a), f, label, names, "value is NaN or inf; finite values are required", a)
    v.check(~np.isfinite(sys.ptdf), "ptdf", "line", sys.line_names, "PTDF entry is NaN or inf")
    v.check(~np.isfinite(sys.reserve_up_mw), "reserve_up_mw", "hour", (), "value is NaN or inf", sys.reserve_up_mw)
    # -- indices --------------------------------------------------------------------------
    for label, (nf, per, _) in _COMPONENTS.items():
        for f in per:
            if f.endswith("_bus") or f in ("dc_from", "dc_to"):
                a = _arr(sys, f)
                v.check((a < 0) | (a >= B), f, label, getattr(sys, nf), f"bus index out of range; 0 <= index < {B} (n_bus) is required", a)
    # -- ranges ---------------------------------------------------------------------------
    big = MAX_ELEMENT_MW
    kw = f"implausibly large for MW (kW instead of MW?); at most {big:g} MW per element"
    neg = "is negative; a value >= 0 is required"
    v.check(sys.load_mw < 0, "load_mw", "bus", sys.bus_names, f"load {neg} (MW)", sys.load_mw)
    tot = sys.load_mw.sum(axis=1)
    v.check(tot > MAX_SYSTEM_MW, "load_mw", "hour", (), f"system load implausibly large for MW (kW instead of MW?); at most "
            f"{MAX_SYSTEM_MW:g} MW in total per hour", tot)
    v.check(sys.line_max_mw < 0, "line_max_mw", "line", sys.line_names, f"rating {neg} (MW; 0 = line out)", sys.line_max_mw)
    names = sys.th_names
    for f in ("th_pmin", "th_pmax", "th_su_ramp", "th_sd_ramp", "th_cost_pmin", "th_seg_mw", "th_su_cost", "th_co2",
              "th_min_up", "th_min_down"):
        v.check(_arr(sys, f) < 0, f, "unit", names, f"value {neg}", _arr(sys, f))
    for f in ("th_pmax", "th_pmin"):
        v.check(_arr(sys, f) > big, f, "unit", names, kw, _arr(sys, f))
    v.check(sys.th_pmin > sys.th_pmax * (1 + TOL), "th_pmin", "unit", names, "p_min above p_max; 0 <= pmin <= pmax is required", sys.th_pmin)
    for f in ("th_ramp_up", "th_ramp_down"):
        v.check(_arr(sys, f) <= 0, f, "unit", names, "ramp must be > 0 MW/h", _arr(sys, f))
    if G and sys.th_seg_mw.shape[1]:
        span = sys.th_pmax - sys.th_pmin
        v.check(np.abs(sys.th_seg_mw.sum(axis=1) - span) > TOL * np.maximum(1.0, sys.th_pmax), "th_seg_mw", "unit", names,
                "segments do not add up to pmax - pmin", sys.th_seg_mw.sum(axis=1))
        v.check(np.diff(sys.th_seg_cost, axis=1) < -TOL * np.maximum(1.0, np.abs(sys.th_seg_cost[:, 1:])), "th_seg_cost", "unit",
                names, "segment costs decrease (cost curve not convex); non-decreasing costs are required")
    if G and sys.th_su_lag.shape[1]:
        v.check(sys.th_su_lag < 1, "th_su_lag", "unit", names, "start-up lag must be >= 1 h", sys.th_su_lag)
        v.check(np.diff(sys.th_su_lag, axis=1) < 0, "th_su_lag", "unit", names, "start-up lags must be non-decreasing (hot, warm, cold)")
    names = sys.re_names
    v.check(sys.re_avail_mw < 0, "re_avail_mw", "plant", names, f"availability {neg} (MW)", sys.re_avail_mw)
    v.check(sys.re_avail_mw > big, "re_avail_mw", "plant", names, kw, sys.re_avail_mw)
    names = sys.hy_names
    for f in ("hy_pmax", "hy_qmin", "hy_vmin", "hy_vmax", "hy_delay"):
        v.check(_arr(sys, f) < 0, f, "station", names, f"value {neg}", _arr(sys, f))
    v.check(sys.hy_inflow < 0, "hy_inflow", "station", names, f"inflow {neg} (m3/s)", sys.hy_inflow)
    v.check(sys.hy_k <= 0, "hy_k", "station", names, "conversion factor must be > 0 MW per m3/s", sys.hy_k)
    v.check(sys.hy_pmax > big, "hy_pmax", "station", names, kw, sys.hy_pmax)
    v.check(sys.hy_vmin > sys.hy_vmax, "hy_vmin", "station", names, "vmin above vmax; 0 <= vmin <= vmax is required", sys.hy_vmin)
    H = sys.n_hy
    v.check((sys.hy_down < -1) | (sys.hy_down >= H), "hy_down", "station", names, f"downstream index out of range; -1 (none) or 0 <= index < {H}", sys.hy_down)
    v.check(sys.hy_down == np.arange(H), "hy_down", "station", names, "a station cannot be its own downstream")
    v.check((sys.hy_down >= 0) & (sys.hy_delay < 1), "hy_delay", "station", names, "delay must be >= 1 h when there is a downstream station", sys.hy_delay)
    for h in range(H):
        seen, cur = {h}, int(sys.hy_down[h])
        while cur >= 0:
            if cur in seen:
                raise v.fail("hy_down", f"cascade cycle through station {names[cur]!r}", f"station {names[h]!r}")
            seen.add(cur)
            cur = int(sys.hy_down[cur])
    names = sys.st_names
    for f in ("st_pch", "st_pdis", "st_emin"):
        v.check(_arr(sys, f) < 0, f, "storage", names, f"value {neg}", _arr(sys, f))
    for f in ("st_pch", "st_pdis"):
        v.check(_arr(sys, f) > big, f, "storage", names, kw, _arr(sys, f))
    v.check(sys.st_emax <= 0, "st_emax", "storage", names, "storage with zero energy capacity; emax must be > 0 MWh "
            "(remove the unit instead)", sys.st_emax)
    v.check(sys.st_emin > sys.st_emax, "st_emin", "storage", names, "emin above emax; 0 <= emin <= emax is required", sys.st_emin)
    for f in ("st_eta_ch", "st_eta_dis"):
        v.check((_arr(sys, f) <= 0) | (_arr(sys, f) > 1), f, "storage", names, "efficiency must be in (0, 1]", _arr(sys, f))
    v.check((sys.st_loss < 0) | (sys.st_loss >= 1), "st_loss", "storage", names, "self-discharge must be in [0, 1) per hour", sys.st_loss)
    names = sys.dr_names
    for f in ("dr_pmax", "dr_cost", "dr_max_events", "dr_payback_frac"):
        v.check(_arr(sys, f) < 0, f, "resource", names, f"value {neg}", _arr(sys, f))
    v.check(sys.dr_pmax > big, "dr_pmax", "resource", names, kw, sys.dr_pmax)
    v.check(sys.dr_max_dur < 1, "dr_max_dur", "resource", names, "event duration must be >= 1 h", sys.dr_max_dur)
    names = sys.ex_names
    v.check(np.abs(sys.ex_min) > big, "ex_min", "link", names, kw, sys.ex_min)
    v.check(np.abs(sys.ex_max) > big, "ex_max", "link", names, kw, sys.ex_max)
    v.check(sys.ex_min > sys.ex_max + TOL * np.maximum(1.0, np.abs(sys.ex_max)), "ex_min", "link", names,
            "ex_min above ex_max; ex_min <= ex_max is required", sys.ex_min)
    names = sys.dc_names
    v.check(sys.dc_pmax < 0, "dc_pmax", "dc link", names, f"capacity {neg} (MW, the same in both directions)", sys.dc_pmax)
    v.check(sys.dc_pmax > big, "dc_pmax", "dc link", names, kw, sys.dc_pmax)
    v.check(sys.dc_from == sys.dc_to, "dc_to", "dc link", names, "link ends at the bus it starts from; dc_from != dc_to "
            "is required", sys.dc_to)
    v.check(sys.reserve_up_mw < 0, "reserve_up_mw", "hour", (), f"reserve requirement {neg} (MW)", sys.reserve_up_mw)
    _check_islands(v, sys)
    if sys.init is not None:
        validate_state(sys, sys.init, what="SystemArrays.init of")


def _dtype(v: _V, f: str, a: np.ndarray) -> None:
    if f in _BOOL_FIELDS:
        ok, want = a.dtype == np.bool_, "bool"
    elif f in _INT_FIELDS:
        ok, want = a.dtype.kind in "iu", "int64"
    else:
        ok, want = a.dtype.kind == "f", "float64"
    if not ok:
        raise v.fail(f, f"dtype {a.dtype} not allowed; {want} is required")
    if not a.flags.c_contiguous:
        raise v.fail(f, "array is not C-contiguous; pass np.ascontiguousarray(...)")


def _check_islands(v: _V, sys: SystemArrays) -> None:
    """A bus other than the slack whose PTDF column is all zero is cut off from the network."""
    if sys.n_line == 0:
        return
    zero = np.flatnonzero(np.all(np.abs(sys.ptdf) < 1e-12, axis=0))
    slack = sys.meta.get("slack_bus") if isinstance(sys.meta, dict) else None
    if slack in sys.bus_names:
        island = [int(b) for b in zero if sys.bus_names[b] != slack]
    else:
        island = [int(b) for b in zero][1:] if len(zero) > 1 else []
    used = np.zeros(sys.n_bus, dtype=bool)
    used |= sys.load_mw.max(axis=0) > 0
    for f in ("th_bus", "re_bus", "hy_bus", "st_bus", "dr_bus", "ex_bus", "dc_from", "dc_to"):
        used[_arr(sys, f)] = True
    island = [b for b in island if used[b]]
    if island:
        names = ", ".join(repr(sys.bus_names[b]) for b in island)
        raise v.fail("ptdf", f"bus(es) {names} have an all-zero PTDF column: they are islanded (not connected to the slack), "
                     "which a PTDF model would serve from the slack through no line; keep the lines in the PTDF and set their "
                     "line_max_mw to 0 (the island's load is then shed), or remove the island's elements",
                     f"bus {sys.bus_names[island[0]]!r}")


def validate_state(sys: SystemArrays, state: State, what: str = "State for") -> None:
    """Check an initial :class:`State` against ``sys`` (shapes, history, bounds).

    Raises
    ------
    CaseError
        Naming the field, the element and what is allowed.
    """
    v = _V(sys, what)
    D = max(1, sys.max_delay)
    shapes: dict[str, tuple[tuple[int, ...], str, tuple[str, ...]]] = {
        "th_on": ((sys.n_th,), "unit", sys.th_names), "th_hours": ((sys.n_th,), "unit", sys.th_names),
        "th_p": ((sys.n_th,), "unit", sys.th_names), "st_e": ((sys.n_st,), "storage", sys.st_names),
        "hy_v": ((sys.n_hy,), "station", sys.hy_names), "hy_hist": ((sys.n_hy, D), "station", sys.hy_names),
        "dr_events_used": ((sys.n_dr,), "resource", sys.dr_names),
    }
    for f, (shape, label, _) in shapes.items():
        a = getattr(state, f)
        if not isinstance(a, np.ndarray) or a.shape != shape:
            raise v.fail(f"state.{f}", f"has shape {getattr(a, 'shape', None)}; {shape} is required (one per {label})")
        if a.dtype.kind == "f":
            v.check(~np.isfinite(a), f"state.{f}", label, shapes[f][2], "value is NaN or inf", a)
    tol = 1e-6 * np.maximum(1.0, sys.th_pmax)
    on = state.th_on.astype(bool)
    n = sys.th_names
    v.check(state.th_hours < 1, "state.th_hours", "unit", n, "hours in the current on/off state must be >= 1", state.th_hours)
    v.check(on & (state.th_p < sys.th_pmin - tol), "state.th_p", "unit", n,
            "unit is on but its last output is below pmin; an on unit needs pmin <= th_p <= pmax", state.th_p)
    v.check(on & (state.th_p > sys.th_pmax + tol), "state.th_p", "unit", n, "last output above pmax", state.th_p)
    v.check(~on & (np.abs(state.th_p) > tol), "state.th_p", "unit", n,
            "unit is off but its last output is not 0 MW; the history contradicts the on/off state", state.th_p)
    t = 1e-6 * np.maximum(1.0, sys.st_emax)
    v.check((state.st_e < sys.st_emin - t) | (state.st_e > sys.st_emax + t), "state.st_e", "storage", sys.st_names,
            "energy outside [emin, emax]", state.st_e)
    t = 1e-6 * np.maximum(1.0, sys.hy_vmax)
    v.check((state.hy_v < sys.hy_vmin - t) | (state.hy_v > sys.hy_vmax + t), "state.hy_v", "station", sys.hy_names,
            "volume outside [vmin, vmax]", state.hy_v)
    v.check(state.hy_hist < 0, "state.hy_hist", "station", sys.hy_names, "upstream outflow history must be >= 0 m3/s", state.hy_hist)
    v.check((state.dr_events_used < 0) | (state.dr_events_used > sys.dr_max_events), "state.dr_events_used", "resource",
            sys.dr_names, "events used outside [0, max_events]", state.dr_events_used)
