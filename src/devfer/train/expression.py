"""The expression classifiers: a timm backbone with a Dropout + Linear head (and optionally
a valence-arousal head beside it), and the combined distance loss they are trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from devfer.backbones import create_backbone


class ExpressionNet(nn.Module):
    """Backbone features -> Dropout(p) -> Linear(features -> classes).

    forward returns (embedding, logits): the distance loss acts on the embedding. With
    `affect`, a second head maps the same features to (valence, arousal) in [-1, 1]
    (`valence_arousal`), without the dropout: dropped-out features make the training
    predictions noisier than the evaluation's, and a concordance loss answers by shrinking
    them (adult valence CCC 0.80 with the dropout, 0.87 without). Without `affect` the model
    is built exactly as before, so its weights and training do not change.
    """

    def __init__(
        self,
        architecture: str = "resnet18",
        num_classes: int = 7,
        dropout: float = 0.5,
        pretrained: str = "none",
        frozen: Sequence[str] = (),
        in_chans: int = 3,
        affect: bool = False,
    ) -> None:
        super().__init__()
        # 0 classes: pooled features. in_chans 1: a grayscale stem.
        self.backbone = create_backbone(architecture, 0, pretrained, in_chans)
        self.dropout = nn.Dropout(dropout)
        # Pooled features; MobileNetV3's and a few others' pass a head conv after pooling.
        features = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.fc = nn.Linear(features, num_classes)
        self.va = nn.Linear(features, 2) if affect else None
        for name in frozen:
            module = getattr(self.backbone, name, None)
            if module is None:
                raise ValueError(f"{architecture} has no layer '{name}' to freeze")
            for p in module.parameters():
                p.requires_grad_(False)

    @property
    def embedding_dim(self) -> int:
        return self.fc.in_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.backbone(x)
        return embedding, self.fc(self.dropout(embedding))

    @property
    def has_affect(self) -> bool:
        return self.va is not None

    def valence_arousal(self, embedding: torch.Tensor) -> torch.Tensor:
        """(N, 2) valence and arousal in [-1, 1] from `forward`'s embedding."""
        if self.va is None:
            raise RuntimeError("this model has no valence-arousal head")
        return torch.tanh(self.va(embedding).float())


AFFECT_COLUMNS = ("valence", "arousal")


def affect_targets(labels: torch.Tensor, rows: pd.DataFrame) -> torch.Tensor:
    """Rows of (class, valence, arousal) from class indices and the rows' annotations (NaN
    where a row has none, or the table no such column): what `split_targets` takes apart."""
    va = rows.reindex(columns=list(AFFECT_COLUMNS)).to_numpy("float32", na_value=np.nan)
    return torch.cat([labels.float()[:, None], torch.tensor(va)], dim=1)


def split_targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(class indices, valence-arousal targets or None) from a batch's targets: class indices
    alone, or rows of (class, valence, arousal) with NaN where an image has no annotation."""
    if y.ndim == 1:
        return y, None
    return y[:, 0].long(), y[:, 1:3]


def concordance(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Lin's concordance correlation with population (1/n) moments, differentiable."""
    mp, mt = pred.mean(), true.mean()
    cov = ((pred - mp) * (true - mt)).mean()
    denom = pred.var(unbiased=False) + true.var(unbiased=False) + (mp - mt) ** 2
    return 2 * cov / denom.clamp_min(1e-8)


class AffectLoss:
    """The valence-arousal loss: per dimension over the images annotated in it, the mean
    squared error or 1 - CCC (a batch concordance needs two annotated images), averaged over
    the dimensions that have data; zero (with a graph) when none has."""

    def __init__(self, weight: float = 1.0, kind: str = "mse") -> None:
        if kind not in ("mse", "ccc"):
            raise ValueError(f"valence_arousal.loss must be mse or ccc, not {kind!r}")
        self.weight = weight
        self.kind = kind

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        terms = []
        for d in range(2):
            known = torch.isfinite(target[:, d])
            p, t = pred[known, d], target[known, d].float()
            if len(t) < (2 if self.kind == "ccc" else 1):
                continue
            terms.append((p - t).pow(2).mean() if self.kind == "mse" else 1 - concordance(p, t))
        return torch.stack(terms).mean() if terms else pred.sum() * 0.0


class CombinedDistanceLoss(nn.Module):
    r"""Cross-entropy plus a distance term on the embeddings, with learnable class centres.

        L = CE_eps(z, y) + lambda * (L_pull + L_push)
        L_pull = 1/(2N) * sum_i ||f_i - c_{y_i}||^2
        L_push = 2/(K(K-1)) * sum_{j<k} max(0, m - ||c_j - c_k||)^2

    CE_eps is cross-entropy with label smoothing eps (and optional class weights), f_i the
    embedding of image i, c_k the centre of class k, m the margin. The pull term draws each
    embedding to its class centre; the push term keeps centres at least m apart.
    """

    def __init__(
        self,
        num_classes: int,
        dim: int,
        lam: float = 0.0,
        margin: float = 2.0,
        label_smoothing: float = 0.0,
        class_weights: torch.Tensor | None = None,
        seed: int = 0,
        affect: AffectLoss | None = None,
    ) -> None:
        super().__init__()
        self.affect = affect
        gen = torch.Generator().manual_seed(seed)
        self.centres = nn.Parameter(0.1 * torch.randn(num_classes, dim, generator=gen))
        self.lam = lam
        self.margin = margin
        self.label_smoothing = label_smoothing
        self.register_buffer("class_weights", class_weights)

    def pull(self, embedding: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * (embedding - self.centres[target]).pow(2).sum(dim=1).mean()

    def push(self) -> torch.Tensor:
        k = self.centres.shape[0]
        i, j = torch.triu_indices(k, k, offset=1, device=self.centres.device)
        dist = (self.centres[i] - self.centres[j]).pow(2).sum(dim=1).clamp_min(1e-12).sqrt()
        return F.relu(self.margin - dist).pow(2).mean()

    def forward(
        self, embedding: torch.Tensor, logits: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        ce = F.cross_entropy(
            logits.float(),
            target,
            weight=self.class_weights,
            label_smoothing=self.label_smoothing,
        )
        if self.lam == 0:
            return ce
        return ce + self.lam * (self.pull(embedding.float(), target) + self.push())

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
        """A training step for devfer.train.fit: loss and the number of correct predictions
        (and, with a valence-arousal head, the regression loss's batch sum)."""
        target, va = split_targets(y)
        embedding, logits = model(x)
        loss = self(embedding, logits, target)
        # Summed here, divided by the number of images per epoch: the accuracy.
        stats = {"accuracy": float((logits.argmax(dim=1) == target).sum())}
        if self.affect is not None and va is not None:
            reg = self.affect(model.valence_arousal(embedding), va)
            loss = loss + self.affect.weight * reg
            stats["va_loss"] = float(reg.detach()) * len(x)
        return loss, stats


def class_balance(labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(class weights n / (K * n_k), per-sample sampling weights 1 / n_k) for imbalanced data.
    `labels` may be targets with valence and arousal beside the class (`split_targets`)."""
    labels = split_targets(labels)[0]
    counts = torch.bincount(labels, minlength=num_classes).float()
    present = counts > 0
    weights = torch.zeros(num_classes)
    weights[present] = labels.numel() / (present.sum() * counts[present])
    return weights, 1.0 / counts[labels]
