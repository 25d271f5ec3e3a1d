"""The transition age per model with its interval, and the true age where it is known."""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    element_blank,
    facet_wrap,
    geom_errorbarh,
    geom_point,
    ggplot,
    guide_legend,
    guides,
    labs,
    scale_colour_manual,
    scale_shape_manual,
    scale_y_discrete,
    theme,
)

from devfer.figures.labels import fit_label, model_label, model_levels, ordered, require_columns
from devfer.figures.theme import INK, MODEL_COLOURS, theme_devfer
from devfer.stats.seeds import interval_label as seeds_interval_label
from devfer.stats.seeds import n_seeds


def estimator_names(method: pd.Series) -> pd.Series:
    """Estimator of each transition row: its method's head ("crossover: ...; CI" -> "crossover")."""
    return method.astype(str).str.split(";").str[0].str.split(":").str[0]


def transition_plot(transition: pd.DataFrame, *, interval_label: str | None = None) -> ggplot:
    """Estimated transition age per model with its interval, and the true age where known.

    In the simulated study the true transition age is known, so the figure doubles as a
    validation: the truth is an open diamond with its own legend entry, never confusable with
    an estimate. Several estimation methods are shown as separate panels. The table does not
    record the interval's level, so the legend text comes from `interval_label`; by default
    it says whether the intervals hold training variance (the table's `n_seeds`).
    """
    func = "transition_plot"
    require_columns(
        transition,
        ["model", "estimate", "ci_low", "ci_high", "truth", "method"],
        "transition",
        func,
    )
    df = transition.copy()
    if interval_label is None:
        interval_label = seeds_interval_label(n_seeds(df))
    df["model"] = df["model"].astype(str)
    # Panels by estimator, in table order; the CI details stay in the table.
    labels = estimator_names(df["method"]).map(fit_label)
    df["estimator"] = ordered(labels, list(dict.fromkeys(labels)))
    models = model_levels(df["model"])
    axis_order = list(reversed(models))  # first model on top
    df["model"] = ordered(df["model"], axis_order)
    # An estimate the data cannot support (transition.parquet's `credible`) is drawn as such.
    credible = df["credible"].astype(bool) if "credible" in df else pd.Series(True, df.index)
    df["kind"] = credible.map({True: "estimate", False: "not_credible"})
    truth = df.loc[pd.to_numeric(df["truth"], errors="coerce").notna()].copy()
    truth["kind"] = "truth"
    kinds = [k for k in ("estimate", "not_credible") if (df["kind"] == k).any()]
    kinds += ["truth"] if not truth.empty else []
    kind_labels = {
        "estimate": f"Estimate ({interval_label})",
        "not_credible": "Not credible (see the table's note)",
        "truth": "True transition age",
    }
    bars = df.dropna(subset=["ci_low", "ci_high"])
    est = df.dropna(subset=["estimate"])
    p = (
        ggplot()
        + geom_errorbarh(
            bars,
            aes(y="model", xmin="ci_low", xmax="ci_high", colour="model"),
            height=0.25,
            size=0.6,
        )
        + geom_point(
            est,
            aes("estimate", "model", colour="model", shape="kind"),
            fill="white",
            size=2.4,
            stroke=0.6,
        )
    )
    if not truth.empty:
        p += geom_point(
            truth,
            aes("truth", "model", shape="kind"),
            colour=INK,
            fill="none",
            size=3.2,
            stroke=0.8,
        )
    colours = {m: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, m in enumerate(models)}
    p = (
        p
        + scale_colour_manual(
            values=colours, breaks=models, labels=[model_label(m) for m in models], guide=None
        )
        + scale_shape_manual(
            values={"estimate": "o", "not_credible": "x", "truth": "D"},
            breaks=kinds,
            labels=[kind_labels[k] for k in kinds],
            name="",
        )
        + scale_y_discrete(labels=lambda v: [model_label(m) for m in v])
        + labs(x="Transition age (years)", y="")
        + theme_devfer()
        + theme(panel_grid_major_y=element_blank(), legend_title=element_blank())
        + guides(
            shape=guide_legend(
                # Two columns: three entries in one row overflow a single-column figure.
                ncol=2 if len(kinds) > 2 else len(kinds),
                override_aes={"colour": INK, "fill": "white", "size": 2.4, "stroke": 0.6},
            )
        )
    )
    if df["estimator"].nunique() > 1:
        p += facet_wrap("estimator", ncol=1, scales="free_y")
    return p
