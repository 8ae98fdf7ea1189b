"""The report: every figure is written, readable PNG, and the HTML embeds them."""

from __future__ import annotations

import base64
import re

import pytest

from checks_fakes import fake_result
from dispatch import report
from dispatch.errors import DispatchError


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("res")
    fake_result(hours=48, re_frac=0.9, spill_m3s=5.0, line_flow=(400.0, -10.0, 5.0)).write(d)
    return d


def test_make_report_writes_all_figures_and_html(result_dir) -> None:
    html_path = report.make_report(result_dir)
    assert html_path == result_dir / "report" / "report.html"
    for name in report.FIGURES:
        png = result_dir / "report" / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    text = html_path.read_text(encoding="utf-8")
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(imgs) == len(report.FIGURES)
    assert base64.b64decode(imgs[0])[:4] == b"\x89PNG"
    assert "Peak response" in text and "Curtailment: FAIL" in text
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")  # self-contained


def test_make_report_from_result_object_and_week(tmp_path) -> None:
    res = fake_result(hours=24 * 9)
    out = report.make_report(res, out=tmp_path / "rep", week=1, checks=False)
    assert (tmp_path / "rep" / "dispatch_week.png").is_file()
    assert not (tmp_path / "rep" / "peak_response.png").exists()
    assert "Summary" in out.read_text(encoding="utf-8")
    with pytest.raises(DispatchError, match="week 5"):
        report.make_report(res, out=tmp_path / "rep2", week=5, checks=False)


def test_supply_by_type_balances() -> None:
    res = fake_result(hours=24)
    df = report.supply_by_type(res)
    cols = [c for c in df.columns if c not in ("time", "load")]
    total = df.select(cols).sum_horizontal().to_numpy()
    s = res.system
    # supply minus withdrawals equals load + payback + balance violation
    assert total == pytest.approx((s["load_mw"] + s["rebound_mw"] + s["balance_violation_mw"]).to_numpy())
    assert report.peak_week_start(res) == 0


def test_line_endpoints_from_names_and_ascii_labels() -> None:
    res = fake_result(hours=24)
    ends = report.line_endpoints(res)
    assert ends == {"west-mid": ("west", "mid"), "mid-east": ("mid", "east"), "west-east": ("west", "east")}
    assert report._ascii("Ertān") == "Ertan"
    assert report._ascii("二滩") == "?"
