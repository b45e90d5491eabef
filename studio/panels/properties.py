"""The Properties dock: the current layer's transform, display sliders, statistics, how many of
its splats are selected, for a clip its animation (:mod:`studio.panels.clip_properties`) and, for
a generated layer, how it was made (engine, seed, models) with a *Run again* button
(:attr:`PropertiesPanel.run_again`: the window runs its engine again).

Edits become ``Document.set_layer`` calls (one undo step each); the panel redraws from document
events, so undo, redo and edits made elsewhere show up here.
"""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from scene import Document, Layer, Transform
from scene.document import LayerDisplay, Provenance
from scene.edits import selected_count
from scene.events import DocumentEvent, LayerChanged, SplatsSelected, TimeChanged, UndoChanged
from studio.panels.clip_properties import ClipProperties
from studio.panels.transform_fields import TransformFields

SLIDER_STEPS = 100  # slider units per 1.0 of a display multiplier


def layer_stats(layer: Layer) -> str:
    """A few lines describing the layer's payload: its kind's description, one fact per line."""
    return layer.payload_kind.describe(layer.data).replace(", ", "\n")


def provenance_text(made: Provenance) -> str:
    """One line on how a layer was made: "text-to-3d · seed 7 · text model tiny-text" (a model by
    its last name: the folder's, or the hub id's after the owner)."""
    parts = [made.engine] + ([] if made.seed is None else [f"seed {made.seed}"])
    parts += [f"{role} model {PurePath(source).name or source}" for role, source in made.models.items()]
    return " · ".join(parts)


class PropertiesPanel(QWidget):
    """Shows and edits :attr:`Document.current`; disabled when no layer is current."""

    run_again = Signal(str)
    """The current layer's id: the artist asked to make this generated layer again."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("title")
        self.stats = QLabel()
        self.stats.setObjectName("stats")
        self.selection = QLabel()
        self.selection.setObjectName("selection")
        self.transform = TransformFields()
        self.transform.edited.connect(self._commit_transform)
        fields = self.transform
        self.translation, self.rotation, self.scale = fields.translation, fields.rotation, fields.scale
        transform_box = QGroupBox("Transform")
        QVBoxLayout(transform_box).addWidget(self.transform)
        self.splat_scale = self._slider(1, 10 * SLIDER_STEPS)
        self.opacity_scale = self._slider(0, 2 * SLIDER_STEPS)
        self.display_box = QGroupBox("Display")
        display_form = QFormLayout(self.display_box)
        display_form.addRow("Splat size", self.splat_scale)
        display_form.addRow("Opacity", self.opacity_scale)
        self.provenance = QLabel(wordWrap=True)
        self.provenance.setObjectName("provenance")
        self.run_again_button = QPushButton("Run again")
        self.run_again_button.setObjectName("run_again")
        self.run_again_button.setToolTip("Run the engine that made this layer again, with the same settings and seed")
        self.run_again_button.clicked.connect(lambda: self.run_again.emit(self.document.current_id))
        self.made_box = QGroupBox("Made by")
        made_row = QHBoxLayout(self.made_box)
        made_row.addWidget(self.provenance, 1)
        made_row.addWidget(self.run_again_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(transform_box)
        layout.addWidget(self.display_box)
        layout.addWidget(self.stats)
        layout.addWidget(self.selection)
        self.clip_section = ClipProperties(document)
        layout.addWidget(self.clip_section)
        layout.addWidget(self.made_box)
        layout.addStretch(1)
        self._syncing = False
        self.document = document
        document.events.connect(self._on_event)
        self.refresh()

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = self.clip_section.document = document
        document.events.connect(self._on_event)
        self.refresh()

    # ----------------------------------------------------------------- widgets

    def _slider(self, lo: int, hi: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(lo, hi)
        slider.valueChanged.connect(lambda _v: None if slider.isSliderDown() else self._commit_display())
        slider.sliderReleased.connect(self._commit_display)  # a drag is one undo step
        return slider

    # ----------------------------------------------------------------- edits -> document
    def _commit_transform(self, transform: Transform) -> None:
        layer = self.document.current
        if self._syncing or layer is None:
            return
        self.document.set_layer(layer.id, transform=transform, text=f"Transform {layer.name}")

    def _commit_display(self) -> None:
        layer = self.document.current
        if self._syncing or layer is None:
            return
        display = LayerDisplay(
            splat_scale=self.splat_scale.value() / SLIDER_STEPS,
            opacity_scale=self.opacity_scale.value() / SLIDER_STEPS,
        )
        self.document.set_layer(layer.id, display=display, text=f"Change display of {layer.name}")

    # ----------------------------------------------------------------- document -> view
    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, TimeChanged):
            if self.clip_section.clip is not None:
                self.clip_section.show_time()  # the group's transform at the playhead
            return
        if isinstance(event, UndoChanged):
            return
        if isinstance(event, (LayerChanged, SplatsSelected)) and event.layer_id != self.document.current_id:
            return
        if isinstance(event, SplatsSelected):
            self._show_selection()
            return
        self.refresh()

    def _show_selection(self) -> None:
        """How many of the current layer's splats are selected ("1,234 selected"); hidden when none are."""
        layer = self.document.current
        count = 0 if layer is None else selected_count(self.document, layer.id)
        self.selection.setText(f"{count:,} selected")
        self.selection.setVisible(count > 0)

    def refresh(self) -> None:
        """Show the current layer's values (without turning them into edits)."""
        layer = self.document.current
        self.setEnabled(layer is not None)
        self.clip_section.refresh()
        self._syncing = True
        try:
            self._show_selection()
            self._show_provenance(layer)
            if layer is None:
                self.title.setText("No layer selected")
                self.stats.setText("")
                return
            self.title.setText(f"<b>{layer.name}</b> — {layer.kind}")
            self.stats.setText(layer_stats(layer))
            self.transform.show_transform(layer.transform)
            self.display_box.setVisible(layer.kind == "splats")
            self.splat_scale.setValue(round(layer.display.splat_scale * SLIDER_STEPS))
            self.opacity_scale.setValue(round(layer.display.opacity_scale * SLIDER_STEPS))
        finally:
            self._syncing = False

    def _show_provenance(self, layer: Layer | None) -> None:
        """The engine, seed and models that made the layer, with every setting in the tooltip;
        hidden for a layer no engine made."""
        made = None if layer is None else layer.provenance
        self.made_box.setVisible(made is not None)
        if made is not None:
            self.provenance.setText(provenance_text(made))
            settings = "\n".join(f"{name}: {value}" for name, value in made.config.items())
            models = "\n".join(f"{role} model: {source}" for role, source in made.models.items())
            self.provenance.setToolTip(f"{settings}\n{models}".strip())
