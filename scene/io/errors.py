"""The one error type every reader and writer raises for bad input."""

from __future__ import annotations

from os import PathLike


class FormatError(ValueError):
    """A file could not be read or written; the message names the file and the problem."""

    def __init__(self, path: str | PathLike | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{path}: {problem}")
