"""GPU state and drawing of one ``MeshAsset``: lit, vertex-coloured or textured, optional wireframe.

Meshes are drawn before splats and write depth, so splats behind a surface are hidden by the
depth test while splats in front blend over it.
"""

from __future__ import annotations

import numpy as np

import moderngl

from render.drawers import Drawer, DrawerResources, OpaqueView, register_drawer
from render.glutil import set_uniforms
from scene.mesh import MeshAsset
from shaders import load

WIREFRAME_COLOR = (0.05, 0.05, 0.05, 1.0)


class MeshPipeline:
    """The mesh program shared by every mesh layer of one context."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.program = ctx.program(vertex_shader=load("mesh.vert"), fragment_shader=load("mesh.frag"))
        set_uniforms(self.program, u_texture=0)

    def release(self) -> None:
        self.program.release()


class MeshDrawer(Drawer):
    """One mesh layer's vertex, index and texture objects, drawn in the opaque pass."""

    def __init__(self, resources: DrawerResources) -> None:
        super().__init__(resources)
        self.pipeline = resources.programs(MeshPipeline)
        self.ctx = resources.ctx
        self._objects: list = []
        self._vao: moderngl.VertexArray | None = None
        self._texture: moderngl.Texture | None = None

    def upload(self, mesh: MeshAsset) -> None:
        """Copy ``mesh`` to the GPU (interleaved position, normal, RGBA colour, UV)."""
        self.release()
        n = mesh.vertex_count
        plain = 1.0 if mesh.is_textured else 0.8  # no vertex colours: the texture as it is, else light grey
        colors = mesh.vertex_colors if mesh.vertex_colors is not None else np.full((n, 4), plain, np.float32)
        uvs = mesh.uvs if mesh.uvs is not None else np.zeros((n, 2), np.float32)
        data = np.hstack([mesh.vertices, mesh.normals, colors, uvs]).astype(np.float32)
        vbo = self.ctx.buffer(data.tobytes())
        ibo = self.ctx.buffer(np.ascontiguousarray(mesh.faces, dtype=np.uint32).tobytes())
        self._vao = self.ctx.vertex_array(
            self.pipeline.program,
            [(vbo, "3f 3f 4f 2f", "a_position", "a_normal", "a_color", "a_uv")],
            index_buffer=ibo,
            index_element_size=4,
        )
        self._objects = [vbo, ibo, self._vao]
        if mesh.is_textured:
            image = mesh.texture
            self._texture = self.ctx.texture((image.shape[1], image.shape[0]), image.shape[2], image.tobytes())
            self._texture.build_mipmaps()
            self._texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            self._objects.append(self._texture)

    def draw(self, view: OpaqueView) -> None:
        """Draw lit, then (with the wireframe setting) the edges on top; depth state is the caller's."""
        model, wireframe = view.model, view.settings.wireframe
        set_uniforms(
            self.pipeline.program,
            u_mvp=view.view_proj @ model,
            u_model=model,
            u_normal_matrix=np.linalg.inv(model[:3, :3]).T,
            u_campos=view.camera.position,
            u_textured=self._texture is not None,
            u_flat_color=(0.0, 0.0, 0.0, 0.0),
            u_lit=view.settings.lit_meshes,
        )
        if self._texture is not None:
            self._texture.use(0)
        ctx = self.ctx
        if wireframe:
            ctx.polygon_offset = (1.0, 1.0)  # push faces back so their edges win the depth test
        self._vao.render(moderngl.TRIANGLES)
        ctx.polygon_offset = (0.0, 0.0)
        if wireframe:
            set_uniforms(self.pipeline.program, u_flat_color=WIREFRAME_COLOR)
            ctx.wireframe = True
            self._vao.render(moderngl.TRIANGLES)
            ctx.wireframe = False

    def release(self) -> None:
        for obj in self._objects:
            obj.release()
        self._objects, self._vao, self._texture = [], None, None


register_drawer("mesh", MeshDrawer)
