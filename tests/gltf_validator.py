"""The Khronos glTF validator (npm ``gltf-validator``, installed into .tools by the set-up), from the tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def validate(path: Path) -> dict:
    """The validator's report on ``path``: ``report["issues"]["numErrors"]`` etc."""
    done = subprocess.run(
        ["node", str(ROOT / "packaging" / "validate_gltf.js"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the glTF validator did not run (bash packaging/bootstrap.sh test installs it): {done.stderr}"
    return json.loads(done.stdout)
