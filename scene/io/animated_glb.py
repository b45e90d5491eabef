"""Animated GLB: meshes that move over time, played by a glTF animation. Two forms:

- :func:`write_morph_glb`, one mesh whose vertices move: the mesh is written as
  :func:`scene.io.meshes.write_glb` writes it (trimesh: texture or vertex colours, normals), then
  pygltflib adds one morph target per frame and a ``weights`` animation. Target ``k`` holds frame
  ``k``'s vertex positions (and normals) minus the mesh's own, so with target ``k`` at weight 1 and
  every other at 0 the mesh stands as at frame ``k``. The animation puts each frame's target at
  weight 1 at its time, linearly blended between neighbouring frames (every vertex goes along a
  straight line from one frame to the next). Blender imports the targets as shape keys named
  ``frame_0000 ...`` (``extras.targetNames``) and plays the animation as their action. At rest (no
  animation playing) the mesh shows the first frame (``mesh.weights``).
- :func:`write_flipbook_glb`, a different mesh for each frame (nothing to blend between them): one
  node per frame, shown during its frame and scaled to nothing otherwise (a ``scale`` animation
  with ``STEP`` interpolation, which Blender imports as constant keys). At rest the first frame shows.
"""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np
import pygltflib
import trimesh

from scene.io.atomic import atomic_output
from scene.io.errors import FormatError
from scene.io.meshes import to_trimesh
from scene.mesh import MeshAsset

PathLike = Union[str, os.PathLike]


def write_morph_glb(
    path: PathLike,
    mesh: MeshAsset,
    positions: np.ndarray,  # [F, V, 3] each frame's vertex positions
    times: np.ndarray,  # [F] seconds, strictly increasing, from 0 up
    normals: np.ndarray | None = None,  # [F, V, 3] each frame's vertex normals; None: the mesh's throughout
    name: str = "clip",
) -> None:
    """Write ``mesh`` moving through ``positions`` at ``times`` as an animated binary glTF.

    ValueError for arrays that do not fit together, FormatError for a path that cannot be written
    (the file that was there is left as it was)."""
    positions = np.asarray(positions, dtype=np.float32)
    times = np.asarray(times, dtype=np.float32)
    frames = len(times)
    if positions.shape != (frames, mesh.vertex_count, 3):
        raise ValueError(
            f"animated GLB: expected positions of {frames} frames x {mesh.vertex_count} vertices x 3, "
            f"got {list(positions.shape)}"
        )
    if normals is not None and np.shape(normals) != positions.shape:
        raise ValueError(f"animated GLB: normals must have the positions' shape, got {list(np.shape(normals))}")
    _check_times(times)
    if not np.isfinite(positions).all():
        raise ValueError("animated GLB: vertex positions must be finite")
    gltf, blob = _exported(to_trimesh(mesh))
    primitive = gltf.meshes[0].primitives[0]
    position_deltas = positions - mesh.vertices[None]
    primitive.targets = [pygltflib.Attributes(POSITION=a) for a in _targets(gltf, blob, position_deltas, bounds=True)]
    if normals is not None:
        normal_deltas = np.asarray(normals, dtype=np.float32) - mesh.normals[None]
        for target, accessor in zip(primitive.targets, _targets(gltf, blob, normal_deltas, bounds=False)):
            target.NORMAL = accessor
    gltf.meshes[0].weights = [1.0] + [0.0] * (frames - 1)
    gltf.meshes[0].extras = {"targetNames": [f"frame_{k:04d}" for k in range(frames)]}
    node = next(i for i, n in enumerate(gltf.nodes) if n.mesh == 0)
    gltf.nodes[node].name = gltf.meshes[0].name = name
    key_times = _accessor(gltf, blob, times, pygltflib.SCALAR, bounds=True)
    key_weights = _accessor(gltf, blob, np.eye(frames, dtype=np.float32).reshape(-1), pygltflib.SCALAR)
    sampler = pygltflib.AnimationSampler(input=key_times, output=key_weights, interpolation="LINEAR")
    channel = pygltflib.AnimationChannel(sampler=0, target=pygltflib.AnimationChannelTarget(node=node, path="weights"))
    gltf.animations = [pygltflib.Animation(name=name, samplers=[sampler], channels=[channel])]
    _save(path, gltf, blob)


def write_flipbook_glb(path: PathLike, meshes: Sequence[MeshAsset], times: np.ndarray, name: str = "clip") -> None:
    """Write ``meshes[k]`` shown from ``times[k]`` (seconds, strictly increasing, from 0 up) until
    the next frame, as an animated binary glTF; a mesh without faces shows nothing for its frame.
    Errors as :func:`write_morph_glb`'s."""
    times = np.asarray(times, dtype=np.float32)
    if len(meshes) != len(times):
        raise ValueError(f"animated GLB: {len(meshes)} meshes for {len(times)} frame times")
    _check_times(times)
    frames = [k for k, mesh in enumerate(meshes) if mesh.face_count]
    if not frames:
        raise ValueError("animated GLB: no frame has a mesh to show")
    scene = trimesh.Scene()
    names = [f"frame_{k:04d}" for k in frames]
    for k, frame in zip(frames, names):
        scene.add_geometry(to_trimesh(meshes[k], material_name=frame), node_name=frame, geom_name=frame)
    gltf, blob = _exported(scene)
    nodes = [next(i for i, node in enumerate(gltf.nodes) if node.name == frame) for frame in names]
    shown = np.eye(len(meshes), dtype=np.float32)[frames]  # [node, key]: 1 while the node's frame plays
    for node, visible in zip(nodes, shown):
        gltf.nodes[node].scale = [float(visible[0])] * 3
    key_times = _accessor(gltf, blob, times, pygltflib.SCALAR, bounds=True)
    samplers = [
        pygltflib.AnimationSampler(
            input=key_times, output=_accessor(gltf, blob, np.repeat(visible, 3).reshape(-1, 3), pygltflib.VEC3),
            interpolation="STEP",
        )
        for visible in shown
    ]
    channels = [
        pygltflib.AnimationChannel(sampler=i, target=pygltflib.AnimationChannelTarget(node=node, path="scale"))
        for i, node in enumerate(nodes)
    ]
    gltf.animations = [pygltflib.Animation(name=name, samplers=samplers, channels=channels)]
    _save(path, gltf, blob)


def _check_times(times: np.ndarray) -> None:
    """ValueError unless ``times`` can key an animation."""
    if len(times) == 0 or not np.isfinite(times).all() or times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError("animated GLB: frame times must be at least one, finite, from 0 up and strictly increasing")


def _exported(geometry: trimesh.Trimesh | trimesh.Scene) -> tuple[pygltflib.GLTF2, bytearray]:
    """``geometry`` exported by trimesh as GLB, opened with pygltflib, and its binary chunk to extend."""
    gltf = pygltflib.GLTF2.load_from_bytes(geometry.export(file_type="glb", include_normals=True))
    for mesh in gltf.meshes:
        for primitive in mesh.primitives:
            _mark_vertex_views(gltf, primitive)
    return gltf, bytearray(gltf.binary_blob() or b"")


def _save(path: PathLike, gltf: pygltflib.GLTF2, blob: bytearray) -> None:
    """Write ``gltf`` with ``blob`` as its binary chunk to ``path``, atomically."""
    gltf.buffers[0].byteLength = len(blob)
    gltf.set_binary_blob(bytes(blob))
    try:
        with atomic_output(path) as tmp:
            tmp.write_bytes(b"".join(gltf.save_to_bytes()))
    except OSError as exc:
        raise FormatError(path, f"cannot be written ({exc.strerror or exc})") from None


def _mark_vertex_views(gltf: pygltflib.GLTF2, primitive: pygltflib.Primitive) -> None:
    """Give the buffer views of a primitive's vertex and index data their target, and vertex views
    their stride (trimesh leaves both out, and shares one view between equal arrays of different
    meshes, where the stride is required)."""
    for index in vars(primitive.attributes).values():
        if index is not None:
            accessor = gltf.accessors[index]
            view = gltf.bufferViews[accessor.bufferView]
            view.target = pygltflib.ARRAY_BUFFER
            view.byteStride = _COMPONENT_BYTES[accessor.componentType] * _WIDTHS[accessor.type]
    gltf.bufferViews[gltf.accessors[primitive.indices].bufferView].target = pygltflib.ELEMENT_ARRAY_BUFFER


_COMPONENT_BYTES = {pygltflib.BYTE: 1, pygltflib.UNSIGNED_BYTE: 1, pygltflib.SHORT: 2, pygltflib.UNSIGNED_SHORT: 2,
                    pygltflib.UNSIGNED_INT: 4, pygltflib.FLOAT: 4}  # fmt: skip
_WIDTHS = {pygltflib.SCALAR: 1, pygltflib.VEC2: 2, pygltflib.VEC3: 3, pygltflib.VEC4: 4}


def _targets(gltf: pygltflib.GLTF2, blob: bytearray, deltas: np.ndarray, bounds: bool) -> list[int]:
    """One VEC3 accessor per frame of ``deltas`` ``[F, V, 3]``, all in one vertex buffer view."""
    deltas = np.asarray(deltas, dtype=np.float32)
    view = _buffer_view(gltf, blob, deltas, pygltflib.ARRAY_BUFFER)
    gltf.bufferViews[view].byteStride = 12  # required when several accessors share a vertex buffer view
    frame_bytes = deltas[0].nbytes
    return [_add_accessor(gltf, view, k * frame_bytes, d, pygltflib.VEC3, bounds) for k, d in enumerate(deltas)]


def _accessor(gltf: pygltflib.GLTF2, blob: bytearray, values: np.ndarray, kind: str, bounds: bool = False) -> int:
    """An accessor of ``values`` in a buffer view of its own (animation data: no buffer target)."""
    return _add_accessor(gltf, _buffer_view(gltf, blob, values, None), 0, values, kind, bounds)


def _buffer_view(gltf: pygltflib.GLTF2, blob: bytearray, values: np.ndarray, target: int | None) -> int:
    """Append ``values`` as float32 to ``blob``, 4-byte aligned, and a buffer view of them."""
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    blob.extend(b"\0" * (-len(blob) % 4))
    view = pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data), target=target)
    gltf.bufferViews.append(view)
    blob.extend(data)
    return len(gltf.bufferViews) - 1


def _add_accessor(gltf: pygltflib.GLTF2, view: int, offset: int, values: np.ndarray, kind: str, bounds: bool) -> int:
    """A float accessor of ``values`` at ``offset`` bytes into buffer view ``view``; ``bounds`` adds min and max."""
    columns = values.reshape(len(values), -1)
    accessor = pygltflib.Accessor(
        bufferView=view, byteOffset=offset, componentType=pygltflib.FLOAT, count=len(columns), type=kind
    )
    if bounds:
        accessor.min = columns.min(axis=0).astype(float).tolist()
        accessor.max = columns.max(axis=0).astype(float).tolist()
    gltf.accessors.append(accessor)
    return len(gltf.accessors) - 1
