"""The jobs of ``atelier4d batch``: read from a JSONL file or a prompts file, each with its folder.

A job is an engine and its config dataclass, or the one-line error (naming the line it came from)
that kept it from being one, so that a bad line never stops the other jobs. Config keys are spelled
as the CLI's options or as the fields (``views-per-step``, ``views_per_step``, ``densify.refine-every``
or a nested ``{"densify": {...}}``); a value is a JSON value or text, read by the same
:meth:`engines.fields.FieldSpec.parse` as the CLI's options.

Each job has a folder ``DIR/<NNN>-<slug>/`` holding ``config.json`` (the engine and its full config:
itself a job line that repeats the run), its outputs (an empty "save" path gets a name there, a
relative one resolves there), ``run/`` (its run folder: checkpoints) and ``state.json`` (how its last
run ended). A rerun skips the jobs recorded as finished whose config is unchanged and whose outputs
exist, and resumes the others from their checkpoints.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from engines.fields import FieldError, FieldSpec, describe_fields, find_preset, nested, preset_values
from engines.registry import config_from_dict, config_to_dict, find_engine
from engines.runtime.checks import output_paths, path_problems
from scene.io.atomic import atomic_output
from studio.commands.generate import option_name

CONFIG, STATE, RUN = "config.json", "state.json", "run"
"""The names of a job's config, its recorded state and its run folder, inside its folder."""
SUMMARY_COLUMNS = ("job", "engine", "state", "seconds", "attempts", "output", "error")
_SLUG_LENGTH = 32


@dataclass
class BatchJob:
    """One job of a batch: its engine and config, or why it has none."""

    index: int
    """Its 1-based place among the batch's jobs (its folder's number)."""
    source: str
    """Where it was read: ``jobs.jsonl line 4``."""
    name: str
    """``004-a-red-chair``: its folder's name and its name in the summary."""
    engine: str
    config: Any = None
    """The engine's config dataclass, outputs placed in the job's folder; None when ``error``."""
    error: str | None = None


@dataclass
class JobRecord:
    """How a job's run ended (``state.json``), and a row of the summary."""

    state: str
    seconds: float = 0.0
    attempts: int = 0
    output: str = ""
    error: str = ""


# --------------------------------------------------------------------- reading jobs
def read_jobs(path: Path) -> list[BatchJob]:
    """The jobs of a JSONL file: one JSON object a line, ``engine`` and the engine's config fields;
    blank lines and ``#`` comments are skipped."""
    jobs = []
    for number, line in _lines(path):
        index = len(jobs) + 1
        source = f"{path.name} line {number}"
        try:
            values = json.loads(line)
        except json.JSONDecodeError as exc:
            jobs.append(_failed(index, source, f"not valid JSON ({exc.msg} at column {exc.colno})", f"line-{number}"))
            continue
        if not isinstance(values, dict):
            jobs.append(_failed(index, source, 'expected a JSON object such as {"engine": "reconstruct", ...}', f"line-{number}"))
            continue
        values = dict(values)
        engine = values.pop("engine", None)
        jobs.append(make_job(index, source, engine, values))
    return jobs


def read_prompts(path: Path, engine: str, shared: Mapping[str, Any]) -> list[BatchJob]:
    """A job of ``engine`` per prompt of a text file (one a line; blank lines and ``#`` comments
    skipped), each with the ``shared`` config values (nested and parsed, as the CLI's options give them)."""
    if "prompt" not in {spec.name for spec in describe_fields(find_engine(engine).config_cls)}:
        raise ValueError(f"the {engine} engine takes no prompt: give its jobs in a JSONL file instead of --prompts")
    jobs = []
    for number, prompt in _lines(path):
        jobs.append(make_job(len(jobs) + 1, f"{path.name} line {number}", engine, {**shared, "prompt": prompt.strip()}, parsed=True))
    return jobs


def make_job(index: int, source: str, engine: Any, values: Mapping[str, Any], parsed: bool = False) -> BatchJob:
    """The job ``source`` describes: ``engine`` with the config ``values`` (keys as the CLI's
    options or the fields, values JSON or text; ``parsed``: nested values the CLI parsed already),
    or its error."""
    prompt = values.get("prompt")
    slug = make_slug(prompt if isinstance(prompt, str) and prompt.strip() else str(engine or "job"))
    if not isinstance(engine, str) or not engine:
        return _failed(index, source, 'names no engine: add "engine": "<name>"', slug)
    try:
        config_cls = find_engine(engine).config_cls
    except KeyError as exc:
        return _failed(index, source, str(exc.args[0]), slug)
    try:
        config = config_from_dict(config_cls, dict(values) if parsed else job_values(config_cls, values))
    except FieldError as exc:
        return _failed(index, source, f"{option_name(exc.field)}: {exc.reason}", slug, engine)
    except (ValueError, TypeError) as exc:  # an unknown key, a check across fields, a value of the wrong shape
        return _failed(index, source, str(exc), slug, engine)
    return BatchJob(index, source, f"{index:03d}-{slug}", engine, config)


def job_values(config_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Nested config values from a job's ``values``: keys spelled as options or fields, nested or
    dotted; ``preset`` first, as ``--preset``. Keys that name no field pass through, for
    :func:`engines.registry.config_from_dict` to name them. ValueError/FieldError name a bad value."""
    specs = {item.key: item for top in describe_fields(config_cls) for item in top.walk() if item.kind != "group"}
    flat = _flatten(values)
    preset = flat.pop("preset", None)
    chosen: dict[str, Any] = {}
    if preset is not None:
        try:
            chosen = preset_values(config_cls, find_preset(config_cls, str(preset)))
        except KeyError as exc:
            raise ValueError(f"--preset: {exc.args[0]}") from None
    for key, value in flat.items():
        spec = specs.get(key)
        try:
            chosen[key] = value if spec is None else _parse(spec, value)
        except ValueError as exc:
            raise FieldError(key, str(exc)) from None
    return nested(chosen)


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted field keys (``densify.refine_every``) of nested or dotted, dashed or underscored keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = prefix + str(key).replace("-", "_")
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _parse(spec: FieldSpec, value: Any) -> Any:
    """``value`` (JSON) as the field's type: the text the CLI would take, read by the CLI's parse."""
    if spec.kind == "kept" or value is None:
        return value
    if isinstance(value, list):
        joiner = "\n" if spec.kind == "list" else ","
        return spec.parse(joiner.join(_text(item) for item in value))
    return spec.parse(_text(value))


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (bool, list, dict)) else str(value)


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the lines that are not blank or ``#`` comments."""
    text = path.read_text(encoding="utf-8")
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]


def _failed(index: int, source: str, reason: str, slug: str, engine: str = "") -> BatchJob:
    return BatchJob(index, source, f"{index:03d}-{slug}", engine, error=f"{source}: {reason}")


def make_slug(text: str) -> str:
    """A short folder name of a prompt or an engine: ``A red chair!`` -> ``a-red-chair``."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > _SLUG_LENGTH:
            break
        slug = longer
    return slug or (words[0][:_SLUG_LENGTH] if words else "job")


# --------------------------------------------------------------------- the job's folder
def place_outputs(job: BatchJob, folder: Path) -> None:
    """Point the job's "save" paths into its folder: an empty one gets a name there
    (``result.ply``, or after the field when two share an extension), a relative one resolves there;
    a path that then cannot be written (its folder missing) becomes the job's error."""
    specs = [item for top in describe_fields(type(job.config)) for item in top.walk() if item.path == "save"]
    values, taken = {}, set()
    for spec in specs:
        current = str(_get(job.config, spec.key))
        if current in ("", "."):
            extension = spec.extensions[0] if spec.extensions else ""
            name = f"result{extension}" if f"result{extension}" not in taken else f"{spec.key.replace('.', '-')}{extension}"
            path = folder / name
        else:
            path = folder / current  # an absolute path stays as it is
        taken.add(path.name)
        values[spec.key] = str(path)
    job.config = config_from_dict(type(job.config), nested(values), base=job.config)
    problems = path_problems(job.config)
    if problems:
        key, problem = next(iter(problems.items()))
        job.config, job.error = None, f"{job.source}: {option_name(key)}: {problem}"


def _get(config: Any, key: str) -> Any:
    for name in key.split("."):
        config = getattr(config, name)
    return config


def config_document(job: BatchJob) -> dict[str, Any]:
    """What ``config.json`` holds: the engine and its full config (a job line that repeats the run)."""
    return json.loads(json.dumps({"engine": job.engine, **config_to_dict(job.config)}, default=os.fspath))


def saved_config(folder: Path) -> dict[str, Any] | None:
    """The job's ``config.json`` from an earlier run; None when there is none (or it is unreadable)."""
    try:
        return json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON, atomically (a kill never leaves half a file)."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")


def write_record(folder: Path, record: JobRecord) -> None:
    """Record how the job's run ended, in its ``state.json``."""
    write_json(folder / STATE, dataclasses.asdict(record))


def read_record(folder: Path) -> JobRecord | None:
    """The job's ``state.json``; None when it has none (never ran, or its record is unreadable)."""
    try:
        return JobRecord(**json.loads((folder / STATE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def is_finished(job: BatchJob, folder: Path) -> bool:
    """Whether an earlier run finished the job as it is now: recorded as finished, with this config,
    and its outputs still there."""
    record = read_record(folder)
    return (
        record is not None and record.state == "finished" and saved_config(folder) == config_document(job)
        and all(path.exists() for path in output_paths(job.config))
    )


# --------------------------------------------------------------------- the summary
def write_summary(path: Path, rows: Sequence[tuple[str, str, JobRecord]]) -> None:
    """``summary.csv``: a row per job (name, engine, record), written atomically."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for name, engine, record in rows:
            writer.writerow(_cells(name, engine, record))


def summary_table(rows: Sequence[tuple[str, str, JobRecord]]) -> str:
    """The summary as an aligned text table (the error column last, unpadded)."""
    cells = [SUMMARY_COLUMNS] + [_cells(name, engine, record) for name, engine, record in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(SUMMARY_COLUMNS) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[-1]]).rstrip() for row in cells)


def _cells(name: str, engine: str, record: JobRecord) -> tuple[str, ...]:
    return (name, engine, record.state, f"{record.seconds:.1f}", str(record.attempts), record.output, record.error)
