"""Rows of transition.parquet: the transition fits on one model's images, the crossover of
the two models, and the control curves' midpoints.

Every fit takes a model's images from `image_level` (all seeds stacked; seeds collapse to one
row per image inside the fits) with the subject as the unit resampled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from devfer.stats.credibility import EFFECT_CURVE, EXPRESSION_ONLY_CURVE, OBSERVED_CURVE
from devfer.stats.decomposition import effect_transitions, paired_table
from devfer.stats.peak import spline_peak_age
from devfer.stats.transition import crossover_age, four_param_logistic, segmented_logistic

# Below this the image-level fits are not identified. Images are distinct images: replicate
# seeds of one image count once.
MIN_IMAGES = 50


def _clusters(df: pd.DataFrame) -> pd.Series:
    """Subject where known, else the image: the unit that is resampled and clustered on."""
    return df["subject_id"].astype(object).where(df["subject_id"].notna(), df["image_id"])


def image_level(predictions: pd.DataFrame, model: str) -> pd.DataFrame:
    """A model's images (all seeds stacked) with age, correctness and cluster."""
    part = predictions[predictions["model"] == model].copy()
    part["correct"] = part["correct"].astype(float)
    part["cluster"] = _clusters(part)
    return part[part["age"].notna()]


def fit_data(images: pd.DataFrame) -> dict[str, pd.Series]:
    """What every transition fit takes: ages, correctness, subject clusters, image ids."""
    return {
        "age": images["age"],
        "correct": images["correct"],
        "clusters": images["cluster"],
        "images": images["image_id"],
    }


def fit_transition(
    model: str,
    images: pd.DataFrame,
    truth: float | None,
    four: dict[str, Any],
    n_boot: int,
    seed: int,
    breakpoint_boot: bool = True,
) -> dict[str, Any]:
    # The subject bootstrap, not the profile-likelihood CI: the profile CI treats images as
    # independent and is far too narrow for subject-clustered data.
    boot = n_boot if breakpoint_boot else 0
    seg = segmented_logistic(**fit_data(images), n_boot=boot, seed=seed)
    peak = spline_peak_age(**fit_data(images), n_boot=n_boot, seed=seed)
    return transition_row(model, four, seg, peak, truth)


def transition_row(
    model: str, four: dict[str, Any], seg: dict[str, Any], peak: dict[str, Any], truth: float | None
) -> dict[str, Any]:
    """One row of transition.parquet; empty fits (too little data) give NaNs.

    Besides the estimates and intervals: `at_bound` flags a four-parameter logistic fit on
    its box (midpoint at an age-range end, steepest slope, or an asymptote at 0 or 1), with
    the constraint in `note`; `breakpoint_method` says how the breakpoint interval was
    obtained (subject bootstrap in the study); `boot_share` is the share of bootstrap
    resamples with a crossing (crossover row; NaN elsewhere, the midpoint always exists) and
    `peak_boot_share` the share with a maximum. When a share is below
    `transition.MIN_BOOT_SHARE` (0.8) the interval is NaN and `note` / `peak_note` say why.
    """
    nan = float("nan")
    four = four or {
        "estimate": nan,
        "ci_low": nan,
        "ci_high": nan,
        "scale": nan,
        "level_young": nan,
        "level_old": nan,
        "at_bound": False,
        "bound_note": "",
        "method": "not fitted: too few images",
    }
    seg = seg or {
        **dict.fromkeys(("estimate", "ci_low", "ci_high", "slope_before", "slope_after"), nan),
        "method": "",
    }
    peak = peak or {"estimate": nan, "ci_low": nan, "ci_high": nan, "reason": "not fitted"}
    note = ""
    if four["at_bound"]:
        note = (
            f"fit on a constraint ({four.get('bound_note', '')}): the curve does not level off "
            "or changes at the edge of the data, so the midpoint is not a transition seen in "
            "the data; see the breakpoint"
        )
    return {
        "model": model,
        "estimate": four["estimate"],
        "ci_low": four["ci_low"],
        "ci_high": four["ci_high"],
        "truth": np.nan if truth is None else float(truth),
        "method": "four-parameter logistic midpoint; " + four["method"],
        "level_young": four["level_young"],
        "level_old": four["level_old"],
        "direction": "rising" if four["scale"] > 0 else "falling" if four["scale"] < 0 else "",
        "at_bound": four["at_bound"],
        "boot_share": nan,
        "breakpoint": seg["estimate"],
        "breakpoint_ci_low": seg["ci_low"],
        "breakpoint_ci_high": seg["ci_high"],
        "breakpoint_method": seg["method"],
        "slope_before": seg["slope_before"],
        "slope_after": seg["slope_after"],
        "peak_age": peak["estimate"],
        "peak_ci_low": peak["ci_low"],
        "peak_ci_high": peak["ci_high"],
        "peak_boot_share": peak.get("boot_share", nan),
        "peak_note": peak.get("reason", ""),
        "note": note,
    }


#: `model` of the transition row that compares the two models rather than fitting one.
CROSSOVER = "infant_vs_adult"


def paired_images(predictions: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """One row per image (and seed) scored by both models: image_id, (seed,) age, cluster,
    correct_{model}."""
    keys = ["image_id", "seed"] if "seed" in predictions else ["image_id"]
    parts = []
    for model in (first, second):
        part = image_level(predictions, model)[[*keys, "age", "cluster", "correct"]]
        parts.append(part.rename(columns={"correct": f"correct_{model}"}))
    return parts[0].merge(parts[1].drop(columns=["age", "cluster"]), on=keys)


def crossover_row(
    predictions: pd.DataFrame, truth: float | None, n_boot: int, seed: int
) -> dict[str, Any]:
    """Transition row of the age at which the adult model overtakes the infant model.

    The crossover is the age at which the two models are equally accurate, estimated from
    the images on which they disagree, which cancels image difficulty (what both models
    share). It does not cancel face shape: each model was trained on one face shape, so
    face shape moves the two curves in opposite directions and the crossover with them
    (issue 12; see `devfer.stats.credibility`). It equals each model's own midpoint only for
    mirror-image curves with equal asymptotes (e.g. 30 % -> 80 % and 80 % -> 30 % with the
    same steepness); otherwise it is a different age (curves 8 y and 11 y mirror-imaged cross
    at 9.5 y, not at either midpoint). Replicate seeds are collapsed per image; the interval
    is the subject bootstrap's, conditional on a crossing, with `boot_share` the share of
    resamples that had one (NaN interval and a note below 0.8).
    """
    pairs = paired_images(predictions, "infant", "adult")
    fit = crossover_age(
        age=pairs["age"],
        first_correct=pairs["correct_infant"],
        second_correct=pairs["correct_adult"],
        clusters=pairs["cluster"],
        n_boot=n_boot,
        seed=seed,
        images=pairs["image_id"],
    )
    row = transition_row(CROSSOVER, {}, {}, {}, truth)
    row.update(
        estimate=fit["estimate"],
        ci_low=fit["ci_low"],
        ci_high=fit["ci_high"],
        method="crossover: age at which the adult model overtakes the infant model; "
        + fit["method"],
        direction="rising",
        at_bound=False,
        boot_share=fit["boot_share"],
        peak_note="",
        note=fit["reason"],
    )
    return row


def point_transitions(
    predictions: pd.DataFrame,
    controls: Mapping[str, pd.DataFrame],
    truth: float | None,
    n_boot: int = 0,
    seed: int = 0,
    breakpoint_boot: bool = True,
) -> pd.DataFrame:
    """The transition table of one seed, for the seeds' spread: its estimates, with their
    intervals when `n_boot` > 0."""
    rows = []
    for model in sorted(predictions["model"].unique()):
        images = image_level(predictions, model)
        if images["image_id"].nunique() < MIN_IMAGES:
            continue
        four = four_param_logistic(**fit_data(images), n_boot=n_boot, seed=seed)
        rows.append(fit_transition(model, images, truth, four, n_boot, seed, breakpoint_boot))
    if {"infant", "adult"} <= set(predictions["model"]):
        rows.append(crossover_row(predictions, truth, n_boot, seed))
    table = pd.DataFrame(rows).assign(curve=OBSERVED_CURVE)
    if controls:
        pairs = paired_table(predictions, controls)
        extra = control_transitions(pairs, controls, truth, n_boot, seed)
        table = pd.concat([table, pd.DataFrame(extra)], ignore_index=True)
    return table


def control_transitions(
    pairs: pd.DataFrame,
    controls: Mapping[str, pd.DataFrame],
    truth: float | None,
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Transition rows of the expression effect and of the expression-only (shape_off) curve."""
    rows = []
    for fit in effect_transitions(pairs, n_boot, seed):
        row = transition_row(fit.pop("model"), fit, {}, {}, truth)
        head = "expression-effect midpoint: observed - expression_off control"
        rows.append({**row, "curve": EFFECT_CURVE, "method": f"{head}; {fit['method']}"})
    shape_off = controls.get("shape_off")
    for model in [] if shape_off is None else sorted(shape_off["model"].unique()):
        images = image_level(shape_off, model)
        if images["image_id"].nunique() < MIN_IMAGES:
            continue
        four = four_param_logistic(**fit_data(images), n_boot=n_boot, seed=seed)
        row = transition_row(model, four, {}, {}, truth)
        head = "expression-only midpoint: shape_off control"
        rows.append({**row, "curve": EXPRESSION_ONLY_CURVE, "method": f"{head}; {four['method']}"})
    return rows
