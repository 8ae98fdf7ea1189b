"""Benchmarks of the native engine (pytest-benchmark).

Profiles are pytest markers: ``fast`` (a week; CI runs ``pytest benches -m fast
--benchmark-only``) and ``year`` (full-year and many-window runs, hours of wall time with
the current engine). JIT compilation is paid in fixtures before any timing and reported
separately (``compile_s`` in ``extra_info``).
"""

from __future__ import annotations

import time

import numpy as np
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "fast: a week-sized benchmark (CI profile)")
    config.addinivalue_line("markers", "year: full-year or many-window benchmarks (long)")


@pytest.fixture(scope="session")
def jit_warm():
    """Compile every kernel once (toy window) and return the seconds it took."""
    from dispatch import native, testing
    from dispatch.arrays import HydroTargets, initial_state

    sys = testing.toy_system(24)
    st = initial_state(sys)
    tic = time.perf_counter()
    native.solve_window(sys, 0, 24, st, HydroTargets(st.hy_v.copy(), np.full(sys.n_hy, 3e5)))
    return time.perf_counter() - tic
