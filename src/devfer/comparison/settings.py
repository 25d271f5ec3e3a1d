"""What the model-zoo comparison reads from the config (`comparison:`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from devfer import CLASSES
from devfer.train.settings import AffectHeadSettings, AugmentSettings


@dataclass(frozen=True)
class ComparisonSettings:
    """Everything a comparison run's weights and scores depend on (not which backbone)."""

    dataset: str
    seed: int = 2026  # the study's seed: folds are dealt with it
    size: int = 48
    channels: int = 1
    classes: tuple[str, ...] = CLASSES
    split: str = "folds"  # or "dataset"
    folds: int = 3
    val_share: float = 0.15
    pretrained: str = "none"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.001
    weight_decay: float = 0.0001
    dropout: float = 0.3
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    valence_arousal: AffectHeadSettings = field(default_factory=AffectHeadSettings)
    device: str = "auto"


@dataclass(frozen=True)
class ScoreSettings:
    """How the runs are scored: intervals and the fairness audit."""

    classes: tuple[str, ...] = CLASSES
    n_boot: int = 200
    fairness: tuple[str, ...] = ("sex", "skin_tone", "age_group")
    n_permutations: int = 500
    seed: int = 2026


@dataclass(frozen=True)
class CostSettings:
    size: int = 48
    channels: int = 1
    num_classes: int = 7
    batch: int = 64
    repeats: int = 20
    device: str = "auto"


def replicate_name(seed: int, fold: int | None) -> str:
    """A run's folder name: `seed2026-fold0`, or `seed2026` on the dataset's own split."""
    return f"seed{seed}" if fold is None else f"seed{seed}-fold{fold}"


def parse_replicate(name: str) -> tuple[int, int | None]:
    seed, _, fold = name.partition("-fold")
    return int(seed.removeprefix("seed")), int(fold) if fold else None
