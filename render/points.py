"""GPU state and drawing of one ``PointCloud``: square points of a fixed pixel size, depth-tested.

:class:`PointDrawer` draws any payload made of coloured positions: a kind of that shape draws with
a subclass that says where its positions and colours are (:meth:`PointDrawer.vertices`).
"""

from __future__ import annotations

import numpy as np

import moderngl

from render.drawers import Drawer, DrawerResources, OpaqueView, register_drawer
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


class PointDrawer(Drawer):
    """One point layer's vertex buffer, drawn in the opaque pass."""

    def __init__(self, resources: DrawerResources) -> None:
        super().__init__(resources)
        self.pipeline = resources.programs(PointPipeline)
        self._vbo: moderngl.Buffer | None = None
        self._vao: moderngl.VertexArray | None = None
        self._count = 0

    @staticmethod
    def vertices(points: PointCloud) -> tuple[np.ndarray, np.ndarray]:
        """The payload's positions ``[N, 3]`` and RGB colours ``[N, 3]`` in 0-1."""
        return points.points, points.colors

    def upload(self, payload: object) -> None:
        data = np.hstack(self.vertices(payload)).astype(np.float32)
        if self._vbo is None or self._vbo.size < max(data.nbytes, 1):
            self.release()
            ctx = self.pipeline.ctx
            self._vbo = ctx.buffer(reserve=max(data.nbytes, 24), dynamic=True)
            self._vao = ctx.vertex_array(self.pipeline.program, [(self._vbo, "3f 3f", "a_position", "a_color")])
        self._vbo.write(data.tobytes())
        self._count = len(data)

    def draw(self, view: OpaqueView) -> None:
        if not self._count:
            return
        set_uniforms(self.pipeline.program, u_mvp=view.view_proj @ view.model, u_point_size=float(view.settings.point_size_px))
        self.pipeline.ctx.enable(moderngl.PROGRAM_POINT_SIZE)
        self._vao.render(moderngl.POINTS, vertices=self._count)

    def release(self) -> None:
        for obj in (self._vao, self._vbo):
            if obj is not None:
                obj.release()
        self._vbo = self._vao = None


register_drawer("points", PointDrawer)
