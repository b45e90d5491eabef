"""Fields for a :class:`~scene.Transform`: translation, rotation as Euler degrees and scale (per
axis, or uniform), shared by the Properties panel's layer transform and a group's keyed transform.

The widget only shows a transform and says when the artist edited it (:attr:`TransformFields.edited`
with the new value); what an edit means (move a layer, key a group) is its owner's business.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QWidget

from scene import Transform
from scene.rotation import axis_angle_to_quat, quat_multiply, quat_to_matrix

_AXES = np.eye(3)


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


def vector_spins(lo: float, hi: float, step: float) -> list[QDoubleSpinBox]:
    """Three spin boxes (x, y, z) whose ``valueChanged`` fires when a value is committed (Enter,
    arrows, wheel), not per keystroke."""
    spins = []
    for axis in "xyz":
        spin = QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setDecimals(3)
        spin.setSingleStep(step)
        spin.setKeyboardTracking(False)
        spin.setToolTip(axis)
        spins.append(spin)
    return spins


def spin_row(spins: list[QWidget]) -> QHBoxLayout:
    row = QHBoxLayout()
    for spin in spins:
        row.addWidget(spin)
    return row


class TransformFields(QWidget):
    """Translation, rotation (Euler degrees) and scale rows, with a *uniform* scale switch."""

    edited = Signal(object)
    """The transform the fields now hold, after the artist changed one of them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translation = vector_spins(-1e6, 1e6, 0.1)
        self.rotation = vector_spins(-360.0, 360.0, 5.0)
        self.scale = vector_spins(1e-3, 1e6, 0.1)
        for spin in self.translation + self.rotation:
            spin.valueChanged.connect(self._commit)
        for spin in self.scale:
            spin.valueChanged.connect(self._commit_scale)
        self.uniform = QCheckBox("uniform")
        self.uniform.setToolTip("Scale all three axes together")
        self.uniform.setChecked(True)
        self.form = QFormLayout(self)  # owners may add rows of their own, aligned with these
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("Translation", spin_row(self.translation))
        self.form.addRow("Rotation °", spin_row(self.rotation))
        self.form.addRow("Scale", spin_row(self.scale))
        self.form.addRow("", self.uniform)
        self._syncing = False

    def transform(self) -> Transform:
        """The transform the fields show."""
        return Transform(
            [s.value() for s in self.translation],
            euler_deg_to_quat(np.array([s.value() for s in self.rotation])),
            [s.value() for s in self.scale],
        )

    def show_transform(self, transform: Transform) -> None:
        """Show ``transform`` without emitting :attr:`edited`; *uniform* follows whether its scale is."""
        self._syncing = True
        try:
            values = (transform.translation, quat_to_euler_deg(transform.rotation), transform.scale)
            for spins, vector in zip((self.translation, self.rotation, self.scale), values):
                for spin, v in zip(spins, vector):
                    spin.setValue(float(v))
            self.uniform.setChecked(bool(np.allclose(transform.scale, transform.scale[0])))
        finally:
            self._syncing = False

    def _commit_scale(self, value: float) -> None:
        """A uniform scale sets the other axes to the edited one's value, as one edit."""
        if self._syncing:
            return
        if self.uniform.isChecked():
            self._syncing = True
            try:
                for spin in self.scale:
                    spin.setValue(value)
            finally:
                self._syncing = False
        self._commit()

    def _commit(self, *_value: float) -> None:
        if not self._syncing:
            self.edited.emit(self.transform())
