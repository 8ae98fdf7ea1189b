"""Determinism across processes, and loading a case never runs code from its files."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from dispatch.case import data_dir, load_case, timeseries_dir
from dispatch.errors import CaseError
from dispatch.results import FRAMES

CASE = "sichuan-2030"

_RUN = textwrap.dedent(
    """
    import sys
    from dispatch.simulate import simulate
    from dispatch.testing import toy_system
    res = simulate(toy_system(72), engine="native", window_h=24, lookahead_h=12, progress=False)
    res.write(sys.argv[1])
    """
)


def test_same_bits_across_processes(tmp_path: Path) -> None:
    """Two fresh interpreters (different hash seeds) write byte-identical result files."""
    script = tmp_path / "run.py"
    script.write_text(_RUN)
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, timeout=300,
                       capture_output=True)
        outs.append(out)
    a, b = outs
    for name in FRAMES:
        fa, fb = a / f"{name}.parquet", b / f"{name}.parquet"
        assert fa.is_file() == fb.is_file(), name
        if not fa.is_file():
            continue
        da, db = pl.read_parquet(fa), pl.read_parquet(fb)
        if name == "windows":  # wall-clock time is the one thing allowed to differ
            assert da.drop("wall_s").equals(db.drop("wall_s"))
        else:
            assert da.equals(db), name
            assert fa.read_bytes() == fb.read_bytes(), f"{name}.parquet bytes differ"


# ------------------------------------------------------------------------------ no code from data
class _Payload:
    """Unpickling this creates ``marker`` (a stand-in for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _pandapower_payload(marker: Path) -> str:
    """A pandapower-style JSON whose object hooks would run code if deserialised."""
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return (
        '{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": {'
        '"bus": {"_module": "builtins", "_class": "eval", "_object": "' + code.replace('"', '\\"') + '"},'
        '"x": {"_module": "os", "_class": "system", "_object": "touch ' + str(marker) + '"}}}'
    )


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    shutil.copytree(data_dir() / "sichuan", tmp_path / "networks" / "sichuan")
    (tmp_path / "timeseries").mkdir()
    for sub in ("common", CASE):
        shutil.copytree(timeseries_dir() / sub, tmp_path / "timeseries" / sub)
    monkeypatch.setenv("DISPATCH_DATA", str(tmp_path))
    return tmp_path


def test_extra_pickle_and_json_files_are_ignored(data_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    net_dir = data_copy / "networks" / "sichuan"
    blob = pickle.dumps(_Payload(marker))
    for name in ("thermal.pkl", "sichuan.p", "case.pickle", "net.pkl"):
        (net_dir / name).write_bytes(blob)
    for name in ("sichuan.json", "net.json", "thermal.json"):
        (net_dir / name).write_text(_pandapower_payload(marker))
    (data_copy / "timeseries" / CASE / "load.pkl").write_bytes(blob)
    case = load_case(CASE)
    assert case.tables["thermal"].height > 0
    assert not marker.exists(), "loading a case ran code from a data file"


@pytest.mark.parametrize("target", ["networks/sichuan/thermal.csv", "networks/sichuan/buses.csv",
                                    f"timeseries/{CASE}/load.parquet", "timeseries/common/inflow_normal.parquet"])
@pytest.mark.parametrize("kind", ["pickle", "pandapower_json"])
def test_payload_in_place_of_a_case_file(data_copy: Path, tmp_path: Path, target: str, kind: str) -> None:
    marker = tmp_path / "MARKER"
    p = data_copy / target
    if kind == "pickle":
        p.write_bytes(pickle.dumps(_Payload(marker)))
    else:
        p.write_text(_pandapower_payload(marker))
    with pytest.raises(CaseError) as ei:
        load_case(CASE)
    assert ei.value.file is not None and ei.value.file.endswith(Path(target).name)
    assert not marker.exists(), "loading a case ran code from a data file"
