"""The documented decision rule (linear vs nonlinear) and its application to a published
per-group accuracy table."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from devfer.stats.trends import group_trend

__all__ = ["chosen_fit", "decide_trajectory", "fit_published_table"]


def _image_candidates(
    trend_rows: pd.DataFrame, robust: bool
) -> list[tuple[str, float, float, int, str, float]]:
    """(fit, p, statistic, df, test name, BIC) of each nonlinear image-level fit."""
    candidates = []
    for _, r in trend_rows.loc[trend_rows["fit"] != "linear"].iterrows():
        use_robust = robust and "robust_p" in r.index and pd.notna(r["robust_p"])
        p = float(r["robust_p"] if use_robust else r["p_value"])
        stat = float(r["robust_stat"] if use_robust else r["lr_stat"])
        dof = int(r["robust_df"] if use_robust else r["lr_df"])
        name = "cluster-robust Wald" if use_robust else "LR"
        candidates.append((str(r["fit"]), p, stat, dof, name, float(r["bic"])))
    return candidates


def chosen_fit(trend_rows: pd.DataFrame, alpha: float = 0.05, *, robust: bool = True) -> str:
    """The fit the decision rule of `decide_trajectory` selects: 'linear' when the verdict
    is linear, else the nonlinear fit that passes both criteria with the lowest BIC (image
    level) or 'quadratic' (group level). Tables mark this fit `preferred`, so the preferred
    row always agrees with the verdict."""
    if decide_trajectory(trend_rows, alpha, robust=robust)[0] == "linear":
        return "linear"
    if "lr_df" not in trend_rows.columns:
        return "quadratic"
    bic_lin = float(trend_rows.loc[trend_rows["fit"] == "linear", "bic"].iloc[0])
    passing = [c for c in _image_candidates(trend_rows, robust) if c[1] < alpha and c[5] < bic_lin]
    return min(passing, key=lambda c: c[5])[0]


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
      just because n is large, and against the two-alternatives multiplicity. Linearity is
      on the logit scale.
    * Group level (`group_trend` rows): 'nonlinear' if the nested test of the quadratic
      against the linear fit has p < alpha: the F-test for least squares (linearity on the
      accuracy scale) or, for the binomial GLM (logit scale), the quasi-binomial F-test with
      the dispersion floored at 1, which allows for between-group variation beyond binomial
      sampling (see `group_trend`).

    "linear" means "no evidence of nonlinearity at this alpha" on the stated scale, not proof
    of linearity. The evidence names the scale, and for the quasi-binomial test the
    dispersion used. Returns (decision, one-sentence evidence).
    """
    if "fit" not in trend_rows.columns or "linear" not in set(trend_rows["fit"]):
        raise ValueError("trend_rows must have a 'fit' column with a 'linear' row")
    lin = trend_rows.loc[trend_rows["fit"] == "linear"].iloc[0]
    others = trend_rows.loc[trend_rows["fit"] != "linear"]

    if "lr_df" in trend_rows.columns:  # image level (group rows have no lr_df)
        candidates = _image_candidates(trend_rows, robust)
        bic_lin = float(lin["bic"])
        passing = [c for c in candidates if c[1] < alpha and c[5] < bic_lin]
        # Report the best passing fit (lowest BIC), or else the closest call (smallest p).
        if passing:
            fit, p, stat, dof, name, bic = min(passing, key=lambda c: c[5])
        else:
            fit, p, stat, dof, name, bic = min(candidates, key=lambda c: c[1])
        detail = (
            f"{fit} vs linear (logit scale): {name} chi2({dof}) = {stat:.2f}, p = {p:.3g}; "
            f"BIC {bic:.1f} vs {bic_lin:.1f} (n = {int(lin['n'])} images)"
        )
        if passing:
            return "nonlinear", f"nonlinear: {detail}, so the curved fit wins on both criteria."
        return "linear", (
            f"linear: no nonlinear fit has both p < {alpha:g} and a lower BIC; best was {detail}."
        )

    quad = others.loc[others["fit"] == "quadratic"].iloc[0]
    p = float(quad["p_value"])
    dfd = int(quad["df_denom"])
    if quad["test"] == "quasi-F":
        raw = quad.get("dispersion_raw", quad["dispersion"])
        stat_txt = (
            f"quasi-binomial, dispersion {quad['dispersion']:.2f} (estimate {raw:.2f}, "
            f"floored at 1): F(1, {dfd}) = {quad['statistic']:.3g}"
        )
    elif quad["test"] == "F":
        stat_txt = f"F(1, {dfd}) = {quad['statistic']:.3g}"
    else:
        stat_txt = f"{quad['test']} = {quad['statistic']:.3g}"
    scale = quad.get("scale", "")
    on = f" ({scale} scale)" if isinstance(scale, str) and scale else ""
    x = quad.get("x", "")
    at = f" (x = {x})" if isinstance(x, str) and x else ""
    groups = int(quad["n_groups"])
    detail = f"quadratic vs linear{on} over {groups} groups{at}: {stat_txt}, p = {p:.3g}"
    if p < alpha:
        return "nonlinear", f"nonlinear: {detail} < {alpha:g}."
    return "linear", f"linear: {detail} >= {alpha:g} (no evidence of curvature)."


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
    `decide_trajectory` applied.

    * Without n: OLS on the accuracies with the nested F-test, so "linear" means linear on the
      accuracy scale (`scale` = 'accuracy'). This is the path for the reference table
      (config/reference_accuracy.csv): infant 'linear', adult 'nonlinear'.
    * With n: binomial GLM (logit scale, `scale` = 'logit') with the quasi-binomial F-test,
      dispersion floored at 1 (`test` = 'quasi-F'). The plain binomial LR test (`lr_stat`,
      `lr_p`) treats every image as an independent trial with the group's accuracy, so its
      p-value falls with n alone: on the reference table the adult verdict flips from
      'linear' at n = 200 to 'nonlinear' at n = 500. The groups scatter around the parabola
      by more than binomial sampling allows (dispersion > 1), and the quasi-binomial test
      scales the LR by that scatter; its verdict then no longer flips with n alone, and on
      the reference table both models come out 'linear': five group accuracies, with
      2 residual df, cannot show curvature beyond their own scatter.

    Columns: model, n_groups, preferred ('linear' / 'nonlinear'), scale ('accuracy' /
    'logit': the scale on which linearity is tested), test ('F' / 'quasi-F'), statistic, df,
    df_denom, p_value, aic_linear, aic_quadratic, bic_linear, bic_quadratic, coef_quadratic,
    concave, vertex (peak position in units of x, only when concave), peak_group (group
    nearest the vertex, when it lies inside the groups), dispersion (floored at 1),
    dispersion_raw, quasi_F, quasi_p, lr_stat, lr_p (binomial only), fit_model, input_scale
    ('percent' / 'proportion': how the accuracies were given), evidence.
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
                "scale": quad["scale"],
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
                "dispersion_raw": quad["dispersion_raw"],
                "quasi_F": quad["quasi_F"],
                "quasi_p": quad["quasi_p"],
                "lr_stat": quad["lr_stat"],
                "lr_p": quad["lr_p"],
                "fit_model": quad["model"],
                "input_scale": "percent" if percent else "proportion",
                "evidence": evidence,
            }
        )
    return pd.DataFrame(rows)
