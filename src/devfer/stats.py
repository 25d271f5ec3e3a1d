"""Statistics for "when do expressions become adult-like?": metrics, trends and transition ages.

Everything here is a pure function of arrays or DataFrames: no file I/O, no printing. Results
are plain floats, dicts or tidy DataFrames (one row per fit or per model).

Four layers, from the per-group numbers a paper reports to the image-level evidence a
reviewer accepts:

1. **Classification metrics** for one model on one age group (accuracy with a Wilson or
   cluster-bootstrap CI, balanced accuracy, macro F1, Cohen's kappa, per-class recall,
   accuracy standardised to a reference expression mix).
2. **Group-level trend** (`group_trend`, `fit_published_table`): linear vs quadratic in the
   group position, as the reference study did with five points, but with a proper nested test.
3. **Image-level trend** (`image_trend`): logistic regressions of correctness on age (linear,
   quadratic, natural spline) with likelihood-ratio tests and subject-clustered errors.
4. **Transition age** (`segmented_logistic`, `four_param_logistic`, `peak_age`) and the
   documented decision rule `decide_trajectory`.

Bootstraps resample clusters (subjects) with replacement where clusters are given and images
otherwise; they are implemented as integer frequency weights on the rows, so no data are copied.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import optimize, special, stats

__all__ = [
    "balanced_accuracy",
    "cluster_bootstrap_ci",
    "cohen_kappa",
    "decide_trajectory",
    "fit_published_table",
    "four_param_logistic",
    "group_metrics",
    "group_trend",
    "image_trend",
    "macro_f1",
    "peak_age",
    "per_class_recall",
    "segmented_logistic",
    "standardised_accuracy",
    "wilson_interval",
]


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 1. Classification metrics
# --------------------------------------------------------------------------------------------


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
    """Mean F1 over the classes present in y_true.

    F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c), which equals the harmonic mean of precision and
    recall and is 0 (not undefined) for a present class that is never predicted.
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


# --------------------------------------------------------------------------------------------
# 2. Group-level trend
# --------------------------------------------------------------------------------------------


def _nested_f(rss_l: float, rss_q: float, tss: float, df_denom: int) -> tuple[float, float]:
    """F = ((RSS_l - RSS_q) / 1) / (RSS_q / df_denom), with exact fits handled explicitly."""
    tiny = 1e-12 * max(tss, 1e-300)
    if rss_l <= tiny:  # the line already fits exactly: the square term adds nothing
        return 0.0, 1.0
    if rss_q <= tiny:  # the parabola fits exactly and the line does not
        return math.inf, 0.0
    f = max(rss_l - rss_q, 0.0) / (rss_q / df_denom)
    return float(f), float(stats.f.sf(f, 1, df_denom))


def group_trend(
    accuracy: Any,
    n: Any | None = None,
    positions: Any | None = None,
    *,
    method: str = "auto",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Linear vs quadratic trend of per-group accuracy over ordered groups.

    x = group position (0, 1, ..., G-1 unless `positions`, e.g. group mid-ages, are given).

    * n known (`method="auto"` or `"binomial"`): binomial GLM with logit link on the counts
      k_g = round(acc_g n_g) out of n_g, logit p_g = b0 + b1 x_g (+ b2 x_g^2). Nested
      comparison by the likelihood-ratio test LR = D_lin - D_quad ~ chi2_1 (D = residual
      deviance). AIC = -2 l + 2 p and BIC = -2 l + p log(sum n_g) (the number of Bernoulli
      trials, so the BIC matches an image-level fit of the same model). The quadratic row
      also carries the dispersion phi = Pearson X^2 / (G - 3) and the quasi-binomial test
      F = LR / (D_quad / (G - 3)) ~ F(1, G - 3) (`quasi_F`, `quasi_p`): with phi >> 1 the
      groups differ by more than binomial sampling and the LR p-value is too small.
    * n unknown (`"ols"`), or `"wls"` (weights n_g): least squares on the accuracies,
      nested F-test F = ((RSS_lin - RSS_quad) / 1) / (RSS_quad / (G - 3)) ~ F(1, G - 3);
      AIC / BIC from statsmodels' Gaussian likelihood.

    Returns one row per fit ('linear', 'quadratic') with columns fit, model, scale, n_groups,
    coef_intercept, coef_linear, coef_quadratic, loglik, aic, bic, deviance (RSS for least
    squares), df_resid, and on the quadratic row test ('LR' or 'F'), statistic, df, df_denom,
    p_value, vertex = -b1 / (2 b2) (in units of x), concave (b2 < 0), dispersion, quasi_F,
    quasi_p. `preferred` is True on the fit the nested test selects at `alpha`.
    """
    acc = np.asarray(accuracy, dtype=float)
    g = acc.size
    if acc.ndim != 1 or g < 4:
        raise ValueError("group_trend needs at least 4 groups (the quadratic uses 3 parameters)")
    if not np.all(np.isfinite(acc)) or acc.min() < 0 or acc.max() > 1:
        raise ValueError("accuracy must be proportions in [0, 1]")
    x = np.arange(g, dtype=float) if positions is None else np.asarray(positions, dtype=float)
    if x.shape != acc.shape:
        raise ValueError("positions must have one entry per group")
    if method == "auto":
        method = "ols" if n is None else "binomial"
    if method not in {"binomial", "ols", "wls"}:
        raise ValueError(f"method must be 'auto', 'binomial', 'ols' or 'wls', got {method!r}")
    if method != "ols" and n is None:
        raise ValueError(f"method {method!r} needs n")
    designs = {
        "linear": np.column_stack([np.ones(g), x]),
        "quadratic": np.column_stack([np.ones(g), x, x**2]),
    }
    rows: dict[str, dict[str, Any]] = {}
    df_denom = g - 3
    extra: dict[str, Any] = {"dispersion": math.nan, "quasi_F": math.nan, "quasi_p": math.nan}

    if method == "binomial":
        trials = np.asarray(n, dtype=float)
        if trials.shape != acc.shape or np.any(trials <= 0):
            raise ValueError("n must be positive, one entry per group")
        k = np.round(acc * trials)
        endog = np.column_stack([k, trials - k])
        fits = {
            name: sm.GLM(endog, X, family=sm.families.Binomial()).fit()
            for name, X in designs.items()
        }
        for name, res in fits.items():
            p = len(res.params)
            rows[name] = {
                "model": "binomial GLM",
                "scale": "logit",
                "loglik": float(res.llf),
                "aic": float(-2 * res.llf + 2 * p),
                "bic": float(-2 * res.llf + p * math.log(trials.sum())),
                "deviance": float(res.deviance),
                "df_resid": float(res.df_resid),
                "params": np.asarray(res.params, dtype=float),
            }
        lr = max(rows["linear"]["deviance"] - rows["quadratic"]["deviance"], 0.0)
        test = {"test": "LR", "statistic": lr, "df": 1.0, "df_denom": math.nan}
        test["p_value"] = float(stats.chi2.sf(lr, 1))
        quad = fits["quadratic"]
        extra["dispersion"] = float(quad.pearson_chi2 / df_denom) if df_denom else math.nan
        d_q = rows["quadratic"]["deviance"]
        if df_denom and d_q > 1e-12:
            extra["quasi_F"] = lr / (d_q / df_denom)
            extra["quasi_p"] = float(stats.f.sf(extra["quasi_F"], 1, df_denom))
    else:
        weights = np.ones(g) if method == "ols" else np.asarray(n, dtype=float)
        for name, X in designs.items():
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                # An exact fit makes the Gaussian log-likelihood +inf; that is expected here.
                warnings.simplefilter("ignore", RuntimeWarning)
                res = sm.WLS(acc, X, weights=weights).fit()
                llf, aic, bic = float(res.llf), float(res.aic), float(res.bic)
            rows[name] = {
                "model": "OLS" if method == "ols" else "WLS (weights n)",
                "scale": "accuracy",
                "loglik": llf,
                "aic": aic,
                "bic": bic,
                "deviance": float(res.ssr),
                "df_resid": float(res.df_resid),
                "params": np.asarray(res.params, dtype=float),
            }
        wm = np.average(acc, weights=weights)
        tss = float(np.sum(weights * (acc - wm) ** 2))
        f, p = _nested_f(rows["linear"]["deviance"], rows["quadratic"]["deviance"], tss, df_denom)
        test = {"test": "F", "statistic": f, "df": 1.0, "df_denom": float(df_denom), "p_value": p}

    quadratic_wins = test["p_value"] < alpha
    out = []
    for name, row in rows.items():
        params = row.pop("params")
        is_quad = name == "quadratic"
        b2 = float(params[2]) if is_quad else math.nan
        out.append(
            {
                "fit": name,
                "n_groups": g,
                "coef_intercept": float(params[0]),
                "coef_linear": float(params[1]),
                "coef_quadratic": b2,
                **row,
                # The comparison belongs to the quadratic row only.
                **{k: (v if is_quad else math.nan) for k, v in {**test, **extra}.items()},
                "vertex": -float(params[1]) / (2 * b2) if is_quad and b2 != 0 else math.nan,
                "concave": bool(is_quad and b2 < 0),
                "preferred": quadratic_wins == is_quad,
            }
        )
        if not is_quad:
            out[-1]["test"] = None
    cols = [
        "fit", "model", "scale", "n_groups", "coef_intercept", "coef_linear", "coef_quadratic",
        "loglik", "aic", "bic", "deviance", "df_resid", "test", "statistic", "df", "df_denom",
        "p_value", "vertex", "concave", "dispersion", "quasi_F", "quasi_p", "preferred",
    ]  # fmt: skip
    return pd.DataFrame(out)[cols]


# --------------------------------------------------------------------------------------------
# 3. Image-level trend
# --------------------------------------------------------------------------------------------


def _robust_wald_vs_linear(
    res: Any, y: np.ndarray, age: np.ndarray, codes: np.ndarray
) -> tuple[Any, int]:
    """Cluster-robust Wald test of a nonlinear fit against the linear one.

    The fit's design is re-parameterised as [1, age, Z], where Z is an orthonormal basis of
    its non-intercept columns after removing their projection on [1, age]. The column space
    (hence the fitted curve) is unchanged, and "Z coefficients = 0" is exactly the linear
    model, so the Wald test of those coefficients with cluster-robust covariance is the
    subject-aware counterpart of the LR test.
    """
    base = np.column_stack([np.ones_like(age), age])
    extra = np.asarray(res.model.exog)[:, 1:]
    resid = extra - base @ np.linalg.lstsq(base, extra, rcond=None)[0]
    u, s, _ = np.linalg.svd(resid, full_matrices=False)
    z = u[:, s > s[0] * 1e-8] * math.sqrt(len(y))
    design = np.column_stack([base, z])
    fit = sm.GLM(y, design, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": codes}
    )
    restriction = np.eye(design.shape[1])[2:]
    return fit.wald_test(restriction, scalar=True), z.shape[1]


def _trend_formulas(spline_df: int) -> dict[str, str]:
    return {
        "linear": "y ~ age",
        "quadratic": "y ~ age + I(age ** 2)",
        "spline": f"y ~ cr(age, df={int(spline_df)}, constraints='center')",
    }


def trend_curves(
    age: Any, correct: Any, grid: Any, spline_df: int = 4, level: float = 0.95
) -> pd.DataFrame:
    """Fitted accuracy of the image-level fits (as in `image_trend`) on an age grid.

    Columns: fit, age, accuracy, ci_low, ci_high (pointwise, on the logit scale then
    transformed). Grid ages outside the data's range are dropped (no extrapolation).
    """
    a, y, _, _ = _as_age_correct(age, correct, None)
    data = pd.DataFrame({"y": y, "age": a})
    grid = np.asarray(grid, dtype=float)
    grid = grid[(grid >= a.min()) & (grid <= a.max())]
    new = pd.DataFrame({"age": grid})
    frames = []
    for name, formula in _trend_formulas(spline_df).items():
        res = smf.glm(formula, data, family=sm.families.Binomial()).fit()
        pred = res.get_prediction(new).summary_frame(alpha=1 - level)
        frames.append(
            pd.DataFrame(
                {
                    "fit": name,
                    "age": grid,
                    "accuracy": pred["mean"].to_numpy(),
                    "ci_low": pred["mean_ci_lower"].to_numpy(),
                    "ci_high": pred["mean_ci_upper"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def image_trend(
    df: pd.DataFrame,
    age_col: str = "age",
    correct_col: str = "correct",
    cluster_col: str | None = None,
    spline_df: int = 4,
) -> pd.DataFrame:
    """Logistic regressions of image-level correctness on age, linear vs nonlinear.

    Fits (statsmodels formula API, binomial GLM, logit link):

    * linear:    logit p = b0 + b1 age
    * quadratic: logit p = b0 + b1 age + b2 age^2
    * spline:    logit p = b0 + cr(age, df=spline_df) (patsy natural cubic regression spline,
      centred so it is identifiable with the intercept; it contains the linear fit).

    Each nonlinear fit is compared with the linear one by the likelihood-ratio test
    LR = 2 (l_fit - l_linear) ~ chi2 with (p_fit - 2) df. AIC = -2 l + 2 p,
    BIC = -2 l + p log n. With `cluster_col`, standard errors are cluster-robust
    (cov_type='cluster', by subject) and, because the LR test assumes independent images,
    each nonlinear row also carries the cluster-robust Wald test of the same restriction
    (robust_stat, robust_df, robust_p; NaN without clusters). Rows with missing age or
    correctness are dropped.

    Columns: fit, n, n_clusters, k_params, loglik, aic, bic, lr_stat, lr_df, p_value (LR vs
    linear), robust_stat, robust_df, robust_p, slope, slope_se, slope_p (linear row only, per
    year on the logit scale).
    """
    needed = [c for c in (age_col, correct_col, cluster_col) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"image_trend: missing column(s): {', '.join(missing)}")
    if spline_df < 3:
        raise ValueError("spline_df must be >= 3 (df 2 would be the linear fit)")
    clusters = None if cluster_col is None else df[cluster_col]
    age, y, codes, n_cl = _as_age_correct(df[age_col], df[correct_col], clusters)
    data = pd.DataFrame({"y": y, "age": age})
    fit_kw: dict[str, Any] = {}
    if cluster_col is not None:
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    formulas = _trend_formulas(spline_df)
    n = len(y)
    fits = {
        name: smf.glm(f, data, family=sm.families.Binomial()).fit(**fit_kw)
        for name, f in formulas.items()
    }
    lin = fits["linear"]
    rows = []
    for name, res in fits.items():
        k = len(res.params)
        row: dict[str, Any] = {
            "fit": name,
            "n": n,
            "n_clusters": n_cl if cluster_col is not None else n,
            "k_params": k,
            "loglik": float(res.llf),
            "aic": float(-2 * res.llf + 2 * k),
            "bic": float(-2 * res.llf + k * math.log(n)),
            "lr_stat": math.nan,
            "lr_df": math.nan,
            "p_value": math.nan,
            "robust_stat": math.nan,
            "robust_df": math.nan,
            "robust_p": math.nan,
            "slope": math.nan,
            "slope_se": math.nan,
            "slope_p": math.nan,
        }
        if name == "linear":
            row["slope"] = float(res.params["age"])
            row["slope_se"] = float(res.bse["age"])
            row["slope_p"] = float(res.pvalues["age"])
        else:
            lr = max(2 * (res.llf - lin.llf), 0.0)
            row["lr_stat"], row["lr_df"] = float(lr), k - 2
            row["p_value"] = float(stats.chi2.sf(lr, k - 2))
            if cluster_col is not None:
                wald, wdf = _robust_wald_vs_linear(res, y, age, codes)
                row["robust_stat"] = float(np.squeeze(wald.statistic))
                row["robust_df"] = wdf
                row["robust_p"] = float(np.squeeze(wald.pvalue))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# 4. Transition age
# --------------------------------------------------------------------------------------------


def _default_grid(age: np.ndarray, step: float = 0.5) -> np.ndarray:
    """Breakpoints every `step` years between the 5th and 95th age percentiles, so both
    segments always hold data."""
    lo, hi = np.quantile(age, [0.05, 0.95])
    return np.arange(math.ceil(lo / step) * step, math.floor(hi / step) * step + 1e-9, step)


def _hinge_designs(age: np.ndarray, cs: np.ndarray) -> list[np.ndarray]:
    """Design columns 1, min(age - c, 0), max(age - c, 0) for each breakpoint c.

    This spans the same models as 1, age, max(age - c, 0) but is far better conditioned
    (the two slope columns have disjoint support, whereas age and the hinge are nearly
    collinear for breakpoints near the youngest ages), so Newton converges in a few steps.
    Coefficients: g0 = logit p at c, g1 = slope before c, g2 = slope after c.
    """
    d = age[None, :] - cs[:, None]
    return [np.ones((1, len(age))), np.minimum(d, 0.0), np.maximum(d, 0.0)]


def _segmented_profile(
    age: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    grid: np.ndarray,
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, np.ndarray]]:
    """Profile log-likelihood l(c) over the grid, then the maximiser refined.

    The refinement evaluates l(c) on two successively finer sub-grids (1/10 and 1/100 of
    the grid step) around the best grid point, so it is deterministic and batched.
    `start` is (len(grid), 3) starting coefficients (see `_hinge_designs`). Returns
    (l on the grid, coefficients on the grid, (c_hat, l_hat, coefficients at c_hat)).
    """
    betas, ll = _logistic_fit_batch(_hinge_designs(age, grid), y, w, start)
    i = int(np.argmax(ll))
    best = (float(grid[i]), float(ll[i]), betas[i])
    step = float(np.min(np.diff(grid)))
    for frac in (0.1, 0.01):
        sub = best[0] + step * frac * np.arange(-10, 11)
        sub = sub[(sub >= grid[0]) & (sub <= grid[-1])]
        b_sub, l_sub = _logistic_fit_batch(
            _hinge_designs(age, sub), y, w, np.repeat(best[2][None], len(sub), axis=0)
        )
        j = int(np.argmax(l_sub))
        if l_sub[j] > best[1]:
            best = (float(sub[j]), float(l_sub[j]), b_sub[j])
    return ll, betas, best


def segmented_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    grid: Any | None = None,
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Broken-stick logistic regression: where does the age slope change?

        logit p(age) = b0 + b1 age + b2 max(age - c, 0)

    The breakpoint c is estimated by profile likelihood: for each c on `grid` (default:
    0.5-year steps between the 5th and 95th age percentiles, so both segments hold data)
    the logistic model is fitted and l(c) recorded; the best grid point is refined on finer
    sub-grids (to 1/100 of the step). Profile-likelihood CI:
    {c : 2 (l(c_hat) - l(c)) <= chi2_1(level)}, the connected set around c_hat, its ends
    found by root finding between grid points (`ci_at_grid_edge` is True when the set reaches
    an end of the grid, i.e. the CI is truncated). With `n_boot` > 0 the reported CI is
    instead the percentile CI of c_hat over bootstrap resamples (of clusters when `clusters`
    is given, else of images); use it for subject-clustered data, for which the profile CI,
    which assumes independent images, is too narrow. Both are in the result.

    Slopes are on the logit scale per year: slope_before = b1, slope_after = b1 + b2.
    The breakpoint is where the trend bends, not necessarily the "halfway" age that
    `four_param_logistic` estimates. `loglik_linear` is the plain linear logistic fit's
    (the LR statistic against it does not follow chi2 because c is not defined under the
    linear model, so no p-value is given).
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    grid = _default_grid(a) if grid is None else np.sort(np.asarray(grid, dtype=float))
    if len(grid) < 3:
        raise ValueError("the breakpoint grid needs at least 3 points; give a wider age range")
    lin_beta, ll_lin = _logistic_fit(np.column_stack([np.ones_like(a), a]), y)
    # Linear fit as the start at every c: g0 = b0 + b1 c, both slopes b1.
    start = np.column_stack(
        [
            lin_beta[0] + lin_beta[1] * grid,
            np.full(len(grid), lin_beta[1]),
            np.full(len(grid), lin_beta[1]),
        ]
    )
    ll, grid_betas, (c_hat, l_hat, g) = _segmented_profile(a, y, None, grid, start)

    cut = l_hat - stats.chi2.ppf(level, 1) / 2

    def prof(c: float) -> float:
        cols = _hinge_designs(a, np.array([c]))
        return float(_logistic_fit_batch(cols, y, None, g[None])[1][0]) - cut

    inside = ll >= cut
    # Walk out from the maximum to the first grid point below the cut on each side.
    below_left = np.nonzero((~inside) & (grid < c_hat))[0]
    below_right = np.nonzero((~inside) & (grid > c_hat))[0]
    p_lo = (
        optimize.brentq(prof, grid[below_left[-1]], c_hat, xtol=1e-3)
        if below_left.size
        else float(grid[0])
    )
    p_hi = (
        optimize.brentq(prof, c_hat, grid[below_right[0]], xtol=1e-3)
        if below_right.size
        else float(grid[-1])
    )
    edge = bool(inside[0] or inside[-1] or not below_left.size or not below_right.size)

    out: dict[str, Any] = {
        "estimate": float(c_hat),
        "ci_low": float(p_lo),
        "ci_high": float(p_hi),
        "method": f"profile likelihood (chi2_1, {level:.0%}), grid {grid[0]:g}-{grid[-1]:g}",
        "loglik": float(l_hat),
        "loglik_linear": float(ll_lin),
        "slope_before": float(g[1]),
        "slope_after": float(g[2]),
        "intercept": float(g[0] - g[1] * c_hat),  # b0: logit p at age 0 on the first segment
        "profile_ci_low": float(p_lo),
        "profile_ci_high": float(p_hi),
        "ci_at_grid_edge": edge,
        "n": len(y),
        "n_boot": 0,
    }
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        boots = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            # Warm start from the full-data fit at every grid point.
            boots[b] = _segmented_profile(a, y, w, grid, grid_betas)[2][0]
        out["ci_low"], out["ci_high"] = _percentile_ci(boots, level)
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"profile likelihood estimate; percentile bootstrap CI ({n_boot} x {unit})"
        out["n_boot"] = n_boot
    return out


def _fpl_unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    """theta = (t1, t2, mid, rate) -> (lower, upper, mid, rate); keeps 0 < lower < upper < 1."""
    lower = special.expit(theta[0])
    upper = lower + (1 - lower) * special.expit(theta[1])
    return float(lower), float(upper), float(theta[2]), float(theta[3])


def _fpl_curve(theta: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Four-parameter logistic p(age) and its Jacobian dp/dtheta, shape (n, 4)."""
    t1, t2, mid, rate = theta
    lower = special.expit(t1)
    e2 = special.expit(t2)
    upper = lower + (1 - lower) * e2
    s = special.expit(rate * (a - mid))
    p = lower + (upper - lower) * s
    dl = lower * (1 - lower)
    ds = (upper - lower) * s * (1 - s)
    jac = np.column_stack(
        [
            (1 - s) * dl + s * dl * (1 - e2),
            s * (1 - lower) * e2 * (1 - e2),
            -rate * ds,
            (a - mid) * ds,
        ]
    )
    return np.clip(p, 1e-12, 1 - 1e-12), jac


def _bernoulli_loglik(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))


def _fpl_fit(
    a: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    starts: Sequence[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    max_iter: int = 100,
) -> tuple[np.ndarray, float, bool]:
    """Maximum-likelihood four-parameter logistic: best of Levenberg-damped Fisher scoring
    runs from each start, steps projected onto the box [lo, hi].

    Fisher scoring uses the expected information I = J' diag(w / (p (1 - p))) J and score
    g = J' (w (y - p) / (p (1 - p))); the step solves (I + lambda diag(I)) d = g, with lambda
    raised until the log-likelihood does not fall. A handful of iterations from a warm
    start, which keeps the bootstrap cheap.
    """
    best: tuple[np.ndarray, float, bool] | None = None
    for x0 in starts:
        theta = np.clip(np.asarray(x0, dtype=float), lo, hi)
        p, jac = _fpl_curve(theta, a)
        ll = _bernoulli_loglik(p, y, w)
        lam, converged = 1e-3, False
        for _ in range(max_iter):
            v = w / (p * (1 - p))
            grad = jac.T @ (v * (y - p))
            info = (jac * v[:, None]).T @ jac
            while lam <= 1e10:
                damped = info + lam * np.diag(np.diag(info) + 1e-12)
                new = np.clip(theta + np.linalg.lstsq(damped, grad, rcond=None)[0], lo, hi)
                p_new, jac_new = _fpl_curve(new, a)
                ll_new = _bernoulli_loglik(p_new, y, w)
                if ll_new >= ll:
                    break
                lam *= 10
            if lam > 1e10:  # no ascent direction left: at a (possibly constrained) maximum
                converged = True
                break
            gain = ll_new - ll
            theta, p, jac, ll = new, p_new, jac_new, ll_new
            lam = max(lam / 10, 1e-9)
            # Log-likelihood gains this small move the estimates by far less than their SEs.
            if gain < 1e-8 * (1 + abs(ll)):
                converged = True
                break
        if best is None or ll > best[1]:
            best = (theta, ll, converged)
    assert best is not None
    return best


def _fpl_setup(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Box constraints (lo, hi) and starting points of a four-parameter logistic fit.

    The midpoint is kept inside the observed ages (outside them it is not identified) and
    |rate| at most 100 / age span; the starts spread over the age range in both directions,
    so a falling curve is not fitted as a rising one stuck at a local optimum.
    """
    amin, amax = float(a.min()), float(a.max())
    if amax <= amin:
        raise ValueError("age must vary")
    span = amax - amin
    max_rate = 100 / span
    lo = np.array([-12.0, -12.0, amin, -max_rate])
    hi = np.array([12.0, 12.0, amax, max_rate])
    q20, q80 = np.quantile(a, [0.2, 0.8])
    young = float(y[a <= q20].mean())
    old = float(y[a >= q80].mean())
    lo0 = float(np.clip(min(young, old) - 0.02, 0.01, 0.97))
    hi0 = float(np.clip(max(young, old) + 0.02, lo0 + 0.01, 0.99))
    t1 = special.logit(lo0)
    t2 = special.logit(np.clip((hi0 - lo0) / (1 - lo0), 0.01, 0.99))
    starts = [
        np.array([t1, t2, m, sgn * 10 / span])
        for m in np.quantile(a, [0.2, 0.35, 0.5, 0.65, 0.8])
        for sgn in (1.0, -1.0)
    ]
    return lo, hi, starts


def four_param_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Four-parameter logistic curve of accuracy on age; `mid` is the transition age.

        p(age) = lower + (upper - lower) / (1 + exp(-(age - mid) / scale))

    fitted by maximum Bernoulli likelihood (damped Fisher scoring from ten starts spread
    over the age range and both directions). lower < upper are the two asymptotic accuracy
    levels; scale > 0 is a rising curve, scale < 0 a falling one (then the young asymptote
    is `upper`). At age = mid the accuracy is exactly halfway between the two levels, which
    is the study's definition of the transition age. `mid` is constrained to the observed
    age range (outside it the transition is not identified) and |scale| to at least 1 % of
    that range; `at_bound` flags an estimate on a constraint. The asymptotes are the
    curve's, not the observed youngest/oldest accuracies: when the curve has not flattened
    inside the data, compare them with level_young / level_old.

    CI: percentile CI of mid over `n_boot` bootstrap resamples (of clusters when `clusters`
    is given, else of images), each refitted from the full-data estimate; NaN when
    n_boot = 0.

    Returns estimate (= mid), ci_low, ci_high, lower, upper, scale, loglik, method, plus
    level_young / level_old (fitted accuracy at the youngest / oldest age), at_bound,
    converged, n.
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    lo, hi, starts = _fpl_setup(a, y)
    amin, amax, max_rate = float(a.min()), float(a.max()), float(hi[3])
    theta, ll, ok = _fpl_fit(a, y, np.ones_like(y), starts, lo, hi)
    lower, upper, mid, rate = _fpl_unpack(theta)

    def curve(x: float) -> float:
        return lower + (upper - lower) * float(special.expit(rate * (x - mid)))

    at_bound = bool(
        np.isclose(mid, amin) or np.isclose(mid, amax) or np.isclose(abs(rate), max_rate)
    )
    out: dict[str, Any] = {
        "estimate": mid,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "lower": lower,
        "upper": upper,
        "scale": 1 / rate if rate != 0 else math.inf,
        "loglik": ll,
        "method": "maximum likelihood (Bernoulli); no CI (n_boot=0)",
        "level_young": curve(amin),
        "level_old": curve(amax),
        "at_bound": at_bound,
        "converged": ok,
        "n": len(y),
    }
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        mids = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            mids[b] = _fpl_fit(a, y, w, [theta], lo, hi)[0][2]
        out["ci_low"], out["ci_high"] = _percentile_ci(mids, level)
        unit = "clusters" if clusters is not None else "images"
        out["method"] = (
            f"maximum likelihood (Bernoulli); percentile bootstrap CI ({n_boot} x {unit})"
        )
    return out


def _fpl_crossing(theta: np.ndarray, level: float, amin: float, amax: float) -> float:
    """Age at which a fitted four-parameter logistic equals `level`; NaN when it never does
    inside [amin, amax]."""
    lower, upper, mid, rate = _fpl_unpack(theta)
    if rate == 0 or not lower < level < upper:
        return math.nan
    x = mid + float(special.logit((level - lower) / (upper - lower))) / rate
    return x if amin <= x <= amax else math.nan


def crossover_age(
    age: Any,
    first_correct: Any,
    second_correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Age at which the second model's accuracy overtakes the first's, on the same images.

    Paired, from the discordant images (exactly one of the two models right):
    P(second right) - P(first right) = P(discordant) * (2 q - 1) with
    q = P(second right | discordant), so the two accuracies are equal exactly where q = 1/2,
    whatever the images' difficulty. q(age) is fitted as a four-parameter logistic
    (maximum likelihood) and the crossover is the age where it reaches 1/2; NaN with a
    reason when it does not inside the observed ages. CI: percentile over `n_boot`
    bootstrap resamples (of clusters when given, else of images); resamples without a
    crossing are left out and counted in `boot_share_crossing`.

    Returns estimate, ci_low, ci_high, n (images), n_discordant, q_young / q_old (fitted
    q at the youngest / oldest discordant age), boot_share_crossing, method, reason.
    """
    first = np.asarray(first_correct, dtype=float)
    second = np.asarray(second_correct, dtype=float)
    if first.shape != second.shape:
        raise ValueError("first_correct and second_correct must have the same length")
    age = np.asarray(age, dtype=float)
    keep = np.isfinite(age) & np.isfinite(first) & np.isfinite(second)
    cl = None if clusters is None else np.asarray(clusters, dtype=object)[keep]
    a, y1, _, _ = _as_age_correct(age[keep], first[keep], None)
    _, y2, codes, n_cl = _as_age_correct(age[keep], second[keep], cl)
    disc = y1 != y2
    out: dict[str, Any] = {
        "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(a),
        "n_discordant": int(disc.sum()), "q_young": math.nan, "q_old": math.nan,
        "boot_share_crossing": math.nan, "reason": "",
        "method": "paired crossover: 4PL of P(second right | discordant) = 1/2",
    }  # fmt: skip
    ad, yd = a[disc], y2[disc]
    if len(ad) < 10 or ad.max() <= ad.min() or yd.min() == yd.max():
        out["reason"] = "too few discordant images, or one model right on all of them"
        return out
    lo, hi, starts = _fpl_setup(ad, yd)
    amin, amax = float(ad.min()), float(ad.max())
    theta = _fpl_fit(ad, yd, np.ones_like(yd), starts, lo, hi)[0]
    q = _fpl_curve(theta, np.array([amin, amax]))[0]
    out["q_young"], out["q_old"] = float(q[0]), float(q[1])
    out["estimate"] = _fpl_crossing(theta, 0.5, amin, amax)
    if math.isnan(out["estimate"]):
        out["reason"] = "the two accuracies do not cross inside the observed ages"
        return out
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        crossings = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)[disc]
            crossings[b] = _fpl_crossing(_fpl_fit(ad, yd, w, [theta], lo, hi)[0], 0.5, amin, amax)
        out["ci_low"], out["ci_high"] = _percentile_ci(crossings, level)
        out["boot_share_crossing"] = float(np.isfinite(crossings).mean())
        unit = "clusters" if clusters is not None else "images"
        out["method"] += f"; percentile bootstrap CI ({n_boot} x {unit})"
    return out


def peak_age(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Age of maximum accuracy under a quadratic logistic curve.

        logit p = g0 + g1 (age - m) + g2 (age - m)^2     (m = mean age, for conditioning)
        peak    = m - g1 / (2 g2)                          (a maximum only when g2 < 0)

    NaN with a `reason` when g2 >= 0 or the vertex lies outside the observed age range.
    CI: percentile over `n_boot` cluster-bootstrap resamples (resamples with g2 >= 0 have no
    maximum and are dropped; `boot_fraction_peak` says how many kept one, and a fraction well
    below 1 means the peak is fragile). With n_boot = 0, a delta-method Wald CI from the
    (cluster-robust when `clusters` is given) covariance:
    se^2 = grad' V grad, grad = (-1 / (2 g2), g1 / (2 g2^2)) w.r.t. (g1, g2).

    Returns estimate, ci_low, ci_high, method, reason, b_age, b_age2 (raw-age coefficients),
    se_delta, boot_fraction_peak, n.
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    m = float(a.mean())
    ac = a - m
    X = np.column_stack([np.ones_like(ac), ac, ac**2])
    kw: dict[str, Any] = {}
    if clusters is not None:
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(**kw)
    g0, g1, g2 = (float(v) for v in res.params)
    out: dict[str, Any] = {
        "estimate": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "method": "quadratic logistic vertex",
        "reason": "",
        "b_age": g1 - 2 * g2 * m,
        "b_age2": g2,
        "se_delta": math.nan,
        "boot_fraction_peak": math.nan,
        "n": len(y),
    }
    if g2 >= 0:
        out["reason"] = f"quadratic term is not negative (b_age2 = {g2:.3g}): no maximum"
        return out
    peak = m - g1 / (2 * g2)
    if not a.min() <= peak <= a.max():
        out["reason"] = (
            f"vertex at {peak:.2f} lies outside the observed ages [{a.min():.2f}, {a.max():.2f}]"
        )
        return out
    grad = np.array([0.0, -1 / (2 * g2), g1 / (2 * g2**2)])
    se = float(np.sqrt(grad @ np.asarray(res.cov_params()) @ grad))
    out.update(estimate=float(peak), se_delta=se)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        peaks = np.full(n_boot, math.nan)
        beta0 = np.array([g0, g1, g2])
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            bb = _logistic_fit(X, y, w, beta0)[0]
            if bb[2] < 0:
                peaks[b] = m - bb[1] / (2 * bb[2])
        out["ci_low"], out["ci_high"] = _percentile_ci(peaks, level)
        out["boot_fraction_peak"] = float(np.mean(np.isfinite(peaks)))
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"quadratic logistic vertex; percentile bootstrap CI ({n_boot} x {unit})"
    else:
        z = _z(level)
        out["ci_low"], out["ci_high"] = peak - z * se, peak + z * se
        out["method"] = "quadratic logistic vertex; delta-method CI"
    return out


# --------------------------------------------------------------------------------------------
# 5. Decision rule
# --------------------------------------------------------------------------------------------


def decide_trajectory(
    trend_rows: pd.DataFrame, alpha: float = 0.05, *, robust: bool = True
) -> tuple[str, str]:
    """Classify an accuracy-by-age trajectory as 'linear' or 'nonlinear', with the evidence.

    Rule (stated before looking at the data, applied mechanically):

    * Image level (`image_trend` rows): 'nonlinear' if at least one nonlinear fit
      (quadratic or spline) both (a) rejects the linear model, p < alpha, and (b) has a lower
      BIC than the linear fit. Otherwise 'linear'. The p-value is the likelihood-ratio
      test's, except that with `robust=True` the cluster-robust Wald p-value is used where
      the rows have one (subject-clustered data, for which the LR test is too liberal).
      Requiring the BIC as well guards against calling a negligible curvature "nonlinear"
      just because n is large, and against the two-alternatives multiplicity.
    * Group level (`group_trend` rows): 'nonlinear' if the nested test of the quadratic
      against the linear fit (F for least squares, LR for the binomial GLM) has p < alpha.

    "linear" means "no evidence of nonlinearity at this alpha", not proof of linearity.
    Returns (decision, one-sentence evidence).
    """
    if "fit" not in trend_rows.columns or "linear" not in set(trend_rows["fit"]):
        raise ValueError("trend_rows must have a 'fit' column with a 'linear' row")
    lin = trend_rows.loc[trend_rows["fit"] == "linear"].iloc[0]
    others = trend_rows.loc[trend_rows["fit"] != "linear"]

    if "lr_stat" in trend_rows.columns:  # image level
        candidates = []
        for _, r in others.iterrows():
            use_robust = robust and "robust_p" in r.index and pd.notna(r["robust_p"])
            p = float(r["robust_p"] if use_robust else r["p_value"])
            stat = float(r["robust_stat"] if use_robust else r["lr_stat"])
            dof = int(r["robust_df"] if use_robust else r["lr_df"])
            name = "cluster-robust Wald" if use_robust else "LR"
            candidates.append((r["fit"], p, stat, dof, name, float(r["bic"])))
        bic_lin = float(lin["bic"])
        passing = [c for c in candidates if c[1] < alpha and c[5] < bic_lin]
        # Report the best passing fit (lowest BIC), or else the closest call (smallest p).
        if passing:
            fit, p, stat, dof, name, bic = min(passing, key=lambda c: c[5])
        else:
            fit, p, stat, dof, name, bic = min(candidates, key=lambda c: c[1])
        detail = (
            f"{fit} vs linear: {name} chi2({dof}) = {stat:.2f}, p = {p:.3g}; "
            f"BIC {bic:.1f} vs {bic_lin:.1f} (n = {int(lin['n'])} images)"
        )
        if passing:
            return "nonlinear", f"nonlinear: {detail}, so the curved fit wins on both criteria."
        return "linear", (
            f"linear: no nonlinear fit has both p < {alpha:g} and a lower BIC; best was {detail}."
        )

    quad = others.loc[others["fit"] == "quadratic"].iloc[0]
    p = float(quad["p_value"])
    if quad["test"] == "F":
        stat_txt = f"F(1, {int(quad['df_denom'])}) = {quad['statistic']:.3g}"
    else:
        stat_txt = f"LR chi2(1) = {quad['statistic']:.3g}"
    detail = f"quadratic vs linear over {int(quad['n_groups'])} groups: {stat_txt}, p = {p:.3g}"
    if p < alpha:
        return "nonlinear", f"nonlinear: {detail} < {alpha:g}."
    return "linear", f"linear: {detail} >= {alpha:g} (no evidence of curvature)."


# --------------------------------------------------------------------------------------------
# 6. The reference study's published table
# --------------------------------------------------------------------------------------------


def fit_published_table(
    df: pd.DataFrame,
    positions: Mapping[Hashable, float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Group-level trend analysis of a published per-group accuracy table, one row per model.

    `df` columns: model, age_group (rows in developmental order, as they appear), accuracy
    (proportions; read as percent and divided by 100 if any value > 1) and optionally n
    (images per group; all rows of a model need it to be used). For each model,
    `group_trend` is run on x = 0..G-1 (or `positions[age_group]`, e.g. mid-ages) and
    `decide_trajectory` applied: a binomial GLM with an LR test when n is known, OLS with the
    nested F-test otherwise.

    Columns: model, n_groups, preferred ('linear' / 'nonlinear'), test ('F' / 'LR'),
    statistic, df, df_denom, p_value, aic_linear, aic_quadratic, bic_linear, bic_quadratic,
    coef_quadratic, concave, vertex (peak position in units of x, only when concave),
    peak_group (group nearest the vertex, when it lies inside the groups), dispersion,
    quasi_F, quasi_p (binomial only), input_scale ('percent' / 'proportion'), evidence.
    """
    required = ["model", "age_group", "accuracy"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"fit_published_table: missing column(s): {', '.join(missing)} "
            "(needs model, age_group, accuracy and optionally n)"
        )
    acc = pd.to_numeric(df["accuracy"], errors="raise").astype(float)
    percent = bool((acc > 1).any())
    if percent:
        acc = acc / 100
    if acc.isna().any() or (acc < 0).any() or (acc > 1).any():
        raise ValueError("accuracy must be in [0, 1] or [0, 100] (percent) with no missing values")
    data = df.assign(accuracy=acc.to_numpy())
    rows = []
    for model in pd.unique(data["model"]):
        sub = data.loc[data["model"] == model]
        groups = list(sub["age_group"])
        if len(set(groups)) != len(groups):
            raise ValueError(f"model {model!r} lists an age_group more than once")
        n = None
        if "n" in sub.columns and sub["n"].notna().any():
            if sub["n"].isna().any():
                raise ValueError(f"model {model!r}: n is given for some age groups but not all")
            n = sub["n"].to_numpy(dtype=float)
        if positions is None:
            x = np.arange(len(groups), dtype=float)
        else:
            unknown = [g for g in groups if g not in positions]
            if unknown:
                raise ValueError(f"positions has no entry for age group(s): {unknown}")
            x = np.array([positions[g] for g in groups], dtype=float)
        trend = group_trend(sub["accuracy"].to_numpy(), n, x, alpha=alpha)
        preferred, evidence = decide_trajectory(trend, alpha)
        lin = trend.loc[trend["fit"] == "linear"].iloc[0]
        quad = trend.loc[trend["fit"] == "quadratic"].iloc[0]
        vertex = float(quad["vertex"]) if quad["concave"] else math.nan
        peak_group = None
        if math.isfinite(vertex) and x.min() <= vertex <= x.max():
            peak_group = groups[int(np.argmin(np.abs(x - vertex)))]
        rows.append(
            {
                "model": model,
                "n_groups": len(groups),
                "preferred": preferred,
                "test": quad["test"],
                "statistic": quad["statistic"],
                "df": quad["df"],
                "df_denom": quad["df_denom"],
                "p_value": quad["p_value"],
                "aic_linear": lin["aic"],
                "aic_quadratic": quad["aic"],
                "bic_linear": lin["bic"],
                "bic_quadratic": quad["bic"],
                "coef_quadratic": quad["coef_quadratic"],
                "concave": bool(quad["concave"]),
                "vertex": vertex,
                "peak_group": peak_group,
                "dispersion": quad["dispersion"],
                "quasi_F": quad["quasi_F"],
                "quasi_p": quad["quasi_p"],
                "fit_model": quad["model"],
                "input_scale": "percent" if percent else "proportion",
                "evidence": evidence,
            }
        )
    return pd.DataFrame(rows)
