"""How good the age estimator is: MAE and group accuracy on held-out labelled faces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from devfer.ages.groups import AgeGroup, bucket


def estimator_metrics(
    age_true: np.ndarray, age_pred: np.ndarray, groups: Sequence[AgeGroup]
) -> pd.DataFrame:
    """MAE overall and per true group, group accuracy, and the true x predicted confusion.

    One tidy table: `metric` in {mae, group_accuracy, confusion}; `true_group` /
    `pred_group` ('all' for overall rows); `value`; `n`.
    """
    age_true, age_pred = np.asarray(age_true, float), np.asarray(age_pred, float)
    true_g, pred_g = bucket(age_true, groups), bucket(age_pred, groups)
    err = np.abs(age_true - age_pred)

    def row(metric: str, true_group: str, pred_group: str, value: float, n: int) -> dict:
        return {
            "metric": metric,
            "true_group": true_group,
            "pred_group": pred_group,
            "value": value,
            "n": n,
        }

    rows = [
        row("mae", "all", "all", err.mean(), len(err)),
        row("group_accuracy", "all", "all", float(np.mean(true_g == pred_g)), len(err)),
    ]
    for g in groups:
        sel = true_g == g.name
        n = int(sel.sum())
        mae = float(err[sel].mean()) if sel.any() else np.nan
        hit = float(np.mean(pred_g[sel] == g.name)) if sel.any() else np.nan
        rows += [row("mae", g.name, "all", mae, n), row("group_accuracy", g.name, "all", hit, n)]
    for gt in groups:
        for gp in groups:
            k = int(np.sum((true_g == gt.name) & (pred_g == gp.name)))
            rows.append(row("confusion", gt.name, gp.name, float(k), k))
    return pd.DataFrame(rows)
