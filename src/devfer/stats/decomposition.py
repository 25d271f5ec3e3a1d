"""Face shape or expression? Each model's accuracy by age split with paired control renderings.

The simulation can draw every evaluation face again with expression development off (the
adult prototypes at every age: only face shape changes with age) or with face-shape
development off (`devfer.simulate.controls`). The same models score the pairs, so per image

* expression effect = correct(observed) - correct(expression off): what expression
  development does to the model on this face, with face shape held as it is;
* shape effect = correct(observed) - correct(shape off): what face shape does.

Tables here: accuracy per model x age group x condition with the effects
(`group_decomposition`), the change from the youngest to the oldest group split into face
shape and expression development (`change_decomposition`), and the transition estimated from
the expression effect itself (`effect_transitions`). Intervals resample subjects with all
their images and seeds (one set of bootstrap draws for every number, so that differences
between groups and conditions are paired). Replicate seeds are averaged per image first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from devfer.stats._fitting import _percentile_ci
from devfer.stats.transition import four_param_logistic

OBSERVED = "observed"
#: What each control holds fixed, in words for the tables.
CONTROL_MEANING = {
    "expression_off": "face shape only (adult expressions at every age)",
    "shape_off": "expression only (one face shape at every age)",
}


def paired_table(observed: pd.DataFrame, controls: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model x image x seed scored in every condition: age, age group, subject
    cluster and the 0/1 correctness in each condition (`correct_<condition>`)."""
    keys = ["model", "image_id", "seed"] if "seed" in observed else ["model", "image_id"]
    cols = [*keys, "age", "age_group", "subject_id", "dataset", "correct"]
    table = observed[cols].rename(columns={"correct": f"correct_{OBSERVED}"})
    table["cluster"] = (
        table["subject_id"].astype(object).where(table["subject_id"].notna(), table["image_id"])
    )
    for name, df in controls.items():
        other = df[[*keys, "correct"]].rename(columns={"correct": f"correct_{name}"})
        table = table.merge(other, on=keys, how="inner")
    for c in table:
        if c.startswith("correct_"):
            table[c] = table[c].astype(float)
    return table[table["age"].notna()].reset_index(drop=True)


class _Bootstrap:
    """Cluster bootstrap of weighted means: one set of subject resamples for every number."""

    def __init__(self, clusters: pd.Series, n_boot: int, seed: int):
        self.codes, uniques = pd.factorize(clusters)
        n = len(uniques)
        rng = np.random.default_rng(seed)
        self.weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
        self.n_clusters = n

    def mean(self, values: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
        """The mean of `values` where `mask`, and its bootstrap replicates."""
        sums = np.bincount(self.codes[mask], values[mask], self.n_clusters)
        counts = np.bincount(self.codes[mask], minlength=self.n_clusters).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (self.weights @ sums) / (self.weights @ counts)
        return float(values[mask].mean()) if mask.any() else np.nan, boot

    def change(
        self, values: np.ndarray, first: np.ndarray, last: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean where `last` minus mean where `first`, and its replicates."""
        a, ra = self.mean(values, first)
        b, rb = self.mean(values, last)
        return b - a, rb - ra


def _interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    boot = boot[np.isfinite(boot)]
    return _percentile_ci(boot, level) if len(boot) else (np.nan, np.nan)


def _row(
    base: dict[str, Any], quantity: str, condition: str, est: float, reps: np.ndarray, level: float
) -> dict[str, Any]:
    lo, hi = _interval(reps, level)
    row = {"quantity": quantity, "condition": condition, "value": est, "ci_low": lo}
    return {**base, **row, "ci_high": hi}


def group_decomposition(
    pairs: pd.DataFrame,
    groups: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Accuracy per model x age group in every condition, and each control's effect
    (observed - control), with paired subject-bootstrap intervals; one row per model x
    group x quantity (`quantity` is 'accuracy' or 'effect', `condition` the condition or
    the control the effect is taken against)."""
    conditions = [c.removeprefix("correct_") for c in pairs if c.startswith("correct_")]
    boot = _Bootstrap(pairs["cluster"], n_boot, seed)
    rows = []
    for model in sorted(pairs["model"].unique()):
        for order, group in enumerate(groups):
            mask = ((pairs["model"] == model) & (pairs["age_group"] == group)).to_numpy()
            if not mask.any():
                continue
            base = {"model": model, "age_group": group, "group_order": order}
            base["n"] = int(pairs.loc[mask, "image_id"].nunique())  # images, not seeds
            for cond in conditions:
                est, reps = boot.mean(pairs[f"correct_{cond}"].to_numpy(float), mask)
                rows.append(_row(base, "accuracy", cond, est, reps, level))
            for cond in conditions:
                if cond == OBSERVED:
                    continue
                diff = (pairs[f"correct_{OBSERVED}"] - pairs[f"correct_{cond}"]).to_numpy(float)
                est, reps = boot.mean(diff, mask)
                rows.append(_row(base, "effect", cond, est, reps, level))
    return pd.DataFrame(rows)


def change_decomposition(
    pairs: pd.DataFrame,
    groups: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each model's change in accuracy from the youngest to the oldest age group, split by
    each control into face shape and expression development, with paired intervals.

    With the expression_off control, the face-shape part is the control's own change (only
    face shape changes there) and the expression part the rest. With the shape_off control,
    the expression part is the control's change and the face-shape part the rest. `share_*`
    are parts over the observed change (NaN intervals when the observed change's interval
    includes 0: a share of nothing is not defined). `verdict` names the parts whose
    interval excludes 0.
    """
    controls = [
        c.removeprefix("correct_")
        for c in pairs
        if c.startswith("correct_") and c != f"correct_{OBSERVED}"
    ]
    boot = _Bootstrap(pairs["cluster"], n_boot, seed)
    present = [g for g in groups if g in set(pairs["age_group"])]
    rows = []
    if len(present) < 2:
        return pd.DataFrame(rows)
    young, old = present[0], present[-1]
    for model in sorted(pairs["model"].unique()):
        mine = (pairs["model"] == model).to_numpy()
        m_young = mine & (pairs["age_group"] == young).to_numpy()
        m_old = mine & (pairs["age_group"] == old).to_numpy()

        obs, obs_b = boot.change(pairs[f"correct_{OBSERVED}"].to_numpy(float), m_young, m_old)
        for control in controls:
            ctl, ctl_b = boot.change(pairs[f"correct_{control}"].to_numpy(float), m_young, m_old)
            if control == "expression_off":
                shape, shape_b, expr, expr_b = ctl, ctl_b, obs - ctl, obs_b - ctl_b
            else:
                shape, shape_b, expr, expr_b = obs - ctl, obs_b - ctl_b, ctl, ctl_b
            row: dict[str, Any] = {
                "model": model,
                "control": control,
                "from_group": young,
                "to_group": old,
            }
            parts = {"observed": (obs, obs_b), "shape": (shape, shape_b)}
            parts["expression"] = (expr, expr_b)
            for part, (est, reps) in parts.items():
                lo, hi = _interval(reps, level)
                row.update({f"{part}_change": est, f"{part}_ci_low": lo, f"{part}_ci_high": hi})
            for part in ("shape", "expression"):
                est, reps = parts[part]
                with np.errstate(invalid="ignore", divide="ignore"):
                    share_b = reps / obs_b
                row[f"share_{part}"] = est / obs if obs != 0 else np.nan
                lo, hi = _interval(share_b, level)
                row[f"share_{part}_ci_low"], row[f"share_{part}_ci_high"] = lo, hi
            rows.append(row)
    return judge_changes(pd.DataFrame(rows))


def judge_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The change table's verdicts from its intervals (again after they are widened by
    training variance): shares lose their interval where the observed change's includes 0,
    and `verdict` names the parts whose interval excludes 0."""
    if changes.empty:
        return changes
    out = changes.copy()
    undefined = (out["observed_ci_low"] <= 0) & (out["observed_ci_high"] >= 0)
    for part in ("shape", "expression"):
        for end in ("low", "high"):
            out.loc[undefined, f"share_{part}_ci_{end}"] = np.nan
    out["verdict"] = [_verdict(r) for r in out.to_dict("records")]
    return out


def _excludes_zero(row: Mapping[str, Any], part: str) -> bool:
    lo, hi = row[f"{part}_ci_low"], row[f"{part}_ci_high"]
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def _verdict(row: Mapping[str, Any]) -> str:
    shape, expr = _excludes_zero(row, "shape"), _excludes_zero(row, "expression")
    if shape and expr:
        return "face shape and expression development"
    if shape:
        return "face shape only: no expression effect distinguishable from zero"
    if expr:
        return "expression development only: no face-shape effect distinguishable from zero"
    return "neither distinguishable from zero"


#: `model` of the effect-transition row that combines both models' expression effects.
BOTH = "infant_vs_adult"


def _effect_units(pairs: pd.DataFrame, model: str | None) -> pd.DataFrame:
    """Binary units whose mean per image is a linear map of the expression effect.

    For one model: c_obs and 1 - c_ctrl, whose mean is (effect + 1) / 2. For both models
    (`model` None): c_obs(adult), 1 - c_ctrl(adult), 1 - c_obs(infant), c_ctrl(infant),
    whose mean is (effect_adult - effect_infant + 2) / 4, which rises as expressions become
    adult-like for both models at once. A logistic curve's midpoint is unchanged by such a
    map, so the four-parameter logistic of these units (images collapse their units, as they
    collapse seeds) estimates the age at which the expression effect is half way.
    """
    obs, ctl = f"correct_{OBSERVED}", "correct_expression_off"
    keys = ["image_id", "age", "cluster"]
    if model is not None:
        part = pairs[pairs["model"] == model]
        units = [part[obs], 1 - part[ctl]]
        base = part[keys]
    else:
        on = ["image_id", "seed"] if "seed" in pairs else ["image_id"]
        wide = pairs[pairs["model"] == "adult"].merge(
            pairs[pairs["model"] == "infant"][[*on, obs, ctl]], on=on, suffixes=("_a", "_i")
        )
        units = [wide[obs + "_a"], 1 - wide[ctl + "_a"], 1 - wide[obs + "_i"], wide[ctl + "_i"]]
        base = wide[keys]
    return pd.concat([base.assign(correct=u.to_numpy(float)) for u in units], ignore_index=True)


#: The fit reported when the expression effect is zero on every image.
ZERO_EFFECT: dict[str, Any] = {
    **dict.fromkeys(("estimate", "ci_low", "ci_high", "scale", "level_young", "level_old"), np.nan),
    "at_bound": False,
    "bound_note": "",
    "method": "not fitted: the expression effect is zero on every image",
}


def effect_transitions(
    pairs: pd.DataFrame, n_boot: int = 200, seed: int = 0
) -> list[dict[str, Any]]:
    """The transition estimated from the expression effect: per model and for both models.

    Needs the expression_off control. Returns the four-parameter logistic fits (see
    `four_param_logistic`) keyed by model, with the units' description in `curve`.
    """
    if "correct_expression_off" not in pairs:
        return []
    out = []
    models = sorted(pairs["model"].unique())
    targets: list[str | None] = list(models)
    if {"infant", "adult"} <= set(models):
        targets.append(None)
    for model in targets:
        units = _effect_units(pairs, model)
        if units["image_id"].nunique() < 50:
            continue
        if units.groupby("image_id")["correct"].mean().eq(units["correct"].mean()).all():
            # The control scores exactly as the observed faces do: nothing to fit.
            out.append({"model": BOTH if model is None else model, **ZERO_EFFECT})
            continue
        fit = four_param_logistic(
            units["age"],
            units["correct"],
            clusters=units["cluster"],
            images=units["image_id"],
            n_boot=n_boot,
            seed=seed,
        )
        out.append({"model": BOTH if model is None else model, **fit})
    return out
