"""Writing numpy values into shader uniforms, and the camera uniforms every pass shares."""

from __future__ import annotations

import numpy as np

import moderngl

from scene.camera import Camera


def set_uniforms(program: moderngl.Program, **values: object) -> None:
    """Assign uniforms by name; matrices are numpy arrays in maths (row-major) order.

    Names the compiler optimised away are skipped, so one call can serve several programs.
    """
    for name, value in values.items():
        if name not in program:
            continue
        if isinstance(value, np.ndarray) and value.ndim == 2:
            program[name].write(np.ascontiguousarray(value.T, dtype=np.float32).tobytes())
        elif isinstance(value, np.ndarray):
            program[name].value = tuple(float(v) for v in value.ravel())
        else:
            program[name].value = value


def camera_uniforms(camera: Camera) -> dict[str, object]:
    """The uniforms of ``shaders/projection.glsl`` (and friends) for ``camera``."""
    proj = camera.projection()
    return {
        "u_view_cv": camera.w2c_opencv(),
        "u_focal": (camera.fx, camera.fy),
        "u_principal": camera.principal_point,
        "u_viewport": (float(camera.width), float(camera.height)),
        "u_near_far": (camera.near, camera.far),
        "u_campos": camera.position,
        "u_proj_z": (proj[2, 2], proj[2, 3]),
        "u_target": (float(camera.width), float(camera.height)),
    }
