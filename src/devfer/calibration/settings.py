"""What the calibration study reads from the config (`calibration:`)."""

from __future__ import annotations

from dataclasses import dataclass

#: The known truths the analysis is checked against (see `devfer.calibration.outcomes`).
SCENARIOS = (
    "flat",
    "linear",
    "transition",
    "rise_fall",
    "shape_only",
    "shape_and_expression",
)


@dataclass(frozen=True)
class CalibrationSettings:
    seed: int = 2026
    n_studies: int = 20  # simulated studies per scenario (200 for the published table)
    n_boot: int = 100  # bootstrap resamples per interval, as evaluation.transition_boot
    subjects: int = 600  # when the study's own predictions are not there to copy
    images_per_subject: int = 3
    child_share: float = 0.5  # of subjects aged [0, 18) rather than [18, 70)
    subject_spread: float = 0.5  # how far a subject's accuracy strays from the curve (0-1)
    seeds: int = 1  # trained models per model name (the config default: the study's seeds)
    seed_agreement: float = 0.6  # correlation of one image's correctness between two seeds
    # Correlation of a model's correctness on an image and on its control rendering.
    control_agreement: float = 0.6
    seed_shift_sd: float = 1.0  # SD of a trained model's transition age around the truth (y)
    seed_level_sd: float = 0.04  # SD of a trained model's accuracy level around the truth
    midpoint: float = 9.0  # true transition age of the transition scenario
    # The effect size of a transition: accuracy before and after it, and its logistic scale
    # (years; 10 % to 90 % of the change takes 4.4 times this).
    levels: tuple[float, float] = (0.25, 0.75)
    transition_scale: float = 1.5
    peak: float = 12.0  # true peak age of the rise-and-fall scenario
