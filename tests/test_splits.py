import numpy as np
import pandas as pd
import pytest

from devfer.manifest.splits import assign_splits, split_groups

FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def make_groups(n_subjects: int, rng: np.random.Generator) -> pd.Series:
    sizes = rng.integers(1, 9, n_subjects)
    return pd.Series(np.repeat([f"s{i}" for i in range(n_subjects)], sizes))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_subject_crosses_splits(seed: int, rng: np.random.Generator) -> None:
    groups = make_groups(300, rng)
    split = assign_splits(groups, FRACTIONS, seed)
    per_subject = pd.DataFrame({"g": groups, "s": split}).groupby("g")["s"].nunique()
    assert (per_subject == 1).all()
    shares = split.value_counts(normalize=True)
    for name, want in FRACTIONS.items():
        assert abs(shares[name] - want) < 0.05


def test_same_seed_same_split_other_seed_differs(rng: np.random.Generator) -> None:
    groups = make_groups(100, rng)
    a = assign_splits(groups, FRACTIONS, 7)
    assert a.equals(assign_splits(groups, FRACTIONS, 7))
    assert not a.equals(assign_splits(groups, FRACTIONS, 8))


def test_source_test_split_is_kept_and_disjoint() -> None:
    groups = pd.Series(["a", "a", "b", "c", "d", "e", "f", "g"] * 5)
    source = pd.Series([None] * len(groups), dtype="object")
    source[1] = "test"  # one image of subject a is in the dataset's own test set
    split = assign_splits(groups, FRACTIONS, 0, source)
    assert (split[groups == "a"] == "test").all()
    assert set(split[groups != "a"]) <= {"train", "val"}


def test_images_without_subject_are_their_own_group() -> None:
    subject = pd.Series(["x", None, None], dtype="string")
    image = pd.Series(["i1", "i2", "i3"])
    assert split_groups(subject, image).tolist() == ["x", "image:i2", "image:i3"]
