"""The expression classifiers: a timm backbone with a Dropout + Linear head, and the
combined distance loss they are trained with.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from devfer.backbones import create_backbone


class ExpressionNet(nn.Module):
    """Backbone features -> Dropout(p) -> Linear(features -> classes).

    forward returns (embedding, logits): the distance loss acts on the embedding.
    """

    def __init__(
        self,
        architecture: str = "resnet18",
        num_classes: int = 7,
        dropout: float = 0.5,
        pretrained: str = "none",
        frozen: Sequence[str] = (),
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        # 0 classes: pooled features. in_chans 1: a grayscale stem.
        self.backbone = create_backbone(architecture, 0, pretrained, in_chans)
        self.dropout = nn.Dropout(dropout)
        # Pooled features; MobileNetV3's and a few others' pass a head conv after pooling.
        features = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.fc = nn.Linear(features, num_classes)
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
    ) -> None:
        super().__init__()
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
        """A training step for devfer.train.fit: loss and the number of correct predictions."""
        embedding, logits = model(x)
        loss = self(embedding, logits, y)
        # Summed here, divided by the number of images per epoch: the accuracy.
        return loss, {"accuracy": float((logits.argmax(dim=1) == y).sum())}


def class_balance(labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(class weights n / (K * n_k), per-sample sampling weights 1 / n_k) for imbalanced data."""
    counts = torch.bincount(labels, minlength=num_classes).float()
    present = counts > 0
    weights = torch.zeros(num_classes)
    weights[present] = labels.numel() / (present.sum() * counts[present])
    return weights, 1.0 / counts[labels]
