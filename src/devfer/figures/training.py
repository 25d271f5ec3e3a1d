"""Training diagnostics: loss and accuracy curves per seed, and the hyper-parameter grid."""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    element_blank,
    element_text,
    facet_grid,
    facet_wrap,
    geom_line,
    geom_text,
    geom_tile,
    ggplot,
    guide_legend,
    guides,
    labeller,
    labs,
    scale_colour_manual,
    scale_fill_gradient,
    scale_linetype_manual,
    scale_x_continuous,
    scale_x_discrete,
    scale_y_discrete,
    theme,
)

from devfer.figures.labels import (
    integer_breaks,
    model_label,
    model_levels,
    ordered,
    percent_labels,
    require_columns,
    short_number,
)
from devfer.figures.theme import GREY, INK, MODEL_COLOURS, SEQ_HIGH, SEQ_LOW, theme_devfer

_HISTORY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("loss", "train_loss", "val_loss"),
    ("accuracy", "train_accuracy", "val_accuracy"),
    ("mae", "train_mae", "val_mae"),
)
_METRIC_TITLES = {"loss": "loss", "accuracy": "accuracy (%)", "mae": "MAE (years)"}


def training_curves(histories: pd.DataFrame) -> ggplot:
    """Loss and accuracy (or MAE, for the age estimator) per epoch, one line per seed.

    Over-fitting and seed-to-seed spread are what a reviewer looks for, so every seed is drawn
    (thin, translucent) with training solid and validation dashed. One row of panels per model,
    one column per quantity the model actually logged; accuracy is in percent.
    """
    func = "training_curves"
    require_columns(
        histories, ["model", "seed", "epoch", "train_loss", "val_loss"], "histories", func
    )
    models = model_levels(histories["model"])
    parts = []
    for metric, train_col, val_col in _HISTORY_METRICS:
        for split, col in (("train", train_col), ("val", val_col)):
            if col not in histories.columns:
                continue
            part = histories[["model", "seed", "epoch", col]].rename(columns={col: "value"})
            part = part.dropna(subset=["value"]).assign(metric=metric, split=split)
            if metric == "accuracy":
                part["value"] = 100 * part["value"].astype(float)
            parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    df["model"] = df["model"].astype(str)
    panels: list[str] = []
    for m in models:
        for metric, _, _ in _HISTORY_METRICS:
            if ((df["model"] == m) & (df["metric"] == metric)).any():
                panels.append(f"{model_label(m)}: {_METRIC_TITLES[metric]}")
    df["panel"] = [
        f"{model_label(m)}: {_METRIC_TITLES[k]}"
        for m, k in zip(df["model"], df["metric"], strict=True)
    ]
    df["panel"] = ordered(df["panel"], panels)
    df["line"] = df["seed"].astype(str) + "/" + df["split"]
    df = df.sort_values(["panel", "line", "epoch"])
    ncol = max(df.groupby("model")["metric"].nunique())
    split_labels = ["Training", "Validation"]
    return (
        ggplot(df, aes("epoch", "value", group="line", colour="split", linetype="split"))
        + geom_line(size=0.55, alpha=0.8)
        + facet_wrap("panel", ncol=int(ncol), scales="free")
        + scale_colour_manual(
            values={"train": GREY, "val": INK},
            breaks=["train", "val"],
            labels=split_labels,
            name="",
        )
        + scale_linetype_manual(
            values={"train": "solid", "val": "dashed"},
            breaks=["train", "val"],
            labels=split_labels,
            name="",
        )
        + scale_x_continuous(breaks=integer_breaks)
        + labs(x="Epoch", y="")
        + theme_devfer()
        + theme(legend_title=element_blank())
    )


def grid_heatmap(grid: pd.DataFrame) -> ggplot:
    """Validation accuracy over the learning-rate x dropout grid, per weight decay and model.

    Lets a reviewer check that the chosen configuration (outlined, with a legend entry) is not
    at the edge of the grid and that neighbouring settings do about as well.
    """
    func = "grid_heatmap"
    require_columns(
        grid, ["model", "lr", "dropout", "weight_decay", "val_accuracy", "best"], "grid", func
    )
    df = grid.copy()
    models = model_levels(df["model"])
    df["model"] = ordered(df["model"], models)
    lrs = sorted(df["lr"].astype(float).unique())
    dropouts = sorted(df["dropout"].astype(float).unique())
    wds = sorted(df["weight_decay"].astype(float).unique())
    df["lr_f"] = ordered(df["lr"].astype(float).map(short_number), [short_number(v) for v in lrs])
    df["dropout_f"] = ordered(
        df["dropout"].astype(float).map(short_number), [short_number(v) for v in dropouts]
    )
    wd_levels = [f"Weight decay {short_number(v)}" for v in wds]
    df["wd_f"] = ordered(
        df["weight_decay"].astype(float).map(lambda v: f"Weight decay {short_number(v)}"), wd_levels
    )
    df["val_accuracy"] = df["val_accuracy"].astype(float)
    df = df.dropna(subset=["val_accuracy"])
    df["text"] = [f"{100 * v:.1f}" for v in df["val_accuracy"]]
    df["one"] = 1  # one text group per panel: plotnine draws each group separately (slow)
    lo, hi = float(df["val_accuracy"].min()), float(df["val_accuracy"].max())
    mid = (lo + hi) / 2
    best = df.loc[df["best"].astype(bool)].assign(marker="best")
    p = (
        ggplot(df, aes("lr_f", "dropout_f"))
        + geom_tile(aes(fill="val_accuracy"), colour="white", size=0.4)
        + geom_text(
            df.loc[df["val_accuracy"] <= mid], aes(label="text", group="one"), size=5.5, colour=INK
        )
        + geom_text(
            df.loc[df["val_accuracy"] > mid],
            aes(label="text", group="one"),
            size=5.5,
            colour="white",
        )
    )
    if not best.empty:
        p += geom_tile(best, aes(colour="marker"), fill="none", size=1.1, width=0.92, height=0.92)
        p += scale_colour_manual(
            values={"best": MODEL_COLOURS[4]},
            breaks=["best"],
            labels=["Selected configuration"],
            name=" ",
        )
    p = (
        p
        + facet_grid(rows="model", cols="wd_f", labeller=labeller(rows=model_label))
        + scale_fill_gradient(
            low=SEQ_LOW, high=SEQ_HIGH, labels=percent_labels, name="Validation\naccuracy (%)"
        )
        + scale_x_discrete(expand=(0, 0))
        + scale_y_discrete(expand=(0, 0))
        + labs(x="Learning rate", y="Dropout")
        + theme_devfer()
        + theme(
            panel_grid_major=element_blank(),
            axis_ticks=element_blank(),
            legend_position="right",
            legend_key_width=6,
            legend_key_height=30,
            legend_title=element_text(size=7),
        )
        + guides(colour=guide_legend(override_aes={"fill": "none"}, order=2))
    )
    return p
