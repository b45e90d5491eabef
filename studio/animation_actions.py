"""The main window's Animation menu: group the selected splats, key the current group at the
playhead, delete that key, and bake the edits of a clip into its motion.

A mixin of :class:`studio.main_window.MainWindow`; the edits themselves are :mod:`scene.clip_edits`
(each one undo step), the current group is the Properties panel's
(:attr:`studio.panels.clip_properties.ClipProperties.current_group`). A refused edit (no selection,
no group, no key at the playhead) is shown to the artist, never raised.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QInputDialog, QMenuBar

from scene import clip_edits
from scene.clip import GaussianClip


class AnimationCommands:
    """Animation edits for :class:`~studio.main_window.MainWindow`."""

    def _build_animation_menu(self, bar: QMenuBar) -> None:
        menu = bar.addMenu("&Animation")
        self.group_action = self._action(menu, "&Group Selection…", self.group_selection, "Ctrl+G")
        self.group_action.setToolTip("Put the selected splats in a named group that keys can move")
        self.insert_key_action = self._action(menu, "&Insert Key", self.insert_key, "I")
        self.insert_key_action.setToolTip("Key the current group's transform at the playhead")
        self.delete_key_action = self._action(menu, "&Delete Key", self.delete_key, "Alt+I")
        self.delete_key_action.setToolTip("Delete the current group's key at the playhead")
        menu.addSeparator()
        self.bake_action = self._action(menu, "&Bake Edits", self.bake_edits)
        self.bake_action.setToolTip("Write the clip's keys and timing into its motion")

    def group_selection(self) -> None:
        """Ask a name and group the current layer's selected splats under it; it becomes the current group."""
        layer = self.document.current
        if layer is None or self.document.splat_selection(layer.id) is None:
            self.show_error("Group Selection", "Select some splats first (Box or Brush Select).")
            return
        clip = layer.data if isinstance(layer.data, GaussianClip) else None
        taken = {g.name for g in clip.groups} if clip is not None else set()
        suggested = next(f"Group {n}" for n in range(1, len(taken) + 2) if f"Group {n}" not in taken)
        name = self.ask_group_name(suggested)
        if name is None:
            return
        group = self._animate("Group Selection", lambda: clip_edits.group_selection(self.document, layer.id, name))
        if group is not None:
            self.properties.clip_section.set_current_group(group.name)

    def insert_key(self) -> None:
        """Key the current group at the playhead with the transform it has there."""
        found = self._current_group("Insert Key")
        if found is not None:
            layer_id, group = found
            time = self.document.time
            key = group.key_at(time)
            interpolation = key.interpolation if key else self.properties.clip_section.interpolation.currentText()
            self._animate("Insert Key", lambda: clip_edits.set_key(
                self.document, layer_id, group.name, group.transform_at(time), time, interpolation))

    def delete_key(self) -> None:
        """Delete the current group's key at the playhead."""
        found = self._current_group("Delete Key")
        if found is not None:
            layer_id, group = found
            time = self.document.time
            self._animate("Delete Key", lambda: clip_edits.delete_key(self.document, layer_id, group.name, time))

    def bake_edits(self) -> None:
        layer = self.document.current
        if layer is None:
            self.show_error("Bake Edits", "Choose a clip layer first.")
            return
        self._animate("Bake Edits", lambda: clip_edits.bake_edits(self.document, layer.id))

    # ----------------------------------------------------------------- helpers
    def _current_group(self, title: str):
        """The current clip layer's id and current group, or None after telling the artist why not."""
        layer = self.document.current
        group = self.properties.clip_section.group()
        if layer is None or group is None:
            self.show_error(title, "Choose a clip layer and one of its groups first (Animation > Group Selection).")
            return None
        return layer.id, group

    def _animate(self, title: str, edit: Callable[[], object]) -> object | None:
        """Run one animation edit; a refused one is shown in a message box."""
        try:
            return edit()
        except (ValueError, TypeError) as exc:
            self.show_error(title, str(exc))
            return None

    # ----------------------------------------------------------------- dialogs (tests replace these)
    def ask_group_name(self, suggested: str) -> str | None:
        """The name for a new group, or None when cancelled."""
        name, accepted = QInputDialog.getText(self, "Group Selection", "Group name:", text=suggested)
        return name if accepted else None
