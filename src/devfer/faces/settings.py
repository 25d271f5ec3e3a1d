"""What the faces stage reads from the config."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacesSettings:
    """Settings that change the crops (threads and shard count only change how it runs)."""

    size: int = 64
    detect_size: int = 160
    min_prob: float = 0.9
    min_face_size: int = 20
    margin: float = 0.15
    batch_size: int = 32
    max_side: int = 1024
    max_pixels: int = 250_000_000
    device: str = "auto"
    no_face: str = "skip"  # this dataset's policy: skip, center_crop or dataset_box
