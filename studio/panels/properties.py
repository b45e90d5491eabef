"""The Properties dock: the current layer's transform, display sliders, statistics, how many of
its splats are selected and, for a generated layer, how it was made (engine, seed, models) with a
*Run again* button (:attr:`PropertiesPanel.run_again`: the window runs its engine again).

Edits become ``Document.set_layer`` calls (one undo step each); the panel redraws from document
events, so undo, redo and edits made elsewhere show up here.
"""

from __future__ import annotations

import math
from pathlib import PurePath

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
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
from scene.rotation import axis_angle_to_quat, quat_multiply, quat_to_matrix

_AXES = np.eye(3)
SLIDER_STEPS = 100  # slider units per 1.0 of a display multiplier


def euler_deg_to_quat(angles: np.ndarray) -> np.ndarray:
    """Rotation about X, then Y, then Z (fixed axes), in degrees, as a wxyz quaternion."""
    qx, qy, qz = (axis_angle_to_quat(_AXES[i], math.radians(a)) for i, a in enumerate(angles))
    return quat_multiply(qz, quat_multiply(qy, qx))


def quat_to_euler_deg(quat: np.ndarray) -> np.ndarray:
    """The inverse of :func:`euler_deg_to_quat` (Y kept in [-90, 90])."""
    r = quat_to_matrix(np.asarray(quat, dtype=np.float64))
    y = math.asin(float(np.clip(-r[2, 0], -1.0, 1.0)))
    if abs(math.cos(y)) > 1e-6:
        x, z = math.atan2(r[2, 1], r[2, 2]), math.atan2(r[1, 0], r[0, 0])
    else:  # gimbal lock: put everything in X
        x, z = math.atan2(-r[1, 2], r[1, 1]), 0.0
    return np.degrees([x, y, z])


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
        self.translation = self._vector_row(-1e6, 1e6, 0.1)
        self.rotation = self._vector_row(-360.0, 360.0, 5.0)
        self.scale = self._vector_row(1e-3, 1e6, 0.1)
        transform_box = QGroupBox("Transform")
        form = QFormLayout(transform_box)
        for label, spins in (("Translation", self.translation), ("Rotation °", self.rotation), ("Scale", self.scale)):
            row = QHBoxLayout()
            for spin in spins:
                row.addWidget(spin)
            form.addRow(label, row)
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
        layout.addWidget(self.made_box)
        layout.addStretch(1)
        self._syncing = False
        self.document = document
        document.events.connect(self._on_event)
        self.refresh()

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)
        self.refresh()

    # ----------------------------------------------------------------- widgets
    def _vector_row(self, lo: float, hi: float, step: float) -> list[QDoubleSpinBox]:
        spins = []
        for _ in range(3):
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setDecimals(3)
            spin.setSingleStep(step)
            spin.setKeyboardTracking(False)  # typed values commit on Enter, not per keystroke
            spin.valueChanged.connect(self._commit_transform)
            spins.append(spin)
        return spins

    def _slider(self, lo: int, hi: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(lo, hi)
        slider.valueChanged.connect(lambda _v: None if slider.isSliderDown() else self._commit_display())
        slider.sliderReleased.connect(self._commit_display)  # a drag is one undo step
        return slider

    # ----------------------------------------------------------------- edits -> document
    def _commit_transform(self) -> None:
        layer = self.document.current
        if self._syncing or layer is None:
            return
        transform = Transform(
            [s.value() for s in self.translation],
            euler_deg_to_quat(np.array([s.value() for s in self.rotation])),
            [s.value() for s in self.scale],
        )
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
        if isinstance(event, (UndoChanged, TimeChanged)):
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
            t = layer.transform
            values = (t.translation, quat_to_euler_deg(t.rotation), t.scale)
            for spins, vector in zip((self.translation, self.rotation, self.scale), values):
                for spin, v in zip(spins, vector):
                    spin.setValue(float(v))
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
