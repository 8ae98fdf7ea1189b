"""Numba options in one place (STYLE.md habit 4).

Every kernel uses ``from ._jit import njit``. ``cache=True`` keeps compiled kernels on disk
so a second process pays little; set ``NUMBA_DISABLE_JIT=1`` to run kernels as plain Python
(coverage, debugging).
"""

from __future__ import annotations

import functools

import numba

njit = functools.partial(numba.njit, cache=True, nogil=True, fastmath=False)

__all__ = ["njit"]
