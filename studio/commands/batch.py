"""``atelier4d batch``: many engine runs from one command, each in a folder of its own.

``atelier4d batch JOBS.jsonl --out DIR`` runs one job per line of a JSONL file (``engine`` and the
engine's settings); ``atelier4d batch --engine text-to-3d --prompts FILE --out DIR [settings]`` runs
one job per prompt, with the engine's options (parsed in a second phase, once ``--engine`` is known)
shared by every job. The jobs go to a :class:`engines.runtime.manager.JobManager`, which decides how
many run at once (locally one per device; ``--cluster`` sends them to a Ray cluster). A job that
fails is tried again (``--retries``); a line that makes no job is that job's error and stops no
other. An overall progress line goes to stderr; at the end, ``DIR/summary.csv`` and a table on
stdout. Running the same command again skips the finished jobs and resumes the interrupted ones
from their checkpoints (:mod:`studio.commands.batch_jobs`). On a cluster the jobs' actors outlive the
command (:class:`engines.runtime.remote.Detached`): when its terminal closes they go on, and the same
command run again takes up the jobs still running there and collects their results. Ctrl-C cancels the running jobs, which
leave checkpoints, writes the summary and exits 130; the status is 0 when every job finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

from engines.registry import engine_names, find_engine
from engines.runtime.checkpoint import checkpoint_step, discard_checkpoint
from engines.runtime.context import WorkerSettings
from engines.runtime.events import Failed, JobState, Log
from engines.runtime.foreground import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, TerminalLine, ctrl_c_held
from engines.runtime.manager import JobManager, RuntimeOptions
from studio.commands.batch_jobs import (
    CONFIG,
    RUN,
    STATE,
    BatchJob,
    JobRecord,
    config_document,
    is_finished,
    place_outputs,
    read_jobs,
    read_prompts,
    read_record,
    saved_config,
    summary_table,
    write_json,
    write_record,
    write_summary,
)
from studio.commands.common import CliError
from studio.commands.generate import add_config_options, config_values, remove_leftovers, seconds_option

SUMMARY = "summary.csv"
_BAR_WIDTH = 20


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "batch",
        help="run many engine jobs: a JSONL file of jobs, or one job per prompt",
        description="Run a JSONL file of jobs (one JSON object a line: \"engine\" and its settings, keyed as "
        "`generate`'s options), or one job of --engine per line of --prompts with the engine's options shared "
        "by all, each in a folder of its own in --out. Rerunning the command skips finished jobs and resumes "
        "interrupted ones.",
    )
    parser.__class__ = _BatchParser  # the engine's options join once --engine is known
    add_batch_options(parser)


class _BatchParser(argparse.ArgumentParser):
    """The command's parser, in two phases: ``--engine NAME`` first, then that engine's options too."""

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        engine = _engine_named(list(args or ()))
        if engine is None:
            return super().parse_known_args(args, namespace)
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description, conflict_handler="resolve")
        add_config_options(parser, find_engine(engine).config_cls)
        for action in parser._actions:
            if action.dest == "prompt":
                action.required = False  # each job's comes from --prompts
        add_batch_options(parser)  # its --out (the batch's folder) replaces the engine's
        return parser.parse_known_args(args, namespace)


def _engine_named(args: list[str]) -> str | None:
    """The first phase: the known engine ``--engine`` names, if any."""
    first = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    first.add_argument("--engine")
    try:
        engine = first.parse_known_args(args)[0].engine
    except argparse.ArgumentError:
        return None
    return engine if engine in engine_names() else None


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("jobs", nargs="?", type=Path, metavar="JOBS.jsonl",
                        help="jobs, one JSON object a line: {\"engine\": \"reconstruct\", \"data\": \"scan/\", \"steps\": 300}")
    parser.add_argument("--out", dest="out_dir", type=Path, required=True, metavar="DIR",
                        help="folder of the jobs' folders (DIR/001-<name>/: config.json, results, run/) and summary.csv")
    parser.add_argument("--engine", choices=engine_names(), help="run one job of this engine per line of --prompts")
    parser.add_argument("--prompts", type=Path, metavar="FILE",
                        help="one prompt a line (with --engine; the engine's options, given too, apply to every job)")
    parser.add_argument("--cluster", metavar="ADDRESS", help="run the jobs on this Ray cluster (default: local workers)")
    parser.add_argument("--retries", type=_count, default=1, metavar="N", help="tries again of a failed job (default: 1)")
    parser.add_argument("--device", default="auto", help="torch device of every job: auto, cpu, cuda, cuda:1 (default: auto)")
    parser.add_argument("--checkpoint-every-s", type=seconds_option, metavar="SECONDS",
                        help="seconds between checkpoints, 0: only every 100 steps (default: the studio's preference, 60)")
    parser.set_defaults(func=run, batch_parser=parser)


def _count(text: str) -> int:
    """An argparse ``type`` for a whole number, 0 or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, got {text!r}")
    return int(text)


# --------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> int:
    """Run every job that is not finished yet, retrying failures; write the summary; the exit status."""
    from studio.jobs import worker_settings
    from studio.settings import Settings

    jobs = _read_jobs(args)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.load()
    every_s = settings.checkpoint_every_s if args.checkpoint_every_s is None else args.checkpoint_every_s
    batch = _Batch(args, RuntimeOptions(checkpoint_every_s=every_s), worker_settings(settings), sys.stderr)
    for job in jobs:
        batch.add(job)
    status = batch.run()
    write_summary(args.out_dir / SUMMARY, batch.rows())
    print(summary_table(batch.rows()))
    return status


def _read_jobs(args: argparse.Namespace) -> list[BatchJob]:
    """The jobs the command line names: its JSONL file, or a job of --engine per prompt."""
    parser = args.batch_parser
    if args.engine is None:
        if args.jobs is None or args.prompts is not None:
            parser.error("give a JOBS.jsonl file, or --engine NAME with --prompts FILE")
        return read_jobs(args.jobs)
    if args.jobs is not None or args.prompts is None:
        parser.error("--engine runs one job per prompt of --prompts FILE, without a JOBS.jsonl file")
    if getattr(args, "prompt", None) is not None:
        parser.error("argument --prompt: each job's prompt is a line of --prompts")
    try:
        return read_prompts(args.prompts, args.engine, config_values(args, find_engine(args.engine).config_cls))
    except ValueError as exc:
        parser.error(str(exc))


@dataclass
class _Run:
    """A job of this batch and how it goes: its manager job, its tries, its time."""

    job: BatchJob
    folder: Path | None
    record: JobRecord
    job_id: str | None = None
    started: float | None = None  # time.monotonic() of the current try's start
    earlier_s: float = 0.0  # the time of earlier runs of the command (resumed)
    active: bool = False

    def total(self) -> JobRecord:
        """The job's record, the time of earlier runs included."""
        return dataclasses.replace(self.record, seconds=self.record.seconds + self.earlier_s)


class _Batch:
    """The batch's jobs, run through one JobManager until each ends (or Ctrl-C)."""

    def __init__(self, args: argparse.Namespace, options: RuntimeOptions, settings: WorkerSettings, stream: TextIO) -> None:
        self.args, self.options, self.settings = args, options, settings
        self.runs: list[_Run] = []
        self.progress = _ProgressLine(stream)
        self.interrupted = threading.Event()

    def add(self, job: BatchJob) -> None:
        """Take ``job``: one with an error is failed already, one finished by an earlier run is skipped."""
        folder = None
        if job.error is None:
            folder = self.args.out_dir / job.name
            folder.mkdir(exist_ok=True)
            place_outputs(job, folder)
        if job.error is not None:
            self.progress.line(f"{job.name}: error: {job.error}")
            self.runs.append(_Run(job, folder, JobRecord("failed", error=job.error)))
            return
        if is_finished(job, folder):
            self.runs.append(_Run(job, folder, read_record(folder)))
            return
        run = _Run(job, folder, JobRecord("queued"), active=True)
        earlier = saved_config(folder)
        if earlier is not None and earlier != config_document(job):
            self.progress.line(f"{job.name}: its settings changed since the last run: starting over")
            discard_checkpoint(folder / RUN)
            (folder / STATE).unlink(missing_ok=True)
        elif (record := read_record(folder)) is not None:
            run.earlier_s = record.seconds
        write_json(folder / CONFIG, config_document(job))
        self.runs.append(run)

    def run(self) -> int:
        """Submit every pending job, follow them to their ends; 0: all finished, 1: not, 130: Ctrl-C."""
        wake = threading.Event()
        with ctrl_c_held(self.interrupted):
            self.manager = JobManager(self.options, on_update=wake.set)
            try:
                self.running = self._still_running()
                for run in self.runs:
                    if run.active:
                        self._submit(run)
                by_id = {run.job_id: run for run in self.runs if run.job_id}
                cancelled = False
                self.progress.draw(self.runs)
                while any(run.active for run in self.runs):
                    wake.wait(0.25)
                    wake.clear()
                    if self.interrupted.is_set() and not cancelled:
                        cancelled = True
                        for run in self.runs:
                            if run.active:
                                self.manager.cancel(run.job_id)
                    for job_id, update in self.manager.poll().items():
                        run = by_id[job_id]
                        for event in update.events:
                            if isinstance(event, Failed):
                                run.record.error = " ".join(event.message.split())
                            elif isinstance(event, Log) and event.level in ("warning", "error"):
                                self.progress.line(f"{run.job.name}: [{event.level}] {event.text}")
                        if update.state is not JobState.QUEUED and run.started is None:
                            run.started = time.monotonic()
                        run.record.state = update.state.value
                        if update.state.is_terminal:
                            self._ended(run, update.state)
                            by_id[run.job_id] = run  # a retry is a new manager job
                    self.progress.draw(self.runs)
            finally:
                self.manager.shutdown()
        self.progress.close()
        if self.interrupted.is_set():
            return EXIT_INTERRUPTED
        return EXIT_OK if all(run.record.state == JobState.FINISHED.value for run in self.runs) else EXIT_FAILED

    def _still_running(self) -> dict[str, str]:
        """On a cluster: the jobs of this batch that an earlier run of the command left running
        there (its terminal closed, say), job name -> actor, to take up instead of starting again."""
        if self.args.cluster is None:
            return {}
        from engines.runtime import remote
        from engines.runtime.cluster import ClusterError

        try:
            return remote.running_jobs(self.args.cluster, self.owner)
        except ClusterError as exc:  # no job of the batch could run there: said once, not once per job
            raise CliError(str(exc)) from None

    @property
    def owner(self) -> str:
        """This batch on a cluster: its output folder's, so a rerun of the command finds its jobs."""
        return hashlib.sha256(str(self.args.out_dir.resolve()).encode()).hexdigest()[:12]

    def _submit(self, run: _Run) -> None:
        """Start a try of ``run``'s job: taken up where an earlier run of the command left it running,
        or from its checkpoint when its run folder has one, or from the start."""
        from engines.runtime.remote import Detached

        run_dir = run.folder / RUN
        actor = self.running.pop(run.job.name, None)
        step = None if actor else checkpoint_step(run_dir)
        if actor:
            self.progress.line(f"{run.job.name}: still running on the cluster: taken up")
        elif step is not None:
            self.progress.line(f"{run.job.name}: resuming from the checkpoint at step {step}")
        remove_leftovers(run.job.config, run_dir)
        run.record.attempts += 1
        run.record.state, run.record.error, run.started = "queued", "", None
        try:
            run.job_id = self.manager.submit(
                run.job.engine, run.job.config, run_dir=run_dir, device=self.args.device, resume=step is not None,
                settings=self.settings, cluster=self.args.cluster,
                detached=Detached(self.owner, run.job.name, actor) if self.args.cluster is not None else None,
            )
        except ValueError as exc:  # the engine refuses the config, or the checkpoint went away
            run.record.state, run.record.error, run.active = "failed", str(exc), False
            self._record(run)

    def _ended(self, run: _Run, state: JobState) -> None:
        """A try ended: record a finished or cancelled job, or try a failed one again."""
        run.record.seconds += time.monotonic() - run.started if run.started is not None else 0.0
        info = self.manager.info(run.job_id)
        if info.result is not None:
            run.record.output = "; ".join(info.result.paths)
        remove_leftovers(run.job.config, run.folder / RUN)
        if state is JobState.FAILED and run.record.attempts <= self.args.retries and not self.interrupted.is_set():
            self.progress.line(f"{run.job.name}: failed (try {run.record.attempts} of {self.args.retries + 1}), trying again: "
                               f"{run.record.error}")
            self._submit(run)
            return
        run.active = False
        if state is JobState.FAILED:
            self.progress.line(f"{run.job.name}: failed: {run.record.error}")
        self._record(run)

    def _record(self, run: _Run) -> None:
        write_record(run.folder, run.total())

    def rows(self) -> list[tuple[str, str, JobRecord]]:
        """A summary row per job: its name, engine and record."""
        return [(run.job.name, run.job.engine, run.total()) for run in self.runs]


class _ProgressLine(TerminalLine):
    """The batch's one progress line on stderr: redrawn in place on a terminal, a line per change otherwise."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._shown = ""

    def draw(self, runs: Sequence[_Run]) -> None:
        states = [run.record.state for run in runs]
        done = sum(not run.active for run in runs)
        running = sum(run.active and state != "queued" for run, state in zip(runs, states))
        queued = sum(run.active and state == "queued" for run, state in zip(runs, states))
        failed = sum(not run.active and state == "failed" for run, state in zip(runs, states))
        filled = int(_BAR_WIDTH * done / len(runs)) if runs else _BAR_WIDTH
        text = f"batch [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done}/{len(runs)} done · {running} running · {queued} queued"
        text += f" · {failed} failed" if failed else ""
        if text != self._shown:
            self._shown = text
            self.show(text)

    def line(self, text: str) -> None:
        super().line(text)
        if self.tty:
            self._shown = ""  # redraw it below
