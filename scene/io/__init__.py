"""File formats of Atelier4D: PLY (splats, meshes, points), .splat, GLB/glTF and OBJ.

``load``, ``save`` and ``sniff_kind`` pick the format from the extension; the per-format
readers and writers are exported too. Every reader raises ``FormatError`` for bad input and
every writer writes atomically (``atomic_output``).
"""

from scene.io.atomic import atomic_output
from scene.io.errors import FormatError
from scene.io.formats import READ_EXTENSIONS, WRITE_EXTENSIONS, dialog_filter, load, save, sniff_kind
from scene.io.meshes import read_mesh, texture_to_vertex_colors, write_glb, write_obj
from scene.io.ply import ply_kind, read_ply, write_gaussians_ply, write_mesh_ply, write_points_ply
from scene.io.splat import read_splat, write_splat

__all__ = [
    "READ_EXTENSIONS",
    "WRITE_EXTENSIONS",
    "FormatError",
    "atomic_output",
    "dialog_filter",
    "load",
    "ply_kind",
    "read_mesh",
    "read_ply",
    "read_splat",
    "save",
    "sniff_kind",
    "texture_to_vertex_colors",
    "write_gaussians_ply",
    "write_glb",
    "write_mesh_ply",
    "write_obj",
    "write_points_ply",
    "write_splat",
]
