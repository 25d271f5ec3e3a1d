"""The central figure: accuracy per age group and model, with CIs, chance and age trends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    annotate,
    coord_cartesian,
    geom_errorbar,
    geom_hline,
    geom_line,
    geom_point,
    geom_ribbon,
    geom_text,
    geom_vline,
    ggplot,
    guide_legend,
    guides,
    scale_size_manual,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from devfer.figures.labels import (
    age_breaks,
    boundaries,
    fit_label,
    group_levels,
    model_levels,
    ordered,
    percent_labels,
    pretty,
    require_columns,
    wrap_label,
)
from devfer.figures.theme import GREY, INK, model_scales, theme_devfer

_CROSS_GROUP_COLS = ("model", "age_group", "group_order", "accuracy", "ci_low", "ci_high", "chance")
_CURVE_COLS = ("model", "fit", "age", "accuracy", "ci_low", "ci_high")
_NONLINEAR_PREFERENCE = ("logistic4", "spline", "quadratic")


def accuracy_by_group(
    cross_group: pd.DataFrame,
    trend_curves: pd.DataFrame | None,
    age_midpoints: Mapping[str, float],
    *,
    groups: Sequence[Mapping[str, Any]] | None = None,
    nonlinear_fit: str | None = None,
    age_max: float | None = None,
) -> ggplot:
    """Accuracy per age group for every model, with CIs, chance and the fitted age trends.

    The groups sit at `age_midpoints` (years) so that they share one age axis with the fitted
    curves, which are functions of age in years; group names are printed above the data.
    Models differ in colour, marker and line type; within a model, the linear fit is the thin
    line and the nonlinear fit (with its CI band, where the table has one) the thick line.

    `nonlinear_fit` picks the nonlinear curve (default: the first present of 4-parameter
    logistic, spline, quadratic -- the logistic's midpoint is the study's transition age).
    `groups` (the config's boundaries) adds faint vertical lines between groups. The age axis
    ends a little past the last group (`age_max` overrides), because the curves' plateau over
    adult ages carries no developmental information but would squeeze the childhood range.
    """
    func = "accuracy_by_group"
    require_columns(cross_group, _CROSS_GROUP_COLS, "cross_group", func)
    if trend_curves is not None:
        require_columns(trend_curves, _CURVE_COLS, "trend_curves", func)
    levels = group_levels(cross_group)
    missing = [g for g in levels if g not in age_midpoints]
    if missing:
        raise ValueError(f"{func}: age_midpoints has no age for group(s): {', '.join(missing)}")
    if cross_group.duplicated(["model", "age_group"]).any():
        raise ValueError(f"{func}: cross_group has more than one row per model and age_group")

    df = cross_group.copy()
    df["model"] = df["model"].astype(str)
    models = model_levels(df["model"])
    if trend_curves is not None:
        models += [m for m in model_levels(trend_curves["model"]) if m not in models]
    mids = {g: float(age_midpoints[g]) for g in levels}
    x_lo = 0.0
    x_hi = age_max if age_max is not None else max(mids.values()) + 0.12 * (max(mids.values()))
    span = x_hi - x_lo
    # Dodge models sideways by a fixed fraction of the axis so error bars never overlap.
    step = 0.012 * span
    offsets = {m: (i - (len(models) - 1) / 2) * step for i, m in enumerate(models)}
    df["x"] = [mids[str(g)] + offsets[m] for g, m in zip(df["age_group"], df["model"], strict=True)]
    df["model"] = ordered(df["model"], models)

    p = ggplot()
    for b in boundaries(groups):
        if x_lo < b < x_hi:
            p += geom_vline(xintercept=b, colour="#D9D9D9", size=0.4, linetype="dotted")

    legend_fits: list[str] = []
    if trend_curves is not None:
        curves = trend_curves.copy()
        curves["model"] = curves["model"].astype(str)
        curves["fit"] = curves["fit"].astype(str)
        curves = curves.loc[(curves["age"] >= x_lo) & (curves["age"] <= x_hi)]
        chosen = []
        for m in models:
            sub = curves.loc[curves["model"] == m]
            present = set(sub["fit"])
            nl = nonlinear_fit or next((f for f in _NONLINEAR_PREFERENCE if f in present), None)
            if nonlinear_fit is not None and nonlinear_fit not in present and not sub.empty:
                raise ValueError(f"{func}: trend_curves has no '{nonlinear_fit}' fit for {m!r}")
            for fit, role in (("linear", "linear"), (nl, "nonlinear")):
                if fit is not None and fit in present:
                    chosen.append(sub.loc[sub["fit"] == fit].assign(role=role))
        if chosen:
            curves = pd.concat(chosen, ignore_index=True).sort_values(["model", "role", "age"])
            curves = curves.dropna(subset=["accuracy"])
            nl_fits = sorted(set(curves.loc[curves["role"] == "nonlinear", "fit"]))
            role_labels = {
                "linear": "Linear fit",
                "nonlinear": (
                    f"{fit_label(nl_fits[0])} fit" if len(nl_fits) == 1 else "Nonlinear fit"
                ),
            }
            legend_fits = [r for r in ("linear", "nonlinear") if r in set(curves["role"])]
            curves["role"] = ordered(curves["role"], ["linear", "nonlinear"])
            curves["model"] = ordered(curves["model"], models)
            band = curves.loc[
                (curves["role"] == "nonlinear")
                & curves["ci_low"].notna()
                & curves["ci_high"].notna()
            ]
            if not band.empty:
                p += geom_ribbon(
                    band,
                    aes("age", ymin="ci_low", ymax="ci_high", fill="model", group="model"),
                    alpha=0.15,
                    show_legend=False,
                )
            p += geom_line(
                curves,
                aes("age", "accuracy", colour="model", linetype="model", size="role"),
                alpha=0.9,
            )
            p += scale_size_manual(
                values={"linear": 0.45, "nonlinear": 1.0},
                breaks=legend_fits,
                labels=[role_labels[r] for r in legend_fits],
                limits=["linear", "nonlinear"],
                name="Trend",
            )

    chance = sorted(set(np.round(df["chance"].dropna().astype(float), 6)))
    for c in chance:
        p += geom_hline(yintercept=c, linetype="dashed", colour=GREY, size=0.5)
    if chance:
        label = "Chance" if len(chance) > 1 else f"Chance ({100 * chance[0]:.1f}%)"
        p += annotate(
            "text",
            x=x_hi - 0.01 * span,
            y=max(chance) + 0.012,
            label=label,
            ha="right",
            va="bottom",
            size=6.5,
            colour=GREY,
        )

    df = df.dropna(subset=["accuracy"])
    bars = df.dropna(subset=["ci_low", "ci_high"])
    p += geom_errorbar(
        bars, aes("x", ymin="ci_low", ymax="ci_high", colour="model"), width=0.9 * step, size=0.5
    )
    p += geom_point(
        df,
        aes("x", "accuracy", colour="model", fill="model", shape="model"),
        size=2.0,
        stroke=0.4,
    )

    # Group names above the data, in the panel's top band (wrapped so neighbours never touch).
    label_y = 1.07
    names = pd.DataFrame(
        {
            "x": [mids[g] for g in levels],
            "y": label_y,
            "label": [wrap_label(pretty(g)) for g in levels],
        }
    )
    p += geom_text(
        names, aes("x", "y", label="label"), size=6.5, va="center", colour=INK, lineheight=0.95
    )
    p += annotate(
        "segment", x=names["x"], xend=names["x"], y=1.025, yend=1.035, colour=GREY, size=0.4
    )

    p += model_scales(models)
    # Limits on the coordinates, not the scales: a linear fit that leaves [0, 1] is clipped
    # at the panel edge instead of having rows silently removed (with a warning).
    p += scale_x_continuous(name="Age (years)", breaks=age_breaks(x_hi))
    p += scale_y_continuous(
        name="Accuracy (%)", breaks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], labels=percent_labels
    )
    p += coord_cartesian(xlim=(x_lo - 0.01 * span, x_hi), ylim=(0, 1.11), expand=False)
    p += theme_devfer() + theme(legend_position="bottom", legend_box="horizontal")
    p += guides(
        colour=guide_legend(order=1),
        size=guide_legend(order=2, override_aes={"colour": INK}),
    )
    return p
