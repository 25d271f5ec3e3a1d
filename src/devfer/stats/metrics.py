"""Classification metrics for one model on one age group.

Accuracy with a Wilson or cluster-bootstrap CI, balanced accuracy, macro F1, Cohen's kappa,
per-class recall and accuracy standardised to a reference expression mix.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from devfer.stats._fitting import _cluster_codes, _percentile_ci, _z

__all__ = [
    "balanced_accuracy",
    "cluster_bootstrap_ci",
    "cohen_kappa",
    "group_metrics",
    "macro_f1",
    "per_class_recall",
    "standardised_accuracy",
    "wilson_interval",
]


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n.

    With p = k/n and z = z_{1-(1-level)/2}:

        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))

    and the interval is centre -/+ half. Returns (nan, nan) for n = 0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return math.nan, math.nan
    z = _z(level)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # Clip rounding noise at k = 0 or k = n.
    return max(0.0, centre - half), min(1.0, centre + half)


def cluster_bootstrap_ci(
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(correct), resampling clusters with replacement.

    Each resample draws G clusters with replacement from the G clusters (subjects) and
    recomputes the image-level mean sum_{drawn g} S_g / sum_{drawn g} N_g, where S_g and N_g
    are the cluster's number correct and number of images. Without clusters each image is its
    own cluster (the ordinary bootstrap). The CI is the (1-level)/2 and 1-(1-level)/2
    quantiles of the resampled means. Same seed, same interval.
    """
    y = np.asarray(correct, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("correct must be a non-empty 1-D array")
    codes, g = _cluster_codes(len(y), clusters)
    sums = np.bincount(codes, weights=y, minlength=g)
    sizes = np.bincount(codes, minlength=g).astype(float)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    # Draw in blocks so memory stays bounded (about 2 million indices at a time).
    block = max(1, 2_000_000 // g)
    for start in range(0, n_boot, block):
        stop = min(n_boot, start + block)
        idx = rng.integers(0, g, size=(stop - start, g))
        means[start:stop] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    return _percentile_ci(means, level)


def _confusion(y_true: Any, y_pred: Any, labels: Sequence[Hashable]) -> np.ndarray:
    """Confusion matrix C[i, j] = #(true = labels[i], pred = labels[j])."""
    labels = list(labels)
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be unique")
    index = pd.Index(labels, dtype=object)
    t = index.get_indexer(np.asarray(y_true, dtype=object))  # -1: not a label
    p = index.get_indexer(np.asarray(y_pred, dtype=object))
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} entries, y_pred {len(p)}")
    for name, codes, raw in (("y_true", t, y_true), ("y_pred", p, y_pred)):
        if (codes < 0).any():
            bad = sorted({str(v) for v in np.asarray(raw, dtype=object)[codes < 0]})
            raise ValueError(f"{name} has values not in labels (or missing): {bad[:5]}")
    k = len(labels)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def per_class_recall(y_true: Any, y_pred: Any, labels: Sequence[Hashable]) -> dict[Hashable, float]:
    """Recall per class, recall_c = C[c, c] / sum_j C[c, j]; NaN for classes absent in y_true."""
    cm = _confusion(y_true, y_pred, labels)
    support = cm.sum(axis=1)
    return {
        lab: (float(cm[i, i] / support[i]) if support[i] > 0 else math.nan)
        for i, lab in enumerate(labels)
    }


def balanced_accuracy(y_true: Any, y_pred: Any, labels: Sequence[Hashable]) -> float:
    """Mean recall over the classes present in y_true: (1/|P|) sum_{c in P} recall_c."""
    recalls = np.array(list(per_class_recall(y_true, y_pred, labels).values()))
    present = recalls[np.isfinite(recalls)]
    return float(present.mean()) if present.size else math.nan


def macro_f1(y_true: Any, y_pred: Any, labels: Sequence[Hashable]) -> float:
    """Mean F1 over the classes present in y_true (not over all `labels`).

    F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c), which equals the harmonic mean of precision and
    recall and is 0 (not undefined) for a present class that is never predicted. A label
    absent from y_true is left out of the average even when it is predicted; those wrong
    predictions still lower the F1 (through the recall) of the classes they were taken from.
    This differs from sklearn's f1_score(average='macro', labels=labels), which averages
    over every given label; compare macro F1 across age groups only when they contain the
    same classes.
    """
    cm = _confusion(y_true, y_pred, labels)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    present = cm.sum(axis=1) > 0
    if not present.any():
        return math.nan
    f1 = 2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])
    return float(f1.mean())


def cohen_kappa(y_true: Any, y_pred: Any, labels: Sequence[Hashable]) -> float:
    """Cohen's kappa, kappa = (p_o - p_e) / (1 - p_e).

    p_o = sum_c C[c, c] / N (observed agreement = accuracy) and
    p_e = sum_c (row_c / N) (col_c / N) (agreement expected from the marginals alone).
    NaN when p_e = 1 (both raters constant on the same class).
    """
    cm = _confusion(y_true, y_pred, labels).astype(float)
    n = cm.sum()
    if n == 0:
        return math.nan
    po = np.trace(cm) / n
    pe = float(np.sum(cm.sum(axis=1) * cm.sum(axis=0)) / n**2)
    return math.nan if math.isclose(pe, 1.0) else float((po - pe) / (1 - pe))


def standardised_accuracy(
    y_true: Any, y_pred: Any, reference_mix: Mapping[Hashable, float]
) -> float:
    """Accuracy directly standardised to a reference expression mix.

    acc_std = sum_{c in P} m_c recall_c / sum_{c in P} m_c, where P is the set of classes
    present in y_true and m is the reference mix (renormalised over P). With m equal to the
    group's own class proportions this is the plain accuracy; with a common m across age
    groups it removes differences in expression mix between groups. Classes in y_true but
    not in the mix get weight 0; NaN when no present class has weight.
    """
    if any(v < 0 for v in reference_mix.values()):
        raise ValueError("reference_mix weights must be non-negative")
    t = pd.Series(np.asarray(y_true, dtype=object))
    p = pd.Series(np.asarray(y_pred, dtype=object))
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} entries, y_pred {len(p)}")
    num = den = 0.0
    for cls, weight in reference_mix.items():
        mask = (t == cls).to_numpy()
        if weight == 0 or not mask.any():
            continue
        num += weight * float((p[mask] == cls).mean())
        den += weight
    return num / den if den > 0 else math.nan


def group_metrics(
    df: pd.DataFrame,
    labels: Sequence[Hashable],
    cluster_col: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    *,
    true_col: str = "label",
    pred_col: str = "pred",
    level: float = 0.95,
) -> dict[str, Any]:
    """All metrics for one model on one age group (one row per image in `df`).

    Keys: n, accuracy, ci_low, ci_high, ci_method, balanced_accuracy, macro_f1, kappa,
    recall_<class> for each label, chance = 1 / len(labels). The accuracy CI is Wilson's
    (`wilson_interval`) when images are independent (`cluster_col` None) and the cluster
    bootstrap over subjects (`cluster_bootstrap_ci`) when `cluster_col` is given, because
    several images of one child are not independent evidence.
    """
    missing = [c for c in (true_col, pred_col, cluster_col) if c and c not in df.columns]
    if missing:
        raise ValueError(f"group_metrics: missing column(s): {', '.join(missing)}")
    y_true, y_pred = df[true_col].to_numpy(), df[pred_col].to_numpy()
    cm = _confusion(y_true, y_pred, labels)
    n = int(cm.sum())
    k = int(np.trace(cm))
    if cluster_col is None:
        lo, hi = wilson_interval(k, n, level)
        method = "wilson"
    else:
        correct = (df[true_col].to_numpy() == df[pred_col].to_numpy()).astype(float)
        lo, hi = cluster_bootstrap_ci(correct, df[cluster_col].to_numpy(), n_boot, level, seed)
        method = f"cluster bootstrap ({n_boot} resamples of {cluster_col})"
    out: dict[str, Any] = {
        "n": n,
        "accuracy": k / n if n else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "ci_method": method,
        "balanced_accuracy": balanced_accuracy(y_true, y_pred, labels),
        "macro_f1": macro_f1(y_true, y_pred, labels),
        "kappa": cohen_kappa(y_true, y_pred, labels),
    }
    for lab, rec in per_class_recall(y_true, y_pred, labels).items():
        out[f"recall_{lab}"] = rec
    out["chance"] = 1 / len(labels)
    return out
