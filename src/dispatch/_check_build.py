"""Fail loudly, with the fix, when the compiled core is missing (never a slow fallback).

The check looks the extension up without importing it (importing it would pull numpy into
``dispatch --help``); the engines import it when they run.
"""

from __future__ import annotations

import importlib.util

MESSAGE = """dispatch: the compiled core `dispatch._core` is not built.

It is compiled by the package build. From the repository root run one of
    python -m pip install .          # a normal install
    python -m pip install -e .       # an editable (development) install
with a C compiler (gcc) available. The build needs Cython>=3 and numpy>=2, which pip
fetches by itself.
"""


def check_build() -> None:
    if importlib.util.find_spec("dispatch._core") is None:
        raise ImportError(MESSAGE)
