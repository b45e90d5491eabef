"""The Outliner dock: the document's layers, to show/hide, rename, delete, reorder and select.

A view over the document: it redraws from document events and turns every edit into a
``Document`` call, so each one is an undoable command (selection excepted, as in most tools).
A layer's context menu offers *Run Again* for a generated layer (:attr:`OutlinerPanel.run_again`:
the window runs its engine again) and *Animate* for a splat layer (:attr:`OutlinerPanel.animate`).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from scene import Document
from scene.events import (
    CurrentLayerChanged,
    DocumentEvent,
    LayerAdded,
    LayerChanged,
    LayerRemoved,
    LayersReordered,
)

ID_ROLE = Qt.ItemDataRole.UserRole
_KIND_MARK = {"splats": "◆", "mesh": "▲", "points": "·"}
"""Marks of the built-in kinds in a layer's tooltip; other kinds get a bullet."""


class OutlinerPanel(QWidget):
    """A list of layers in drawing order; check boxes toggle visibility, double-click renames."""

    run_again = Signal(str)
    """A layer's id: the artist asked to make this generated layer again."""
    animate = Signal(str)
    """A splat layer's id: the artist asked to animate it (animate-4d with this object)."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._show_layer_menu)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentItemChanged.connect(self._on_current_item_changed)
        self.list.model().rowsMoved.connect(self._on_rows_moved)
        buttons = QHBoxLayout()
        for name, text, tip, slot in (
            ("up", "▲", "Move the layer up", lambda: self.move_current(-1)),
            ("down", "▼", "Move the layer down", lambda: self.move_current(+1)),
            ("delete", "✕", "Delete the layer", self.delete_current),
        ):
            button = QToolButton()
            button.setObjectName(name)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._syncing = False
        self._in_drop = False
        self.document = document
        document.events.connect(self._on_event)
        self._rebuild()

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)
        self._rebuild()

    # ----------------------------------------------------------------- edits -> document
    def move_current(self, step: int) -> None:
        current = self.document.current_id
        if current is not None:
            self.document.move_layer(current, self.document.index_of(current) + step)

    def selected_ids(self) -> list[str]:
        """The selected layers (the current one at least), in drawing order."""
        chosen = {item.data(ID_ROLE) for item in self.list.selectedItems()}
        chosen.add(self.document.current_id)
        return [layer.id for layer in self.document.layers if layer.id in chosen]

    def select_all(self) -> None:
        self.list.selectAll()

    def delete_current(self) -> None:
        if self.document.current_id is not None:
            self.document.remove_layer(self.document.current_id)

    def layer_menu(self, layer_id: str) -> QMenu:
        """The context menu of the layer ``layer_id``: Run Again, for a layer an engine made; Animate, for splats."""
        made = self.document.layer(layer_id).provenance
        menu = QMenu(self)
        again = menu.addAction("Run Again")
        again.setEnabled(made is not None)
        again.setToolTip("Run the engine that made this layer again, with the same settings and seed")
        again.triggered.connect(lambda: self.run_again.emit(layer_id))
        animate = menu.addAction("Animate…")
        animate.setEnabled(self.document.layer(layer_id).kind == "splats")
        animate.setToolTip("Make this splat object move: animate-4d with a video, an image or a prompt")
        animate.triggered.connect(lambda: self.animate.emit(layer_id))
        return menu

    def _show_layer_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is not None:
            self.layer_menu(item.data(ID_ROLE)).exec(self.list.viewport().mapToGlobal(position))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        layer = self.document.layer(item.data(ID_ROLE))
        visible = item.checkState() == Qt.CheckState.Checked
        name = item.text().strip()
        try:
            if visible != layer.visible:
                self.document.set_layer(layer.id, visible=visible, text=f"{'Show' if visible else 'Hide'} {layer.name}")
            elif name != layer.name:
                self.document.set_layer(layer.id, name=name, text=f"Rename {layer.name} to {name}")
        except ValueError:
            self._rebuild()  # e.g. an empty name: show the layer as it is

    def _on_current_item_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        if not self._syncing:
            self.document.set_current(None if item is None else item.data(ID_ROLE))

    def _on_rows_moved(self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, _row: int) -> None:
        if self._syncing:
            return
        moved_id = self.document.layers[start].id
        new_index = self.item_ids().index(moved_id)
        self._in_drop = True  # the list is mid-drop: redraw once Qt is done with its items
        try:
            self.document.move_layer(moved_id, new_index)
        finally:
            self._in_drop = False

    # ----------------------------------------------------------------- document -> view
    def item_ids(self) -> list[str]:
        return [self.list.item(row).data(ID_ROLE) for row in range(self.list.count())]

    def _item(self, layer_id: str | None) -> QListWidgetItem | None:
        ids = self.item_ids()
        return self.list.item(ids.index(layer_id)) if layer_id in ids else None

    def _on_event(self, event: DocumentEvent) -> None:
        """Update in place where the layer has its item; rebuild the list when the layers changed."""
        match event:
            case CurrentLayerChanged(layer_id=layer_id) if layer_id is None or self._item(layer_id) is not None:
                self._syncing = True
                self.list.setCurrentItem(self._item(layer_id))
                self._syncing = False
            case LayerChanged(layer_id=layer_id) if (item := self._item(layer_id)) is not None:
                layer = self.document.layer(layer_id)
                self._syncing = True  # update in place: Qt may still be using this item (a click, an edit)
                item.setText(layer.name)
                item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
                self._syncing = False
            case CurrentLayerChanged() | LayerChanged() | LayerAdded() | LayerRemoved() | LayersReordered():
                if self._in_drop:
                    QTimer.singleShot(0, self._rebuild)
                else:
                    self._rebuild()
            # UndoChanged, SplatsSelected and TimeChanged change nothing the list shows

    def _rebuild(self) -> None:
        self._syncing = True
        try:
            self.list.clear()
            for layer in self.document.layers:
                item = QListWidgetItem(layer.name)
                item.setData(ID_ROLE, layer.id)
                item.setFlags(
                    Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsEditable
                    | Qt.ItemFlag.ItemIsUserCheckable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
                item.setToolTip(f"{_KIND_MARK.get(layer.kind, '•')} {layer.payload_kind.label}")
                self.list.addItem(item)
                if layer.id == self.document.current_id:
                    self.list.setCurrentItem(item)
        finally:
            self._syncing = False
