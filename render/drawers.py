"""One drawer per payload kind: the registry the renderer dispatches on, and what drawers share.

A :class:`Drawer` owns the GPU state of one layer: it uploads the layer's payload and draws it,
either in the opaque pass (writing depth, before the splats: meshes, points) or, when
``blended``, in the blended splat pass (sorted back to front; see :class:`BlendedDrawer`). The
renderer finds a layer's drawer class by the name of its payload kind
(``scene.kinds.kind_of(payload).name``) and knows no payload classes, so a new kind is drawn by
registering a drawer for its name (:func:`register_drawer`) in the module that defines it. The
built-in drawers register themselves in :mod:`render.meshes`, :mod:`render.points`,
:mod:`render.splat_drawer` and :mod:`render.clip_drawer`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable, ClassVar, Hashable, Protocol, TypeVar

import numpy as np

import moderngl

from render.settings import RenderSettings
from render.splats import SplatDrawParams
from scene.camera import Camera
from scene.document import LayerDisplay
from scene.kinds import kind_of

P = TypeVar("P")


class DrawerResources:
    """What every drawer of one renderer shares: the GL context, the shader programs of each
    drawer family (made on first use, once per context) and the thread that sorts splats."""

    def __init__(self, ctx: moderngl.Context, executor: Executor) -> None:
        self.ctx = ctx
        self.executor = executor
        self._programs: dict[Callable, object] = {}

    def programs(self, factory: Callable[[moderngl.Context], P]) -> P:
        """The programs ``factory(ctx)`` makes (a pipeline class with a ``release()``), made once."""
        if factory not in self._programs:
            self._programs[factory] = factory(self.ctx)
        return self._programs[factory]  # type: ignore[return-value]

    def release(self) -> None:
        for programs in self._programs.values():
            programs.release()
        self._programs.clear()


@dataclass(frozen=True)
class OpaqueView:
    """What an opaque drawer needs to draw its layer."""

    view_proj: np.ndarray  # [4, 4] world -> clip
    model: np.ndarray  # [4, 4] layer -> world
    camera: Camera
    settings: RenderSettings


class Drawer:
    """GPU state and drawing of one layer's payload, for one payload kind."""

    blended: ClassVar[bool] = False  # True: drawn in the blended splat pass (a BlendedDrawer)

    def __init__(self, resources: DrawerResources) -> None:
        self.resources = resources

    @staticmethod
    def has_content(payload: object) -> bool:
        """Whether ``payload`` has anything to draw; an empty one (a job's layer before its first
        snapshot) gets no drawer at all, since GL has no zero-sized buffers."""
        return kind_of(payload).count(payload) > 0

    def upload(self, payload: object) -> None:
        """Copy ``payload`` to the GPU (replacing what was there)."""
        raise NotImplementedError

    def upload_within(self, payload: object, budget_end: float) -> bool:
        """Go on uploading ``payload`` until ``time.perf_counter()`` reaches ``budget_end``; True once
        it is all there (until then the drawer still draws the previous payload). Uploads it at once
        unless a drawer knows better."""
        self.upload(payload)
        return True

    def cancel_upload(self) -> None:
        """Drop an upload :meth:`upload_within` left unfinished (the layer went back to what is drawn)."""

    @property
    def busy(self) -> bool:
        """Work under way (an upload in steps, a sort) that a later frame must finish."""
        return False

    def set_time(self, time: float) -> None:
        """Show the payload as it is at document ``time`` seconds (kinds that change over time)."""

    @property
    def pose(self) -> Hashable:
        """What the picture of the payload depends on at the time set (None: the same at every time)."""
        return None

    def draw(self, view: OpaqueView) -> None:
        """Draw in the opaque pass (depth test and writes set by the caller); blended drawers don't."""
        raise NotImplementedError

    def release(self) -> None:
        """Free the GPU objects."""
        raise NotImplementedError


class BlendedDrawer(Protocol):
    """What a drawer of the blended splat pass offers besides :class:`Drawer`'s: its primitives
    are sorted per view, preprocessed, and blended back to front by draw slot, a range of slots
    at a time (progressive frames): :class:`render.splat_drawer.SplatDrawer` and its clip variant."""

    blended: ClassVar[bool]
    count: int  # draw slots
    has_order: bool  # a depth order is there to draw with
    sorting: bool  # a sort is running

    def sort(self, depth_row: np.ndarray, wait: bool, need_order: bool) -> tuple[bool, bool]:
        """Ask for the order seen along ``depth_row``; returns (a sort started, the order changed)."""
        ...

    def set_selection(self, mask: np.ndarray | None) -> bool:
        """Tint the primitives where ``mask`` is set; True when that changed what is drawn."""
        ...

    def draw_params(self, model: np.ndarray, display: LayerDisplay, settings: RenderSettings) -> SplatDrawParams: ...

    def preprocess(self, camera_uniforms: dict, params: SplatDrawParams, until: int | None = None) -> None: ...

    def draw_slots(self, target_size: tuple[int, int], point_px: float, sprites: bool, start: int, stop: int) -> None: ...


_DRAWERS: dict[str, type[Drawer]] = {}


def register_drawer(kind_name: str, drawer: type[Drawer]) -> type[Drawer]:
    """Draw layers whose payload kind is named ``kind_name`` with ``drawer``; ValueError if that
    kind has a drawer already."""
    if kind_name in _DRAWERS:
        raise ValueError(f"payload kind {kind_name!r} already has a drawer: {_DRAWERS[kind_name].__name__}")
    _DRAWERS[kind_name] = drawer
    return drawer


def drawer_for(payload: object) -> type[Drawer]:
    """The drawer class of ``payload``'s kind; LookupError naming the kinds that have drawers."""
    name = kind_of(payload).name
    try:
        return _DRAWERS[name]
    except KeyError:
        known = ", ".join(sorted(_DRAWERS)) or "none"
        raise LookupError(
            f"no drawer for payload kind {name!r} ({type(payload).__name__}): register one with "
            f"render.drawers.register_drawer; kinds with drawers: {known}"
        ) from None


__all__ = ["BlendedDrawer", "Drawer", "DrawerResources", "OpaqueView", "drawer_for", "register_drawer"]
