"""The statistics stage: is each model's accuracy-by-age curve linear, and where does it turn?

Per model it fits (1) the group-level trend over the ordered groups, as the reference
study did, (2) image-level logistic regressions of correctness on age, and (3) the
transition: the four-parameter logistic midpoint (the age at which accuracy is halfway
between its infant and adult levels), a segmented fit's breakpoint and, for a curve that
rises and falls, the age of the peak. The decision rule is `decide_trajectory`
applied to the image-level fits; the group-level verdict is reported beside it.

Rows of the prediction table are image x seed. Replicate seeds never count as extra images:
every image-level fit collapses them to one row per image (mean correctness over seeds,
see `devfer.stats._fitting._as_age_correct`), thresholds count distinct images, and the
bootstraps resample subjects with all their images and seeds.

Scales: the image-level and group-level fits here are logistic, so "linear" in trend_fits
means linear on the logit scale (column `scale`); `fit_published_table` without n tests
linearity on the accuracy scale instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from devfer.stats.credibility import OBSERVED_CURVE, judge
from devfer.stats.decision import chosen_fit, decide_trajectory
from devfer.stats.decomposition import (
    change_decomposition,
    group_decomposition,
    judge_changes,
    paired_table,
)
from devfer.stats.rows import (
    MIN_IMAGES,
    control_transitions,
    crossover_row,
    fit_data,
    fit_transition,
    image_level,
    point_transitions,
    transition_row,
)
from devfer.stats.seeds import SeedTable, hold_training_variance, interval_scope
from devfer.stats.transition import four_param_logistic
from devfer.stats.trends import group_trend, image_trend, trend_curves

FIT_COLUMNS = [
    "model",
    "analysis",
    "level",
    "fit",
    "scale",
    "n",
    "aic",
    "bic",
    "statistic",
    "df",
    "p_value",
    "test",
    "preferred",
    "decision",
    "evidence",
]


# Below this the quadratic over groups is not identified (images: `rows.MIN_IMAGES`).
MIN_GROUPS = 4


def _undetermined(model: str, level: str, n: int, why: str) -> pd.DataFrame:
    row = dict.fromkeys(FIT_COLUMNS, np.nan)
    row.update(
        model=model,
        level=level,
        fit="linear",
        n=n,
        test="",
        preferred=False,
        decision="undetermined",
        evidence=why,
    )
    return pd.DataFrame([row]).drop(columns="analysis")


def _group_rows(model: str, cross: pd.DataFrame) -> pd.DataFrame:
    part = cross[cross["model"] == model].sort_values("group_order")
    if len(part) < MIN_GROUPS:
        why = f"only {len(part)} age groups have images; the trend needs {MIN_GROUPS}"
        return _undetermined(model, "group", int(part["n"].sum()), why)
    # Linearity in age, not in the group's rank: the groups span 4 to 50+ years each.
    ages = part["age_mean"].to_numpy(float) if "age_mean" in part else np.full(len(part), np.nan)
    by_age = bool(np.isfinite(ages).all() and np.all(np.diff(ages) > 0))
    fits = group_trend(
        part["accuracy"].to_numpy(),
        part["n"].to_numpy(),
        ages if by_age else None,
        x_label="mean age of the group's images" if by_age else None,
    )
    decision, evidence = decide_trajectory(fits)
    return pd.DataFrame(
        {
            "model": model,
            "level": "group",
            "fit": fits["fit"],
            "scale": fits["scale"],
            "n": int(part["n"].sum()),
            "aic": fits["aic"],
            "bic": fits["bic"],
            "statistic": fits["statistic"],
            "df": fits["df"],
            "p_value": fits["p_value"],
            "test": fits["test"],
            "preferred": fits["fit"] == chosen_fit(fits),
            "decision": decision,
            "evidence": evidence,
        }
    )


def _image_rows(model: str, images: pd.DataFrame, spline_df: int) -> pd.DataFrame:
    """Image-level trend rows; `preferred` marks the fit the decision selects (linear when
    the verdict is linear, even if a nonlinear fit has the lowest BIC)."""
    n_images = int(images["image_id"].nunique())
    if n_images < MIN_IMAGES or images["age"].nunique() <= spline_df:
        why = f"only {n_images} images; the image-level fits need {MIN_IMAGES}"
        return _undetermined(model, "image", n_images, why)
    fits = image_trend(images, "age", "correct", "cluster", spline_df, image_col="image_id")
    decision, evidence = decide_trajectory(fits)
    robust = fits["robust_p"].notna()
    return pd.DataFrame(
        {
            "model": model,
            "level": "image",
            "fit": fits["fit"],
            "scale": fits["scale"],
            "n": fits["n"],
            "aic": fits["aic"],
            "bic": fits["bic"],
            "statistic": fits["robust_stat"].where(robust, fits["lr_stat"]),
            "df": fits["robust_df"].where(robust, fits["lr_df"]),
            "p_value": fits["robust_p"].where(robust, fits["p_value"]),
            "test": np.where(fits["fit"] == "linear", "", np.where(robust, "Wald (cluster)", "LR")),
            "preferred": fits["fit"] == chosen_fit(fits),
            "decision": decision,
            "evidence": evidence,
        }
    )


def away_from_boundaries(
    images: pd.DataFrame, boundaries: Sequence[float], margin: float
) -> pd.DataFrame:
    """Images whose age is more than `margin` years from every inner group boundary."""
    if margin <= 0 or not boundaries:
        return images
    dist = np.min(np.abs(images["age"].to_numpy()[:, None] - np.asarray(boundaries)[None]), 1)
    return images[dist > margin]


def analyse(
    predictions: pd.DataFrame,
    cross: pd.DataFrame,
    boundaries: Sequence[float],
    truth: float | None = None,
    boundary_margin: float = 1.0,
    n_boot: int = 200,
    seed: int = 0,
    spline_df: int = 4,
    cross_without_boundary: pd.DataFrame | None = None,
    controls: Mapping[str, pd.DataFrame] | None = None,
    groups: Sequence[str] = (),
    breakpoint_boot: bool = True,
    workers: int = 1,
) -> dict[str, pd.DataFrame]:
    """All trend fits, fitted curves, transition estimates and the boundary sensitivity.

    `n_boot` bootstrap resamples of subjects (the study's `transition_boot`) give every
    transition interval: the midpoint, the breakpoint, the peak and the crossover.
    `breakpoint_boot` False gives the breakpoint its profile-likelihood interval instead (too
    narrow under clustering; for the calibration study, which has no true breakpoint to
    score and spends most of its time there). `controls` (control name -> the models'
    predictions on the paired control renderings) add the face-shape / expression
    decomposition over the age `groups` and the transition of the expression effect
    (`devfer.stats.decomposition`).

    Tables: trend_fits (FIT_COLUMNS; `scale` is the scale on which linearity is tested,
    'logit' for every fit here; `n` counts distinct images, not image x seed rows),
    trend_curves (cluster-robust pointwise bands), transition (see `transition_row`;
    `curve` says which curve a row describes and `credible` / `note` whether the data
    support it, see `devfer.stats.credibility`), sensitivity, decomposition and
    decomposition_change (empty without controls).

    With `workers` > 1 and several seeds, the per-seed re-analyses (half the time) run in
    `workers` - 1 other processes while this one analyses the seeds together: each is a pure
    function of its seed's rows, so the tables are the same to the last digit.
    """
    seeds = sorted(predictions["seed"].unique()) if "seed" in predictions else [0]
    seed_tables = partial(
        _seed_tables,
        truth=truth,
        n_boot=n_boot,
        seed=seed,
        breakpoint_boot=breakpoint_boot,
        spline_df=spline_df,
        groups=groups,
    )

    def rows_of(s: Any) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        return _one_seed(predictions, s), {n: _one_seed(c, s) for n, c in (controls or {}).items()}

    pool, pending = None, {}
    if workers > 1 and len(seeds) > 1:
        pool = ProcessPoolExecutor(max_workers=workers - 1)
        # A task gets its seed's rows only, not the whole table pickled once per seed.
        pending = {s: pool.submit(seed_tables, *rows_of(s), i == 0) for i, s in enumerate(seeds)}
    try:
        tables, fits, sensitivity = _pooled_analysis(
            predictions, cross, boundaries, truth, boundary_margin, n_boot, seed, spline_df,
            cross_without_boundary, controls, groups, breakpoint_boot,
        )  # fmt: skip
        estimate = (
            (lambda s, _: pending[s].result())
            if pending
            else (lambda s, with_intervals: seed_tables(*rows_of(s), with_intervals))
        )
        held = hold_training_variance(tables, SEED_TABLES, seeds, estimate)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    table, decomposition = held["transition"], held["decomposition"]
    curves_table = held["curves"].drop(columns="accuracy_seed_sd", errors="ignore")
    changes = judge_changes(held["changes"]) if not held["changes"].empty else held["changes"]
    ages = predictions["age"].dropna()
    sds = [f"{est}_seed_sd" for est, _, _ in TRANSITION_INTERVALS]
    judged = judge(table.drop(columns=sds), changes, (float(ages.min()), float(ages.max())))
    judged[sds] = table[sds].to_numpy()
    judged["n_seeds"] = len(seeds)
    judged["interval_scope"] = interval_scope(len(seeds))
    return {
        "trend_fits": pd.concat(fits, ignore_index=True)[FIT_COLUMNS],
        "trend_curves": curves_table,
        "transition": judged,
        "sensitivity": pd.DataFrame(sensitivity),
        "decomposition": decomposition,
        "decomposition_change": changes,
    }


def _pooled_analysis(
    predictions: pd.DataFrame,
    cross: pd.DataFrame,
    boundaries: Sequence[float],
    truth: float | None,
    boundary_margin: float,
    n_boot: int,
    seed: int,
    spline_df: int,
    cross_without_boundary: pd.DataFrame | None,
    controls: Mapping[str, pd.DataFrame] | None,
    groups: Sequence[str],
    breakpoint_boot: bool,
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame], list[dict[str, Any]]]:
    """`analyse` on every seed's rows together: the tables whose intervals the seeds' spread
    then widens, the trend fits and the boundary sensitivity."""
    fits, curves, transitions, sensitivity = [], [], [], []
    for model in sorted(predictions["model"].unique()):
        images = image_level(predictions, model)
        group = _group_rows(model, cross)
        image = _image_rows(model, images, spline_df)
        fits += [group.assign(analysis="all images"), image.assign(analysis="all images")]
        if image["decision"].iloc[0] == "undetermined":
            transitions.append(transition_row(model, {}, {}, {}, truth))
        else:
            four = four_param_logistic(**fit_data(images), n_boot=n_boot, seed=seed)
            curves.append(_curves(model, images, spline_df, four))
            transitions.append(
                fit_transition(model, images, truth, four, n_boot, seed, breakpoint_boot)
            )
        near = away_from_boundaries(images, boundaries, boundary_margin)
        label = f"boundary ±{boundary_margin:g} y excluded"
        rows = [_image_rows(model, near, spline_df).assign(analysis=label)]
        if cross_without_boundary is not None:
            rows.append(_group_rows(model, cross_without_boundary).assign(analysis=label))
        fits += rows
        for level, base in (("image", image), ("group", group)):
            other = [r for r in rows if r["level"].iloc[0] == level]
            if not other:
                continue
            sensitivity.append(
                {
                    "model": model,
                    "level": level,
                    "decision_all": base["decision"].iloc[0],
                    "decision_without_boundary": other[0]["decision"].iloc[0],
                    "changed": base["decision"].iloc[0] != other[0]["decision"].iloc[0],
                    "n_all": int(base["n"].iloc[0]),
                    "n_without_boundary": int(other[0]["n"].iloc[0]),
                    "margin_years": boundary_margin,
                }
            )
    if {"infant", "adult"} <= set(predictions["model"]):
        transitions.append(crossover_row(predictions, truth, n_boot, seed))
    decomposition, changes = pd.DataFrame(), pd.DataFrame()
    table = pd.DataFrame(transitions).assign(curve=OBSERVED_CURVE)
    if controls:
        decomposition, changes, rows = _control_analysis(
            predictions, controls, groups, truth, n_boot, seed
        )
        table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    curves_table = (
        pd.concat(curves, ignore_index=True)[CURVE_COLUMNS]
        if curves
        else pd.DataFrame(columns=CURVE_COLUMNS)
    )
    tables = {
        "transition": table,
        "curves": curves_table,
        "decomposition": decomposition,
        "changes": changes,
    }
    return tables, fits, sensitivity


def _seed_tables(
    preds: pd.DataFrame,
    ctl: Mapping[str, pd.DataFrame],
    with_intervals: bool,
    *,
    truth: float | None,
    n_boot: int,
    seed: int,
    breakpoint_boot: bool,
    spline_df: int,
    groups: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """The tables of `_pooled_analysis` that hold training variance, on one seed's rows
    (`preds`, and `ctl` per control) alone, with their intervals for the first seed (see
    `hold_training_variance`)."""
    boot = n_boot if with_intervals else 0
    out = {
        "transition": point_transitions(preds, ctl, truth, boot, seed, breakpoint_boot),
        "curves": _point_curves(preds, spline_df, with_intervals),
    }
    if ctl:
        pairs = paired_table(preds, ctl)
        parts = _decomposition_tables(pairs, groups, n_boot, seed, with_intervals)
        out["decomposition"], out["changes"] = parts
    return out


CURVE_COLUMNS = ["model", "fit", "age", "accuracy", "ci_low", "ci_high"]
#: The (estimate, low, high) columns of each table whose intervals include training variance.
TRANSITION_INTERVALS = [
    ("estimate", "ci_low", "ci_high"),
    ("breakpoint", "breakpoint_ci_low", "breakpoint_ci_high"),
    ("peak_age", "peak_ci_low", "peak_ci_high"),
]
CHANGE_INTERVALS = [
    *((f"{p}_change", f"{p}_ci_low", f"{p}_ci_high") for p in ("observed", "shape", "expression")),
    *((f"share_{p}", f"share_{p}_ci_low", f"share_{p}_ci_high") for p in ("shape", "expression")),
]
#: Each table's rows and intervals, for `hold_training_variance`.
SEED_TABLES = {
    "transition": SeedTable(("model", "curve"), tuple(TRANSITION_INTERVALS)),
    "curves": SeedTable(("model", "fit", "age"), (tuple(CURVE_COLUMNS[3:]),), (0.0, 1.0)),
    "decomposition": SeedTable(
        ("model", "age_group", "quantity", "condition"), (("value", "ci_low", "ci_high"),)
    ),
    "changes": SeedTable(("model", "control"), tuple(CHANGE_INTERVALS)),
}


def _one_seed(table: pd.DataFrame, seed: Any) -> pd.DataFrame:
    return table[table["seed"] == seed] if "seed" in table else table


def _point_curves(predictions: pd.DataFrame, spline_df: int, bands: bool) -> pd.DataFrame:
    """The fitted image-level trend curves of one seed; their bands cluster-robust as in
    `_curves` when `bands` (else cheaper ones, unused)."""
    parts = []
    for model in sorted(predictions["model"].unique()):
        images = image_level(predictions, model)
        if images["image_id"].nunique() < MIN_IMAGES or images["age"].nunique() <= spline_df:
            continue
        robust = {"clusters": images["cluster"], "images": images["image_id"]} if bands else {}
        grid = _age_grid(images)
        curve = trend_curves(images["age"], images["correct"], grid, spline_df, **robust)
        parts.append(curve.assign(model=model))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CURVE_COLUMNS)


def _control_analysis(
    predictions: pd.DataFrame,
    controls: Mapping[str, pd.DataFrame],
    groups: Sequence[str],
    truth: float | None,
    n_boot: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """The decomposition tables and the transition rows the control renderings give: the
    expression effect's midpoint (expression_off) and the expression-only curve's midpoint
    (shape_off: the same faces with one face shape at every age)."""
    pairs = paired_table(predictions, controls)
    decomposition, changes = _decomposition_tables(pairs, groups, n_boot, seed, True)
    return decomposition, changes, control_transitions(pairs, controls, truth, n_boot, seed)


def _decomposition_tables(
    pairs: pd.DataFrame, groups: Sequence[str], n_boot: int, seed: int, with_intervals: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The group decomposition and the change decomposition: with intervals from at least 200
    resamples, or point estimates only (a seed's own, for the seeds' spread)."""
    boot = max(n_boot, 200) if with_intervals else 0
    return (
        group_decomposition(pairs, groups, boot, seed),
        change_decomposition(pairs, groups, boot, seed),
    )


def _age_grid(images: pd.DataFrame) -> np.ndarray:
    """141 ages over the observed range, where the trend curves are drawn."""
    return np.round(np.linspace(images["age"].min(), images["age"].max(), 141), 3)


def _curves(model: str, images: pd.DataFrame, spline_df: int, four: dict[str, Any]) -> pd.DataFrame:
    """Fitted image-level curves on a grid over the observed ages (no extrapolation)."""
    grid = _age_grid(images)
    curve = trend_curves(
        images["age"],
        images["correct"],
        grid,
        spline_df,
        clusters=images["cluster"],
        images=images["image_id"],
    )
    rate = 1 / four["scale"] if math.isfinite(four["scale"]) else 0.0
    logistic = four["lower"] + (four["upper"] - four["lower"]) / (
        1 + np.exp(-rate * (grid - four["estimate"]))
    )
    extra = pd.DataFrame({"fit": "logistic4", "age": grid, "accuracy": logistic})
    return pd.concat([curve, extra], ignore_index=True).assign(model=model)
