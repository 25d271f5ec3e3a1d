"""Cross-group evaluation: every model on every age group's held-out faces.

An image is eligible for a model when neither it nor its subject was among the model's
training or validation images. Metrics are computed on the images eligible for every
model, so the models are compared on identical faces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from devfer import CLASSES
from devfer.stats import cluster_bootstrap_ci, group_metrics, standardised_accuracy


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


def common_images(predictions: pd.DataFrame) -> pd.DataFrame:
    """Only the images every model is eligible for (the same faces for every model)."""
    ok = predictions.groupby("image_id")["eligible"].all()
    n_models = predictions.groupby("image_id")["model"].nunique()
    keep = ok[ok & (n_models == predictions["model"].nunique())].index
    return predictions[predictions["image_id"].isin(keep)]


def reference_mix(predictions: pd.DataFrame, kind: str) -> dict[str, float]:
    """The class mix accuracies are standardised to: the pooled evaluation set, or uniform."""
    if kind == "uniform":
        return dict.fromkeys(CLASSES, 1 / len(CLASSES))
    one = predictions.drop_duplicates("image_id")
    counts = one["label"].value_counts(normalize=True)
    return {c: float(counts.get(c, 0.0)) for c in CLASSES}


def cross_group(
    predictions: pd.DataFrame,
    groups: Sequence[str],
    mix: Mapping[str, float],
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics per model x age group (seeds averaged) and per model x seed x age group.

    Accuracy and its CI use each image's correctness averaged over seeds, bootstrapped by
    subject (images of one person are not independent); the other metrics are the mean
    over seeds, with the between-seed SD of accuracy beside them.
    """
    order = {g: i for i, g in enumerate(groups)}
    by_seed, rows = [], []
    for (model, group), part in predictions.groupby(["model", "age_group"], sort=False):
        if group not in order:
            continue
        seeds = []
        for s, one in part.groupby("seed"):
            m = group_metrics(one, list(CLASSES), cluster_col=None)
            m["standardised_accuracy"] = standardised_accuracy(one["label"], one["pred"], mix)
            seeds.append({"model": model, "seed": s, "age_group": group, **m})
        by_seed += seeds
        per_image = part.groupby("image_id").agg(
            correct=("correct", "mean"), subject=("subject_id", "first")
        )
        clusters = (
            per_image["subject"]
            .astype(object)
            .where(per_image["subject"].notna(), per_image.index.to_series())
        )
        lo, hi = cluster_bootstrap_ci(
            per_image["correct"].to_numpy(float), clusters.to_numpy(), n_boot, 0.95, seed
        )
        seed_df = pd.DataFrame(seeds)
        numeric = seed_df.select_dtypes("number").drop(columns=["seed"])
        row = {"model": model, "age_group": group, "group_order": order[group]}
        row.update(numeric.mean().to_dict())
        row.update(
            n=len(per_image),
            accuracy=float(per_image["correct"].mean()),
            ci_low=lo,
            ci_high=hi,
            ci_method=f"subject bootstrap ({n_boot} resamples)",
            n_seeds=len(seeds),
            accuracy_sd=float(seed_df["accuracy"].std()) if len(seeds) > 1 else np.nan,
            age_mean=float(part.drop_duplicates("image_id")["age"].mean()),
        )
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["model", "group_order"]).reset_index(drop=True)
    table["n"] = table["n"].astype(int)
    table["n_seeds"] = table["n_seeds"].astype(int)
    return table, pd.DataFrame(by_seed)


def confusion(predictions: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Counts and row-normalised shares, per model x age group x true x predicted class."""
    order = {g: i for i, g in enumerate(groups)}
    full = pd.MultiIndex.from_product(
        [sorted(predictions["model"].unique()), list(groups), list(CLASSES), list(CLASSES)],
        names=["model", "age_group", "label", "pred"],
    )
    counts = predictions.groupby(["model", "age_group", "label", "pred"]).size()
    table = counts.reindex(full, fill_value=0).rename("n").reset_index()
    totals = table.groupby(["model", "age_group", "label"])["n"].transform("sum")
    table["share"] = np.where(totals > 0, table["n"] / totals.where(totals > 0, 1), np.nan)
    table.insert(2, "group_order", table["age_group"].map(order))
    return table


def composition(predictions: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Expression mix of the evaluation images per dataset and age group."""
    order = {g: i for i, g in enumerate(groups)}
    one = predictions.drop_duplicates("image_id")
    table = one.groupby(["dataset", "age_group", "label"]).size().rename("n").reset_index()
    table.insert(2, "group_order", table["age_group"].map(order))
    return table[table["age_group"].isin(order)].reset_index(drop=True)
