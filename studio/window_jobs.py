"""The main window's generation jobs: one Generate tab per engine, runs submitted to the job
manager, each output's snapshots streamed into a layer (:class:`studio.jobs.JobLayers`), and a
finished job's result shown where it is: its layer selected and framed, or its file revealed.

Every layer a job makes keeps how it was made (its provenance), so *Run again* can make it again.
A camera path a finished job wrote beside its outputs (``NAME.path.json``: the path outpaint-scene
grew the scene along) joins the document with its layers; the other way, a tab can run along one of
the document's camera paths, which is written to the job's run folder for it.
A job runs where its tab's "Run on" says: this machine, or the Ray cluster the preferences name
(:meth:`JobCommands.follow_cluster_preference`), on the preferences' device either way.
Refine-region run while splats are selected in the current layer is a region edit: the engine
refines those splats, streaming into their layer, and its result replaces the layer's data as one
undo step.

A mixin of :class:`studio.main_window.MainWindow`; the policy (run folders, worker settings,
layer names, provenance) is :mod:`studio.jobs`, shared with the command line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from engines.registry import config_from_dict, find_engine
from engines.runtime import JobInfo, JobManager, JobState, discard_checkpoint
from scene.camera_path import CameraPath
from scene.document import NamedPath
from studio.jobs import new_run_dir, provenance, rerun_values, runtime_options, worker_settings, write_region_inputs

PATH_SUFFIX = ".path.json"
"""How a job's camera-path output ends (outpaint-scene writes NAME.path.json beside NAME.ply)."""
REGION_ENGINE = "refine-region"
"""The engine that edits the selected splats of a layer when run from its tab with a selection."""
ANIMATE_ENGINE = "animate-4d"
"""The engine that animates a splat layer (its ``object`` field) with a video or a prompt."""


class JobCommands:
    """Generation jobs for :class:`~studio.main_window.MainWindow`."""

    def _add_engines(self) -> None:
        """One Generate tab per registered engine (engines whose module fails to import are left out)."""
        from engines.registry import engine_names, find_engine, load_engines

        load_engines()
        self.generate.model_settings = lambda: worker_settings(self.settings)
        self.generate.camera_paths = lambda: self.document.paths
        for name in engine_names():
            self.generate.add_engine(
                name, find_engine(name).config_cls, lambda config, paths=None, n=name: self.run_from_tab(n, config, paths)
            )
        self.follow_cluster_preference()

    def follow_cluster_preference(self) -> None:
        """The Generate tabs offer the cluster the preferences name, and run there when they say so."""
        self.generate.set_cluster(self.settings.cluster_address, self.settings.engines_on == "cluster")

    @property
    def job_manager(self) -> JobManager:
        """The engines' job queue, started on first use (it runs workers in other processes)."""
        if self.jobs.manager is None:
            self.jobs.set_manager(JobManager())
        return self.jobs.manager

    def run_from_tab(self, engine: str, config: Any, paths: dict[str, CameraPath] | None = None) -> str | None:
        """What an engine tab's Run does: a job along the document camera ``paths`` chosen for some
        of its fields; a region edit of the current layer's selected splats when refine-region runs
        while some are selected (and no selection file is given); else a job making layers of its
        own. None when refine-region has neither a selection nor an input."""
        if paths:
            return self.run_along(engine, config, paths)
        if engine != REGION_ENGINE or config.selection:
            return self.run_engine(engine, config)
        selection = self.splat_selection()
        if selection is not None:
            return self.edit_region(config, *selection)
        if not config.input:
            self.show_error(f"Generate {engine}", "Select the splats to refine in the viewport, or choose a splat file as Input.")
            return None
        return self.run_engine(engine, config)

    def edit_region(self, config: Any, layer_id: str, mask: Any) -> str:
        """Refine the splats of ``mask`` in the layer ``layer_id`` as ``config`` says: the layer's
        splats and the selection go to the job's run folder as its input and selection, and the
        job streams into that layer (studio.jobs.JobLayers)."""
        run_dir = new_run_dir(self.settings, REGION_ENGINE)
        splats, selection = write_region_inputs(run_dir, self.document.layer(layer_id).data, mask)
        config = dataclasses.replace(config, input=str(splats), selection=str(selection))
        return self.run_engine(REGION_ENGINE, config, run_dir=run_dir, edit=layer_id)

    def animate_layer(self, layer_id: str | None = None) -> bool:
        """Animate the splat layer ``layer_id`` (default: the current one): its splats, as the layer holds
        them, become animate-4d's object (written to a run folder in the cache), and its tab comes to the
        front for the artist to give the motion: an image, a video or a prompt. False when it cannot."""
        layer = self.document.current if layer_id is None else self.document.layer(layer_id)
        form = self.generate.forms.get(ANIMATE_ENGINE)
        if layer is None or layer.kind != "splats" or form is None:
            what = "Select a splat layer first." if form is not None else "This Atelier4D has no animate-4d engine."
            self.show_error("Animate layer", what)
            return False
        run_dir = new_run_dir(self.settings, ANIMATE_ENGINE)
        splats = run_dir / "object.ply"
        self.files.save_asset(splats, layer.data)
        form.set_field("object", str(splats))
        self.generate.setCurrentIndex(next(i for i in range(self.generate.count()) if self.generate.tabText(i) == ANIMATE_ENGINE))
        self.docks["Generate"].raise_()
        return True

    def run_along(self, engine: str, config: Any, paths: dict[str, CameraPath]) -> str:
        """Run ``engine`` with each of ``config``'s fields named in ``paths`` set to that camera path,
        written as FIELD.json into the job's run folder (which keeps it for Resume and Run again)."""
        run_dir = new_run_dir(self.settings, engine)
        files = {}
        for name, path in paths.items():
            path.save(run_dir / f"{name}.json")
            files[name] = str(run_dir / f"{name}.json")
        return self.run_engine(engine, dataclasses.replace(config, **files), run_dir=run_dir)

    def run_engine(self, engine: str, config: Any = None, *, run_dir: Path | None = None, edit: str | None = None) -> str:
        """Start a job whose outputs stream into layers of the current document (studio.jobs):
        new ones, or the main output into the existing layer ``edit``; they keep the job's provenance.

        Each job gets a new run folder in the cache (unless ``run_dir`` is one already), so it
        checkpoints and Resume continues it after a cancel or a crash; the device, the checkpoint
        interval and the worker settings come from the preferences ("auto" devices are resolved
        in the worker, where torch is loaded anyway); where it runs, from the engine's tab.
        """
        if not dataclasses.is_dataclass(config):
            config = config_from_dict(find_engine(engine).config_cls, config or {})
        manager = self.job_manager
        settings = worker_settings(self.settings)
        job_id = manager.submit(
            engine, config, run_dir=run_dir or new_run_dir(self.settings, engine), device=self.settings.device,
            options=runtime_options(self.settings, manager.options), settings=settings, cluster=self.generate.run_on(engine),
        )
        self.job_layers.bind(job_id, engine, self.document, provenance=provenance(engine, config, settings), edit=edit)
        self.docks["Jobs"].raise_()
        return job_id

    def run_again(self, layer_id: str | None = None) -> str | None:
        """Make the layer ``layer_id`` (default: the current one) again: its engine's tab shows the
        settings it was made with, and they run (the same seed, the same models), into new layers.
        The job's id; None when the layer was not generated or cannot be made again (which the
        artist is told)."""
        layer = self.document.current if layer_id is None else self.document.layer(layer_id)
        made = None if layer is None else layer.provenance
        if made is None:
            return None
        form = self.generate.forms.get(made.engine)
        if form is None:
            self.show_error("Run again", f"{layer.name} was made by {made.engine}, which this Atelier4D does not have.")
            return None
        try:
            config = config_from_dict(form.config_type, rerun_values(made, form.config_type, worker_settings(self.settings)))
        except (TypeError, ValueError) as exc:
            self.show_error("Run again", f"{made.engine} cannot make {layer.name} again: {exc}")
            return None
        form.set_value({spec.name: getattr(config, spec.name) for spec in form.specs if spec.gui})
        self.generate.setCurrentIndex(next(i for i in range(self.generate.count()) if self.generate.tabText(i) == made.engine))
        return self.run_engine(made.engine, config)

    def _on_job_snapshot(self, job_id: str, key: str, payload: object) -> None:
        """A job's newest snapshot of output ``key`` goes into that key's layer (made on its first)."""
        added = self.job_layers.show(job_id, key, payload)
        if added is not None and self.job_layers.document_of(job_id) is self.document:
            self.viewport.frame_selected()

    def _on_job_finished(self, job_id: str, info: JobInfo) -> None:
        """Tell the artist why a job failed; its layers keep the last snapshots they received.

        A finished job's layers already hold its final state: engines yield it as their last
        snapshot (reconstruct yields the cloud it writes) and the worker always ships the last one.
        Its checkpoint cannot be resumed any more, so it is deleted (the outputs stay); a failed
        or cancelled job keeps its own for Resume. An edit of an existing layer becomes one undo
        step when it finishes; one that fails or is cancelled gives the layer its data back.
        """
        if job_id not in self.job_layers:
            return
        if self.job_layers.edited_layer(job_id) is not None:
            if info.state is JobState.FINISHED and info.snapshot is not None:
                self.job_layers.commit_edit(job_id, info.snapshot)
            else:
                self.job_layers.revert_edit(job_id)
        if info.state is JobState.FAILED:
            self.show_error(f"Generate {info.engine} failed", info.error.message)
        elif info.state is JobState.FINISHED and info.run_dir is not None:
            discard_checkpoint(info.run_dir)
        if info.state is JobState.FINISHED:
            self._add_job_paths(job_id, info)

    def _add_job_paths(self, job_id: str, info: JobInfo) -> None:
        """The camera paths among a finished job's files, added to the document its layers went to."""
        document = self.job_layers.document_of(job_id)
        files = [] if info.result is None or document is None else info.result.paths
        for file in (f for f in files if f.endswith(PATH_SUFFIX)):
            try:
                path = CameraPath.load(file)
            except ValueError as exc:
                self.show_error(f"Generate {info.engine}", f"The camera path it wrote cannot be read: {exc}")
                continue
            document.add_path(NamedPath(document.unique_path_name(f"{Path(file).name[: -len(PATH_SUFFIX)]} path"), path))

    def show_job_result(self, job_id: str) -> None:
        """Select and frame the job's layer in the viewport; when it is gone (deleted, or in a
        document no longer open) reveal its output file instead. The open document stays."""
        layer = self.job_layers.layer_in(job_id, self.document)
        if layer is not None:
            self.document.set_current(layer.id)
            self.viewport.frame_selected()
            return
        result = self.job_manager.info(job_id).result
        if result is not None and result.paths:
            self.reveal_file(result.paths[0])

    def reveal_file(self, path: str) -> None:
        """Show the folder holding ``path`` in the file manager (tests replace this)."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))
