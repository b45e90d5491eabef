"""Settings of score distillation, one dataclass for every SDS prior (the engines' configs nest it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engines.priors.sds import TimestepRange, Weighting


@dataclass(frozen=True)
class SDSSettings:
    guidance_scale: float = 100.0
    """Classifier-free guidance: how hard the prior pulls towards the prompt (text: 50-100; a
    reference image: 3-5)."""
    negative_prompt: str = ""
    """What the render should not look like (text priors)."""
    timesteps: TimestepRange = field(default_factory=TimestepRange)
    """Noise levels drawn each step; the top anneals down over the run."""
    weighting: Weighting = "sds"
    """``w(t)``: "sds" = 1 - alpha_bar(t) as DreamFusion; "uniform" = 1."""
    view_prompts: bool = True
    """Append "front/side/back/overhead view" from the camera (against many-faced objects)."""
