"""The drawer of clip layers (``GaussianClip``): a clip's splats at the document's time, its motion
evaluated on the GPU.

A clip goes up once: its canonical splats into :class:`render.splats.SplatBuffers` (geometry plane
2's w holding each splat's keyframed-group row) and its sampled motion, only the channels the clip
stores, into texture arrays (:class:`MotionTextures`; a channel left None is read from the
canonical's planes). A new time costs no CPU work per splat: the preprocess pass
(``splat_preprocess.frag`` compiled with ``CLIP``, see ``shaders/clip_pose.glsl``) blends the frames
and weights of :meth:`GaussianClip.position_taps` and :meth:`GaussianClip.frame_at`, given as
uniforms, and moves the splats of keyframed groups by their :meth:`Group.matrix_at` matrices (a
texture of one row per keyed group, written when they change). Its variant holds only the code a
clip needs: its channels, its groups, and the blend between frames only when the time is between
frames (a software GL runs both sides of a branch); a clip's variants are compiled when it is
uploaded (a fraction of a second each on a software GL, once per process), not at its first frame.

Only the depth sort sees splats on the CPU, in the sort thread: it orders the centres at the time,
blended from the sampled frames' (each laid out once, when first needed) with the position
weights, each keyed group's splats moved by their matrix; at a sampled frame that is the frame's
own order.

A flipbook (frames of different splats) goes up whole, all frames at once, rather than a frame at a
time from the CPU: its current frame is drawn by ordering only that frame's splats (the order
decides the draw slots), so a frame change costs one sort of that frame's splats and no upload.

Uploads compare arrays by identity: an edit that keeps them (``clip.replace(groups=...)`` or
``timing=...``) rewrites at most the group rows of plane 2, never the motion. A big clip goes up a
band of texture rows per call into new textures while the old ones still draw, as big clouds do.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

import moderngl

from render.drawers import DrawerResources, register_drawer
from render.glutil import set_uniforms
from render.sorting import GroupPoses, SortPoints
from render.splat_drawer import UPLOAD_ROWS, SplatDrawer
from render.splats import FIRST_FREE_UNIT, TEX_W, SplatBuffers, SplatDrawParams, texture_rows
from scene.clip import MOTION_CHANNELS, GaussianClip
from scene.rotation import polar_decompose

_POS_UNIT, _QUAT_UNIT, _SCALE_UNIT, _GROUPS_UNIT = range(FIRST_FREE_UNIT, FIRST_FREE_UNIT + 4)
GROUP_TEXELS = 8  # RGBA32F texels per keyed group: its matrix's 4 columns, its SH rotation's 3, one spare
_PLANES = (("pos", 4), ("quat", 4), ("scale", 3))  # motion planes and their components
_CHANNEL_DEFINES = ("CLIP_MEANS", "CLIP_QUATS", "CLIP_SCALES", "CLIP_OPACITY")  # of MOTION_CHANNELS


@dataclass(frozen=True)
class ClipPose:
    """A clip at one document time: what the preprocess pass blends (``clip_pose.glsl``)."""

    frames: tuple[int, int]  # k0, k1: the sampled frames the time falls between
    weight: float  # of k1 for rotations, log-scales and opacity
    taps: tuple[int, int, int, int]  # the frames positions blend: k0 - 1, k0, k1, k1 + 1 (clamped)
    tap_weights: tuple[float, float, float, float]
    matrices: bytes  # [G, 4, 4] float64: each keyed group's matrix

    @classmethod
    def of(cls, clip: GaussianClip, keyed: tuple[int, ...], time: float) -> ClipPose:
        """``clip`` at document second ``time``; ``keyed`` are its groups with keys."""
        k0, k1, weight = clip.frame_at(time)
        taps, weights = clip.position_taps(time)
        matrices = np.array([clip.groups[i].matrix_at(time) for i in keyed], dtype=np.float64).reshape(-1, 4, 4)
        return cls(
            (k0, k1), float(weight), tuple(int(f) for f in taps), tuple(float(w) for w in weights), matrices.tobytes()
        )

    def group_matrices(self) -> np.ndarray:
        return np.frombuffer(self.matrices, dtype=np.float64).reshape(-1, 4, 4)

    def position_parts(self) -> tuple[tuple[int, float], ...]:
        """The (frame, weight) pairs of the positions, weights of a frame tapped twice summed."""
        weights: dict[int, float] = {}
        for frame, weight in zip(self.taps, self.tap_weights):
            if weight != 0.0:
                weights[frame] = weights.get(frame, 0.0) + weight
        return tuple(weights.items())


def keyed_rows(clip: GaussianClip) -> tuple[tuple[int, ...], np.ndarray]:
    """The groups with keys (only they move their splats) and each splat's row among them ``[N]
    int32`` (-1: in none, or in a group without keys, which wins over earlier groups as in
    :meth:`GaussianClip.at`)."""
    keyed = tuple(i for i, group in enumerate(clip.groups) if group.keys)
    lookup = np.full(len(clip.groups) + 1, -1, np.int32)  # the last entry answers group -1
    lookup[list(keyed)] = np.arange(len(keyed))
    return keyed, lookup[clip.group_of()]


def _frame_span(clip: GaussianClip, frame: int) -> tuple[int, int]:
    """The splats ``[first, stop)`` drawn at sampled frame ``frame`` (a flipbook's: that frame's)."""
    if clip.is_flipbook:
        return int(clip.frame_starts[frame]), int(clip.frame_starts[frame + 1])
    return 0, clip.count


def _sampled_centres(clip: GaussianClip, frame: int) -> np.ndarray:
    """The centres ``[n, 3]`` of sampled frame ``frame`` (of the splats :func:`_frame_span` names)."""
    if clip.is_flipbook:
        return clip.canonical.means[slice(*_frame_span(clip, frame))]
    return clip.canonical.means if clip.means is None else clip.means[frame]


def group_texels(matrices: np.ndarray) -> np.ndarray:
    """``[G, GROUP_TEXELS, 4] float32``: each matrix's columns, then the columns of its SH rotation
    (the transpose of the matrix's orthogonal part, turning directions back into the splats' own
    frame, as :meth:`GaussianCloud.transformed` turns their SH)."""
    out = np.zeros((len(matrices), GROUP_TEXELS, 4), np.float32)
    out[:, :4] = np.swapaxes(matrices, 1, 2)
    for texels, matrix in zip(out, matrices):
        texels[4:7, :3] = polar_decompose(matrix[:3, :3], proper=False)[0]  # its rows: the transpose's columns
    return out


class MotionTextures:
    """A clip's sampled motion on the GPU: per plane, one texture array holding every frame.

    Planes: (mean, opacity logit) when the clip stores either, quaternions, log-scales; a channel
    the clip does not store is not uploaded (the shader reads the canonical's). Frame ``f`` is at
    array layer ``f // per_layer``, rows from ``(f % per_layer) * rows``: as many frames share a
    layer as the texture height allows, so a long clip needs neither very many layers nor rows.
    """

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.source: tuple | None = None  # the clip's motion arrays uploaded (means, quats, log_scales, opacity_logits)
        self.uploads = 0  # motion uploads done (what edits must not cause)
        self.layout = (1, 1)  # texture rows per frame, frames per array layer
        self._planes: dict[str, moderngl.TextureArray] = {}

    @staticmethod
    def arrays(clip: GaussianClip) -> tuple:
        return tuple(getattr(clip, name) for name in MOTION_CHANNELS)

    def holds(self, clip: GaussianClip) -> bool:
        """Whether the motion of ``clip`` is the one uploaded (the same arrays)."""
        return self.source is not None and all(a is b for a, b in zip(self.source, self.arrays(clip)))

    def upload_steps(self, clip: GaussianClip, band_rows: int) -> Iterator[None]:
        """Upload the motion of ``clip``, pausing after each allocation and each band of
        ``band_rows`` rows of a frame. ValueError when it cannot fit this GPU's textures."""
        self.release()
        self.source = arrays = self.arrays(clip)
        self.uploads += 1
        if not clip.has_motion:
            return
        info = self.ctx.info
        rows, frames = texture_rows(clip.count), clip.frame_count
        per_layer = max(1, min(frames, info["GL_MAX_TEXTURE_SIZE"] // rows))
        layers = -(-frames // per_layer)
        if layers > info["GL_MAX_ARRAY_TEXTURE_LAYERS"]:
            raise ValueError(
                f"the clip's {frames} frames of {clip.count:,} splats do not fit this GPU's textures: "
                "bake it at a lower frame rate"
            )
        self.layout = (rows, per_layer)
        means, quats, log_scales, opacity_logits = arrays
        stored = {"pos": means is not None or opacity_logits is not None, "quat": quats is not None}
        stored["scale"] = log_scales is not None
        for name, components in _PLANES:
            if stored[name]:
                texture = self.ctx.texture_array((TEX_W, rows * per_layer, layers), components, dtype="f4")
                texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
                self._planes[name] = texture
                yield
        for frame in range(frames):
            layer, first_row = divmod(frame, per_layer)
            for start in range(0, rows, band_rows):
                stop = min(rows, start + band_rows)
                lo, hi = start * TEX_W, min(stop * TEX_W, clip.count)
                for name, texture in self._planes.items():
                    data = np.zeros(((stop - start) * TEX_W, texture.components), np.float32)
                    if name == "pos":
                        if means is not None:
                            data[: hi - lo, :3] = means[frame, lo:hi]
                        if opacity_logits is not None:
                            data[: hi - lo, 3] = opacity_logits[frame, lo:hi]
                    else:
                        data[: hi - lo] = (quats if name == "quat" else log_scales)[frame, lo:hi]
                    texture.write(data, viewport=(0, first_row * rows + start, layer, TEX_W, stop - start, 1))
                yield

    @property
    def defines(self) -> tuple[str, ...]:
        """The shader defines of the channels uploaded."""
        return tuple(define for define, array in zip(_CHANNEL_DEFINES, self.source or ()) if array is not None)

    def bind(self, program: moderngl.Program, taps: tuple[int, ...]) -> None:
        """Bind the planes and say where the frames ``taps`` are (the row each starts at in its
        layer, and the layer)."""
        for name, unit in zip(("pos", "quat", "scale"), (_POS_UNIT, _QUAT_UNIT, _SCALE_UNIT)):
            if name in self._planes:
                self._planes[name].use(unit)
        rows, per_layer = self.layout
        set_uniforms(
            program,
            u_motion_pos=_POS_UNIT, u_motion_quat=_QUAT_UNIT, u_motion_scale=_SCALE_UNIT,
            u_tap_rows=tuple(frame % per_layer * rows for frame in taps),
            u_tap_layers=tuple(frame // per_layer for frame in taps),
        )

    def release(self) -> None:
        for texture in self._planes.values():
            texture.release()
        self._planes = {}
        self.source = None


@dataclass
class _ClipStaging:
    """A big clip on its way to the GPU a step per call; the parts that change go into new objects."""

    data: GaussianClip
    buffers: SplatBuffers  # new, or the drawn ones when the clip's splats are those drawn
    motion: MotionTextures  # new, or the drawn ones when its motion is the one drawn
    steps: Iterator[None]


class ClipDrawer(SplatDrawer):
    """One clip layer on the GPU, drawn at the time of :meth:`set_time` in the blended pass."""

    def __init__(self, resources: DrawerResources) -> None:
        super().__init__(resources)
        self.motion = MotionTextures(resources.ctx)
        self.clip: GaussianClip | None = None  # the clip uploaded
        self._time = 0.0
        self._pose: ClipPose | None = None
        self._keyed: tuple[int, ...] = ()
        self._group_rows = np.zeros(0, np.int32)
        self._frame_points: dict[int, SortPoints] = {}  # laid out by the sort thread, per sampled frame
        self._sort_state: tuple | None = None  # (position parts, group matrices) the sorter has points for
        self._groups: moderngl.Texture | None = None
        self._groups_written: bytes | None = None

    # ----------------------------------------------------------------- upload
    def upload(self, clip: GaussianClip) -> None:
        self.cancel_upload()
        self.has_order = self.has_order and (
            self._same_splats(clip) or (not clip.is_flipbook and self.buffers.count == clip.count)
        )
        for _ in self._upload_steps(clip, self.buffers, self.motion, texture_rows(clip.count)):
            pass
        self._uploaded(clip)

    def upload_within(self, clip: GaussianClip, budget_end: float) -> bool:
        """Like :meth:`SplatDrawer.upload_within`; a clip whose splats and motion are the ones
        drawn (an edit of its groups or timing) goes up at once."""
        same_splats, same_motion = self._same_splats(clip), self.motion.holds(clip)
        motion_work = 0 if same_motion or not clip.has_motion else clip.count * clip.frame_count
        work = (0 if same_splats else clip.count) + motion_work
        if budget_end == math.inf or work <= UPLOAD_ROWS * TEX_W:
            self.upload(clip)
            return True
        staging = self._staging
        if staging is None or staging.data is not clip:
            self.cancel_upload()
            buffers = self.buffers if same_splats else SplatBuffers(self.buffers.pipeline)
            motion = self.motion if same_motion else MotionTextures(self.resources.ctx)
            steps = self._upload_steps(clip, buffers, motion, UPLOAD_ROWS)
            staging = self._staging = _ClipStaging(clip, buffers, motion, steps)
        for _ in staging.steps:  # one step at least
            if time.perf_counter() >= budget_end:
                return False
        if staging.buffers is not self.buffers:
            self.buffers.release()
            self.buffers, self.has_order = staging.buffers, False
        if staging.motion is not self.motion:
            self.motion.release()
            self.motion = staging.motion
        self._staging = None
        self._uploaded(clip)
        return True

    def cancel_upload(self) -> None:
        staging = self._staging
        if staging is not None:
            if staging.buffers is not self.buffers:
                staging.buffers.release()
            if staging.motion is not self.motion:
                staging.motion.release()
            self._staging = None

    def _same_splats(self, clip: GaussianClip) -> bool:
        return self.clip is not None and clip.canonical is self.clip.canonical

    def _upload_steps(
        self, clip: GaussianClip, buffers: SplatBuffers, motion: MotionTextures, band_rows: int
    ) -> Iterator[None]:
        rows = keyed_rows(clip)[1]
        if buffers is not self.buffers or not self._same_splats(clip):
            yield from buffers.upload_steps(clip.canonical, band_rows, rows)
        elif not np.array_equal(rows, self._group_rows):
            buffers.write_groups(clip.canonical, rows)
        if not motion.holds(clip):
            yield from motion.upload_steps(clip, band_rows)

    def _uploaded(self, clip: GaussianClip) -> None:
        old = self.clip
        if old is None or any(getattr(clip, n) is not getattr(old, n) for n in ("canonical", "means", "frame_starts")):
            self._frame_points = {}  # the sort's points are of other splats now
        self.clip = clip
        self._sh_degree = clip.sh_degree
        self._keyed, self._group_rows = keyed_rows(clip)
        self._sort_state = None
        self._pose = ClipPose.of(clip, self._keyed, self._time)
        self.buffers.forget_preprocess()
        for between in (False, True) if clip.has_motion else (False,):
            self.buffers.pipeline.variant(self._defines(between))

    # ----------------------------------------------------------------- time
    def set_time(self, time: float) -> None:
        if self.clip is not None and (time != self._time or self._pose is None):
            self._pose = ClipPose.of(self.clip, self._keyed, time)
        self._time = time

    @property
    def pose(self) -> ClipPose | None:
        return self._pose

    # ----------------------------------------------------------------- sort and draw
    def sort(self, depth_row: np.ndarray, wait: bool, need_order: bool) -> tuple[bool, bool]:
        """Order the splats as they are at the time (see :meth:`SplatDrawer.sort`)."""
        pose, clip = self._pose, self.clip
        if pose is not None and clip is not None:
            if clip.is_flipbook:
                parts = ((pose.frames[0], 1.0),)
            else:  # centres that never move sort alike at every frame
                parts = ((0, 1.0),) if clip.means is None else pose.position_parts()
            if (parts, pose.matrices) != self._sort_state:
                self._sort_state = (parts, pose.matrices)
                self._sort_points(clip, parts, pose)
        started, changed = super().sort(depth_row, wait, need_order)
        if self.sorter.stale:  # the sort that ended was of an earlier time: start this time's
            again, changed_again = super().sort(depth_row, wait, need_order)
            started, changed = started or again, changed or changed_again
        return started, changed

    def _sort_points(self, clip: GaussianClip, parts: tuple[tuple[int, float], ...], pose: ClipPose) -> None:
        """Give the sorter the centres blended from sampled frames ``parts`` ((frame, weight) pairs;
        a flipbook's or a clip's without moving centres: one), each frame's laid out once."""
        cache = self._frame_points

        def frame_points(frame: int) -> SortPoints:
            if frame not in cache:
                cache[frame] = SortPoints.of(_sampled_centres(clip, frame))
            return cache[frame]

        def layout() -> SortPoints:
            if len(parts) == 1 and parts[0][1] == 1.0:
                return frame_points(parts[0][0])
            return SortPoints.blend([(weight, frame_points(frame)) for frame, weight in parts])

        first, stop = _frame_span(clip, parts[0][0])

        poses = GroupPoses(self._group_rows[first:stop], pose.group_matrices()) if self._keyed else None
        self.sorter.set_points(layout, poses, first)

    def preprocess(self, camera_uniforms: dict, params: SplatDrawParams, until: int | None = None) -> None:
        pose: ClipPose = params.pose
        defines = self._defines(between=pose.weight != 0.0)
        program = self.buffers.pipeline.variant(defines)[0]
        self.motion.bind(program, pose.taps)
        if self._keyed:
            self._bind_groups(pose)
        set_uniforms(program, u_frame_w=pose.weight, u_tap_w=pose.tap_weights, u_groups=_GROUPS_UNIT)
        self.buffers.preprocess(camera_uniforms, params, until, defines)

    def _defines(self, between: bool) -> tuple[str, ...]:
        """The preprocess variant drawing the clip at a sampled frame or ``between`` two: only the
        code it needs (smooth positions blend four frames, with weights that are never 0)."""
        channels = self.motion.defines
        blend = ("CLIP_BETWEEN",) if channels and between else ()
        smooth = ("CLIP_SMOOTH",) if blend and self.clip.interpolation == "smooth" else ()
        return ("CLIP", *channels, *blend, *smooth, *(("CLIP_GROUPS",) if self._keyed else ()))

    def _bind_groups(self, pose: ClipPose) -> None:
        """The keyed groups' matrices at the pose's time, written when they changed."""
        if pose.matrices != self._groups_written:
            texels = group_texels(pose.group_matrices())
            if self._groups is None or self._groups.height < len(texels):
                if self._groups is not None:
                    self._groups.release()
                self._groups = self.resources.ctx.texture((GROUP_TEXELS, len(texels)), 4, dtype="f4")
                self._groups.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._groups.write(texels, viewport=(0, 0, GROUP_TEXELS, len(texels)))
            self._groups_written = pose.matrices
        self._groups.use(_GROUPS_UNIT)

    def release(self) -> None:
        super().release()
        self.motion.release()
        if self._groups is not None:
            self._groups.release()
        self._groups, self._groups_written = None, None


register_drawer("clip", ClipDrawer)
