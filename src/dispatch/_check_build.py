"""Fail loudly, with the fix, when the compiled core is missing (never a slow fallback)."""

from __future__ import annotations

MESSAGE = """dispatch: the compiled core `dispatch._core` is not built.

It is compiled by the package build. From the repository root run one of
    python -m pip install .          # a normal install
    python -m pip install -e .       # an editable (development) install
with a C compiler (gcc) available. The build needs Cython>=3 and numpy>=2, which pip
fetches by itself.
"""


def check_build() -> None:
    try:
        from . import _core  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only on broken installs
        raise ImportError(MESSAGE + f"\n(original error: {exc})") from exc
