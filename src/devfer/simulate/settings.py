"""Typed settings of the simulation, mirroring the config schema's ``simulation`` block.

The defaults are the schema's, so a settings object built from a validated config and one
built from defaults render the same faces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SimulatedDataset:
    """One entry of ``simulation.datasets``: what to write and in which published layout."""

    format: str  # "tif", "affectnet", "utkface" or "fer2013" (48x48 grayscale whatever image_size)
    n_subjects: int
    images_per_subject: int = 1
    age: tuple[float, float] = (0.0, 70.0)  # uniform age range, years
    # Share of subjects drawn from [min age, 18) instead, so every child age group is filled.
    child_share: float = 0.0
    # AffectNet only: extra rows coded contempt / none / uncertain / no-face.
    unusable_share: float = 0.0
    validation_share: float = 0.15  # AffectNet only: share of subjects in validation.csv


@dataclass(frozen=True)
class SimulationSettings:
    """How every simulated face is drawn: the true curve's parameters and the render settings."""

    image_size: int = 128
    midpoint: float = 10.0  # age at which w(age) = 0.5
    steepness: float = 0.8  # slope of the logistic w(age), per year
    infant_similarity: float = 0.3  # part of the adult configuration the infant one shares
    intensity: tuple[float, float] = (0.4, 1.0)  # uniform range of the AU scale
    au_jitter: float = 0.1
    expressiveness: float = 1.0  # how far AUs move features (about 2 for 48 px crops)
    jpeg_quality: int = 92
    valence_arousal_noise: float = 0.1  # annotation noise (SD) on valence and arousal
    # The two developments the study has to tell apart, each switchable (issue 12): with
    # expression development off every age displays the adult prototypes; with face-shape
    # development off every face has the proportions of `shape_age`.
    expression_development: bool = True
    shape_development: bool = True
    shape_age: float = 25.0

    @property
    def displayed_similarity(self) -> float:
        """The infant configurations' adult share as drawn: 1 (all adult) without expression
        development, so every age displays the adult prototypes."""
        return self.infant_similarity if self.expression_development else 1.0

    @property
    def drawn_shape_age(self) -> float | None:
        """The age whose proportions every face takes, or None when face shape develops."""
        return None if self.shape_development else self.shape_age


#: Paired control renderings of the evaluation faces (config `simulation.controls`): the same
#: faces with one development switched off.
CONTROLS = {
    "expression_off": {"expression_development": False},
    "shape_off": {"shape_development": False},
}


def control_settings(settings: SimulationSettings, control: str) -> SimulationSettings:
    """The simulation settings of a control rendering: one development switched off."""
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; valid controls: {', '.join(CONTROLS)}")
    return replace(settings, **CONTROLS[control])
