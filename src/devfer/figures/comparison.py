"""The model zoo's figures and paper table: accuracy against cost, per-class F1, fairness gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    coord_flip,
    facet_wrap,
    geom_errorbar,
    geom_line,
    geom_linerange,
    geom_point,
    geom_text,
    ggplot,
    labs,
    position_dodge,
    scale_x_log10,
    theme,
)

from devfer.figures.labels import MISSING, pretty, require_columns
from devfer.figures.theme import GREY, INK, theme_devfer


def pareto_front(points: pd.DataFrame, cost: str, value: str) -> pd.Series:
    """True for the backbones no other beats on both: lower `cost` and higher `value`."""
    c, v = points[cost].to_numpy(float), points[value].to_numpy(float)
    beaten = [
        (((c <= c[i]) & (v > v[i])) | ((c < c[i]) & (v >= v[i]))).any() for i in range(len(c))
    ]
    return pd.Series(~np.array(beaten, dtype=bool), index=points.index)


def accuracy_cost_plot(summary: pd.DataFrame, metric: str = "accuracy") -> ggplot:
    """Mean `metric` across runs (± 1 SD) against CPU latency at batch 1, log scale; the Pareto
    front (no backbone both faster and better) joined by a line."""
    require_columns(summary, ["backbone", "metric", "mean", "sd", "latency_ms"], "summary", "plot")
    df = summary[summary["metric"] == metric].copy()
    df["sd"] = df["sd"].fillna(0.0)
    df["lo"], df["hi"] = df["mean"] - df["sd"], df["mean"] + df["sd"]
    front = df[pareto_front(df, "latency_ms", "mean")].sort_values("latency_ms")
    # Labels just above each point's SD bar, whatever the accuracies' range.
    span = float(df["hi"].max() - df["lo"].min()) or 0.1
    df["label_y"] = df["hi"] + 0.04 * span
    return (
        ggplot(df, aes("latency_ms", "mean"))
        + geom_line(data=front, colour=GREY, linetype="dashed", size=0.4)
        + geom_linerange(aes(ymin="lo", ymax="hi"), colour=INK, size=0.5)
        + geom_point(colour=INK, size=2)
        + geom_text(aes(y="label_y", label="backbone"), va="bottom", size=7, colour=INK)
        + scale_x_log10(expand=(0.35, 0))  # room for the names at either end
        + labs(x="CPU latency at batch 1 (ms, log scale)", y=f"{metric_label(metric)} (mean ± SD)")
        + theme_devfer()
    )


def per_class_f1_plot(per_class: pd.DataFrame) -> ggplot:
    """F1 per class and backbone: mean across runs with the runs' range."""
    require_columns(per_class, ["backbone", "class", "f1"], "per_class", "per_class_f1_plot")
    df = (
        per_class.groupby(["backbone", "class"], sort=False)["f1"]
        .agg(mean="mean", lo="min", hi="max")
        .reset_index()
    )
    dodge = position_dodge(width=0.7)
    return (
        ggplot(df, aes("class", "mean", colour="backbone"))
        + geom_errorbar(aes(ymin="lo", ymax="hi"), width=0.3, position=dodge, size=0.4)
        + geom_point(position=dodge, size=1.6)
        + coord_flip()
        + labs(x="", y="F1 (mean across runs; bars: their range)", colour="")
        + theme_devfer()
        + theme(legend_position="bottom")
    )


def fairness_plot(fairness: pd.DataFrame, metric: str = "accuracy") -> ggplot:
    """`metric` per demographic group with its subject-bootstrap interval, per backbone."""
    require_columns(
        fairness,
        ["backbone", "attribute", "group", "metric", "estimate", "ci_low", "ci_high"],
        "fairness",
        "fairness_plot",
    )
    df = fairness[fairness["metric"] == metric].copy()
    df["attribute"] = df["attribute"].map(pretty)
    # Groups in the table's order (age groups youngest first), top to bottom.
    levels = list(dict.fromkeys(df["group"]))[::-1]
    df["group"] = pd.Categorical(df["group"], categories=levels)
    dodge = position_dodge(width=0.6)
    return (
        ggplot(df, aes("group", "estimate", colour="backbone"))
        + geom_errorbar(aes(ymin="ci_low", ymax="ci_high"), width=0.25, position=dodge, size=0.4)
        + geom_point(position=dodge, size=1.6)
        + facet_wrap("attribute", scales="free_y", ncol=1)
        + coord_flip()
        + labs(x="", y=f"{metric_label(metric)} (95 % subject-bootstrap interval)", colour="")
        + theme_devfer()
        + theme(legend_position="bottom")
    )


def _mean_sd(mean: float, sd: float, decimals: int = 3) -> str:
    if pd.isna(mean):
        return MISSING
    return f"{mean:.{decimals}f}" if pd.isna(sd) else f"{mean:.{decimals}f} ± {sd:.{decimals}f}"


#: The summary table's metric columns, in the order the field reports them.
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "F1 (macro)",
    "f1_weighted": "F1 (weighted)",
    "cohen_kappa": "Cohen's κ",
    "roc_auc_macro": "ROC-AUC (macro)",
    "average_precision_macro": "AP (macro)",
    "ece": "ECE",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, pretty(metric))


def comparison_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per backbone: each metric as mean ± SD across runs, and its cost."""
    rows = []
    for backbone, part in summary.groupby("backbone", sort=False):
        by = part.set_index("metric")
        row = {"Backbone": backbone, "Runs": int(by["n_replicates"].max())}
        for m in METRIC_LABELS:
            if m in by.index:
                row[metric_label(m)] = _mean_sd(by.at[m, "mean"], by.at[m, "sd"])
        first = part.iloc[0]
        row["Params (M)"] = f"{first['params'] / 1e6:.2f}" if pd.notna(first["params"]) else MISSING
        row["GFLOPs"] = f"{first['gflops']:.3f}" if pd.notna(first["gflops"]) else MISSING
        row["CPU ms (batch 1)"] = (
            f"{first['latency_ms']:.1f}" if pd.notna(first["latency_ms"]) else MISSING
        )
        rows.append(row)
    return pd.DataFrame(rows)
