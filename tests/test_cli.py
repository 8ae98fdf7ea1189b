"""The command line: fast help, plain errors, exit codes, delegation to the library."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from checks_fakes import fake_result
from dispatch import cli

HEAVY = ("polars", "matplotlib", "pandapower", "highspy", "numba", "dask", "scipy", "pandas")


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = "import sys, dispatch.cli as c; c.build_parser(); print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

    def best_of_3(args: list[str]) -> float:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, *args], capture_output=True, text=True)
            best = min(best, time.perf_counter() - t)
            assert r.returncode == 0, r.stderr
        return best

    help_s = best_of_3(["-m", "dispatch.cli", "--help"])
    # on a loaded machine everything is slower: then --help must cost little more than
    # `import dispatch` itself (whose check_build imports numpy through the compiled core)
    base_s = best_of_3(["-c", "import dispatch"])
    assert help_s < 0.5 or help_s < 1.3 * base_s + 0.05, f"`dispatch --help` took {help_s:.2f} s (import dispatch: {base_s:.2f} s)"


@pytest.mark.parametrize("cmd", ["cases", "run", "check", "report", "pglib", "bench", "sweep"])
def test_every_subcommand_has_help(cmd, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main([cmd, "--help"])
    assert e.value.code == 0
    assert f"dispatch {cmd}" in capsys.readouterr().out


def test_check_writes_json_and_strict_exit(tmp_path, capsys) -> None:
    d = tmp_path / "r"
    big_dr = {"dr_pmax": np.array([120.0]), "dr_max_dur": np.array([8], dtype=np.int64)}
    fake_result(re_frac=0.9, **big_dr).write(d)  # curtailment FAILs (90 % < 95 %), the rest PASS
    assert cli.main(["check", str(d), "--no-ac", "--no-dynamic"]) == 0
    out = capsys.readouterr().out
    assert "curtailment: FAIL" in out and "SUMMARY" in out
    data = json.loads((d / "checks.json").read_text())
    assert data["verdicts"]["curtailment"] == "FAIL"
    assert cli.main(["check", str(d), "--no-ac", "--no-dynamic", "--strict"]) == 1
    assert cli.main(["check", str(d), "--no-ac", "--no-dynamic", "--strict", "--target-utilisation", "0.85"]) == 0


def test_report_command(tmp_path, capsys) -> None:
    d = tmp_path / "r"
    fake_result(hours=24).write(d)
    assert cli.main(["report", str(d), "--no-checks"]) == 0
    assert (d / "report" / "report.html").is_file()
    assert "report.html" in capsys.readouterr().out


def test_dispatch_error_is_one_line_exit_2(tmp_path, capsys) -> None:
    assert cli.main(["check", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "summary.json" in err


def test_bad_case_exits_2_without_traceback(capsys) -> None:
    pytest.importorskip("dispatch.case")
    assert cli.main(["run", "no-such-case", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no-such-case" in err


def test_keyboard_interrupt_exits_130(monkeypatch, tmp_path, capsys) -> None:
    def boom(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_run", boom)
    code = cli.main(["run", "x", "--checkpoint-dir", str(tmp_path / "ck")])
    assert code == 130
    assert "checkpointed" in capsys.readouterr().err
    assert cli.main(["run", "x"]) == 130
    assert "--checkpoint-dir" in capsys.readouterr().err


def test_pglib_and_sweep_delegate(monkeypatch, capsys) -> None:
    import dispatch.pglib
    import dispatch.sweep

    seen = {}

    def fake_solve(path, engine, out, time_limit_s):
        seen.update(path=path, engine=engine, out=out, t=time_limit_s)
        return {"case": "x", "engine": engine, "total_cost": 1.0, "reference_objective": 1.0}

    monkeypatch.setattr(dispatch.pglib, "solve_pglib", fake_solve)
    assert cli.main(["pglib", "inst.json", "--engine", "native", "--time-limit", "5"]) == 0
    assert seen == {"path": "inst.json", "engine": "native", "out": None, "t": 5.0}
    assert "reference_objective" in capsys.readouterr().out
    monkeypatch.setattr(dispatch.sweep, "main_cli", lambda a: 0 if a.spec == "s.toml" and a.workers == 3 else 9)
    assert cli.main(["sweep", "s.toml", "--workers", "3"]) == 0


def test_run_milp_options_only_for_milp(capsys):
    from dispatch import cli

    assert cli.main(["run", "sichuan-2030", "--time-limit", "5", "--hours", "24"]) == 2
    assert "--engine milp only" in capsys.readouterr().err
    assert cli.main(["run", "sichuan-2030", "--warm-start", "native", "--hours", "24"]) == 2
    assert "--engine milp only" in capsys.readouterr().err


def test_run_milp_warm_start_reaches_the_options(monkeypatch):
    import dispatch
    from dispatch import cli, milp

    seen = {}

    class _Res:
        def write(self, out):
            pass

        def table(self):
            return "table"

    monkeypatch.setattr(dispatch, "load_case", lambda name, hydrology: name)
    monkeypatch.setattr(dispatch, "simulate", lambda case, **kw: seen.update(kw) or _Res())
    assert cli.main(["run", "sichuan-2030", "--engine", "milp", "--warm-start", "native", "--time-limit", "60",
                     "--no-progress"]) == 0
    opt = seen["options"]
    assert isinstance(opt, milp.MilpOptions) and (opt.warm_start, opt.time_limit_s) == ("native", 60.0)


def test_run_native_options(monkeypatch, capsys):
    """``--quality`` and ``--set FIELD=VALUE`` reach the native engine as NativeOptions (set
    over the quality preset); a bad field or value, or either flag with milp, exits 2."""
    import dispatch
    from dispatch import native

    seen = {}

    class _Res:
        def write(self, out):
            seen["out"] = out

        def table(self):
            return "table"

    monkeypatch.setattr(dispatch, "load_case", lambda name, hydrology: name)
    monkeypatch.setattr(dispatch, "simulate", lambda case, **kw: seen.update(kw) or _Res())
    assert cli.main(["run", "sichuan-2030", "--quality", "--set", "net_tr_iters=10", "--no-progress"]) == 0
    opt = seen["options"]
    assert isinstance(opt, native.NativeOptions)
    assert (opt.net_tr_iters, opt.replan_starts) == (10, native.QUALITY_NATIVE["replan_starts"])
    seen.clear()
    assert cli.main(["run", "sichuan-2030", "--no-progress"]) == 0
    assert seen["options"] is None  # the engine's defaults
    capsys.readouterr()
    assert cli.main(["run", "sichuan-2030", "--set", "net_tr_iters=x"]) == 2
    assert "net_tr_iters (int) cannot be 'x'" in capsys.readouterr().err
    assert cli.main(["run", "sichuan-2030", "--engine", "milp", "--quality"]) == 2
    assert "--engine native only" in capsys.readouterr().err
