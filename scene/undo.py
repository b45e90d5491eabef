"""An undo/redo stack of reversible commands."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class Command:
    """A reversible change: ``apply`` does it (again), ``revert`` undoes it; ``text`` names it for menus."""

    text: str
    apply: Callable[[], None]
    revert: Callable[[], None]


class UndoStack:
    """Commands done so far and commands undone; a new command clears the redo side.

    ``clean`` tracks the state that was last saved, so the app can ask about unsaved changes.
    """

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_index: int | None = 0
        self._macro: list[Command] | None = None
        self.on_change: Callable[[], None] | None = None

    def push(self, command: Command) -> None:
        """Apply ``command`` and record it (inside a macro, as part of the macro's one step)."""
        command.apply()
        if self._macro is not None:
            self._macro.append(command)
            return
        self._record(command)

    @contextmanager
    def macro(self, text: str) -> Iterator[None]:
        """Group every command pushed inside the block into one undo step named ``text``.

        If the block raises, the commands it already applied are reverted, so a failed edit leaves
        the document as it was. A macro inside a macro joins the outer one.
        """
        if self._macro is not None:
            yield
            return
        self._macro = commands = []
        try:
            yield
        except BaseException:
            for command in reversed(commands):
                command.revert()
            raise
        finally:
            self._macro = None
        if commands:
            self._record(
                Command(
                    text,
                    lambda: [c.apply() for c in commands],
                    lambda: [c.revert() for c in reversed(commands)],
                )
            )

    def _record(self, command: Command) -> None:
        self._done.append(command)
        self._undone.clear()
        if self._clean_index is not None and self._clean_index > len(self._done) - 1:
            self._clean_index = None  # the saved state can no longer be reached by undo/redo
        if len(self._done) > self.limit:
            self._done.pop(0)
            self._clean_index = None if self._clean_index in (None, 0) else self._clean_index - 1
        self._changed()

    def undo(self) -> bool:
        if not self._done:
            return False
        command = self._done.pop()
        command.revert()
        self._undone.append(command)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        command = self._undone.pop()
        command.apply()
        self._done.append(command)
        self._changed()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def mark_clean(self) -> None:
        self._clean_index = len(self._done)
        self._changed()

    @property
    def is_clean(self) -> bool:
        return self._clean_index == len(self._done)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._clean_index = 0
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
