"""The Generate dock: one tab per engine, each a form built from the engine's config dataclass.

Engine issues call :meth:`GeneratePanel.add_engine`; the panel knows nothing of any engine. A tab
scrolls only vertically: its form narrows to the dock's width, however narrow the dock is docked.
An image dropped on the dock (or opened in the window) fills the current engine's first image field.
A form with a mask field (metadata ``mask_of`` naming its image field) shows the picture and its
mask under it, which the artist corrects with a brush (:mod:`studio.panels.image_mask`); painted
masks are written to :attr:`GeneratePanel.mask_folder`. A form with a depth model field (metadata
``depth_of``) shows the picture beside its depth on demand (:mod:`studio.panels.depth_preview`), the
model chosen by :attr:`GeneratePanel.model_settings` when the field is empty; one with a camera path
field (metadata ``camera_path``) offers the document's camera paths, :attr:`GeneratePanel.camera_paths`,
in its place (:mod:`studio.panels.path_choice`). While the preferences name a Ray cluster
(:meth:`GeneratePanel.set_cluster`) each tab has a "Run on" choice above its Run button: this
machine or that cluster, the preference's choice first; :meth:`GeneratePanel.run_on` says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engines.fields import IMAGE_EXTENSIONS
from engines.runtime import WorkerSettings
from scene.document import NamedPath
from studio.panels.depth_preview import DepthPreview
from studio.panels.forms import DataclassForm
from studio.panels.image_mask import MaskEditor
from studio.panels.path_choice import PathChoice
from studio.settings import default_cache_dir


class GeneratePanel(QTabWidget):
    """Tabs of engine forms; shows a hint until the first engine is added."""

    def __init__(self, parent: QWidget | None = None, mask_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.mask_folder = mask_folder or default_cache_dir() / "masks"  # painted masks, kept for runs and resumes
        self.model_settings: Callable[[], WorkerSettings] = WorkerSettings  # the models a preview loads: the window's choice
        self.camera_paths: Callable[[], Sequence[NamedPath]] = tuple  # those a run may follow: the window's document's
        self._placeholder = QLabel("No generators are installed yet.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addTab(self._placeholder, "Generate")
        self.forms: dict[str, DataclassForm] = {}
        self._run_on: dict[str, RunOnRow] = {}  # engine -> its tab's "Run on" choice
        self._cluster: str | None = None  # the preferences' cluster address
        self._on_cluster = False  # the preferences run jobs there
        self.setAcceptDrops(True)

    def add_engine(self, name: str, config_type: type, on_run: Callable[..., Any]) -> DataclassForm:
        """A tab named ``name`` whose Run button calls ``on_run(config)``; or, while document camera
        paths are chosen for its camera path fields, ``on_run(config, paths={field name: CameraPath})``,
        and the caller gives those fields the paths' files."""
        if self._placeholder is not None:
            self.removeTab(self.indexOf(self._placeholder))
            self._placeholder.deleteLater()
            self._placeholder = None
        page = QWidget()
        layout = QVBoxLayout(page)
        if config_type.__doc__ and not config_type.__doc__.startswith(config_type.__name__ + "("):
            layout.addWidget(QLabel(config_type.__doc__.strip().split("\n\n")[0], wordWrap=True))
        form = DataclassForm(config_type)
        run = QPushButton("Run")
        run.setObjectName("run")
        error = QLabel(wordWrap=True)
        error.setObjectName("error")
        error.setStyleSheet("color: #d33;")
        error.hide()
        layout.addWidget(form)
        choices: dict[str, PathChoice] = {}
        for spec in (s for s in form.fields() if s.gui):
            if spec.meta.get("mask_of"):
                layout.addWidget(MaskEditor(form, spec.meta["mask_of"], spec.key, lambda: self.mask_folder))
            if spec.meta.get("depth_of"):
                layout.addWidget(DepthPreview(form, spec.meta["depth_of"], spec.key, lambda: self.model_settings()))
            if spec.meta.get("camera_path"):
                choices[spec.key] = PathChoice(form, spec.key, lambda: self.camera_paths())
                layout.addWidget(choices[spec.key])
        run.clicked.connect(lambda: self._run(form, choices, error, on_run))
        self._run_on[name] = RunOnRow(self._cluster, self._on_cluster, page)
        layout.addWidget(self._run_on[name])
        layout.addWidget(run)
        layout.addWidget(error)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        self.addTab(scroll, name)
        self.forms[name] = form
        return form

    # ----------------------------------------------------------------- where jobs run
    def set_cluster(self, address: str | None, default: bool) -> None:
        """The Ray cluster the preferences name (None or blank: none, and no tab offers one), and
        whether jobs run there unless a tab says otherwise; every tab's choice goes back to that."""
        self._cluster, self._on_cluster = (address or "").strip() or None, default
        for row in self._run_on.values():
            row.offer(self._cluster, default)

    def run_on(self, engine: str) -> str | None:
        """The address of the cluster ``engine``'s tab runs jobs on (the preference's choice for an
        engine without a tab); None: this machine."""
        row = self._run_on.get(engine)
        if row is None:
            return self._cluster if self._on_cluster else None
        return row.box.currentData()

    @staticmethod
    def _run(form: DataclassForm, choices: dict[str, PathChoice], error: QLabel, on_run: Callable[..., Any]) -> None:
        """Build the config and hand it on with the document paths chosen; or say, under the button,
        why it cannot be built."""
        problems = form.problems()
        paths = {}
        for key, choice in choices.items():
            try:
                path = choice.chosen()
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if path is not None:
                paths[key] = path
        error.setText("\n".join(problems))
        error.setVisible(bool(problems))
        if problems:
            return
        if paths:
            on_run(form.value(), paths=paths)
        else:
            on_run(form.value())

    # ----------------------------------------------------------------- images as inputs
    def add_input_image(self, path: str | Path) -> bool:
        """Put the image ``path`` into the current engine's first image field; False when it has none."""
        form, key = self._image_field()
        if key is None:
            return False
        form.set_field(key, path)
        return True

    def _image_field(self) -> tuple[DataclassForm | None, str | None]:
        """The current engine's form and the key of its first image field (None when it has none)."""
        form = self.forms.get(self.tabText(self.currentIndex()))
        key = None if form is None else next(
            (s.key for s in form.fields() if s.path == "image" and s.gui and not s.meta.get("mask_of")), None)
        return form, key

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_image(event) is not None and self._image_field()[1] is not None:
            event.acceptProposedAction()
        else:
            event.ignore()  # the window takes other files

    def dropEvent(self, event: QDropEvent) -> None:
        image = _dropped_image(event)
        if image is not None and self.add_input_image(image):
            event.acceptProposedAction()
        else:
            event.ignore()


class RunOnRow(QWidget):
    """A tab's "Run on" choice: this machine or the cluster at an address; hidden without one."""

    def __init__(self, cluster: str | None, on_cluster: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("run_on_row")
        self.box = QComboBox()
        self.box.setObjectName("run_on")
        self.box.setToolTip("Where this tab's jobs run; on the device the preferences say (Edit > Preferences)")
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Run on", self.box)
        self.offer(cluster, on_cluster)

    def offer(self, cluster: str | None, on_cluster: bool) -> None:
        """Offer this machine and ``cluster`` (none when None), the cluster chosen when ``on_cluster``."""
        self.box.clear()
        self.box.addItem("this machine", None)
        if cluster is not None:
            self.box.addItem(f"the cluster at {cluster}", cluster)
            self.box.setCurrentIndex(1 if on_cluster else 0)
        self.setVisible(cluster is not None)


def _dropped_image(event: QDragEnterEvent | QDropEvent) -> Path | None:
    """The first local image file the drag carries."""
    for url in event.mimeData().urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_EXTENSIONS:
            return Path(url.toLocalFile())
    return None
