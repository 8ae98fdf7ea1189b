"""Scenario sweeps on Dask: spec validation, scenario modifications, skip-on-rerun, and a
worker killed mid-task losing nothing (results identical to a serial run).

Every cluster here is a LocalCluster on 127.0.0.1 with two single-threaded worker
processes; scenarios are short windows of the toy system solved by the exact MILP engine.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dispatch.sweep import (
    SweepError,
    apply_modifications,
    load_spec,
    read_frame,
    scenario_id,
    sweep,
)
from dispatch.testing import toy_system

distributed = pytest.importorskip("distributed")

ENGINE = "milp"
#: 12 h in two 6 h windows (+3 h look-ahead): two checkpoints per task, about a second of MILP.
BASE = {"case": "toy", "engine": ENGINE, "hours": 12, "window_h": 6, "lookahead_h": 3}
SPEC = {
    "sweep": {"retries": 1},
    "base": BASE,
    "grid": {"dr_share": [0.0, 0.05]},
    "scenarios": [{"name": "as is"}, {"name": "storage x2", "storage_scale": 2.0}],
}
#: Columns that measure time, not results.
WALL = ("sim_wall_s", "task_wall_s", "task_cpu_s")


def _results(table: pl.DataFrame) -> pl.DataFrame:
    return table.drop([c for c in WALL if c in table.columns])


def _partitions(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir() and p.name.startswith("scenario="))


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as c, Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The spec run serially in this process: the reference for the cluster runs."""
    out = tmp_path_factory.mktemp("serial")
    return out, sweep(SPEC, scheduler="serial", out=out, progress=False)


# --------------------------------------------------------------------------------------
# spec
def test_spec_expands_grid_times_list_with_stable_ids():
    sp = load_spec(SPEC)
    assert [s.label for s in sp.scenarios] == [
        "as is dr_share=0", "as is dr_share=0.05", "storage x2 dr_share=0", "storage x2 dr_share=0.05",
    ]
    assert len({s.id for s in sp.scenarios}) == 4
    # ids depend on parameters only: same numbers written differently, other label, same id
    again = load_spec({"base": {**BASE, "dr_share": 0}, "scenarios": [{"name": "x", "storage_scale": 1}]})
    assert again.scenarios[0].id == sp.scenarios[0].id
    assert scenario_id(sp.scenarios[1].params) == sp.scenarios[1].id


def test_spec_from_toml(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[base]\ncase = "toy"\nengine = "milp"\nhours = 24\n[grid]\nload_growth = [1.0, 1.1]\n')
    sp = load_spec(f)
    assert [s.params["load_growth"] for s in sp.scenarios] == [1.0, 1.1]
    example = Path(__file__).resolve().parents[1] / "examples" / "sweep.toml"
    assert len(load_spec(example, check_available=False).scenarios) == 18


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"base": {**BASE, "hydrology": "damp"}}, r"\[base\]: hydrology must be one of normal, wet, dry, drought-2022, got 'damp'"),
        ({"base": {**BASE, "dr_shares": 0.05}}, r"\[base\]: unknown parameter 'dr_shares'; allowed: \["),
        ({"base": BASE, "grid": {"dr_share": 0.05}}, r"\[grid\] dr_share must be a non-empty list"),
        ({"base": BASE, "grid": {"dr_share": [0.05, 1.5]}}, r"\[grid\] dr_share\[1\]: dr_share must be a fraction"),
        ({"base": {**BASE, "engine": "gurobi"}}, r"unknown engine 'gurobi'"),
        ({"base": {"engine": "milp"}}, r"has no 'case'"),
        ({"base": {**BASE, "case": "atlantis"}}, r"unknown case 'atlantis'|case 'atlantis' cannot be loaded"),
        ({"base": BASE, "scenarios": [{"name": "a"}, {"name": "b"}]}, r"scenarios 'a' and 'b' have identical parameters"),
        ({"base": BASE, "scenarios": [{"name": "s", "storage_add": [{"name": "b", "kind": "li_ion"}]}]},
         r"\[\[scenarios\]\] #1 \('s'\): storage_add\[0\] needs 'bus'"),
        ({"base": BASE, "sweep": {"retries": -1}}, r"\[sweep\] retries must be an integer >= 0"),
        ({"base": BASE, "runs": {}}, r"unknown table\(s\) \['runs'\]"),
    ],
)
def test_spec_errors_are_clear(spec, message):
    with pytest.raises(SweepError, match=message) as e:
        load_spec(spec)
    assert "<spec dict>" in str(e.value)


def test_spec_file_errors(tmp_path):
    with pytest.raises(SweepError, match=r"no such file"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[base\ncase = 'toy'\n")
    with pytest.raises(SweepError, match=r"bad.toml: not valid TOML"):
        load_spec(bad)


# --------------------------------------------------------------------------------------
# modifications
def test_modifications_make_new_arrays_and_leave_the_case_alone():
    sys = toy_system(48)
    before = {k: np.array(getattr(sys, k), copy=True) for k in ("load_mw", "dr_pmax", "st_pdis", "st_emax", "ex_max")}
    add = {"name": "bess_mid", "kind": "li_ion", "bus": "mid", "p_mw": 30.0, "e_mwh": 120.0,
           "eta_ch": 0.95, "eta_dis": 0.95, "soc0_frac": 0.25}
    p = {"load_growth": 1.1, "dr_share": 0.05, "storage_scale": {"li_ion": 2.0}, "storage_add": [add],
         "exports_factor": 0.5}
    m = apply_modifications(sys, p)
    for k, v in before.items():  # the shared case is untouched
        np.testing.assert_array_equal(getattr(sys, k), v)
    np.testing.assert_allclose(m.load_mw, 1.1 * sys.load_mw)
    assert m.dr_pmax.sum() == pytest.approx(0.05 * m.load_mw.sum(axis=1).max())
    assert m.st_names == ("battery_e", "phs_w", "bess_mid")
    np.testing.assert_allclose(m.st_pdis, [100.0, 100.0, 30.0])  # li_ion doubled, PHS not
    np.testing.assert_allclose(m.st_emax, [400.0, 800.0, 120.0])
    np.testing.assert_allclose(m.init.st_e, [200.0, 400.0, 30.0])
    assert m.st_bus.dtype == np.int64 and m.st_bus[-1] == 1
    np.testing.assert_allclose(m.ex_max, 0.5 * sys.ex_max)
    assert all(getattr(m, k).flags.c_contiguous for k in ("load_mw", "st_pdis", "ex_min"))
    assert apply_modifications(sys, {}) is sys


def test_modification_errors_name_the_problem():
    sys = toy_system(24)
    with pytest.raises(SweepError, match=r"no storage of kind\(s\) \['caes'\]"):
        apply_modifications(sys, {"storage_scale": {"caes": 2.0}})
    unit = {"name": "x", "kind": "li_ion", "bus": "north", "p_mw": 1.0, "e_mwh": 1.0, "eta_ch": 0.9, "eta_dis": 0.9}
    with pytest.raises(SweepError, match=r"storage_add 'x': no bus 'north'"):
        apply_modifications(sys, {"storage_add": [unit]})
    with pytest.raises(SweepError, match=r"'battery_e' already exists"):
        apply_modifications(sys, {"storage_add": [{**unit, "name": "battery_e", "bus": 0}]})


# --------------------------------------------------------------------------------------
# running
def test_local_cluster_sweep_then_rerun_skips(tmp_path, serial, monkeypatch, capsys):
    out = tmp_path / "sw"
    table = sweep(SPEC, out=out, workers=2, progress=True)  # default: its own LocalCluster
    assert "scenarios on tcp://127.0.0.1:" in capsys.readouterr().err
    sp = load_spec(SPEC)
    assert table["scenario"].to_list() == [s.id for s in sp.scenarios]
    assert _partitions(out) == sorted(f"scenario={s.id}" for s in sp.scenarios)
    assert not list(out.glob(".tmp-*")) and not (out / "_work").exists()
    for name in ("comparison.parquet", "comparison.csv", "comparison.png"):
        assert (out / name).stat().st_size > 0
    assert_frame_equal(_results(pl.read_parquet(out / "comparison.parquet")), _results(table))
    assert_frame_equal(_results(table), _results(serial[1]))
    # policy columns: DR share 5 % of peak passes the static check, 0 % does not
    assert table["peak_response_ok"].to_list() == [False, True, False, True]
    assert table["peak_response_ratio"][1] == pytest.approx(0.05)
    assert table["max_balance_violation_mw"].max() < 1e-4
    system = read_frame(out, "system")
    assert system["scenario"].n_unique() == 4 and system.height == 4 * 12
    doc = json.loads((out / f"scenario={sp.scenarios[3].id}" / "scenario.json").read_text())
    assert doc["params"]["storage_scale"] == 2.0 and doc["label"] == "storage x2 dr_share=0.05"

    # a re-run finds every scenario finished and starts no cluster at all
    mtimes = {p: (out / p / "system.parquet").stat().st_mtime_ns for p in _partitions(out)}

    def no_cluster(*a, **k):
        raise AssertionError("re-run should not schedule anything")

    monkeypatch.setattr("dispatch.sweep._run_dask", no_cluster)
    again = sweep(SPEC, out=out, progress=False)
    assert_frame_equal(again, table)
    assert {p: (out / p / "system.parquet").stat().st_mtime_ns for p in _partitions(out)} == mtimes

    # only a missing scenario runs again
    import shutil

    shutil.rmtree(out / f"scenario={sp.scenarios[2].id}")
    ran: list[str] = []
    import dispatch.sweep as sw

    real = sw.run_scenario
    monkeypatch.setattr(sw, "run_scenario", lambda sid, *a, **k: ran.append(sid) or real(sid, *a, **k))
    third = sweep(SPEC, out=out, scheduler="serial", progress=False)
    assert ran == [sp.scenarios[2].id]
    assert_frame_equal(_results(third), _results(table))


def test_killed_worker_loses_nothing(tmp_path, cluster, serial):
    """SIGKILL the worker running a scenario after its first window: the scheduler
    re-runs that task elsewhere, it resumes from its checkpoint, and the sweep's results
    are complete, unduplicated and identical to the serial run."""
    c, client = cluster
    out = tmp_path / "sw"
    sp = load_spec(SPEC)
    killed: list[tuple[str, int]] = []
    done = threading.Event()

    def killer() -> None:
        while not done.is_set() and not killed:
            ck = list((out / "_work").glob("*/window_00000.npz")) if (out / "_work").exists() else []
            for f in ck:
                key = f"scenario-{f.parent.name}"
                for addr, keys in client.processing().items():
                    if key in keys:
                        pid = client.run(os.getpid, workers=[addr])[addr]
                        os.kill(pid, signal.SIGKILL)
                        killed.append((key, pid))
                        return
            time.sleep(0.01)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        table = sweep(SPEC, scheduler=c.scheduler_address, out=out, progress=False)
    finally:
        done.set()
        th.join(10)
    assert killed, "no worker was killed: the tasks ended before the first checkpoint was seen"
    assert _partitions(out) == sorted(f"scenario={s.id}" for s in sp.scenarios)
    assert not list(out.glob(".tmp-*")) and not (out / "_work").exists()
    assert table["scenario"].is_unique().all() and table.height == 4
    ref_out, ref = serial
    assert_frame_equal(_results(table), _results(ref))
    for s in sp.scenarios:
        for frame in ("system", "storage", "dr"):
            a = pl.read_parquet(out / f"scenario={s.id}" / f"{frame}.parquet")
            b = pl.read_parquet(ref_out / f"scenario={s.id}" / f"{frame}.parquet")
            assert_frame_equal(a, b)


def test_failed_scenario_is_reported_and_others_kept(tmp_path):
    spec = {"base": {**BASE, "hours": 6}, "scenarios": [
        {"name": "ok"},
        {"name": "bad", "storage_scale": {"caes": 2.0}},  # valid spec, fails on the case
    ]}
    with pytest.raises(SweepError, match=r"(?s)1 of 2 scenarios failed.*\(bad\): SweepError: storage_scale: case 'toy' has no storage of kind"):
        sweep(spec, scheduler="serial", out=tmp_path, progress=False)
    table = pl.read_parquet(tmp_path / "comparison.parquet")
    assert table["label"].to_list() == ["ok"]


def test_bad_scheduler_address(tmp_path):
    with pytest.raises(SweepError, match=r"scheduler must be an address like 'tcp://host:8786'"):
        sweep({"base": BASE}, scheduler="localhost", out=tmp_path, progress=False)


def test_local_cluster_workers_run_without_profiler(monkeypatch, tmp_path):
    """The sweep's LocalCluster is created with Dask's worker profiler off (its nannies pass
    the config on): the profiler cost 27 % CPU per task (benches/SWEEP.md)."""
    import dask
    import distributed

    from dispatch import sweep as sw

    seen = {}

    class _Stop(Exception):
        pass

    def fake_cluster(*args, **kwargs):
        seen["profile"] = dask.config.get("distributed.worker.profile.enabled")
        raise _Stop

    monkeypatch.setattr(distributed, "LocalCluster", fake_cluster)
    with pytest.raises(_Stop):
        sw._run_dask([], tmp_path, {}, None, 2, False, 0)
    assert seen["profile"] is False
    assert dask.config.get("distributed.worker.profile.enabled") is True  # only inside the sweep


def test_scenario_tasks_pass_the_native_thread_count():
    """A scenario task runs the native engine with ``native_threads`` from its options (the
    dask workers set 1: one process per core) and the same checkpoint fingerprint either
    way; the milp engine gets no native options."""
    from dispatch import sweep
    from dispatch.native import NativeOptions
    from dispatch.simulate import fingerprint

    one = sweep._engine_options("native", {"native_threads": 1})
    two = sweep._engine_options("native", {})
    assert (one.threads, one.mcf_threads, two.threads, two.mcf_threads) == (1, 1, 2, 2)
    assert sweep._engine_options("milp", {"native_threads": 1}) is None
    s = toy_system(24)
    assert fingerprint(s, "native", 0, 24, 24, 0, one) == fingerprint(s, "native", 0, 24, 24, 0, two)
    assert fingerprint(s, "native", 0, 24, 24, 0, two) != fingerprint(s, "native", 0, 24, 24, 0,
                                                                      NativeOptions(net_fw_iters=5))
