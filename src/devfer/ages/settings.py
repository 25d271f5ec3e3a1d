"""What the ages stage reads from the config."""

from __future__ import annotations

from dataclasses import dataclass, field

from devfer.train.settings import AugmentSettings


@dataclass(frozen=True)
class GroupSpec:
    """One age group as configured: half-open [min, max); max None = no upper bound."""

    name: str
    min: float
    max: float | None = None


@dataclass(frozen=True)
class AgeTrainSettings:
    """What the estimator's weights depend on; groups only re-bucket, threads only run."""

    seed: int
    model: str = "resnet50"
    pretrained: str = "none"
    head: str = "dex"
    max_age: float = 80.0
    l1_weight: float = 0.1
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.001
    weight_decay: float = 0.0001
    patience: int | None = None
    device: str = "auto"
    precision: str = "auto"  # training autocast (`devfer.device.autocast_dtype`)
    augment: AugmentSettings = field(default_factory=AugmentSettings)


@dataclass(frozen=True)
class AgePredictSettings:
    groups: tuple[GroupSpec, ...]
    # estimated, labelled, truth (a simulation's answer key) or known years
    age_source: str | float = "estimated"
    device: str = "auto"
