"""Linear vs nonlinear trends of accuracy in age.

Group level (`group_trend`): linear vs quadratic over the groups, as the reference study did
with five points, but with a proper nested test; x is the group position for a published
table and the groups' mean age in the study. Image level (`image_trend`,
`trend_curves`): logistic regressions of correctness on age (linear, quadratic, natural
spline) with likelihood-ratio tests and subject-clustered errors.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import SpecificationWarning

from devfer.stats._fitting import _as_age_correct

__all__ = ["group_trend", "image_trend", "trend_curves"]


# --------------------------------------------------------------------------------------------
# Group-level trend
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
    x_label: str | None = None,
) -> pd.DataFrame:
    """Linear vs quadratic trend of per-group accuracy over ordered groups.

    x = group position (0, 1, ..., G-1 unless `positions`, e.g. the groups' mean ages, are
    given; `x_label` names them in the `x` column, which the verdict's evidence quotes).
    Linear in the group position is not linear in age when the groups span unequal age
    ranges (the default's 0-4, 4-8, 8-13, 13-18, 18+ y): an accuracy linear in age is then
    curved over the positions, and the test calls it nonlinear. Pass the ages to test
    linearity in age.

    * n known (`method="auto"` or `"binomial"`): binomial GLM with logit link on the counts
      k_g = round(acc_g n_g) out of n_g, logit p_g = b0 + b1 x_g (+ b2 x_g^2), so "linear"
      means linear on the logit scale (`scale` = 'logit'). AIC = -2 l + 2 p and
      BIC = -2 l + p log(sum n_g) (the number of Bernoulli trials, so the BIC matches an
      image-level fit of the same model). The nested comparison is the quasi-binomial test
      (`test` = 'quasi-F'): F = LR / phi ~ F(1, G - 3), with LR = D_lin - D_quad (residual
      deviances) and phi = max(1, Pearson X^2 / (G - 3)) the quadratic fit's dispersion,
      floored at 1. Why: groups differ by more than binomial sampling (the images of a group
      are not a simple random sample of one accuracy: subjects, expression mix, recording
      conditions vary between groups), and then the binomial LR test's p-value shrinks with n
      alone; the quasi-binomial test scales the LR by the observed between-group variation.
      The floor keeps it from being more liberal than the binomial test when the groups
      vary less than binomially (an estimate from G - 3 residual df is noisy). The binomial
      LR statistic and p-value stay in `lr_stat` / `lr_p`, the unfloored estimate in
      `dispersion_raw`.
    * n unknown (`"ols"`), or `"wls"` (weights n_g): least squares on the accuracies, so
      "linear" means linear on the accuracy scale (`scale` = 'accuracy'); nested F-test
      F = ((RSS_lin - RSS_quad) / 1) / (RSS_quad / (G - 3)) ~ F(1, G - 3);
      AIC / BIC from statsmodels' Gaussian likelihood.

    Returns one row per fit ('linear', 'quadratic') with columns fit, model, scale, n_groups, x,
    coef_intercept, coef_linear, coef_quadratic, loglik, aic, bic, deviance (RSS for least
    squares), df_resid, and on the quadratic row test ('quasi-F' or 'F'), statistic, df,
    df_denom, p_value (the test the verdict uses), vertex = -b1 / (2 b2) (in units of x),
    concave (b2 < 0), dispersion, dispersion_raw, quasi_F, quasi_p, lr_stat, lr_p (binomial
    only; quasi_F / quasi_p repeat statistic / p_value). `preferred` is True on the fit the
    nested test selects at `alpha`.
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
    extra: dict[str, Any] = dict.fromkeys(
        ("dispersion", "dispersion_raw", "quasi_F", "quasi_p", "lr_stat", "lr_p"), math.nan
    )

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
        raw = float(fits["quadratic"].pearson_chi2 / df_denom)
        phi = max(1.0, raw)
        f_quasi = lr / phi
        p_quasi = float(stats.f.sf(f_quasi, 1, df_denom))
        extra.update(
            dispersion=phi,
            dispersion_raw=raw,
            quasi_F=f_quasi,
            quasi_p=p_quasi,
            lr_stat=lr,
            lr_p=float(stats.chi2.sf(lr, 1)),
        )
        test = {
            "test": "quasi-F",
            "statistic": f_quasi,
            "df": 1.0,
            "df_denom": float(df_denom),
            "p_value": p_quasi,
        }
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
                "x": x_label or ("group position" if positions is None else "given positions"),
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
        "fit",
        "model",
        "scale",
        "n_groups",
        "x",
        "coef_intercept",
        "coef_linear",
        "coef_quadratic",
        "loglik",
        "aic",
        "bic",
        "deviance",
        "df_resid",
        "test",
        "statistic",
        "df",
        "df_denom",
        "p_value",
        "vertex",
        "concave",
        "dispersion",
        "dispersion_raw",
        "quasi_F",
        "quasi_p",
        "lr_stat",
        "lr_p",
        "preferred",
    ]
    return pd.DataFrame(out)[cols]


# --------------------------------------------------------------------------------------------
# Image-level trend
# --------------------------------------------------------------------------------------------


def _glm(formula: str, data: pd.DataFrame, w: np.ndarray, fit_kw: dict[str, Any]) -> Any:
    """Binomial GLM of the (possibly fractional) response `y`; weights `w` as var_weights.

    Unit weights are left out, so one seed reproduces the unweighted fit exactly.
    statsmodels warns that robust covariances are "not fully supported" with var_weights; the
    cluster-robust sandwich it computes with them was checked against a hand-written one
    (scores and Hessian both carry the weights), so the warning is silenced.
    """
    vw = None if np.all(w == 1) else w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecificationWarning)
        return smf.glm(formula, data, family=sm.families.Binomial(), var_weights=vw).fit(**fit_kw)


def _quasi_loglik(res: Any, y: np.ndarray, w: np.ndarray) -> float:
    """Bernoulli (quasi-)log-likelihood sum w [y log mu + (1 - y) log(1 - mu)].

    Equal to statsmodels' llf for 0/1 responses; for mean correctness over seeds it drops
    the binomial coefficient terms, which are the same for every fit and cancel in LR / BIC.
    """
    mu = np.clip(np.asarray(res.fittedvalues, dtype=float), 1e-15, 1 - 1e-15)
    return float(np.sum(w * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))


def _robust_wald_vs_linear(
    res: Any, y: np.ndarray, age: np.ndarray, w: np.ndarray, codes: np.ndarray
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
    vw = None if np.all(w == 1) else w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecificationWarning)  # see `_glm`
        fit = sm.GLM(y, design, family=sm.families.Binomial(), var_weights=vw).fit(
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
    age: Any,
    correct: Any,
    grid: Any,
    spline_df: int = 4,
    level: float = 0.95,
    *,
    clusters: Any | None = None,
    images: Any | None = None,
) -> pd.DataFrame:
    """Fitted accuracy of the image-level fits (as in `image_trend`) on an age grid.

    Columns: fit, age, accuracy, ci_low, ci_high (pointwise, on the logit scale then
    transformed). With `clusters` (subject per row) the bands use the cluster-robust
    covariance, because images of one subject are not independent; without, the model-based
    one. `images` collapses replicate seeds (see `image_trend`). Grid ages outside the data's
    range are dropped (no extrapolation).
    """
    a, y, w, codes, _ = _as_age_correct(age, correct, clusters, images)
    data = pd.DataFrame({"y": y, "age": a})
    fit_kw: dict[str, Any] = {}
    if clusters is not None:
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    grid = np.asarray(grid, dtype=float)
    grid = grid[(grid >= a.min()) & (grid <= a.max())]
    new = pd.DataFrame({"age": grid})
    frames = []
    for name, formula in _trend_formulas(spline_df).items():
        res = _glm(formula, data, w, fit_kw)
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
    *,
    image_col: str | None = None,
) -> pd.DataFrame:
    """Logistic regressions of image-level correctness on age, linear vs nonlinear.

    Fits (statsmodels formula API, binomial GLM, logit link), so "linear" means linear on
    the logit scale (`scale` = 'logit'):

    * linear:    logit p = b0 + b1 age
    * quadratic: logit p = b0 + b1 age + b2 age^2
    * spline:    logit p = b0 + cr(age, df=spline_df) (patsy natural cubic regression spline,
      centred so it is identifiable with the intercept; it contains the linear fit).

    Each nonlinear fit is compared with the linear one by the likelihood-ratio test
    LR = 2 (l_fit - l_linear) ~ chi2 with (p_fit - 2) df. AIC = -2 l + 2 p,
    BIC = -2 l + p log n, n = number of images. With `cluster_col`, standard errors are
    cluster-robust (cov_type='cluster', by subject) and, because the LR test assumes
    independent images, each nonlinear row also carries the cluster-robust Wald test of the
    same restriction (robust_stat, robust_df, robust_p; NaN without clusters). Rows with
    missing age or correctness are dropped.

    With `image_col`, rows sharing an image id are replicate seeds of one image (the study
    stacks image x seed). They are collapsed to one row per image: the response is the
    image's mean correctness over its seeds, weighted by its number of seeds over the mean
    (see `_fitting._as_age_correct` for why this is sound). The curves are the stacked fit's,
    but the log-likelihood, LR tests, BIC and n count each image once; with S identical seeds
    every number equals the one-seed one. Without `image_col`, each row is an image.

    Columns: fit, scale, n (images), n_rows (rows before collapsing seeds), n_clusters,
    k_params, loglik, aic, bic, lr_stat, lr_df, p_value (LR vs linear), robust_stat,
    robust_df, robust_p, slope, slope_se, slope_p (linear row only, per year on the logit
    scale).
    """
    needed = [c for c in (age_col, correct_col, cluster_col, image_col) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"image_trend: missing column(s): {', '.join(missing)}")
    if spline_df < 3:
        raise ValueError("spline_df must be >= 3 (df 2 would be the linear fit)")
    clusters = None if cluster_col is None else df[cluster_col]
    images = None if image_col is None else df[image_col]
    age, y, w, codes, n_cl = _as_age_correct(df[age_col], df[correct_col], clusters, images)
    n_rows = int((df[age_col].notna() & df[correct_col].notna()).sum())
    data = pd.DataFrame({"y": y, "age": age})
    fit_kw: dict[str, Any] = {}
    if cluster_col is not None:
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    formulas = _trend_formulas(spline_df)
    n = len(y)
    fits = {name: _glm(f, data, w, fit_kw) for name, f in formulas.items()}
    ll = {name: _quasi_loglik(res, y, w) for name, res in fits.items()}
    rows = []
    for name, res in fits.items():
        k = len(res.params)
        row: dict[str, Any] = {
            "fit": name,
            "scale": "logit",
            "n": n,
            "n_rows": n_rows,
            "n_clusters": n_cl,
            "k_params": k,
            "loglik": ll[name],
            "aic": -2 * ll[name] + 2 * k,
            "bic": -2 * ll[name] + k * math.log(n),
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
            lr = max(2 * (ll[name] - ll["linear"]), 0.0)
            row["lr_stat"], row["lr_df"] = float(lr), k - 2
            row["p_value"] = float(stats.chi2.sf(lr, k - 2))
            if cluster_col is not None:
                wald, wdf = _robust_wald_vs_linear(res, y, age, w, codes)
                row["robust_stat"] = float(np.squeeze(wald.statistic))
                row["robust_df"] = wdf
                row["robust_p"] = float(np.squeeze(wald.pvalue))
        rows.append(row)
    return pd.DataFrame(rows)
