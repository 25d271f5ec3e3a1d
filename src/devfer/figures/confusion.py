"""What the models confuse, and what the evaluation data contain: confusion matrices and the
expression mix per age group and dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    coord_fixed,
    element_blank,
    element_text,
    facet_grid,
    geom_text,
    geom_tile,
    ggplot,
    labeller,
    labs,
    scale_colour_identity,
    scale_fill_gradient,
    scale_fill_manual,
    scale_x_discrete,
    scale_y_continuous,
    scale_y_discrete,
    theme,
)

from devfer.figures.labels import (
    class_levels,
    dataset_label,
    display_sort_key,
    group_levels,
    model_label,
    model_levels,
    ordered,
    percent_labels,
    pretty,
    pretty_all,
    require_columns,
    wrap_label,
)
from devfer.figures.theme import (
    DARK_FILLS,
    EXPRESSION_COLOURS,
    INK,
    MODEL_COLOURS,
    SEQ_HIGH,
    SEQ_LOW,
    theme_devfer,
)


def confusion_matrices(confusion: pd.DataFrame) -> ggplot:
    """Row-normalised confusion matrices, models in rows and age groups in columns.

    Cells print the share in percent of the true expression's images (rows sum to 100), so
    that a reader can see *which* expressions a model confuses at which age, not just how
    often. The fill runs from white to dark blue (monotone in lightness, so it prints in
    grayscale); numbers switch to white on dark cells.
    """
    func = "confusion_matrices"
    require_columns(
        confusion,
        ["model", "age_group", "group_order", "label", "pred", "share"],
        "confusion",
        func,
    )
    df = confusion.copy()
    groups = group_levels(df)
    models = model_levels(df["model"])
    classes = class_levels(pd.concat([df["label"], df["pred"]]))
    df["model"] = ordered(df["model"], models)
    df["age_group"] = ordered(df["age_group"], groups)
    df["label"] = ordered(df["label"], list(reversed(classes)))  # first class on top
    df["pred"] = ordered(df["pred"], classes)
    df["share"] = pd.to_numeric(df["share"], errors="raise").astype(float)
    df = df.dropna(subset=["share"])
    df["text"] = [f"{100 * v:.0f}" for v in df["share"]]
    df["one"] = 1  # one text group per panel: plotnine draws each group separately (slow)
    dark = df["share"] > 0.55

    p = (
        ggplot(df, aes("pred", "label", fill="share"))
        + geom_tile(colour="white", size=0.3)
        + geom_text(df.loc[~dark], aes(label="text", group="one"), size=6, colour=INK)
        + geom_text(df.loc[dark], aes(label="text", group="one"), size=6, colour="white")
        + facet_grid(
            rows="model",
            cols="age_group",
            labeller=labeller(rows=model_label, cols=pretty),
        )
        + scale_fill_gradient(
            low=SEQ_LOW,
            high=SEQ_HIGH,
            limits=(0, 1),
            breaks=[0, 0.25, 0.5, 0.75, 1.0],
            labels=percent_labels,
            name="Share of true\nexpression (%)",
        )
        + scale_x_discrete(labels=pretty_all, expand=(0, 0))
        + scale_y_discrete(labels=pretty_all, expand=(0, 0))
        + labs(x="Predicted", y="True expression")
        + coord_fixed()
        + theme_devfer()
        + theme(
            axis_text_x=element_text(rotation=90, ha="center", va="top", size=6),
            axis_text_y=element_text(size=6),
            axis_ticks=element_blank(),
            panel_grid_major=element_blank(),
            panel_border=element_blank(),
            legend_position="right",
            legend_key_width=6,
            legend_key_height=40,
            panel_spacing=0.008,
        )
    )
    return p


def expression_mix(composition: pd.DataFrame) -> ggplot:
    """Stacked expression proportions per age group and dataset, with n above each bar.

    Accuracy depends on which expressions a group happens to contain (happy is easy, fear is
    hard), so the paper shows the mix next to the accuracies; percentages of 8 % and more are
    printed in the bars so that the figure also works without colour.
    """
    func = "expression_mix"
    require_columns(
        composition, ["dataset", "age_group", "group_order", "label", "n"], "composition", func
    )
    df = composition.copy()
    groups = group_levels(df)
    classes = class_levels(df["label"])
    datasets = [str(d) for d in pd.unique(df["dataset"])]
    df["n"] = pd.to_numeric(df["n"], errors="raise").astype(float)
    totals = df.groupby(["dataset", "age_group"], observed=True)["n"].transform("sum")
    df["share"] = np.where(totals > 0, df["n"] / totals.where(totals > 0, 1), 0.0)
    # Stack by hand, first class on top, so the stack reads in the legend's order and the
    # printed percentages sit in the middle of their own segment.
    df["label"] = ordered(df["label"], classes)
    df = df.sort_values(["dataset", "age_group", "label"], key=display_sort_key(groups, datasets))
    top = 1 - df.groupby(["dataset", "age_group"], sort=False)["share"].cumsum() + df["share"]
    df["y"] = top - df["share"] / 2
    df["age_group"] = ordered(df["age_group"], groups)
    df["dataset"] = ordered(df["dataset"], datasets)
    df["text"] = [f"{100 * s:.0f}" if s >= 0.08 else "" for s in df["share"]]
    df["one"] = 1  # one text group per panel: plotnine draws each group separately (slow)
    palette = {c: EXPRESSION_COLOURS.get(c, MODEL_COLOURS[i % 6]) for i, c in enumerate(classes)}
    df["text_colour"] = ["white" if palette[str(c)] in DARK_FILLS else INK for c in df["label"]]
    n_tot = df.groupby(["dataset", "age_group"], observed=True)["n"].sum().reset_index(name="total")
    n_tot = n_tot.loc[n_tot["total"] > 0]
    n_tot["text"] = [f"n = {int(v):,}" for v in n_tot["total"]]

    p = (
        ggplot(df.loc[df["share"] > 0], aes("age_group", "y"))
        + geom_tile(aes(height="share", fill="label"), width=0.75, colour="white", size=0.2)
        + geom_text(aes(label="text", colour="text_colour", group="one"), size=5.5)
        + geom_text(
            n_tot,
            aes("age_group", y=1.015, label="text"),
            inherit_aes=False,
            size=5.5,
            va="bottom",
            colour=INK,
        )
        + scale_colour_identity()
        + facet_grid(cols="dataset", scales="free_x", space="free_x", labeller=dataset_label)
        + scale_fill_manual(
            values=palette, breaks=classes, labels=[pretty(c) for c in classes], name="Expression"
        )
        + scale_x_discrete(labels=lambda v: [wrap_label(pretty(g), 8) for g in v])
        + scale_y_continuous(
            name="Share of images (%)",
            breaks=[0, 0.25, 0.5, 0.75, 1.0],
            labels=percent_labels,
            limits=(0, 1.07),
            expand=(0, 0),
        )
        + labs(x="Age group")
        + theme_devfer()
        + theme(legend_position="right", panel_grid_major_x=element_blank())
    )
    return p
