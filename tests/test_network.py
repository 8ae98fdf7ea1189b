"""The pandapower network of the Sichuan cases: build, PTDF, ratings, connectivity."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dispatch.case import load_case
from dispatch.errors import CaseError
from dispatch.network import SLACK_BUS, branch_table, check_connected, ptdf_dc, ptdf_from_net, st_clair


@pytest.fixture(scope="module")
def case24():
    return load_case("sichuan-2024")


@pytest.fixture(scope="module")
def ptdf24(case24):
    return ptdf_from_net(case24.net)


def test_net_matches_tables(case24) -> None:
    net = case24.net
    tb = case24.tables
    assert len(net.bus) == tb["buses"].height >= 40
    assert len(net.line) == tb["lines"].height and len(net.trafo) == tb["trafos"].height
    assert len(net.line) + len(net.trafo) >= 60
    assert net.bus.name.to_list() == tb["buses"]["name"].to_list()
    assert len(net.ext_grid) == 1 and net.bus.name.at[int(net.ext_grid.bus.iloc[0])] == SLACK_BUS
    assert len(net.gen) == tb["thermal"].height + tb["hydro"].height


def test_ptdf_equals_independent_twin(case24, ptdf24) -> None:
    ptdf, names = ptdf24
    br = branch_table(case24.tables)
    assert names == br["name"].to_list()
    bnames = case24.tables["buses"]["name"].to_list()
    pos = {n: i for i, n in enumerate(bnames)}
    f = np.array([pos[b] for b in br["from_bus"].to_list()])
    t = np.array([pos[b] for b in br["to_bus"].to_list()])
    twin = ptdf_dc(f, t, br["x_pu"].to_numpy(), len(bnames), pos[SLACK_BUS])
    np.testing.assert_allclose(ptdf, twin, atol=2e-3)
    assert np.abs(ptdf[:, pos[SLACK_BUS]]).max() < 1e-12


def test_ptdf_reproduces_pandapower_dc_flow(case24, ptdf24) -> None:
    import pandapower as pp

    net = case24.net
    rng = np.random.default_rng(3)
    net.load["p_mw"] = rng.uniform(50, 2000, len(net.load))
    pp.rundcpp(net)
    ptdf, _ = ptdf24
    inj = np.zeros(len(net.bus))
    np.add.at(inj, net.load.bus.to_numpy(), -net.load.p_mw.to_numpy())
    flow = ptdf @ inj
    pp_flow = np.concatenate([net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()])
    np.testing.assert_allclose(flow, pp_flow, atol=1e-6 * np.abs(pp_flow).max() + 1e-6)


def test_ratings(case24) -> None:
    br = branch_table(case24.tables)
    r = br["rating_mw"].to_numpy()
    assert np.all(r > 0)
    lines = br.filter(pl.col("kind") == "line")
    one = case24.tables["lines"].filter(pl.col("line_type") == "ac500_4x400")
    # a 500 kV circuit carries between 0.6 and 3 SIL (St. Clair), never above its thermal limit
    per = lines.join(case24.tables["lines"].select("name", "circuits", "line_type"), on="name")
    per = per.filter(pl.col("line_type") == "ac500_4x400")
    x = per["rating_mw"].to_numpy() / per["circuits"].to_numpy()
    assert one.height > 0 and np.all(x <= 0.95 * np.sqrt(3) * 500 * 3.38 + 1e-6) and np.all(x >= 500)
    assert np.all(np.diff(st_clair(np.linspace(0, 2000, 50))) <= 0)


def test_uhv_only_from_2025(case24) -> None:
    assert "uhv_ganzi" not in case24.tables["buses"]["name"].to_list()
    c25 = load_case("sichuan-2025")
    assert "uhv_ganzi" in c25.tables["buses"]["name"].to_list()
    assert (c25.tables["lines"]["line_type"] == "ac1000_8x500").sum() == 2


def test_disconnected_bus_is_an_error(case24) -> None:
    tb = dict(case24.tables)
    tb["lines"] = tb["lines"].filter((pl.col("from_bus") != "col_jialing") & (pl.col("to_bus") != "col_jialing"))
    with pytest.raises(CaseError, match="col_jialing") as ei:
        check_connected(tb, "lines.csv")
    assert ei.value.file == "lines.csv"
