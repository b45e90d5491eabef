"""How the studio runs engine jobs, for the window and the command line alike (no Qt here).

* the run-folder policy: every job gets a new folder ``<cache>/runs/<engine>-<time>-xxxx`` (its
  checkpoint and the outputs it names itself), unless the command line was given ``--run-dir``;
* what travels from the user's :class:`~studio.settings.Settings` to a job: the runtime options
  (checkpoint interval) and the worker settings (model folders and choices, cache, offline mode);
* a job's :class:`~scene.document.Provenance` (:func:`provenance`): the engine, the config it was
  submitted with and the model each of its roles uses, which every layer the job makes keeps;
* a region edit's inputs (:func:`write_region_inputs`): a splat layer and its selection, as the
  files refine-region reads;
* :class:`JobLayers`: which layer each output key of each job streams into. A key's layer is made
  on the key's first snapshot, named after the engine ("reconstruct", "reconstruct mesh"); later
  snapshots replace its data without an undo step. A job bound to an existing layer (a region
  edit) streams into that layer instead, and its result replaces the layer's data as one undo step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from engines.fields import describe_fields
from engines.models import ROLES
from engines.registry import config_to_dict
from engines.runtime import MAIN, RuntimeOptions, WorkerSettings
from scene import Document, GaussianCloud, Layer
from scene.document import LayerData, Provenance
from scene.io import save
from studio.settings import Settings

REGION_INPUT, REGION_SELECTION = "input.ply", "selection.npy"
"""The names of a region edit's splats and selection in its run folder."""


def new_run_dir(settings: Settings, engine: str) -> Path:
    """A new, empty run folder for a job of ``engine`` in the cache."""
    runs = settings.cache_path / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{engine}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=runs))


def worker_settings(settings: Settings) -> WorkerSettings:
    """The preferences a job's worker needs, from the saved settings."""
    return WorkerSettings(
        tuple(settings.model_folders), str(settings.cache_path), settings.offline,
        model_choices=tuple(sorted(settings.model_choices.items())), allow_pickle=tuple(settings.allow_pickle_models),
        model_memory_gb=settings.model_memory_gb, memory_savers=settings.memory_savers,
    )


def runtime_options(settings: Settings, base: RuntimeOptions) -> RuntimeOptions:
    """``base`` with the checkpoint interval of the settings."""
    return dataclasses.replace(base, checkpoint_every_s=float(settings.checkpoint_every_s))


def provenance(engine: str, config: Any, settings: WorkerSettings) -> Provenance:
    """How a job of ``engine`` with the config dataclass ``config`` makes its layers: the config as
    a plain dict (paths as text) and, for each model role its fields name, the model it uses: the
    field's own, else the one ``settings`` choose, else the role's default."""
    values = json.loads(json.dumps(config_to_dict(config), default=os.fspath))
    models = {role: values[name] or chosen_model(role, settings) for name, role in _model_fields(type(config))}
    return Provenance(engine, values, models)


def rerun_values(made: Provenance, config_cls: type, settings: WorkerSettings) -> dict[str, Any]:
    """The config values that make a layer again: those it was made with, except that a model field
    it left empty names the model it was made with when the preferences now choose another one."""
    values = dict(made.config)
    for name, role in _model_fields(config_cls):
        used = made.models.get(role)
        if name in values and not values[name] and used and used != chosen_model(role, settings):
            values[name] = used
    return values


def chosen_model(role: str, settings: WorkerSettings) -> str:
    """The model a job uses for ``role`` when its config names none: the preferences', else the default."""
    return settings.model_choice(role, ROLES[role].default)


def _model_fields(config_cls: type) -> list[tuple[str, str]]:
    """(field name, model role) of the fields of ``config_cls`` that name a model."""
    return [(spec.name, spec.model) for spec in describe_fields(config_cls) if spec.model is not None]


def write_region_inputs(run_dir: Path, cloud: GaussianCloud, mask: np.ndarray) -> tuple[Path, Path]:
    """A region edit's splats (as the layer holds them, in its own coordinates) and the indices of
    its selected ones, written into ``run_dir`` for refine-region's ``input`` and ``selection``."""
    splats, selection = run_dir / REGION_INPUT, run_dir / REGION_SELECTION
    save(splats, cloud)
    np.save(selection, np.flatnonzero(mask))
    return splats, selection


def layer_name(engine: str, key: str) -> str:
    """The name of the layer output ``key`` of an ``engine`` job streams into."""
    return engine if key == MAIN else f"{engine} {key}"


@dataclasses.dataclass
class _Binding:
    engine: str
    document: Document
    layers: dict[str, str]  # output key -> layer id
    provenance: Provenance | None = None  # what the job's layers keep of how they were made
    edited: Layer | None = None  # the existing layer the main output streams into
    original: LayerData | None = None  # its data before the job


class JobLayers:
    """The layers jobs stream into: one per output key, in the document current at submit."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Binding] = {}

    def bind(
        self, job_id: str, engine: str, document: Document, *, provenance: Provenance | None = None, edit: str | None = None
    ) -> None:
        """Stream the outputs of ``job_id`` into ``document``: into new layers, or the main output
        into the existing layer ``edit``; the layers keep ``provenance``."""
        if edit is None:
            self._jobs[job_id] = _Binding(engine, document, {}, provenance)
        else:
            layer = document.layer(edit)
            self._jobs[job_id] = _Binding(engine, document, {MAIN: edit}, provenance, layer, layer.data)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._jobs

    def layer_ids(self, job_id: str) -> dict[str, str]:
        """Output key -> layer id of the job's layers made so far."""
        return dict(self._jobs[job_id].layers)

    def show(self, job_id: str, key: str, payload: Any) -> Layer | None:
        """Put a snapshot of output ``key`` into its layer; the layer when it was made just now.

        The first snapshot of a key adds its layer (an undo step, "Generate <engine>"); later ones
        replace its data, as every snapshot does in a layer the job edits. A layer the artist
        deleted stays deleted: its snapshots are dropped.
        """
        binding = self._jobs.get(job_id)
        if binding is None:
            return None
        document = binding.document
        layer_id = binding.layers.get(key)
        if layer_id is None:
            layer = Layer(document.unique_name(layer_name(binding.engine, key)), payload, provenance=binding.provenance)
            binding.layers[key] = layer.id
            return document.add_layer(layer, text=f"Generate {binding.engine}")
        if any(layer.id == layer_id for layer in document.layers):
            document.replace_data_live(layer_id, payload)
        return None

    def edited_layer(self, job_id: str) -> str | None:
        """The id of the existing layer the job edits (None: it makes layers of its own)."""
        binding = self._jobs.get(job_id)
        return None if binding is None or binding.edited is None else binding.edited.id

    def commit_edit(self, job_id: str, result: LayerData) -> None:
        """The edited layer takes the job's ``result`` and provenance as one undo step, whose undo
        brings back the data it had before the job (the snapshots streamed meanwhile were no steps)."""
        binding = self._jobs[job_id]
        layer = self.revert_edit(job_id)
        if layer is not None:
            text = f"Edit {layer.name} ({binding.engine})"
            binding.document.set_layer(layer.id, data=result, provenance=binding.provenance, text=text)
        binding.edited = binding.original = None  # done: the job edits nothing any more

    def revert_edit(self, job_id: str) -> Layer | None:
        """Give the edited layer back the data it had before the job, so a failed or cancelled edit
        leaves no trace (a resumed one streams into it again); the layer, when it is still in the
        document. One the artist deleted meanwhile gets its data back too: undoing the deletion
        brings it back as it was."""
        binding = self._jobs[job_id]
        document, layer = binding.document, binding.edited
        if any(present is layer for present in document.layers):
            document.replace_data_live(layer.id, binding.original)
            return layer
        layer.data = binding.original  # out of the document: no view shows it
        return None

    def layer_in(self, job_id: str, document: Document) -> Layer | None:
        """The job's first layer that is still in ``document`` (its main output's, if any); None
        when the job streams into another document or its layers were deleted."""
        binding = self._jobs.get(job_id)
        if binding is None or binding.document is not document:
            return None
        present = {layer.id: layer for layer in document.layers}
        main_first = sorted(binding.layers.items(), key=lambda item: item[0] != MAIN)
        return next((present[layer_id] for _, layer_id in main_first if layer_id in present), None)

    def document_of(self, job_id: str) -> Document | None:
        binding = self._jobs.get(job_id)
        return None if binding is None else binding.document
