"""Valence and arousal: agreement with the annotations by age group, the circumplex of
predicted against annotated affect, and the paper's V/A table.

Like the rest of the package these functions recompute no metric: `ccc_by_group_plot` and
`affect_table` only select, order and format the metrics table (one row per model x age_group
x dimension x metric, with intervals and the noise ceiling). The circumplex averages each
image's predictions over seeds and subsamples images for legibility, nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    coord_fixed,
    element_blank,
    facet_wrap,
    geom_errorbar,
    geom_hline,
    geom_path,
    geom_point,
    geom_segment,
    geom_vline,
    ggplot,
    guide_legend,
    guides,
    labs,
    scale_colour_manual,
    scale_fill_manual,
    scale_shape_manual,
    scale_size_manual,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from devfer.figures.labels import (
    MISSING,
    finite,
    model_label,
    model_levels,
    ordered,
    pretty,
    require_columns,
    wrap_label,
)
from devfer.figures.theme import GREY, LIGHT_GREY, MODEL_COLOURS, model_scales, theme_devfer

__all__ = [
    "DIMENSIONS",
    "METRIC_LABELS",
    "affect_table",
    "ccc_by_group_plot",
    "circumplex_plot",
    "circumplex_points",
    "format_estimate",
]

#: The two affect dimensions, in the order panels and table rows show them.
DIMENSIONS: tuple[str, ...] = ("valence", "arousal")
#: Reader-facing metric names, in the order the table's columns show them.
METRIC_LABELS: dict[str, str] = {
    "rmse": "RMSE",
    "mae": "MAE",
    "pearson": "Pearson r",
    "sagr": "SAGR",
    "ccc": "CCC",
}
#: Metrics where lower is better: a perfect model's score on noisy annotations is a floor.
ERROR_METRICS: frozenset[str] = frozenset({"rmse", "mae"})
#: Decimals of every V/A number (all lie in [-1, 1], or near it for RMSE and MAE).
DECIMALS: int = 3
#: The pooled row of the metrics table.
POOLED = "all"

_METRIC_COLS = (
    "model",
    "age_group",
    "dimension",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_images",
    "ceiling",
)
_PREDICTION_COLS = (
    "model",
    "seed",
    "image_id",
    "age_group",
    "valence",
    "arousal",
    "valence_pred",
    "arousal_pred",
)


def _group_order(values: pd.Series, groups: Sequence[str], table: str, func: str) -> list[str]:
    """The groups of `groups` present in `values`, in that order; an unknown group is an error."""
    order = [str(g) for g in groups if str(g) != POOLED]
    present = set(values.astype(str))
    unknown = sorted(present - set(order) - {POOLED})
    if unknown:
        raise ValueError(f"{func}: '{table}' has age group(s) not in groups: {', '.join(unknown)}")
    return [g for g in order if g in present]


def _dimensions(values: pd.Series, func: str) -> list[str]:
    present = set(values.astype(str))
    unknown = sorted(present - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"{func}: unknown dimension(s): {', '.join(unknown)}")
    return [d for d in DIMENSIONS if d in present]


def _labels(values: Sequence[str]) -> list[str]:
    return [wrap_label(pretty(v)) for v in values]


# --------------------------------------------------------------------------------------------
# Agreement by age group
# --------------------------------------------------------------------------------------------


def ccc_by_group_plot(metrics: pd.DataFrame, groups: Sequence[str], metric: str = "ccc") -> ggplot:
    """`metric` per age group for every model, with intervals and the noise ceiling.

    One panel per dimension (valence, arousal); age groups along x in `groups` order (the
    pooled 'all' row is left out), models side by side in their paper-wide colour, marker and
    line type, each with its interval (ci_low..ci_high; a row without one is a point only).
    The grey dash across each group is what a perfect model scores against the noisy
    annotations there -- the ceiling for agreement metrics, the floor for RMSE and MAE --
    so the gap between a point and its dash is what a better model could still gain.
    """
    func = "ccc_by_group_plot"
    require_columns(metrics, _METRIC_COLS, "metrics", func)
    df = metrics.loc[metrics["metric"].astype(str) == metric].copy()
    if df.empty:
        raise ValueError(f"{func}: 'metrics' has no rows for metric {metric!r}")
    df["age_group"] = df["age_group"].astype(str)
    df["model"] = df["model"].astype(str)
    df["dimension"] = df["dimension"].astype(str)
    levels = _group_order(df["age_group"], groups, "metrics", func)
    df = df.loc[df["age_group"] != POOLED]
    if not levels:
        raise ValueError(f"{func}: 'metrics' has no per-group rows for metric {metric!r}")
    if df.duplicated(["model", "age_group", "dimension"]).any():
        raise ValueError(f"{func}: more than one {metric!r} row per model, age_group, dimension")
    dims = _dimensions(df["dimension"], func)
    models = model_levels(df["model"])

    # Models dodged by hand (not position_dodge), so a model without an interval at a group
    # does not shift the other models' error bars off their points.
    step = 0.8 / (len(models) + 1)
    offsets = {m: (i - (len(models) - 1) / 2) * step for i, m in enumerate(models)}
    position = {g: float(i) for i, g in enumerate(levels)}
    df["x"] = [position[g] + offsets[m] for g, m in zip(df["age_group"], df["model"], strict=True)]
    df["model"] = ordered(df["model"], models)
    df["dimension"] = ordered(df["dimension"], dims)
    points = df.loc[df["value"].notna()]
    bars = points.loc[points["ci_low"].notna() & points["ci_high"].notna()]

    ceiling = df.loc[df["ceiling"].notna(), ["dimension", "age_group", "ceiling"]]
    # One dash per group and dimension; models scored on different images may keep several.
    ceiling = ceiling.assign(y=ceiling["ceiling"].astype(float).round(6)).drop_duplicates(
        ["dimension", "age_group", "y"]
    )
    ceiling["x"] = ceiling["age_group"].map(position) - 0.42
    ceiling["xend"] = ceiling["age_group"].map(position) + 0.42
    ceiling["what"] = "ceiling"

    name = METRIC_LABELS.get(metric, metric.upper())
    bound = "Noise floor" if metric in ERROR_METRICS else "Noise ceiling"
    p = ggplot()
    if not ceiling.empty:
        p += geom_segment(
            ceiling,
            aes(x="x", xend="xend", y="y", yend="y", size="what"),
            colour=GREY,
            linetype="solid",
        )
        p += scale_size_manual(
            values={"ceiling": 0.9},
            breaks=["ceiling"],
            labels=[f"{bound} (perfect model vs. annotations)"],
            name="",
        )
    p += geom_errorbar(
        bars, aes("x", ymin="ci_low", ymax="ci_high", colour="model"), width=0.6 * step, size=0.5
    )
    p += geom_point(
        points, aes("x", "value", colour="model", fill="model", shape="model"), size=1.8, stroke=0.4
    )
    p += model_scales(models, title="Model")
    p += facet_wrap("dimension", nrow=1, labeller=pretty)
    p += scale_x_continuous(
        breaks=list(position.values()),
        labels=_labels(levels),
        limits=(-0.5, len(levels) - 0.5),
        expand=(0, 0),
    )
    p += labs(x="Age group", y=name)
    p += theme_devfer() + theme(
        legend_position="bottom", legend_box="horizontal", panel_grid_major_x=element_blank()
    )
    p += guides(
        colour=guide_legend(order=1),
        size=guide_legend(order=2, title="", override_aes={"colour": GREY}),
    )
    return p


# --------------------------------------------------------------------------------------------
# The circumplex
# --------------------------------------------------------------------------------------------


def circumplex_points(
    predictions: pd.DataFrame,
    groups: Sequence[str],
    model: str,
    max_points: int = 400,
    seed: int = 0,
) -> pd.DataFrame:
    """The images `circumplex_plot` draws: one row per image of `model`, at most `max_points`
    per age group, with its annotation and its prediction averaged over seeds.

    Images without both annotations (or both predictions) cannot be placed on the circumplex
    and are left out. The subsample depends only on `seed`, the group's position in `groups`
    and the image ids -- not on the row order of `predictions` -- so a figure regenerated from
    the same table shows the same images. Columns: age_group, image_id, valence, arousal,
    valence_pred, arousal_pred, n_seeds, n_images (the group's images before subsampling).
    """
    func = "circumplex_points"
    require_columns(predictions, _PREDICTION_COLS, "predictions", func)
    if max_points < 1:
        raise ValueError(f"{func}: max_points must be at least 1, got {max_points}")
    df = predictions.loc[predictions["model"].astype(str) == str(model)].copy()
    if df.empty:
        raise ValueError(f"{func}: 'predictions' has no rows for model {model!r}")
    df["age_group"] = df["age_group"].astype(str)
    df["image_id"] = df["image_id"].astype(str)
    if df.groupby("image_id")["age_group"].nunique().gt(1).any():
        raise ValueError(f"{func}: an image_id has more than one age_group")
    levels = _group_order(df["age_group"], groups, "predictions", func)
    per_image = (
        df.groupby(["age_group", "image_id"], sort=True)
        .agg(
            valence=("valence", "first"),
            arousal=("arousal", "first"),
            valence_pred=("valence_pred", "mean"),
            arousal_pred=("arousal_pred", "mean"),
            n_seeds=("seed", "nunique"),
        )
        .reset_index()
        .dropna(subset=["valence", "arousal", "valence_pred", "arousal_pred"])
    )
    index = {g: i for i, g in enumerate(str(g) for g in groups)}
    parts = []
    for g in levels:
        sub = per_image.loc[per_image["age_group"] == g].sort_values("image_id")
        n = len(sub)
        if n > max_points:
            rng = np.random.default_rng([int(seed), index[g]])
            keep = np.sort(rng.choice(n, size=max_points, replace=False))
            sub = sub.iloc[keep]
        parts.append(sub.assign(n_images=n))
    columns = [*per_image.columns, "n_images"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _model_colour(models: Sequence[str], model: str) -> str:
    """The model's colour in every other figure (its position among the table's models)."""
    levels = model_levels(models)
    return MODEL_COLOURS[levels.index(str(model)) % len(MODEL_COLOURS)]


def circumplex_plot(
    predictions: pd.DataFrame,
    groups: Sequence[str],
    model: str,
    max_points: int = 400,
    seed: int = 0,
) -> ggplot:
    """Predicted against annotated affect on the valence-arousal circumplex, per age group.

    One square panel per age group (in `groups` order), valence on x and arousal on y, both
    fixed to [-1, 1], with the unit circle and the two axes drawn. Each image is an open grey
    circle at its annotation and a filled triangle in the model's colour at its prediction
    (averaged over seeds), joined by a thin line: long lines are large errors, and lines that
    all point inward show predictions shrunk towards neutral. At most `max_points` images per
    panel (`circumplex_points`); each panel's strip says how many it shows, of how many.
    """
    pts = circumplex_points(predictions, groups, model, max_points=max_points, seed=seed)
    if pts.empty:
        raise ValueError(f"circumplex_plot: model {model!r} has no image with annotations")
    levels = [g for g in groups if g in set(pts["age_group"])]
    pts["age_group"] = ordered(pts["age_group"], levels)
    long = pd.concat(
        [
            pts[["age_group", "valence", "arousal"]].assign(source="annotated"),
            pts[["age_group", "valence_pred", "arousal_pred"]]
            .rename(columns={"valence_pred": "valence", "arousal_pred": "arousal"})
            .assign(source="predicted"),
        ],
        ignore_index=True,
    )
    long["source"] = ordered(long["source"], ["annotated", "predicted"])
    # The number of images shown goes in the strip, where it cannot cover any point.
    counts = pts.groupby("age_group", observed=True).agg(
        shown=("image_id", "size"), total=("n_images", "first")
    )
    strips = {
        str(g): f"{pretty(g)} (n = {s:,}" + (")" if s == t else f" of {t:,})")
        for g, s, t in zip(counts.index, counts["shown"], counts["total"], strict=True)
    }

    theta = np.linspace(0, 2 * np.pi, 181)
    circle = pd.DataFrame({"x": np.cos(theta), "y": np.sin(theta)})
    colour = _model_colour(predictions["model"].astype(str), model)
    sources = ["annotated", "predicted"]
    source_labels = ["Annotated", f"Predicted ({model_label(model)})"]
    ticks = [-1.0, -0.5, 0.0, 0.5, 1.0]
    return (
        ggplot()
        + geom_hline(yintercept=0, colour=LIGHT_GREY, size=0.35)
        + geom_vline(xintercept=0, colour=LIGHT_GREY, size=0.35)
        + geom_path(circle, aes("x", "y"), colour=GREY, size=0.4)
        + geom_segment(
            pts,
            aes(x="valence", y="arousal", xend="valence_pred", yend="arousal_pred"),
            colour=GREY,
            size=0.2,
            alpha=0.5,
        )
        + geom_point(
            long,
            aes("valence", "arousal", shape="source", colour="source", fill="source"),
            size=0.9,
            stroke=0.35,
            alpha=0.8,
        )
        + scale_shape_manual(
            values={"annotated": "o", "predicted": "^"},
            breaks=sources,
            labels=source_labels,
            name="",
        )
        + scale_colour_manual(
            values={"annotated": GREY, "predicted": colour},
            breaks=sources,
            labels=source_labels,
            name="",
        )
        + scale_fill_manual(
            values={"annotated": "white", "predicted": colour},
            breaks=sources,
            labels=source_labels,
            name="",
        )
        + facet_wrap(
            "age_group",
            ncol=len(levels) if len(levels) <= 4 else 3,
            labeller=lambda g: strips[str(g)],
        )
        + scale_x_continuous(name="Valence", breaks=ticks, labels=_tick_labels)
        + scale_y_continuous(name="Arousal", breaks=ticks, labels=_tick_labels)
        + coord_fixed(xlim=(-1.06, 1.06), ylim=(-1.06, 1.06), expand=False)
        + theme_devfer()
        + theme(panel_grid_major=element_blank(), legend_title=element_blank())
        + guides(shape=guide_legend(override_aes={"size": 1.8, "alpha": 1}))
    )


def _tick_labels(values: Sequence[float]) -> list[str]:
    return [f"{v:g}" for v in values]


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def format_estimate(value: Any, lo: Any, hi: Any, decimals: int = DECIMALS) -> str:
    """'0.620 [0.550, 0.690]': an estimate and its interval; the estimate alone without one."""
    if not finite(value):
        return MISSING
    text = f"{float(value):.{decimals}f}"
    if finite(lo) and finite(hi):
        text += f" [{float(lo):.{decimals}f}, {float(hi):.{decimals}f}]"
    return text


def _n_cell(values: pd.Series) -> str:
    """Images behind a row; differing counts across metrics are listed, not hidden."""
    ns = [str(int(v)) for v in pd.unique(values) if finite(v)]
    return " / ".join(ns) if ns else MISSING


def affect_table(metrics: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """The paper's V/A table: one row per model x dimension x age group.

    Rows run model by model (infant, adult, ...), valence before arousal, age groups in
    `groups` order with the pooled 'all' row last; a group the metrics table lacks entirely is
    left out, and a metric a row lacks reads as a dash. Columns: Model, Dimension, Age group,
    n (images), one per metric ('0.620 [0.550, 0.690]', three decimals, the interval when
    there is one) and CCC ceiling (the CCC of a perfect model against the noisy annotations).
    Cells are strings, ready for `to_markdown` and `to_latex`.
    """
    func = "affect_table"
    require_columns(metrics, _METRIC_COLS, "metrics", func)
    df = metrics.copy()
    for col in ("model", "age_group", "dimension", "metric"):
        df[col] = df[col].astype(str)
    if df.duplicated(["model", "age_group", "dimension", "metric"]).any():
        raise ValueError(f"{func}: more than one row per model, age_group, dimension, metric")
    levels = _group_order(df["age_group"], groups, "metrics", func)
    if POOLED in set(df["age_group"]):
        levels.append(POOLED)
    dims = _dimensions(df["dimension"], func)
    models = model_levels(df["model"])
    present = list(pd.unique(df["metric"]))
    metric_order = [m for m in METRIC_LABELS if m in present]
    metric_order += [m for m in present if m not in metric_order]
    cells = df.set_index(["model", "dimension", "age_group", "metric"]).sort_index()
    keys = set(zip(df["model"], df["dimension"], df["age_group"], strict=True))
    columns = [
        "Model",
        "Dimension",
        "Age group",
        "n",
        *[METRIC_LABELS.get(m, m.upper()) for m in metric_order],
        "CCC ceiling",
    ]
    rows = []
    for model in models:
        for dim in dims:
            for g in levels:
                key = (model, dim, g)
                if key not in keys:
                    rows.append(
                        [model_label(model), pretty(dim), _group_label(g)]
                        + [MISSING] * (len(columns) - 3)
                    )
                    continue
                block = cells.loc[key]
                row = [model_label(model), pretty(dim), _group_label(g), _n_cell(block["n_images"])]
                for m in metric_order:
                    if m in block.index:
                        r = block.loc[m]
                        row.append(format_estimate(r["value"], r["ci_low"], r["ci_high"]))
                    else:
                        row.append(MISSING)
                ceiling = block.loc["ccc", "ceiling"] if "ccc" in block.index else np.nan
                row.append(format_estimate(ceiling, np.nan, np.nan))
                rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _group_label(group: str) -> str:
    return "All ages" if group == POOLED else pretty(group)
