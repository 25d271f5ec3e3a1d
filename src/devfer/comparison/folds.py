"""Subject-grouped k-fold cross-validation: no person is in two folds.

Why: a model that has seen one of a person's faces recognises the person's other faces more
easily, so an image-level fold overstates accuracy. Subjects are dealt into folds stratified
by their majority expression, so every fold sees every class where the data allow it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from devfer.manifest.splits import assign_splits, split_groups

__all__ = ["fold_split", "subject_folds"]


def _units(frame: pd.DataFrame, subject_col: str, image_col: str) -> pd.Series:
    """The unit that must not cross folds: the subject, or the image when none is known."""
    return split_groups(frame[subject_col], frame[image_col]).reset_index(drop=True)


def _majority(units: pd.Series, labels: pd.Series, order: Sequence[str] | None) -> pd.Series:
    """Each unit's most frequent label (ties: first in `order`, else in name order);
    "(unlabelled)" for a unit without labels."""
    table = pd.DataFrame({"unit": units, "label": labels.reset_index(drop=True).astype(object)})
    table = table.dropna(subset=["label"])
    rank = {c: i for i, c in enumerate(order)} if order else {}
    counts = table.groupby(["unit", "label"]).size().rename("n").reset_index()
    counts["rank"] = counts["label"].map(lambda c: rank.get(c, len(rank)))
    counts["name"] = counts["label"].astype(str)
    counts = counts.sort_values(["unit", "n", "rank", "name"], ascending=[True, False, True, True])
    best = counts.drop_duplicates("unit").set_index("unit")["label"]
    return best.reindex(sorted(units.unique())).fillna("(unlabelled)")


def subject_folds(
    frame: pd.DataFrame,
    k: int,
    seed: int,
    *,
    subject_col: str = "subject_id",
    label_col: str = "label",
    image_col: str = "image_id",
    classes: Sequence[str] | None = None,
) -> pd.Series:
    """Fold 0..k-1 of every row (aligned with `frame`'s index); all of a subject's rows
    share one fold, and rows without a subject are their own subject.

    Subjects (sorted, then shuffled with `seed`: same seed, same folds) are split by
    scikit-learn's StratifiedKFold on their majority class (`classes` orders ties), so each
    fold holds about 1/k of each class's subjects. Where a class has fewer than k subjects it
    cannot be in every fold (scikit-learn spreads it as far as it goes); where no class has
    k subjects, folds are plain shuffled KFold over subjects. Folds balance subjects, not
    images: subjects with many images make some folds bigger.
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    units = _units(frame, subject_col, image_col)
    strata = _majority(units, frame[label_col], classes)
    names = strata.index.to_numpy()
    if len(names) < k:
        raise ValueError(f"{len(names)} subjects cannot fill {k} folds (each fold needs one)")
    counts = strata.value_counts()
    fold_of = np.empty(len(names), dtype=int)
    if (counts >= k).any():
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            # "The least populated class has only n members": expected, handled as documented.
            warnings.simplefilter("ignore", UserWarning)
            splits = list(splitter.split(names, strata.to_numpy()))
    else:
        splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(names))
    for fold, (_, test) in enumerate(splits):
        fold_of[test] = fold
    lookup = dict(zip(names, fold_of, strict=True))
    return pd.Series(units.map(lookup).to_numpy(), index=frame.index, name="fold", dtype=int)


def fold_split(
    frame: pd.DataFrame,
    folds: pd.Series,
    fold: int,
    *,
    val_share: float = 0.15,
    seed: int = 0,
    subject_col: str = "subject_id",
    image_col: str = "image_id",
) -> pd.Series:
    """Split ("train", "val" or "test") of every row for one fold.

    The fold's rows are test; the other folds' subjects are dealt between train and val
    (about `val_share` of their images to val) by `devfer.manifest.splits.assign_splits`, so
    val, which early stopping reads, shares no subject with train or test either.
    """
    if not 0 <= val_share < 1:
        raise ValueError(f"val_share must be in [0, 1), got {val_share}")
    units = _units(frame, subject_col, image_col)
    units.index = frame.index
    test = (folds == fold).to_numpy()
    split = pd.Series("test", index=frame.index, dtype="string", name="split")
    rest = units[~test]
    fractions = {"train": 1.0 - val_share, "val": val_share, "test": 0.0}
    split[~test] = assign_splits(rest, fractions, seed + fold).to_numpy()
    return split
