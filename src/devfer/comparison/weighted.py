"""Every scalar metric of many weighted copies of one prediction table at once.

A subject bootstrap resample, a demographic group and a permuted group are all the same
table with integer weights per image (how often the image's subject was drawn, or whether
it is in the group). Computing the metrics from weighted sufficient statistics (a confusion
matrix, calibration-bin sums, cumulative positive/negative weights down the ranked scores)
for a whole (replicates x images) weight matrix is what makes 1000 resamples x groups x
permutations affordable on a laptop CPU. The point estimates that the tables report come
from scikit-learn (`devfer.comparison.metrics.scalar_metrics`); the tests check that this
engine equals scikit-learn with the same weights (`sample_weight`), metric by metric.

Conventions (scikit-learn's): macro and weighted averages run over the classes present
(weight > 0) among the true labels; precision of a present class that is never predicted
is 0 (`zero_division=0`); one-vs-rest ROC-AUC and average precision are undefined (NaN)
for a class without positives or without negatives and left out of their averages; ties in
scores count one half (ROC-AUC) or form one threshold (average precision).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The scalar metrics, in the order tables list them.
SCALAR_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "cohen_kappa",
    "roc_auc_macro",
    "roc_auc_weighted",
    "average_precision_macro",
    "average_precision_weighted",
    "ece",
)
#: Metrics that need class probabilities.
PROBABILITY_METRICS = frozenset(
    {
        "roc_auc_macro",
        "roc_auc_weighted",
        "average_precision_macro",
        "average_precision_weighted",
        "ece",
    }
)
#: Expected calibration error: equal-width bins of the top-class probability on [0, 1],
#: bin b = ((b-1)/15, b/15] (Guo et al. 2017, the common convention).
ECE_BINS = 15
# Rows of the weight matrix handled at once, so memory stays near 4 million floats.
_CELLS = 4_000_000


def ece_bin(confidence: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Bin index 0..n_bins-1 of each confidence: bin b holds (b/n, (b+1)/n], 0 in bin 0."""
    conf = np.asarray(confidence, dtype=float)
    return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)


@dataclass(frozen=True)
class Encoded:
    """One prediction table as integer codes: what every weighted copy shares.

    `y_true` and `y_pred` index `classes`; `proba` is (n, k) or None; `subjects` are codes
    0..n_subjects-1 (an image without a subject is its own subject).
    """

    classes: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    subjects: np.ndarray
    n_subjects: int

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def k(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class _Ranked:
    """One class's scores ranked high to low, with the last position of each tie block."""

    order: np.ndarray
    positive: np.ndarray  # in ranked order
    block_end: np.ndarray


def _features(enc: Encoded) -> tuple[np.ndarray, np.ndarray | None, list[_Ranked]]:
    k = enc.k
    cells = np.zeros((enc.n, k * k))
    cells[np.arange(enc.n), enc.y_true * k + enc.y_pred] = 1.0
    if enc.proba is None:
        return cells, None, []
    conf = enc.proba.max(axis=1)
    correct = (enc.proba.argmax(axis=1) == enc.y_true).astype(float)
    bins = np.zeros((enc.n, 3 * ECE_BINS))
    b = ece_bin(conf)
    rows = np.arange(enc.n)
    bins[rows, b] = 1.0
    bins[rows, ECE_BINS + b] = conf
    bins[rows, 2 * ECE_BINS + b] = correct
    ranked = []
    for c in range(k):
        score = enc.proba[:, c]
        order = np.argsort(-score, kind="stable")
        s = score[order]
        end = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
        ranked.append(_Ranked(order, (enc.y_true[order] == c).astype(float), end))
    return cells, bins, ranked


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    n = np.isfinite(x).sum(axis=axis)
    total = np.where(np.isfinite(x), x, 0.0).sum(axis=axis)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _weighted_nanmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    ws = np.where(ok, w, 0.0)
    den = ws.sum(axis=1)
    num = (np.where(ok, x, 0.0) * ws).sum(axis=1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Label metrics of a stack of confusion matrices (r, k, k), rows = true class."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    support = cm.sum(axis=2)
    predicted = cm.sum(axis=1)
    total = support.sum(axis=1)
    present = support > 0
    safe_total = np.where(total > 0, total, 1.0)
    recall = np.where(present, tp / np.where(present, support, 1.0), np.nan)
    precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1.0), 0.0)
    precision = np.where(present, precision, np.nan)
    denom = support + predicted
    f1 = np.where(present, 2 * tp / np.where(denom > 0, denom, 1.0), np.nan)
    share = support / safe_total[:, None]
    acc = tp.sum(axis=1) / safe_total
    pe = (support * predicted).sum(axis=1) / safe_total**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(np.isclose(pe, 1.0), np.nan, (acc - pe) / (1 - pe))
    out = {
        "accuracy": acc,
        "balanced_accuracy": _nanmean(recall, 1),
        "precision_macro": _nanmean(precision, 1),
        "recall_macro": _nanmean(recall, 1),
        "f1_macro": _nanmean(f1, 1),
        "precision_weighted": np.nansum(precision * share, axis=1),
        "recall_weighted": np.nansum(recall * share, axis=1),
        "f1_weighted": np.nansum(f1 * share, axis=1),
        "cohen_kappa": kappa,
    }
    empty = total == 0
    return {name: np.where(empty, np.nan, v) for name, v in out.items()}


def _ranking(weights: np.ndarray, ranked: Sequence[_Ranked]) -> dict[str, np.ndarray]:
    """One-vs-rest ROC-AUC and average precision per class, averaged macro and weighted.

    Works on images x replicates (cumulative sums down contiguous rows are several times
    faster than along them)."""
    r, k = len(weights), len(ranked)
    auc = np.full((r, k), np.nan)
    ap = np.full((r, k), np.nan)
    n_pos = np.zeros((r, k))
    by_image = np.ascontiguousarray(weights.T)
    for c, rk in enumerate(ranked):
        w = by_image[rk.order]
        tp = np.cumsum(w * rk.positive[:, None], axis=0)[rk.block_end]
        fp = np.cumsum(w, axis=0)[rk.block_end] - tp
        pos, neg = tp[-1], fp[-1]
        d_tp = np.diff(tp, axis=0, prepend=0.0)
        d_fp = np.diff(fp, axis=0, prepend=0.0)
        ok = (pos > 0) & (neg > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            area = (d_fp * (2 * tp - d_tp)).sum(axis=0) / (2 * pos * neg)
            prec = np.where(d_tp > 0, tp / np.where(tp + fp > 0, tp + fp, 1.0), 0.0)
            avg = (d_tp * prec).sum(axis=0) / pos
        auc[:, c] = np.where(ok, area, np.nan)
        ap[:, c] = np.where(ok, avg, np.nan)
        n_pos[:, c] = pos
    return {
        "roc_auc_macro": _nanmean(auc, 1),
        "roc_auc_weighted": _weighted_nanmean(auc, n_pos),
        "average_precision_macro": _nanmean(ap, 1),
        "average_precision_weighted": _weighted_nanmean(ap, n_pos),
    }


def _ece(weights: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """sum_b (n_b / N) |acc_b - conf_b| = sum_b |correct_b - confidence_b| / N (weighted)."""
    sums = weights @ bins
    count = sums[:, :ECE_BINS].sum(axis=1)
    gap = np.abs(sums[:, 2 * ECE_BINS :] - sums[:, ECE_BINS : 2 * ECE_BINS]).sum(axis=1)
    return np.where(count > 0, gap / np.where(count > 0, count, 1.0), np.nan)


def weighted_metrics(enc: Encoded, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric in SCALAR_METRICS for each row of `weights` (replicates x images).

    Row r is the table with image i counted weights[r, i] times. Probability metrics are NaN
    when `enc.proba` is None.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    if weights.shape[1] != enc.n:
        raise ValueError(f"weights have {weights.shape[1]} columns, the table {enc.n} images")
    cells, bins, ranked = _features(enc)
    step = max(1, _CELLS // max(enc.n, 1))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(weights), step):
        w = weights[start : start + step]
        cm = (w @ cells).reshape(len(w), enc.k, enc.k)
        part = _from_confusion(cm)
        if bins is not None:
            part.update(_ranking(w, ranked))
            part["ece"] = _ece(w, bins)
        else:
            part.update({m: np.full(len(w), np.nan) for m in PROBABILITY_METRICS})
        parts.append(part)
    return {m: np.concatenate([p[m] for p in parts]) for m in SCALAR_METRICS}


def bootstrap_weights(
    subjects: np.ndarray,
    n_subjects: int,
    n_boot: int,
    rng: np.random.Generator,
    members: np.ndarray | None = None,
) -> np.ndarray:
    """(n_boot, images) weights of subject-bootstrap resamples: each resample draws, with
    replacement, as many subjects as there are, and an image counts as often as its subject
    was drawn. With `members` (a boolean per subject) only those subjects are drawn from and
    the other images weigh 0: the bootstrap within one group."""
    pool = np.arange(n_subjects) if members is None else np.flatnonzero(members)
    if pool.size == 0:
        return np.zeros((n_boot, len(subjects)))
    draws = rng.integers(0, pool.size, size=(n_boot, pool.size))
    flat = np.repeat(np.arange(n_boot) * n_subjects, pool.size) + pool[draws].ravel()
    counts = np.bincount(flat, minlength=n_boot * n_subjects).reshape(n_boot, n_subjects)
    return counts[:, subjects].astype(float)
