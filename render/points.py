"""GPU state and drawing of one ``PointCloud``: square points of a fixed pixel size, depth-tested."""

from __future__ import annotations

import numpy as np

import moderngl

from render.glutil import set_uniforms
from scene.points import PointCloud
from shaders import load


class PointPipeline:
    """The point program shared by every point layer of one context."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.program = ctx.program(vertex_shader=load("points.vert"), fragment_shader=load("lines.frag"))

    def release(self) -> None:
        self.program.release()


class PointBuffers:
    """One point cloud's vertex buffer."""

    def __init__(self, pipeline: PointPipeline) -> None:
        self.pipeline = pipeline
        self._vbo: moderngl.Buffer | None = None
        self._vao: moderngl.VertexArray | None = None
        self._count = 0

    def upload(self, points: PointCloud) -> None:
        data = np.hstack([points.points, points.colors]).astype(np.float32)
        if self._vbo is None or self._vbo.size < max(data.nbytes, 1):
            self.release()
            ctx = self.pipeline.ctx
            self._vbo = ctx.buffer(reserve=max(data.nbytes, 24), dynamic=True)
            self._vao = ctx.vertex_array(self.pipeline.program, [(self._vbo, "3f 3f", "a_position", "a_color")])
        self._vbo.write(data.tobytes())
        self._count = points.count

    def draw(self, mvp: np.ndarray, point_px: float) -> None:
        if not self._count:
            return
        set_uniforms(self.pipeline.program, u_mvp=mvp, u_point_size=float(point_px))
        self.pipeline.ctx.enable(moderngl.PROGRAM_POINT_SIZE)
        self._vao.render(moderngl.POINTS, vertices=self._count)

    def release(self) -> None:
        for obj in (self._vao, self._vbo):
            if obj is not None:
                obj.release()
        self._vbo = self._vao = None
