"""The package layering of DEVELOPERS.md, checked by the import-linter contracts in pyproject.toml."""

import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "broken" in out and " 0 broken" in out  # every contract was actually checked


def test_contracts_cover_the_rules():
    text = (ROOT / "pyproject.toml").read_text()
    for rule in ("Only studio imports Qt", "Only engines import the ML stack", "Nothing imports studio",
                 "render and engines never import each other"):
        assert rule in text
    assert os.path.isdir(ROOT / "studio")
