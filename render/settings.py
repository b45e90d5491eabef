"""``RenderSettings``: how the viewport draws a document; the studio edits these, the CLI sets a few."""

from __future__ import annotations

from dataclasses import dataclass

from render.helpers import SELECTION_COLOR, Gizmo


@dataclass(frozen=True)
class RenderSettings:
    """How the viewport draws; the studio edits these, the CLI sets a few."""

    background: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RGB 0-1
    selection_color: tuple[float, float, float] = SELECTION_COLOR[:3]  # RGB 0-1: outlines, tint of selected splats
    max_sh_degree: int = 3  # cap on the SH degree evaluated (0 = flat colours)
    point_mode: bool = False  # splats drawn as their centres only
    point_size_px: float = 3.0  # for point mode and point-cloud layers
    wireframe: bool = False  # edges over meshes
    lit_meshes: bool = True  # False: meshes in their own colours, unlit (to judge a baked texture)
    show_grid: bool = False
    show_axes: bool = False
    grid_extent: float = 10.0
    grid_step: float = 1.0
    selected: frozenset[str] = frozenset()  # layer ids outlined with their bounds
    gizmo: Gizmo | None = None
    adaptive: bool = False  # reduce resolution while the camera moves (interactive viewport)
    frame_budget_ms: float = 80.0  # adaptive target per frame
    wait_for_sort: bool = True  # block for a fresh depth order; False: draw the last order, sort behind
    progressive: bool = False  # spend about refine_budget_ms per call; later calls finish the picture
    refine_budget_ms: float = 40.0
