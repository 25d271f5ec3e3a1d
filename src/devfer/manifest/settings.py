"""What the manifest stage reads from the config: one dataset's description."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SplitSettings:
    train: float = 0.7
    val: float = 0.15
    test: float = 0.15
    respect_source: bool = True  # keep a dataset's own test split

    @property
    def fractions(self) -> dict[str, float]:
        return {"train": self.train, "val": self.val, "test": self.test}


@dataclass(frozen=True)
class DatasetSettings:
    """One entry of `datasets:`, with its root resolved (the simulation's folder or `root`)."""

    name: str
    format: str
    root: str
    labels: dict[str, str | None] | None = None
    subject_pattern: str | None = None
    split: SplitSettings = field(default_factory=SplitSettings)
    csv_files: dict[str, str] | None = None  # AffectNet: CSV per source split
    image_dir: str | None = None  # AffectNet and csv: where image paths start (under root)
    csv: str | None = None  # fer2013 and csv: the CSV file
    columns: dict[str, str] | None = None  # csv: which column holds what
