"""Throughput of a scenario sweep on a LocalCluster against a serial loop, and the
per-task overhead of the cluster. Prints a Markdown table (pasted into benches/SWEEP.md).

    .venv/bin/python scripts/sweep_throughput.py --case toy --engine native --scenarios 8 \\
        --hours 168 --workers 2

Timings (all wall clock, this machine):
* serial: ``sweep(spec, scheduler="serial")`` in this process, after one warm-up scenario
  (imports, JIT) that is not timed;
* cluster: ``sweep(spec, scheduler=<LocalCluster address>)`` on ``--workers`` single-threaded
  worker processes that already imported dispatch and ran the same warm-up (the cluster
  start-up and warm-up are timed and reported separately);
* overhead: ``--tiny`` one-hour scenarios both ways, and a Dask no-op task round trip;
* ceiling (``--ceiling``): the same scenarios in ``--workers`` plain processes without Dask
  (``concurrent.futures``, spawned and warmed up the same way), the most that any
  scheduler could get out of this machine for this workload.
Both runs must give the same comparison table (wall-time columns aside), else it exits 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl


def _spec(args: argparse.Namespace, hours: int, window_h: int, lookahead_h: int, n: int) -> dict:
    grid_vals = [
        {"dr_share": d, "storage_scale": s, "load_growth": g}
        for d in (0.0, 0.05) for s in (1.0, 2.0) for g in (1.0, 1.05)
    ]
    extra = [{"dr_share": 0.01 * (i + 1), "storage_scale": 1.0 + 0.1 * i, "load_growth": 1.0} for i in range(max(0, n - 8))]
    rows = (grid_vals + extra)[:n]
    return {
        "sweep": {"retries": 1},
        "base": {"case": args.case, "engine": args.engine, "hydrology": "normal", "start": args.start,
                 "hours": hours, "window_h": window_h, "lookahead_h": lookahead_h},
        "scenarios": [{"name": f"s{i}", **r} for i, r in enumerate(rows)],
    }


def _warm(case: str, engine: str, start: object) -> float:
    from dispatch.sweep import load_spec, run_scenario

    t = time.perf_counter()
    sp = load_spec({"base": {"case": case, "engine": engine, "start": start, "hours": 2, "window_h": 1, "lookahead_h": 1}})
    s = sp.scenarios[0]
    d = tempfile.mkdtemp(prefix="sweep-warm-")
    try:
        run_scenario(s.id, s.label, s.params, d, {"frames": ["system"]})
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return time.perf_counter() - t


def _plain_task(task: tuple) -> float:
    """One scenario in a plain worker process; returns its wall seconds."""
    from dispatch.sweep import run_scenario

    t = time.perf_counter()
    run_scenario(*task)
    return time.perf_counter() - t


def _ceiling(spec: dict, root: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(wall of the scenarios in plain processes, their warm-up) -- no Dask."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from dispatch.sweep import load_spec

    sp = load_spec(spec)
    out = root / "plain"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tasks = [(s.id, s.label, s.params, str(out), sp.run_options) for s in sp.scenarios]
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as ex:
        t = time.perf_counter()
        list(ex.map(_warm, *zip(*[(args.case, args.engine, args.start)] * args.workers)))
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        list(ex.map(_plain_task, tasks, chunksize=1))
        return time.perf_counter() - t, t_warm


def _noop(x: int) -> int:
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="toy")
    ap.add_argument("--engine", default="native")
    ap.add_argument("--start", default=None)
    ap.add_argument("--scenarios", type=int, default=8)
    ap.add_argument("--hours", type=int, default=168)
    ap.add_argument("--window-h", type=int, default=24)
    ap.add_argument("--lookahead-h", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tiny", type=int, default=16, help="one-hour scenarios for the overhead (0: skip)")
    ap.add_argument("--keep", default=None, help="keep the output directories under this path")
    ap.add_argument("--ceiling", action="store_true", help="also run the scenarios in plain processes (no Dask)")
    ap.add_argument("--profiler", action="store_true",
                    help="leave Dask's worker profiler on (the sweep turns it off: dispatch.sweep.LOCAL_WORKER_CONFIG)")
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    from dispatch.sweep import sweep

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    for d in ("serial", "cluster", "tiny-serial", "tiny-cluster"):
        shutil.rmtree(root / d, ignore_errors=True)
    spec = _spec(args, args.hours, args.window_h, args.lookahead_h, args.scenarios)
    tiny = _spec(args, 1, 1, 0, args.tiny) if args.tiny else None
    drop = ["sim_wall_s", "task_wall_s", "task_cpu_s"]
    rows: list[tuple[str, str]] = []

    load_before = os.getloadavg()
    warm_serial = _warm(args.case, args.engine, args.start)
    t = time.perf_counter()
    ser = sweep(spec, scheduler="serial", out=root / "serial", progress=False)
    t_serial = time.perf_counter() - t
    if tiny:
        t = time.perf_counter()
        sweep(tiny, scheduler="serial", out=root / "tiny-serial", progress=False)
        t_tiny_serial = time.perf_counter() - t

    t_plain = None
    if args.ceiling:
        t_plain, t_plain_warm = _ceiling(spec, root, args)
    t = time.perf_counter()
    import dask

    from dispatch.sweep import LOCAL_WORKER_CONFIG

    with dask.config.set(LOCAL_WORKER_CONFIG if not args.profiler else {}), LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        t_start = time.perf_counter() - t
        t = time.perf_counter()
        client.run(_warm, args.case, args.engine, args.start)
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        par = sweep(spec, scheduler=cluster.scheduler_address, out=root / "cluster", progress=False)
        t_cluster = time.perf_counter() - t
        if tiny:
            t = time.perf_counter()
            sweep(tiny, scheduler=cluster.scheduler_address, out=root / "tiny-cluster", progress=False)
            t_tiny_cluster = time.perf_counter() - t
        n_noop = 200
        client.gather(client.map(_noop, range(10), pure=False))
        t = time.perf_counter()
        client.gather(client.map(_noop, range(n_noop), pure=False))
        t_noop = (time.perf_counter() - t) / n_noop

    same = ser.drop(drop).equals(par.drop(drop))
    if not same:
        diff = [c for c in ser.drop(drop).columns if not ser[c].equals(par[c])]
        print(f"cluster and serial tables differ in columns {diff}", file=sys.stderr)
    task_s = ser["task_wall_s"].to_numpy()
    rows += [
        ("machine", f"{platform.machine()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}; "
                    f"1-min load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after (shared machine)"),
        ("workload", f"{args.scenarios} scenarios x {args.hours} h of `{args.case}` with `{args.engine}` "
                     f"(window {args.window_h} h + {args.lookahead_h} h look-ahead)"),
        ("serial loop", f"{t_serial:.1f} s ({t_serial / args.scenarios:.2f} s/scenario; task range "
                        f"{task_s.min():.2f}-{task_s.max():.2f} s; warm-up {warm_serial:.1f} s not counted)"),
        (f"LocalCluster, {args.workers} workers", f"{t_cluster:.1f} s (cluster start {t_start:.1f} s and worker warm-up "
                                                   f"{t_warm:.1f} s not counted)"),
        ("CPU time per scenario", f"serial {ser['task_cpu_s'].mean():.2f} s, on a worker {par['task_cpu_s'].mean():.2f} s "
                                  f"(wall on a worker {par['task_wall_s'].mean():.2f} s: the rest is waiting for a CPU)"),
        ("CPUs the sweep got", f"serial {ser['task_cpu_s'].sum() / t_serial:.2f}, cluster {par['task_cpu_s'].sum() / t_cluster:.2f} "
                               f"(task CPU seconds / wall seconds)"),
        ("speed-up", f"**{t_serial / t_cluster:.2f}x** (with start-up and warm-up counted: "
                     f"{(t_serial + warm_serial) / (t_cluster + t_start + t_warm):.2f}x)"),
        ("results identical", "yes" if same else "**NO**"),
    ]
    if t_plain is not None:
        rows.append((f"ceiling: {args.workers} plain processes, no Dask",
                     f"{t_plain:.1f} s, **{t_serial / t_plain:.2f}x** over serial (warm-up {t_plain_warm:.1f} s "
                     f"not counted); Dask reaches {100 * t_plain / t_cluster:.0f} % of it"))
    if tiny:
        per_s = t_tiny_serial / args.tiny
        per_c = t_tiny_cluster / args.tiny
        rows += [
            (f"tiny scenarios ({args.tiny} x 1 h)", f"serial {per_s * 1e3:.0f} ms/scenario, cluster "
                                                     f"{per_c * 1e3:.0f} ms/scenario of wall ({args.workers} workers)"),
            ("cluster overhead per task", f"~{max(0.0, per_c * args.workers - per_s) * 1e3:.0f} ms "
                                          f"(worker-time: {args.workers} x cluster wall/task - serial time/task)"),
        ]
    rows.append(("Dask no-op task round trip", f"{t_noop * 1e3:.2f} ms/task ({n_noop} tasks)"))
    print("| measure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")
    with pl.Config(tbl_rows=50, tbl_cols=8, tbl_width_chars=200):
        print(par.select("label", "total_cost", "co2_t", "unserved_mwh", "task_wall_s"), file=sys.stderr)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
