"""The registry of payload kinds: what a layer can hold, and how every part of Atelier4D handles it.

A :class:`PayloadKind` says how a payload class turns into named arrays and back (for streaming
and the project file), how it is counted, described, bounded and moved. Code that must treat
payloads differently looks the kind up (:func:`kind_of`, :func:`kind_named`) instead of testing
classes, so adding a kind is one module defining the class plus one :func:`register_kind` call
(:func:`dataclass_kind` builds the kind of a dataclass whose fields are its arrays).
The built-in kinds (splats, mesh, points, clip) are registered here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from operator import attrgetter, methodcaller
from typing import Any, Callable, Mapping

import numpy as np

from scene.clip import GaussianClip, clip_from_arrays, clip_to_arrays
from scene.gaussians import GaussianCloud
from scene.mesh import MeshAsset
from scene.points import PointCloud


@dataclass(frozen=True)
class PayloadKind:
    """One kind of layer payload and the operations every package needs on it."""

    name: str  # stable id, in project manifests and stream notices: "splats", "mesh", "points"
    type: type  # the payload class
    label: str  # for people, as in "a splat layer": "splat", "mesh", "point cloud"
    to_arrays: Callable[[Any], dict[str, np.ndarray]]  # payload -> named arrays (None fields left out)
    from_arrays: Callable[[Mapping[str, np.ndarray]], Any]  # the inverse; validates like the constructor
    count: Callable[[Any], int]  # the number that sizes it: splats, faces, points
    describe: Callable[[Any], str]  # comma-separated facts, the count first: "12,345 splats, SH degree 3"
    transformed: Callable[[Any, np.ndarray], Any]  # the payload with a 4x4 world matrix baked in
    bounds: Callable[[Any], tuple[np.ndarray, np.ndarray]]  # axis-aligned (min, max) in its own space
    project_suffix: str | None = None  # standard format a project stores it in; None: .npz of to_arrays
    selectable: bool = False  # whether single elements can be selected (splats: yes)
    details: Callable[[Any], dict[str, Any]] | None = None  # JSON-ready facts (``atelier4d info``)
    # where the content is, for bounds that ignore floaters (scene.bounds): every ``stride``-th position
    # [n, 3] and its weight [n] (None: equal); None: the kind has no samples and its bounds are used
    samples: Callable[[Any, int], tuple[np.ndarray, np.ndarray | None]] | None = None

    def summary(self, payload: Any) -> dict[str, Any]:
        """JSON-ready facts about ``payload``: the kind's ``details``, or just ``{"count": n}``."""
        return self.details(payload) if self.details else {"count": self.count(payload)}


_KINDS: dict[str, PayloadKind] = {}


def register_kind(kind: PayloadKind) -> PayloadKind:
    """Add ``kind`` to the registry; ValueError if its name or its type is already taken."""
    for known in _KINDS.values():
        if known.name == kind.name or known.type is kind.type:
            raise ValueError(
                f"cannot register payload kind {kind.name!r} ({kind.type.__name__}): "
                f"{known.name!r} ({known.type.__name__}) is already registered"
            )
    _KINDS[kind.name] = kind
    return kind


def payload_kinds() -> tuple[PayloadKind, ...]:
    """Every registered kind, in registration order."""
    return tuple(_KINDS.values())


def _known() -> str:
    return ", ".join(_KINDS) or "none"


def kind_of(payload: object) -> PayloadKind:
    """The kind of ``payload``, by its class or the nearest registered base; TypeError if none."""
    by_type = {kind.type: kind for kind in _KINDS.values()}
    for cls in type(payload).__mro__:
        if cls in by_type:
            return by_type[cls]
    raise TypeError(f"{type(payload).__name__} is not a layer payload type; known kinds: {_known()}")


def kind_named(name: str) -> PayloadKind:
    """The kind registered as ``name``; KeyError naming the known kinds if there is none."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise KeyError(f"no payload kind named {name!r}; known kinds: {_known()}") from None


def is_payload(obj: object) -> bool:
    """Whether ``obj`` is an instance of a registered kind (something a layer may hold)."""
    return isinstance(obj, tuple(kind.type for kind in _KINDS.values()))


# ----------------------------------------------------------------------------- helpers for kinds
def dataclass_arrays(payload: object) -> dict[str, np.ndarray]:
    """A dataclass payload's fields as named arrays, fields that are None left out (a ``to_arrays``)."""
    values = {f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)}
    return {name: value for name, value in values.items() if value is not None}


def dataclass_from_arrays(cls: type) -> Callable[[Mapping[str, np.ndarray]], Any]:
    """A ``from_arrays`` for a dataclass payload: ``cls(**arrays)``, refusing unknown or missing names.

    The class's own validation (``__post_init__``) checks shapes and values; this only makes a
    wrong set of names a ValueError that says which names were expected.
    """
    fields = dataclasses.fields(cls)
    allowed = {f.name for f in fields}
    required = {
        f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }

    def from_arrays(arrays: Mapping[str, np.ndarray]) -> Any:
        names = set(arrays)
        if not required <= names <= allowed:
            raise ValueError(
                f"{cls.__name__}: arrays {sorted(names)} do not match its fields "
                f"(required {sorted(required)}, optional {sorted(allowed - required)})"
            )
        return cls(**{name: np.asarray(arrays[name]) for name in names})

    return from_arrays


def dataclass_kind(
    name: str,
    cls: type,
    label: str,
    *,
    describe: Callable[[Any], str],
    count: Callable[[Any], int] = attrgetter("count"),
    **options: Any,
) -> PayloadKind:
    """The kind of a dataclass payload whose fields are its arrays and which has the methods
    ``bounds()`` and ``transformed(matrix)`` (and a ``count`` property unless ``count`` is given);
    ``options`` are the optional fields of PayloadKind."""
    return PayloadKind(
        name=name,
        type=cls,
        label=label,
        to_arrays=dataclass_arrays,
        from_arrays=dataclass_from_arrays(cls),
        count=count,
        describe=describe,
        transformed=lambda payload, matrix: payload.transformed(matrix),
        bounds=methodcaller("bounds"),
        **options,
    )


def _mesh_colors(mesh: MeshAsset) -> str:
    return "texture" if mesh.is_textured else "vertex" if mesh.vertex_colors is not None else "none"


def _describe_mesh(mesh: MeshAsset) -> str:
    shading = {"texture": "textured", "vertex": "vertex colours", "none": "plain"}[_mesh_colors(mesh)]
    return f"{mesh.face_count:,} faces, {mesh.vertex_count:,} vertices, {shading}"


SPLATS = register_kind(
    dataclass_kind(
        "splats",
        GaussianCloud,
        "splat",
        describe=lambda cloud: f"{cloud.count:,} splats, SH degree {cloud.sh_degree}",
        project_suffix=".ply",
        selectable=True,
        details=lambda cloud: {"count": cloud.count, "sh_degree": cloud.sh_degree},
        samples=lambda cloud, stride: (cloud.means[::stride], 1.0 / (1.0 + np.exp(-cloud.opacity_logits[::stride]))),
    )
)
MESH = register_kind(
    dataclass_kind(
        "mesh",
        MeshAsset,
        "mesh",
        count=attrgetter("face_count"),
        describe=_describe_mesh,
        project_suffix=".glb",
        details=lambda mesh: {"vertices": mesh.vertex_count, "faces": mesh.face_count, "colors": _mesh_colors(mesh)},
    )
)
POINTS = register_kind(
    dataclass_kind(
        "points",
        PointCloud,
        "point cloud",
        describe=lambda points: f"{points.count:,} points",
        samples=lambda points, stride: (points.points[::stride], None),
        project_suffix=".ply",
    )
)


def _clip_details(clip: GaussianClip) -> dict[str, Any]:
    return {
        "count": clip.count,
        "frames": clip.frame_count,
        "fps": clip.fps,
        "duration": round(clip.duration, 6),
        "sh_degree": clip.sh_degree,
        "flipbook": clip.is_flipbook,
        "groups": len(clip.groups),
    }


def _describe_clip(clip: GaussianClip) -> str:
    shown = "flipbook frames" if clip.is_flipbook else "frames"
    return f"{clip.count:,} splats, {clip.frame_count} {shown} at {clip.fps:g} fps, {clip.duration:.2f} s"


CLIP = register_kind(
    PayloadKind(
        name="clip",
        type=GaussianClip,
        label="clip",
        to_arrays=clip_to_arrays,
        from_arrays=clip_from_arrays,
        count=attrgetter("count"),
        describe=_describe_clip,
        transformed=lambda clip, matrix: clip.transformed(matrix),
        bounds=methodcaller("bounds"),
        selectable=True,
        details=_clip_details,
        samples=lambda clip, stride: (
            clip.canonical.means[::stride],
            1.0 / (1.0 + np.exp(-clip.canonical.opacity_logits[::stride])),
        ),
    )
)

__all__ = [
    "CLIP",
    "MESH",
    "POINTS",
    "SPLATS",
    "PayloadKind",
    "dataclass_arrays",
    "dataclass_from_arrays",
    "dataclass_kind",
    "is_payload",
    "kind_of",
    "kind_named",
    "payload_kinds",
    "register_kind",
]
