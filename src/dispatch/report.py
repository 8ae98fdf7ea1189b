"""Plots (matplotlib, Agg) and a self-contained HTML report of a :class:`~dispatch.results.Result`.

:func:`make_report` writes one PNG per figure and ``report.html`` with the images embedded
(base64) and the check tables, so the HTML file can be mailed on its own:

``dispatch_week.png``     dispatch stack of one week (default: the week with the peak load)
``monthly_energy.png``    energy by type and month
``storage_hydro.png``     storage state of charge and reservoir volumes over the period
``curtailment_heatmap.png``  curtailed power by day and hour of day
``line_map.png``          buses at their coordinates, lines coloured by their highest loading
``peak_response.png``     load and served load in the peak hours under the DR re-dispatch

Names are written in ASCII (pinyin for Chinese places), so no CJK font is needed.
"""

from __future__ import annotations

import base64
import html
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = ["make_report", "FIGURES"]

FIGURES = (
    "dispatch_week",
    "monthly_energy",
    "storage_hydro",
    "curtailment_heatmap",
    "line_map",
    "peak_response",
)

# colours per energy type (supply positive, withdrawals negative)
COLOURS = {
    "coal": "#4d4d4d",
    "gas": "#b07aa1",
    "oil": "#8c564b",
    "nuclear": "#e15759",
    "biomass": "#9c755f",
    "thermal": "#7f7f7f",
    "hydro": "#1f77b4",
    "wind": "#59a14f",
    "solar": "#f1c232",
    "run-of-river hydro": "#9ecae9",
    "other renewables": "#76b7b2",
    "storage discharge": "#ff9d3a",
    "demand response": "#d37295",
    "load shed": "#d62728",
    "storage charge": "#ffbe7d",
    "exports": "#bcbd22",
}


def _ascii(s: Any) -> str:
    """ASCII form of a label: tone marks dropped (pinyin), other non-ASCII removed."""
    t = unicodedata.normalize("NFKD", str(s))
    t = "".join(c for c in t if ord(c) < 128)
    return t if t.strip() else "?"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _gw_or_mw(values: np.ndarray) -> tuple[float, str]:
    m = float(np.nanmax(np.abs(values))) if values.size else 0.0
    return (1e3, "GW") if m >= 5e3 else (1.0, "MW")


def _energy_unit(values: np.ndarray) -> tuple[float, str]:
    m = float(np.nanmax(np.abs(values))) if values.size else 0.0
    if m >= 5e6:
        return 1e6, "TWh"
    if m >= 5e3:
        return 1e3, "GWh"
    return 1.0, "MWh"


# ---------------------------------------------------------------------------------------
def supply_by_type(res: Any) -> pl.DataFrame:
    """Hourly supply and withdrawals by type (MW); thermal split by unit kind.

    Columns: time, one column per supply type (positive; run-of-river plants modelled as
    non-dispatchable renewables of kind ``hydro_ror`` apart from other renewables),
    ``storage charge`` and
    ``exports`` (negative), and ``load``.
    """
    s = res.system
    out = s.select("time")
    if "units" in res.frames and res.units.height:
        th = res.units.pivot(on="kind", index="time", values="p_mw", aggregate_function="sum").sort("time")
        out = out.join(th, on="time", how="left")
    else:
        out = out.with_columns(s["thermal_mw"].alias("thermal"))
    ror = pl.Series("ror", np.zeros(s.height))
    if "renewables" in res.frames and res.renewables.height:
        r = res.renewables.filter(pl.col("kind") == "hydro_ror").group_by("time").agg(pl.col("p_mw").sum())
        ror = s.select("time").join(r, on="time", how="left").fill_null(0.0)["p_mw"]
    out = out.with_columns(
        s["hydro_mw"].alias("hydro"),
        ror.alias("run-of-river hydro"),
        s["wind_mw"].alias("wind"),
        s["solar_mw"].alias("solar"),
        (s["other_re_mw"] - ror).alias("other renewables"),
        s["storage_discharge_mw"].alias("storage discharge"),
        s["dr_mw"].alias("demand response"),
        s["shed_mw"].alias("load shed"),
        (-s["storage_charge_mw"]).alias("storage charge"),
        (-s["export_mw"]).alias("exports"),
        (s["load_mw"] + s["rebound_mw"]).alias("load"),
    )
    return out.fill_null(0.0)


def peak_week_start(res: Any) -> int:
    """Index of the first hour of the 168-hour block (from the result's start) holding the peak load."""
    load = res.system["load_mw"].to_numpy()
    return int(np.argmax(load)) // 168 * 168


def plot_dispatch_week(res: Any, path: Path, week: int | None = None) -> Path:
    """Stacked dispatch of one week (``week`` counts from the result's start, 0-based)."""
    plt = _plt()
    df = supply_by_type(res)
    n = df.height
    a = peak_week_start(res) if week is None else int(week) * 168
    if not 0 <= a < n:
        from .errors import DispatchError

        raise DispatchError(f"week {week} is outside the result's {n} hours ({max(1, -(-n // 168))} weeks, 0-based)")
    d = df.slice(a, 168)
    t = d["time"].to_numpy()
    cols = [c for c in d.columns if c not in ("time", "load")]
    vals = {c: d[c].to_numpy() for c in cols}
    scale, unit = _gw_or_mw(np.concatenate([d["load"].to_numpy()] + list(vals.values())))
    fig, ax = plt.subplots(figsize=(12, 5.5))
    pos = [c for c in cols if c not in ("storage charge", "exports") and np.abs(vals[c]).max() > 1e-6]
    neg = [c for c in ("storage charge", "exports") if c in vals and np.abs(vals[c]).max() > 1e-6]
    if pos:
        ax.stackplot(t, *[vals[c] / scale for c in pos], labels=pos, colors=[COLOURS.get(c, None) or "#aaaaaa" for c in pos], step=None, linewidth=0)
    if neg:
        ax.stackplot(t, *[vals[c] / scale for c in neg], labels=neg, colors=[COLOURS.get(c, "#cccccc") for c in neg], linewidth=0)
    ax.plot(t, d["load"].to_numpy() / scale, color="black", lw=1.6, label="load (incl. DR payback)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel(f"power ({unit})")
    label = "peak week" if week is None else f"week {week}"
    ax.set_title(f"{_ascii(res.summary.get('case'))} [{res.summary.get('engine')}]: dispatch, {label} from {str(t[0])[:10]}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.grid(alpha=0.3)
    _date_axis(ax)
    return _save(fig, path)


def _date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def plot_monthly_energy(res: Any, path: Path) -> Path:
    """Stacked bars of energy by type and month (withdrawals below zero)."""
    plt = _plt()
    df = supply_by_type(res).with_columns(pl.col("time").dt.strftime("%Y-%m").alias("month"))
    cols = [c for c in df.columns if c not in ("time", "month", "load")]
    m = df.group_by("month").agg([pl.col(c).sum() for c in cols + ["load"]]).sort("month")
    cols = [c for c in cols if m[c].abs().max() > 1e-6]
    scale, unit = _energy_unit(np.concatenate([m[c].to_numpy() for c in cols + ["load"]]))
    x = np.arange(m.height)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    bot_p = np.zeros(m.height)
    bot_n = np.zeros(m.height)
    width = 0.7 if m.height > 1 else 0.4
    for c in cols:
        v = m[c].to_numpy() / scale
        base = np.where(v >= 0, bot_p, bot_n)
        ax.bar(x, v, width, bottom=base, label=c, color=COLOURS.get(c, "#aaaaaa"))
        bot_p += np.maximum(v, 0)
        bot_n += np.minimum(v, 0)
    ax.plot(x, m["load"].to_numpy() / scale, "k_", ms=30 if m.height < 4 else 18, mew=2, label="load")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(m["month"].to_list())
    ax.set_xlim(-0.5 - 0.5 * (m.height < 3), m.height - 0.5 + 0.5 * (m.height < 3))
    ax.set_ylabel(f"energy ({unit})")
    ax.set_title(f"{_ascii(res.summary.get('case'))}: energy by type and month")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_storage_hydro(res: Any, path: Path, max_plants: int = 8) -> Path:
    """Storage energy by kind (MWh/GWh) and reservoir fill (% of usable volume) over time."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True)
    st = res.frames.get("storage")
    if st is not None and st.height:
        by = st.group_by(["time", "kind"]).agg(pl.col("soc_mwh").sum()).sort("time")
        scale, unit = _energy_unit(by["soc_mwh"].to_numpy())
        for k in sorted(set(by["kind"].to_list())):
            sub = by.filter(pl.col("kind") == k)
            a1.plot(sub["time"].to_numpy(), sub["soc_mwh"].to_numpy() / scale, label=_ascii(k), lw=1.2)
        a1.set_ylabel(f"stored energy ({unit})")
        a1.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    else:
        a1.text(0.5, 0.5, "no storage in this case", ha="center", va="center", transform=a1.transAxes)
    a1.set_title("storage state of charge (end of hour), summed by kind")
    a1.grid(alpha=0.3)
    hy = res.frames.get("hydro")
    if hy is not None and hy.height:
        comp = res.components.filter(pl.col("component") == "hydro")
        vol = {}
        for name, ex in zip(comp["name"].to_list(), comp["extra"].to_list()):
            e = json.loads(ex or "{}")
            vmin, vmax = float(e.get("vmin_hm3") or 0.0), float(e.get("vmax_hm3") or 0.0)
            if vmax > vmin:
                vol[name] = (vmin, vmax)
        big = sorted(vol, key=lambda k: vol[k][1] - vol[k][0], reverse=True)[:max_plants]
        tot_min = sum(v[0] for v in vol.values())
        tot_max = sum(v[1] for v in vol.values())
        for name in big:
            sub = hy.filter(pl.col("plant") == name)
            vmin, vmax = vol[name]
            a2.plot(sub["time"].to_numpy(), 100 * (sub["volume_hm3"].to_numpy() - vmin) / (vmax - vmin), lw=1.0,
                    label=f"{_ascii(name)} ({vmax - vmin:,.0f} hm3)")
        if len(vol) > 1:
            tot = hy.filter(pl.col("plant").is_in(list(vol))).group_by("time").agg(pl.col("volume_hm3").sum()).sort("time")
            a2.plot(tot["time"].to_numpy(), 100 * (tot["volume_hm3"].to_numpy() - tot_min) / max(tot_max - tot_min, 1e-9),
                    color="black", lw=2.2, label=f"all {len(vol)} reservoirs")
        a2.set_ylim(-3, 103)
        a2.set_ylabel("reservoir fill (% of usable volume)")
        a2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    else:
        a2.text(0.5, 0.5, "no reservoirs in this case", ha="center", va="center", transform=a2.transAxes)
    a2.set_title(f"reservoir volumes (largest {max_plants} by usable volume, and all)")
    a2.grid(alpha=0.3)
    _date_axis(a2)
    fig.tight_layout()
    return _save(fig, path)


def plot_curtailment_heatmap(res: Any, path: Path) -> Path:
    """Curtailed power (wind + solar + avoidable hydro spill) by day (x) and hour of day (y)."""
    from .checks import curtailment_frame

    plt = _plt()
    cf = curtailment_frame(res)
    s = res.system.select("time")
    per_h = s.join(cf.group_by("time").agg(pl.col("curtailed_mwh").sum()), on="time", how="left").fill_null(0.0)
    per_h = per_h.with_columns(pl.col("time").dt.date().alias("day"), pl.col("time").dt.hour().alias("hour"))
    days = sorted(set(per_h["day"].to_list()))
    di = {d: i for i, d in enumerate(days)}
    grid = np.full((24, len(days)), np.nan)
    for d, h, v in per_h.select("day", "hour", "curtailed_mwh").iter_rows():
        grid[h, di[d]] = v
    scale, unit = _gw_or_mw(np.nan_to_num(grid))
    fig, ax = plt.subplots(figsize=(12, 4.8))
    import matplotlib.dates as mdates

    x0 = mdates.date2num(days[0])
    x1 = mdates.date2num(days[-1]) + 1
    vmax = max(float(np.nanmax(grid)) / scale if np.isfinite(grid).any() else 0.0, 1.0)
    im = ax.imshow(grid / scale, aspect="auto", origin="lower", cmap="magma_r", extent=(x0, x1, 0, 24), interpolation="nearest",
                   vmin=0, vmax=vmax)
    ax.xaxis_date()
    _date_axis(ax)
    ax.set_yticks([0, 6, 12, 18, 24])
    ax.set_ylabel("hour of day")
    total = float(cf["curtailed_mwh"].sum()) if cf.height else 0.0
    tscale, tunit = _energy_unit(np.array([total]))
    ax.set_title(f"curtailment (wind + solar + avoidable hydro spill): {total / tscale:,.1f} {tunit} in total")
    cb = fig.colorbar(im, ax=ax, pad=0.01)
    cb.set_label(f"curtailed power ({unit})")
    return _save(fig, path)


def line_endpoints(res: Any, case: Any = None) -> dict[str, tuple[str, str]]:
    """line -> (from bus, to bus), from the components frame, the case's net or the line names.

    Sources in order: what the result carries (:func:`dispatch.checks.result_line_ends`:
    ``meta['line_from'/'line_to']`` or ``components`` line rows); the pandapower net of ``case`` (lines and transformers by name); a line
    name ``"A-B"`` (or ``A_B``, ``A--B``) whose parts are both bus names.
    """
    from .checks import result_line_ends

    out = result_line_ends(res)
    buses = set(res.bus_info["bus"].to_list()) if "bus_info" in res.frames else set()
    net = getattr(case, "net", None) if case is not None else None
    if net is not None:
        bn = net.bus["name"].astype(str)
        for tab, fb, tb in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
            t = getattr(net, tab, None)
            if t is not None and len(t):
                for nm, a, b in zip(t["name"].astype(str), t[fb], t[tb]):
                    out.setdefault(nm, (bn[a], bn[b]))
    if "lines" in res.frames:
        for nm in res.lines["line"].unique().to_list():
            if nm in out:
                continue
            for sep in ("--", "-", "_", "/"):
                parts = nm.split(sep)
                for k in range(1, len(parts)):
                    a, b = sep.join(parts[:k]), sep.join(parts[k:])
                    if a in buses and b in buses:
                        out[nm] = (a, b)
                        break
                if nm in out:
                    break
    return out


def plot_line_map(res: Any, path: Path, case: Any = None) -> Path:
    """Buses at their coordinates (lon, lat) with lines coloured by their highest loading."""
    plt = _plt()
    from matplotlib.collections import LineCollection

    bi = res.bus_info
    x = bi["x"].to_numpy().astype(float)
    y = bi["y"].to_numpy().astype(float)
    geo = bool(np.isfinite(x).all() and np.isfinite(y).all() and len(x))
    if not geo:  # no coordinates: a circle, so the plot still shows the topology
        ang = np.linspace(0, 2 * np.pi, len(x), endpoint=False)
        x, y = np.cos(ang), np.sin(ang)
    pos = {b: (xx, yy) for b, xx, yy in zip(bi["bus"].to_list(), x, y)}
    fig, ax = plt.subplots(figsize=(10, 8.5))
    lines = res.frames.get("lines")
    ends = line_endpoints(res, case)
    drawn = 0
    if lines is not None and lines.height:
        stats = lines.group_by("line").agg(pl.col("loading").max().alias("max"), (pl.col("loading") >= 0.99).sum().alias("hours_at_limit"),
                                            pl.col("rating_mw").first())
        segs, vals, widths, labels = [], [], [], []
        for nm, mx, hl, rt in stats.iter_rows():
            e = ends.get(nm)
            if e is None or e[0] not in pos or e[1] not in pos:
                continue
            segs.append([pos[e[0]], pos[e[1]]])
            vals.append(100 * (mx or 0.0))
            rmax = float(stats["rating_mw"].max() or 1.0)
            widths.append(1.0 + 4.0 * (rt or 0) / rmax)
            labels.append((nm, hl))
        if segs:
            lc = LineCollection(segs, array=np.array(vals), cmap="RdYlGn_r", linewidths=widths, zorder=1)
            lc.set_clim(0, 100)
            ax.add_collection(lc)
            cb = fig.colorbar(lc, ax=ax, shrink=0.8, pad=0.02)
            cb.set_label("highest line loading over the period (% of rating)")
            drawn = len(segs)
    regions = bi["region"].to_list()
    ureg = sorted(set(regions))
    cmap = plt.get_cmap("tab10" if len(ureg) <= 10 else "tab20")
    for k, r in enumerate(ureg):
        m = np.array([rr == r for rr in regions])
        ax.scatter(x[m], y[m], s=28, color=cmap(k % cmap.N), edgecolor="black", lw=0.5, zorder=2, label=_ascii(r) if r else "bus")
    if len(x) <= 40:
        for b, xx, yy in zip(bi["bus"].to_list(), x, y):
            ax.annotate(_ascii(b), (xx, yy), xytext=(4, 4), textcoords="offset points", fontsize=8, zorder=3)
    if geo:
        ax.set_xlabel("longitude (deg E)")
        ax.set_ylabel("latitude (deg N)")
        ax.set_aspect(1.0 / max(np.cos(np.deg2rad(np.nanmean(y))), 0.1))
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("(no bus coordinates in the case: buses on a circle)")
    missing = (lines["line"].n_unique() if lines is not None and lines.height else 0) - drawn
    title = f"network: {drawn} lines drawn"
    if missing > 0:
        title += f" ({missing} without known end buses not drawn)"
    ax.set_title(title)
    if ureg and (len(ureg) > 1 or ureg[0]):
        ax.legend(title="region", loc="upper left", bbox_to_anchor=(1.25, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.2)
    ax.autoscale_view()
    return _save(fig, path)


def plot_peak_response(pr: Any, path: Path) -> Path:
    """Load and served load (under the DR re-dispatch) in the peak windows, with the cap."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 1]})
    prof = pr.profile or {}
    if prof.get("time"):
        load = np.array(prof["load_mw"])
        served = np.array(prof["served_mw"])
        scale, unit = _gw_or_mw(load)
        x = np.arange(len(load))
        a1.plot(x, load / scale, color="black", lw=1.4, label="load")
        a1.plot(x, served / scale, color="#d37295", lw=1.4, label="served load with DR")
        a1.axhline(prof["cap_mw"][0] / scale, color="#d62728", ls="--", lw=1.2,
                   label=f"cap = (1 - {pr.threshold:g}) x peak")
        # mark window boundaries
        times = prof["time"]
        breaks = [0] + [i for i in range(1, len(times)) if np.datetime64(times[i]) - np.datetime64(times[i - 1]) != np.timedelta64(1, "h")]
        for b in breaks[1:]:
            a1.axvline(b - 0.5, color="grey", lw=0.6)
        step = max(1, len(breaks) // 8)
        a1.set_xticks(breaks[::step])
        a1.set_xticklabels([times[b][:13].replace("T", " ") + "h" for b in breaks[::step]], rotation=25, ha="right", fontsize=8)
        a1.set_ylabel(f"power ({unit})")
        a1.set_xlabel("hours of the peak windows (grey lines: a new window starts)")
        a1.legend(fontsize=9, loc="lower right")
    else:
        a1.text(0.5, 0.5, "dynamic check not run or no hour above the cap", ha="center", va="center", transform=a1.transAxes)
    a1.set_title(f"peak shaving by demand response: {'PASS' if pr.passed else 'FAIL'}")
    a1.grid(alpha=0.3)
    bars = [("static", 100 * pr.static_share)]
    if pr.dynamic_share is not None:
        bars.append(("dynamic", 100 * pr.dynamic_share))
    a2.bar([b[0] for b in bars], [b[1] for b in bars], color=["#76b7b2", "#d37295"][: len(bars)])
    a2.axhline(100 * pr.threshold, color="#d62728", ls="--", lw=1.2, label=f"requirement {100 * pr.threshold:g} %")
    for i, (_, v) in enumerate(bars):
        a2.text(i, v, f"{v:.2f} %", ha="center", va="bottom", fontsize=9)
    a2.set_ylabel("DR reduction (% of annual peak)")
    a2.set_ylim(0, max([b[1] for b in bars] + [100 * pr.threshold]) * 1.25 + 0.1)
    a2.legend(fontsize=8, loc="upper right")
    a2.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# ---------------------------------------------------------------------------------------
def make_report(
    res_or_dir: Any,
    out: str | os.PathLike[str] | None = None,
    week: int | None = None,
    *,
    checks: bool = True,
    case: Any = None,
) -> Path:
    """Write the PNG figures and a self-contained ``report.html``.

    Parameters
    ----------
    res_or_dir : Result or path
        A result, or a directory written by ``Result.write`` / ``dispatch run``.
    out : path, optional
        Output directory (default: ``<dir>/report`` for a directory, else ``./report``).
    week : int, optional
        Week of the dispatch-stack plot, 0-based from the result's first hour
        (default: the week holding the peak load).
    checks : bool
        Run the peak-response, curtailment and carbon/supply checks and include their
        tables (the AC check is included from ``<dir>/checks.json`` when present).
    case : Case, SystemArrays, str or None
        Passed to the checks (year's load) and used for line end buses on the map.

    Returns
    -------
    Path
        The HTML file.
    """
    from .results import Result, read_result

    src_dir = None
    if isinstance(res_or_dir, Result):
        res = res_or_dir
    else:
        src_dir = Path(res_or_dir)
        res = read_result(src_dir)
    out_dir = Path(out) if out is not None else (src_dir / "report" if src_dir is not None else Path("report"))
    out_dir.mkdir(parents=True, exist_ok=True)

    pngs: list[tuple[str, Path]] = []
    pngs.append(("Dispatch stack", plot_dispatch_week(res, out_dir / "dispatch_week.png", week)))
    pngs.append(("Energy by month", plot_monthly_energy(res, out_dir / "monthly_energy.png")))
    pngs.append(("Storage and reservoirs", plot_storage_hydro(res, out_dir / "storage_hydro.png")))
    pngs.append(("Curtailment by day and hour", plot_curtailment_heatmap(res, out_dir / "curtailment_heatmap.png")))
    net_case = case if case is not None and hasattr(case, "net") else None
    pngs.append(("Line loading", plot_line_map(res, out_dir / "line_map.png", net_case)))

    tables: list[tuple[str, str]] = [("Summary", res.table())]
    if checks:
        from . import checks as ck

        pr = ck.peak_response(res, case=case)
        pngs.append(("Peak response", plot_peak_response(pr, out_dir / "peak_response.png")))
        tables.append((f"Peak response: {'PASS' if pr.passed else 'FAIL'}", pr.table()))
        cu = ck.curtailment(res, case=case if hasattr(case, "ptdf") else None)
        tables.append((f"Curtailment: {'PASS' if cu.passed else 'FAIL'}", cu.table()))
        cs = ck.carbon_supply(res)
        tables.append((f"Carbon and security of supply: {'PASS' if cs.passed else 'FAIL'}", cs.table()))
        st = ck.statistics(res)
        verdict = "n/a" if st.passed is None else ("PASS" if st.passed else "FAIL")
        tables.append((f"Against the published annual figures: {verdict}", st.table()))
    if src_dir is not None and (src_dir / "checks.json").is_file():
        saved = json.loads((src_dir / "checks.json").read_text(encoding="utf-8"))
        ac = saved.get("ac_power_flow")
        if isinstance(ac, dict):
            rows = ac.get("hours") or []
            from .checks import text_table

            tables.append((f"AC power flow (from checks.json): {ac.get('verdict', 'n/a')}", text_table(rows) + f"\n\n{ac.get('reason', '')}"))
    html_path = out_dir / "report.html"
    html_path.write_text(_html(res, pngs, tables), encoding="utf-8")
    return html_path


def _html(res: Any, pngs: list[tuple[str, Path]], tables: list[tuple[str, str]]) -> str:
    s = res.summary
    title = f"dispatch report: {_ascii(s.get('case'))} ({s.get('hydrology') or '-'}), {s.get('engine')}, {s.get('hours')} h from {s.get('start')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}"
        "img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"
        "pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:12px;line-height:1.35}"
        "h2{border-bottom:1px solid #ccc;padding-bottom:0.2em}"
        ".pass{color:#1a7f37}.fail{color:#cf222e}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for name, body in tables[:1]:
        parts.append(f"<h2>{html.escape(name)}</h2><pre>{html.escape(body)}</pre>")
    for name, p in pngs:
        b64 = base64.b64encode(p.read_bytes()).decode("ascii")
        parts.append(f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" src="data:image/png;base64,{b64}">')
    for name, body in tables[1:]:
        cls = "pass" if "PASS" in name else ("fail" if "FAIL" in name else "")
        parts.append(f'<h2 class="{cls}">{html.escape(name)}</h2><pre>{html.escape(body)}</pre>')
    parts.append("</body></html>")
    return "\n".join(parts)
