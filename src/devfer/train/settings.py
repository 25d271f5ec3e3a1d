"""What the train stage reads from the config: augmentation, one model's block, the grid."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AugmentSettings:
    """Batch augmentation (`augment:` of a model or of the age estimator)."""

    flip: bool = True
    rotation: float = 8.0  # degrees
    scale: tuple[float, float] = (0.85, 1.0)  # area of the random crop
    color: float = 0.15
    stretch: float = 0.0  # aspect change, so a model cannot key on face proportions
    proportions: float = 0.0  # eye size, face height split, face width (`proportion_warp`)


@dataclass(frozen=True)
class AffectHeadSettings:
    """The valence-arousal head of an expression model (`valence_arousal:`)."""

    enabled: bool = False
    weight: float = 1.0  # against the class loss
    loss: str = "mse"  # or "ccc": 1 - CCC per dimension


@dataclass(frozen=True)
class ModelSettings:
    """One expression model (`models.infant` or `models.adult`)."""

    dataset: str
    architecture: str = "resnet18"
    pretrained: str = "none"
    age_groups: tuple[str, ...] | None = None  # train only on faces of these groups
    frozen: tuple[str, ...] = ()
    dropout: float = 0.5
    lr: float = 0.0005
    weight_decay: float = 0.0005
    label_smoothing: float = 0.0
    distance_lambda: float = 0.0
    distance_margin: float = 2.0
    epochs: int = 28
    patience: int | None = None
    batch_size: int = 32
    balance: str = "none"  # none, weights or sampler
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    valence_arousal: AffectHeadSettings = field(default_factory=AffectHeadSettings)
    use_grid_best: bool = False


@dataclass(frozen=True)
class GridPoint:
    lr: float
    dropout: float
    weight_decay: float


@dataclass(frozen=True)
class GridSettings:
    lr: tuple[float, ...] = (0.0001, 0.001)
    dropout: tuple[float, ...] = (0.3, 0.6)
    weight_decay: tuple[float, ...] = (0.0, 0.001)
    epochs: int | None = None  # epochs per grid point; None: the model's own
    in_study: bool = False

    @property
    def points(self) -> list[GridPoint]:
        return [
            GridPoint(lr=lr, dropout=d, weight_decay=wd)
            for lr in self.lr
            for d in self.dropout
            for wd in self.weight_decay
        ]


@dataclass(frozen=True)
class TrainModelSettings:
    """Everything one expression model's weights depend on (not the other model's block)."""

    name: str
    model: ModelSettings
    device: str = "auto"
    precision: str = "auto"  # training autocast (`devfer.device.autocast_dtype`)
    grid_epochs: int | None = None  # used by grid points only
