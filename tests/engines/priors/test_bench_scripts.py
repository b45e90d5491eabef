"""The priors' bench scripts run (the GPU one in its CPU smoke mode), so they cannot rot unseen."""

import json
import subprocess
import sys
from pathlib import Path

BENCHES = Path(__file__).resolve().parents[3] / "benches"


def bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, *args], cwd=BENCHES, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_sds_gpu_bench_runs_its_code_on_the_tiny_models():
    report = bench("sds_gpu.py", "--tiny", "--device", "cpu", "--repeats", "1", "--size", "32", "--batches", "1", "2")
    assert report["models"] == "tiny" and set(report["batches"]) == {"1", "2"}
    assert all(figures["step_s"] > 0 for figures in report["batches"].values())


def test_the_priors_bench_measures_a_warm_second_run():
    report = bench("priors.py", "--roles", "depth", "--steps", "2")
    depth = report["roles"]["depth"]
    assert depth["warm_load_s"] < depth["cold_load_s"] and depth["warm_first_step_s"] < depth["cold_first_step_s"]


def test_the_text_to_3d_gpu_bench_runs_its_code_on_the_tiny_models():
    report = bench("text_to_3d_gpu.py", "--tiny", "--device", "cpu", "--steps", "3", "--size", "32")
    assert report["models"] == "tiny" and report["steps"] == 3 and report["splats"] > 0 and report["stage_1_s"] > 0


def test_the_outpaint_gpu_bench_runs_its_code_on_the_tiny_models():
    report = bench(
        "outpaint_gpu.py", "--tiny", "--device", "cpu", "--views", "2", "--steps", "3", "--size", "48", "--diffusion-steps", "2"
    )
    assert report["models"] == "tiny" and report["views"] == 2 and report["steps"] == 3
    assert report["per_dreamed_view_s"] > 0 and report["optimization_s"] > 0 and report["final_splats"] > 0


def test_the_animate_4d_bench_runs_its_code_in_its_quick_mode():
    report = bench("animate_4d.py", "--tiny", "--device", "cpu")
    assert report["tiny"] and report["steps"] == 4 and report["frames"] == 4 and report["splats"] == 500
    assert report["seconds"] > 0 and report["test_psnr_db"] > 0 and report["still_test_psnr_db"] > 0


def test_the_animate_4d_gpu_bench_runs_its_code_on_the_tiny_models():
    report = bench(
        "animate_4d_gpu.py", "--tiny", "--device", "cpu", "--frames", "3", "--steps", "2", "--static-steps", "2",
        "--video-steps", "2", "--size", "32", "--video-size", "64",
    )
    assert report["models"] == "tiny" and report["frames"] == 3 and report["splats"] > 0
    assert all(report[f"{stage}_s"] > 0 for stage in ("video", "static", "motion", "write"))
