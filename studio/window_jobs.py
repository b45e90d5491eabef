"""The main window's generation jobs: one Generate tab per engine, runs submitted to the job
manager, each output's snapshots streamed into a layer (:class:`studio.jobs.JobLayers`), and a
finished job's result shown where it is: its layer selected and framed, or its file revealed.

A mixin of :class:`studio.main_window.MainWindow`; the policy (run folders, worker settings,
layer names) is :mod:`studio.jobs`, shared with the command line.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from engines.runtime import JobInfo, JobManager, JobState, discard_checkpoint
from studio.jobs import new_run_dir, runtime_options, worker_settings


class JobCommands:
    """Generation jobs for :class:`~studio.main_window.MainWindow`."""

    def _add_engines(self) -> None:
        """One Generate tab per registered engine (engines whose module fails to import are left out)."""
        from engines.registry import engine_names, find_engine, load_engines

        load_engines()
        for name in engine_names():
            self.generate.add_engine(name, find_engine(name).config_cls, lambda config, n=name: self.run_engine(n, config))

    @property
    def job_manager(self) -> JobManager:
        """The engines' job queue, started on first use (it runs workers in other processes)."""
        if self.jobs.manager is None:
            self.jobs.set_manager(JobManager())
        return self.jobs.manager

    def run_engine(self, engine: str, config: object = None) -> str:
        """Start a job whose outputs stream into layers of the current document (studio.jobs).

        Each job gets a new run folder in the cache, so it checkpoints and Resume continues it
        after a cancel or a crash; the device, the checkpoint interval and the worker settings
        come from the preferences ("auto" devices are resolved in the worker, where torch is
        loaded anyway).
        """
        manager = self.job_manager
        job_id = manager.submit(
            engine, config, run_dir=new_run_dir(self.settings, engine), device=self.settings.device,
            options=runtime_options(self.settings, manager.options), settings=worker_settings(self.settings),
        )
        self.job_layers.bind(job_id, engine, self.document)
        self.docks["Jobs"].raise_()
        return job_id

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
        or cancelled job keeps its own for Resume.
        """
        if job_id not in self.job_layers:
            return
        if info.state is JobState.FAILED:
            self.show_error(f"Generate {info.engine} failed", info.error.message)
        elif info.state is JobState.FINISHED and info.run_dir is not None:
            discard_checkpoint(info.run_dir)

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
