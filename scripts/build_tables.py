"""Write the Sichuan case tables ``networks/sichuan/*.csv`` from curated data.

Run from the repository root::

    .venv/bin/python scripts/build_tables.py [--shared ../shared/data]

The tables are the source of truth that ``dispatch.load_case`` reads; this script is
the documented way they were made. It is deterministic (no randomness). Inputs:

* curated station/bus/line/link lists below, each row with a ``source`` key that
  resolves to a citation in ``networks/README.md`` (keys like ``[R28]`` are the reference
  keys of ``shared/data/FACTS.md``; ``[K]`` marks an engineering assumption);
* the Global Coal Plant Tracker extract (GEM, July 2023, CC BY 4.0) for the coal units;
* facts (plant, units, MW, status, year, location) on gas units from the Global Gas Plant
  Tracker (GEM, Feb 2023, CC BY-NC-SA 4.0). Only individual facts are used; the GEM table is
  not copied (attribution in ``networks/README.md``).

Licence-unclear files in ``shared/data`` are *not* read here.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "networks" / "sichuan"

ETA_TURBINE = 0.9  # turbine-generator efficiency for k = 9.81*eta*H/1000 [K: Hydro-Quebec/USBR typical 0.88-0.92]

# ----------------------------------------------------------------------------------------
# Buses: name, region, prefecture, kind, vn_kv, lat, lon, load_share, in_service_from, source
# Coordinates are the prefecture seat / plant site, rounded (substation sites are [K]).
# load_share: share of provincial load served at the bus [K: prefecture GDP/population split,
# Chengdu plain ~47 %]; renormalised to 1.
# ----------------------------------------------------------------------------------------
BUSES = [
    # Chengdu plain
    ("cd_north", "chengdu", "Chengdu", "substation", 500, 30.85, 104.10, 0.095, 1970, "[K] Chengdu N (Xindu/Pixian) 500 kV; load share [K]"),
    ("cd_east", "chengdu", "Chengdu", "substation", 500, 30.56, 104.27, 0.095, 1970, "[K] Chengdu E (Longquan) 500 kV"),
    ("cd_west", "chengdu", "Chengdu", "substation", 500, 30.63, 103.67, 0.060, 1970, "[K] Chengdu W (Shuzhou/Chongzhou) 500 kV"),
    ("cd_south", "chengdu", "Chengdu", "substation", 500, 30.40, 104.06, 0.090, 1970, "[R3] Tianfu 500 kV (Chengdu double ring)"),
    ("deyang", "chengdu", "Deyang", "substation", 500, 31.13, 104.40, 0.050, 1970, "[K] Deyang 500 kV; Debao DC sending end [R29]"),
    ("mianyang", "chengdu", "Mianyang", "substation", 500, 31.47, 104.68, 0.050, 1970, "[R33] Mianyang/Shicheng 500 kV"),
    ("meishan", "chengdu", "Meishan", "substation", 500, 30.05, 103.85, 0.035, 1970, "[K] Meishan 500 kV"),
    ("ziyang", "chengdu", "Ziyang", "substation", 500, 30.12, 104.63, 0.025, 1970, "[R47] Ziyang 500 kV (Ziyang-Siyuan tie)"),
    ("uhv_tianfu_south", "chengdu", "Chengdu", "uhv", 1000, 30.25, 104.10, 0.0, 2025, "[R31] Tianfu South 1000 kV"),
    ("uhv_chengdu_east", "chengdu", "Chengdu", "uhv", 1000, 30.62, 104.55, 0.0, 2025, "[R31] Chengdu East 1000 kV"),
    # Southern Sichuan
    ("leshan", "south", "Leshan", "substation", 500, 29.55, 103.77, 0.050, 1970, "[R3] Jiazhou 500 kV (Leshan)"),
    ("zigong", "south", "Zigong", "substation", 500, 29.35, 104.77, 0.030, 1970, "[R3] Zigong II 500 kV"),
    ("neijiang", "south", "Neijiang", "substation", 500, 29.58, 105.06, 0.030, 1970, "[K] Neijiang 500 kV"),
    ("yibin", "south", "Yibin", "substation", 500, 28.77, 104.63, 0.054, 1970, "[K] Yibin (Xufu) 500 kV"),
    ("luzhou", "south", "Luzhou", "substation", 500, 28.87, 105.44, 0.045, 1970, "[R3] Luzhou 500 kV"),
    ("fulong", "south", "Yibin", "converter", 500, 28.55, 104.42, 0.0, 2010, "[R30] Fulong converter (Xiangjiaba-Shanghai)"),
    ("shuanglong", "south", "Yibin", "converter", 500, 28.45, 104.30, 0.0, 2014, "[R5][K] Shuanglong converter (Xiluodu-Zhexi), site approximate"),
    ("uhv_chuannan", "south", "Zigong", "uhv", 1000, 29.10, 105.00, 0.0, 2030, "[R3] Chuannan 1000 kV (planned); site [K]"),
    # North-eastern Sichuan
    ("suining", "northeast", "Suining", "substation", 500, 30.53, 105.59, 0.030, 1970, "[K] Suining 500 kV"),
    ("nanchong", "northeast", "Nanchong", "substation", 500, 30.84, 106.11, 0.043, 1970, "[K] Nanchong 500 kV"),
    ("guangan", "northeast", "Guang'an", "substation", 500, 30.46, 106.63, 0.025, 1970, "[K] Guang'an 500 kV"),
    ("dazhou", "northeast", "Dazhou", "substation", 500, 31.21, 107.47, 0.035, 1970, "[K] Dazhou 500 kV"),
    ("bazhong", "northeast", "Bazhong", "substation", 500, 31.87, 106.75, 0.015, 1970, "[K] Bazhong 500 kV"),
    ("guangyuan", "northeast", "Guangyuan", "substation", 500, 32.44, 105.84, 0.020, 1970, "[K] Guangyuan 500 kV"),
    # Panxi (Liangshan, Panzhihua)
    ("xichang", "panxi", "Liangshan", "substation", 500, 27.89, 102.26, 0.030, 1970, "[K] Xichang 500 kV"),
    ("panzhihua", "panxi", "Panzhihua", "substation", 500, 26.58, 101.72, 0.045, 1970, "[K] Panzhihua 500 kV (steel load)"),
    ("liangshan_north", "panxi", "Liangshan", "substation", 500, 28.55, 102.17, 0.005, 1970, "[K] northern Liangshan hub (Mianning)"),
    ("butuo", "panxi", "Liangshan", "converter", 500, 27.71, 102.81, 0.0, 2021, "[R30] Butuo converter (Baihetan-Jiangsu)"),
    ("yulong", "panxi", "Liangshan", "converter", 500, 27.95, 102.15, 0.0, 2012, "[R30] Yulong converter (Jinping-Sunan)"),
    ("yazhong", "panxi", "Liangshan", "converter", 500, 27.42, 101.51, 0.0, 2021, "[R30] Yazhong converter, Yanyuan (Yazhong-Jiangxi)"),
    # West (Ganzi, Aba, Ya'an)
    ("ya_an", "west", "Ya'an", "substation", 500, 29.99, 103.00, 0.020, 1970, "[K] Ya'an 500 kV"),
    ("shimian", "west", "Ya'an", "substation", 500, 29.23, 102.36, 0.005, 1970, "[K] Shimian 500 kV"),
    ("ganzi_kangding", "west", "Ganzi", "substation", 500, 30.05, 101.96, 0.008, 1970, "[K] Kangding 500 kV"),
    ("uhv_ganzi", "west", "Ganzi", "uhv", 1000, 30.10, 101.90, 0.0, 2025, "[R31] Ganzi 1000 kV"),
    ("aba_maoxian", "west", "Aba", "substation", 500, 31.68, 103.85, 0.008, 1970, "[K] Maoxian 500 kV"),
    ("danba", "west", "Ganzi", "substation", 500, 30.88, 101.89, 0.002, 1970, "[K] Danba 500 kV"),
    # Hydro-base collector buses
    ("col_guanyinyan", "panxi", "Panzhihua", "collector", 500, 26.52, 101.44, 0.0, 1970, "[R38] Guanyinyan site (GPPD)"),
    ("col_wudongde", "panxi", "Liangshan", "collector", 500, 26.33, 102.63, 0.0, 1970, "[R29] Wudongde site"),
    ("col_baihetan", "panxi", "Liangshan", "collector", 500, 27.20, 102.90, 0.0, 1970, "FACTS C1 Baihetan site ~27.2N 102.9E"),
    ("col_xiluodu", "south", "Liangshan", "collector", 500, 28.26, 103.65, 0.0, 1970, "[R29] Xiluodu site"),
    ("col_xiangjiaba", "south", "Yibin", "collector", 500, 28.64, 104.39, 0.0, 1970, "[R29] Xiangjiaba site"),
    ("col_lianghekou", "west", "Ganzi", "collector", 500, 30.03, 101.02, 0.0, 1970, "[R28] Lianghekou, Yajiang"),
    ("col_yalong_mid", "west", "Ganzi", "collector", 500, 28.40, 101.20, 0.0, 1970, "[K] middle Yalong (Yangfanggou) site approximate"),
    ("col_jinping", "panxi", "Liangshan", "collector", 500, 28.20, 101.70, 0.0, 1970, "[R28] Jinping I/II"),
    ("col_guandi", "panxi", "Liangshan", "collector", 500, 27.82, 101.89, 0.0, 1970, "[R28] Guandi"),
    ("col_ertan", "panxi", "Panzhihua", "collector", 500, 26.82, 101.78, 0.0, 1970, "[R28] Ertan"),
    ("col_dadu_upper", "west", "Aba", "collector", 500, 31.30, 101.90, 0.0, 1970, "[K] upper Dadu (Shuangjiangkou/Jinchuan)"),
    ("col_houziyan", "west", "Ganzi", "collector", 500, 30.30, 102.08, 0.0, 1970, "[R28] Houziyan/Changheba"),
    ("col_dagangshan", "west", "Ya'an", "collector", 500, 29.45, 102.22, 0.0, 1970, "[R38] Dagangshan/Luding/Longtoushi"),
    ("col_pubugou", "west", "Ya'an", "collector", 500, 29.21, 102.84, 0.0, 1970, "[R29] Pubugou/Shenxigou"),
    ("col_dadu_lower", "south", "Leshan", "collector", 500, 29.30, 103.55, 0.0, 1970, "[R38] Gongzui/Tongjiezi/Shawan/Angu"),
    ("col_min", "west", "Aba", "collector", 500, 31.10, 103.50, 0.0, 1970, "[R38] Zipingpu/Futangba/Maoergai"),
    ("col_jialing", "northeast", "Guangyuan", "collector", 500, 31.95, 105.80, 0.0, 1970, "[R28] Tingzikou/Baozhusi"),
]

# ----------------------------------------------------------------------------------------
# Line types: per-km data (positive sequence) and conductor ampacity.
# ----------------------------------------------------------------------------------------
LINE_TYPES = [
    # name, vn_kv, r_ohm_per_km, x_ohm_per_km, c_nf_per_km, max_i_ka, sil_mw, source
    ("ac500_4x400", 500, 0.0185, 0.280, 13.0, 3.38, 1000.0,
     "[K] 4xLGJ-400/35 bundle: r=0.0739/4 ohm/km; x~0.28 ohm/km and SIL~1000 MW typical of 500 kV (Kundur 1994 Table 6.1: x=0.325, SIL~900 for 2-3 bundles); ampacity 4x845 A at 70C (GB 50545-2010)"),
    ("ac500_4x630", 500, 0.0117, 0.270, 13.5, 4.36, 1050.0,
     "[K] 4xJL/G1A-630/45 bundle: r=0.0469/4 ohm/km; x~0.27 ohm/km; ampacity 4x1090 A at 70C (GB 50545-2010)"),
    ("ac1000_8x500", 1000, 0.0076, 0.258, 14.0, 7.68, 5000.0,
     "[K] 8xLGJ-500/35 UHV bundle: r=0.0076, x=0.258 ohm/km, natural power ~5000 MW (Liu Zhenya, UHV AC Transmission Technology, 2008; Jindongnan-Nanyang-Jingmen design data)"),
]

# Lines: from, to, circuits, type, in_service_from, source (length = 1.25 x great-circle [K]).
LINES = [
    # Chengdu double ring and plain
    ("cd_north", "cd_east", 2, "ac500_4x630", 1970, "[R3] Chengdu 500 kV ring"),
    ("cd_east", "cd_south", 2, "ac500_4x630", 1970, "[R3] Chengdu 500 kV ring"),
    ("cd_south", "cd_west", 2, "ac500_4x630", 1970, "[R3] Chengdu 500 kV ring"),
    ("cd_west", "cd_north", 2, "ac500_4x630", 1970, "[R3] Chengdu 500 kV ring"),
    ("cd_north", "deyang", 2, "ac500_4x400", 1970, "[K]"),
    ("deyang", "mianyang", 2, "ac500_4x400", 1970, "[R33] northern double ring"),
    ("deyang", "cd_east", 1, "ac500_4x400", 1970, "[K]"),
    ("cd_east", "ziyang", 2, "ac500_4x400", 1970, "[K]"),
    ("cd_south", "meishan", 4, "ac500_4x630", 1970, "[K]"),
    ("cd_east", "suining", 2, "ac500_4x400", 1970, "[K]"),
    ("mianyang", "suining", 1, "ac500_4x400", 1970, "[K]"),
    ("mianyang", "guangyuan", 2, "ac500_4x400", 1970, "[K]"),
    # 1000 kV Sichuan-Chongqing UHVAC (Ganzi - Tianfu South - Chengdu East) and Chuannan
    ("uhv_ganzi", "uhv_tianfu_south", 2, "ac1000_8x500", 2025, "[R31] Ganzi-Tianfu South 1000 kV double circuit"),
    ("uhv_tianfu_south", "uhv_chengdu_east", 2, "ac1000_8x500", 2025, "[R31] Tianfu South-Chengdu East 1000 kV"),
    ("uhv_tianfu_south", "uhv_chuannan", 2, "ac1000_8x500", 2030, "[R3] Chuannan UHV extension (planned) [U]"),
    # Southern Sichuan
    ("meishan", "leshan", 4, "ac500_4x630", 1970, "[K]"),
    ("leshan", "zigong", 1, "ac500_4x400", 1970, "[K]"),
    ("zigong", "neijiang", 2, "ac500_4x400", 1970, "[K]"),
    ("neijiang", "ziyang", 2, "ac500_4x400", 1970, "[K]"),
    ("zigong", "yibin", 2, "ac500_4x400", 1970, "[K]"),
    ("yibin", "luzhou", 2, "ac500_4x400", 1970, "[K]"),
    ("luzhou", "neijiang", 1, "ac500_4x400", 1970, "[K]"),
    ("fulong", "yibin", 2, "ac500_4x400", 2010, "[K] converter AC ties"),
    ("shuanglong", "yibin", 2, "ac500_4x400", 2014, "[K] converter AC ties"),
    ("col_xiangjiaba", "fulong", 4, "ac500_4x630", 2012, "[K] plant-converter connection"),
    ("col_xiluodu", "shuanglong", 4, "ac500_4x630", 2014, "[K] plant-converter connection (left bank)"),
    ("col_xiluodu", "col_xiangjiaba", 2, "ac500_4x400", 2014, "[K] lower Jinsha AC interconnection"),
    ("col_dadu_lower", "leshan", 2, "ac500_4x400", 1970, "[K]"),
    ("col_dadu_lower", "meishan", 2, "ac500_4x400", 1970, "[K]"),
    # North-east
    ("suining", "nanchong", 2, "ac500_4x400", 1970, "[K]"),
    ("nanchong", "guangan", 2, "ac500_4x400", 1970, "[K]"),
    ("nanchong", "dazhou", 2, "ac500_4x400", 1970, "[K]"),
    ("guangan", "dazhou", 1, "ac500_4x400", 1970, "[K]"),
    ("dazhou", "bazhong", 1, "ac500_4x400", 1970, "[K]"),
    ("bazhong", "guangyuan", 1, "ac500_4x400", 1970, "[K]"),
    ("col_jialing", "guangyuan", 2, "ac500_4x400", 1970, "[K]"),
    ("col_jialing", "nanchong", 1, "ac500_4x400", 1970, "[K]"),
    # Panxi: Jinsha, Yalong, converters
    ("col_guanyinyan", "panzhihua", 2, "ac500_4x400", 2016, "[K]"),
    ("col_wudongde", "panzhihua", 1, "ac500_4x400", 2020, "[K] Sichuan-side tie of Wudongde"),
    ("col_ertan", "panzhihua", 2, "ac500_4x400", 1970, "[K] Ertan supplies Sichuan (FACTS C2)"),
    ("col_ertan", "xichang", 2, "ac500_4x400", 1970, "[K]"),
    ("col_baihetan", "butuo", 4, "ac500_4x630", 2021, "[K] plant-converter connection (left bank)"),
    ("col_baihetan", "col_xiluodu", 4, "ac500_4x630", 2021, "[K] lower Jinsha AC interconnection"),
    ("butuo", "xichang", 2, "ac500_4x400", 2022, "[K]"),
    ("col_jinping", "yulong", 4, "ac500_4x630", 2012, "[R30] Jinping I/II feed Jinping-Sunan"),
    ("col_guandi", "yulong", 2, "ac500_4x400", 2012, "[R30] Guandi feeds Jinping-Sunan"),
    ("col_guandi", "xichang", 2, "ac500_4x400", 2012, "[K]"),
    ("yulong", "xichang", 2, "ac500_4x400", 2012, "[K]"),
    ("col_yalong_mid", "yazhong", 2, "ac500_4x630", 2021, "[R30] middle Yalong feeds Yazhong-Jiangxi"),
    ("yazhong", "col_ertan", 2, "ac500_4x400", 2021, "[K]"),
    ("yazhong", "panzhihua", 1, "ac500_4x400", 2021, "[K]"),
    ("xichang", "liangshan_north", 2, "ac500_4x400", 1970, "[K]"),
    ("col_jinping", "liangshan_north", 2, "ac500_4x400", 2012, "[K]"),
    ("liangshan_north", "shimian", 4, "ac500_4x630", 1970, "[K] Panxi-Ya'an corridor (west-to-east)"),
    ("col_yalong_mid", "col_jinping", 2, "ac500_4x400", 2021, "[K]"),
    ("col_lianghekou", "col_yalong_mid", 2, "ac500_4x400", 2021, "[K]"),
    ("col_lianghekou", "ganzi_kangding", 2, "ac500_4x400", 2021, "[R28] Lianghekou supplies the UHVAC via Ganzi"),
    # West: Dadu cascade and the west-to-Chengdu corridors
    ("ganzi_kangding", "col_houziyan", 2, "ac500_4x400", 2016, "[K]"),
    ("col_dadu_upper", "danba", 2, "ac500_4x400", 2023, "[K]"),
    ("danba", "col_houziyan", 2, "ac500_4x400", 2016, "[K]"),
    ("col_houziyan", "col_dagangshan", 2, "ac500_4x400", 2016, "[K]"),
    ("col_dagangshan", "shimian", 2, "ac500_4x400", 1970, "[K]"),
    ("col_dagangshan", "ya_an", 4, "ac500_4x630", 1970, "[K] Dadu-Ya'an corridor (west-to-east)"),
    ("shimian", "col_pubugou", 4, "ac500_4x630", 1970, "[K]"),
    ("col_pubugou", "ya_an", 2, "ac500_4x400", 1970, "[K]"),
    ("ya_an", "cd_west", 4, "ac500_4x630", 1970, "[K] Ya'an-Chengdu corridor (west-to-east, congests)"),
    ("ya_an", "meishan", 4, "ac500_4x630", 1970, "[K] Ya'an-Meishan corridor (west-to-east)"),
    ("col_pubugou", "col_dadu_lower", 2, "ac500_4x400", 1970, "[K]"),
    ("leshan", "cd_south", 2, "ac500_4x400", 1970, "[K] Leshan-Chengdu"),
    ("shimian", "ya_an", 2, "ac500_4x400", 1970, "[K]"),
    ("col_pubugou", "leshan", 2, "ac500_4x400", 1970, "[K]"),
    ("xichang", "leshan", 2, "ac500_4x630", 2014, "[K] Panxi-Leshan corridor (west-to-east)"),
    ("col_min", "aba_maoxian", 2, "ac500_4x400", 1970, "[K]"),
    ("aba_maoxian", "cd_north", 2, "ac500_4x400", 1970, "[K] Aba-Chengdu corridor"),
    ("col_min", "cd_west", 2, "ac500_4x400", 1970, "[K]"),
    ("ganzi_kangding", "ya_an", 2, "ac500_4x400", 1970, "[K] Kangding-Ya'an"),
    ("aba_maoxian", "danba", 2, "ac500_4x400", 2016, "[K] western ring"),
]

# 1000/500 kV transformers: hv_bus, lv_bus, units, sn_mva per unit, vk_percent, in_service_from, source
TRAFOS = [
    ("uhv_ganzi", "ganzi_kangding", 2, 3000.0, 18.0, 2025, "[R31] 24 GVA in 4 UHV substations; vk [K] typical 1000 kV autotransformer"),
    ("uhv_tianfu_south", "cd_south", 2, 3000.0, 18.0, 2025, "[R31]"),
    ("uhv_chengdu_east", "cd_east", 2, 3000.0, 18.0, 2025, "[R31]"),
    ("uhv_chuannan", "zigong", 2, 3000.0, 18.0, 2030, "[R3] planned [U]"),
]


# ----------------------------------------------------------------------------------------
# Hydro stations >= 300 MW. Columns:
# name, river, basin, bus, p_max_mw, head_m, v_total_hm3, v_reg_hm3, regulation, downstream,
# delay_h, mean_flow_m3s (natural mean flow at the dam), stat_share (share counted in Sichuan
# statistics), in_service_from, source
# v_min = total - regulating (dead + inactive) where the total is known; delay = dam-to-dam
# distance / ~20 km/h wave speed in reservoirs [K], at least 1 h.
# ----------------------------------------------------------------------------------------
HYDRO = [
    # Lower / middle Jinsha (Sichuan-Yunnan border: stat_share 0.5 by bank [K])
    ("guanyinyan", "jinsha", "Jinsha", "col_guanyinyan", 3000, 121, 2072, 538, "weekly", "yinjiang", 4, 1850, 0.5, 2016, "[R38] MW; head, storage, flow [K]"),
    ("yinjiang", "jinsha", "Jinsha", "panzhihua", 390, 20, 60, 5, "ror", "wudongde", 6, 1870, 1.0, 2026, "[R19] 390 MW, last unit 2025-12-19; head/flow [K]"),
    ("wudongde", "jinsha", "Jinsha", "col_wudongde", 10200, 137, 7408, 2600, "seasonal", "baihetan", 9, 3830, 0.5, 2021, "FACTS C1 [R29]: 12x850 MW, 74.08/26.0 1e8 m3; head ~137 m [K]"),
    ("baihetan", "jinsha", "Jinsha", "col_baihetan", 16000, 202, 20627, 10400, "annual", "xiluodu", 10, 4190, 0.5, 2022, "FACTS C1 [R28][R29]: 16x1000 MW, 206.27/104 1e8 m3; head ~202 m [K]"),
    ("xiluodu", "jinsha", "Jinsha", "col_xiluodu", 13860, 197, 12670, 6460, "annual", "xiangjiaba", 8, 4470, 0.5, 2014, "FACTS C1 [R28]: 18x770 MW, 126.7/64.6 1e8 m3; head ~197 m [K]"),
    ("xiangjiaba", "jinsha", "Jinsha", "col_xiangjiaba", 7750, 100, 5163, 900, "seasonal", "", 0, 4570, 0.5, 2014, "FACTS C1 [R29]: 7,750 MW [K/U], 51.63/9.0 1e8 m3; head ~100 m [K]"),
    # Yalong (YLHDC), upstream -> downstream
    ("lianghekou", "yalong", "Yalong", "col_lianghekou", 3000, 245, 10767, 6560, "multi-year", "lenggu", 12, 664, 1.0, 2022, "FACTS C2 [R28]: 6x500 MW, 107.67/65.6 1e8 m3, head 245-260 m"),
    ("lenggu", "yalong", "Yalong", "col_yalong_mid", 2600, 140, 700, 100, "weekly", "mengdigou", 6, 880, 1.0, 2030, "FACTS C2 [R36] ~2,600 MW under construction; head/storage/flow [K]"),
    ("mengdigou", "yalong", "Yalong", "col_yalong_mid", 2400, 130, 900, 120, "daily", "yangfanggou", 4, 960, 1.0, 2030, "FACTS C2 [R36] ~2,400 MW under construction; [K]"),
    ("yangfanggou", "yalong", "Yalong", "col_yalong_mid", 1500, 100, 512, 40, "daily", "kala", 3, 1030, 1.0, 2021, "FACTS C2: 4x375 MW [K]"),
    ("kala", "yalong", "Yalong", "col_yalong_mid", 1020, 70, 240, 30, "daily", "jinping_1", 5, 1080, 1.0, 2030, "FACTS C2 ~1,020 MW under construction [K]"),
    ("jinping_1", "yalong", "Yalong", "col_jinping", 3600, 240, 7760, 4910, "annual", "jinping_2", 1, 1220, 1.0, 2014, "FACTS C2 [R28]: 6x600 MW, 77.6/49.1 1e8 m3; head ~240 m [K]"),
    ("jinping_2", "yalong", "Yalong", "col_jinping", 4800, 288, 14.3, 5, "daily", "guandi", 2, 1240, 1.0, 2014, "FACTS C2 [R28]: 8x600 MW, 0.143/0.05 1e8 m3, rated head 288 m [K]"),
    ("guandi", "yalong", "Yalong", "col_guandi", 2400, 150, 760, 28, "daily", "ertan", 6, 1430, 1.0, 2013, "FACTS C2 [R28][R29]: 4x600 MW, 7.6/0.28 1e8 m3; head [K]"),
    ("ertan", "yalong", "Yalong", "col_ertan", 3300, 165, 5800, 3370, "seasonal", "tongzilin", 1, 1670, 1.0, 1999, "FACTS C2 [R28]: 6x550 MW, 58/33.7 1e8 m3; rated head [K] (189 m max)"),
    ("tongzilin", "yalong", "Yalong", "col_ertan", 600, 60, 91, 10, "daily", "wudongde", 8, 1890, 1.0, 2015, "[R38] 4x150 MW; head/storage [K]"),
    ("jiangbian", "jiulong", "Yalong", "col_jinping", 330, 300, 5, 1, "ror", "", 0, 40, 1.0, 2011, "[R38] 330 MW diversion plant; head/flow [K]"),
    ("kajiwa", "muli", "Yalong", "col_guandi", 452, 300, 370, 200, "seasonal", "", 0, 120, 1.0, 2016, "[R38] 452 MW (Muli river); head/storage/flow [K]"),
    # Dadu, upstream -> downstream
    ("shuangjiangkou", "dadu", "Dadu", "col_dadu_upper", 2000, 203, 2897, 1917, "annual", "jinchuan", 4, 500, 1.0, 2025, "FACTS C3 [K]: 4x500 MW, 28.97/19.17 1e8 m3, lead reservoir [R3]"),
    ("jinchuan", "dadu", "Dadu", "col_dadu_upper", 860, 63, 50, 5, "daily", "houziyan", 10, 530, 1.0, 2024, "[K] 860 MW"),
    ("houziyan", "dadu", "Dadu", "col_houziyan", 1700, 180, 662, 387, "seasonal", "changheba", 4, 774, 1.0, 2017, "FACTS C3 [R28]: 4x425 MW, 6.62 1e8 m3; head/regulating [K]"),
    ("changheba", "dadu", "Dadu", "col_houziyan", 2600, 197, 1075, 438, "seasonal", "huangjinping", 2, 860, 1.0, 2017, "FACTS C3 [R28]: 4x650 MW, 10.75 1e8 m3; head/regulating [K]"),
    ("huangjinping", "dadu", "Dadu", "col_houziyan", 850, 97, 128, 10, "daily", "luding", 2, 880, 1.0, 2016, "[K] 850 MW"),
    ("luding", "dadu", "Dadu", "col_dagangshan", 920, 74, 220, 22, "daily", "yingliangbao", 2, 900, 1.0, 2012, "FACTS C3 [R29]: 920 MW, 2.2/0.22 1e8 m3; head [K]"),
    ("yingliangbao", "dadu", "Dadu", "col_dagangshan", 1115, 60, 100, 5, "daily", "dagangshan", 3, 930, 1.0, 2016, "[K] 1,115 MW unverified (FACTS Gap 6)"),
    ("dagangshan", "dadu", "Dadu", "col_dagangshan", 2600, 160, 742, 117, "weekly", "longtoushi", 2, 1010, 1.0, 2016, "FACTS C3 [R28]: 4x650 MW, 7.24 1e8 m3; head/regulating [K]"),
    ("longtoushi", "dadu", "Dadu", "col_dagangshan", 700, 60, 120, 10, "daily", "pubugou", 3, 1050, 1.0, 2009, "[R38] 700 MW; [K]"),
    ("pubugou", "dadu", "Dadu", "col_pubugou", 3600, 150, 5390, 3800, "seasonal", "shenxigou", 1, 1230, 1.0, 2010, "FACTS C3 [R29]: 6x600 MW, 53.9/38.0 1e8 m3; rated head [K]"),
    ("shenxigou", "dadu", "Dadu", "col_pubugou", 660, 32, 34, 1, "ror", "zhentouba", 1, 1240, 1.0, 2011, "FACTS C3 [R29]: 4x165 MW, 0.34 1e8 m3"),
    ("zhentouba", "dadu", "Dadu", "col_pubugou", 720, 33, 40, 3, "ror", "shaping", 1, 1250, 1.0, 2014, "FACTS C3: Zhentouba I 720 MW [K]"),
    ("shaping", "dadu", "Dadu", "col_dadu_lower", 348, 24, 30, 2, "ror", "gongzui", 1, 1270, 1.0, 2017, "FACTS C3: Shaping 348 MW [K]"),
    ("gongzui", "dadu", "Dadu", "col_dadu_lower", 770, 48, 100, 1, "daily", "tongjiezi", 1, 1500, 1.0, 1979, "FACTS C3 [R29]: 770 MW, 1.0 1e8 m3"),
    ("tongjiezi", "dadu", "Dadu", "col_dadu_lower", 700, 38, 200, 30, "daily", "shawan", 1, 1500, 1.0, 1994, "FACTS C3 [R29]: 675-700 MW, 2.0/0.3 1e8 m3"),
    ("shawan", "dadu", "Dadu", "col_dadu_lower", 480, 24, 20, 2, "ror", "angu", 1, 1510, 1.0, 2009, "[R38] 480 MW"),
    ("angu", "dadu", "Dadu", "col_dadu_lower", 772, 32, 60, 5, "ror", "", 0, 1530, 1.0, 2015, "[R38] 772 MW"),
    # Min
    ("futangba", "min", "Min", "col_min", 360, 100, 5, 1, "ror", "zipingpu", 4, 280, 1.0, 2011, "FACTS C4 [R38]: 360 MW; head/flow [K]"),
    ("maoergai", "heishui", "Min", "col_min", 420, 150, 534, 250, "seasonal", "zipingpu", 8, 110, 1.0, 2011, "[R38] 420 MW (Heishui river); [K]"),
    ("zipingpu", "min", "Min", "col_min", 760, 112, 1112, 774, "seasonal", "", 0, 469, 1.0, 2006, "FACTS C4 [R38]: 4x190 MW, 11.12/7.74 1e8 m3 [K]"),
    # Jialing
    ("baozhusi", "bailong", "Jialing", "col_jialing", 700, 84, 2550, 1340, "seasonal", "tingzikou", 12, 320, 1.0, 1996, "FACTS C4 [R38]: 700 MW; head/storage [K]"),
    ("tingzikou", "jialing", "Jialing", "col_jialing", 1100, 73, 4067, 1750, "annual", "", 0, 620, 1.0, 2014, "FACTS C4 [R28]: 4x275 MW, 40.67 1e8 m3, rated head 73 m; regulating [K]"),
]

# Small and medium hydro (< 300 MW), aggregated per region as run-of-river renewables.
# Capacity is the calibration residual: 97.7 GW (2024, A1) minus the Sichuan share of the
# stations above (computed in main()); split by region [K].
SMALL_HYDRO = [
    # name, bus, region share, profile, in_service_from, source
    ("smallhydro_west_yaan", "ya_an", 0.16, "hydro_ror_dadu", 1970, "[D] residual of A1 hydro 97.7 GW; regional split [K]"),
    ("smallhydro_west_ganzi", "ganzi_kangding", 0.14, "hydro_ror_yalong", 1970, "[D] residual; [K]"),
    ("smallhydro_west_aba", "aba_maoxian", 0.12, "hydro_ror_min", 1970, "[D] residual; [K]"),
    ("smallhydro_panxi", "xichang", 0.18, "hydro_ror_yalong", 1970, "[D] residual; [K]"),
    ("smallhydro_chengdu", "cd_west", 0.08, "hydro_ror_min", 1970, "[D] residual; [K]"),
    ("smallhydro_south_leshan", "leshan", 0.10, "hydro_ror_dadu", 1970, "[D] residual; [K]"),
    ("smallhydro_south_yibin", "yibin", 0.07, "hydro_ror_jinsha", 1970, "[D] residual; [K]"),
    ("smallhydro_northeast", "guangyuan", 0.08, "hydro_ror_jialing", 1970, "[D] residual; [K]"),
    ("smallhydro_northeast_dazhou", "dazhou", 0.07, "hydro_ror_jialing", 1970, "[D] residual; [K]"),
]
SMALL_HYDRO_2030_ADD_MW = 1500.0  # [K] medium hydro on tributaries 2025-2030

# Wind and solar by prefecture site: name, kind, bus, p_max_mw, profile, in_service_from, source
RENEWABLES = [
    # wind 2024: 8.9 GW (A1), split by GEM GWPT 2023 prefecture shares (G3) [D]
    ("wind_liangshan", "wind", "xichang", 6200, "wind_liangshan", 1970, "A1 8.9 GW x GEM GWPT (May 2023) prefecture share [D]"),
    ("wind_panzhihua", "wind", "panzhihua", 800, "wind_panzhihua", 1970, "A1 x GEM GWPT share [D]"),
    ("wind_guangyuan", "wind", "guangyuan", 1000, "wind_guangyuan", 1970, "A1 x GEM GWPT share [D]"),
    ("wind_ganzi", "wind", "ganzi_kangding", 300, "wind_ganzi", 1970, "[K]"),
    ("wind_aba", "wind", "aba_maoxian", 200, "wind_aba", 1970, "[K]"),
    ("wind_yaan", "wind", "ya_an", 100, "wind_yaan", 1970, "GEM GWPT [D]"),
    ("wind_mianyang", "wind", "mianyang", 100, "wind_guangyuan", 1970, "GEM GWPT [D]"),
    ("wind_luzhou", "wind", "luzhou", 100, "wind_south", 1970, "GEM GWPT [D]"),
    ("wind_yibin", "wind", "yibin", 100, "wind_south", 1970, "[K]"),
    # wind 2025 additions (to ~9.7 GW, A1 [R4][U])
    ("wind_liangshan_2025", "wind", "butuo", 500, "wind_liangshan", 2025, "A1 2025 ~9.7 GW [R4][U]"),
    ("wind_ganzi_2025", "wind", "ganzi_kangding", 300, "wind_ganzi", 2025, "A1 2025 [R4][U]"),
    # wind 2030 additions (scenario: 20 GW) [K]
    ("wind_liangshan_2030", "wind", "liangshan_north", 4000, "wind_liangshan", 2030, "[K] 2030 policy scenario"),
    ("wind_ganzi_2030", "wind", "uhv_ganzi", 2500, "wind_ganzi", 2030, "[K] 2030 scenario (Yalong hydro-wind-PV base [R36])"),
    ("wind_aba_2030", "wind", "aba_maoxian", 1500, "wind_aba", 2030, "[K]"),
    ("wind_panzhihua_2030", "wind", "panzhihua", 1000, "wind_panzhihua", 2030, "[K]"),
    ("wind_guangyuan_2030", "wind", "guangyuan", 800, "wind_guangyuan", 2030, "[K]"),
    ("wind_south_2030", "wind", "luzhou", 500, "wind_south", 2030, "[K]"),
    # solar 2024: 10.8 GW (A1) by prefecture [K]
    ("solar_ganzi", "solar", "ganzi_kangding", 3200, "solar_ganzi", 1970, "A1 10.8 GW; prefecture split [K]"),
    ("solar_aba", "solar", "aba_maoxian", 1200, "solar_aba", 1970, "[K]"),
    ("solar_liangshan", "solar", "xichang", 3000, "solar_liangshan", 1970, "[K] (Liangshan PV examples [R51])"),
    ("solar_panzhihua", "solar", "panzhihua", 1000, "solar_panzhihua", 1970, "[K]"),
    ("solar_dpv_chengdu", "solar", "cd_east", 1200, "solar_basin", 1970, "[K] distributed PV, Chengdu plain"),
    ("solar_dpv_south", "solar", "zigong", 600, "solar_basin", 1970, "[K] distributed PV"),
    ("solar_dpv_northeast", "solar", "nanchong", 600, "solar_basin", 1970, "[K] distributed PV"),
    # solar 2025 additions (to ~14.5 GW, A1 [R4][U])
    ("solar_ganzi_2025", "solar", "col_lianghekou", 1800, "solar_ganzi", 2025, "A1 2025 ~14.5 GW [R4][U]; Yalong base [R36]"),
    ("solar_liangshan_2025", "solar", "butuo", 1000, "solar_liangshan", 2025, "A1 2025 [R4][U]"),
    ("solar_aba_2025", "solar", "aba_maoxian", 500, "solar_aba", 2025, "A1 2025 [R4][U]"),
    ("solar_dpv_chengdu_2025", "solar", "cd_north", 400, "solar_basin", 2025, "A1 2025 [R4][U]"),
    # solar 2030 additions (scenario: 40 GW) [K]
    ("solar_ganzi_2030", "solar", "uhv_ganzi", 10000, "solar_ganzi", 2030, "[K] 2030 scenario"),
    ("solar_aba_2030", "solar", "aba_maoxian", 4000, "solar_aba", 2030, "[K]"),
    ("solar_liangshan_2030", "solar", "liangshan_north", 5000, "solar_liangshan", 2030, "[K]"),
    ("solar_panzhihua_2030", "solar", "panzhihua", 1500, "solar_panzhihua", 2030, "[K]"),
    ("solar_dpv_chengdu_2030", "solar", "cd_south", 3000, "solar_basin", 2030, "[K]"),
    ("solar_dpv_south_2030", "solar", "yibin", 1000, "solar_basin", 2030, "[K]"),
    ("solar_dpv_northeast_2030", "solar", "dazhou", 1000, "solar_basin", 2030, "[K]"),
]

# Storage: name, kind, bus, p_ch, p_dis, e_max, e_min, eta_ch, eta_dis, loss_per_h, from, source
PSH_ETA = math.sqrt(0.78)  # round trip 78 % [K: PNNL 2022 ESGC cost & performance, PSH 80 %]
LI_ETA = math.sqrt(0.88)  # round trip 88 % [K: PNNL 2022 ESGC, Li-ion LFP 86-88 %]
STORAGE = [
    ("li_ion_chengdu_2024", "li_ion", "cd_east", 300, 300, 600, 30, LI_ETA, LI_ETA, 1e-4, 2024, "[K] grid-side storage in service 2024; Chengdu plan [R35]"),
    ("li_ion_panxi_2024", "li_ion", "xichang", 100, 100, 200, 10, LI_ETA, LI_ETA, 1e-4, 2024, "[K] co-located with Liangshan wind/PV"),
    ("li_ion_chengdu_2025", "li_ion", "cd_south", 800, 800, 1600, 80, LI_ETA, LI_ETA, 1e-4, 2025, "[R35] Chengdu >1 GW new-type storage by 2025"),
    ("li_ion_chengdu_2030", "li_ion", "cd_north", 1500, 1500, 3000, 150, LI_ETA, LI_ETA, 1e-4, 2030, "[K] 2030 scenario new-type storage"),
    ("li_ion_south_2030", "li_ion", "zigong", 1000, 1000, 2000, 100, LI_ETA, LI_ETA, 1e-4, 2030, "[K]"),
    ("li_ion_northeast_2030", "li_ion", "nanchong", 800, 800, 1600, 80, LI_ETA, LI_ETA, 1e-4, 2030, "[K]"),
    ("li_ion_ganzi_2030", "li_ion", "uhv_ganzi", 1500, 1500, 6000, 300, LI_ETA, LI_ETA, 1e-4, 2030, "[K] 4 h storage with the Ganzi PV base"),
    ("li_ion_liangshan_2030", "li_ion", "liangshan_north", 1200, 1200, 4800, 240, LI_ETA, LI_ETA, 1e-4, 2030, "[K] 4 h"),
    ("psh_lianghekou", "pumped_hydro", "col_lianghekou", 1200, 1200, 12000, 0, PSH_ETA, PSH_ETA, 0.0, 2030, "FACTS F [R34]: Lianghekou hybrid PSH 4x300 MW; 10 h energy [K]"),
    ("psh_daofu", "pumped_hydro", "ganzi_kangding", 2100, 2100, 12600, 0, PSH_ETA, PSH_ETA, 0.0, 2030, "FACTS F [R34]: Daofu PSH 6x350 MW; 6 h energy [K]"),
]

# Export links / interconnectors: name, kind, bus, p_max (export MW), p_min (negative = import),
# energy_twh (normal-year schedule), profile, flex, price, counted_share, from, source
EXPORTS = [
    ("xiangjiaba_shanghai", "uhvdc", "fulong", 6400, 0, 31.0, "jinsha", 0.15, 300.0, 1.0, 2010, "FACTS D [R30]: +-800 kV 6,400 MW; energy [K]"),
    ("jinping_sunan", "uhvdc", "yulong", 7200, 0, 36.0, "yalong", 0.15, 300.0, 1.0, 2012, "FACTS D [R30]: 7,200 MW, ~36 TWh/yr"),
    ("xiluodu_zhexi", "uhvdc", "shuanglong", 8000, 0, 38.0, "jinsha", 0.15, 300.0, 1.0, 2014, "FACTS D [R5][R29]: 8,000 MW; energy [K]"),
    ("yazhong_jiangxi", "uhvdc", "yazhong", 8000, 0, 22.0, "yalong", 0.25, 300.0, 1.0, 2021, "FACTS D [R30]: 8,000 MW (design ~36 TWh/yr; under-used [K])"),
    ("baihetan_jiangsu", "uhvdc", "butuo", 8000, 0, 31.0, "jinsha", 0.15, 300.0, 1.0, 2022, "FACTS D [R30]: 8,000 MW, >30 TWh/yr"),
    ("baihetan_zhejiang", "uhvdc", "col_baihetan", 8000, 0, 29.0, "jinsha", 0.15, 300.0, 0.0, 2023, "FACTS D [R30]: 8,000 MW; right bank (Yunnan) [K]"),
    ("wudongde_kunliulong", "uhvdc", "col_wudongde", 8000, 0, 30.0, "jinsha", 0.15, 300.0, 0.0, 2021, "FACTS C1 [R30][K]: Wudongde to Southern Grid via Kun-Liu-Long (Yunnan start)"),
    ("xiluodu_guangdong", "hvdc", "col_xiluodu", 6400, 0, 27.0, "jinsha", 0.15, 300.0, 0.0, 2014, "FACTS C1 [K]: right bank via +-500 kV to Guangdong"),
    ("debao_dc", "dc_tie", "deyang", 3000, -3000, 0.0, "flex", 1.0, 380.0, 1.0, 2010, "FACTS D [R29]: Deyang-Baoji +-500 kV 3,000 MW, bidirectional [R15]"),
    ("chongqing_ac500_ziyang", "ac_tie", "ziyang", 3000, -1500, 0.0, "flex", 1.0, 330.0, 1.0, 1970, "FACTS D [R29][R47]: Sichuan-Chongqing 500 kV section (6 circuits, 6,000 MW) half"),
    ("chongqing_ac500_guangan", "ac_tie", "guangan", 3000, -1500, 0.0, "flex", 1.0, 330.0, 1.0, 1970, "FACTS D [R29]: Sichuan-Chongqing 500 kV section half"),
    ("chongqing_uhvac", "ac_tie", "uhv_chengdu_east", 4000, -2000, 0.0, "flex", 1.0, 330.0, 1.0, 2025, "FACTS D [R31]: Sichuan-Chongqing 1000 kV, interface up to 4 GW"),
    ("tibet_ac500", "ac_tie", "ganzi_kangding", 1000, -1000, 0.0, "flex", 1.0, 300.0, 1.0, 2014, "FACTS D [R32][R29]: Sichuan-Tibet 500 kV, 1,000 MW (PyPSA) [U]"),
]

# Thermal parameter classes (per technology). Costs CNY; 7.1 CNY/USD [K].
# su_*_per_mw: NREL Kumar et al. 2012 (NREL/SR-5500-55433) Table 1-1 lower-bound median
# start costs, USD(2011)/MW, x 7.1 (hot/warm/cold); lag boundaries hot < 10 h <= warm < 72 h
# <= cold [K, after Lew et al. 2013 WWSIS-2 definitions]. pmin: NDRC/NEA 2021 coal-fleet
# upgrade plan targets 30-40 % min load after retrofit; 40-50 % used [K]. Ramp rates:
# Agora Energiewende 2017 "Flexibility in thermal power plants": hard coal 1.5 %/min,
# CCGT 2-4 %/min. Heat-rate penalty at pmin: [K] typical part-load curves.
THERMAL_CLASSES = [
    # class, kind, pmin_frac, ramp_frac_per_min, min_up_h, min_down_h, su_hot, su_warm, su_cold (CNY/MW), hr_pmin_factor, vom_cny_per_mwh, source
    ("coal_usc", "coal", 0.40, 0.015, 8, 8, 380.0, 450.0, 740.0, 1.08, 20.0, "NREL 2012 large supercritical coal 54/64/104 USD/MW; Agora 2017; NDRC/NEA 2021 [K]"),
    ("coal_sc", "coal", 0.40, 0.015, 8, 8, 380.0, 450.0, 740.0, 1.08, 20.0, "NREL 2012 large supercritical coal; Agora 2017 [K]"),
    ("coal_sub", "coal", 0.45, 0.010, 6, 6, 420.0, 460.0, 750.0, 1.10, 22.0, "NREL 2012 large sub-critical coal 59/65/105 USD/MW; Agora 2017 [K]"),
    ("coal_small", "coal", 0.50, 0.020, 4, 4, 670.0, 1110.0, 1110.0, 1.12, 25.0, "NREL 2012 small sub-critical coal 94/157/147 USD/MW (cold set to warm) [K]"),
    ("gas_cc", "gas", 0.50, 0.040, 4, 3, 250.0, 390.0, 560.0, 1.15, 15.0, "NREL 2012 gas combined cycle 35/55/79 USD/MW; Agora 2017 CCGT [K]"),
    ("biomass", "biomass", 0.50, 0.020, 6, 6, 670.0, 1110.0, 1110.0, 1.10, 40.0, "[K] as small coal"),
]
BTU_PER_KWH_TO_GJ_PER_MWH = 1.05506e-3  # 1 Btu = 1055.06 J
EF_T_PER_GJ = {"coal": 0.0946, "gas": 0.0561, "biomass": 0.0}  # IPCC 2006 GL Vol.2 Table 1.4 (bituminous 94.6, natural gas 56.1 t/TJ); biomass biogenic = 0

# Gas units: facts from GEM GGPT (Feb 2023, CC BY-NC-SA 4.0) and GPPD; in_service_from [K]
GAS_UNITS = [
    # plant, unit, MW, class, lat, lon, heat rate GJ/MWh, in_service_from, source
    ("dazhou_gas", "1-1", 350, "gas_cc", 31.115, 107.485, 6.6, 2015, "GEM GGPT Feb 2023 (operating 2015), CC BY-NC-SA 4.0; HR [K]"),
    ("dazhou_gas", "1-2", 350, "gas_cc", 31.115, 107.485, 6.6, 2015, "GEM GGPT Feb 2023; HR [K]"),
    ("ziyang_gas", "1-1", 700, "gas_cc", 30.078, 105.424, 6.3, 2024, "GEM GGPT Feb 2023 (construction); online by 2024 [U] (A1 note)"),
    ("ziyang_gas", "1-2", 700, "gas_cc", 30.078, 105.424, 6.3, 2024, "GEM GGPT Feb 2023 (construction); [U]"),
    ("guangyuan_gas", "1", 700, "gas_cc", 32.433, 105.832, 6.3, 2024, "GEM GGPT Feb 2023 (construction); [U]"),
    ("guangyuan_gas", "2", 700, "gas_cc", 32.433, 105.832, 6.3, 2024, "GEM GGPT Feb 2023 (construction); [U]"),
    ("jiangyou_gas", "1", 700, "gas_cc", 31.80, 104.77, 7.0, 2010, "GPPD v1.3.0 Jiangyou gas 700 MW [R38]; HR [K]"),
    ("luzhou_gas", "1", 700, "gas_cc", 28.785, 105.272, 6.3, 2025, "GEM GGPT Feb 2023 (pre-construction, start 2025)"),
    ("luzhou_gas", "2", 700, "gas_cc", 28.785, 105.272, 6.3, 2025, "GEM GGPT Feb 2023 (pre-construction, start 2025)"),
    ("pengzhou_gas", "1", 363.5, "gas_cc", 31.057, 103.907, 6.4, 2030, "GEM GGPT Feb 2023 (pre-construction CHP); 2030 [K]"),
    ("pengzhou_gas", "2", 363.5, "gas_cc", 31.057, 103.907, 6.4, 2030, "GEM GGPT; [K]"),
    ("neijiang_baima_gas", "1", 475, "gas_cc", 29.526, 105.009, 6.4, 2030, "GEM GGPT (pre-construction); [K]"),
    ("neijiang_baima_gas", "2", 475, "gas_cc", 29.526, 105.009, 6.4, 2030, "GEM GGPT; [K]"),
    ("dazhou_gas", "2-1", 700, "gas_cc", 31.115, 107.485, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("dazhou_gas", "2-2", 700, "gas_cc", 31.115, 107.485, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("renshou_gas", "1", 600, "gas_cc", 29.995, 104.132, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("renshou_gas", "2", 600, "gas_cc", 29.995, 104.132, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("suining_anju_gas", "1-1", 600, "gas_cc", 30.352, 105.449, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("suining_anju_gas", "1-2", 600, "gas_cc", 30.352, 105.449, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("suining_anju_gas", "2-1", 600, "gas_cc", 30.352, 105.449, 6.3, 2030, "GEM GGPT (announced); [K]"),
    ("suining_anju_gas", "2-2", 600, "gas_cc", 30.352, 105.449, 6.3, 2030, "GEM GGPT (announced); [K]"),
]
# Aggregated other thermal (captive coal, coal-gangue, biomass/waste): calibration residual
# of A1 thermal 21.6 GW (2024) after GEM coal and the gas units above [D].
OTHER_THERMAL = [
    # name, class, bus, MW, heat rate GJ/MWh, in_service_from, source
    ("captive_coal_yibin", "coal_small", "yibin", 800, 11.5, 1970, "[D] A1 thermal residual; captive/gangue coal [K]"),
    ("captive_coal_leshan", "coal_small", "leshan", 900, 11.5, 1970, "[D] residual [K]"),
    ("captive_coal_panzhihua", "coal_small", "panzhihua", 800, 11.5, 1970, "[D] residual (steel works captive) [K]"),
    ("captive_coal_neijiang", "coal_small", "neijiang", 500, 11.5, 1970, "[D] residual [K]"),
    ("captive_coal_dazhou", "coal_small", "dazhou", 600, 11.5, 1970, "[D] residual [K]"),
    ("biomass_waste_chengdu", "biomass", "cd_north", 450, 13.0, 1970, "[D] residual; waste-to-energy (GPPD lists ~0.1 GW [R38]) [K]"),
    ("biomass_waste_south", "biomass", "zigong", 195, 13.0, 1970, "[D] residual [K]"),
]
COAL_2030 = [
    # GEM GCPT pre-permit units, assumed online by 2030 [K]
    ("China Coal Guangyuan power station", "Unit 1", 1000, "coal_usc", 32.332, 105.585, 2030),
    ("China Coal Guangyuan power station", "Unit 2", 1000, "coal_usc", 32.332, 105.585, 2030),
    ("Northeast Sichuan power station", "Unit 1", 1000, "coal_usc", 31.195, 107.519, 2030),
    ("Northeast Sichuan power station", "Unit 2", 1000, "coal_usc", 31.195, 107.519, 2030),
]

# Case scenario table.
CASES = [
    # case, year, peak MW, energy TWh (calendar year), reserve frac, reserve min MW, coal, gas,
    # biomass CNY/GJ, co2 CNY/t, voll, dr share of peak, description, source
    ("sichuan-2024", 2024, 68840.0, 400.0, 0.03, 1000.0, 40.0, 60.0, 30.0, 0.0, 10000.0, 0.02,
     "base year, calibrated to 2024 statistics",
     "A1 [R2] consumption 400.0 TWh; A2 [R3] peak 68.84 GW; fuel prices [K] (Sichuan thermal coal ~1,170 CNY/tce; power-plant gas ~2.2 CNY/m3)"),
    ("sichuan-2025", 2025, 75000.0, 415.0, 0.03, 1000.0, 38.0, 60.0, 30.0, 0.0, 10000.0, 0.03,
     "2025 plan (UHVAC Sichuan-Chongqing in service)",
     "A2 [R31] peak ~75 GW expected; A1 ~415 TWh est."),
    ("sichuan-2030", 2030, 95000.0, 540.0, 0.03, 1000.0, 38.0, 58.0, 30.0, 100.0, 10000.0, 0.06,
     "2030 policy targets: wind 20 GW, solar 40 GW, PSH 3.3 GW, new-type storage 6.9 GW, DR 6 % of peak",
     "[K] +5.4 %/yr consumption and +4.8 %/yr peak from 2025; CO2 price [K]"),
]

# Demand-response programmes (per load bus, share of the case's DR MW):
# program, cost CNY/MWh, max_dur_h, max_events, payback_frac, share of DR MW, source
DR_PROGRAMS = [
    ("industrial_cut", 2000.0, 4, 20, 0.0, 0.6, "[K] interruptible industrial load; Sichuan 2022 orderly-consumption freed ~7 GW (FACTS B) "),
    ("commercial_shift", 400.0, 2, 60, 1.0, 0.4, "[K] air-conditioning / EV load shift with full rebound"),
]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def write(name: str, header: list[str], rows: list[list]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(v) for v in r])


def _fmt(v):
    if isinstance(v, float):
        s = f"{v:.6g}" if abs(v) < 1e6 else f"{v:.1f}"
        return s
    return v


def nearest_bus(lat: float, lon: float) -> str:
    best, bd = "", 1e18
    for b in BUSES:
        if b[3] != "substation" or b[8] > 2024:
            continue
        d = haversine_km(lat, lon, b[5], b[6])
        if d < bd:
            best, bd = b[0], d
    return best


def coal_class(tech: str, mw: float) -> str:
    if mw < 200:
        return "coal_small"
    t = (tech or "").lower()
    if "ultra" in t:
        return "coal_usc"
    if "super" in t:
        return "coal_sc"
    return "coal_sub"


def main(shared: Path) -> None:
    bus_xy = {b[0]: (b[5], b[6]) for b in BUSES}
    tot = sum(b[7] for b in BUSES)
    write("buses.csv", ["name", "region", "prefecture", "kind", "vn_kv", "lat", "lon", "load_share", "in_service_from", "source"],
          [[b[0], b[1], b[2], b[3], b[4], b[5], b[6], round(b[7] / tot, 6), b[8], b[9]] for b in BUSES])
    write("line_types.csv", ["name", "vn_kv", "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km", "max_i_ka", "sil_mw", "source"],
          [list(t) for t in LINE_TYPES])
    rows = []
    for f, t, n, typ, yr, src in LINES:
        L = 1.25 * haversine_km(*bus_xy[f], *bus_xy[t])
        rows.append([f"{f}-{t}", f, t, round(max(L, 5.0), 1), n, typ, yr, src + "; length 1.25x great-circle [K]"])
    write("lines.csv", ["name", "from_bus", "to_bus", "length_km", "circuits", "line_type", "in_service_from", "source"], rows)
    write("trafos.csv", ["name", "hv_bus", "lv_bus", "units", "sn_mva", "vk_percent", "in_service_from", "source"],
          [[f"{h}/{lv}", h, lv, n, s, vk, yr, src] for h, lv, n, s, vk, yr, src in TRAFOS])

    # hydro
    rows = []
    by_name = {h[0]: h for h in HYDRO}
    ups: dict[str, list[str]] = {h[0]: [] for h in HYDRO}
    for h in HYDRO:
        if h[9]:
            ups[h[9]].append(h[0])
    for h in HYDRO:
        (name, river, basin, bus, pmax, head, vtot, vreg, reg, down, delay, q, share, yr, src) = h
        k = 9.81 * ETA_TURBINE * head / 1000.0
        local = q - sum(by_name[u][11] for u in ups[name])
        assert local >= 0, name
        qmin = round(0.1 * q, 1)  # Tennant (1976) 10 % of mean annual flow as minimum release [K]
        rows.append([name, river, basin, bus, pmax, head, round(k, 4), qmin, round(vtot - vreg, 2), vtot, reg, down, delay,
                     q, round(local, 1), share, round(20.0 * q, 1), yr,
                     src + "; k=9.81*0.9*H/1000 [K]; qmin=10% mean flow (Tennant 1976) [K]"])
    write("hydro.csv", ["name", "river", "basin", "bus", "p_max_mw", "head_m", "k_mw_per_m3s", "q_min_m3s", "v_min_hm3",
                        "v_max_hm3", "regulation", "downstream", "delay_h", "mean_flow_m3s", "mean_local_inflow_m3s",
                        "stat_share", "spill_max_m3s", "in_service_from", "source"], rows)

    share_mw = sum(h[4] * h[12] for h in HYDRO if h[13] <= 2024)
    small_total = 97700.0 - share_mw
    ren_rows = []
    for name, bus, sh, prof, yr, src in SMALL_HYDRO:
        ren_rows.append([name, "hydro_ror", bus, round(small_total * sh, 1), prof, yr, src])
        ren_rows.append([name + "_2030", "hydro_ror", bus, round(SMALL_HYDRO_2030_ADD_MW * sh, 1), prof, 2030,
                         "[K] medium hydro additions 2025-2030"])
    for r in RENEWABLES:
        ren_rows.append(list(r))
    write("renewables.csv", ["name", "kind", "bus", "p_max_mw", "profile", "in_service_from", "source"], ren_rows)

    write("storage.csv", ["name", "kind", "bus", "p_ch_mw", "p_dis_mw", "e_max_mwh", "e_min_mwh", "eta_ch", "eta_dis",
                          "loss_per_h", "in_service_from", "source"],
          [[s[0], s[1], s[2], s[3], s[4], s[5], s[6], round(s[7], 6), round(s[8], 6), s[9], s[10],
            s[11] + "; efficiency/self-discharge [K] PNNL 2022 ESGC"] for s in STORAGE])

    write("exports.csv", ["name", "kind", "bus", "p_max_mw", "p_min_mw", "energy_twh", "profile", "flex", "price_cny_per_mwh",
                          "stat_share", "in_service_from", "source"], [list(e) for e in EXPORTS])

    # thermal
    cls = {c[0]: c for c in THERMAL_CLASSES}
    write("thermal_classes.csv", ["class", "kind", "pmin_frac", "ramp_frac_per_min", "min_up_h", "min_down_h", "su_hot_cny_per_mw",
                                  "su_warm_cny_per_mw", "su_cold_cny_per_mw", "hr_pmin_factor", "vom_cny_per_mwh", "source"],
          [list(c) for c in THERMAL_CLASSES])
    th_rows = []

    def th_row(name, plant, c, bus, mw, hr, yr, src):
        cc = cls[c]
        ramp = min(mw, round(cc[3] * 60 * mw, 1))
        th_rows.append([name, plant, cc[1], c, bus, mw, round(cc[2] * mw, 1), ramp, ramp, cc[4], cc[5],
                        round(cc[6] * mw, 0), round(cc[7] * mw, 0), round(cc[8] * mw, 0), 10, 72, round(hr, 3),
                        round(hr * cc[9], 3), cc[10], round(hr * EF_T_PER_GJ[cc[1]], 4), yr, 0, src, f"thermal_classes.csv:{c}"])

    with open(shared / "sichuan_coal_units_gem_gcpt_2023-07.csv", newline="", encoding="utf-8") as fh:
        coal = [r for r in csv.DictReader(fh) if r["Status"] == "operating"]
    for r in coal:
        mw = float(r["Capacity (MW)"])
        lat, lon = float(r["Latitude"]), float(r["Longitude"])
        plant = r["Plant name"].replace(" power station", "")
        name = (plant + " " + r["Unit name"]).lower().replace("'", "").replace(",", "").replace(" ", "_")
        hr = float(r["Heat rate (Btu per kWh)"]) * BTU_PER_KWH_TO_GJ_PER_MWH
        yr = int(float(r["Start year"])) if r["Start year"] else 2000
        th_row(name, plant, coal_class(r["Combustion technology"], mw), nearest_bus(lat, lon), mw, hr, yr,
               f"GEM Global Coal Plant Tracker Jul 2023 (CC BY 4.0) {r['GEM unit/phase ID']}; HR from GEM")
    for plant, unit, mw, c, lat, lon, yr in COAL_2030:
        p = plant.replace(" power station", "")
        th_row((p + " " + unit).lower().replace(" ", "_"), p, c, nearest_bus(lat, lon), mw, 8272 * BTU_PER_KWH_TO_GJ_PER_MWH, yr,
               "GEM GCPT Jul 2023 (pre-permit); online 2030 [K]")
    for plant, unit, mw, c, lat, lon, hr, yr, src in GAS_UNITS:
        th_row(f"{plant}_{unit}".replace("-", "_"), plant, c, nearest_bus(lat, lon), mw, hr, yr, src)
    for name, c, bus, mw, hr, yr, src in OTHER_THERMAL:
        th_row(name, name, c, bus, mw, hr, yr, src)
    write("thermal.csv", ["name", "plant", "kind", "class", "bus", "p_max_mw", "p_min_mw", "ramp_up_mw_per_h", "ramp_down_mw_per_h",
                          "min_up_h", "min_down_h", "su_hot_cny", "su_warm_cny", "su_cold_cny", "warm_after_h", "cold_after_h",
                          "heat_rate_gj_per_mwh", "heat_rate_pmin_gj_per_mwh", "vom_cny_per_mwh", "co2_t_per_mwh",
                          "in_service_from", "must_run", "source", "param_source"], th_rows)

    write("cases.csv", ["case", "year", "peak_load_mw", "energy_twh", "reserve_frac", "reserve_min_mw", "coal_price_cny_per_gj",
                        "gas_price_cny_per_gj", "biomass_price_cny_per_gj", "co2_price_cny_per_t", "voll_cny_per_mwh",
                        "dr_share_of_peak", "description", "source"], [list(c) for c in CASES])

    # demand response: tiers add up to each case's share of its peak
    load_buses = [(b[0], b[7] / tot) for b in BUSES if b[7] > 0]
    dr_rows = []
    prev_mw = 0.0
    for case in CASES:
        total = case[2] * case[11]
        add = total - prev_mw
        prev_mw = total
        for prog, cost, dur, ev, pb, psh, src in DR_PROGRAMS:
            for bus, s in load_buses:
                dr_rows.append([f"dr_{prog}_{bus}_{case[1]}", bus, prog, round(add * psh * s, 2), cost, dur, ev, pb, case[1],
                                src + f"; tier to {case[11]:.0%} of {case[0]} peak [K]"])
    write("dr.csv", ["name", "bus", "program", "p_max_mw", "cost_cny_per_mwh", "max_dur_h", "max_events", "payback_frac",
                     "in_service_from", "source"], dr_rows)
    print(f"wrote tables to {OUT}; small hydro 2024 residual {small_total:.0f} MW")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    main(ap.parse_args().shared)
