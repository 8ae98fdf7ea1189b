"""Bad input: malformed case tables, time series and SystemArrays give a clear CaseError.

Property-based (hypothesis): the shipped Sichuan tables and series are copied into a
temporary ``DISPATCH_DATA`` folder, one cell, row or column is corrupted, and the loader
must raise :class:`dispatch.errors.CaseError` naming the file, the column and the row and
what is allowed -- never another exception from deep inside, never a silent clip.
:func:`dispatch.validate.validate_arrays` does the same for arrays built by a library
caller (field, element, hour). The CLI prints the message and exits 2 without a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch import schema
from dispatch.case import TABLE_FILES, data_dir, load_case, timeseries_dir
from dispatch.errors import CaseError
from dispatch.testing import toy_system
from dispatch.validate import validate_arrays, validate_state

CASE = "sichuan-2030"
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------------------------------
# a pristine copy of the data, and a per-example overlay where only edited files are copies


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(data_dir() / "sichuan", root / "networks" / "sichuan")
    ts = timeseries_dir()
    (root / "timeseries").mkdir()
    for sub in ("common", CASE):
        shutil.copytree(ts / sub, root / "timeseries" / sub)
    return root


@contextmanager
def overlay(pristine: Path) -> Iterator[Path]:
    """A data folder of symlinks to ``pristine``; replace a link by a file to corrupt it."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for f in pristine.rglob("*"):
            if f.is_file():
                dst = root / f.relative_to(pristine)
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(f)
        old = os.environ.get("DISPATCH_DATA")
        os.environ["DISPATCH_DATA"] = str(root)
        try:
            yield root
        finally:
            if old is None:
                del os.environ["DISPATCH_DATA"]
            else:
                os.environ["DISPATCH_DATA"] = old


def _table(root: Path, table: str) -> tuple[Path, pl.DataFrame]:
    p = root / "networks" / "sichuan" / TABLE_FILES[table]
    return p, pl.read_csv(p, infer_schema_length=0)


def _write(p: Path, write) -> None:
    p.unlink()  # a symlink: never write through it into the pristine copy
    write(p)


def _set_cell(root: Path, table: str, column: str, row: int, value: str) -> None:
    p, df = _table(root, table)
    vals = df[column].to_list()
    vals[row - 1] = value
    _write(p, df.with_columns(pl.Series(column, vals)).write_csv)


def _assert_where(err: CaseError, file_end: str, column: str | None, row: int | None) -> None:
    assert err.file is not None and err.file.endswith(file_end), (err.file, str(err))
    if column is not None:
        assert err.column == column, str(err)
        assert f"'{column}'" in str(err)
    if row is not None:
        assert err.row == row, str(err)
        assert f"row {row}" in str(err)


# ---------------------------------------------------------------------------------------
# tables
NUMERIC = [(t, c) for t in TABLE_FILES if t != "cases" for c in schema.SCHEMAS[t] if c.dtype != "str"]
NONNEG = [(t, c) for t, c in NUMERIC if c.lo is not None and c.lo >= 0]
MW = [(t, c) for t, c in NUMERIC if c.mw and t != "cases"]


@st.composite
def numeric_cell(draw, cols=NUMERIC):
    t, c = draw(st.sampled_from(cols))
    n = pl.read_csv(data_dir() / "sichuan" / TABLE_FILES[t], infer_schema_length=0).height
    return t, c, draw(st.integers(1, n))


@FAST
@given(cell=numeric_cell(), bad=st.sampled_from(["nan", "NaN", "inf", "-inf", "", "  ", "12 MW", "1,5", "abc"]))
def test_table_not_finite_or_not_a_number(pristine, cell, bad) -> None:
    t, c, row = cell
    with overlay(pristine) as root:
        _set_cell(root, t, c.name, row, bad)
        with pytest.raises(CaseError, match="NaN|missing|not a number") as ei:
            load_case(CASE)
    _assert_where(ei.value, TABLE_FILES[t], c.name, row)
    assert (c.unit or "unitless") in str(ei.value)


@FAST
@given(cell=numeric_cell(NONNEG), scale=st.sampled_from([-1.0, -1e-3, -1e6]))
def test_table_negative(pristine, cell, scale) -> None:
    t, c, row = cell
    with overlay(pristine) as root:
        _, df = _table(root, t)
        v = float(df[c.name][row - 1])
        _set_cell(root, t, c.name, row, repr(scale * (abs(v) + 1.0)))
        with pytest.raises(CaseError, match="negative|out of range|kW") as ei:
            load_case(CASE)
    _assert_where(ei.value, TABLE_FILES[t], c.name, row)
    assert "allowed" in str(ei.value)


@FAST
@given(cell=numeric_cell(MW))
def test_table_kw_instead_of_mw(pristine, cell) -> None:
    t, c, row = cell
    with overlay(pristine) as root:
        _, df = _table(root, t)
        v = 1000.0 * float(df[c.name][row - 1])
        if v <= (c.hi or 0):  # a tiny element in kW can still look like MW; not this rule
            return
        _set_cell(root, t, c.name, row, f"{v:g}")
        with pytest.raises(CaseError, match="kW instead of MW") as ei:
            load_case(CASE)
    _assert_where(ei.value, TABLE_FILES[t], c.name, row)


NAMED = ["thermal", "hydro", "renewables", "storage", "dr", "exports", "buses", "lines"]
BUS_COLS = [(t, c) for t, cs in schema.BUS_REFS.items() for c in cs]


@FAST
@given(data=st.data())
def test_table_names(pristine, data) -> None:
    """Duplicate element or bus names, and references to unknown buses."""
    kind = data.draw(st.sampled_from(["duplicate", "unknown_bus", "empty"]))
    with overlay(pristine) as root:
        if kind == "unknown_bus":
            t, c = data.draw(st.sampled_from(BUS_COLS))
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, c, row, "atlantis")
            match = "unknown bus 'atlantis'; must be a name in buses.csv"
        else:
            t = data.draw(st.sampled_from(NAMED))
            c = schema.SCHEMAS[t][0].name
            _, df = _table(root, t)
            row = data.draw(st.integers(2, df.height))
            if kind == "duplicate":
                first = data.draw(st.integers(1, row - 1))
                _set_cell(root, t, c, row, df[c][first - 1])
                match = f"duplicate name .* \\(first in row {first}\\); names must be unique"
            else:
                _set_cell(root, t, c, row, "")
                match = "empty name"
        with pytest.raises(CaseError, match=match) as ei:
            load_case(CASE)
    _assert_where(ei.value, TABLE_FILES[t], c, row)


@FAST
@given(data=st.data())
def test_table_rules_between_columns(pristine, data) -> None:
    """Pmin above Pmax, storage with zero energy, reservoirs with inflow but no outlet, ..."""
    rule = data.draw(st.sampled_from(["pmin", "storage_zero", "no_outlet", "vmin", "emin", "export_pmin"]))
    with overlay(pristine) as root:
        if rule == "pmin":
            t, col, match = "thermal", "p_min_mw", "p_min_mw > p_max_mw; need 0 <= p_min_mw <= p_max_mw"
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, "p_min_mw", row, f"{float(df['p_max_mw'][row - 1]) + data.draw(st.sampled_from([0.5, 100.0])):g}")
        elif rule == "storage_zero":
            t, col, match = "storage", "e_max_mwh", "zero energy capacity"
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, "e_min_mwh", row, "0")
            _set_cell(root, t, "e_max_mwh", row, "0")
        elif rule == "no_outlet":
            t, col, match = "hydro", "spill_max_m3s", "inflow but no outlet"
            _, df = _table(root, t)
            rows = [i + 1 for i, q in enumerate(df["mean_local_inflow_m3s"].cast(pl.Float64).to_list()) if q > 0]
            row = data.draw(st.sampled_from(rows))
            _set_cell(root, t, "p_max_mw", row, "0")
            _set_cell(root, t, "spill_max_m3s", row, "0")
        elif rule == "vmin":
            t, col, match = "hydro", "v_min_hm3", "v_min_hm3 > v_max_hm3"
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, "v_min_hm3", row, f"{float(df['v_max_hm3'][row - 1]) + 1:g}")
        elif rule == "emin":
            t, col, match = "storage", "e_min_mwh", "e_min_mwh > e_max_mwh"
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, "e_min_mwh", row, f"{float(df['e_max_mwh'][row - 1]) + 1:g}")
        else:
            t, col, match = "exports", "p_min_mw", "p_min_mw > p_max_mw"
            _, df = _table(root, t)
            row = data.draw(st.integers(1, df.height))
            _set_cell(root, t, "p_min_mw", row, f"{float(df['p_max_mw'][row - 1]) + 1:g}")
        with pytest.raises(CaseError, match=match) as ei:
            load_case(CASE)
    _assert_where(ei.value, TABLE_FILES[t], col, row)


# ---------------------------------------------------------------------------------------
# time series
SERIES = {
    "load": f"{CASE}/load.parquet",
    "renewables": "common/renewables_pu.parquet",
    "ror": "common/ror_pu_normal.parquet",
    "inflow": "common/inflow_normal.parquet",
    "exports": f"{CASE}/exports_normal.parquet",
}


def _series(root: Path, key: str) -> tuple[Path, pl.DataFrame]:
    p = root / "timeseries" / SERIES[key]
    return p, pl.read_parquet(p)


def _needed_columns(key: str) -> list[str]:
    case = load_case(CASE)  # the pristine data (DISPATCH_DATA unset or pointing at a good copy)
    return [c for c in case.series[{"renewables": "renewables_pu", "ror": "ror_pu"}.get(key, key)].columns if c != "hour"]


@pytest.fixture(scope="module")
def needed(pristine) -> dict[str, list[str]]:
    return {k: _needed_columns(k) for k in SERIES}


@FAST
@given(data=st.data())
def test_series_bad_values(pristine, needed, data) -> None:
    """NaN, inf, negative and kW values in one cell of a series."""
    key = data.draw(st.sampled_from(sorted(SERIES)))
    col = data.draw(st.sampled_from(needed[key]))
    row = data.draw(st.integers(1, schema.HOURS_PER_YEAR))
    kinds = ["nan", "inf", "-inf", "kw"] + ([] if key == "exports" else ["negative"])
    kind = data.draw(st.sampled_from(kinds))
    with overlay(pristine) as root:
        p, df = _series(root, key)
        a = df[col].cast(pl.Float64).to_numpy().copy()
        if kind == "kw":
            a[row - 1] = 1000.0 * max(abs(a[row - 1]), 100.0)
            if key == "inflow":
                a[row - 1] = 1e7  # m3/s: no river on Earth
        else:
            a[row - 1] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "negative": -abs(a[row - 1]) - 1.0}[kind]
        _write(p, df.with_columns(pl.Series(col, a)).write_parquet)
        with pytest.raises(CaseError, match="NaN|out of range|above maximum|kW") as ei:
            load_case(CASE)
    err = ei.value
    assert err.file.endswith(Path(SERIES[key]).name)
    if key == "exports" and "above maximum" in str(err):  # min above max names the _min column
        assert err.column == col.replace("_max", "_min") and err.row == row
    elif key == "load" and "peak_load_mw" in str(err):  # the order-of-magnitude guard on the total
        assert err.row == row
    else:
        _assert_where(err, Path(SERIES[key]).name, col, row)


@FAST
@given(data=st.data())
def test_series_bad_shape(pristine, needed, data) -> None:
    """Wrong length, gaps, repeats, a missing or an unknown column, a non-numeric column."""
    key = data.draw(st.sampled_from(sorted(SERIES)))
    kind = data.draw(st.sampled_from(["short", "long", "gap", "repeat", "drop", "unknown", "string", "float_hour"]))
    col = data.draw(st.sampled_from(needed[key]))
    with overlay(pristine) as root:
        p, df = _series(root, key)
        column, row, match = None, None, ""
        if kind == "short":
            n = data.draw(st.integers(0, schema.HOURS_PER_YEAR - 1))
            df, match = df.head(n), f"{n} rows; exactly 8760"
        elif kind == "long":
            df, match = pl.concat([df, df.tail(24)]), "8784 rows; exactly 8760"
        elif kind in ("gap", "repeat"):
            row = data.draw(st.integers(2, schema.HOURS_PER_YEAR))
            h = df["hour"].to_numpy().copy()
            if kind == "gap":
                h[row - 1:] += 1
            else:
                h[row - 1] = h[row - 2]
            df, column, match = df.with_columns(pl.Series("hour", h, dtype=df["hour"].dtype)), "hour", "without gaps or repeats"
        elif kind == "drop":
            df, column, match = df.drop(col), col, "missing column"
        elif kind == "unknown":
            df = df.rename({col: "atlantis"})
            column = None if key in ("renewables", "ror") else "atlantis"
            match = "unknown|missing column"
        elif kind == "string":
            df, column, match = df.with_columns(pl.col(col).cast(pl.String)), col, "not numeric"
        else:
            df, column, match = df.with_columns(pl.col("hour").cast(pl.Float64)), "hour", "integer"
        _write(p, df.write_parquet)
        with pytest.raises(CaseError, match=match) as ei:
            load_case(CASE)
    _assert_where(ei.value, Path(SERIES[key]).name, column, row)


@pytest.mark.parametrize("factor,match", [(1000.0, "kW instead of MW"), (3.0, r"3 x the case's peak_load_mw.*peak within")])
def test_load_series_scale(pristine, factor, match) -> None:
    """A load file in kW (or off by a factor) is caught: per cell, or against cases.csv's peak."""
    with overlay(pristine) as root:
        p, df = _series(root, "load")
        _write(p, df.with_columns([(pl.col(c) * factor) for c in df.columns if c != "hour"]).write_parquet)
        with pytest.raises(CaseError, match=match) as ei:
            load_case(CASE)
    assert ei.value.file.endswith("load.parquet")


def test_corrupt_files(pristine) -> None:
    with overlay(pristine) as root:
        p = root / "timeseries" / SERIES["inflow"]
        _write(p, lambda q: Path(q).write_bytes(b"PAR1 not really parquet"))
        with pytest.raises(CaseError, match="cannot read parquet"):
            load_case(CASE)
    with overlay(pristine) as root:
        p, _ = _table(root, "thermal")
        _write(p, lambda q: Path(q).write_bytes(b'name,plant\n"unterminated,\xff\xfe\n'))
        with pytest.raises(CaseError, match="thermal.csv"):
            load_case(CASE)


# ---------------------------------------------------------------------------------------
# the command line on a bad data folder
def test_cli_bad_data_no_traceback(pristine) -> None:
    with overlay(pristine) as root:
        _set_cell(root, "thermal", "p_min_mw", 3, "99999")
        env = {**os.environ, "DISPATCH_DATA": str(root)}
        r = subprocess.run([sys.executable, "-m", "dispatch.cli", "run", CASE, "--hours", "24", "--no-progress",
                            "--out", str(root / "out")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert "thermal.csv" in r.stderr and "column 'p_min_mw'" in r.stderr and "row 3" in r.stderr
    assert "allowed" in r.stderr or "need" in r.stderr
    assert not (root / "out").exists()


# ---------------------------------------------------------------------------------------
# SystemArrays built by a library caller
TOY = toy_system(24)
G, H, S, B = TOY.n_th, TOY.n_hy, TOY.n_st, TOY.n_bus


def _put(name: str, idx: tuple[int, ...], value: float):
    a = np.array(getattr(TOY, name), copy=True)
    a[idx] = value
    return TOY.with_(**{name: a})


@st.composite
def corrupted(draw):
    """(system, field, element label or None, hour or None, message pattern)."""
    kind = draw(st.sampled_from(["nan", "inf", "neg_cap", "pmin", "kw", "storage_zero", "vmin", "ex", "shape",
                                 "dup", "bus_index", "timestamps", "cycle", "history_off", "history_on", "hours0"]))
    g, h, s, t = draw(st.integers(0, G - 1)), draw(st.integers(0, H - 1)), draw(st.integers(0, S - 1)), draw(st.integers(0, 23))
    if kind in ("nan", "inf"):
        f = draw(st.sampled_from(["load_mw", "re_avail_mw", "hy_inflow", "th_pmax", "st_emax", "hy_k"]))
        a = getattr(TOY, f)
        idx = (t, draw(st.integers(0, a.shape[1] - 1))) if a.ndim == 2 else (draw(st.integers(0, a.shape[0] - 1)),)
        return _put(f, idx, np.nan if kind == "nan" else -np.inf), f, idx, "NaN or inf"
    if kind == "neg_cap":
        f = draw(st.sampled_from(["th_pmax", "hy_pmax", "st_pch", "st_pdis", "dr_pmax"]))
        n = getattr(TOY, f).shape[0]
        i = draw(st.integers(0, n - 1))
        return _put(f, (i,), -draw(st.floats(1e-3, 1e4))), f, (i,), "negative|above"
    if kind == "pmin":
        return _put("th_pmin", (g,), TOY.th_pmax[g] + 1.0), "th_pmin", (g,), "above p_max"
    if kind == "kw":
        f = draw(st.sampled_from(["th_pmax", "load_mw", "re_avail_mw", "hy_pmax", "ex_max"]))
        a = getattr(TOY, f)
        if a.ndim == 2:
            return TOY.with_(**{f: np.ascontiguousarray(a * 1e3 if f != "load_mw" else a * 1e4)}), f, None, "kW instead of MW"
        return TOY.with_(**{f: np.ascontiguousarray(a * 1e3 * 100)}), f, None, "kW instead of MW"
    if kind == "storage_zero":
        st_ = TOY.with_(st_emax=np.where(np.arange(S) == s, 0.0, TOY.st_emax), st_emin=np.where(np.arange(S) == s, 0.0, TOY.st_emin))
        return st_, "st_emax", (s,), "zero energy"
    if kind == "vmin":
        return _put("hy_vmin", (h,), TOY.hy_vmax[h] + 1), "hy_vmin", (h,), "vmin above vmax"
    if kind == "ex":
        return _put("ex_min", (t, 0), TOY.ex_max[t, 0] + 5), "ex_min", (t, 0), "ex_min above ex_max"
    if kind == "shape":
        f = draw(st.sampled_from(["load_mw", "re_avail_mw", "hy_inflow", "ex_max"]))
        a = getattr(TOY, f)
        return TOY.with_(**{f: np.ascontiguousarray(a[:-1])}), ("timestamps" if f == "load_mw" else f), None, "shape"
    if kind == "dup":
        f = draw(st.sampled_from(["th_names", "bus_names", "st_names", "hy_names"]))
        names = list(getattr(TOY, f))
        names[-1] = names[0]
        return TOY.with_(**{f: tuple(names)}), f, None, "duplicate .* name"
    if kind == "bus_index":
        return _put("th_bus", (g,), B + draw(st.integers(0, 5))), "th_bus", (g,), "out of range"
    if kind == "timestamps":
        ts = TOY.timestamps.copy()
        ts[t:] += np.timedelta64(1, "h")
        if t == 0:
            ts[1:] += np.timedelta64(1, "h")
        return TOY.with_(timestamps=ts), "timestamps", None, "without gaps"
    if kind == "cycle":
        return TOY.with_(hy_down=np.array([1, 0], dtype=np.int64), hy_delay=np.array([2, 1], dtype=np.int64)), "hy_down", None, "cycle"
    init = TOY.init
    assert init is not None
    if kind == "history_off":  # off for hours but still producing
        on = init.th_on.copy()
        on[g] = False
        p = init.th_p.copy()
        p[g] = TOY.th_pmin[g] + 1.0
        return TOY.with_(init=dataclasses.replace(init, th_on=on, th_p=p)), "state.th_p", (g,), "contradicts"
    if kind == "history_on":  # on but below pmin
        on = init.th_on.copy()
        on[g] = True
        p = init.th_p.copy()
        p[g] = 0.0
        return TOY.with_(init=dataclasses.replace(init, th_on=on, th_p=p)), "state.th_p", (g,), "below pmin"
    hrs = init.th_hours.copy()
    hrs[g] = 0
    return TOY.with_(init=dataclasses.replace(init, th_hours=hrs)), "state.th_hours", (g,), ">= 1"


def test_valid_systems_pass() -> None:
    validate_arrays(TOY)  # the Sichuan cases are checked in test_extreme.py (compiling them costs seconds)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(bad=corrupted())
def test_arrays_validation(bad) -> None:
    sys_, field, idx, match = bad
    with pytest.raises(CaseError, match=match) as ei:
        validate_arrays(sys_)
    e = ei.value
    assert e.column == field, str(e)
    assert f"'{field}'" in str(e) and "'toy'" in str(e)
    if idx is not None and field not in ("timestamps",):
        label_names = {"th": TOY.th_names, "hy": TOY.hy_names, "st": TOY.st_names, "dr": TOY.dr_names, "re": TOY.re_names,
                       "ex": TOY.ex_names, "lo": TOY.bus_names}
        key = field.replace("state.", "")[:2]
        names = label_names.get(key)
        if names is not None:
            assert repr(names[idx[-1]]) in str(e.row), (str(e), idx)
        if len(idx) == 2:
            assert f"hour {idx[0]}" in str(e.row), str(e)


def test_state_validation_shapes() -> None:
    init = TOY.init
    assert init is not None
    with pytest.raises(CaseError, match=r"state.hy_hist.*shape"):
        validate_state(TOY, dataclasses.replace(init, hy_hist=np.zeros((H, 7))))
    with pytest.raises(CaseError, match=r"state.st_e.*outside"):
        validate_state(TOY, dataclasses.replace(init, st_e=TOY.st_emax + 10.0))


def test_islanded_bus_in_ptdf_is_rejected() -> None:
    """A PTDF recomputed without the island's lines has an all-zero column: refuse it loudly."""
    ptdf = TOY.ptdf.copy()
    ptdf[:, 2] = 0.0  # 'east' cut off (its load would be served from the slack through no line)
    with pytest.raises(CaseError, match="islanded") as ei:
        validate_arrays(TOY.with_(ptdf=ptdf))
    assert "'east'" in str(ei.value)
