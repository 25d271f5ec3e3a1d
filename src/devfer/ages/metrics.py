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
    rows = [
        {"metric": "mae", "true_group": "all", "pred_group": "all", "value": err.mean(),
         "n": len(err)},
        {"metric": "group_accuracy", "true_group": "all", "pred_group": "all",
         "value": float(np.mean(true_g == pred_g)), "n": len(err)},
    ]  # fmt: skip
    for g in groups:
        sel = true_g == g.name
        rows.append(
            {"metric": "mae", "true_group": g.name, "pred_group": "all",
             "value": float(err[sel].mean()) if sel.any() else np.nan, "n": int(sel.sum())}
        )  # fmt: skip
        rows.append(
            {"metric": "group_accuracy", "true_group": g.name, "pred_group": "all",
             "value": float(np.mean(pred_g[sel] == g.name)) if sel.any() else np.nan,
             "n": int(sel.sum())}
        )  # fmt: skip
    for gt in groups:
        for gp in groups:
            k = int(np.sum((true_g == gt.name) & (pred_g == gp.name)))
            rows.append(
                {"metric": "confusion", "true_group": gt.name, "pred_group": gp.name,
                 "value": float(k), "n": k}
            )  # fmt: skip
    return pd.DataFrame(rows)
