"""``atelier4d generate``: options built from the engine configs, and a run from the command line."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from engines.fields import FieldSpec, describe_fields
from engines.reconstruct import ReconstructConfig
from engines.registry import config_from_dict
from scene import GaussianCloud
from scene.io import load
from studio.cli import build_parser, main
from studio.commands.generate import config_values, option_name
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset


def engine_parser(name: str = "reconstruct") -> argparse.ArgumentParser:
    def sub(parser: argparse.ArgumentParser, key: str) -> argparse.ArgumentParser:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return action.choices[key]

    return sub(sub(build_parser(), "generate"), name)


def other_value(spec: FieldSpec, folder: Path) -> tuple[str, object]:
    """A command-line text for a field, different from its default and in its range, and the value it parses to."""
    if spec.path == "folder":
        return str(folder), str(folder)
    if spec.path == "save":
        return str(folder / "out.splat"), str(folder / "out.splat")
    if spec.kind == "int":
        value = spec.default + 1 if spec.maximum is None or spec.default < spec.maximum else spec.default - 1
        return str(value), value
    if spec.kind == "float":
        value = spec.default / 2 if spec.default else 0.5
        return repr(value), value
    if spec.kind == "tuple":
        return "0.25,0.5,1", (0.25, 0.5, 1.0)
    choice = next(c for c in spec.choices if c != spec.default)
    return spec.to_text(choice), choice


def test_every_config_field_is_an_option(tmp_path):
    argv, expected = [], {}
    for spec in (item for top in describe_fields(ReconstructConfig) for item in top.walk() if item.kind != "group"):
        text, value = other_value(spec, tmp_path)
        argv += [option_name(spec.key), text]
        *groups, name = spec.key.split(".")
        target = expected
        for group in groups:
            target = target.setdefault(group, {})
        target[name] = value
    args = engine_parser().parse_args(argv)
    made = config_from_dict(ReconstructConfig, config_values(args, ReconstructConfig))
    assert made == config_from_dict(ReconstructConfig, expected)
    assert made.densify.refine_every == 51 and made.learning_rates.quats == 5e-4  # groups given in full


def test_defaults_come_from_the_dataclass_and_help_from_its_docs(tmp_path):
    parser = engine_parser()
    args = parser.parse_args(["--data", str(tmp_path)])
    assert config_from_dict(ReconstructConfig, config_values(args, ReconstructConfig)) == ReconstructConfig(data=str(tmp_path))
    text = " ".join(parser.format_help().split())
    assert "Optimization steps. (default: 600)" in text.replace("--steps STEPS ", "")
    assert "Steps between densifications. (default: 50)" in text.replace("--densify.refine-every REFINE_EVERY ", "")
    assert "engine settings: densify: When and how Gaussians are cloned" in text
    assert "--run-dir" in text and "--resume" in text and "--device" in text
    assert "--preset {fast,balanced,quality}" in text and "fast: Fast preview, a rough cloud" in text
    assert "(default: balanced, the engine's defaults)" in text


def test_one_setting_of_a_group_keeps_the_engines_defaults_for_the_others(tmp_path):
    args = engine_parser().parse_args(["--data", str(tmp_path), "--densify.max-splats", "99"])
    config = config_from_dict(ReconstructConfig, config_values(args, ReconstructConfig))
    assert config.densify == dataclasses.replace(ReconstructConfig(data=str(tmp_path)).densify, max_splats=99)
    assert config.densify.refine_start == 100  # the reconstruct engine's, not the strategy's 3DGS default


@pytest.mark.parametrize("argv", [["--steps", "3"], ["--data", "d", "--background", "1,2"],
                                  ["--data", "d", "--backend", "vulkan"], ["--data", "d", "--steps", "x"]])
def test_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", *argv])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--steps", "0"], "argument --steps: must be at least 1, got 0"),
     (["--background", "0,0,2"], "argument --background: must be at most 1, got 0,0,2"),
     (["--densify.refine-every", "0"], "argument --densify.refine-every: must be at least 1, got 0"),
     (["--learning-rates.means", "0"], "argument --learning-rates.means: must be positive, got 0"),
     (["--out", "x.glb"], "argument --out: must end with .ply or .splat, got 'x.glb'")],
)
def test_values_the_config_refuses_are_usage_errors_before_any_run(argv, message, tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr("engines.runtime.foreground.run_foreground", lambda *a, **k: started.append(a) or 0)
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", "--data", str(tmp_path), *argv])
    assert exc.value.code == 2 and started == []
    assert message in capsys.readouterr().err


def test_a_missing_dataset_folder_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", "--data", str(tmp_path / "nope")])
    assert exc.value.code == 2
    assert f"argument --data: no such folder: {str(tmp_path / 'nope')!r}" in capsys.readouterr().err


def test_failures_are_one_line(tmp_path, capsys):
    assert main(["generate", "reconstruct", "--data", str(tmp_path), "--resume"]) == 1
    assert capsys.readouterr().err.strip() == "atelier4d: error: --resume needs the --run-dir of the run to continue"
    assert main(["generate", "reconstruct", "--data", str(tmp_path), "--resume", "--run-dir", str(tmp_path)]) == 1
    assert "cannot resume: no checkpoint" in capsys.readouterr().err


def test_end_to_end_writes_the_ply(tmp_path, capsys):
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    out = tmp_path / "out.ply"
    status = main(["generate", "reconstruct", "--data", str(tmp_path / "data"), "--steps", "6", "--out", str(out),
                   "--init-points", "100", "--sh-degree", "0", "--background", "0,0,0", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "finished after 6 steps" in err and str(out) in err
    assert isinstance(load(out), GaussianCloud)


def test_the_device_defaults_to_auto():
    assert engine_parser().parse_args(["--data", "d"]).device == "auto"
    assert engine_parser().parse_args(["--data", "d", "--device", "cuda:1"]).device == "cuda:1"
