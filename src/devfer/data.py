"""Aligned faces in memory, in batches, with augmentation done on whole batches.

Crops come from the faces stage's store (uint8, N x S x S x 3). A training set of the
embedded study is a few tens of MB, so it is held as one uint8 tensor; a batch is an
index into it, converted and augmented with tensor ops, so no worker processes or
image decoding sit between the store and the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from devfer.train.settings import AugmentSettings

# ImageNet statistics: the same normalisation whether or not weights are pretrained.
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_faces(
    faces_table: str | Path, manifest: str | Path, store: str | Path
) -> tuple[pd.DataFrame, np.ndarray]:
    """Join a dataset's faces table to its manifest; return (rows with a crop, store)."""
    faces = pd.read_parquet(faces_table)
    meta = pd.read_parquet(manifest)
    rows = meta.merge(
        faces[["image_id", "status", "align_method", "crop_index"]], on="image_id", how="inner"
    )
    rows = rows[(rows["status"] == "ok") & (rows["crop_index"] >= 0)].reset_index(drop=True)
    return rows, np.load(store, mmap_mode="r")


def crops_tensor(store: np.ndarray, crop_index: np.ndarray) -> torch.Tensor:
    """The selected crops as one uint8 tensor (N, 3, S, S), read in store order."""
    order = np.argsort(crop_index, kind="stable")
    picked = np.empty((len(crop_index), *store.shape[1:]), dtype=np.uint8)
    picked[order] = store[np.asarray(crop_index)[order]]  # sorted reads: sequential on disk
    return torch.from_numpy(picked).permute(0, 3, 1, 2).contiguous()


@dataclass
class FaceBatches:
    """Images (uint8) and targets, iterated in batches of normalised float tensors."""

    images: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augment: AugmentSettings | None = None,
        sampler_weights: torch.Tensor | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.images)
        if sampler_weights is not None:
            order = torch.multinomial(sampler_weights, n, replacement=True, generator=generator)
        elif shuffle:
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            x = to_float(self.images[idx])
            if augment is not None:
                x = augment_batch(x, augment, generator)
            yield normalise(x), self.targets[idx]


def to_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255.0)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """ImageNet normalisation; a one-channel (grayscale) batch takes the channels' means,
    as timm does for a stem adapted to one channel."""
    if x.shape[1] == 1:
        return (x - MEAN.mean()) / STD.mean()
    return (x - MEAN.to(x.device)) / STD.to(x.device)


#: Where the aligned template puts the eyes, in grid_sample coordinates (x, y in [-1, 1]).
_EYES = torch.tensor([[-0.27, -0.07], [0.27, -0.07]])


def proportion_warp(q: torch.Tensor, strength: float, uniform) -> torch.Tensor:
    """Randomly re-proportion aligned faces: the age cues a model must not key on.

    `q` is an (N, H, W, 2) sampling grid. Per image, three smooth monotone warps, each drawn
    up to `strength`: both eyes magnified or shrunk (infants' eyes are large for the face), the
    face's vertical middle moved up or down (the forehead and cranium against the lower face),
    and the centre of the face widened or narrowed against the cheeks (baby fat). Each warp is
    monotone (no folds) and moves the template's landmarks little, so expressions stay readable.
    """
    n = q.shape[0]
    x, y = q[..., 0], q[..., 1]
    dy = (0.5 * strength * uniform(-1, 1)).view(n, 1, 1)
    dx = (0.5 * strength * uniform(-1, 1)).view(n, 1, 1)
    y = y + dy * (1.0 - y * y)
    x = x * (1.0 + dx * (1.0 - x * x))
    m = (strength * uniform(-1, 1)).view(n, 1, 1)
    for ex, ey in _EYES.tolist():
        # Positive m samples closer to the eye centre: the eye is magnified.
        g = torch.exp(-((x - ex) ** 2 + (y - ey) ** 2) / 0.02)
        x = ex + (x - ex) * (1.0 - m * g)
        y = ey + (y - ey) * (1.0 - m * g)
    return torch.stack([x, y], dim=-1)


def augment_batch(
    x: torch.Tensor, cfg: AugmentSettings, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip, small rotation, random resized crop, stretch, proportion warp and colour jitter,
    per image, in one pass.

    x is (N, C, H, W) in [0, 1], C = 3 (RGB) or 1 (grayscale). Geometry is one
    affine_grid/grid_sample call for the batch.
    """
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    angle = uniform(-1, 1) * math.radians(float(cfg.rotation))
    lo_scale, hi_scale = cfg.scale
    # Area scale -> side scale; a crop of side s is a zoom by 1/s.
    side = torch.sqrt(uniform(float(lo_scale), float(hi_scale)))
    room = 1.0 - side
    tx, ty = uniform(-1, 1) * room, uniform(-1, 1) * room
    flip = torch.where(torch.rand(n, generator=generator) < (0.5 if cfg.flip else 0.0), -1.0, 1.0)
    # Anisotropic stretch: face proportions change with age, so an expression classifier
    # that must not read age off the face shape is shown every shape (width / height by a).
    log_stretch = math.log1p(float(cfg.stretch))
    aspect = torch.exp(uniform(-1, 1) * log_stretch)
    sx, sy = torch.sqrt(aspect), 1.0 / torch.sqrt(aspect)
    cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
    theta = torch.stack(
        [
            torch.stack([cos * flip * sx, -sin * sy, tx], 1),
            torch.stack([sin * flip * sx, cos * sy, ty], 1),
        ],
        1,
    )
    warp = float(cfg.proportions)
    if warp > 0:
        # Non-linear proportion warp in face coordinates, then the affine augmentation.
        identity = torch.eye(2, 3).expand(n, 2, 3).to(x.dtype)
        q = proportion_warp(
            F.affine_grid(identity, list(x.shape), align_corners=False), warp, uniform
        )
        grid = torch.einsum("nhwk,njk->nhwj", q, theta[:, :, :2].to(x.dtype))
        grid = grid + theta[:, :, 2].to(x.dtype).view(n, 1, 1, 2)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    elif bool((angle != 0).any() or (side != 1).any() or (flip != 1).any() or log_stretch > 0):
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    strength = float(cfg.color)
    if strength > 0:
        b = uniform(1 - strength, 1 + strength).view(n, 1, 1, 1)
        c = uniform(1 - strength, 1 + strength).view(n, 1, 1, 1)
        s = uniform(1 - strength, 1 + strength).view(n, 1, 1, 1)
        grey = x.mean(dim=1, keepdim=True)
        x = grey + (x - grey) * s
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * c + mean) * b
        x = x.clamp_(0.0, 1.0)
    return x
