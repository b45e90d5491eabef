"""``atelier4d generate``: options built from the engine configs, and a run from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import typing

import pytest

from engines.reconstruct import ReconstructConfig
from engines.registry import config_from_dict
from scene import GaussianCloud
from scene.io import load
from studio.cli import build_parser, main
from studio.commands.generate import config_values
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset


def engine_parser(name: str = "reconstruct") -> argparse.ArgumentParser:
    def sub(parser: argparse.ArgumentParser, key: str) -> argparse.ArgumentParser:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return action.choices[key]

    return sub(sub(build_parser(), "generate"), name)


def other_value(field: dataclasses.Field, kind) -> tuple[str, object]:
    """A command-line text for ``field`` different from its default, and the value it parses to."""
    if kind is int:
        return "7", 7
    if kind is float:
        return "0.125", 0.125
    if kind is str:
        return "somewhere", "somewhere"
    if typing.get_origin(kind) is tuple:
        return "0.25,-0.5,1", (0.25, -0.5, 1.0)
    choices = [c for c in typing.get_args(kind) if c != field.default]
    return choices[0], choices[0]


def test_every_config_field_is_an_option():
    parser = engine_parser()
    hints = typing.get_type_hints(ReconstructConfig)
    argv, expected = [], {}
    for field in dataclasses.fields(ReconstructConfig):
        text, value = other_value(field, hints[field.name])
        argv += [f"--{field.name.replace('_', '-')}", text]
        expected[field.name] = value
    args = parser.parse_args(argv)
    assert config_from_dict(ReconstructConfig, config_values(args, ReconstructConfig)) == ReconstructConfig(**expected)


def test_defaults_come_from_the_dataclass_and_help_from_its_docs():
    parser = engine_parser()
    args = parser.parse_args(["--data", "d"])
    assert config_from_dict(ReconstructConfig, config_values(args, ReconstructConfig)) == ReconstructConfig(data="d")
    text = parser.format_help()
    assert "Optimization steps. (default: 800)" in " ".join(text.split()).replace("--steps STEPS ", "")
    assert "--run-dir" in text and "--resume" in text and "--device" in text


@pytest.mark.parametrize("argv", [["--steps", "3"], ["--data", "d", "--background", "1,2"],
                                  ["--data", "d", "--backend", "vulkan"], ["--data", "d", "--steps", "x"]])
def test_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", *argv])
    assert exc.value.code == 2


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
