"""Shipped Sichuan cases: loading, validation errors, calibration, compile, build determinism."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
import types
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import dispatch
from dispatch.case import HYDROLOGIES, data_dir, load_case, timeseries_dir
from dispatch.errors import CaseError

ROOT = Path(__file__).resolve().parents[1]
CASES = ("sichuan-2024", "sichuan-2025", "sichuan-2030")


# ------------------------------------------------------------------------------ loading
def test_list_cases() -> None:
    names = dispatch.list_cases()
    for c in CASES + ("rts-gmlc",):
        assert c in names


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("hydrology", HYDROLOGIES)
def test_load_case_fast_and_valid(name: str, hydrology: str) -> None:
    load_case("sichuan-2024")  # warm imports (polars/numpy) outside the timing
    t = time.perf_counter()
    case = load_case(name, hydrology)
    wall = time.perf_counter() - t
    assert wall < 2.0, f"{name}/{hydrology} loaded in {wall:.2f} s"
    assert case.name == name and case.hydrology == hydrology and case.year == int(name[-4:])
    for key in ("thermal", "hydro", "renewables", "storage", "dr", "exports", "buses", "lines"):
        assert isinstance(case.tables[key], pl.DataFrame) and case.tables[key].height > 0
    for key, df in case.series.items():
        assert df.height == 8760, key
        assert df["hour"].to_list() == list(range(8760))
    assert set(case.series["inflow"].columns) - {"hour"} == set(case.tables["hydro"]["name"].to_list())
    assert (case.tables["thermal"]["in_service_from"] <= case.year).all()


def test_network_size() -> None:
    for name in CASES:
        case = load_case(name)
        assert case.tables["buses"].height >= 40
        assert case.tables["lines"].height + case.tables["trafos"].height >= 60
        for t in ("buses", "lines", "thermal", "hydro", "renewables", "storage", "dr", "exports", "line_types", "thermal_classes"):
            assert "source" in case.tables[t].columns
            assert (case.tables[t]["source"].str.len_chars() > 0).all(), t


def test_uhvdc_links_present() -> None:
    ex = load_case("sichuan-2025").tables["exports"]["name"].to_list()
    for link in ("xiangjiaba_shanghai", "jinping_sunan", "xiluodu_zhexi", "baihetan_jiangsu", "baihetan_zhejiang",
                 "yazhong_jiangxi", "debao_dc", "chongqing_uhvac"):
        assert link in ex
    assert "chongqing_uhvac" not in load_case("sichuan-2024").tables["exports"]["name"].to_list()


def test_hydro_cascade_rerouted_around_future_stations() -> None:
    c24 = load_case("sichuan-2024")
    hy = c24.tables["hydro"]
    row = hy.filter(pl.col("name") == "lianghekou").to_dicts()[0]
    assert row["downstream"] == "yangfanggou"  # lenggu, mengdigou come in 2030
    assert row["delay_h"] == 12 + 6 + 4
    assert c24.meta["hydro_routing"]["lenggu"] == "yangfanggou"
    raw = pl.read_parquet(timeseries_dir() / "common" / "inflow_normal.parquet")
    expect = raw["yangfanggou"].to_numpy().astype(float) + raw["lenggu"].to_numpy() + raw["mengdigou"].to_numpy()
    np.testing.assert_allclose(c24.series["inflow"]["yangfanggou"].to_numpy(), expect, rtol=1e-6)
    c30 = load_case("sichuan-2030")
    assert c30.tables["hydro"].filter(pl.col("name") == "lianghekou")["downstream"][0] == "lenggu"


def test_dr_at_least_5pct_of_peak_2030() -> None:
    for h in HYDROLOGIES:
        case = load_case("sichuan-2030", h)
        dr = case.tables["dr"]["p_max_mw"].sum()
        assert dr >= 0.05 * case.meta["peak_load_mw"], (h, dr, case.meta["peak_load_mw"])


def test_drought_has_low_august_inflow_and_heatwave() -> None:
    n, d = load_case("sichuan-2024"), load_case("sichuan-2024", "drought-2022")
    aug = slice(24 * 213, 24 * 244)
    qn = n.series["inflow"].drop("hour").to_numpy()[aug].sum()
    qd = d.series["inflow"].drop("hour").to_numpy()[aug].sum()
    assert qd < 0.6 * qn
    assert d.meta["peak_load_mw"] > 1.05 * n.meta["peak_load_mw"]


# ------------------------------------------------------------------------------ calibration
def calibration_2024() -> dict[str, tuple[float, float]]:
    """(model, published) for the 2024 base year (FACTS A1/A2)."""
    c = load_case("sichuan-2024")
    hy, re, th = c.tables["hydro"], c.tables["renewables"], c.tables["thermal"]
    hydro_gw = ((hy["p_max_mw"] * hy["stat_share"]).sum() + re.filter(pl.col("kind") == "hydro_ror")["p_max_mw"].sum()) / 1e3
    energy = c.meta["energy_twh"] * 8784 / 8760  # series covers Jan 1 - Dec 30 of leap year 2024
    return {
        "hydro_gw": (hydro_gw, 97.7),
        "thermal_gw": (th["p_max_mw"].sum() / 1e3, 21.6),
        "wind_gw": (re.filter(pl.col("kind") == "wind")["p_max_mw"].sum() / 1e3, 8.9),
        "solar_gw": (re.filter(pl.col("kind") == "solar")["p_max_mw"].sum() / 1e3, 10.8),
        "consumption_twh": (energy, 400.0),
        "peak_gw": (c.meta["peak_load_mw"] / 1e3, 68.84),
    }


def test_calibration_2024_within_2pct() -> None:
    for k, (model, pub) in calibration_2024().items():
        assert abs(model - pub) <= 0.02 * pub, (k, model, pub)


# ------------------------------------------------------------------------------ compile
@pytest.fixture(scope="module")
def arrays_2030():
    return load_case("sichuan-2030").to_arrays()


def test_to_arrays_consistent(arrays_2030) -> None:
    from dataclasses import fields

    s = arrays_2030
    T, B, L = s.n_hours, s.n_bus, s.n_line
    assert T == 8760 and B >= 40 and L >= 60
    assert s.load_mw.shape == (T, B) and s.ptdf.shape == (L, B) and s.line_max_mw.shape == (L,)
    assert s.re_avail_mw.shape == (T, s.n_re) and s.hy_inflow.shape == (T, s.n_hy)
    assert s.ex_min.shape == (T, s.n_ex) == s.ex_max.shape
    assert s.th_seg_mw.shape == s.th_seg_cost.shape and s.th_su_lag.shape == s.th_su_cost.shape
    for f in fields(s):
        v = getattr(s, f.name)
        if isinstance(v, np.ndarray):
            assert v.flags.c_contiguous, f.name
            if v.dtype.kind == "f":
                assert v.dtype == np.float64 and np.isfinite(v).all(), f.name
            elif v.dtype.kind in "iu":
                assert v.dtype == np.int64, f.name
    assert s.timestamps.dtype == np.dtype("datetime64[h]")
    assert np.all(np.diff(s.th_seg_cost, axis=1) >= 0)
    assert np.all(np.diff(s.th_su_lag, axis=1) > 0)
    assert np.all(s.th_pmin <= s.th_pmax) and np.all(s.ex_min <= s.ex_max + 1e-6)
    assert np.all(s.hy_down < s.n_hy) and np.all(s.hy_delay[s.hy_down >= 0] >= 1)
    for key in ("bus_x", "bus_y", "bus_region", "case", "hydrology", "year", "peak_load_mw", "init"):
        assert key in s.meta
    assert len(s.meta["bus_x"]) == B and s.meta["case"] == "sichuan-2030"
    init = s.init
    assert init is not None and init.hy_v.shape == (s.n_hy,)
    assert np.all(init.hy_v >= s.hy_vmin) and np.all(init.hy_v <= s.hy_vmax)
    assert init.hy_hist.shape == (s.n_hy, max(1, s.max_delay))
    # DR and calibration-relevant totals
    assert s.dr_pmax.sum() >= 0.05 * s.meta["peak_load_mw"]
    assert load_case("sichuan-2030").to_arrays is not None


def test_to_arrays_cached() -> None:
    c = load_case("sichuan-2025", "dry")
    assert c.to_arrays() is c.to_arrays()


# ------------------------------------------------------------------------------ data lookup, rts
def test_data_dir_env(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DISPATCH_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    (tmp_path / "networks").mkdir()
    assert data_dir() == tmp_path / "networks"
    assert timeseries_dir() == tmp_path / "timeseries"
    monkeypatch.delenv("DISPATCH_DATA")
    assert (data_dir() / "sichuan" / "buses.csv").is_file()


def test_rts_dispatch(monkeypatch) -> None:
    fake = types.ModuleType("dispatch.rts")
    fake.load_rts_case = lambda: "rts-sentinel"
    monkeypatch.setitem(sys.modules, "dispatch.rts", fake)
    assert load_case("rts-gmlc") == "rts-sentinel"
    monkeypatch.setitem(sys.modules, "dispatch.rts", None)  # import fails
    with pytest.raises(CaseError, match="rts"):
        load_case("rts-gmlc")


def test_unknown_case_and_hydrology() -> None:
    with pytest.raises(CaseError, match="unknown case"):
        load_case("sichuan-1999")
    with pytest.raises(CaseError, match="unknown hydrology.*normal"):
        load_case("sichuan-2030", "soggy")


# ------------------------------------------------------------------------------ malformed inputs
@pytest.fixture
def tmp_data(tmp_path, monkeypatch):
    """A writable copy of the data (networks + the 2030 and common series)."""
    shutil.copytree(data_dir() / "sichuan", tmp_path / "networks" / "sichuan")
    ts = timeseries_dir()
    (tmp_path / "timeseries").mkdir()
    shutil.copytree(ts / "common", tmp_path / "timeseries" / "common")
    shutil.copytree(ts / "sichuan-2030", tmp_path / "timeseries" / "sichuan-2030")
    monkeypatch.setenv("DISPATCH_DATA", str(tmp_path))
    return tmp_path


def _edit_csv(root: Path, table: str, column: str, row: int, value: str) -> None:
    p = root / "networks" / "sichuan" / f"{table}.csv"
    df = pl.read_csv(p, infer_schema_length=0)
    vals = df[column].to_list()
    vals[row - 1] = value
    df.with_columns(pl.Series(column, vals)).write_csv(p)


@pytest.mark.parametrize(
    "table,column,row,value,match",
    [
        ("thermal", "p_max_mw", 3, "nan", "NaN"),
        ("thermal", "p_max_mw", 4, "", "missing"),
        ("renewables", "p_max_mw", 5, "-100", "negative"),
        ("thermal", "p_min_mw", 2, "900", "p_min_mw > p_max_mw"),
        ("storage", "e_max_mwh", 1, "0", "zero energy"),
        ("thermal", "p_max_mw", 6, "600000", "kW instead of MW"),
        ("dr", "bus", 7, "atlantis", "unknown bus 'atlantis'"),
        ("hydro", "downstream", 2, "nowhere", "unknown downstream"),
        ("hydro", "regulation", 3, "monthly", "not allowed; allowed: multi-year"),
        ("lines", "line_type", 4, "ac750", "unknown line type"),
        ("exports", "price_cny_per_mwh", 2, "cheap", "not a number"),
    ],
)
def test_malformed_table(tmp_data, table, column, row, value, match) -> None:
    _edit_csv(tmp_data, table, column, row, value)
    with pytest.raises(CaseError, match=match) as ei:
        load_case("sichuan-2030")
    e = ei.value
    assert e.file is not None and e.file.endswith(f"{table}.csv")
    assert e.column == (column if column != "bus" or table != "dr" else "bus")
    assert e.row == row
    assert f"row {row}" in str(e) and f"'{column}'" in str(e)


def test_duplicate_name(tmp_data) -> None:
    _edit_csv(tmp_data, "hydro", "name", 5, "guanyinyan")
    with pytest.raises(CaseError, match="duplicate name 'guanyinyan'") as ei:
        load_case("sichuan-2030")
    assert ei.value.column == "name" and ei.value.row == 5 and ei.value.file.endswith("hydro.csv")


def test_reservoir_without_outlet(tmp_data) -> None:
    _edit_csv(tmp_data, "hydro", "p_max_mw", 4, "0")
    _edit_csv(tmp_data, "hydro", "spill_max_m3s", 4, "0")
    with pytest.raises(CaseError, match="inflow but no outlet") as ei:
        load_case("sichuan-2030")
    assert ei.value.row == 4 and ei.value.file.endswith("hydro.csv")


def test_missing_column(tmp_data) -> None:
    p = tmp_data / "networks" / "sichuan" / "storage.csv"
    pl.read_csv(p, infer_schema_length=0).drop("eta_ch").write_csv(p)
    with pytest.raises(CaseError, match="missing column") as ei:
        load_case("sichuan-2030")
    assert ei.value.column == "eta_ch"


def _series_path(root: Path, name: str) -> Path:
    return root / "timeseries" / name


def test_series_wrong_length(tmp_data) -> None:
    p = _series_path(tmp_data, "sichuan-2030/load.parquet")
    pl.read_parquet(p).head(8700).write_parquet(p)
    with pytest.raises(CaseError, match="8700 rows; exactly 8760") as ei:
        load_case("sichuan-2030")
    assert ei.value.file.endswith("load.parquet")


def test_series_gap(tmp_data) -> None:
    p = _series_path(tmp_data, "common/inflow_wet.parquet")
    df = pl.read_parquet(p)
    h = df["hour"].to_numpy().copy()
    h[100:] += 1
    df.with_columns(pl.Series("hour", h)).write_parquet(p)
    with pytest.raises(CaseError, match="without gaps") as ei:
        load_case("sichuan-2030", "wet")
    assert ei.value.column == "hour" and ei.value.row == 101


def test_series_nan_and_unknown_column(tmp_data) -> None:
    p = _series_path(tmp_data, "common/inflow_dry.parquet")
    df = pl.read_parquet(p)
    q = df["pubugou"].to_numpy().copy()
    q[4999] = np.nan
    df.with_columns(pl.Series("pubugou", q)).write_parquet(p)
    with pytest.raises(CaseError, match="NaN") as ei:
        load_case("sichuan-2030", "dry")
    assert ei.value.column == "pubugou" and ei.value.row == 5000
    p = _series_path(tmp_data, "common/inflow_normal.parquet")
    pl.read_parquet(p).with_columns(pl.lit(1.0).alias("three_gorges")).write_parquet(p)
    with pytest.raises(CaseError, match="unknown station 'three_gorges'") as ei:
        load_case("sichuan-2030")
    assert ei.value.column == "three_gorges"


def test_series_export_bounds(tmp_data) -> None:
    p = _series_path(tmp_data, "sichuan-2030/exports_normal.parquet")
    df = pl.read_parquet(p)
    lo = df["jinping_sunan_min"].to_numpy().copy()
    lo[10] = 9000.0
    df.with_columns(pl.Series("jinping_sunan_min", lo)).write_parquet(p)
    with pytest.raises(CaseError, match="above maximum") as ei:
        load_case("sichuan-2030")
    assert ei.value.column == "jinping_sunan_min" and ei.value.row == 11


# ------------------------------------------------------------------------------ build determinism
def _build_module():
    spec = importlib.util.spec_from_file_location("build_timeseries", ROOT / "scripts" / "build_timeseries.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def test_build_is_deterministic(tmp_path) -> None:
    bt = _build_module()
    np.testing.assert_array_equal(bt.wind_pu("wind_ganzi"), bt.wind_pu("wind_ganzi"))
    a = bt.inflow_series("pubugou", "Dadu", 100.0, "drought-2022")
    np.testing.assert_array_equal(a, bt.inflow_series("pubugou", "Dadu", 100.0, "drought-2022"))
    ex = pl.read_csv(data_dir() / "sichuan" / "exports.csv").head(3)
    e1, e2 = bt.build_exports(ex, 2030, "wet"), bt.build_exports(ex, 2030, "wet")
    assert e1.equals(e2)
    bt.write(e1, tmp_path / "a.parquet")
    bt.write(e2, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    # the shipped file equals a rebuild of the same piece
    shipped = pl.read_parquet(timeseries_dir() / "sichuan-2030" / "exports_wet.parquet")
    assert shipped.select(e1.columns).equals(e1)
