"""Sweep benchmarks: a LocalCluster of 2 workers against a serial loop.

Not part of the CI ``fast`` profile (they start a cluster and run for about a minute);
run them by hand::

    .venv/bin/python -m pytest benches/test_sweep_bench.py -m slow --benchmark-only \\
        --benchmark-columns=min,mean,rounds -p no:cacheprovider

The numbers recorded in ``benches/SWEEP.md`` come from ``scripts/sweep_throughput.py``,
which also reports start-up, warm-up and the per-task overhead separately.
"""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pytest_benchmark")

from dispatch.sweep import run_scenario, load_spec, sweep  # noqa: E402

pytestmark = pytest.mark.slow

ENGINE = "native"
SPEC = {
    "base": {"case": "toy", "engine": ENGINE, "hours": 72, "window_h": 24, "lookahead_h": 24},
    "grid": {"dr_share": [0.0, 0.05], "storage_scale": [1.0, 2.0]},
}
TINY = {"base": {"case": "toy", "engine": ENGINE, "hours": 1, "window_h": 1, "lookahead_h": 0},
        "grid": {"load_growth": [1.0 + 0.01 * i for i in range(16)]}}
DROP = ["sim_wall_s", "task_wall_s", "task_cpu_s"]


def _warm() -> None:
    import tempfile

    s = load_spec({"base": {**TINY["base"], "hours": 2}}).scenarios[0]
    d = tempfile.mkdtemp()
    try:
        run_scenario(s.id, s.label, s.params, d, {"frames": ["system"]})
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as c, Client(c) as client:
        client.run(_warm)
        _warm()
        yield c


def _fresh(tmp_path, name):
    out = tmp_path / name
    shutil.rmtree(out, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def serial_table(tmp_path_factory):
    _warm()
    return sweep(SPEC, scheduler="serial", out=tmp_path_factory.mktemp("ref"), progress=False)


def test_sweep_serial(benchmark, tmp_path, serial_table):
    table = benchmark.pedantic(lambda: sweep(SPEC, scheduler="serial", out=_fresh(tmp_path, "s"), progress=False),
                               rounds=1, iterations=1)
    assert table.drop(DROP).equals(serial_table.drop(DROP))


def test_sweep_local_cluster_2_workers(benchmark, tmp_path, cluster, serial_table):
    table = benchmark.pedantic(
        lambda: sweep(SPEC, scheduler=cluster.scheduler_address, out=_fresh(tmp_path, "c"), progress=False),
        rounds=1, iterations=1,
    )
    assert table.drop(DROP).equals(serial_table.drop(DROP))  # fast and wrong fails


def test_tiny_tasks_on_cluster(benchmark, tmp_path, cluster):
    """16 one-hour scenarios: the cluster's per-task overhead dominates."""
    table = benchmark.pedantic(
        lambda: sweep(TINY, scheduler=cluster.scheduler_address, out=_fresh(tmp_path, "t"), progress=False),
        rounds=2, iterations=1,
    )
    assert table.height == 16 and table["max_balance_violation_mw"].max() < 1e-4
