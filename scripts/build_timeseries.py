"""Build the hourly time series in ``timeseries/`` (parquet, polars, float32, 8760 rows).

Run from the repository root (after ``scripts/build_tables.py``)::

    .venv/bin/python scripts/build_timeseries.py [--shared ../shared/data] [--out timeseries]

Every random draw comes from ``numpy.random.default_rng`` seeded with ``SEED`` and the CRC32
of the series name, so the output does not depend on the order things are built in and two
runs write identical files. Layout (one folder level, as packaged by pyproject)::

    timeseries/common/renewables_pu.parquet          wind/solar availability per profile (pu)
    timeseries/common/inflow_<hydrology>.parquet     local inflow per hydro station (m3/s)
    timeseries/common/ror_pu_<hydrology>.parquet     small-hydro availability per profile (pu)
    timeseries/common/load_factor_drought-2022.parquet  heat-wave load multiplier (1)
    timeseries/common/load_shape_2018.parquet        2018 load shape (pu of mean; CC BY 4.0)
    timeseries/<case>/load.parquet                   load per load bus (MW)
    timeseries/<case>/exports_<hydrology>.parquet    <link>_min / <link>_max (MW)

Inputs: ``networks/sichuan/*.csv``; the 2018 Sichuan hourly load (Wu & Kan 2023, Zenodo
doi:10.5281/zenodo.8322210, CC BY 4.0) as the load shape. Licence-unclear material is used
only as the monthly statistics written out below (derived, rounded), never copied.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
NET = ROOT / "networks" / "sichuan"
SEED = 20240801
T = 8760
HYDROLOGIES = ("normal", "wet", "dry", "drought-2022")

# -------------------------------------------------------------------------------------------
# Calibration statistics (derived; see timeseries/README.md)
# -------------------------------------------------------------------------------------------
# Monthly consumption 2024, 1e8 kWh (FACTS G1 [R2]); Jan/Feb = annual 4000 minus Mar-Dec, split 2022-like.
MONTHLY_2024 = np.array([312, 283, 306, 292, 325, 332, 371, 431, 395, 312, 305, 336], dtype=float)
# Monthly mean capacity factor, province, 2023 (FACTS G3 [R3], monthly means only).
WIND_MONTH_CF = np.array([0.38, 0.46, 0.37, 0.41, 0.35, 0.20, 0.21, 0.10, 0.21, 0.27, 0.30, 0.37])
SOLAR_MONTH_CF = np.array([0.206, 0.198, 0.209, 0.211, 0.21, 0.169, 0.167, 0.151, 0.173, 0.154, 0.182, 0.166])
# Diurnal wind factor (hour 0..23, mean 1), rounded from the same statistics.
WIND_DIURNAL = np.array([1.14, 1.12, 1.09, 1.07, 1.05, 1.03, 1.02, 0.99, 0.95, 0.87, 0.81, 0.77, 0.77, 0.80, 0.84, 0.89,
                         0.95, 0.99, 1.04, 1.11, 1.16, 1.18, 1.18, 1.16])
# Monthly hydro-energy shape by basin (month / annual mean) and annual energy vs normal year,
# normal / wet / dry (SGSC dashboard statistics [R3], FACTS G2; derived, rounded).
BASIN_SHAPE = {
    "Jinsha": [0.56, 0.50, 0.58, 0.56, 0.70, 1.00, 1.54, 1.86, 1.75, 1.52, 0.80, 0.62],
    "Yalong": [0.65, 0.47, 0.57, 0.62, 0.66, 1.34, 1.77, 1.71, 1.56, 1.34, 0.75, 0.58],
    "Dadu": [0.66, 0.40, 0.61, 0.60, 0.77, 1.40, 1.45, 1.62, 1.71, 1.36, 0.76, 0.66],
    "Min": [0.87, 0.50, 0.76, 0.88, 1.11, 1.17, 1.29, 1.19, 1.09, 1.34, 1.04, 0.76],
    "Jialing": [1.06, 0.65, 1.04, 1.21, 1.07, 0.83, 0.99, 1.04, 0.76, 1.10, 1.30, 0.96],
}
BASIN_RATIO = {  # annual energy relative to the normal year: wet, dry
    "Jinsha": (1.087, 0.906), "Yalong": (1.088, 0.911), "Dadu": (1.075, 0.929), "Min": (1.073, 0.929), "Jialing": (1.25, 0.80),
}
FLOW_EXPONENT = 1.4  # natural-flow seasonality is stronger than (capacity-clipped) generation seasonality [K]
# Aug 2022 drought: daily inflow multiplier vs normal (day-of-year, factor) [FACTS B: 20-50 % below
# normal, >50 % in August, falling ~2 %/day]; piecewise linear.
DROUGHT_2022 = ((0, 1.0), (181, 1.0), (195, 0.85), (212, 0.62), (227, 0.45), (242, 0.40), (258, 0.55), (288, 0.72),
                (334, 0.85), (365, 0.9))
HEATWAVE_2022 = (213, 241, 0.10)  # Aug 1..29: up to +10 % load in the afternoon (FACTS B: +25 % demand yoy) [K]

# Site weather: lat, lon, annual CF target [K], share of a common (province) weather factor.
WIND_SITES = {
    "wind_liangshan": (27.6, 102.6, 0.30), "wind_panzhihua": (26.4, 102.0, 0.28), "wind_guangyuan": (32.3, 105.8, 0.22),
    "wind_ganzi": (30.0, 101.5, 0.27), "wind_aba": (32.0, 102.5, 0.25), "wind_yaan": (29.6, 102.6, 0.22),
    "wind_south": (28.2, 105.6, 0.20),
}
SOLAR_SITES = {
    "solar_ganzi": (30.5, 100.5, 0.205), "solar_aba": (32.5, 102.0, 0.195), "solar_liangshan": (27.5, 102.3, 0.190),
    "solar_panzhihua": (26.6, 101.7, 0.200), "solar_basin": (30.4, 104.5, 0.115),
}
ROR_BASINS = ("hydro_ror_jinsha", "hydro_ror_yalong", "hydro_ror_dadu", "hydro_ror_min", "hydro_ror_jialing")
EXPORT_DIURNAL_AMPL = 0.08  # receiving-end daytime peak (08-22 h) [K]
TARGET_HYDRO_TWH_2024 = 381.4  # A1 [R2]


def rng_for(name: str) -> np.random.Generator:
    """A generator that depends only on ``SEED`` and ``name``."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def calendar(year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month (0..11), hour of day and day of year (0..) of the 8760 hours starting Jan 1 of ``year``."""
    ts = np.arange(np.datetime64(f"{year}-01-01T00"), np.datetime64(f"{year}-01-01T00") + T, dtype="datetime64[h]")
    month = ts.astype("datetime64[M]").astype(int) % 12
    hod = (ts - ts.astype("datetime64[D]")).astype(int)
    doy = (ts.astype("datetime64[D]") - np.datetime64(f"{year}-01-01")).astype(int)
    return month, hod, doy


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Unit-variance AR(1) series."""
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    s = np.sqrt(1 - phi * phi)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + s * e[i]
    return x


def fit_monthly_mean(x: np.ndarray, month: np.ndarray, target: np.ndarray, cap: float = 1.0, iters: int = 6) -> np.ndarray:
    """Scale ``x`` month by month so that ``clip(x, 0, cap)`` has monthly means ``target``."""
    y = x.copy()
    for _ in range(iters):
        z = np.clip(y, 0.0, cap)
        for m in range(12):
            sel = month == m
            mu = z[sel].mean()
            if mu > 0:
                y[sel] *= target[m] / mu
    return np.clip(y, 0.0, cap)


# --------------------------------------------------------------------------- renewables
def wind_pu(name: str, year: int = 2023) -> np.ndarray:
    """Hourly wind availability (pu) of a site: AR(1) weather x diurnal x monthly means."""
    lat, lon, cf = WIND_SITES[name]
    month, hod, _ = calendar(year)
    common = ar1(rng_for("wind_common"), T, 0.985)
    local = ar1(rng_for(name), T, 0.97)
    z = 0.6 * common + 0.8 * local
    x = np.exp(0.75 * z) * WIND_DIURNAL[hod]
    target = WIND_MONTH_CF * cf / WIND_MONTH_CF.mean()
    return fit_monthly_mean(x, month, target, cap=0.95)


def solar_pu(name: str, year: int = 2023) -> np.ndarray:
    """Hourly PV availability (pu): pvlib clear-sky plane-of-array x daily clearness x monthly means."""
    import pandas as pd
    import pvlib

    lat, lon, cf = SOLAR_SITES[name]
    times = pd.date_range(f"{year}-01-01 00:30", periods=T, freq="h", tz="Asia/Shanghai")
    loc = pvlib.location.Location(lat, lon, tz="Asia/Shanghai", altitude=1500 if lon < 103.5 else 400)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="haurwitz", solar_position=sp)
    dni = pvlib.irradiance.disc(cs["ghi"], sp["zenith"], times)["dni"]
    dhi = (cs["ghi"] - dni * np.cos(np.radians(sp["zenith"]))).clip(lower=0)
    poa = pvlib.irradiance.get_total_irradiance(surface_tilt=max(lat - 5, 15), surface_azimuth=180, solar_zenith=sp["zenith"],
                                                solar_azimuth=sp["azimuth"], dni=dni, ghi=cs["ghi"], dhi=dhi)["poa_global"]
    clear = np.nan_to_num(poa.to_numpy() / 1000.0 * 0.85)  # performance ratio 0.85 [K]
    month, _, doy = calendar(year)
    kd = 1.0 / (1.0 + np.exp(-1.5 * ar1(rng_for(name), 366, 0.6)))  # daily clearness in (0,1)
    x = clear * (0.25 + 0.75 * kd[doy])
    target = SOLAR_MONTH_CF * cf / SOLAR_MONTH_CF.mean()
    return fit_monthly_mean(x, month, target, cap=1.0)


def build_renewables() -> pl.DataFrame:
    cols = {"hour": np.arange(T, dtype=np.int32)}
    for n in WIND_SITES:
        cols[n] = wind_pu(n).astype(np.float32)
    for n in SOLAR_SITES:
        cols[n] = solar_pu(n).astype(np.float32)
    return pl.DataFrame(cols)


# --------------------------------------------------------------------------- hydro
def basin_month_factor(basin: str, hydrology: str) -> np.ndarray:
    """Monthly natural-flow factor (mean 1 in the normal year) for a basin and hydrology."""
    g = np.asarray(BASIN_SHAPE[basin]) ** FLOW_EXPONENT
    g = g / g.mean()
    if hydrology == "wet":
        g = g * BASIN_RATIO[basin][0] ** 1.2
    elif hydrology == "dry":
        g = g * BASIN_RATIO[basin][1] ** 1.2
    return g


def daily_factor(hydrology: str, doy: np.ndarray) -> np.ndarray:
    if hydrology != "drought-2022":
        return np.ones_like(doy, dtype=float)
    d, f = zip(*DROUGHT_2022)
    return np.interp(doy, d, f)


def inflow_series(name: str, basin: str, mean_local: float, hydrology: str) -> np.ndarray:
    """Local inflow (m3/s) of one station: monthly basin factor (smoothed) x daily noise, constant within a day."""
    month, _, doy = calendar(2023)
    days = np.arange(365)
    mday = month[::24]
    base = basin_month_factor(basin, "normal" if hydrology == "drought-2022" else hydrology)
    # smooth the monthly step into a daily curve (mid-month anchors, circular)
    mid = np.array([15, 45, 74, 105, 135, 166, 196, 227, 258, 288, 319, 349])
    daily = np.interp(days, np.concatenate([mid - 365, mid, mid + 365]), np.tile(base, 3))
    daily *= base[mday].sum() / daily.sum() if daily.sum() > 0 else 1.0
    noise = np.exp(0.12 * ar1(rng_for(f"inflow:{name}:{'normal' if hydrology == 'drought-2022' else hydrology}"), 365, 0.9) - 0.0072)
    q = mean_local * daily * noise * daily_factor(hydrology, days)
    return np.repeat(q, 24)[:T]


def build_inflows(hydro: pl.DataFrame, hydrology: str) -> pl.DataFrame:
    cols = {"hour": np.arange(T, dtype=np.int32)}
    for r in hydro.iter_rows(named=True):
        cols[r["name"]] = inflow_series(r["name"], r["basin"], r["mean_local_inflow_m3s"], hydrology).astype(np.float32)
    return pl.DataFrame(cols)


def build_ror(hydrology: str, mean_cf: float) -> pl.DataFrame:
    _, _, doy = calendar(2023)
    cols = {"hour": np.arange(T, dtype=np.int32)}
    for n in ROR_BASINS:
        basin = {"jinsha": "Jinsha", "yalong": "Yalong", "dadu": "Dadu", "min": "Min", "jialing": "Jialing"}[n.split("_")[-1]]
        q = inflow_series(n, basin, 1.0, hydrology)  # relative flow, mean ~1 in a normal year
        cols[n] = np.clip(mean_cf * q, 0.0, 0.95).astype(np.float32)
    return pl.DataFrame(cols)


def station_energy_twh(hydro: pl.DataFrame, inflow: pl.DataFrame, year: int) -> float:
    """Sichuan-share energy of the stations in service in ``year`` if every station turbined its
    natural total flow up to capacity (no regulation, no delay): a calibration bound."""
    names = hydro["name"].to_list()
    down = dict(zip(names, hydro["downstream"].fill_null("").to_list()))
    order, done = [], set()
    while len(order) < len(names):  # upstream first
        for n in names:
            if n not in done and all(u in done for u in names if down[u] == n):
                order.append(n)
                done.add(n)
    total = {n: inflow[n].to_numpy().astype(float).copy() for n in names}
    for n in order:
        d = down[n]
        if d:
            total[d] = total[d] + total[n]
    e = 0.0
    for r in hydro.iter_rows(named=True):
        if r["in_service_from"] > year:
            continue
        p = np.minimum(r["k_mw_per_m3s"] * np.maximum(total[r["name"]] - r["q_min_m3s"] * 0, 0), r["p_max_mw"])
        e += r["stat_share"] * p.sum() / 1e6
    return e


# --------------------------------------------------------------------------- load
SHAPE_FILE = ROOT / "timeseries" / "common" / "load_shape_2018.parquet"


def load_shape(shared: Path, year: int) -> np.ndarray:
    """The 2018 hourly shape (Wu & Kan 2023, CC BY 4.0; normalised to its mean and kept in
    ``timeseries/common/load_shape_2018.parquet`` so the build is self-contained) rolled so that
    weekdays line up with ``year``."""
    if not SHAPE_FILE.exists():
        raw = pl.read_csv(shared / "sichuan_hourly_load_2018_MW.csv")["sichuan_MW"].to_numpy().astype(float)
        write(pl.DataFrame({"hour": np.arange(T, dtype=np.int32), "sichuan_pu": (raw / raw.mean()).astype(np.float32)}), SHAPE_FILE)
    raw = pl.read_parquet(SHAPE_FILE)["sichuan_pu"].to_numpy().astype(float)
    # 2018-01-01 was a Monday; weekday of Jan 1 of year:
    wd = int((np.datetime64(f"{year}-01-01") - np.datetime64("2018-01-01")).astype(int)) % 7
    return np.roll(raw, 24 * wd)  # shift so that a Monday of 2018 lands on a Monday of year


def shape_to_targets(shape: np.ndarray, month: np.ndarray, month_energy: np.ndarray, peak: float) -> np.ndarray:
    """Scale month by month to ``month_energy`` (MWh) and stretch deviations from the monthly
    mean (energy-preserving) until the annual maximum equals ``peak``."""
    x = shape.copy()
    mu = np.empty_like(x)
    for m in range(12):
        sel = month == m
        x[sel] *= month_energy[m] / x[sel].sum()
        mu[sel] = x[sel].mean()
    lo, hi = -0.9, 3.0
    for _ in range(60):
        b = 0.5 * (lo + hi)
        if (mu + (1 + b) * (x - mu)).max() > peak:
            hi = b
        else:
            lo = b
    return mu + (1 + lo) * (x - mu)


def heatwave_factor(year: int = 2023) -> np.ndarray:
    """Load multiplier of the Aug 2022 heat wave (1 outside it)."""
    _, hod, doy = calendar(year)
    d0, d1, amp = HEATWAVE_2022
    w = np.clip(np.minimum(doy - d0, d1 - doy) / 5.0, 0, 1) * (0.5 + 0.5 * np.clip(np.sin((hod - 9) / 12 * np.pi), 0, 1))
    return 1 + amp * w


def build_load(shared: Path, case: dict, buses: pl.DataFrame) -> pl.DataFrame:
    year = case["year"]
    month, hod, doy = calendar(year)
    ts_days = np.array([31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float)
    frac = MONTHLY_2024 / MONTHLY_2024.sum()
    month_energy = case["energy_twh"] * 1e6 * frac * np.array([(month == m).sum() / 24 for m in range(12)]) / ts_days
    total = shape_to_targets(load_shape(shared, year), month, month_energy, case["peak_load_mw"])
    lb = buses.filter(pl.col("load_share") > 0)
    share = lb["load_share"].to_numpy()
    share = share / share.sum()
    mean = total.mean()
    f = np.where(lb["region"].to_numpy() == "chengdu", 1.15, 0.85)  # Chengdu peakier (AC load) [K]
    per = share[None, :] * (mean + (total[:, None] - mean) * f[None, :])
    per *= (total / per.sum(axis=1))[:, None]
    cols = {"hour": np.arange(T, dtype=np.int32)}
    for j, n in enumerate(lb["name"].to_list()):
        cols[n] = per[:, j].astype(np.float32)
    return pl.DataFrame(cols)


# --------------------------------------------------------------------------- exports
def build_exports(exports: pl.DataFrame, year: int, hydrology: str) -> pl.DataFrame:
    month, hod, doy = calendar(year)
    day = np.where((hod >= 8) & (hod < 22), 1.0, -14.0 / 10.0)
    day = 1 + EXPORT_DIURNAL_AMPL * day / np.abs(day).max()
    day = day / np.mean(day)
    cols = {"hour": np.arange(T, dtype=np.int32)}
    for r in exports.filter(pl.col("in_service_from") <= year).iter_rows(named=True):
        n = r["name"]
        if r["profile"] == "flex":
            lo = np.full(T, r["p_min_mw"])
            hi = np.full(T, r["p_max_mw"])
        else:
            basin = r["profile"].capitalize()
            g = np.asarray(BASIN_SHAPE[basin])[month]
            if hydrology in ("wet", "dry"):
                g = g * BASIN_RATIO[basin][0 if hydrology == "wet" else 1]
            elif hydrology == "drought-2022":
                # contracts could not be fully suspended (FACTS A3): floor at 60 % of normal [K]
                g = g * np.maximum(daily_factor(hydrology, doy), 0.6)
            sched = r["energy_twh"] * 1e6 / T * g / np.asarray(BASIN_SHAPE[basin])[month].mean() * day
            sched = np.minimum(sched, 0.97 * r["p_max_mw"])
            lo = (1 - r["flex"]) * sched
            hi = np.minimum((1 + r["flex"]) * sched, r["p_max_mw"])
        cols[f"{n}_min"] = lo.astype(np.float32)
        cols[f"{n}_max"] = hi.astype(np.float32)
    return pl.DataFrame(cols)


def write(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, compression="zstd", compression_level=9, statistics=False)


def main(shared: Path, out: Path) -> None:
    hydro = pl.read_csv(NET / "hydro.csv", schema_overrides={"downstream": pl.String})
    buses = pl.read_csv(NET / "buses.csv")
    exports = pl.read_csv(NET / "exports.csv")
    cases = pl.read_csv(NET / "cases.csv").to_dicts()
    ren = pl.read_csv(NET / "renewables.csv")
    write(build_renewables(), out / "common" / "renewables_pu.parquet")
    # small-hydro capacity factor closes the 2024 normal-year hydro energy to A1 (381.4 TWh) [D]
    inflow_n = build_inflows(hydro, "normal")
    e_big = station_energy_twh(hydro, inflow_n, 2024)
    small_mw = ren.filter((pl.col("kind") == "hydro_ror") & (pl.col("in_service_from") <= 2024))["p_max_mw"].sum()
    cf = (TARGET_HYDRO_TWH_2024 * T / 8784 - e_big) * 1e6 / (small_mw * T)
    print(f"large stations (Sichuan share, no regulation) {e_big:.1f} TWh; small hydro {small_mw:.0f} MW -> CF {cf:.3f}")
    write(pl.DataFrame({"hour": np.arange(T, dtype=np.int32), "load_factor": heatwave_factor().astype(np.float32)}),
          out / "common" / "load_factor_drought-2022.parquet")
    for h in HYDROLOGIES:
        write(inflow_n if h == "normal" else build_inflows(hydro, h), out / "common" / f"inflow_{h}.parquet")
        write(build_ror(h, cf), out / "common" / f"ror_pu_{h}.parquet")
    for case in cases:
        d = out / case["case"]
        write(build_load(shared, case, buses), d / "load.parquet")
        for h in HYDROLOGIES:
            write(build_exports(exports, case["year"], h), d / f"exports_{h}.parquet")
    print(f"wrote {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "timeseries")
    a = ap.parse_args()
    main(a.shared, a.out)
