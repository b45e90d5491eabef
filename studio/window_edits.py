"""The main window's Edit menu: undo, redo, and what Delete, Select All, Invert, Separate and Crop do
with the current selection (selected splats of the current layer, else the selected layers).

A mixin of :class:`studio.main_window.MainWindow`; the edits themselves are :mod:`scene.edits`.
"""

from __future__ import annotations

from scene import edits


class EditCommands:
    """Selection edits and undo/redo for :class:`~studio.main_window.MainWindow`."""

    def splat_selection(self) -> tuple[str, object] | None:
        """The current layer's id and splat selection mask, when it has selected splats."""
        layer = self.document.current
        if layer is None or not layer.payload_kind.selectable:
            return None
        mask = self.document.splat_selection(layer.id)
        return None if mask is None else (layer.id, mask)

    def delete_selected(self) -> None:
        """Delete the selected splats if there are any, else the selected layers (one undo step)."""
        selection = self.splat_selection()
        if selection is not None:
            edits.delete_selected(self.document, selection[0])
            return
        ids = [i for i in self.outliner.selected_ids() if i is not None]
        if len(ids) == 1:
            self.document.remove_layer(ids[0])
        elif ids:
            with self.document.undo_stack.macro(f"Delete {len(ids)} layers"):
                for layer_id in ids:
                    self.document.remove_layer(layer_id)

    def select_all(self) -> None:
        """All splats of the current splat layer; all layers otherwise."""
        layer = self.document.current
        if layer is not None and layer.payload_kind.selectable:
            edits.select_all(self.document, layer.id)
        else:
            self.outliner.select_all()

    def invert_selection(self) -> None:
        layer = self.document.current
        if layer is not None and layer.payload_kind.selectable:
            edits.invert_selection(self.document, layer.id)

    def separate_selection(self) -> None:
        """Move the selected splats into a new layer."""
        selection = self.splat_selection()
        if selection is not None:
            edits.separate_selected(self.document, selection[0])

    def crop_to_selection(self) -> None:
        """Keep only the splats inside the bounding box of the selected ones."""
        selection = self.splat_selection()
        if selection is not None:
            edits.crop_to_selection(self.document, selection[0])

    def document_undo(self) -> None:
        self.document.undo()

    def document_redo(self) -> None:
        self.document.redo()
