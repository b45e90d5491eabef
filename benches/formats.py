"""File-format speed: write and read a 1M-splat degree-3 scene as PLY, .splat and a .a4d project; and the
peak memory of ``atelier4d info`` on that PLY, the whole command in a child process (target: under 150 MB).

Prints one JSON line. Run: ``.venv/bin/python benches/formats.py [--count N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scene import Document, GaussianCloud, Layer
from scene.io import load, save
from scene.io.project import load_project, save_project


def random_cloud(count: int, degree: int, seed: int = 0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    k = (degree + 1) ** 2
    return GaussianCloud(
        rng.normal(size=(count, 3)).astype(np.float32),
        rng.uniform(-5, -2, (count, 3)).astype(np.float32),
        rng.normal(size=(count, 4)).astype(np.float32),
        rng.normal(size=count).astype(np.float32),
        rng.normal(scale=0.3, size=(count, k, 3)).astype(np.float32),
    )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return round(time.perf_counter() - start, 3)


def command_peak_mb(*args: str | Path) -> float:
    """Peak resident memory of ``atelier4d ARGS`` run to its end in a child process, in MiB."""
    script = Path(sys.executable).parent / "atelier4d"
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )  # a fresh parent, so no earlier child of this bench counts
    out = subprocess.run([sys.executable, "-c", code, str(script), *map(str, args)], check=True, capture_output=True, text=True)
    return round(int(out.stdout) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    cloud = random_cloud(args.count, 3)
    document = Document()
    document.add_layer(Layer("cloud", cloud))
    result = {"bench": "formats", "splats": args.count, "sh_degree": 3}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        result["ply_write_s"] = timed(lambda: save(root / "a.ply", cloud))
        result["ply_read_s"] = timed(lambda: load(root / "a.ply"))
        result["ply_mb"] = round((root / "a.ply").stat().st_size / 2**20, 1)
        result["splat_write_s"] = timed(lambda: save(root / "a.splat", cloud))
        result["splat_read_s"] = timed(lambda: load(root / "a.splat"))
        result["a4d_save_s"] = timed(lambda: save_project(document, root / "a.a4d"))
        result["a4d_open_s"] = timed(lambda: load_project(root / "a.a4d"))
        result["info_ply_peak_mb"] = command_peak_mb("info", root / "a.ply")
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.machine()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
