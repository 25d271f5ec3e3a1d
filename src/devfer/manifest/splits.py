"""Subject-disjoint train / validation / test splits."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def split_groups(subject_id: pd.Series, image_id: pd.Series) -> pd.Series:
    """The unit that must not cross splits: the subject, or the image when no subject is known."""
    return subject_id.astype("string").fillna("image:" + image_id.astype("string"))


def assign_splits(
    groups: pd.Series,
    fractions: Mapping[str, float],
    seed: int,
    source_split: pd.Series | None = None,
) -> pd.Series:
    """Assign every row to train/val/test so that no group appears in two splits.

    Groups are shuffled with `seed` and dealt out in order until each split holds its
    fraction of the images. Where the dataset ships its own test split (`source_split` ==
    "test"), every group with a row there goes to test and the rest is dealt between
    train and val in proportion to their fractions.
    """
    groups = groups.astype("string")
    result = pd.Series(pd.NA, index=groups.index, dtype="string")
    fractions = {s: float(fractions.get(s, 0.0)) for s in SPLITS}
    if source_split is not None and (source_split == "test").any():
        fixed = set(groups[source_split == "test"])
        in_fixed = groups.isin(fixed)
        result[in_fixed] = "test"
        fractions["test"] = 0.0
        groups = groups[~in_fixed]
    total = sum(fractions.values())
    if groups.empty or total <= 0:
        return result
    counts = groups.value_counts(sort=False)
    order = np.sort(counts.index.to_numpy(dtype=str))
    order = np.random.default_rng(seed).permutation(order)
    sizes = counts.reindex(order).to_numpy()
    # A group goes to the split in which the middle of its block of images falls.
    middle = (np.cumsum(sizes) - sizes / 2) / sizes.sum()
    edges = np.cumsum([fractions[s] / total for s in SPLITS])
    which = np.searchsorted(edges, middle, side="right").clip(0, len(SPLITS) - 1)
    lookup = dict(zip(order, np.asarray(SPLITS)[which], strict=True))
    result[groups.index] = groups.map(lookup)
    return result
