"""Datasets engines learn from."""

from engines.data.nerf_synthetic import Views, has_split, load_views, split_file

__all__ = ["Views", "has_split", "load_views", "split_file"]
