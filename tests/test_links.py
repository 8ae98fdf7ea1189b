"""DC links (two-terminal, lossless, controllable): milp, native, invariants, results, RTS-GMLC.

The hand-made case: a 3-bus triangle (equal reactances, slack bus 0) with the cheap unit
(10/MWh) at bus 0, the peaker (50/MWh) at bus 2 and all 150 MW of load at bus 2. Of power
sent from bus 0 to bus 2, 2/3 flows on line 0-2, limited to 60 MW, so the AC network
delivers at most 90 MW of cheap power and the peaker makes 60 MW. A 50 MW link 0 -> 2 adds
50 MW of cheap power directly, and line 0-2 still carries 2/3 of the rest: cheap
140 MW, peaker 10 MW, 50 x (50 - 10) = 2000 per hour cheaper, the link at +50 MW.
"""

from __future__ import annotations

import numpy as np
import pytest

import naive
from dispatch import milp, native, testing
from dispatch.arrays import initial_state
from dispatch.errors import CaseError
from dispatch.invariants import assert_feasible
from dispatch.validate import validate_arrays

HOURS = 6


def _three_bus(link: bool = True):
    base = testing.two_unit_system([150.0] * HOURS)
    load = np.zeros((HOURS, 3))
    load[:, 2] = 150.0
    sys = base.with_(
        name="three-bus-link",
        bus_names=("b0", "b1", "b2"),
        load_mw=load,
        line_names=("l01", "l12", "l02"),
        ptdf=np.ascontiguousarray(testing._ptdf_3bus((0.1, 0.1, 0.1))),
        line_max_mw=np.array([500.0, 500.0, 60.0]),
        th_bus=np.array([0, 2], dtype=np.int64),
    )
    if link:
        sys = sys.with_(dc_names=("hvdc",), dc_from=np.array([0], dtype=np.int64), dc_to=np.array([2], dtype=np.int64),
                        dc_pmax=np.array([50.0]))
    return sys


@pytest.fixture(scope="module")
def solved():
    out = {}
    for link in (True, False):
        sys = _three_bus(link)
        st = initial_state(sys)
        out[link] = (sys, st, milp.solve_window(sys, 0, HOURS, st, None), native.solve_window(sys, 0, HOURS, st, None))
    return out


def test_case_is_valid_and_congested(solved):
    sys, st, m, _ = solved[False]
    validate_arrays(_three_bus(True))
    # without the link line 0-2 binds and the peaker makes 60 MW every hour
    assert np.abs(m.line_flow[:, 2]).max() == pytest.approx(60.0, abs=1e-6)
    np.testing.assert_allclose(m.th_p[:, 1], 60.0, atol=1e-6)
    assert m.dc_p.shape == (HOURS, 0)


def test_milp_uses_the_link(solved):
    sys, st, m, _ = solved[True]
    m0 = solved[False][2]
    assert naive.check_feasible(sys, st, m, None) == []
    assert_feasible(sys, st, m, None)
    assert m.dc_p.shape == (HOURS, 1)
    np.testing.assert_allclose(m.dc_p[:, 0], 50.0, atol=1e-6)  # at its limit, from bus 0 to bus 2
    np.testing.assert_allclose(m.th_p[:, 1], 10.0, atol=1e-6)
    assert m.objective == pytest.approx(m0.objective - HOURS * 50.0 * (50.0 - 10.0), rel=1e-9)


def test_native_feasible_with_valid_bound(solved):
    sys, st, m, s = solved[True]
    assert_feasible(sys, st, s, None)
    assert naive.check_feasible(sys, st, s, None) == []
    assert np.abs(s.dc_p).max() <= 50.0 + 1e-9
    assert s.lower_bound <= m.objective + 1e-6 * abs(m.objective)
    # the repair moves the link before the peaker: native reaches the milp optimum here
    assert s.dc_p[:, 0].min() > 0.0
    assert s.objective == pytest.approx(m.objective, rel=1e-6)
    assert s.objective < solved[False][3].objective


def test_link_line_flows_match_ptdf(solved):
    sys, _, m, s = solved[True]
    for sol in (m, s):
        inj = -sys.load_mw[:HOURS].copy()
        np.add.at(inj, (slice(None), sys.th_bus), sol.th_p)
        inj[:, 0] -= sol.dc_p[:, 0]
        inj[:, 2] += sol.dc_p[:, 0]
        np.testing.assert_allclose(sol.line_flow, inj @ sys.ptdf.T, atol=1e-6)


def test_invariants_catch_link_over_capacity(solved):
    from dispatch.invariants import check_solution

    sys, st, m, _ = solved[True]
    bad = m.head(HOURS)
    bad.dc_p = bad.dc_p * 1.5
    lines = check_solution(sys, st, bad, None)
    assert any("dcmax" in ln for ln in lines)
    assert any("line_flow != PTDF" in ln for ln in lines)
    assert naive.check_feasible(sys, st, bad, None) != []


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"dc_from": np.array([3], dtype=np.int64)}, "dc_from"),
        ({"dc_to": np.array([-1], dtype=np.int64)}, "dc_to"),
        ({"dc_pmax": np.array([-5.0])}, "dc_pmax"),
        ({"dc_to": np.array([0], dtype=np.int64)}, "dc_to"),
        ({"dc_pmax": np.array([50.0, 20.0])}, "dc_pmax"),
        ({"dc_from": np.array([0.0])}, "dc_from"),
    ],
)
def test_bad_link_named(changes, field):
    sys = _three_bus(True).with_(**changes)
    with pytest.raises(CaseError, match=field) as exc:
        validate_arrays(sys)
    assert exc.value.column == field
    assert "hvdc" in str(exc.value) or "shape" in str(exc.value) or "dtype" in str(exc.value)


def test_links_frame_in_result(tmp_path):
    from dispatch.simulate import simulate
    from dispatch.results import read_result

    sys = _three_bus(True)
    res = simulate(sys, engine="native", hours=HOURS, window_h=HOURS, lookahead_h=0, progress=False)
    links = res.frames["links"]
    assert links.columns == ["time", "link", "from_bus", "to_bus", "flow_mw", "rating_mw", "loading"]
    assert links.height == HOURS and set(links["link"]) == {"hvdc"}
    assert links["loading"].max() <= 1.0 + 1e-9
    back = read_result(res.write(tmp_path / "r"))
    assert back.frames["links"].equals(links)
    res0 = simulate(_three_bus(False), engine="native", hours=HOURS, window_h=HOURS, lookahead_h=0, progress=False)
    assert "links" not in res0.frames


def test_rts_gmlc_has_dc1():
    from dispatch import load_case

    sys = load_case("rts-gmlc").to_arrays()
    assert sys.dc_names == ("DC1",)
    assert sys.bus_names[int(sys.dc_from[0])] == "113" and sys.bus_names[int(sys.dc_to[0])] == "316"
    assert sys.dc_pmax.tolist() == [100.0]
    assert sys.n_ex == 0  # no longer two zero-schedule export entries
