"""Policy checks on hand-built results: each check is shown to PASS and to FAIL."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from checks_fakes import fake_result, toy_net
from dispatch import checks
from dispatch.results import read_result


def _dr(pmax: float, dur: int = 8, events: int = 20) -> dict:
    return {
        "dr_pmax": np.array([float(pmax)]),
        "dr_max_dur": np.array([dur], dtype=np.int64),
        "dr_max_events": np.array([events], dtype=np.int64),
    }


# ---------------------------------------------------------------- peak response
def test_peak_response_static_pass_and_fail() -> None:
    ok = checks.peak_response(fake_result(**_dr(120.0)), dynamic=False)
    assert ok.static_passed and ok.passed
    peak = ok.annual_peak_mw
    assert ok.required_mw == pytest.approx(0.05 * peak)
    assert ok.dr_effective_mw == pytest.approx(120.0)
    bad = checks.peak_response(fake_result(**_dr(20.0)), dynamic=False)
    assert not bad.passed and "nameplate" in bad.reason
    assert bad.static_share == pytest.approx(20.0 / peak)
    # a threshold the small resource does meet
    assert checks.peak_response(fake_result(**_dr(20.0)), threshold=0.02, dynamic=False).passed


def test_peak_response_static_duration_derating() -> None:
    res = fake_result(**_dr(100.0, dur=2))
    pr = checks.peak_response(res, dynamic=False)
    L = pr.longest_period_h
    assert L > 2
    assert pr.dr_effective_mw == pytest.approx(100.0 * 2 / L)
    assert not pr.static_passed and "durations/events" in pr.static_reason
    # too few events for the number of peak periods derates as well
    pr1 = checks.peak_response(fake_result(**_dr(100.0, dur=8, events=1)), dynamic=False)
    assert pr1.peak_periods == 2
    assert pr1.dr_effective_mw == pytest.approx(50.0)


def test_peak_response_definition_parameters() -> None:
    res = fake_result(**_dr(120.0))
    a = checks.peak_response(res, peak_quantile=0.95, dynamic=False)
    b = checks.peak_response(res, peak_quantile=0.90, dynamic=False)
    c = checks.peak_response(res, peak_quantile=0.75, peak_mode="quantile", dynamic=False)
    load = res.system["load_mw"].to_numpy()
    assert b.peak_hours > a.peak_hours == int((load >= 0.95 * load.max()).sum())
    assert c.peak_hours == int((load >= np.quantile(load, 0.75)).sum())
    # a peak definition narrower than the cap still includes every hour above the cap
    d = checks.peak_response(res, peak_quantile=0.99, dynamic=False)
    assert d.peak_hours == a.peak_hours and any("outside the peak definition" in n for n in d.notes)
    with pytest.raises(ValueError):
        checks.peak_response(res, peak_mode="bogus", dynamic=False)  # type: ignore[arg-type]


def test_peak_response_dynamic_pass() -> None:
    pr = checks.peak_response(fake_result(**_dr(120.0)))
    assert pr.dynamic_done and pr.engine == "milp"
    assert pr.dynamic_passed and pr.passed, pr.table()
    assert pr.served_peak_mw <= pr.annual_peak_mw - pr.required_mw + 1e-3
    assert pr.margin_mw >= -1e-6 and pr.hours_short == 0
    assert pr.events_used >= 1 and pr.dr_hours >= 1
    # the profile covers the re-dispatched hours
    prof = pr.profile
    assert len(prof["time"]) == len(prof["served_mw"]) > 0
    assert max(prof["served_mw"]) <= prof["cap_mw"][0] + 1e-3
    assert "PASS" in pr.table()


def test_peak_response_dynamic_fail_with_reason() -> None:
    small = checks.peak_response(fake_result(**_dr(20.0)))
    assert small.dynamic_passed is False and not small.passed
    assert "DR capacity" in small.dynamic_reason
    assert small.hours_short > 0 and small.shortfall_mwh > 0
    assert small.margin_mw < 0
    # enough MW but events for only one of the two peak periods
    ev = checks.peak_response(fake_result(**_dr(120.0, dur=8, events=1)))
    assert ev.dynamic_passed is False
    assert "events exhausted" in ev.dynamic_reason
    assert "FAIL" in ev.table()


def test_peak_response_dynamic_decides_over_static() -> None:
    # three 25 MW resources of 2 h each: the static estimate (75 MW x 2/5 h) says 3.3 %,
    # but the need is only at full size in the top hour, and they can take turns
    from dataclasses import replace

    from dispatch.testing import toy_system

    init = toy_system(48).init
    three = dict(
        dr_names=("a", "b", "c"), dr_bus=np.array([2, 2, 2]), dr_pmax=np.full(3, 25.0), dr_cost=np.full(3, 900.0),
        dr_max_dur=np.full(3, 2), dr_max_events=np.full(3, 20), dr_payback_frac=np.zeros(3),
        init=replace(init, dr_events_used=np.zeros(3, np.int64)),
    )
    pr = checks.peak_response(fake_result(**three))
    assert pr.static_passed is False and pr.dynamic_passed is True and pr.passed
    assert "only indicative" in pr.reason
    # pooling: identical resources become `groups` equal units with the same limits
    dr = [{"resource": k, "bus": "east", "p_max_mw": 25.0, "max_dur_h": 2, "max_events": 20, "payback_frac": 0.0, "cost": 900.0}
          for k in "abc"]
    pooled = checks._pool(dr, 2)
    assert len(pooled) == 2 and sum(d["p_max_mw"] for d in pooled) == pytest.approx(75.0)
    assert {d["max_dur_h"] for d in pooled} == {2}
    assert checks._pool(dr, None) is dr and checks._pool(dr, 6) is dr  # pooling only when it shrinks


# ---------------------------------------------------------------- curtailment
def test_curtailment_pass() -> None:
    c = checks.curtailment(fake_result(re_frac=1.0, spill_m3s=0.0))
    assert c.passed, c.reason
    assert float(c.totals["curtailed_mwh"].sum()) == pytest.approx(0.0)
    assert c.causes.height == 0


def test_curtailment_fail_and_totals_match_summary() -> None:
    res = fake_result(re_frac=0.9, spill_m3s=5.0)
    c = checks.curtailment(res)
    assert not c.passed
    tot = {t: v for t, v in c.totals.select("tech", "curtailed_mwh").iter_rows()}
    summ = res.summary["curtailment_mwh"]
    assert tot["wind"] == pytest.approx(summ["wind"])
    assert tot["solar"] == pytest.approx(summ["solar"])
    assert tot["hydro"] == pytest.approx(summ["hydro_spill"])
    util = dict(c.totals.select("tech", "utilisation").iter_rows())
    assert util["wind"] == pytest.approx(0.9) and util["solar"] == pytest.approx(0.9)
    # avoidable spill: min(k*s, pmax - k*q) = min(1.5*5, 180-30) and min(0.8*5, 80-16)
    assert util["hydro"] == pytest.approx((30 + 16) / (30 + 16 + 7.5 + 4.0))
    for df in (c.by_month, c.by_region, c.by_plant):
        assert float(df["curtailed_mwh"].sum()) == pytest.approx(float(c.totals["curtailed_mwh"].sum()))
    assert "wind utilisation 90.00 %" in c.reason
    # a lower target passes
    assert checks.curtailment(res, target_utilisation=0.8).passed


def test_curtailment_causes() -> None:
    # fake schedule: thermal at pmin, exports at max, storage full: all three conditions hold;
    # line 0 at 100 % loading (rating 400 MW)
    res = fake_result(re_frac=0.9, line_flow=(400.0, -10.0, 5.0))
    c = checks.curtailment(res)
    wind = c.causes.filter(pl.col("tech") == "wind")
    got = set(wind["cause"].to_list())
    assert {"minimum generation", "export limit", "no storage room", "network congestion"} <= got
    # MWh are shared, so they add up to the curtailment
    assert float(wind["curtailed_mwh"].sum()) == pytest.approx(res.summary["curtailment_mwh"]["wind"])
    # with the PTDF, congestion is only blamed where the plant's bus feeds the line
    c2 = checks.curtailment(res, case=res_sys())
    w2 = set(c2.causes.filter(pl.col("tech") == "solar")["cause"].to_list())
    assert "network congestion" not in w2  # solar at 'east' relieves west->mid flow
    # with line end buses in the result's meta, only plants at an end of the line are blamed
    res.meta.update(line_from=[0, 1, 0], line_to=[1, 2, 2])  # west-mid, mid-east, west-east
    c_adj = checks.curtailment(res)
    assert "network congestion" in set(c_adj.causes.filter(pl.col("tech") == "wind")["cause"].to_list())  # wind at west
    assert "network congestion" not in set(c_adj.causes.filter(pl.col("tech") == "solar")["cause"].to_list())  # east
    # exports below their maximum, storage not full, no congestion: only minimum generation
    res3 = fake_result(re_frac=0.9, line_flow=(0.0, 0.0, 0.0), export_frac=0.5, charge_frac=0.5, soc_frac=0.5)
    c3 = checks.curtailment(res3)
    assert set(c3.causes["cause"].to_list()) == {"minimum generation"}
    # and with thermal above pmin too: 'other'
    res4 = fake_result(re_frac=0.9, line_flow=(0.0, 0.0, 0.0), export_frac=0.5, charge_frac=0.5, soc_frac=0.5,
                       thermal_above_pmin_mw=5.0)
    assert set(checks.curtailment(res4).causes["cause"].to_list()) == {"other"}


def res_sys():
    from dispatch.testing import toy_system

    return toy_system(48)


# ---------------------------------------------------------------- carbon / supply
def test_carbon_supply_pass_and_fail() -> None:
    res = fake_result()
    cs = checks.carbon_supply(res)
    assert cs.passed
    assert cs.co2_t == pytest.approx(res.summary["co2_t"])
    assert 0 < cs.non_fossil_share < 1
    assert cs.loss_of_load_hours == 0
    bad = checks.carbon_supply(fake_result(shed_mw=10.0))
    assert not bad.passed and bad.loss_of_load_hours == 48
    assert bad.unserved_mwh == pytest.approx(480.0)
    assert "unserved" in bad.reason and "FAIL" in bad.table()


# ---------------------------------------------------------------- AC power flow
def test_ac_power_flow_pass_and_fail() -> None:
    pytest.importorskip("pandapower")
    res = fake_result(hours=24, re_frac=0.9)
    ok = checks.ac_power_flow(res, net=toy_net(2.0), hours=[0, 13])
    assert ok.passed, ok.table()
    assert ok.hours.height == 2 and ok.hours["converged"].all()
    tight = checks.ac_power_flow(res, net=toy_net(0.02), hours=[13])
    assert not tight.passed
    assert tight.loading_violations.height > 0
    assert "not AC-feasible" in tight.reason


def test_stress_hours_labels() -> None:
    res = fake_result(re_frac=0.9)
    sh = checks.stress_hours(res)
    load = res.system["load_mw"].to_numpy()
    times = res.system["time"].to_list()
    assert sh["peak load"] == times[int(np.argmax(load))]
    assert len(set(sh.values())) == len(sh)


# ---------------------------------------------------------------- run_all / disk
def test_run_all_on_result_read_from_disk(tmp_path) -> None:
    fake_result(re_frac=0.9, **_dr(120.0)).write(tmp_path / "r")
    res = read_result(tmp_path / "r")
    out = checks.run_all(res, ac=True, dynamic=False)
    assert set(out) == {"peak_response", "curtailment", "carbon_supply", "statistics", "ac_power_flow"}
    assert out["peak_response"].passed and not out["curtailment"].passed
    # the toy case has no pandapower net: reported as not run, not raised
    assert out["ac_power_flow"]["passed"] is None and "could not run" in out["ac_power_flow"]["reason"]
    payload = json.loads(json.dumps(checks.results_json(out)))
    assert payload["verdicts"] == {"peak_response": "PASS", "curtailment": "FAIL", "carbon_supply": "PASS", "statistics": "n/a",
                                   "ac_power_flow": "n/a"}
    text = checks.render(out)
    assert "SUMMARY" in text and "curtailment FAIL" in text


# ---------------------------------------------------------------- provincial statistics
def _year_result(hours: int = 8760):
    """A whole year (or ``hours``) at constant output: two reservoir stations (one on the
    border, counted half), small hydro, two links (one counted by the other province)."""
    from dispatch.results import Result

    t = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1) + pl.duration(hours=hours - 1), "1h",
                          eager=True)
    system = pl.DataFrame({"time": t, "load_mw": [50_000.0] * hours, "shed_mw": [10.0] * hours,
                           "dr_mw": [5.0] * hours, "rebound_mw": [1.0] * hours, "thermal_mw": [8_000.0] * hours,
                           "hydro_mw": [30_000.0] * hours, "wind_mw": [2_000.0] * hours, "solar_mw": [1_500.0] * hours})
    hydro = pl.DataFrame({"time": pl.concat([t, t]), "plant": ["border"] * hours + ["inland"] * hours,
                          "p_mw": [20_000.0] * hours + [10_000.0] * hours})
    ren = pl.DataFrame({"time": t, "plant": ["small"] * hours, "kind": ["hydro_ror"] * hours, "p_mw": [4_000.0] * hours})
    ex = pl.DataFrame({"time": pl.concat([t, t]), "link": ["yunnan_bank"] * hours + ["uhvdc"] * hours,
                       "p_mw": [9_000.0] * hours + [6_000.0] * hours})
    comps = pl.DataFrame({"component": ["hydro", "hydro", "export", "export"],
                          "name": ["border", "inland", "yunnan_bank", "uhvdc"]})
    return Result(frames={"system": system, "hydro": hydro, "renewables": ren, "exports": ex, "components": comps},
                  summary={"case": "sichuan-2024", "hours": hours},
                  meta={"year": 2024, "hy_stat_share": [0.5, 1.0], "ex_stat_share": [0.0, 1.0]})


def test_statistics_counts_the_province_share_and_judges_by_tolerance() -> None:
    res = _year_result()
    scale = 8784 / 8760  # 2024 is a leap year; the case series hold 8760 h
    pub = pl.DataFrame({"quantity": ["consumption", "hydro", "thermal", "solar"],
                        "value_twh": [438.0, 250.0, 100.0, 5.0], "tolerance": [0.02, 0.10, 0.10, 0.0],
                        "note": ["", "", "", "shown only"], "source": ["t"] * 4})
    st = checks.statistics(res, published=pub)
    rows = {r["quantity"]: r for r in st.rows.iter_rows(named=True)}
    twh = 8760 * scale / 1e6
    assert rows["consumption"]["counted_twh"] == pytest.approx((50_000 - 10 - 5 + 1) * twh)
    assert rows["hydro"]["model_twh"] == pytest.approx((30_000 + 4_000) * twh)
    assert rows["hydro"]["counted_twh"] == pytest.approx((0.5 * 20_000 + 10_000 + 4_000) * twh)
    assert rows["net_exports"]["model_twh"] == pytest.approx(15_000 * twh)
    assert rows["net_exports"]["counted_twh"] == pytest.approx(6_000 * twh)
    assert rows["hydro"]["diff_pct"] == pytest.approx(100 * (24_000 * twh / 250.0 - 1))
    # consumption +0.4 % and hydro -15.9 %... thermal -29.8 %: two FAILs; solar shown, not judged
    assert [rows[q]["verdict"] for q in ("consumption", "hydro", "thermal", "solar")] == ["PASS", "FAIL", "FAIL", "shown"]
    assert st.passed is False and "hydro" in st.reason and "thermal" in st.reason and "solar" not in st.reason
    json.dumps(st.to_dict())
    assert "counted_twh" in st.table()
    ok = checks.statistics(res, published=pub.with_columns(pl.Series("value_twh", [438.0, 210.0, 70.5, 5.0])))
    assert ok.passed is True


def test_statistics_needs_a_whole_year_and_a_published_year() -> None:
    week = checks.statistics(_year_result(168))
    assert week.passed is None and "whole-year" in week.reason
    assert week.rows["diff_pct"].null_count() == week.rows.height
    # the shipped figures for 2024 (networks/sichuan/statistics.csv) are read and judged
    year = checks.statistics(_year_result())
    judged = year.rows.filter(pl.col("verdict").is_in(["PASS", "FAIL"]))["quantity"].to_list()
    assert judged == ["consumption", "hydro", "thermal"]
    other = _year_result()
    other.summary["case"] = "rts-gmlc"
    assert checks.statistics(other).passed is None
    broken = _year_result()
    broken.meta["hy_stat_share"] = [0.5]  # one share for two stations: refused, not guessed
    with pytest.raises(Exception, match="hy_stat_share"):
        checks.statistics(broken)
    later = _year_result()
    later.meta["year"] = 2030  # a case year without published figures
    st = checks.statistics(later)
    assert st.passed is None and "no published figures for 2030" in st.reason


def test_published_statistics_bad_rows_name_file_column_row(monkeypatch, tmp_path) -> None:
    import shutil

    from dispatch.case import data_dir, published_statistics
    from dispatch.errors import CaseError

    root = tmp_path / "networks"
    shutil.copytree(data_dir() / "sichuan", root / "sichuan")
    monkeypatch.setenv("DISPATCH_DATA", str(tmp_path))
    assert published_statistics(2024).height == 4
    f = root / "sichuan" / "statistics.csv"
    text = f.read_text()
    f.write_text(text.replace("2024,thermal,97.0,0.10", "2024,thermal,-97.0,0.10"))
    with pytest.raises(CaseError) as e:
        published_statistics(2024)
    assert "statistics.csv" in str(e.value) and "value_twh" in str(e.value) and "row 3" in str(e.value)
    f.write_text(text + "2024,hydro,380.0,0.1,again,x\n")
    with pytest.raises(CaseError) as e:
        published_statistics()
    assert "duplicate" in str(e.value) and "row 10" in str(e.value)
