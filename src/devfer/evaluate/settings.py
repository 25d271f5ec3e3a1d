"""What the evaluate and stats stages read from the config."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluationSettings:
    seed: int
    groups: tuple[str, ...]  # age group names, youngest first
    boundaries: tuple[float, ...]  # ages where one group ends and the next begins
    common_images: bool = True
    reference_mix: str = "pooled"
    n_boot: int = 1000
    transition_boot: int = 200
    boundary_margin: float = 1.0
    spline_df: int = 4
    device: str = "auto"
