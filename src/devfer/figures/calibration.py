"""The calibration study at a glance: coverage of every interval and the rate of every verdict,
with Monte Carlo error, against what they should be."""

from __future__ import annotations

import pandas as pd
from plotnine import (
    aes,
    annotate,
    facet_wrap,
    geom_errorbarh,
    geom_point,
    geom_vline,
    ggplot,
    labs,
    scale_colour_manual,
    theme,
)

from devfer.figures.labels import MISSING, pretty, require_columns
from devfer.figures.tables import _fmt
from devfer.figures.theme import GREY, INK, theme_devfer

COLOURS = {"coverage": INK, "false-positive rate": "#D55E00", "power": "#0072B2"}


def calibration_plot(summary: pd.DataFrame) -> ggplot:
    """Per scenario: each interval's coverage and each verdict's rate of 'nonlinear', with
    ±1.96 Monte Carlo standard errors; the shaded targets are 0.92-0.98 coverage and a
    false-positive rate of at most 0.07."""
    require_columns(
        summary, ["scenario", "quantity", "measure", "value", "mc_se"], "summary", "calibration"
    )
    df = summary[summary["value"].notna()].copy()
    df["lo"] = (df["value"] - 1.96 * df["mc_se"]).clip(lower=0)
    df["hi"] = (df["value"] + 1.96 * df["mc_se"]).clip(upper=1)
    df["scenario"] = df["scenario"].map(pretty)
    p = (
        ggplot(df, aes("value", "quantity", colour="measure"))
        + annotate(
            "rect",
            xmin=0.92,
            xmax=0.98,
            ymin=-float("inf"),
            ymax=float("inf"),
            fill="#DDDDDD",
            alpha=0.6,
        )
        + geom_vline(xintercept=0.95, colour=GREY, linetype="dashed", size=0.3)
        + geom_vline(xintercept=0.05, colour=GREY, linetype="dotted", size=0.3)
        + geom_errorbarh(aes(xmin="lo", xmax="hi"), height=0.3, size=0.4)
        + geom_point(size=1.6)
        + facet_wrap("scenario", ncol=2)
        + scale_colour_manual(values=COLOURS, name="")
        + labs(x="Share of simulated studies", y="")
        + theme_devfer()
        + theme(legend_position="bottom")
    )
    return p


def calibration_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as a paper table: value ± Monte Carlo SE, interval width, studies."""
    rows = []
    for r in summary.itertuples():
        value = MISSING if pd.isna(r.value) else f"{r.value:.3f} ± {r.mc_se:.3f}"
        width = getattr(r, "width", float("nan"))
        rows.append(
            {
                "Scenario": pretty(r.scenario),
                "Quantity": r.quantity,
                "Measure": r.measure,
                "Value ± MC SE": value,
                "Mean width": _fmt(width, 2),
                "Studies": int(r.studies),
            }
        )
    return pd.DataFrame(rows)
