"""Where a prior is asked to look from: angles relative to the object or the reference view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class View:
    """A camera around the object: azimuth (degrees, 0 = front, positive to the object's left),
    elevation (degrees, positive above), distance; ``camera`` is the full camera, for priors that
    render (oracles)."""

    azimuth: float = 0.0
    elevation: float = 0.0
    radius: float = 1.0
    camera: Any = None


def view_direction(view: View) -> str:
    """The view-dependent prompt suffix (DreamFusion's remedy for many-faced "Janus" objects):
    "overhead" above 60 degrees, else "front" within 45 degrees of the front, "back" within 45 of
    the back, "side" between."""
    if view.elevation > 60:
        return "overhead"
    azimuth = (view.azimuth + 180.0) % 360.0 - 180.0
    if abs(azimuth) <= 45:
        return "front"
    if abs(azimuth) >= 135:
        return "back"
    return "side"


def directional_prompts(prompt: str, views: Sequence[View]) -> list[str]:
    """``prompt`` with each view's direction appended: "a corgi, side view"."""
    return [f"{prompt}, {view_direction(view)} view" for view in views]
