"""The field's classification metrics for one model's predictions, with subject-bootstrap
intervals, and their mean and SD across seeds or folds.

Input is a prediction table as the evaluate stage writes it (`results/predictions/...`):
one row per image with `label`, `pred`, `subject_id` and one probability column `p_<class>`
per class (`devfer.evaluate.predictions.prediction_frame`), or any table with those columns;
probabilities can also be passed as an (n, k) array in the order of `classes`.

Point estimates come from scikit-learn, so nobody has to trust a re-implementation; the
bootstrap resamples use `devfer.comparison.weighted` (tested equal to scikit-learn). Why a
subject bootstrap: several images of one person are not independent evidence, so an interval
that resamples images is too narrow; resampling whole subjects is not.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from devfer import CLASSES
from devfer.comparison.weighted import (
    ECE_BINS,
    PROBABILITY_METRICS,
    SCALAR_METRICS,
    Encoded,
    bootstrap_weights,
    ece_bin,
    weighted_metrics,
)
from devfer.stats._fitting import _cluster_codes, _percentile_ci

__all__ = [
    "ECE_BINS",
    "SCALAR_METRICS",
    "class_probabilities",
    "confusion_table",
    "encode",
    "expected_calibration_error",
    "metric_notes",
    "per_class_report",
    "replicate_summary",
    "run_metrics",
    "scalar_metrics",
    "subject_bootstrap",
]

CI_METHOD = "subject bootstrap (whole subjects resampled with replacement), percentile"


def class_probabilities(predictions: pd.DataFrame, classes: Sequence[str]) -> np.ndarray | None:
    """The (n, k) matrix of `p_<class>` columns in the order of `classes`; None if the table
    has none of them (metrics that need probabilities are then NaN)."""
    columns = [f"p_{c}" for c in classes]
    have = [c for c in columns if c in predictions.columns]
    if not have:
        return None
    if len(have) < len(columns):
        missing = sorted(set(columns) - set(have))
        raise ValueError(f"prediction table has some class probabilities but not {missing}")
    return predictions[columns].to_numpy(dtype=float)


def _codes(values: Any, classes: Sequence[str], name: str) -> np.ndarray:
    raw = np.asarray(values, dtype=object)
    codes = pd.Index(list(classes), dtype=object).get_indexer(raw)
    if (codes < 0).any():
        bad = sorted({str(v) for v in raw[codes < 0]})[:5]
        raise ValueError(f"{name} has values outside the classes {list(classes)}: {bad}")
    return codes


def encode(
    predictions: pd.DataFrame,
    classes: Sequence[str] = CLASSES,
    *,
    proba: np.ndarray | None = None,
    subject_col: str | None = "subject_id",
    true_col: str = "label",
    pred_col: str = "pred",
) -> Encoded:
    """A prediction table as integer codes (see `Encoded`); every label must be in `classes`.

    Images with a missing subject (or all images, with `subject_col` None) count as their own
    subject, as in `devfer.stats.cluster_bootstrap_ci`.
    """
    if len(predictions) == 0:
        raise ValueError("the prediction table is empty")
    classes = tuple(classes)
    if proba is None:
        proba = class_probabilities(predictions, classes)
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.shape != (len(predictions), len(classes)):
            raise ValueError(
                f"probabilities have shape {proba.shape}, expected "
                f"({len(predictions)}, {len(classes)}): one column per class, in class order"
            )
    clusters = predictions[subject_col].to_numpy() if subject_col else None
    subjects, n_subjects = _cluster_codes(len(predictions), clusters)
    return Encoded(
        classes=classes,
        y_true=_codes(predictions[true_col], classes, true_col),
        y_pred=_codes(predictions[pred_col], classes, pred_col),
        proba=proba,
        subjects=subjects,
        n_subjects=n_subjects,
    )


def expected_calibration_error(
    y_true: Any, proba: np.ndarray, classes: Sequence[str], n_bins: int = ECE_BINS
) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b| over `n_bins` equal-width bins
    of the top-class probability, bin b = ((b-1)/n_bins, b/n_bins]; the predicted class is
    the arg-max of `proba`. 15 bins is the usual choice (Guo et al. 2017); scikit-learn has no
    multiclass ECE."""
    proba = np.asarray(proba, dtype=float)
    truth = _codes(y_true, classes, "y_true")
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == truth).astype(float)
    b = ece_bin(conf, n_bins)
    count = np.bincount(b, minlength=n_bins)
    gap = np.bincount(b, correct, n_bins) - np.bincount(b, conf, n_bins)
    return float(np.abs(gap).sum() / count.sum()) if count.sum() else float("nan")


def _one_vs_rest(y_true: Any, proba: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Per class: positives, ROC-AUC and average precision (NaN without positives or
    negatives, where neither is defined)."""
    truth = np.asarray(y_true, dtype=object)
    rows = []
    for i, c in enumerate(classes):
        positive = truth == c
        auc = ap = float("nan")
        if 0 < positive.sum() < len(truth):
            auc = float(skm.roc_auc_score(positive, proba[:, i]))
            ap = float(skm.average_precision_score(positive, proba[:, i]))
        rows.append({"class": c, "positives": int(positive.sum()), "roc_auc": auc, "ap": ap})
    return pd.DataFrame(rows)


def _average(values: pd.Series, weights: pd.Series) -> tuple[float, float]:
    ok = values.notna()
    if not ok.any():
        return float("nan"), float("nan")
    return float(values[ok].mean()), float(np.average(values[ok], weights=weights[ok]))


def scalar_metrics(
    y_true: Any, y_pred: Any, classes: Sequence[str], proba: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric in SCALAR_METRICS, from scikit-learn (ECE excepted: see
    `expected_calibration_error`).

    Macro and weighted averages run over the classes present in y_true (a class absent from
    the test set has no recall to average); precision of a present class never predicted is
    0. ROC-AUC and average precision are one-vs-rest per class, averaged over the classes
    with positives and negatives (macro) or weighted by their number of positives. recall
    weighted equals accuracy and recall macro equals balanced accuracy, as always.
    """
    truth = np.asarray(y_true, dtype=object)
    pred = np.asarray(y_pred, dtype=object)
    _codes(truth, classes, "y_true")
    _codes(pred, classes, "y_pred")
    present = [c for c in classes if (truth == c).any()]
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected when a class is absent.
        warnings.simplefilter("ignore", UserWarning)
        out["accuracy"] = float(skm.accuracy_score(truth, pred))
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(truth, pred))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            truth, pred, labels=present, average=average, zero_division=0
        )
        out[f"precision_{average}"] = float(p)
        out[f"recall_{average}"] = float(r)
        out[f"f1_{average}"] = float(f)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Undefined (NaN) when both raters are constant on one class: said by the NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        out["cohen_kappa"] = float(skm.cohen_kappa_score(truth, pred, labels=list(classes)))
    if proba is None:
        out.update({m: float("nan") for m in PROBABILITY_METRICS})
    else:
        ovr = _one_vs_rest(truth, np.asarray(proba, dtype=float), classes)
        out["roc_auc_macro"], out["roc_auc_weighted"] = _average(ovr["roc_auc"], ovr["positives"])
        ap = _average(ovr["ap"], ovr["positives"])
        out["average_precision_macro"], out["average_precision_weighted"] = ap
        out["ece"] = expected_calibration_error(truth, proba, classes)
    return {m: out[m] for m in SCALAR_METRICS}


def per_class_report(
    y_true: Any, y_pred: Any, classes: Sequence[str], proba: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per class: class, support, n_predicted, precision, recall, f1, roc_auc,
    average_precision.

    A class absent from y_true has recall and F1 NaN (and precision NaN unless it was
    predicted, when it is 0); a present class never predicted has precision 0.
    """
    truth = np.asarray(y_true, dtype=object)
    pred = np.asarray(y_pred, dtype=object)
    labels = list(classes)
    p, r, f, support = skm.precision_recall_fscore_support(
        truth, pred, labels=labels, average=None, zero_division=0
    )
    n_pred = np.array([(pred == c).sum() for c in labels])
    absent = support == 0
    table = pd.DataFrame(
        {
            "class": labels,
            "support": support.astype(int),
            "n_predicted": n_pred.astype(int),
            "precision": np.where(absent & (n_pred == 0), np.nan, p),
            "recall": np.where(absent, np.nan, r),
            "f1": np.where(absent, np.nan, f),
        }
    )
    if proba is None:
        table["roc_auc"] = table["average_precision"] = np.nan
    else:
        ovr = _one_vs_rest(truth, np.asarray(proba, dtype=float), classes)
        table["roc_auc"] = ovr["roc_auc"].to_numpy()
        table["average_precision"] = ovr["ap"].to_numpy()
    return table


def confusion_table(y_true: Any, y_pred: Any, classes: Sequence[str]) -> pd.DataFrame:
    """Long confusion matrix: label (true), pred, n, share (of the true class's images; NaN
    for a class absent from y_true)."""
    labels = list(classes)
    cm = skm.confusion_matrix(
        np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object), labels=labels
    )
    rows = cm.sum(axis=1, keepdims=True)
    share = np.where(rows > 0, cm / np.where(rows > 0, rows, 1), np.nan)
    k = len(labels)
    return pd.DataFrame(
        {
            "label": np.repeat(labels, k),
            "pred": np.tile(labels, k),
            "n": cm.ravel().astype(int),
            "share": share.ravel(),
        }
    )


def metric_notes(enc: Encoded) -> dict[str, str]:
    """What a reader needs beside a number: classes left out of averages, ECE's binning."""
    support = np.bincount(enc.y_true, minlength=enc.k)
    absent = [c for c, s in zip(enc.classes, support, strict=True) if s == 0]
    notes = dict.fromkeys(SCALAR_METRICS, "")
    if absent:
        text = f"averaged over the {enc.k - len(absent)} classes in the test set; absent: "
        text += ", ".join(absent)
        for m in ("balanced_accuracy", "precision_macro", "recall_macro", "f1_macro"):
            notes[m] = text
    if enc.proba is None:
        for m in PROBABILITY_METRICS:
            notes[m] = "no class probabilities in the prediction table"
        return notes
    only = [c for c, s in zip(enc.classes, support, strict=True) if s == enc.n]
    unscored = absent + only
    for m in PROBABILITY_METRICS - {"ece"}:
        text = f"one-vs-rest over {enc.k - len(unscored)} of {enc.k} classes"
        if absent:
            text += "; absent from the test set: " + ", ".join(absent)
        if only:
            text += "; no negatives: " + ", ".join(only)
        notes[m] = text
    notes["ece"] = f"{ECE_BINS} equal-width bins of the top-class probability"
    return notes


def subject_bootstrap(
    enc: Encoded, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Percentile interval of every scalar metric over `n_boot` subject-bootstrap resamples
    (whole subjects drawn with replacement; `weighted.bootstrap_weights`). Same seed, same
    intervals."""
    rng = np.random.default_rng(seed)
    weights = bootstrap_weights(enc.subjects, enc.n_subjects, n_boot, rng)
    draws = weighted_metrics(enc, weights)
    return {m: _percentile_ci(draws[m], level) for m in SCALAR_METRICS}


def run_metrics(
    predictions: pd.DataFrame,
    classes: Sequence[str] = CLASSES,
    *,
    proba: np.ndarray | None = None,
    subject_col: str | None = "subject_id",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per scalar metric of one run (one backbone, seed or fold): metric, estimate,
    ci_low, ci_high, level, n_boot, ci_method, n_images, n_subjects, note.

    Estimates are scikit-learn's (`scalar_metrics`), intervals the subject bootstrap's
    (`subject_bootstrap`); `note` says which classes an average left out and how ECE bins.
    """
    enc = encode(predictions, classes, proba=proba, subject_col=subject_col)
    estimate = scalar_metrics(
        predictions["label"].to_numpy(), predictions["pred"].to_numpy(), enc.classes, enc.proba
    )
    intervals = subject_bootstrap(enc, n_boot, level, seed)
    notes = metric_notes(enc)
    return pd.DataFrame(
        [
            {
                "metric": m,
                "estimate": estimate[m],
                "ci_low": intervals[m][0],
                "ci_high": intervals[m][1],
                "level": level,
                "n_boot": n_boot,
                "ci_method": CI_METHOD,
                "n_images": enc.n,
                "n_subjects": enc.n_subjects,
                "note": notes[m],
            }
            for m in SCALAR_METRICS
        ]
    )


def replicate_summary(
    table: pd.DataFrame, by: Sequence[str], value: str = "estimate"
) -> pd.DataFrame:
    """Mean and SD (n - 1 denominator) of `value` across replicates (the rows sharing `by`,
    e.g. backbone and metric over seeds or folds): *by, mean, sd, min, max, n_replicates.
    SD is NaN with one replicate. Replicate spread is training variance (and, across folds,
    test-set variance); it is reported beside, not folded into, the bootstrap interval."""
    grouped = table.groupby(list(by), sort=False, dropna=False)[value]
    out = grouped.agg(mean="mean", sd="std", min="min", max="max", n_replicates="count")
    out["n_replicates"] = out["n_replicates"].astype(int)
    return out.reset_index()
