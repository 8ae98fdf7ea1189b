"""The analyst's command line: ``dispatch cases | run | check | report | pglib | bench | sweep``.

Only :mod:`argparse` is imported at start-up; each subcommand imports what it needs, so
``dispatch --help`` answers at once. Errors of the user's making
(:class:`dispatch.errors.DispatchError`, including bad case data) print one line to
stderr and exit with status 2; Ctrl-C exits with 130 after saying what was kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _cmd_cases(args: argparse.Namespace) -> int:
    import dispatch

    for name in dispatch.list_cases():
        print(name)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    import dispatch

    out = Path(args.out or os.path.join("out", f"{args.case}-{args.hydrology}-{args.engine}"))
    options = None
    if args.engine == "milp":
        from .milp import MilpOptions

        given = {"mip_rel_gap": args.mip_gap, "time_limit_s": args.time_limit, "threads": args.threads,
                 "warm_start": args.warm_start}
        options = MilpOptions(**{k: v for k, v in given.items() if v is not None})
        if args.quality or args.set:
            print("dispatch run: --quality/--set apply to --engine native only", file=sys.stderr)
            return EXIT_USAGE
    elif any(v is not None for v in (args.mip_gap, args.time_limit, args.threads, args.warm_start)):
        print("dispatch run: --mip-gap/--time-limit/--threads/--warm-start apply to --engine milp only", file=sys.stderr)
        return EXIT_USAGE
    elif args.quality or args.set:
        from .native import QUALITY_NATIVE, NativeOptions

        try:
            options = NativeOptions.from_pairs(args.set, base=QUALITY_NATIVE if args.quality else None)
        except ValueError as exc:
            print(f"dispatch run: --set: {exc}", file=sys.stderr)
            return EXIT_USAGE
    case = dispatch.load_case(args.case, hydrology=args.hydrology)
    res = dispatch.simulate(
        case,
        engine=args.engine,
        start=args.start,
        hours=args.hours,
        window_h=args.window_h,
        lookahead_h=args.lookahead_h,
        checkpoint_dir=args.checkpoint_dir,
        progress=not args.no_progress,
        options=options,
    )
    res.write(out)
    print(res.table())
    print(f"\nwrote {out}/ (check it with `dispatch check {out}`, plot it with `dispatch report {out}`)")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from . import checks
    from .results import read_result

    res = read_result(args.dir)
    out = checks.run_all(
        res,
        case=args.case,
        threshold=args.threshold,
        peak_quantile=args.peak_fraction,
        target_utilisation=args.target_utilisation,
        ac=not args.no_ac,
        dynamic=not args.no_dynamic,
    )
    print(checks.render(out))
    path = Path(args.dir) / "checks.json"
    payload = json.dumps(checks.results_json(out), indent=2, ensure_ascii=False)
    from .results import _atomic_write

    _atomic_write(path, lambda p: Path(p).write_text(payload, encoding="utf-8"))
    print(f"wrote {path}")
    failed = [k for k, v in out.items() if (v.passed if hasattr(v, "passed") else v.get("passed")) is False]
    if args.strict and failed:
        print(f"dispatch check: FAIL ({', '.join(failed)}) and --strict was given", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import make_report

    html = make_report(args.dir, out=args.out, week=args.week, checks=not args.no_checks)
    print(f"wrote {html} and the PNGs beside it")
    return EXIT_OK


def _cmd_pglib(args: argparse.Namespace) -> int:
    from .pglib import solve_pglib
    from .results import format_summary

    summary = solve_pglib(args.file, engine=args.engine, out=args.out, time_limit_s=args.time_limit)
    print(format_summary(summary))
    ref = {k: summary.get(k) for k in ("reference_objective", "reference_bound", "gap_to_reference_pct")}
    if any(v is not None for v in ref.values()):
        for k, v in ref.items():
            print(f"{k:<22}  {v if v is not None else 'n/a'}")
    if args.out:
        print(f"wrote {args.out}/")
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("dispatch.bench") is not None:
        from . import bench  # type: ignore[attr-defined]

        return int(bench.main(list(args.rest)) or 0)
    benches = Path("benches")
    if not benches.is_dir():
        raise _usage("no dispatch.bench module and no ./benches directory: run `dispatch bench` from the repository root")
    import subprocess

    cmd = [sys.executable, "-m", "pytest", str(benches), "-m", "fast", "--benchmark-only", "-q", *args.rest]
    print("running", " ".join(cmd))
    return subprocess.call(cmd)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import main_cli

    return int(main_cli(args) or 0)


def _usage(msg: str) -> Exception:
    from .errors import DispatchError

    return DispatchError(msg)


# ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dispatch`` (no heavy imports)."""
    p = argparse.ArgumentParser(
        prog="dispatch",
        description="Hourly unit commitment and dispatch of the Sichuan power system: "
        "simulate a case, check it against policy targets, report it.",
        epilog="Run `dispatch COMMAND --help` for a command's options.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"dispatch {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("cases", help="list the shipped cases", description="List the shipped cases.")
    s.set_defaults(func=_cmd_cases)

    s = sub.add_parser("run", help="simulate a case (rolling horizon)", description="Simulate a case with the rolling-horizon unit commitment and write the result.")
    s.add_argument("case", metavar="CASE", help="case name (see `dispatch cases`)")
    s.add_argument("--engine", choices=["native", "milp"], default="native", help="window solver (default: native)")
    s.add_argument("--hydrology", default="normal", metavar="H", help="hydrological year: wet, normal, dry, ... (default: normal)")
    s.add_argument("--start", default=None, metavar="YYYY-MM-DD", help="first day (default: the case's first hour)")
    s.add_argument("--hours", type=int, default=None, metavar="N", help="hours to simulate (default: to the end of the case)")
    s.add_argument("--window-h", type=int, default=24, metavar="H", help="hours kept per window (default: 24)")
    s.add_argument("--lookahead-h", type=int, default=24, metavar="H", help="extra look-ahead hours per window (default: 24)")
    s.add_argument("--out", default=None, metavar="DIR", help="result directory (default: out/<case>-<hydrology>-<engine>)")
    s.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="save finished windows here; a rerun resumes")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--mip-gap", type=float, default=None, metavar="G",
                   help="milp: relative MIP gap per window (default 1e-4)")
    s.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="milp: wall-clock limit per window in seconds (default: none; summer Sichuan windows need minutes)")
    s.add_argument("--threads", type=int, default=None, metavar="N", help="milp: HiGHS threads (default: HiGHS's)")
    s.add_argument("--warm-start", default=None, choices=["native"],
                   help="milp: start each window from the native engine's schedule re-dispatched exactly "
                        "(a better incumbent when a time limit stops the MIP)")
    s.add_argument("--quality", action="store_true",
                   help="native: the quality setting (each window's hydro/storage flows under the "
                        "network solved exactly as an LP, dispatch.flowlp, and the commitment moved where "
                        "that LP's prices say it pays; ~45x the default's time, within 0.5 %% of milp on "
                        "10 of the 12 Sichuan reference windows)")
    s.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="native: one NativeOptions field, e.g. --set net_tr_iters=40 (repeatable; over --quality)")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("check", help="policy checks on a result directory", description="Run the policy checks (peak response, curtailment, carbon and supply, AC power flow) on a result directory; print PASS/FAIL tables and write DIR/checks.json.")
    s.add_argument("dir", metavar="DIR", help="a result directory written by `dispatch run`")
    s.add_argument("--strict", action="store_true", help="exit with status 1 if any check FAILs")
    s.add_argument("--case", default=None, metavar="CASE", help="case name for the year's load and the network (default: the result's own)")
    s.add_argument("--threshold", type=float, default=0.05, help="peak-response requirement as a share of peak (default: 0.05)")
    s.add_argument("--peak-fraction", type=float, default=0.95, help="peak hours: load >= this x annual peak (default: 0.95)")
    s.add_argument("--target-utilisation", type=float, default=0.95, help="wind/solar/hydro utilisation target (default: 0.95)")
    s.add_argument("--no-ac", action="store_true", help="skip the AC power flow")
    s.add_argument("--no-dynamic", action="store_true", help="skip the peak-response re-dispatch")
    s.set_defaults(func=_cmd_check)

    s = sub.add_parser("report", help="plots and an HTML report of a result", description="Write PNG plots and a self-contained HTML report of a result directory.")
    s.add_argument("dir", metavar="DIR", help="a result directory written by `dispatch run`")
    s.add_argument("--week", type=int, default=None, metavar="N", help="week of the dispatch stack, 0-based from the result's start (default: the peak week)")
    s.add_argument("--out", default=None, metavar="DIR", help="where to write (default: DIR/report)")
    s.add_argument("--no-checks", action="store_true", help="leave the check tables out (faster)")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("pglib", help="solve a PGLib-UC instance", description="Solve a PGLib-UC JSON instance as one window and compare with the published reference.")
    s.add_argument("file", metavar="FILE", help="instance JSON")
    s.add_argument("--engine", choices=["native", "milp"], default="milp", help="solver (default: milp)")
    s.add_argument("--out", default=None, metavar="DIR", help="write the result here")
    s.add_argument("--time-limit", type=float, default=None, metavar="S", help="solver time limit in seconds")
    s.set_defaults(func=_cmd_pglib)

    s = sub.add_parser("bench", help="benchmarks (native vs milp)", description="Run the benchmarks: dispatch.bench if present, else `pytest benches -m fast --benchmark-only`.")
    s.add_argument("rest", nargs=argparse.REMAINDER, help="extra arguments passed on")
    s.set_defaults(func=_cmd_bench)

    s = sub.add_parser("sweep", help="many scenario-years on Dask", description="Run the scenarios of a sweep spec (TOML) on Dask and merge their results.")
    s.add_argument("spec", metavar="SPEC.toml", help="sweep specification")
    s.add_argument("--out", default="sweep", metavar="DIR", help="output directory (default: sweep)")
    s.add_argument("--scheduler", default=None, metavar="ADDR", help="Dask scheduler address (default: a LocalCluster)")
    s.add_argument("--workers", type=int, default=None, metavar="N", help="local workers (default: Dask's choice)")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.set_defaults(func=_cmd_sweep)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dispatch`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 done, 1 a check failed under ``--strict``, 2 a usage or data error,
        130 interrupted.
    """
    args = build_parser().parse_args(argv)
    from .errors import DispatchError

    try:
        return int(args.func(args) or 0)
    except DispatchError as exc:
        print(f"dispatch {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        ckpt = getattr(args, "checkpoint_dir", None)
        if ckpt:
            msg = f"interrupted; finished windows are checkpointed in {ckpt}: rerun the same command to resume"
        elif args.command == "run":
            msg = "interrupted; nothing was saved (use --checkpoint-dir DIR to make a run resumable)"
        else:
            msg = "interrupted"
        print(f"dispatch {args.command}: {msg}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _entry(argv: Any = None) -> None:  # pragma: no cover - `python -m dispatch.cli`
    raise SystemExit(main(argv))


if __name__ == "__main__":  # pragma: no cover
    _entry()
