"""Viewport speed on the headless context: full frames at 100k and 1M splats (1280x720, SH degree 3)
against a naive instanced draw of the same splats (no SH, no sorting), the 1M-splat depth sort and
upload, the interactive (adaptive-resolution) frame rate at 100k, how a new 1M-splat layer
appears the studio's way (staged upload and progressive picture: the longest call, the time to
the whole picture), and a 100k-splat clip of 48 frames scrubbed a frame per document time step
(camera fixed) against a static 100k frame (orbiting: sorted, preprocessed and drawn) drawn
alternately with it; the clip halfway between frames and the static layer under a fixed camera
(drawn, not preprocessed again) are reported too.

The scene is an object's surface seen from a normal distance: splats on a unit sphere, sized to
their spacing, camera 3 units away, so footprints are a few pixels as in real captures.
Prints one JSON line. Run: ``.venv/bin/python benches/viewport.py [--frames 20] [--clip-only]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np

import moderngl

from render.context import create_headless_context, current
from render.glutil import camera_uniforms, set_uniforms
from render.offscreen import as_document
from render.renderer import Renderer, RenderSettings
from render.sorting import SortPoints, back_to_front
from render.splats import SplatBuffers, SplatPipeline
from scene import Camera, Document, GaussianCloud, Layer
from scene.clip import GaussianClip
from scene.rotation import axis_angle_to_quat, quat_multiply
from scene.sh import eval_sh
from shaders import load

WIDTH, HEIGHT = 1280, 720


def object_cloud(count: int, seed: int = 0) -> GaussianCloud:
    """``count`` flat-ish splats covering a unit sphere, with degree-3 SH."""
    rng = np.random.default_rng(seed)
    normals = rng.normal(size=(count, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    spacing = math.sqrt(4.0 * math.pi / count)
    scales = spacing * rng.uniform(0.4, 0.9, (count, 3))
    scales[:, 2] *= 0.2
    cloud = GaussianCloud.create(
        normals, scales, 0.5 + 0.4 * normals, rng.uniform(0.5, 0.95, count), quats=rng.normal(size=(count, 4)), sh_degree=3
    )
    sh = np.array(cloud.sh)
    sh[:, 1:] = rng.normal(0.0, 0.1, sh[:, 1:].shape)
    return cloud.replace(sh=sh)


def moving_object(count: int, frames: int, fps: float = 24.0) -> GaussianClip:
    """:func:`object_cloud` over ``frames`` frames: a wave runs over the surface (centres along
    their normals), the splats turn, swell and fade with it. Every motion channel is stored (the
    most a clip's frame reads)."""
    cloud = object_cloud(count)
    phase = np.linspace(0.0, 2.0 * math.pi, frames, endpoint=False)[:, None]
    wave = 0.05 * np.sin(3.0 * cloud.means[None, :, 1] + phase)  # [F, N]
    turns = np.stack([np.tile(axis_angle_to_quat([0.0, 1.0, 0.0], 0.02 * k), (count, 1)) for k in range(frames)])
    return GaussianClip(
        cloud, fps,
        means=cloud.means[None] * (1.0 + wave[..., None]),
        quats=quat_multiply(turns, np.broadcast_to(cloud.quats, turns.shape)),
        log_scales=cloud.log_scales[None] + 2.0 * wave[..., None],
        opacity_logits=cloud.opacity_logits[None] + 10.0 * wave,
    )


def orbit_camera(step: int, degrees_per_step: float = 0.3) -> Camera:
    yaw = math.radians(30.0 + step * degrees_per_step)
    eye = 3.0 * np.array([math.sin(yaw), 0.35, math.cos(yaw)])
    return Camera.look_at(eye, np.zeros(3), width=WIDTH, height=HEIGHT, fov_y_deg=50.0, near=0.05, far=100.0)


def median_ms(samples: list[float]) -> float:
    return round(1000.0 * float(np.median(samples)), 2)


class NaiveDraw:
    """The baseline: per-instance attributes, projection per vertex, DC colour, unsorted."""

    def __init__(self, ctx: moderngl.Context, cloud: GaussianCloud) -> None:
        self.ctx, self.count = ctx, cloud.count
        self.program = ctx.program(vertex_shader=load("splat_naive.vert"), fragment_shader=load("splat_draw.frag"))
        cov = cloud.covariances()
        colors = eval_sh(cloud.sh[:, :1], np.tile([0.0, 0.0, 1.0], (cloud.count, 1)))
        data = np.hstack([cloud.means, cov[:, 0, :], cov[:, 1, 1:], cov[:, 2, 2:], colors, cloud.opacities[:, None]])
        self.vbo = ctx.buffer(data.astype(np.float32).tobytes())
        self.vao = ctx.vertex_array(self.program, [(self.vbo, "3f 3f 3f 4f/i", "a_mean", "a_cov_a", "a_cov_b", "a_color")])

    def render(self, camera: Camera, fbo: moderngl.Framebuffer) -> None:
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 1.0)
        self.ctx.enable_only(moderngl.BLEND)
        self.ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        set_uniforms(self.program, **camera_uniforms(camera))
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.count)

    def release(self) -> None:
        for obj in (self.vao, self.vbo, self.program):
            obj.release()


def frame_times(
    ctx: moderngl.Context, cloud: GaussianCloud, frames: int, settings: RenderSettings, naive: bool = False
) -> tuple[list[float], list[float]]:
    """Wall times of ``frames`` renders of an orbiting view, after two warm-up frames.

    With ``naive`` each frame is followed by the baseline's frame of the same view, so both see
    the same machine load (other processes share these cores); its times are the second list.
    """
    renderer = Renderer(ctx)
    baseline = NaiveDraw(ctx, cloud) if naive else None
    fbo = ctx.simple_framebuffer((WIDTH, HEIGHT))
    document = as_document(cloud)
    ours, theirs = [], []
    try:
        for step in range(frames + 2):
            camera = orbit_camera(step)
            start = time.perf_counter()
            renderer.render(document, camera, fbo, settings)
            ctx.finish()
            middle = time.perf_counter()
            if baseline is not None:
                baseline.render(camera, fbo)
                ctx.finish()
            if step >= 2:
                ours.append(middle - start)
                theirs.append(time.perf_counter() - middle)
    finally:
        renderer.release()
        fbo.release()
        if baseline is not None:
            baseline.release()
    return ours, theirs


def scrub_times(ctx: moderngl.Context, clip: GaussianClip, settings: RenderSettings) -> dict[str, list[float]]:
    """Wall times of ``clip`` drawn at each of its frames in turn (camera fixed), each followed by
    the clip halfway to its next frame (as playback at another rate draws it), and by a static
    layer of its canonical splats, once orbiting and once under the fixed camera, so all four see
    the same machine load; after two warm-up rounds (the first uploads the clip)."""
    at_frames, between = Document(), Document()
    at_frames.add_layer(Layer("clip", clip))
    between.add_layer(Layer("clip", clip))
    static = as_document(clip.canonical)
    renderers = {name: Renderer(ctx) for name in ("clip", "clip_between", "static_orbit", "static_still")}
    fbo = ctx.simple_framebuffer((WIDTH, HEIGHT))
    times: dict[str, list[float]] = {name: [] for name in renderers}
    try:
        for step in range(clip.frame_count + 2):
            at_frames.set_time(step / clip.fps)
            between.set_time((step + 0.5) / clip.fps)
            for name, scene, camera in (
                ("clip", at_frames, orbit_camera(0)),
                ("clip_between", between, orbit_camera(0)),
                ("static_orbit", static, orbit_camera(step)),
                ("static_still", static, orbit_camera(0)),
            ):
                start = time.perf_counter()
                renderers[name].render(scene, camera, fbo, settings)
                ctx.finish()
                if step >= 2:
                    times[name].append(time.perf_counter() - start)
    finally:
        for renderer in renderers.values():
            renderer.release()
        fbo.release()
    return times


def sort_times(cloud: GaussianCloud, runs: int) -> list[float]:
    points = SortPoints.of(cloud.means)
    times = []
    for step in range(runs):
        row = orbit_camera(step * 10).w2c()[2]
        start = time.perf_counter()
        back_to_front(points, row)
        times.append(time.perf_counter() - start)
    return times


def upload_times(ctx: moderngl.Context, cloud: GaussianCloud, runs: int) -> list[float]:
    pipeline = SplatPipeline(ctx)
    buffers = SplatBuffers(pipeline)
    times = []
    try:
        buffers.upload(cloud)  # allocation, not timed: later uploads reuse the textures
        for _ in range(runs):
            start = time.perf_counter()
            buffers.upload(cloud.replace(means=cloud.means))  # a new object, as an engine would send
            ctx.finish()
            times.append(time.perf_counter() - start)
    finally:
        buffers.release()
        pipeline.release()
    return times


def progressive_load(ctx: moderngl.Context, cloud: GaussianCloud, budget_ms: float) -> tuple[float, float, int]:
    """A new layer of ``cloud`` shown the studio's way (staged upload, progressive picture): the
    longest call, the time until the picture is whole (ms) and the calls it took."""
    renderer = Renderer(ctx)
    fbo = ctx.simple_framebuffer((WIDTH, HEIGHT))
    settings = RenderSettings(wait_for_sort=False, progressive=True, refine_budget_ms=budget_ms)
    calls = []
    try:
        renderer.warm_up(settings)
        document = as_document(cloud)
        start = time.perf_counter()
        while True:
            begin = time.perf_counter()
            stats = renderer.render(document, orbit_camera(0), fbo, settings)
            ctx.finish()
            calls.append(time.perf_counter() - begin)
            if stats.complete:
                break
            time.sleep(0.001)  # the event loop's turn, where the sort thread gets on
        total = time.perf_counter() - start
    finally:
        renderer.release()
        fbo.release()
    return round(1000 * max(calls), 1), round(1000 * total, 1), len(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--clip-only", action="store_true", help="only the clip case")
    args = parser.parse_args()
    ctx = create_headless_context()
    with current(ctx):
        result = {"bench": "viewport", "size": f"{WIDTH}x{HEIGHT}", "renderer": ctx.info["GL_RENDERER"]}
        if not args.clip_only:
            result |= measure(ctx, args.frames)
        result |= measure_clip(ctx)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.machine()}
    print(json.dumps(result))


def measure(ctx: moderngl.Context, frames: int) -> dict:
    full = RenderSettings(wait_for_sort=False)
    result: dict = {"bench": "viewport", "size": f"{WIDTH}x{HEIGHT}", "sh_degree": 3, "renderer": ctx.info["GL_RENDERER"]}
    for label, count in (("100k", 100_000), ("1m", 1_000_000)):
        cloud = object_cloud(count)
        ours, naive = frame_times(ctx, cloud, frames, full, naive=True)
        result[f"frame_ms_{label}"] = median_ms(ours)
        result[f"naive_frame_ms_{label}"] = median_ms(naive)
        result[f"frame_vs_naive_{label}"] = round(result[f"frame_ms_{label}"] / result[f"naive_frame_ms_{label}"], 2)
        if count == 1_000_000:
            result["sort_ms_1m"] = median_ms(sort_times(cloud, max(frames, 20)))
            result["upload_ms_1m"] = median_ms(upload_times(ctx, cloud, 5))
            longest, whole, calls = progressive_load(ctx, cloud, budget_ms=15.0)  # the studio viewport's REFINE_BUDGET_MS
            result["progressive_1m"] = {"longest_call_ms": longest, "whole_picture_ms": whole, "calls": calls}
        else:
            interactive, _ = frame_times(ctx, cloud, 3 * frames, RenderSettings(adaptive=True, wait_for_sort=False))
            result["interactive_fps_100k"] = round(1.0 / float(np.median(interactive[frames:])), 1)
    result["targets"] = {
        "frame_le_1.3x_naive": all(result[f"frame_vs_naive_{k}"] <= 1.3 for k in ("100k", "1m")),
        "sort_1m_le_20ms": result["sort_ms_1m"] <= 20.0,
        "interactive_ge_10fps": result["interactive_fps_100k"] >= 10.0,
        "progressive_call_le_100ms": result["progressive_1m"]["longest_call_ms"] <= 100.0,
    }
    return result


def measure_clip(ctx: moderngl.Context) -> dict:
    """The clip case: 100k splats x 48 frames scrubbed a frame per time step against static frames."""
    times = scrub_times(ctx, moving_object(100_000, 48), RenderSettings(wait_for_sort=False))
    clip, static = median_ms(times["clip"]), median_ms(times["static_orbit"])
    return {
        "clip_scrub_ms_100k_48f": clip,
        "clip_between_frames_ms_100k_48f": median_ms(times["clip_between"]),
        "static_frame_ms_100k": static,
        "static_still_frame_ms_100k": median_ms(times["static_still"]),
        "clip_scrub_vs_static": round(clip / static, 2),
        "clip_between_frames_vs_static": round(median_ms(times["clip_between"]) / static, 2),
        "clip_targets": {"clip_scrub_le_1.2x_static": clip <= 1.2 * static},
    }


if __name__ == "__main__":
    main()
