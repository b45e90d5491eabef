"""Meshes from Gaussians, DreamGaussian's stage 2.

- ``density.py``: the Gaussians' opacity-weighted density sampled on a regular grid.
- ``extract.py``: a clean, closed, decimated triangle mesh from that density (marching cubes).
- ``uv_bake.py``: UV atlas and texture baking.
- ``animated.py``: an animated GLB of a clip: the canonical splats' mesh skinned to their motion.
"""
