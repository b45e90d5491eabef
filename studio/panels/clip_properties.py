"""The Properties panel's section for a clip layer: its frame rate and length, its timing (offset,
trim, speed, reverse, loop), its groups, and the current group's transform at the playhead.

Every field edit is one undo step through :mod:`scene.clip_edits`. Editing the current group's
transform keys it at the playhead (auto-keying, as in Blender), with the interpolation chosen
below it; the fields show the group's keyed transform wherever the playhead stands. The current
group is view state (:attr:`ClipProperties.current_group`), as the current layer is: the
Animation menu's Insert Key and Delete Key act on it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from scene import Document, Transform
from scene import clip_edits
from scene.clip import INTERPOLATIONS, GaussianClip, Group
from studio.panels.transform_fields import TransformFields, spin_row, vector_spins

MAX_SECONDS = 1e5  # the largest offset or trim a field takes


def _seconds(lo: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, MAX_SECONDS)
    spin.setDecimals(3)
    spin.setSingleStep(1.0 / 24.0)
    spin.setSuffix(" s")
    spin.setKeyboardTracking(False)  # typed values commit on Enter, not per keystroke
    spin.setToolTip(tip)
    return spin


class ClipProperties(QGroupBox):
    """Shows and edits the animation of the document's current layer, when it is a clip."""

    group_changed = Signal(object)
    """The current group's name (None: no group), after the artist or the window changed it."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__("Animation", parent)
        self.document = document
        self.offset = _seconds(-MAX_SECONDS, "Document time where the clip starts playing")
        self.trim_in = _seconds(0.0, "First moment of the clip played (clip seconds)")
        self.trim_out = _seconds(0.0, "Where playing stops (clip seconds); 'end': the clip's end")
        self.trim_in.setPrefix("in ")
        self.trim_out.setPrefix("out ")
        self.trim_out.setSpecialValueText("out: end")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.01, 100.0)
        self.speed.setSingleStep(0.25)
        self.speed.setSuffix(" ×")
        self.speed.setKeyboardTracking(False)
        self.speed.setToolTip("Playback speed: 2 plays twice as fast, and half as long")
        self.reverse = QCheckBox("Reverse")
        self.loop = QCheckBox("Loop")
        for name in ("offset", "trim_in", "trim_out", "speed"):
            getattr(self, name).valueChanged.connect(lambda value, n=name: self._commit_timing(n, value))
        for name in ("reverse", "loop"):
            getattr(self, name).toggled.connect(lambda value, n=name: self._commit_timing(n, value))
        self.groups = QListWidget()
        self.groups.setObjectName("groups")
        self.groups.setMaximumHeight(56)
        self.groups.currentRowChanged.connect(self._on_group_row)
        self.remove_group_button = QPushButton("Remove")
        self.remove_group_button.setToolTip("Remove the current group and its keys (its splats stay)")
        self.remove_group_button.clicked.connect(self._remove_group)
        self.key_label = QLabel()
        self.key_label.setObjectName("key_label")
        self.transform = TransformFields()
        self.transform.edited.connect(self._commit_key)
        self.pivot = vector_spins(-1e6, 1e6, 0.1)
        for spin in self.pivot:
            spin.valueChanged.connect(self._commit_pivot)
        self.interpolation = QComboBox()
        self.interpolation.addItems(INTERPOLATIONS)
        self.interpolation.setCurrentText("smooth")
        self.interpolation.setToolTip("How the key at the playhead eases towards the next one (and new keys)")
        self.interpolation.currentTextChanged.connect(self._commit_interpolation)
        self.message = QLabel(wordWrap=True)
        self.message.setObjectName("message")
        self.message.setStyleSheet("color: #e07050")

        timing = QFormLayout()
        timing.addRow("Offset", self.offset)
        timing.addRow("Trim", spin_row([self.trim_in, self.trim_out]))
        timing.addRow("Speed", spin_row([self.speed, self.reverse, self.loop]))
        groups_row = QHBoxLayout()
        groups_row.addWidget(self.groups, 1)
        groups_row.addWidget(self.remove_group_button)
        self.group_box = QWidget()
        group_layout = QVBoxLayout(self.group_box)
        group_layout.setContentsMargins(0, 0, 0, 0)
        group_layout.addWidget(self.key_label)
        group_layout.addWidget(self.transform)
        self.transform.form.addRow("Pivot", spin_row(self.pivot))
        self.transform.form.addRow("Key", self.interpolation)
        layout = QVBoxLayout(self)
        layout.addLayout(timing)
        layout.addWidget(QLabel("Groups"))
        layout.addLayout(groups_row)
        layout.addWidget(self.group_box)
        layout.addWidget(self.message)
        self._syncing = False
        self._group: str | None = None
        self.refresh()

    # ----------------------------------------------------------------- state
    @property
    def clip(self) -> GaussianClip | None:
        """The current layer's clip, or None when the current layer is no clip."""
        layer = self.document.current
        return layer.data if layer is not None and isinstance(layer.data, GaussianClip) else None

    @property
    def current_group(self) -> str | None:
        """The name of the group the transform fields and the Animation menu's keys act on."""
        return self._group

    def set_current_group(self, name: str | None) -> None:
        if name != self._group:
            self._group = name
            self.refresh()
            self.group_changed.emit(name)

    def group(self) -> Group | None:
        """The current group itself (None when there is none)."""
        clip = self.clip
        return None if clip is None else next((g for g in clip.groups if g.name == self._group), None)

    # ----------------------------------------------------------------- edits -> document
    def _edit(self, operation: Callable[..., object], *args: object, **changes: object) -> None:
        """Run one :mod:`scene.clip_edits` ``operation`` on the current layer; a refused one shows
        why and puts the fields back."""
        if self._syncing or self.clip is None:
            return
        try:
            operation(self.document, self.document.current_id, *args, **changes)
        except ValueError as exc:
            self.refresh()
            self.message.setText(str(exc))
            self.message.show()

    def _commit_timing(self, name: str, value: float | bool) -> None:
        if name == "trim_out" and value == 0.0:
            value = None  # "end"
        self._edit(clip_edits.set_timing, **{name: value})

    def _commit_key(self, transform: Transform) -> None:
        if self._group is not None:
            self._edit(clip_edits.set_key, self._group, transform, interpolation=self.interpolation.currentText())

    def _commit_pivot(self) -> None:
        if self._group is not None:
            self._edit(clip_edits.set_group_pivot, self._group, np.array([s.value() for s in self.pivot]))

    def _commit_interpolation(self, interpolation: str) -> None:
        group, time = self.group(), self.document.time
        if group is not None and group.key_at(time) is not None:
            self._edit(clip_edits.set_key_interpolation, group.name, time, interpolation)

    def _remove_group(self) -> None:
        if self._group is not None:
            self._edit(clip_edits.remove_group, self._group)

    def _on_group_row(self, row: int) -> None:
        if not self._syncing:
            self.set_current_group(None if row < 0 else self.groups.item(row).text())

    # ----------------------------------------------------------------- document -> view
    def refresh(self) -> None:
        """Show the current clip (hidden when the current layer is no clip), without making edits."""
        clip = self.clip
        self.setVisible(clip is not None)
        self.message.hide()
        if clip is None:
            return
        names = [g.name for g in clip.groups]
        if self._group not in names:  # a new layer, or the group was removed: the last one
            self._group = names[-1] if names else None
        self._syncing = True
        try:
            timing = clip.timing
            self.offset.setValue(timing.offset)
            for spin in (self.trim_in, self.trim_out):
                spin.setMaximum(clip.duration)
            self.trim_in.setValue(timing.trim_in)
            self.trim_out.setValue(0.0 if timing.trim_out is None else timing.trim_out)
            self.speed.setValue(timing.speed)
            self.reverse.setChecked(timing.reverse)
            self.loop.setChecked(timing.loop)
            if [self.groups.item(i).text() for i in range(self.groups.count())] != names:
                self.groups.clear()
                self.groups.addItems(names)
            self.groups.setCurrentRow(names.index(self._group) if self._group is not None else -1)
            self.remove_group_button.setEnabled(self._group is not None)
        finally:
            self._syncing = False
        self.show_time()

    def show_time(self) -> None:
        """Show the current group's transform at the document's time (the playhead moved)."""
        group = self.group()
        self.group_box.setVisible(group is not None)
        if group is None:
            return
        time = self.document.time
        key = group.key_at(time)
        self._syncing = True
        try:
            self.transform.show_transform(group.transform_at(time))
            for spin, value in zip(self.pivot, group.pivot):
                spin.setValue(float(value))
            if key is not None:
                self.interpolation.setCurrentText(key.interpolation)
            keys = f"{len(group.keys)} key{'' if len(group.keys) == 1 else 's'}"
            where = f"key at {time:.3g} s" if key is not None else f"no key at {time:.3g} s: an edit adds one"
            self.key_label.setText(f"<b>{group.name}</b> · {keys} · {where}")
        finally:
            self._syncing = False
