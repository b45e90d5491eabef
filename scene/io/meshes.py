"""Mesh files through trimesh: GLB/glTF and OBJ read, GLB and OBJ written, as ``MeshAsset``.

Conventions bridged here: ``MeshAsset`` uvs follow glTF (v = 0 at the top of the image) while
trimesh uses OpenGL's v = 0 at the bottom, so v is flipped on the way in and out. trimesh runs
with ``process=False`` so vertex order is kept.

A file with several meshes becomes one ``MeshAsset``: scene-graph transforms are applied and
the parts concatenated. When every part is textured with the same image the texture is kept;
otherwise (different textures, or textured and untextured parts mixed) every part gets vertex
colours, sampled from its texture at the vertices (so texture detail between vertices is lost),
and parts without colour are white. A material's base-colour factor is used as the colour of an
untextured part and ignored when a texture is present. Normals are recomputed from the faces.

Nothing is sized by what a file claims before it is checked against the bytes there: a glTF's
structure by ``scene.io.gltf_checks``, the files a mesh names (MTL, textures, buffers) by the
resolver given to trimesh, which reads regular files only and refuses image bombs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import trimesh
from PIL import Image
from trimesh.exchange.obj import export_obj
from trimesh.resolvers import FilePathResolver
from trimesh.visual import ColorVisuals, TextureVisuals
from trimesh.visual.material import PBRMaterial

from scene.io.atomic import atomic_output, atomic_outputs
from scene.io.errors import FormatError
from scene.io.gltf_checks import check_glb, check_gltf
from scene.io.images import refuse_image_bomb
from scene.mesh import MeshAsset

PathLike = Union[str, os.PathLike]

MESH_FILE_TYPES = {".glb": "glb", ".gltf": "gltf", ".obj": "obj"}


# ------------------------------------------------------------------------------ colour
def texture_to_vertex_colors(mesh: MeshAsset) -> np.ndarray:
    """RGBA colours ``[V, 4]`` in 0-1 of a textured mesh: its texture at each vertex's uv.

    Nearest texel, uvs wrapped (glTF's default ``REPEAT``), v = 0 at the image's top row.
    """
    if mesh.texture is None or mesh.uvs is None:
        raise ValueError("texture_to_vertex_colors: the mesh has no texture")
    height, width = mesh.texture.shape[:2]
    uv = np.mod(mesh.uvs.astype(np.float64), 1.0)
    cols = np.minimum((uv[:, 0] * width).astype(np.int64), width - 1)
    rows = np.minimum((uv[:, 1] * height).astype(np.int64), height - 1)
    texels = mesh.texture[rows, cols].astype(np.float32) / 255.0
    if texels.shape[1] == 3:
        texels = np.concatenate([texels, np.ones((len(texels), 1), np.float32)], axis=1)
    return texels


def _image_array(image: Image.Image) -> np.ndarray:
    """An ``[H, W, 3|4]`` uint8 array (row 0 at the top) of any PIL image."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)


# ------------------------------------------------------------------------------ trimesh <-> MeshAsset
def from_trimesh(part: trimesh.Trimesh) -> MeshAsset:
    """A ``MeshAsset`` of one trimesh mesh, with its texture or colours."""
    vertices, faces = np.asarray(part.vertices), np.asarray(part.faces)
    visual = part.visual
    if isinstance(visual, TextureVisuals):
        material = visual.material
        # glTF materials (PBRMaterial) keep the image as baseColorTexture, OBJ ones (SimpleMaterial) as image.
        image = getattr(material, "baseColorTexture", None)
        if image is None:
            image = getattr(material, "image", None)
        if visual.uv is not None and image is not None:
            uv = np.asarray(visual.uv, dtype=np.float64)
            uvs = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)
            return MeshAsset(vertices, faces, uvs=uvs, texture=_image_array(image))
        color = getattr(material, "main_color", None)
        if color is None:
            return MeshAsset(vertices, faces)
        colors = np.tile(np.asarray(color, np.float32)[:4] / 255.0, (len(vertices), 1))
        return MeshAsset(vertices, faces, vertex_colors=colors)
    if isinstance(visual, ColorVisuals) and visual.kind in ("vertex", "face"):
        return MeshAsset(vertices, faces, vertex_colors=np.asarray(visual.vertex_colors, np.float32) / 255.0)
    return MeshAsset(vertices, faces)


def to_trimesh(mesh: MeshAsset, material_name: str = "material") -> trimesh.Trimesh:
    """A trimesh mesh with the same geometry, normals and texture or vertex colours."""
    visual = None
    if mesh.is_textured:
        uv = np.stack([mesh.uvs[:, 0], 1.0 - mesh.uvs[:, 1]], axis=1)
        # Baked colour is the whole look: not metal (glTF's default metallic is 1, which renders dark).
        material = PBRMaterial(
            name=material_name, baseColorTexture=Image.fromarray(mesh.texture), metallicFactor=0.0, roughnessFactor=1.0
        )
        visual = TextureVisuals(uv=uv, material=material)
    elif mesh.vertex_colors is not None:
        visual = ColorVisuals(vertex_colors=np.round(np.clip(mesh.vertex_colors, 0, 1) * 255).astype(np.uint8))
    return trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_normals=mesh.normals, visual=visual, process=False)


def merge_meshes(parts: list[MeshAsset]) -> MeshAsset:
    """One mesh of all ``parts`` (see the module docstring for how textures are merged)."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [p.vertex_count for p in parts[:-1]])
    vertices = np.concatenate([p.vertices for p in parts])
    faces = np.concatenate([p.faces.astype(np.int64) + o for p, o in zip(parts, offsets)])
    normals = np.concatenate([p.normals for p in parts])
    first = parts[0].texture
    if first is not None and all(p.texture is not None and np.array_equal(p.texture, first) for p in parts):
        return MeshAsset(vertices, faces, normals, uvs=np.concatenate([p.uvs for p in parts]), texture=first)
    if all(p.texture is None and p.vertex_colors is None for p in parts):
        return MeshAsset(vertices, faces, normals)
    colors = [
        texture_to_vertex_colors(p)
        if p.is_textured
        else p.vertex_colors
        if p.vertex_colors is not None
        else np.ones((p.vertex_count, 4), np.float32)
        for p in parts
    ]
    return MeshAsset(vertices, faces, normals, vertex_colors=np.concatenate(colors))


# ------------------------------------------------------------------------------ reading
class _Companions(FilePathResolver):
    """trimesh's resolver of the files a mesh names (an OBJ's MTL and texture, a glTF's buffers and
    images) that reads regular files only (not a folder, a device or a pipe) and refuses an image
    claiming more pixels than its bytes can hold. trimesh swallows a texture's errors, so the
    refusal is kept in ``refused`` for ``read_mesh`` to raise."""

    def __init__(self, source: PathLike) -> None:
        super().__init__(os.fspath(source))
        self.refused: FormatError | None = None

    def absolute(self, name: str) -> Path:
        path = super().absolute(name)
        if path.exists() and not path.is_file():
            raise ValueError(f"{name!r} is not a file")
        return path

    def get(self, name: str) -> bytes:
        data = super().get(name)
        try:
            refuse_image_bomb(data, Path(self.parent) / name.strip())
        except FormatError as exc:
            self.refused = self.refused or exc
            raise
        return data


def read_mesh(path: PathLike) -> MeshAsset:
    """Read a ``.glb``, ``.gltf`` or ``.obj`` file (an OBJ's MTL texture beside it is used)."""
    suffix = Path(path).suffix.lower()
    if suffix not in MESH_FILE_TYPES:
        raise FormatError(path, f"{suffix or 'no extension'} is not a mesh format read with trimesh")
    try:
        if suffix == ".glb":
            check_glb(path)
        elif suffix == ".gltf":
            check_gltf(path)
        companions = _Companions(path)
        file_type = MESH_FILE_TYPES[suffix]
        scene = trimesh.load_scene(os.fspath(path), file_type=file_type, process=False, resolver=companions)
        if companions.refused is not None:
            raise companions.refused
        geometries = scene.dump(concatenate=False)
        parts = [from_trimesh(g) for g in geometries if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    except FormatError:
        raise
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # trimesh raises many kinds of errors on corrupt files
        raise FormatError(path, f"not a valid {suffix[1:].upper()} file ({type(exc).__name__}: {exc})") from None
    if not parts:
        raise FormatError(path, "the file holds no triangle mesh")
    try:
        return merge_meshes(parts)
    except ValueError as exc:
        raise FormatError(path, str(exc)) from None


# ------------------------------------------------------------------------------ writing
def write_glb(path: PathLike, mesh: MeshAsset) -> None:
    """Write ``mesh`` as a binary glTF with normals and its texture (PNG) or vertex colours."""
    data = to_trimesh(mesh).export(file_type="glb", include_normals=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def write_obj(path: PathLike, mesh: MeshAsset) -> None:
    """Write ``mesh`` as OBJ; a texture goes to ``<stem>.mtl`` and ``<stem>.png`` beside it.

    The files are replaced together, only once all are written, so a failure leaves the old set
    whole. OBJ vertex colours are RGB: alpha is dropped.
    """
    target = Path(path)
    text, extra_files = export_obj(
        to_trimesh(mesh, material_name=target.stem),
        include_normals=True,
        include_texture=True,
        return_texture=True,
        mtl_name=f"{target.stem}.mtl",
    )
    files = {target: text.encode("utf-8"), **{target.with_name(name): data for name, data in extra_files.items()}}
    with atomic_outputs(list(files)) as temps:
        for tmp, data in zip(temps, files.values()):
            tmp.write_bytes(data)
