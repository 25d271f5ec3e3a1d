"""Private helpers shared by the statistics modules: normal quantiles, percentile CIs,
cluster codes, cluster-bootstrap weights and batched weighted logistic regressions.

Bootstraps resample clusters (subjects) with replacement where clusters are given and images
otherwise; they are implemented as integer frequency weights on the rows, so no data are copied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats


def _z(level: float) -> float:
    """Two-sided normal quantile z_{1-(1-level)/2}."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def _cluster_codes(n: int, clusters: Any | None) -> tuple[np.ndarray, int]:
    """Integer cluster code per row; each row is its own cluster when `clusters` is None.

    Rows with a missing cluster id become singleton clusters (the image is its own subject,
    as in `devfer.splits.split_groups`).
    """
    if clusters is None:
        return np.arange(n), n
    codes, uniques = pd.factorize(pd.Series(np.asarray(clusters, dtype=object)))
    if len(codes) != n:
        raise ValueError(f"clusters has {len(codes)} entries, expected {n}")
    missing = codes < 0
    codes = codes.copy()
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes, len(uniques) + int(missing.sum())


def _boot_weights(codes: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Row weights of one cluster-bootstrap resample: how often each row's cluster was drawn."""
    draws = np.bincount(rng.integers(0, n_clusters, n_clusters), minlength=n_clusters)
    return draws[codes].astype(float)


def _as_age_correct(
    age: Any, correct: Any, clusters: Any | None, images: Any | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(age, response, weight, cluster codes, number of clusters) with one row per image.

    Rows missing age or correctness are dropped; correctness must be 0/1. Without `images`
    every row is an image: response = correctness, weight 1.

    With `images` (an image id per row), rows sharing an id are replicate seeds: the same
    image scored by models trained with different seeds. They are collapsed to one row per
    image (in order of first appearance, with that row's age and cluster) whose response is
    the image's mean correctness over its S_i seeds and whose weight is S_i / mean(S), so the
    weights sum to the number of images. Why this, not the stacked rows: the seeds of one image
    share the image, so they are not independent evidence, yet a stacked Bernoulli likelihood
    counts them as such (its LR statistic grows about S-fold, BIC uses log(images x S)).
    The collapsed Bernoulli log-likelihood is the stacked one divided by mean(S): the same
    maximiser (so the same fitted curves), with each image counted once. As a quasi-likelihood
    for the mean correctness it is valid: E[mean] = the training procedure's expected accuracy
    and Var[mean] <= p (1 - p) (dispersion at most 1, so likelihood-ratio tests on it are
    conservative), and cluster-robust or cluster-bootstrap inference, which the study uses,
    does not depend on the variance at all. With S identical seeds the collapsed data are
    exactly the one-seed data, so every statistic equals the one-seed one. Fitting each seed
    and combining was not chosen: the per-seed estimates share the images and subjects, so
    combining them needs this same cluster machinery, and small per-seed fits are less stable.
    When clusters are None, each image is its own cluster (its seeds are resampled together).
    """
    a = np.asarray(age, dtype=float)
    y = np.asarray(correct, dtype=float)
    if a.shape != y.shape or a.ndim != 1:
        raise ValueError("age and correct must be 1-D arrays of the same length")
    keep = np.isfinite(a) & np.isfinite(y)
    if not np.all((y[keep] == 0) | (y[keep] == 1)):
        raise ValueError("correct must be 0/1 (or boolean)")
    cl = None if clusters is None else np.asarray(clusters, dtype=object)
    if cl is not None and len(cl) != len(a):
        raise ValueError(f"clusters has {len(cl)} entries, expected {len(a)}")
    a, y = a[keep], y[keep]
    cl = None if cl is None else cl[keep]
    w = np.ones(len(y))
    if images is not None:
        ids = np.asarray(images, dtype=object)
        if len(ids) != len(keep):
            raise ValueError(f"images has {len(ids)} entries, expected {len(keep)}")
        unit = pd.factorize(pd.Series(ids[keep]))[0]
        if np.any(unit < 0):
            raise ValueError("images must not have missing ids")
        n_img = int(unit.max()) + 1 if len(unit) else 0
        first = np.full(n_img, len(unit))
        np.minimum.at(first, unit, np.arange(len(unit)))
        seeds = np.bincount(unit, minlength=n_img).astype(float)
        y = np.bincount(unit, weights=y, minlength=n_img) / seeds
        a = a[first]
        cl = None if cl is None else cl[first]
        w = seeds / seeds.mean() if n_img else seeds
    codes, n_clusters = _cluster_codes(len(y), cl)
    return a, y, w, codes, n_clusters


def _boot_share_ci(
    values: np.ndarray, level: float, min_share: float
) -> tuple[float, float, float, str]:
    """Percentile CI over the resamples that had an estimate, their share, and a note.

    A resample without one (no crossing, no maximum) is dropped, so the CI is conditional on
    the estimate existing; when fewer than `min_share` of the resamples had one, the
    estimate's existence itself is in doubt and the CI is NaN with a note saying why.
    """
    share = float(np.mean(np.isfinite(values))) if len(values) else math.nan
    if not share >= min_share:
        note = (
            f"only {share:.0%} of bootstrap resamples had an estimate (< {min_share:.0%}): "
            "no interval"
        )
        return math.nan, math.nan, share, note
    lo, hi = _percentile_ci(values, level)
    return lo, hi, share, ""


def _logistic_fit_batch(
    cols: Sequence[np.ndarray],
    y: np.ndarray,
    w: np.ndarray | None,
    beta: np.ndarray,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Many weighted logistic regressions on the same rows at once (Newton-Raphson).

    `cols` are the k design columns, each broadcastable to (B, n) (a column shared by all B
    fits is passed once with shape (1, n)); `beta` (B, k) are the starting values. Each fit
    maximises l(b) = sum_i w_i [y_i eta_i - log(1 + exp(eta_i))], eta = sum_j b_j x_j, with
    step halving whenever a Newton step would lower l. Used instead of statsmodels inside
    profile likelihoods and bootstraps, where thousands of small fits are needed: batching
    them and starting warm makes each a few array operations. Returns (betas (B, k),
    logliks (B,)).
    """
    w = np.ones(len(y)) if w is None else w
    beta = np.array(beta, dtype=float)
    k = len(cols)
    ridge = 1e-10 * np.eye(k)  # keeps the solve finite under (quasi-)separation

    def linpred(b: np.ndarray) -> np.ndarray:
        return sum(b[:, j, None] * cols[j] for j in range(k))

    def loglik(eta: np.ndarray) -> np.ndarray:
        return np.sum(w * (y * eta - np.logaddexp(0.0, eta)), axis=1)

    eta = linpred(beta)
    for _ in range(max_iter):
        p = special.expit(eta)
        resid = w * (y - p)
        v = w * p * (1 - p)
        grad = np.stack([np.sum(resid * cols[j], axis=1) for j in range(k)], axis=1)
        hess = np.empty((len(beta), k, k))
        for i in range(k):
            vi = v * cols[i]
            for j in range(i, k):
                hess[:, i, j] = hess[:, j, i] = np.sum(vi * cols[j], axis=1)
        step = np.linalg.solve(hess + ridge, grad[:, :, None])[:, :, 0]
        t = np.ones(len(beta))
        eta_new = linpred(beta + step)
        # Close to the optimum a Newton step on this concave log-likelihood cannot overshoot,
        # so the (costly) likelihood check guards only large steps.
        if np.max(np.abs(step)) > 0.5:
            ll, ll_new = loglik(eta), loglik(eta_new)
            for _ in range(30):
                worse = ll_new < ll - 1e-9 * (1 + np.abs(ll))
                if not worse.any():
                    break
                t[worse] /= 2
                eta_new = linpred(beta + t[:, None] * step)
                ll_new = loglik(eta_new)
        beta = beta + t[:, None] * step
        eta = eta_new
        if np.max(np.abs(t[:, None] * step)) < 1e-6:
            break
    return beta, loglik(eta)


def _logistic_fit(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, beta: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """One weighted logistic regression (see `_logistic_fit_batch`)."""
    start = np.zeros(X.shape[1]) if beta is None else beta
    b, ll = _logistic_fit_batch([X[None, :, j] for j in range(X.shape[1])], y, w, start[None])
    return b[0], float(ll[0])
