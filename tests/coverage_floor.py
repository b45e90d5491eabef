"""Line coverage by package, with a floor each package must keep (a pytest plugin).

With pytest-cov active (``--cov``, as the README's test command runs), after the tests it prints
one line per package (covered lines / statements) and fails the run when a package falls below its
floor. The floors sit a little under what the suite reached when they were set, so losing tests
for a core package shows up as a failure, not as a number nobody reads.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

# Percent of statements. Set 2-3 points under the suite's figures of 2026-12-02 (scene 96.8, render
# 96.5, engines 90.4, studio 89.1); code run only in spawned worker processes is not measured.
FLOORS = {"scene": 94.0, "render": 94.0, "engines": 88.0, "studio": 86.0}


def package_coverage(cov, folder: Path) -> float:
    """Percent of the statements under ``folder`` that the measured run executed."""
    return cov.report(include=[str(folder / "*")], file=io.StringIO())


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest-cov's wrapper: its data is saved by then
def pytest_runtestloop(session: pytest.Session):
    result = yield
    plugin = session.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or session.config.option.collectonly:
        return result
    write = session.config.pluginmanager.getplugin("terminalreporter").write_line
    write("")
    for package, floor in FLOORS.items():
        percent = package_coverage(controller.cov, session.config.rootpath / package)
        low = percent < floor
        write(f"coverage {package:8s} {percent:5.1f}%  (floor {floor:.0f}%){'  BELOW THE FLOOR' if low else ''}",
              red=low, bold=low)
        session.testsfailed += int(low)
    return result
