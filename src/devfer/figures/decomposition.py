"""Face shape or expression: each model's accuracy by age group on the observed faces and on
their paired control renderings, and the effect of each control, with intervals."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from plotnine import (
    aes,
    facet_grid,
    geom_errorbar,
    geom_hline,
    geom_line,
    geom_point,
    ggplot,
    labs,
    position_dodge,
    scale_colour_manual,
    scale_x_discrete,
    theme,
)

from devfer.figures.labels import (
    model_label,
    model_levels,
    ordered,
    pretty,
    require_columns,
    wrap_label,
)
from devfer.figures.theme import GREY, INK, theme_devfer

CONDITION_LABELS = {
    "observed": "Observed faces",
    "expression_off": "Face shape only (expression development off)",
    "shape_off": "Expression only (face-shape development off)",
}
CONDITION_COLOURS = {"observed": INK, "expression_off": "#D55E00", "shape_off": "#0072B2"}
ROWS = {"accuracy": "Accuracy", "effect": "Observed - control"}


def decomposition_plot(decomposition: pd.DataFrame, groups: Sequence[str]) -> ggplot:
    """Top row: accuracy per age group in each condition; bottom row: observed minus each
    control (the expression effect against expression_off, the face-shape effect against
    shape_off), with the paired subject-bootstrap intervals. One column per model."""
    require_columns(
        decomposition,
        ["model", "age_group", "quantity", "condition", "value", "ci_low", "ci_high"],
        "decomposition",
        "decomposition_plot",
    )
    df = decomposition.copy()
    models = model_levels(df["model"])
    df["model"] = ordered(df["model"].map(model_label), [model_label(m) for m in models])
    levels = [g for g in groups if g in set(df["age_group"])]
    df["age_group"] = ordered(df["age_group"], levels)
    df["row"] = ordered(df["quantity"].map(ROWS), list(ROWS.values()))
    conditions = [c for c in CONDITION_LABELS if c in set(df["condition"])]
    dodge = position_dodge(width=0.45)
    zero = pd.DataFrame({"row": ordered(pd.Series([ROWS["effect"]]), list(ROWS.values()))})
    return (
        ggplot(df, aes("age_group", "value", colour="condition", group="condition"))
        + geom_hline(zero, aes(yintercept=0), colour=GREY, linetype="dashed", size=0.3)
        + geom_line(position=dodge, size=0.5)
        + geom_errorbar(aes(ymin="ci_low", ymax="ci_high"), position=dodge, width=0.3, size=0.4)
        + geom_point(position=dodge, size=1.6)
        + facet_grid("row ~ model", scales="free_y")
        + scale_colour_manual(
            values=CONDITION_COLOURS,
            breaks=conditions,
            labels=[CONDITION_LABELS[c] for c in conditions],
            name="",
        )
        + scale_x_discrete(labels=lambda v: [wrap_label(pretty(x)) for x in v])
        + labs(x="Age group", y="")
        + theme_devfer()
        + theme(legend_position="bottom", legend_direction="vertical")
    )
