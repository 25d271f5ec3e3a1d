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
    age: Any, correct: Any, clusters: Any | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(age, 0/1 correctness, cluster codes, number of clusters), rows missing age or
    correctness dropped."""
    a = np.asarray(age, dtype=float)
    y = np.asarray(correct, dtype=float)
    if a.shape != y.shape or a.ndim != 1:
        raise ValueError("age and correct must be 1-D arrays of the same length")
    keep = np.isfinite(a) & np.isfinite(y)
    if not np.all((y[keep] == 0) | (y[keep] == 1)):
        raise ValueError("correct must be 0/1 (or boolean)")
    cl = None if clusters is None else np.asarray(clusters, dtype=object)[keep]
    codes, n_clusters = _cluster_codes(int(keep.sum()), cl)
    return a[keep], y[keep], codes, n_clusters


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
