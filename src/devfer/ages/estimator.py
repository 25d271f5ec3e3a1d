"""Age estimation: a timm backbone with a DEX-style head.

DEX head: the network scores a grid of ages; the estimate is the expected age under the
softmax, and summing the softmax over a group's ages gives the probability that the face
belongs to that group -- a direct measure of how close an image is to a boundary.
Training targets are Gaussian label distributions around the true age (narrow for
children, whose ages differ visibly from year to year, wider for adults), plus an L1
term on the expected age.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from devfer.ages.groups import AgeGroup

# Inference batch: only speed and memory depend on it (a fixed size keeps runs repeatable).
INFERENCE_BATCH = 64


def age_bins(max_age: float = 80.0) -> torch.Tensor:
    """Ages the DEX head scores: half-years through childhood, whole years after 18."""
    child = np.arange(0.0, 18.0, 0.5)
    adult = np.arange(18.0, max_age + 1.0, 1.0)
    return torch.tensor(np.concatenate([child, adult]), dtype=torch.float32)


def label_sigma(age: torch.Tensor) -> torch.Tensor:
    """Width of the target distribution: 0.5 y at birth growing to ~4 y at 60."""
    return 0.5 + 0.06 * age


def soft_targets(age: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    d = (bins.view(1, -1) - age.view(-1, 1)) / label_sigma(age).view(-1, 1)
    w = torch.exp(-0.5 * d**2)
    return w / w.sum(dim=1, keepdim=True)


class AgeHead:
    """Turns network outputs into losses and age estimates, for 'dex' or 'regression'."""

    REGRESSION_SCALE = 20.0  # years per output unit: keeps the regression target near 1

    def __init__(self, kind: str = "dex", max_age: float = 80.0, l1_weight: float = 0.1) -> None:
        if kind not in ("dex", "regression"):
            raise ValueError(f"unknown age head '{kind}'; use 'dex' or 'regression'")
        self.kind = kind
        self.bins = age_bins(max_age)
        self.l1_weight = l1_weight

    @property
    def n_outputs(self) -> int:
        return len(self.bins) if self.kind == "dex" else 1

    def expected(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(expected age, probabilities over bins or None)."""
        out = out.float()
        if self.kind == "regression":
            return out.view(-1) * self.REGRESSION_SCALE, None
        prob = F.softmax(out, dim=1)
        return prob @ self.bins.to(out.device), prob

    def step(self, model: nn.Module, x: torch.Tensor, age: torch.Tensor):
        out = model(x)
        pred, prob = self.expected(out)
        error = (pred - age).abs()
        if self.kind == "regression":
            loss = F.smooth_l1_loss(pred / self.REGRESSION_SCALE, age / self.REGRESSION_SCALE)
        else:
            target = soft_targets(age, self.bins.to(out.device))
            ce = -(target * torch.log(prob.clamp_min(1e-12))).sum(dim=1).mean()
            loss = ce + self.l1_weight * error.mean() / self.REGRESSION_SCALE
        return loss, {"mae": float(error.detach().sum())}


@torch.no_grad()
def predict_ages(
    model: nn.Module,
    head: AgeHead,
    images: torch.Tensor,
    groups: Sequence[AgeGroup],
    batch_size: int = INFERENCE_BATCH,
    device: torch.device | str = "cpu",
    sigma_fallback: float = 3.0,
) -> pd.DataFrame:
    """Expected age, its spread and the probability of each group, per image (uint8 input)."""
    from devfer.data import normalise, to_float

    model.eval().to(device)
    preds, sds, group_probs = [], [], []
    for start in range(0, len(images), batch_size):
        x = normalise(to_float(images[start : start + batch_size]).to(device))
        pred, prob = head.expected(model(x))
        if prob is None:
            # Regression gives a point only: spread it as a Gaussian of the validation error.
            sd = torch.full_like(pred, sigma_fallback)
            probs = _gaussian_group_probs(pred, sd, groups)
        else:
            bins = head.bins.to(prob.device)
            sd = torch.sqrt((prob * (bins.view(1, -1) - pred.view(-1, 1)) ** 2).sum(1))
            member = torch.stack([((bins >= g.lo) & (bins < g.hi)).float() for g in groups], dim=1)
            probs = prob @ member
        preds.append(pred.cpu())
        sds.append(sd.cpu())
        group_probs.append(probs.cpu())
    pred = torch.cat(preds).numpy() if preds else np.zeros(0)
    out = pd.DataFrame({"age_pred": pred, "age_sd": torch.cat(sds).numpy() if sds else pred})
    gp = torch.cat(group_probs).numpy() if group_probs else np.zeros((0, len(groups)))
    for k, g in enumerate(groups):
        out[f"p_{g.name}"] = gp[:, k]
    return out


def _gaussian_group_probs(
    mean: torch.Tensor, sd: torch.Tensor, groups: Sequence[AgeGroup]
) -> torch.Tensor:
    normal = torch.distributions.Normal(mean, sd)
    cols = []
    for g in groups:
        hi = torch.ones_like(mean) if math.isinf(g.hi) else normal.cdf(torch.full_like(mean, g.hi))
        lo = normal.cdf(torch.full_like(mean, g.lo)) if g.lo > 0 else torch.zeros_like(mean)
        cols.append(hi - lo)
    probs = torch.stack(cols, dim=1)
    return probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-12)
