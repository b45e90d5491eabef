"""The set-up as a newcomer runs it: clean build output and an ``atelier4d`` they can type."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from scene import GaussianCloud
from scene.io import save

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "packaging" / "bootstrap.sh"


def test_the_project_metadata_builds_without_deprecation_warnings(tmp_path):
    """What pip prints while installing: setuptools' warnings about our own pyproject.toml."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)  # metadata only: the checkout gets no build debris
    (tmp_path / "out").mkdir()
    hook = "import setuptools.build_meta as b; b.prepare_metadata_for_build_wheel('out')"
    result = subprocess.run([sys.executable, "-c", hook], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "deprecat" not in output.lower(), output
    metadata = next((tmp_path / "out").glob("*.dist-info/METADATA")).read_text()
    assert "License-Expression: Apache-2.0" in metadata


def _install_launcher(home: Path, path: str) -> subprocess.CompletedProcess:
    """The set-up's launcher step alone (the script sourced: no apt, no pip), for a user whose home is ``home``."""
    env = {"HOME": str(home), "PATH": path}
    command = f"source {BOOTSTRAP} && install_launcher"
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60)


def test_the_set_up_puts_atelier4d_on_the_path_as_the_readme_prints_it(tmp_path):
    bin_dir = tmp_path / ".local" / "bin"
    path = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    first = _install_launcher(tmp_path, path)
    assert first.returncode == 0, first.stderr
    assert f"linked {bin_dir / 'atelier4d'}" in first.stderr
    assert (bin_dir / "atelier4d").resolve() == (ROOT / ".venv" / "bin" / "atelier4d").resolve()
    assert _install_launcher(tmp_path, path).stderr == ""  # the second run: all in place, nothing to say

    save(tmp_path / "cloud.ply", GaussianCloud.create(np.zeros((4, 3)), 0.1, np.full((4, 3), 0.5)))
    typed = subprocess.run(  # what the README prints, in a shell that finds commands on the PATH only
        ["bash", "-c", f"atelier4d info {tmp_path / 'cloud.ply'}"], env={"PATH": path, "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.startswith("kind: splats")


def test_the_set_up_says_what_to_type_when_its_folder_is_not_on_the_path(tmp_path):
    result = _install_launcher(tmp_path, f"/usr/bin{os.pathsep}/bin")
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / '.local' / 'bin'} is not on your PATH: type {ROOT / '.venv' / 'bin' / 'atelier4d'}" in result.stderr


def test_the_set_up_leaves_someone_elses_atelier4d_alone(tmp_path):
    theirs = tmp_path / ".local" / "bin" / "atelier4d"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\necho theirs\n")
    result = _install_launcher(tmp_path, f"{theirs.parent}{os.pathsep}/usr/bin")
    assert result.returncode == 0 and "is not ours, so it stays" in result.stderr
    assert theirs.read_text() == "#!/bin/sh\necho theirs\n"
