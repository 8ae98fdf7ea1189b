"""Errors a user sees: each names where the problem is and what is allowed."""

from __future__ import annotations


class DispatchError(Exception):
    """Base class of every error dispatch raises on purpose (the CLI prints these plainly)."""


class CaseError(DispatchError, ValueError):
    """Bad case data: names the file, the column, the row (or unit and hour) and the rule.

    Parameters
    ----------
    message : what is wrong and what is allowed.
    file, column, row : where; any may be None when it does not apply.
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None, row: int | str | None = None):
        self.file, self.column, self.row = file, column, row
        where = []
        if file is not None:
            where.append(f"file {file}")
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class EngineError(DispatchError, RuntimeError):
    """An engine could not produce a schedule (a bug or a solver failure, never bad data)."""
