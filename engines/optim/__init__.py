"""Optimizing Gaussians: the trainable model, densification strategy, losses and checkpoints."""

from engines.optim.checkpoint import load_training, restore_training, save_training, training_state
from engines.optim.losses import photometric_loss, psnr, ssim
from engines.optim.model import PARAM_NAMES, GaussianModel, LearningRates
from engines.optim.step import optimization_step
from engines.optim.strategy import DensifyStrategy

__all__ = [
    "PARAM_NAMES",
    "DensifyStrategy",
    "GaussianModel",
    "LearningRates",
    "load_training",
    "optimization_step",
    "photometric_loss",
    "psnr",
    "restore_training",
    "save_training",
    "ssim",
    "training_state",
]
