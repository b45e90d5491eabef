"""Image formation of Gaussian splats: the constants every renderer of splats shares.

The training rasterizers (gsplat on CUDA, ours in PyTorch: ``engines.rasterizer``) and the
viewport's shaders (``render/`` and ``shaders/``, which get these as GLSL ``const float``) draw
splats by the same rules, gsplat 1.5's, written here once:

* EWA projection; the Jacobian is taken at the centre clamped to ``1 + FOV_MARGIN`` times the field
  of view; ``EPS2D`` px^2 is added to the diagonal of every 2D covariance (a low-pass filter).
* ``alpha = min(ALPHA_MAX, opacity * exp(-d^T S^-1 d / 2))``; fragments with ``alpha < ALPHA_MIN``
  are skipped.
* Extent rule: a splat reaches ``min(EXTEND, sqrt(2 ln(opacity / ALPHA_MIN)))`` standard deviations
  (beyond that its alpha is under ``ALPHA_MIN``); one with ``opacity < ALPHA_MIN`` is culled.
* Front to back, a pixel stops before the fragment that would leave transmittance ``<= T_MIN``.
  The viewport blends back to front and cannot stop early; what it adds is weighted by less than
  ``T_MIN / (1 - ALPHA_MAX)`` of transmittance, invisible in 8-bit colour for any usual opacity.
"""

from __future__ import annotations

ALPHA_MAX = 0.999  # a fragment's alpha is clamped to at most this (gsplat 1.5's CUDA kernel)
ALPHA_MIN = 1.0 / 255.0  # fragments with less alpha are skipped
EPS2D = 0.3  # px^2 low-pass added to every 2D covariance diagonal (gsplat's eps2d, antialiased=False)
EXTEND = 3.33  # the farthest a splat reaches, in standard deviations (gsplat's bounding-box cap)
FOV_MARGIN = 0.3  # the EWA Jacobian is evaluated at the centre clamped to (1 + this) x the field of view
T_MIN = 1e-4  # front-to-back compositing stops before the fragment that would leave this little transmittance


def constants() -> dict[str, float]:
    """Every constant above by name (the shaders receive them as ``const float``)."""
    return {name: value for name, value in globals().items() if name.isupper()}


__all__ = ["ALPHA_MAX", "ALPHA_MIN", "EPS2D", "EXTEND", "FOV_MARGIN", "T_MIN", "constants"]
