"""Ages: the age distribution of each dataset, and how well the age estimator sorts faces
into age groups (estimated against true age, MAE per group)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    annotate,
    coord_fixed,
    element_blank,
    facet_wrap,
    geom_abline,
    geom_col,
    geom_histogram,
    geom_hline,
    geom_point,
    geom_text,
    geom_vline,
    ggplot,
    guide_legend,
    guides,
    labs,
    scale_colour_manual,
    scale_fill_manual,
    scale_shape_manual,
    scale_x_continuous,
    scale_x_discrete,
    scale_x_sqrt,
    scale_y_continuous,
    scale_y_sqrt,
    theme,
)

from devfer.figures.labels import (
    age_breaks,
    boundaries,
    dataset_label,
    groups_table,
    ordered,
    pretty,
    require_columns,
    wrap_label,
)
from devfer.figures.theme import GREY, INK, LIGHT_GREY, MODEL_COLOURS, SEQ_HIGH, theme_devfer


def _group_fills(n: int) -> list[str]:
    """n ordered colours from light to dark blue: ordinal groups get an ordinal palette."""
    ramp = ["#C6DBEF", "#9ECAE1", "#6BAED6", "#4292C6", "#2171B5", "#08519C"]
    if n <= len(ramp):
        idx = np.linspace(0, len(ramp) - 1, n).round().astype(int) if n > 1 else [3]
        return [ramp[i] for i in idx]
    return [ramp[i % len(ramp)] for i in range(n)]


def age_distributions(
    ages: pd.DataFrame, groups: Sequence[Mapping[str, Any]], *, binwidth: float = 1.0
) -> ggplot:
    """Histogram of (estimated) ages per dataset, bars shaded by age group, boundaries marked.

    Shows what each dataset contributes to each age group, and how many images sit right at a
    boundary, where the group assignment is least certain. Bars are 1-year bins that start at
    0, so with the usual integer boundaries no bin straddles two groups. One panel per dataset
    with its own count scale (datasets differ in size by orders of magnitude).
    """
    func = "age_distributions"
    require_columns(ages, ["dataset", "age_pred", "age_group"], "ages", func)
    table = groups_table(groups)
    names = list(table["name"])
    df = ages.dropna(subset=["age_pred"]).copy()
    df["age_pred"] = df["age_pred"].astype(float).clip(lower=0)  # an estimate below 0 is 0
    df["age_group"] = df["age_group"].astype(str)
    unknown = sorted(set(df["age_group"]) - set(names) - {"None", "nan"})
    if unknown:
        raise ValueError(f"{func}: age_group value(s) not in groups: {', '.join(unknown)}")
    df = df.loc[df["age_group"].isin(names)]
    datasets = [str(d) for d in pd.unique(df["dataset"])]
    df["dataset"] = ordered(df["dataset"], datasets)
    df["age_group"] = ordered(df["age_group"], names)
    age_max = float(np.ceil(max(df["age_pred"].max(), table["min"].max() + 1) / 10) * 10)
    fills = dict(zip(names, _group_fills(len(names)), strict=True))

    p = (
        ggplot(df, aes("age_pred", fill="age_group"))
        + geom_histogram(binwidth=binwidth, boundary=0)
        + facet_wrap("dataset", ncol=1, scales="free_y", labeller=dataset_label)
    )
    for b in boundaries(groups):
        p += geom_vline(xintercept=b, colour=GREY, size=0.35, linetype="dashed")
    p = (
        p
        + scale_fill_manual(
            values=fills, breaks=names, labels=[pretty(n) for n in names], name="Age group"
        )
        + scale_x_continuous(
            name="Estimated age (years)",
            breaks=age_breaks(age_max),
            limits=(0, age_max),
            expand=(0, 0.5),
        )
        + scale_y_continuous(name="Images", expand=(0, 0, 0.05, 0))
        + theme_devfer()
        + theme(legend_position="bottom", panel_grid_major_x=element_blank())
        + theme(legend_key_width=8, legend_key_height=8)
        + guides(fill=guide_legend(nrow=2))
    )
    return p


def estimator_scatter(
    estimator_test: pd.DataFrame,
    groups: Sequence[Mapping[str, Any]] | None = None,
    *,
    sqrt_axes: bool = True,
) -> ggplot:
    """Estimated against true age on the estimator's test set, identity line and boundaries.

    The figure answers "how often does the estimator put a child in the wrong group?": points
    whose estimated group differs from the true one are drawn as crosses, and `groups` adds
    the boundaries on both axes (and as ticks) so the off-diagonal group cells are visible.
    Both axes are on a square-root scale by default: childhood (0-18 y) then takes half of
    the axis instead of a fifth, the identity line stays straight, and the errors, which grow
    with age, look about equally wide at all ages.
    """
    func = "estimator_scatter"
    require_columns(
        estimator_test,
        ["age_true", "age_pred", "true_group", "pred_group"],
        "estimator_test",
        func,
    )
    df = estimator_test.dropna(subset=["age_true", "age_pred"]).copy()
    df["age_true"] = df["age_true"].astype(float).clip(lower=0)
    df["age_pred"] = df["age_pred"].astype(float).clip(lower=0)
    df["outcome"] = np.where(
        df["true_group"].astype(str) == df["pred_group"].astype(str), "right", "wrong"
    )
    levels = ["right", "wrong"]
    df["outcome"] = ordered(df["outcome"], levels)
    lim = float(np.ceil(max(df["age_true"].max(), df["age_pred"].max(), 1) / 10) * 10)
    bounds = [b for b in boundaries(groups) if 0 < b < lim]
    if sqrt_axes:
        above = [v for v in (30, 50, 70, 90) if max(bounds, default=0) + 5 < v <= lim]
        infant_tick = [1.0] if bounds and bounds[0] >= 3 else []
        breaks = sorted({0.0, *infant_tick, *bounds, *map(float, above)}) if bounds else None
        kind = "square-root scale"
    else:
        breaks = age_breaks(lim)
        kind = ""
    labels = ["Right age group", "Wrong age group"]
    p = ggplot(df, aes("age_true", "age_pred"))
    for b in bounds:
        p += geom_vline(xintercept=b, colour=LIGHT_GREY, size=0.3)
        p += geom_hline(yintercept=b, colour=LIGHT_GREY, size=0.3)
    scale_kw: dict[str, Any] = {"limits": (0, lim), "expand": (0, 0)}
    if breaks is not None:
        scale_kw["breaks"] = breaks
        scale_kw["labels"] = lambda vals: [f"{v:g}" for v in vals]
    x_title = "True age (years" + (f", {kind})" if kind else ")")
    y_title = "Estimated age (years" + (f", {kind})" if kind else ")")
    p = (
        p
        + geom_abline(slope=1, intercept=0, colour=INK, linetype="dashed", size=0.5)
        + geom_point(aes(shape="outcome", colour="outcome"), size=0.9, alpha=0.6, stroke=0.4)
        + scale_shape_manual(
            values={"right": "o", "wrong": "x"}, breaks=levels, labels=labels, name=""
        )
        + scale_colour_manual(
            values={"right": GREY, "wrong": MODEL_COLOURS[4]},
            breaks=levels,
            labels=labels,
            name="",
        )
    )
    if sqrt_axes:
        p += scale_x_sqrt(name=x_title, **scale_kw)
        p += scale_y_sqrt(name=y_title, **scale_kw)
    else:
        p += scale_x_continuous(name=x_title, **scale_kw)
        p += scale_y_continuous(name=y_title, **scale_kw)
    return (
        p
        + coord_fixed()
        + theme_devfer()
        + theme(panel_grid_major=element_blank(), legend_title=element_blank())
        + guides(shape=guide_legend(override_aes={"size": 1.8, "alpha": 1}))
    )


def estimator_mae(
    estimator_metrics: pd.DataFrame, group_order: Sequence[str] | None = None
) -> ggplot:
    """Mean absolute error of the age estimator per true age group, n printed on each bar.

    An error of 3 years is harmless for adults and decisive for a 5-year-old, so the MAE is
    shown per group; the overall MAE is the dashed line. The metrics table has no group order,
    so groups keep `group_order` (names) or else the order the table lists them in.
    """
    func = "estimator_mae"
    require_columns(
        estimator_metrics,
        ["metric", "true_group", "pred_group", "value", "n"],
        "estimator_metrics",
        func,
    )
    mae = estimator_metrics.loc[estimator_metrics["metric"] == "mae"].copy()
    per_group = mae.loc[mae["true_group"].astype(str) != "all"].copy()
    if per_group.empty:
        raise ValueError(f"{func}: estimator_metrics has no per-group 'mae' rows")
    per_group["true_group"] = per_group["true_group"].astype(str)
    levels = [str(g) for g in (group_order or pd.unique(per_group["true_group"]))]
    unknown = sorted(set(per_group["true_group"]) - set(levels))
    if unknown:
        raise ValueError(f"{func}: group(s) missing from group_order: {', '.join(unknown)}")
    per_group = per_group.loc[per_group["value"].notna()]
    per_group["true_group"] = ordered(per_group["true_group"], levels)
    per_group["text"] = [f"n = {int(n):,}" for n in per_group["n"]]
    top = float(per_group["value"].max())
    p = (
        ggplot(per_group, aes("true_group", "value"))
        + geom_col(fill="#9ECAE1", colour=SEQ_HIGH, size=0.3, width=0.7)
        + geom_text(aes(label="text"), va="bottom", nudge_y=0.02 * top, size=6, colour=INK)
    )
    overall = mae.loc[(mae["true_group"].astype(str) == "all") & mae["value"].notna(), "value"]
    if not overall.empty:
        v = float(overall.iloc[0])
        p += geom_hline(yintercept=v, linetype="dashed", colour=GREY, size=0.5)
        # Labelled at the left, over the young groups, whose errors are small in years.
        p += annotate(
            "text",
            x=0.45,
            y=v + 0.015 * max(top, v),
            label=f"All ages: {v:.1f} y",
            ha="left",
            va="bottom",
            size=6,
            colour=GREY,
        )
        top = max(top, v)
    p = (
        p
        + scale_x_discrete(labels=lambda vals: [wrap_label(pretty(g), 8) for g in vals])
        + scale_y_continuous(name="MAE (years)", limits=(0, top * 1.15), expand=(0, 0))
        + labs(x="True age group")
        + theme_devfer()
        + theme(panel_grid_major_x=element_blank())
    )
    return p
