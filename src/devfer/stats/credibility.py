"""Never report a transition the data cannot support: the `credible` column and its `note`.

An estimate is credible only when (1) it was estimated, (2) its fit is not on a constraint,
(3) its interval is bounded inside the ages observed, and (4) face shape cannot have made it:

* an estimate from a model's observed accuracy curve (its midpoint, the crossover) is
  credible only when paired controls show no face-shape effect on that curve: face shape
  changes with age whatever the expressions do, and each model reads it. Without controls
  (every real study) this cannot be checked, so the estimate is not credible;
* an estimate from the expression effect (observed minus the expression_off control), or
  from the expression-only curve (accuracy on the shape_off control, where one face shape
  serves every age), is credible only when the expression part of the change from the
  youngest to the oldest group is distinguishable from zero: otherwise there is nothing
  for a midpoint to describe.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

OBSERVED_CURVE = "observed"
EFFECT_CURVE = "expression effect"
EXPRESSION_ONLY_CURVE = "expression only"
NO_CONTROLS = (
    "face shape not controlled: the observed curve mixes face shape with expression "
    "development, and without control renderings nothing separates them (README: Face shape)"
)
AT_BOUND = "fit on a constraint (at a bound)"
#: An interval reaching this share of the age span from either end is not bounded by data.
EDGE = 0.01


def _excludes_zero(lo: float, hi: float) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def _significant(changes: pd.DataFrame, part: str) -> np.ndarray:
    """Rows whose `part` change (shape or expression) has an interval excluding zero."""
    lo, hi = changes[f"{part}_ci_low"], changes[f"{part}_ci_high"]
    return np.array([_excludes_zero(a, b) for a, b in zip(lo, hi, strict=True)], dtype=bool)


#: The control whose decomposition row is the evidence for each kind of curve.
CURVE_CONTROL = {EFFECT_CURVE: "expression_off", EXPRESSION_ONLY_CURVE: "shape_off"}


def _change_rows(changes: pd.DataFrame | None, model: str, curve: str) -> pd.DataFrame:
    """The decomposition rows that bear on `model`'s `curve` (both models for the crossover):
    the control the curve comes from, or for an observed curve preferably expression_off."""
    if changes is None or changes.empty:
        return pd.DataFrame()
    rows = changes if model not in set(changes["model"]) else changes[changes["model"] == model]
    preferred = rows[rows["control"] == CURVE_CONTROL.get(curve, "expression_off")]
    if curve in CURVE_CONTROL:
        return preferred
    return preferred if not preferred.empty else rows


def _reason(row: pd.Series, changes: pd.DataFrame | None, age_range: tuple[float, float]) -> str:
    """Why the row is not credible; '' when it is."""
    if not math.isfinite(row["estimate"]):
        why = str(row.get("method", "")).partition("not fitted: ")[2]
        return f"not estimated: {why}" if why else "not estimated"
    if bool(row.get("at_bound", False)):
        return AT_BOUND
    lo, hi = row["ci_low"], row["ci_high"]
    amin, amax = age_range
    edge = EDGE * (amax - amin)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= amin + edge or hi >= amax - edge:
        return "interval unbounded: it is missing or reaches the end of the ages observed"
    evidence = _change_rows(changes, row["model"], row["curve"])
    if row["curve"] == OBSERVED_CURVE:
        if evidence.empty:
            return NO_CONTROLS
        shaped = evidence[_significant(evidence, "shape")]
        if not shaped.empty:
            worst = shaped.iloc[int(np.argmax(np.abs(shaped["shape_change"].to_numpy())))]
            return (
                f"face shape alone changes the {worst['model']} model's accuracy by "
                f"{100 * worst['shape_change']:+.1f} points from {worst['from_group']} to "
                f"{worst['to_group']} (observed {100 * worst['observed_change']:+.1f}): the "
                "observed curve is not the expression transition; see the expression-effect rows"
            )
    if evidence.empty:
        return "no control renderings to separate expression development from face shape"
    if not _significant(evidence, "expression").any():
        return "no expression effect distinguishable from the face-shape null"
    return ""


def judge(
    transitions: pd.DataFrame,
    changes: pd.DataFrame | None,
    age_range: tuple[float, float],
) -> pd.DataFrame:
    """`transitions` with `credible` (bool) and the reason prepended to `note` when False.

    `changes` is `change_decomposition`'s table (None or empty without controls);
    `age_range` the youngest and oldest age observed.
    """
    out = transitions.copy()
    if "curve" not in out:
        out["curve"] = OBSERVED_CURVE
    reasons = [_reason(row, changes, age_range) for _, row in out.iterrows()]
    out["credible"] = [not r for r in reasons]
    notes = [n if isinstance(n, str) else "" for n in out.get("note", [""] * len(out))]
    # A fit on a constraint already says which one in its own note.
    out["note"] = [
        n if (r == AT_BOUND and n) else "; ".join(x for x in (r, n) if x)
        for r, n in zip(reasons, notes, strict=True)
    ]
    return out
