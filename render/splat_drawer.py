"""The drawer of splat layers (``GaussianCloud``): textures, a depth order kept by a sort thread,
and uploads of big clouds a band of texture rows at a time (see :mod:`render.splats`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from render.drawers import Drawer, DrawerResources, register_drawer
from render.settings import RenderSettings
from render.sorting import DepthSorter
from render.splats import TEX_W, SplatBuffers, SplatDrawParams, SplatPipeline
from scene.document import LayerDisplay
from scene.gaussians import GaussianCloud

UPLOAD_ROWS = 32  # texture rows (32k splats, ~15 ms on a 2-core CPU) a staged upload writes per step


@dataclass
class _Staging:
    """A big cloud on its way to the GPU a step per call, into buffers not drawn yet."""

    data: GaussianCloud
    buffers: SplatBuffers
    steps: Iterator[None]


class SplatDrawer(Drawer):
    """One splat layer on the GPU, drawn in the blended pass (a :class:`render.drawers.BlendedDrawer`)."""

    blended = True

    def __init__(self, resources: DrawerResources) -> None:
        super().__init__(resources)
        self.buffers = SplatBuffers(resources.programs(SplatPipeline))
        self.sorter = DepthSorter(resources.executor)
        self.has_order = False
        self._sh_degree = 0
        self._staging: _Staging | None = None

    @property
    def count(self) -> int:
        """Draw slots."""
        return self.buffers.slots

    def upload(self, cloud: GaussianCloud) -> None:
        self.cancel_upload()
        self.has_order = self.has_order and self.buffers.count == cloud.count  # an old order still fits the same count
        self.buffers.upload(cloud)
        self._uploaded(cloud)

    def upload_within(self, cloud: GaussianCloud, budget_end: float) -> bool:
        """A cloud too big to upload within the budget goes up a band of rows per call into new
        buffers (the old ones keep drawing) and replaces them once it is all there."""
        if budget_end == math.inf or cloud.count <= UPLOAD_ROWS * TEX_W:
            self.upload(cloud)
            return True
        staging = self._staging
        if staging is None or staging.data is not cloud:
            self.cancel_upload()
            buffers = SplatBuffers(self.buffers.pipeline)
            staging = self._staging = _Staging(cloud, buffers, buffers.upload_steps(cloud, UPLOAD_ROWS))
        for _ in staging.steps:  # one step at least
            if time.perf_counter() >= budget_end:
                return False
        self.buffers.release()
        self.buffers, self._staging, self.has_order = staging.buffers, None, False
        self._uploaded(cloud)
        return True

    def cancel_upload(self) -> None:
        if self._staging is not None:
            self._staging.buffers.release()
            self._staging = None

    @property
    def busy(self) -> bool:
        return self._staging is not None or self.sorter.busy

    @property
    def sorting(self) -> bool:
        return self.sorter.busy

    def sort(self, depth_row: np.ndarray, wait: bool, need_order: bool) -> tuple[bool, bool]:
        """Ask for the back-to-front order seen along ``depth_row`` (row 2 of view @ model).

        ``wait`` blocks for the order of this view; ``need_order`` blocks until there is an order
        of the current cloud at all (a whole picture). Returns (a sort started, the order changed).
        """
        started = self.sorter.request(depth_row)
        order = self.sorter.poll(wait=wait or (need_order and not self.has_order))
        if order is None and need_order and not self.has_order:  # that sort was for older data
            self.sorter.request(depth_row)
            order = self.sorter.poll(wait=True)
        if order is not None:
            self.buffers.set_order(order)
            self.has_order = True
        return started, order is not None

    def set_selection(self, mask: np.ndarray | None) -> bool:
        return self.buffers.set_selection(mask)

    def draw_params(self, model: np.ndarray, display: LayerDisplay, settings: RenderSettings) -> SplatDrawParams:
        """What this layer's picture depends on besides the camera."""
        degree = min(settings.max_sh_degree, self._sh_degree)
        return SplatDrawParams(model, degree, display.splat_scale, display.opacity_scale, settings.selection_color, self.pose)

    def preprocess(self, camera_uniforms: dict, params: SplatDrawParams, until: int | None = None) -> None:
        self.buffers.preprocess(camera_uniforms, params, until)

    def draw_slots(self, target_size: tuple[int, int], point_px: float, sprites: bool, start: int, stop: int) -> None:
        self.buffers.draw(target_size, point_px, sprites, start, stop)

    def release(self) -> None:
        self.cancel_upload()
        self.buffers.release()

    def _uploaded(self, cloud: GaussianCloud) -> None:
        self._sh_degree = cloud.sh_degree
        self.sorter.set_points(cloud.means)


register_drawer("splats", SplatDrawer)
