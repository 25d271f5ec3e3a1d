"""Cross-group metrics: every model on every age group's held-out faces.

Metrics are computed on the images eligible for every model (`common_images`), so the
models are compared on identical faces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from devfer import CLASSES
from devfer.stats import cluster_bootstrap_ci, group_metrics, standardised_accuracy
from devfer.stats.seeds import interval_scope, seed_interval


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
    subject (images of one person are not independent); with two or more seeds the CI also
    holds training variance (`devfer.stats.seeds`). The other metrics are the mean over
    seeds, with the between-seed SD of accuracy beside them.
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
        single = None
        if len(seeds) > 1:  # one seed's own interval, from the same resamples (`seed_interval`)
            first = part[part["seed"] == seeds[0]["seed"]].set_index("image_id")["correct"]
            one = first.reindex(per_image.index).to_numpy(float)
            single = cluster_bootstrap_ci(one, clusters.to_numpy(), n_boot, 0.95, seed)
        numeric = seed_df.select_dtypes("number").drop(columns=["seed"])
        row = {"model": model, "age_group": group, "group_order": order[group]}
        row.update(numeric.mean().to_dict())
        accuracy = float(per_image["correct"].mean())
        lo, hi, _ = seed_interval(accuracy, lo, hi, seed_df["accuracy"], 0.95, (0.0, 1.0), single)
        row.update(
            n=len(per_image),
            accuracy=accuracy,
            ci_low=lo,
            ci_high=hi,
            ci_method=f"subject bootstrap ({n_boot} resamples); {interval_scope(len(seeds))}",
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
