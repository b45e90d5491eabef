import pytest

from scene.undo import Command, UndoStack


class Counter:
    """A value changed by commands, with a log of what was applied and reverted."""

    def __init__(self) -> None:
        self.value = 0
        self.log: list[str] = []

    def add(self, n: int, text: str | None = None) -> Command:
        def apply() -> None:
            self.value += n
            self.log.append(f"+{n}")

        def revert() -> None:
            self.value -= n
            self.log.append(f"-{n}")

        return Command(text or f"Add {n}", apply, revert)


def test_a_new_stack_is_clean_and_empty():
    stack = UndoStack()
    assert stack.is_clean and not stack.can_undo and not stack.can_redo
    assert stack.undo_text == "" and stack.redo_text == ""
    assert stack.undo() is False and stack.redo() is False


def test_push_applies_and_undo_redo_walk_the_history():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(1))
    stack.push(counter.add(10))
    assert counter.value == 11 and stack.undo_text == "Add 10" and not stack.can_redo
    assert stack.undo() is True
    assert counter.value == 1 and stack.undo_text == "Add 1" and stack.redo_text == "Add 10"
    assert stack.undo() is True and counter.value == 0 and not stack.can_undo
    assert stack.redo() is True and counter.value == 1
    assert counter.log == ["+1", "+10", "-10", "-1", "+1"]


def test_a_new_command_clears_the_redo_side():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(1))
    stack.undo()
    stack.push(counter.add(2))
    assert not stack.can_redo and stack.redo() is False and counter.value == 2


def test_default_limit_keeps_200_steps():
    stack, counter = UndoStack(), Counter()
    for _ in range(201):
        stack.push(counter.add(1))
    undone = 0
    while stack.undo():
        undone += 1
    assert undone == 200 and counter.value == 1


def test_the_oldest_step_is_dropped_past_the_limit():
    stack, counter = UndoStack(limit=2), Counter()
    for n in (1, 2, 3):
        stack.push(counter.add(n))
    assert stack.undo() and stack.undo() and not stack.undo()
    assert counter.value == 1  # the first step can no longer be undone
    stack.redo()
    assert stack.undo_text == "Add 2"


def test_clean_state_follows_undo_and_redo():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(1))
    assert not stack.is_clean
    stack.mark_clean()
    assert stack.is_clean
    stack.push(counter.add(2))  # an edit after the save: the saved state is still one undo away
    assert not stack.is_clean
    stack.undo()
    assert stack.is_clean
    stack.undo()
    assert not stack.is_clean
    stack.redo()
    assert stack.is_clean


def test_saved_state_on_an_abandoned_branch_is_never_clean_again():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(1))
    stack.push(counter.add(2))
    stack.mark_clean()
    stack.undo()
    stack.push(counter.add(3))  # replaces the saved step
    stack.undo()
    stack.push(counter.add(2))  # same length as the saved history, but not the saved state
    assert not stack.is_clean
    while stack.undo():
        assert not stack.is_clean


def test_dropping_the_oldest_step_keeps_a_later_saved_state():
    stack, counter = UndoStack(limit=3), Counter()
    stack.push(counter.add(1))
    stack.push(counter.add(2))
    stack.mark_clean()
    stack.push(counter.add(3))
    stack.push(counter.add(4))  # drops "Add 1"
    stack.undo()
    stack.undo()
    assert stack.is_clean and counter.value == 3
    stack.undo()
    assert not stack.is_clean


def test_a_saved_state_can_become_the_oldest_reachable_one():
    stack, counter = UndoStack(limit=2), Counter()
    stack.push(counter.add(1))
    stack.mark_clean()
    stack.push(counter.add(2))
    stack.push(counter.add(3))  # drops "Add 1": the saved state is now the bottom of the stack
    stack.undo()
    stack.undo()
    assert not stack.can_undo and counter.value == 1 and stack.is_clean


def test_dropping_the_saved_state_itself_makes_it_unreachable():
    stack, counter = UndoStack(limit=2), Counter()
    assert stack.is_clean  # saved (empty) state: nothing done
    for n in (1, 2, 3):
        stack.push(counter.add(n))
    while stack.undo():
        pass
    assert counter.value == 1 and not stack.is_clean


def test_clear_forgets_history_and_counts_as_saved():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(1))
    stack.push(counter.add(2))
    stack.undo()
    stack.clear()
    assert stack.is_clean and not stack.can_undo and not stack.can_redo and counter.value == 1
    stack.push(counter.add(5))
    stack.undo()
    assert stack.is_clean


def test_on_change_is_called_once_for_each_change():
    stack, counter = UndoStack(), Counter()
    calls = []
    stack.on_change = lambda: calls.append((stack.undo_text, stack.redo_text, stack.is_clean))
    stack.push(counter.add(1))
    stack.undo()
    stack.undo()  # nothing to undo: no call
    stack.redo()
    stack.redo()
    stack.mark_clean()
    with stack.macro("Both"):
        stack.push(counter.add(2))
        stack.push(counter.add(3))
    stack.clear()
    assert calls == [
        ("Add 1", "", False),
        ("", "Add 1", True),
        ("Add 1", "", False),
        ("Add 1", "", True),
        ("Both", "", False),
        ("", "", True),
    ]


def test_macro_is_one_step_undone_in_reverse():
    stack, counter = UndoStack(), Counter()
    with stack.macro("Both"):
        stack.push(counter.add(1))
        with stack.macro("Inner"):  # joins the outer macro
            stack.push(counter.add(2))
    assert counter.value == 3 and stack.undo_text == "Both"
    stack.undo()
    assert counter.value == 0 and not stack.can_undo and stack.redo_text == "Both"
    stack.redo()
    assert counter.value == 3
    assert counter.log == ["+1", "+2", "-2", "-1", "+1", "+2"]


def test_an_empty_macro_records_nothing():
    stack = UndoStack()
    with stack.macro("Nothing"):
        pass
    assert not stack.can_undo and stack.is_clean


def test_a_failing_macro_reverts_what_it_did_and_reraises():
    stack, counter = UndoStack(), Counter()
    stack.push(counter.add(100))
    with pytest.raises(KeyError):
        with stack.macro("Broken"):
            stack.push(counter.add(1))
            stack.push(counter.add(2))
            raise KeyError("half-way")
    assert counter.value == 100 and stack.undo_text == "Add 100"
    assert counter.log[-2:] == ["-2", "-1"]
    stack.push(counter.add(3))  # the stack is usable again: not stuck inside the macro
    assert stack.undo_text == "Add 3"
