"""How the studio runs engine jobs, for the window and the command line alike (no Qt here).

* the run-folder policy: every job gets a new folder ``<cache>/runs/<engine>-<time>-xxxx`` (its
  checkpoint and the outputs it names itself), unless the command line was given ``--run-dir``;
* what travels from the user's :class:`~studio.settings.Settings` to a job: the runtime options
  (checkpoint interval) and the worker settings (model folders and choices, cache, offline mode);
* :class:`JobLayers`: which layer each output key of each job streams into. A key's layer is made
  on the key's first snapshot, named after the engine ("reconstruct", "reconstruct mesh"); later
  snapshots replace its data without an undo step.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from engines.runtime import MAIN, RuntimeOptions, WorkerSettings
from scene import Document, Layer
from studio.settings import Settings


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


def layer_name(engine: str, key: str) -> str:
    """The name of the layer output ``key`` of an ``engine`` job streams into."""
    return engine if key == MAIN else f"{engine} {key}"


@dataclasses.dataclass
class _Binding:
    engine: str
    document: Document
    layers: dict[str, str]  # output key -> layer id


class JobLayers:
    """The layers jobs stream into: one per output key, in the document current at submit."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Binding] = {}

    def bind(self, job_id: str, engine: str, document: Document) -> None:
        """Stream the outputs of ``job_id`` into ``document``."""
        self._jobs[job_id] = _Binding(engine, document, {})

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._jobs

    def layer_ids(self, job_id: str) -> dict[str, str]:
        """Output key -> layer id of the job's layers made so far."""
        return dict(self._jobs[job_id].layers)

    def show(self, job_id: str, key: str, payload: Any) -> Layer | None:
        """Put a snapshot of output ``key`` into its layer; the layer when it was made just now.

        The first snapshot of a key adds its layer (an undo step, "Generate <engine>"); later ones
        replace its data. A layer the artist deleted stays deleted: its snapshots are dropped.
        """
        binding = self._jobs.get(job_id)
        if binding is None:
            return None
        document = binding.document
        layer_id = binding.layers.get(key)
        if layer_id is None:
            layer = Layer(document.unique_name(layer_name(binding.engine, key)), payload)
            binding.layers[key] = layer.id
            return document.add_layer(layer, text=f"Generate {binding.engine}")
        if any(layer.id == layer_id for layer in document.layers):
            document.replace_data_live(layer_id, payload)
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
