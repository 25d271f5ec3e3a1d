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


def eligibility(rows: pd.DataFrame, used_images: Sequence[str]) -> np.ndarray:
    """True where neither the image nor its subject was used to train or validate."""
    used = rows["image_id"].isin(set(used_images))
    used_subjects = set(rows.loc[used & rows["subject_id"].notna(), "subject_id"])
    same_subject = rows["subject_id"].isin(used_subjects) & rows["subject_id"].notna()
    return ~(used | same_subject).to_numpy()


@torch.no_grad()
def class_probabilities(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 128, device: str = "cpu"
) -> np.ndarray:
    from devfer.data import normalise, to_float

    model.eval().to(device)
    out = []
    for start in range(0, len(images), batch_size):
        x = normalise(to_float(images[start : start + batch_size]).to(device))
        _, logits = model(x)
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, len(CLASSES)))


def prediction_frame(rows: pd.DataFrame, probs: np.ndarray, eligible: np.ndarray) -> pd.DataFrame:
    """One row per image: ids, age, group, label, prediction, class probabilities."""
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
    return out
