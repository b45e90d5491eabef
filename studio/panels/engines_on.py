"""The Preferences' "Engines run on" box: this machine, or a Ray cluster at an address, with a button
that tests the connection.

The test runs :func:`engines.runtime.cluster.status` on a thread of the window's :class:`TaskRunner`
(connecting may take seconds), and says what the cluster has, or why it cannot be reached. Nothing
of Ray is imported until the artist presses it.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from engines.runtime import cluster
from studio.settings import EnginesOn
from studio.workers import Task, TaskRunner

ADDRESS_HINT = "ray://HOST:10001, HOST:6379 or auto"
_ADDRESS_TIP = (
    "The Ray cluster's address: ray://HOST:10001 (Ray Client, from any machine), HOST:6379 (the head, "
    "from a machine of the cluster) or auto (RAY_ADDRESS, else the cluster this machine belongs to)"
)


class EnginesOnBox(QGroupBox):
    """Where engines run, and the cluster's address; :meth:`test` checks the cluster on ``runner``."""

    def __init__(self, engines_on: EnginesOn, address: str, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Engines run on", parent)
        self.runner = runner
        self._testing: Task | None = None
        self.local = QRadioButton("this machine")
        self.local.setObjectName("local")
        self.on_cluster = QRadioButton("a Ray cluster at")
        self.on_cluster.setObjectName("cluster")
        choice = QButtonGroup(self)
        choice.addButton(self.local)
        choice.addButton(self.on_cluster)
        self.address = QLineEdit(address)
        self.address.setObjectName("cluster_address")
        self.address.setPlaceholderText(ADDRESS_HINT)
        self.address.setToolTip(_ADDRESS_TIP)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("test_connection")
        self.test_button.setToolTip("Connect to the cluster and say what it has (this studio then stays connected to it)")
        self.test_button.clicked.connect(self.test)
        self.result = QLabel(wordWrap=True)
        self.result.setObjectName("cluster_result")
        self.result.hide()
        layout = QGridLayout(self)
        layout.addWidget(self.local, 0, 0, 1, 3)
        layout.addWidget(self.on_cluster, 1, 0)
        layout.addWidget(self.address, 1, 1)
        layout.addWidget(self.test_button, 1, 2)
        layout.addWidget(self.result, 2, 0, 1, 3)
        layout.setColumnStretch(1, 1)
        (self.on_cluster if engines_on == "cluster" else self.local).setChecked(True)
        self.address.textChanged.connect(self._enable)
        self._enable()

    def value(self) -> tuple[EnginesOn, str]:
        """Where engines run and the cluster's address (kept when they run here, for next time)."""
        return ("cluster" if self.on_cluster.isChecked() else "local"), self.address.text().strip()

    def check(self) -> bool:
        """Whether the choices can be taken; a cluster chosen without an address cannot (the box says so)."""
        engines_on, address = self.value()
        if engines_on == "cluster" and not address:
            self._say(f"Give the Ray cluster's address ({ADDRESS_HINT}), or run engines on this machine", error=True)
            self.address.setFocus()
            return False
        return True

    def test(self) -> None:
        """Connect to the cluster at the address on a worker thread; the answer shows under the box."""
        address = self.address.text().strip()
        if not address:
            return
        self.test_button.setEnabled(False)
        self._say(f"Connecting to {address}…", error=False)
        self._testing = self.runner.start(
            f"Testing the Ray cluster at {address}", lambda progress: cluster.status(address), self._tested, self._failed)
        self._testing.finished.connect(self._enable)

    def _tested(self, status: cluster.ClusterStatus) -> None:
        self._say(f"{status.address}: {status.summary()}", error=False)

    def _failed(self, message: str) -> None:
        self._say(message, error=True)

    def _say(self, text: str, error: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color: #d33;" if error else "")
        self.result.show()

    def _enable(self) -> None:
        """The test needs an address, and one test at a time."""
        testing = self._testing is not None and not self._testing.done
        self.test_button.setEnabled(bool(self.address.text().strip()) and not testing)
