"""The optimizer's settings as plain dataclasses: densification thresholds and learning rates.

They live outside :mod:`engines.optim` (which imports torch) so that engine configs can nest them
(``ReconstructConfig.densify``, ``ReconstructConfig.learning_rates``) while listing engines, building
the CLI and the GUI's forms stays free of torch. :class:`engines.optim.DensifyStrategy` adds the
densification itself to :class:`DensifySettings`; :class:`engines.optim.GaussianModel` takes a
:class:`LearningRates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engines.fields import FieldError, check_fields


@dataclass
class DensifySettings:
    """Clone, split, prune and opacity-reset thresholds (defaults: 3DGS / gsplat for 30k steps)."""

    grow_grad2d: float = field(default=2e-4, metadata={"min": 0.0})
    """Mean screen-space gradient norm (half-image units) above which a Gaussian grows."""
    grow_scale3d: float = field(default=0.01, metadata={"min": 0.0})
    """Largest scale, as a fraction of the scene scale, below which growing clones, else splits."""
    prune_opa: float = field(default=0.005, metadata={"min": 0.0, "max": 1.0})
    """Opacity below which a Gaussian is removed."""
    prune_scale3d: float = field(default=0.1, metadata={"min": 0.0})
    """Largest scale, as a fraction of the scene scale, above which a Gaussian is removed."""
    refine_start: int = field(default=500, metadata={"min": 0})
    """Steps before the first densification (it happens after this step)."""
    refine_stop: int = field(default=15_000, metadata={"min": 0})
    """Step from which the cloud is only optimized, no longer densified."""
    refine_every: int = field(default=100, metadata={"min": 1})
    """Steps between densifications."""
    reset_every: int = field(default=3000, metadata={"min": 0})
    """Steps between opacity resets (0: never)."""
    max_splats: int = field(default=1_000_000, metadata={"min": 1})
    """The count never grows beyond this."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LearningRates:
    """Per-group Adam learning rates (3DGS defaults; the means' are multiplied by the scene scale)."""

    means: float = field(default=1.6e-4, metadata={"min": 0.0})
    """Initial learning rate of the centres, in scene-scale units per step."""
    means_final: float = field(default=1.6e-6, metadata={"min": 0.0})
    """Learning rate of the centres at the last step (reached exponentially)."""
    log_scales: float = field(default=5e-3, metadata={"min": 0.0})
    """Learning rate of the log-scales."""
    quats: float = field(default=1e-3, metadata={"min": 0.0})
    """Learning rate of the rotations (quaternions)."""
    opacity_logits: float = field(default=5e-2, metadata={"min": 0.0})
    """Learning rate of the opacities (as logits)."""
    sh_dc: float = field(default=2.5e-3, metadata={"min": 0.0})
    """Learning rate of the base colours (the SH's constant band)."""
    sh_rest: float = field(default=2.5e-3 / 20, metadata={"min": 0.0})
    """Learning rate of the view-dependent colour bands (3DGS: a twentieth of the base colour's)."""

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("means", "means_final"):  # the means' rate decays exponentially between the two
            if getattr(self, name) <= 0:
                raise FieldError(name, f"must be positive, got {getattr(self, name):g}")
