"""The developmental age groups: half-open intervals [min, max) on age, in order."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from devfer.ages.settings import GroupSpec


@dataclass(frozen=True)
class AgeGroup:
    name: str
    lo: float
    hi: float  # exclusive; math.inf for the last group

    def contains(self, age: float) -> bool:
        return self.lo <= age < self.hi


def parse_groups(spec: Sequence[Mapping[str, Any]]) -> list[AgeGroup]:
    """Groups from config (`{name, min, max}` with max null = no upper bound), in order."""
    groups = [
        AgeGroup(
            str(g["name"]), float(g["min"]), math.inf if g.get("max") is None else float(g["max"])
        )
        for g in spec
    ]
    for a, b in itertools.pairwise(groups):
        if a.hi != b.lo:
            raise ValueError(
                f"age groups must be contiguous: '{a.name}' ends at {a.hi:g} but "
                f"'{b.name}' starts at {b.lo:g}."
            )
    return groups


def from_specs(specs: Sequence[GroupSpec]) -> list[AgeGroup]:
    """The groups of typed settings (`GroupSpec`, as rules pass them), checked as config is."""
    return parse_groups([asdict(g) for g in specs])


def bucket(ages: np.ndarray | Sequence[float], groups: Sequence[AgeGroup]) -> np.ndarray:
    """Group name per age; half-open intervals [min, max). Ages outside every group -> None."""
    ages = np.asarray(ages, dtype=float)
    edges = np.array([g.lo for g in groups] + [groups[-1].hi])
    which = np.searchsorted(edges, ages, side="right") - 1
    names = np.array([g.name for g in groups] + [None], dtype=object)
    outside = (which < 0) | (which >= len(groups)) | np.isnan(ages)
    return np.where(outside, None, names[np.clip(which, 0, len(groups))])


def known_age_rows(ages: np.ndarray | Sequence[float], groups: Sequence[AgeGroup]) -> pd.DataFrame:
    """Rows for ages that are known, not estimated (a dataset's labels, or TIF's infants)."""
    ages = np.asarray(ages, dtype=float)
    names = bucket(ages, groups)
    out = pd.DataFrame({"age_pred": ages, "age_sd": np.zeros(len(ages))})
    for g in groups:
        out[f"p_{g.name}"] = (names == g.name).astype(float)
    return out
