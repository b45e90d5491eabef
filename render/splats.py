"""GPU state and drawing of one ``GaussianCloud``: packed textures, a per-view preprocess pass, a sorted draw.

Layout (GL 3.3, no SSBOs): splat ``i`` lives at texel column ``i % 1024``, row ``i // 1024``, of
textures ("planes") that hold at most 16 bytes per splat each, so no single GL allocation is big
(software GL zero-fills what it allocates: a 96 MB texture would stall a frame for 100+ ms):
* geometry, 3 RGBA32F planes of one texel per splat: (mean, opacity logit), quaternion wxyz,
  (log-scale, group) where group is a clip's keyframed group row of the splat (-1: none; 0 for
  plain clouds, whose shader ignores it);
* SH, up to 6 RGBA16F planes of two texels per splat (half floats halve the 192 MB of a million
  degree-3 splats): ``ceil(3K / 4)`` texels holding the ``K x 3`` coefficients in order, texel
  ``t`` in plane ``t // 2``;
* selection, R8, one texel per splat: 255 where the splat is selected (drawn mostly in the
  selection colour, and at least half opaque so that faint selected splats show too).
* order, R32UI, one texel per draw slot: the index of the splat drawn there (back to front).
  The order decides the draw slots: a flipbook clip orders only its current frame's splats.
The preprocess pass draws one fragment per slot, for the splat the order puts there, into three
RGBA32F targets (screen centre and depth, quad half-axes, colour and opacity): projection and SH
run once per view, not per quad corner. Those targets are copied into buffers on the GPU and
drawn as an instanced quad per splat with plain per-instance attributes, which llvmpipe's
single-threaded vertex stage fetches far faster than textures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterator

import numpy as np

import moderngl

from render.glutil import set_uniforms
from render.helpers import SELECTION_COLOR
from scene.gaussians import GaussianCloud
from shaders import load

TEX_W = 1024  # splats per texture row; keep in sync with the shaders
GEOMETRY_PLANES = 3  # RGBA32F texels per splat, one per plane
SH_PLANE_TEXELS = 2  # RGBA16F texels per splat in each SH plane
MAX_SH_PLANES = 6  # of degree 3; keep in sync with the preprocess shader
_SELECTION_UNIT = GEOMETRY_PLANES + MAX_SH_PLANES  # texture units: geometry planes, SH planes, selection, order
_ORDER_UNIT = _SELECTION_UNIT + 1
FIRST_FREE_UNIT = _ORDER_UNIT + 1  # texture units from here on are free for variants of the preprocess pass
_ATTRIBUTES = ("a_center", "a_axes", "a_color")  # the preprocess results, per draw slot


def sh_texels(degree: int) -> int:
    """RGBA texels holding one splat's SH coefficients of ``degree``."""
    return -(-3 * (degree + 1) ** 2 // 4)


def sh_planes(degree: int) -> int:
    """SH planes (textures) holding the SH of ``degree``."""
    return -(-sh_texels(degree) // SH_PLANE_TEXELS)


def pack_geometry(cloud: GaussianCloud, start: int, stop: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Rows ``[start, stop)`` of the geometry planes: ``[planes, stop - start, TEX_W, 4] float32``
    (each plane contiguous, as a texture write takes it); ``groups [count]`` fills plane 2's w."""
    lo, hi = start * TEX_W, min(stop * TEX_W, cloud.count)
    out = np.zeros((GEOMETRY_PLANES, (stop - start) * TEX_W, 4), np.float32)
    n = max(hi - lo, 0)
    out[0, :n, :3] = cloud.means[lo:hi]
    out[0, :n, 3] = cloud.opacity_logits[lo:hi]
    out[1, :n] = cloud.quats[lo:hi]
    out[2, :n, :3] = cloud.log_scales[lo:hi]
    if groups is not None:
        out[2, :n, 3] = groups[lo:hi]
    return out.reshape(GEOMETRY_PLANES, stop - start, TEX_W, 4)


def pack_sh(cloud: GaussianCloud, start: int, stop: int) -> np.ndarray:
    """Rows ``[start, stop)`` of the SH planes: ``[planes, stop - start, TEX_W * SH_PLANE_TEXELS, 4]
    float16`` (each plane contiguous; texels past the coefficients are 0)."""
    lo, hi = start * TEX_W, min(stop * TEX_W, cloud.count)
    planes, per_plane = sh_planes(cloud.sh_degree), 4 * SH_PLANE_TEXELS
    out = np.zeros((planes, (stop - start) * TEX_W, per_plane), np.float16)
    n = max(hi - lo, 0)
    floats = cloud.sh[lo:hi].reshape(n, -1)  # the K*3 coefficients of each splat, in order
    for k in range(planes):
        part = floats[:, k * per_plane : (k + 1) * per_plane]
        out[k, :n, : part.shape[1]] = part
    return out.reshape(planes, stop - start, TEX_W * SH_PLANE_TEXELS, 4)


def texture_rows(count: int) -> int:
    """Texture rows holding ``count`` splats (at least one: GL has no empty textures)."""
    return max(1, -(-count // TEX_W))


@dataclass(frozen=True)
class SplatDrawParams:
    """What one splat layer's picture depends on besides the camera."""

    model: np.ndarray  # [4, 4] layer -> world
    sh_degree: int  # degree to evaluate (already capped)
    scale: float = 1.0  # splat-size multiplier
    opacity: float = 1.0  # opacity multiplier
    selection_tint: tuple[float, float, float] = SELECTION_COLOR[:3]  # RGB that selected splats lean towards
    pose: Hashable = None  # a time-varying layer's state at the drawn time (a clip's frames and weights)


class SplatPipeline:
    """The shader programs shared by every splat layer of one context."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self._variants: dict[tuple[str, ...], tuple[moderngl.Program, moderngl.VertexArray]] = {}
        self.variant(())  # the plain clouds' preprocess pass, compiled now
        self.draw = ctx.program(vertex_shader=load("splat_draw.vert"), fragment_shader=load("splat_draw.frag"))
        self.sprites = ctx.program(vertex_shader=load("splat_sprite.vert"), fragment_shader=load("splat_sprite.frag"))
        set_uniforms(self.sprites, u_max_size=float(ctx.info["GL_POINT_SIZE_RANGE"][1]))

    def variant(self, defines: tuple[str, ...]) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The preprocess program compiled with ``defines`` (a clip's, say; made on first use) and
        its fullscreen triangle."""
        if defines not in self._variants:
            program = self.ctx.program(
                vertex_shader=load("fullscreen.vert"), fragment_shader=load("splat_preprocess.frag", defines)
            )
            set_uniforms(  # a clip storing every channel reads no geometry plane
                program, u_geom=tuple(range(GEOMETRY_PLANES)), u_sh=tuple(range(GEOMETRY_PLANES, _SELECTION_UNIT)),
                u_selected=_SELECTION_UNIT, u_order=_ORDER_UNIT,
            )
            self._variants[defines] = (program, self.ctx.vertex_array(program, []))
        return self._variants[defines]

    def release(self) -> None:
        for program, fullscreen in self._variants.values():
            fullscreen.release()
            program.release()
        self._variants.clear()
        self.draw.release()
        self.sprites.release()


class SplatBuffers:
    """One cloud's textures, preprocess targets and draw order on the GPU.

    :meth:`upload` reuses the textures when the new cloud fits them (a streaming engine replaces
    a layer many times a second), so only the data moves. A big cloud can be uploaded in steps
    (:meth:`upload_steps`) and the preprocess and draw passes can run a range of draw slots at a
    time, so no single frame has to do all the work.
    """

    def __init__(self, pipeline: SplatPipeline) -> None:
        self.pipeline = pipeline
        self.ctx = pipeline.ctx
        self.count = 0  # splats uploaded
        self.slots = 0  # draw slots: the entries of the order
        self._rows = 0
        self._degree = -1
        self._textures: list[moderngl.Texture] = []  # see the properties below
        self._fbo: moderngl.Framebuffer | None = None
        self._attributes: list[moderngl.Buffer] = []
        self._vao: moderngl.VertexArray | None = None
        self._vao_first = 0  # the draw slot the quad VAO's attributes start at
        self._sprite_vao: moderngl.VertexArray | None = None
        self._selection_mask: np.ndarray | None = None
        self._preprocessed_key: tuple | None = None
        self._preprocessed_rows = 0  # rows of draw slots preprocessed for that key

    def upload(self, cloud: GaussianCloud, groups: np.ndarray | None = None) -> None:
        """Copy ``cloud`` (and a clip's ``groups``, see :func:`pack_geometry`) to the GPU,
        reallocating only when it outgrows the current textures."""
        for _ in self.upload_steps(cloud, band_rows=texture_rows(cloud.count), groups=groups):
            pass

    def upload_steps(self, cloud: GaussianCloud, band_rows: int, groups: np.ndarray | None = None) -> Iterator[None]:
        """:meth:`upload` in steps: pauses after each GL allocation and each band of ``band_rows``
        texture rows, so a caller can spread a big cloud over several frames. Draw the buffers
        only once the iterator is exhausted."""
        rows = texture_rows(cloud.count)
        if rows > self._rows or cloud.sh_degree != self._degree:
            yield from self._allocate(rows, cloud.sh_degree)
        self.count = self.slots = cloud.count
        self._preprocessed_key = None
        self._selection_mask = None
        self._selection.write(np.zeros(self._rows * TEX_W, np.uint8))
        for start in range(0, rows, band_rows):
            stop = min(rows, start + band_rows)
            for plane, data in zip(self._geom, pack_geometry(cloud, start, stop, groups)):
                plane.write(data, viewport=(0, start, TEX_W, stop - start))
            for plane, data in zip(self._sh, pack_sh(cloud, start, stop)):
                plane.write(data, viewport=(0, start, TEX_W * SH_PLANE_TEXELS, stop - start))
            yield

    def write_groups(self, cloud: GaussianCloud, groups: np.ndarray) -> None:
        """Rewrite only geometry plane 2 of the uploaded ``cloud`` with new ``groups``."""
        self._geom[2].write(pack_geometry(cloud, 0, self._rows, groups)[2])
        self._preprocessed_key = None

    def forget_preprocess(self) -> None:
        """Something the preprocess pass reads besides these buffers changed: run it again."""
        self._preprocessed_key = None

    def set_selection(self, mask: np.ndarray | None) -> bool:
        """Tint the splats where ``mask [count] bool`` is set; uploads only when the mask object
        changes, and says whether it did (the picture then has to be drawn again)."""
        if mask is self._selection_mask:
            return False
        flags = np.zeros(self._rows * TEX_W, np.uint8)
        if mask is not None:
            flags[: self.count] = np.where(mask, 255, 0)
        self._selection.write(flags)
        self._selection_mask = mask
        self._preprocessed_key = None
        return True

    def set_order(self, order: np.ndarray) -> None:
        """The draw order ``[slots] uint32`` of splat indices, back to front (takes effect at the
        next preprocess); its length sets the draw slots (at most the splats uploaded)."""
        slots = np.zeros(self._rows * TEX_W, np.uint32)
        slots[: len(order)] = order
        self._order.write(slots)
        self.slots = min(len(order), self.count)
        self._preprocessed_key = None

    def preprocess(
        self, camera_uniforms: dict, params: SplatDrawParams, until: int | None = None, defines: tuple[str, ...] = ()
    ) -> None:
        """Project and colour the splats of draw slots ``[0, until)`` (all by default) for this view,
        with the preprocess program of ``defines`` (:meth:`SplatPipeline.variant`).

        Slots already done for the same view, order and parameters are skipped, so calling it
        again with a larger ``until`` only does the new ones. Binds its own framebuffer and
        disables blending and depth testing: set the drawing state again afterwards.
        """
        key = (
            tuple(np.round(np.asarray(camera_uniforms["u_view_cv"]).ravel(), 9)),
            camera_uniforms["u_focal"],
            camera_uniforms["u_principal"],
            camera_uniforms["u_viewport"],
            camera_uniforms["u_near_far"],
            params.model.tobytes(),
            params.sh_degree,
            params.scale,
            params.opacity,
            params.selection_tint,
            params.pose,
            defines,
        )
        if key != self._preprocessed_key:
            self._preprocessed_key, self._preprocessed_rows = key, 0
        start, stop = self._preprocessed_rows, texture_rows(min(self.slots if until is None else until, self.slots))
        if stop <= start or self.slots == 0:
            return
        linear = params.model[:3, :3]
        u, _, vt = np.linalg.svd(linear)
        rotation = u @ vt  # the rotation part of the layer transform (polar decomposition)
        prog, fullscreen = self.pipeline.variant(defines)
        set_uniforms(
            prog,
            **camera_uniforms,
            u_count=self.slots,
            u_sh_texels=sh_texels(self._degree),
            u_degree=min(params.sh_degree, self._degree),
            u_model=params.model,
            u_sh_rot=rotation.T,
            u_scale_mult=float(params.scale),
            u_opacity_mult=float(params.opacity),
            u_selection_tint=tuple(float(c) for c in params.selection_tint),
        )
        for unit, texture in enumerate(self._geom):
            texture.use(unit)
        for unit, texture in enumerate(self._sh, start=GEOMETRY_PLANES):
            texture.use(unit)
        self._selection.use(_SELECTION_UNIT)
        self._order.use(_ORDER_UNIT)
        band = (0, start, TEX_W, stop - start)
        self._fbo.viewport = band  # the fragments of these rows only (gl_FragCoord stays absolute)
        self._fbo.use()
        self.ctx.enable_only(moderngl.NOTHING)
        fullscreen.render(moderngl.TRIANGLES, vertices=3)
        for attachment, buffer in enumerate(self._attributes):
            self._fbo.read_into(
                buffer, viewport=band, attachment=attachment, components=4, dtype="f4", write_offset=start * TEX_W * 16
            )
        self._preprocessed_rows = stop

    def draw(
        self, target_size: tuple[int, int], point_px: float = 0.0, sprites: bool = False,
        start: int = 0, stop: int | None = None,
    ) -> None:
        """Blend the splats of draw slots ``[start, stop)`` (all by default) into the bound framebuffer
        in the current order (state set by the caller; the slots must be preprocessed).

        ``point_px`` > 0 draws squares of that half-size at the centres (point mode); ``sprites``
        draws point sprites instead of quads (the cheaper interactive path).
        """
        stop = self.slots if stop is None else min(stop, self.slots)
        if stop <= start:
            return
        target = (float(target_size[0]), float(target_size[1]))
        if sprites and point_px <= 0.0:
            set_uniforms(self.pipeline.sprites, u_target=target)
            self.ctx.enable(moderngl.PROGRAM_POINT_SIZE)
            self._sprite_vao.render(moderngl.POINTS, vertices=stop - start, first=start)
            return
        if start != self._vao_first:  # instanced attributes have no "first": point them at the slot
            for buffer, name in zip(self._attributes, _ATTRIBUTES):
                location = self.pipeline.draw[name].location
                self._vao.bind(location, "f", buffer, "4f", offset=start * 16, divisor=1)
            self._vao_first = start
        set_uniforms(self.pipeline.draw, u_target=target, u_point_px=point_px)
        self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=stop - start)

    def release(self) -> None:
        for obj in [self._vao, self._sprite_vao, self._fbo, *self._attributes, *self._textures]:
            if obj is not None:
                obj.release()
        self._textures, self._attributes = [], []
        self._fbo, self._vao, self._sprite_vao = None, None, None
        self._rows, self._degree = 0, -1

    # the textures in allocation order: geometry planes, SH planes, preprocess targets, selection, order
    _geom = property(lambda self: self._textures[:GEOMETRY_PLANES])
    _sh = property(lambda self: self._textures[GEOMETRY_PLANES : GEOMETRY_PLANES + sh_planes(self._degree)])
    _targets = property(lambda self: self._textures[-5:-2])
    _selection = property(lambda self: self._textures[-2])
    _order = property(lambda self: self._textures[-1])

    def _allocate(self, rows: int, degree: int) -> Iterator[None]:
        """Textures, targets and buffers for ``rows`` texture rows, pausing after each (allocating
        a million splats' worth takes a while on a software GL). An abandoned allocation leaves
        nothing that :meth:`release` does not free."""
        self.release()
        ctx = self.ctx
        for size, components, dtype in (
            *[((TEX_W, rows), 4, "f4")] * GEOMETRY_PLANES,
            *[((TEX_W * SH_PLANE_TEXELS, rows), 4, "f2")] * sh_planes(degree),
            *[((TEX_W, rows), 4, "f4")] * 3,  # the preprocess targets
            ((TEX_W, rows), 1, "f1"),
            ((TEX_W, rows), 1, "u4"),
        ):
            texture = ctx.texture(size, components, dtype=dtype)
            texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._textures.append(texture)
            yield
        for _ in range(3):
            self._attributes.append(ctx.buffer(reserve=rows * TEX_W * 16))
            yield
        self._fbo = ctx.framebuffer(color_attachments=self._targets)
        self._vao = ctx.vertex_array(self.pipeline.draw, [(b, "4f/i", n) for b, n in zip(self._attributes, _ATTRIBUTES)])
        self._vao_first = 0
        self._sprite_vao = ctx.vertex_array(self.pipeline.sprites, [(b, "4f", n) for b, n in zip(self._attributes, _ATTRIBUTES)])
        self._rows, self._degree = rows, degree
