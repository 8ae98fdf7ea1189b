"""The pandapower network of a case, its PTDF and its branch ratings.

The CSV tables (``buses``, ``line_types``, ``lines``, ``trafos``) are the source of truth;
:func:`build_net` turns them into a pandapower net (a JSON export of it is an output,
never an input). :func:`ptdf_from_net` computes the DC power transfer distribution
factors with pandapower's own facilities (``rundcpp`` to lower the net to a PYPOWER case,
then ``pandapower.pypower.makePTDF``). :func:`ptdf_dc` is the same linear algebra written
out (used by the tests as an independent twin).

Branch ratings (MW, per branch, all circuits together)
-----------------------------------------------------
A line's rating is ``circuits * min(0.95 * sqrt(3) * vn_kv * max_i_ka, SIL * m(L))``: the
thermal limit at power factor 0.95, or the steady-state stability limit from the St. Clair
loadability curve ``m(L)`` (multiples of surge-impedance loading against length; Gutman,
Marchenko & Dunlop, "Analytical development of loadability characteristics for EHV and
UHV transmission lines", IEEE Trans. PAS-98(2), 1979), whichever is lower. Transformers:
``0.95 * units * sn_mva``. All branches are monitored.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

#: St. Clair curve: (length km, multiple of SIL) [Gutman et al. 1979, read from the curve].
ST_CLAIR = ((0.0, 3.0), (80.0, 3.0), (160.0, 2.0), (320.0, 1.3), (480.0, 1.0), (650.0, 0.8), (1000.0, 0.65), (3000.0, 0.5))
POWER_FACTOR = 0.95
BASE_MVA = 100.0
SLACK_BUS = "cd_south"
_EMPTY: Any = None


def st_clair(length_km: np.ndarray | float) -> np.ndarray:
    """Loadability as a multiple of SIL for a line of ``length_km`` (piecewise linear)."""
    xs, ys = zip(*ST_CLAIR)
    return np.interp(np.asarray(length_km, dtype=float), xs, ys)


def branch_table(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """All branches (lines then transformers) with from/to bus, reactance (p.u.) and rating (MW)."""
    lt = tables["line_types"]
    lines = tables["lines"].join(lt.rename({"name": "line_type", "source": "type_source"}), on="line_type", how="left")
    n = lines["circuits"].to_numpy().astype(float)
    L = lines["length_km"].to_numpy()
    vn = lines["vn_kv"].to_numpy()
    thermal = POWER_FACTOR * math.sqrt(3) * vn * lines["max_i_ka"].to_numpy()
    stab = lines["sil_mw"].to_numpy() * st_clair(L)
    rating = n * np.minimum(thermal, stab)
    x_pu = lines["x_ohm_per_km"].to_numpy() * L / n / (vn**2 / BASE_MVA)
    tr = tables["trafos"]
    tr_rating = POWER_FACTOR * tr["units"].to_numpy() * tr["sn_mva"].to_numpy()
    tr_x = tr["vk_percent"].to_numpy() / 100.0 * BASE_MVA / (tr["units"].to_numpy() * tr["sn_mva"].to_numpy())
    return pl.DataFrame(
        {
            "name": lines["name"].to_list() + tr["name"].to_list(),
            "kind": ["line"] * lines.height + ["trafo"] * tr.height,
            "from_bus": lines["from_bus"].to_list() + tr["hv_bus"].to_list(),
            "to_bus": lines["to_bus"].to_list() + tr["lv_bus"].to_list(),
            "x_pu": np.concatenate([x_pu, tr_x]),
            "rating_mw": np.concatenate([rating, tr_rating]),
            "limit": (["thermal" if t <= s else "stability" for t, s in zip(thermal, stab)] + ["thermal"] * tr.height),
        }
    )


def build_net(tables: dict[str, pl.DataFrame], name: str = "sichuan", peak_load_mw: float = 0.0) -> Any:
    """A pandapower net of the in-service elements in ``tables`` (already filtered by year).

    Buses keep the table order (pandapower index = row), carry ``geo`` from lat/lon, and
    ``zone`` = region. Lines use ``line_types`` per-km data with ``parallel = circuits``;
    transformers are 1000/500 kV units with ``parallel = units``. Loads (at the peak
    share), generators (thermal + hydro as ``gen``, wind/solar/run-of-river as ``sgen``),
    storage and exports (as loads named ``export:...``) are attached for inspection and AC
    checks; the PTDF depends only on the branches. One ``ext_grid`` at :data:`SLACK_BUS`.
    """
    import copy

    import pandapower as pp

    global _EMPTY
    if _EMPTY is None:  # create_empty_network costs ~0.7 s; a deep copy of it ~0.05 s
        _EMPTY = pp.create_empty_network(f_hz=50.0, sn_mva=BASE_MVA)
    net = copy.deepcopy(_EMPTY)
    net.name = name
    b = tables["buses"]
    idx = pp.create_buses(
        net,
        nr_buses=b.height,
        vn_kv=b["vn_kv"].to_numpy(),
        name=b["name"].to_list(),
        zone=b["region"].to_list(),
        geodata=list(zip(b["lon"].to_list(), b["lat"].to_list())),
    )
    pos = {n: int(i) for n, i in zip(b["name"].to_list(), idx)}
    lt = tables["line_types"]
    lines = tables["lines"].join(lt.rename({"name": "line_type", "source": "type_source"}), on="line_type", how="left")
    if lines.height:
        pp.create_lines_from_parameters(
            net,
            from_buses=[pos[x] for x in lines["from_bus"].to_list()],
            to_buses=[pos[x] for x in lines["to_bus"].to_list()],
            length_km=lines["length_km"].to_numpy(),
            r_ohm_per_km=lines["r_ohm_per_km"].to_numpy(),
            x_ohm_per_km=lines["x_ohm_per_km"].to_numpy(),
            c_nf_per_km=lines["c_nf_per_km"].to_numpy(),
            max_i_ka=lines["max_i_ka"].to_numpy(),
            parallel=lines["circuits"].to_numpy(),
            name=lines["name"].to_list(),
        )
    tr = tables["trafos"]
    if tr.height:
        hv = [pos[x] for x in tr["hv_bus"].to_list()]
        lv = [pos[x] for x in tr["lv_bus"].to_list()]
        vn = net.bus.vn_kv.to_numpy()
        pp.create_transformers_from_parameters(
            net, hv_buses=hv, lv_buses=lv, sn_mva=tr["sn_mva"].to_numpy(), vn_hv_kv=vn[hv], vn_lv_kv=vn[lv],
            vkr_percent=np.full(tr.height, 0.25), vk_percent=tr["vk_percent"].to_numpy(), pfe_kw=np.zeros(tr.height),
            i0_percent=np.zeros(tr.height), parallel=tr["units"].to_numpy(), name=tr["name"].to_list(),
        )
    pp.create_ext_grid(net, pos[SLACK_BUS] if SLACK_BUS in pos else 0, vm_pu=1.0, name="slack")
    share = b["load_share"].to_numpy()
    lb = np.flatnonzero(share > 0)
    if lb.size:
        pp.create_loads(net, buses=lb, p_mw=peak_load_mw * share[lb], name=[f"load:{b['name'][int(i)]}" for i in lb])
    for t, kind in (("thermal", "thermal"), ("hydro", "hydro")):
        df = tables.get(t)
        if df is not None and df.height:
            pp.create_gens(net, buses=[pos[x] for x in df["bus"].to_list()], p_mw=np.zeros(df.height),
                           max_p_mw=df["p_max_mw"].to_numpy(), min_p_mw=np.zeros(df.height), name=df["name"].to_list(),
                           type=kind, controllable=True)
    df = tables.get("renewables")
    if df is not None and df.height:
        pp.create_sgens(net, buses=[pos[x] for x in df["bus"].to_list()], p_mw=np.zeros(df.height),
                        name=df["name"].to_list(), type=df["kind"].to_list())
    df = tables.get("storage")
    if df is not None and df.height:
        pp.create_storages(net, buses=[pos[x] for x in df["bus"].to_list()], p_mw=np.zeros(df.height),
                           max_e_mwh=df["e_max_mwh"].to_numpy(), name=df["name"].to_list(), type=df["kind"].to_list())
    df = tables.get("exports")
    if df is not None and df.height:
        pp.create_loads(net, buses=[pos[x] for x in df["bus"].to_list()], p_mw=np.zeros(df.height),
                        name=[f"export:{x}" for x in df["name"].to_list()])
    return net


def ptdf_from_net(net: Any) -> tuple[np.ndarray, list[str]]:
    """PTDF (branches x buses, MW flow per MW injected at the bus and withdrawn at the slack).

    Uses pandapower's DC lowering (``rundcpp``) and ``pandapower.pypower.makePTDF``. Rows
    are the net's lines then transformers (in index order); columns are ``net.bus`` rows.
    Returns the matrix and the branch names.
    """
    import pandapower as pp
    from pandapower.pypower.idx_bus import BUS_TYPE, REF
    from pandapower.pypower.makePTDF import makePTDF

    pp.rundcpp(net)
    ppc = net._ppc
    bus_lookup = net._pd2ppc_lookups["bus"]
    bus = np.real(ppc["bus"]).astype(float)
    branch = ppc["branch"]
    slack = int(np.flatnonzero(bus[:, BUS_TYPE] == REF)[0])
    H = makePTDF(ppc["baseMVA"], bus, branch, slack)
    H = np.real(np.asarray(H, dtype=complex)).astype(float)
    cols = bus_lookup[net.bus.index.to_numpy()]
    ptdf = H[:, cols]
    nl, nt = len(net.line), len(net.trafo)
    br = net._pd2ppc_lookups.get("branch", {})
    rows = []
    if nl:
        f, t = br["line"]
        rows.extend(range(f, t))
    if nt:
        f, t = br["trafo"]
        rows.extend(range(f, t))
    ptdf = np.ascontiguousarray(ptdf[rows])
    names = list(net.line.name.to_list()) + list(net.trafo.name.to_list())
    return ptdf, names


def ptdf_dc(from_idx: np.ndarray, to_idx: np.ndarray, x_pu: np.ndarray, n_bus: int, slack: int) -> np.ndarray:
    """DC PTDF from branch endpoints and reactances: ``diag(1/x) A B_red^-1`` with the slack removed."""
    L = len(x_pu)
    A = np.zeros((L, n_bus))
    A[np.arange(L), from_idx] = 1.0
    A[np.arange(L), to_idx] = -1.0
    bd = 1.0 / np.asarray(x_pu, dtype=float)
    B = A.T @ (bd[:, None] * A)
    keep = np.array([i for i in range(n_bus) if i != slack])
    X = np.zeros((n_bus, n_bus))
    X[np.ix_(keep, keep)] = np.linalg.inv(B[np.ix_(keep, keep)])
    return np.ascontiguousarray((bd[:, None] * A) @ X)


def check_connected(tables: dict[str, pl.DataFrame], file: str = "lines.csv") -> None:
    """Raise :class:`CaseError` if some in-service bus is not connected to the slack."""
    from .errors import CaseError

    names = tables["buses"]["name"].to_list()
    pos = {n: i for i, n in enumerate(names)}
    adj: list[list[int]] = [[] for _ in names]
    for f, t in list(zip(tables["lines"]["from_bus"].to_list(), tables["lines"]["to_bus"].to_list())) + list(
        zip(tables["trafos"]["hv_bus"].to_list(), tables["trafos"]["lv_bus"].to_list())
    ):
        adj[pos[f]].append(pos[t])
        adj[pos[t]].append(pos[f])
    start = pos.get(SLACK_BUS, 0)
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    if len(seen) < len(names):
        lost = [n for i, n in enumerate(names) if i not in seen]
        raise CaseError(f"buses not connected to the network: {', '.join(lost)}; every bus needs a line or transformer", file=file)
