"""Predictions of a trained expression model on evaluation faces, with eligibility.

An image is eligible for a model when neither it nor its subject was among the model's
training or validation images (the guard against train/test leakage).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from devfer import CLASSES
from devfer.train.expression import AFFECT_COLUMNS


def eligibility(rows: pd.DataFrame, used_images: Sequence[str]) -> np.ndarray:
    """True where neither the image nor its subject was used to train or validate."""
    used = rows["image_id"].isin(set(used_images))
    used_subjects = set(rows.loc[used & rows["subject_id"].notna(), "subject_id"])
    same_subject = rows["subject_id"].isin(used_subjects) & rows["subject_id"].notna()
    return ~(used | same_subject).to_numpy()


@torch.no_grad()
def model_outputs(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 128, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray | None]:
    """(class probabilities (N, K), valence and arousal (N, 2) or None without that head)."""
    from devfer.data import normalise, to_float

    model.eval().to(device)
    affect = bool(getattr(model, "has_affect", False))
    probs, va = [], []
    for start in range(0, len(images), batch_size):
        x = normalise(to_float(images[start : start + batch_size]).to(device))
        embedding, logits = model(x)
        probs.append(torch.softmax(logits.float(), dim=1).cpu())
        if affect:
            va.append(model.valence_arousal(embedding).cpu())
    if not probs:
        return np.zeros((0, len(CLASSES))), np.zeros((0, 2)) if affect else None
    return torch.cat(probs).numpy(), torch.cat(va).numpy() if affect else None


def class_probabilities(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 128, device: str = "cpu"
) -> np.ndarray:
    return model_outputs(model, images, batch_size, device)[0]


def prediction_frame(
    rows: pd.DataFrame, probs: np.ndarray, eligible: np.ndarray, va: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per image: ids, age, group, label, prediction, class probabilities; with a
    valence-arousal head also the annotations (`valence`, `arousal`, NaN where none) and the
    model's `valence_pred`, `arousal_pred`."""
    pred = np.asarray(CLASSES)[probs.argmax(axis=1)] if len(probs) else np.array([], dtype=str)
    out = pd.DataFrame(
        {
            "image_id": rows["image_id"].to_numpy(),
            "dataset": rows["dataset"].to_numpy(),
            "subject_id": rows["subject_id"].to_numpy(),
            "age": rows["age_pred"].to_numpy(dtype=float),
            "age_group": rows["age_group"].to_numpy(),
            "label": rows["label"].to_numpy(),
            "pred": pred,
            "correct": rows["label"].to_numpy() == pred,
            "eligible": eligible,
        }
    )
    for k, c in enumerate(CLASSES):
        out[f"p_{c}"] = probs[:, k] if len(probs) else np.zeros(0)
    if va is not None:
        out = out.assign(**affect_columns(rows, va))
    return out


def affect_columns(rows: pd.DataFrame, va: np.ndarray) -> dict[str, np.ndarray]:
    """`valence`, `arousal` (the rows' annotations, NaN where none) and the model's
    `valence_pred`, `arousal_pred` from its (N, 2) output, in the rows' order."""
    out: dict[str, np.ndarray] = {}
    for k, dim in enumerate(AFFECT_COLUMNS):
        annotated = rows[dim] if dim in rows else pd.Series(np.nan, index=rows.index)
        out[dim] = pd.to_numeric(annotated, errors="coerce").to_numpy(dtype=float)
        out[f"{dim}_pred"] = va[:, k]
    return out
