"""Fairness audit of any model's predictions: every scalar metric per demographic group with
its subject-bootstrap interval, the largest gap and ratio between groups, and a permutation
test of the gap.

A group is a value of any column of the prediction table (sex, skin tone, age group...).
The unit is the subject throughout: intervals resample whole subjects within the group, and
the permutation test shuffles group labels between subjects, so a person's images never
split across groups. Why: images of one person share everything but the expression, so
treating them as independent would make every gap look significant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from devfer import CLASSES
from devfer.comparison.metrics import encode, scalar_metrics
from devfer.comparison.weighted import (
    SCALAR_METRICS,
    Encoded,
    bootstrap_weights,
    weighted_metrics,
)
from devfer.stats._fitting import _percentile_ci

__all__ = ["fairness_audit", "group_gaps", "permutation_gap_test", "subject_groups"]

# Rows x images of one block of permuted group-indicator weights.
_CELLS = 4_000_000
# A permuted gap counts as at least the observed one within this rounding tolerance.
_TOLERANCE = 1e-9


def subject_groups(subjects: np.ndarray, values: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(group names, group code per subject, images whose own value differs from their
    subject's). A subject's group is its most frequent value (ties: the first in name order),
    so an attribute that varies within a subject (an age group from estimated ages) still
    leaves every subject whole. Names follow a categorical column's order, else sorted."""
    values = pd.Series(values).reset_index(drop=True)
    if isinstance(values.dtype, pd.CategoricalDtype):
        names = [c for c in values.cat.categories if (values == c).any()]
    else:
        names = sorted(values.unique(), key=str)
    codes = pd.Categorical(values, categories=names).codes
    counts = np.zeros((int(subjects.max()) + 1, len(names)), dtype=int)
    np.add.at(counts, (subjects, codes), 1)
    per_subject = counts.argmax(axis=1)
    moved = int((per_subject[subjects] != codes).sum())
    return np.asarray(names, dtype=object), per_subject, moved


def _gap(values: np.ndarray) -> np.ndarray:
    """max - min over the last axis, over finite entries; NaN with fewer than two."""
    ok = np.isfinite(values)
    hi = np.where(ok, values, -np.inf).max(axis=-1)
    lo = np.where(ok, values, np.inf).min(axis=-1)
    return np.where(ok.sum(axis=-1) >= 2, hi - lo, np.nan)


def permutation_gap_test(
    enc: Encoded,
    subject_group: np.ndarray,
    observed: dict[str, float],
    n_permutations: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """p-value of each metric's largest between-group gap under random group labels.

    Each permutation shuffles the group codes of the subjects (group sizes in subjects kept)
    and recomputes every group's metrics; p = (1 + #{permuted gap >= observed gap}) /
    (1 + n_permutations), the +1 counting the observed labelling itself (never 0, valid for
    a finite number of permutations). NaN where the observed gap is NaN.
    """
    n_groups = int(subject_group.max()) + 1
    rng = np.random.default_rng(seed)
    block = max(1, _CELLS // max(enc.n * n_groups, 1))
    at_least = dict.fromkeys(SCALAR_METRICS, 0)
    done = 0
    while done < n_permutations:
        size = min(block, n_permutations - done)
        perms = np.stack([rng.permutation(subject_group) for _ in range(size)])
        image_group = perms[:, enc.subjects]  # (size, images)
        weights = (image_group[:, None, :] == np.arange(n_groups)[None, :, None]).astype(float)
        drawn = weighted_metrics(enc, weights.reshape(size * n_groups, enc.n))
        for m in SCALAR_METRICS:
            gaps = _gap(drawn[m].reshape(size, n_groups))
            at_least[m] += int((gaps >= observed[m] - _TOLERANCE).sum())
        done += size
    return {
        m: (1 + at_least[m]) / (1 + n_permutations) if np.isfinite(observed[m]) else np.nan
        for m in SCALAR_METRICS
    }


def group_gaps(per_group: pd.DataFrame) -> pd.DataFrame:
    """Per attribute x metric: n_groups (with an estimate), group_max, estimate_max,
    group_min, estimate_min, gap = max - min, ratio = min / max (NaN unless max > 0)."""
    rows = []
    for (attribute, metric), part in per_group.groupby(["attribute", "metric"], sort=False):
        ok = part[part["estimate"].notna()]
        row: dict[str, Any] = {"attribute": attribute, "metric": metric, "n_groups": len(ok)}
        if len(ok) >= 2:
            top = ok.loc[ok["estimate"].idxmax()]
            bottom = ok.loc[ok["estimate"].idxmin()]
            hi, lo = float(top["estimate"]), float(bottom["estimate"])
            row.update(
                group_max=top["group"],
                estimate_max=hi,
                group_min=bottom["group"],
                estimate_min=lo,
                gap=hi - lo,
                ratio=lo / hi if hi > 0 else np.nan,
            )
        rows.append(row)
    columns = ["group_max", "estimate_max", "group_min", "estimate_min", "gap", "ratio"]
    return pd.DataFrame(rows).reindex(columns=["attribute", "metric", "n_groups", *columns])


def _audit_one(
    predictions: pd.DataFrame,
    attribute: str,
    classes: Sequence[str],
    proba: np.ndarray | None,
    subject_col: str | None,
    n_boot: int,
    n_permutations: int,
    level: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    known = predictions[attribute].notna().to_numpy()
    table = predictions[known].reset_index(drop=True)
    enc = encode(
        table, classes, proba=None if proba is None else proba[known], subject_col=subject_col
    )
    names, subject_group, moved = subject_groups(enc.subjects, table[attribute])
    image_group = subject_group[enc.subjects]
    rng = np.random.default_rng(seed)
    rows = []
    for g, name in enumerate(names):
        mask = image_group == g
        estimate = scalar_metrics(
            table["label"].to_numpy()[mask],
            table["pred"].to_numpy()[mask],
            enc.classes,
            None if enc.proba is None else enc.proba[mask],
        )
        members = subject_group == g
        weights = bootstrap_weights(enc.subjects, enc.n_subjects, n_boot, rng, members)
        draws = weighted_metrics(enc, weights)
        for m in SCALAR_METRICS:
            lo, hi = _percentile_ci(draws[m], level)
            rows.append(
                {
                    "attribute": attribute,
                    "group": name,
                    "metric": m,
                    "estimate": estimate[m],
                    "ci_low": lo,
                    "ci_high": hi,
                    "level": level,
                    "n_boot": n_boot,
                    "n_images": int(mask.sum()),
                    "n_subjects": int(members.sum()),
                }
            )
    per_group = pd.DataFrame(rows)
    gaps = group_gaps(per_group)
    observed = dict(zip(gaps["metric"], gaps["gap"].astype(float), strict=True))
    p = permutation_gap_test(enc, subject_group, observed, n_permutations, seed + 1)
    gaps["p_value"] = gaps["metric"].map(p)
    gaps["n_permutations"] = n_permutations
    notes = ["group labels permuted between subjects; p = (1 + #{gap >= observed}) / (1 + n)"]
    if moved:
        notes.append(f"{moved} images took their subject's most frequent {attribute}")
    if (~known).any():
        notes.append(f"{int((~known).sum())} images without {attribute} left out")
    gaps["note"] = "; ".join(notes)
    return per_group, gaps


def fairness_audit(
    predictions: pd.DataFrame,
    attributes: Sequence[str],
    classes: Sequence[str] = CLASSES,
    *,
    proba: np.ndarray | None = None,
    subject_col: str | None = "subject_id",
    n_boot: int = 1000,
    n_permutations: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Audit one model's predictions (one row per image: label, pred, subject_id, p_<class>,
    and the attribute columns) by each attribute.

    Returns (per_group, gaps):

    * per_group: attribute, group, metric, estimate (scikit-learn's, `scalar_metrics`),
      ci_low, ci_high (percentile subject bootstrap within the group), level, n_boot,
      n_images, n_subjects;
    * gaps: attribute, metric, n_groups, group_max, estimate_max, group_min, estimate_min,
      gap, ratio, p_value, n_permutations, note (`group_gaps`, `permutation_gap_test`).

    Images without a value of the attribute are left out of that attribute's audit.
    For ECE lower is better, so its "max" group is the worst calibrated.
    """
    if proba is not None and len(proba) != len(predictions):
        raise ValueError(f"proba has {len(proba)} rows, the table {len(predictions)}")
    per_group, gaps = [], []
    for i, attribute in enumerate(attributes):
        if attribute not in predictions.columns:
            raise ValueError(f"prediction table has no column {attribute!r} to audit by")
        one, gap = _audit_one(
            predictions,
            attribute,
            classes,
            None if proba is None else np.asarray(proba, dtype=float),
            subject_col,
            n_boot,
            n_permutations,
            level,
            seed + 1000 * i,
        )
        per_group.append(one)
        gaps.append(gap)
    return pd.concat(per_group, ignore_index=True), pd.concat(gaps, ignore_index=True)
