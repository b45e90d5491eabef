"""The viewport renderer: draws a :class:`scene.Document` into any moderngl framebuffer.

* :class:`Renderer` with :class:`RenderSettings` draws a whole document (splats sorted back to
  front, meshes, points, grid, gizmo, selection) and caches GPU state per layer: one drawer per
  payload kind, found by the kind's name (:mod:`render.drawers`; a new kind registers its own).
* :func:`render_image` / :class:`OffscreenRenderer` render headless (EGL) to a numpy image.
* :mod:`render.controllers` moves cameras (orbit, pan, zoom, fly, frame bounds); pure maths.
* :mod:`render.video` renders videos along any cameras (turntables, camera paths) to MP4 or numbered PNGs.

Needs GL 3.3 core; nothing here assumes EGL except :mod:`render.context`.
"""

from render.controllers import FlyController, OrbitController, frame_bounds
from render.helpers import Gizmo, pick_gizmo_axis
from render.offscreen import OffscreenRenderer, render_image
from render.renderer import FrameStats, Renderer
from render.settings import RenderSettings

__all__ = [
    "FlyController",
    "FrameStats",
    "Gizmo",
    "OffscreenRenderer",
    "OrbitController",
    "RenderSettings",
    "Renderer",
    "frame_bounds",
    "pick_gizmo_axis",
    "render_image",
]
