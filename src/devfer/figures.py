"""The paper's figures, drawn with plotnine from the workflow's tidy tables and nothing else.

Researchers regenerate every figure after every change and send them to journals, so this
module follows three rules:

* **Plotting recomputes nothing.** Each function takes the Parquet tables the stages wrote
  (metrics, fitted curves, confusion shares, ...) and only reshapes or labels them; a number
  in a figure is always a number in a table, so figures and tables can never disagree.
* **One look for the whole paper.** `theme_devfer` and one model palette (colour *and* shape
  *and* linetype, Okabe-Ito colours of different lightness) make every figure legible in
  grayscale print and to colour-blind readers; sizes follow the journal's column widths
  (`SINGLE_COLUMN_MM`, `DOUBLE_COLUMN_MM`) and fonts stay at or above 6 pt at print size.
* **Fail loudly on a wrong table.** Every figure function checks its input columns first and
  raises a `ValueError` naming what is missing, instead of drawing a silently wrong figure.

Age-group names and their order are data (`group_order`), never hard-coded; labels replace
underscores by spaces ('younger_child' -> 'Younger child').
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from plotnine import (
    aes,
    annotate,
    coord_cartesian,
    coord_fixed,
    element_blank,
    element_line,
    element_rect,
    element_text,
    facet_grid,
    facet_wrap,
    geom_abline,
    geom_col,
    geom_errorbar,
    geom_errorbarh,
    geom_histogram,
    geom_hline,
    geom_line,
    geom_point,
    geom_ribbon,
    geom_text,
    geom_tile,
    geom_vline,
    ggplot,
    guide_legend,
    guides,
    labeller,
    labs,
    scale_colour_identity,
    scale_colour_manual,
    scale_fill_gradient,
    scale_fill_manual,
    scale_linetype_manual,
    scale_shape_manual,
    scale_size_manual,
    scale_x_continuous,
    scale_x_discrete,
    scale_x_sqrt,
    scale_y_continuous,
    scale_y_discrete,
    scale_y_sqrt,
    theme,
    theme_bw,
)

from devfer import CLASSES
from devfer.tables import model_label, pretty
from devfer.tables import model_levels as _model_levels
from devfer.tables import require_columns as _require

__all__ = [
    "DOUBLE_COLUMN_MM",
    "EXPRESSION_COLOURS",
    "MODEL_COLOURS",
    "MODEL_LINETYPES",
    "MODEL_SHAPES",
    "SINGLE_COLUMN_MM",
    "accuracy_by_group",
    "age_distributions",
    "confusion_matrices",
    "dataset_label",
    "estimator_mae",
    "estimator_scatter",
    "expression_mix",
    "grid_heatmap",
    "group_midpoints",
    "model_label",
    "model_scales",
    "pretty",
    "render_all",
    "save_figure",
    "theme_devfer",
    "training_curves",
    "transition_plot",
]

# --------------------------------------------------------------------------------------------
# Journal geometry, fonts and palettes
# --------------------------------------------------------------------------------------------

#: Figure widths of a typical two-column journal (Elsevier, Springer, APA/Wiley all within 2 mm).
SINGLE_COLUMN_MM: float = 85.0
DOUBLE_COLUMN_MM: float = 174.0
#: Raster resolution journals ask for (line art with shading).
DPI: int = 300

#: Model colours: Okabe-Ito blue (dark in grayscale) first, orange (light) second, so the two
#: models differ in lightness too; then the rest of the Okabe-Ito set for extra models.
MODEL_COLOURS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")
#: Filled marker shapes, one per model (matplotlib codes), so models survive grayscale.
MODEL_SHAPES: tuple[str, ...] = ("o", "^", "s", "D", "v", "P")
#: Line types, one per model, for the same reason.
MODEL_LINETYPES: tuple[str, ...] = ("solid", "dashed", "dashdot", "dotted", "solid", "dashed")

#: One colour per expression (Okabe-Ito; neutral in grey), kept across figures.
EXPRESSION_COLOURS: dict[str, str] = {
    "angry": "#D55E00",
    "disgust": "#009E73",
    "fear": "#CC79A7",
    "happy": "#F0E442",
    "sad": "#0072B2",
    "surprise": "#E69F00",
    "neutral": "#BBBBBB",
}
_DARK_FILLS = {"#D55E00", "#009E73", "#0072B2"}  # white text reads better on these

#: Sequential palette for heat maps: light to dark blue, monotone in lightness (grayscale-safe).
_SEQ_LOW, _SEQ_HIGH = "#F7FBFF", "#08306B"
_INK = "#222222"
_GREY = "#666666"
_LIGHT_GREY = "#BBBBBB"

_SANS_PREFERENCE = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "DejaVu Sans")


def _sans_family() -> str:
    """The first installed sans-serif font journals accept, so matplotlib never warns about one."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _SANS_PREFERENCE if name in installed), "sans-serif")


def theme_devfer(base_size: float = 8) -> theme:
    """The one theme of the paper: sans-serif, light grid, no chart junk, legible when printed.

    `base_size` is the body text in points at print size (8 pt); tick labels and strips are one
    point smaller, never under 6 pt, as most journals require.
    """
    small = max(base_size - 1, 6)
    family = _sans_family()
    return theme_bw(base_size=base_size, base_family=family) + theme(
        text=element_text(family=family, size=base_size, colour=_INK),
        axis_text=element_text(size=small, colour=_INK),
        axis_title=element_text(size=base_size),
        axis_ticks=element_line(colour=_GREY, size=0.4),
        axis_ticks_length=2,
        axis_ticks_minor=element_blank(),
        panel_border=element_rect(colour=_LIGHT_GREY, size=0.5),
        panel_grid_major=element_line(colour="#E5E5E5", size=0.35),
        panel_grid_minor=element_blank(),
        panel_background=element_rect(fill="white"),
        strip_background=element_rect(fill="#F0F0F0", colour=_LIGHT_GREY, size=0.5),
        strip_text=element_text(size=small, colour=_INK),
        legend_title=element_text(size=small),
        legend_text=element_text(size=small),
        legend_key=element_blank(),
        legend_background=element_blank(),
        legend_position="bottom",
        legend_box_spacing=0.02,
        legend_key_size=10,
        legend_key_width=18,
        plot_title=element_text(size=base_size + 1),
        plot_margin=0.015,
    )


# --------------------------------------------------------------------------------------------
# Labels and small helpers
# --------------------------------------------------------------------------------------------


#: Dataset names as their authors write them; a trailing "sim" marks the embedded simulation.
_DATASET_WORDS = {
    "tif": "TIF",
    "affectnet": "AffectNet",
    "utkface": "UTKFace",
    "sim": "(simulated)",
}


def dataset_label(name: Any) -> str:
    """'affectnet_sim' -> 'AffectNet (simulated)': proper names keep their capitals."""
    words = str(name).replace("-", "_").split("_")
    return " ".join(_DATASET_WORDS.get(w.lower(), w) for w in words if w)


def _pretty_all(values: Iterable[Any]) -> list[str]:
    """`pretty` over a scale's breaks (plotnine passes label functions the whole list)."""
    return [pretty(v) for v in values]


def _wrap(label: str, width: int = 9) -> str:
    """Break a long label onto lines at spaces so neighbouring labels cannot collide."""
    return "\n".join(textwrap.wrap(label, width=width, break_long_words=False)) or label


def model_scales(levels: Sequence[str], title: str = "Classifier") -> list[Any]:
    """Colour, fill, shape and linetype scales that merge into one legend entry per model.

    Add them to any plot that maps a model column to these aesthetics, so that every figure
    of the paper draws a given model in the same colour, marker and line type.
    """
    labels = [model_label(m) for m in levels]

    def values(pool: Sequence[str]) -> dict[str, str]:
        return {m: pool[i % len(pool)] for i, m in enumerate(levels)}

    common = {"name": title, "breaks": list(levels), "labels": labels, "limits": list(levels)}
    return [
        scale_colour_manual(values=values(MODEL_COLOURS), **common),
        scale_fill_manual(values=values(MODEL_COLOURS), **common),
        scale_shape_manual(values=values(MODEL_SHAPES), **common),
        scale_linetype_manual(values=values(MODEL_LINETYPES), **common),
    ]


def _group_levels(df: pd.DataFrame, group_col: str = "age_group") -> list[str]:
    """Age groups ordered by `group_order`, checking the order is the same on every row."""
    pairs = df[[group_col, "group_order"]].drop_duplicates()
    if pairs[group_col].duplicated().any():
        bad = sorted(pairs.loc[pairs[group_col].duplicated(), group_col].astype(str))
        raise ValueError(f"age group(s) with more than one group_order: {', '.join(bad)}")
    return [str(g) for g in pairs.sort_values("group_order")[group_col]]


def _ordered(values: pd.Series, levels: Sequence[str]) -> pd.Categorical:
    """A categorical with the given order, so plotnine draws axes and facets in that order."""
    return pd.Categorical(values.astype(str), categories=list(levels), ordered=True)


def _class_levels(values: Iterable[Any]) -> list[str]:
    """Expression classes in the canonical order; unknown labels after them, as they appear."""
    seen = [str(v) for v in pd.unique(pd.Series(list(values), dtype=object))]
    return [c for c in CLASSES if c in seen] + [v for v in seen if v not in CLASSES]


def _sort_key(groups: Sequence[str], datasets: Sequence[str]) -> Any:
    """Sort key putting datasets and age groups in their display order (labels are ordered)."""
    rank = {
        "age_group": {g: i for i, g in enumerate(groups)},
        "dataset": {d: i for i, d in enumerate(datasets)},
    }

    def key(col: pd.Series) -> pd.Series:
        if col.name in rank:
            return col.astype(str).map(rank[str(col.name)])
        return col

    return key


def _percent(values: Sequence[float]) -> list[str]:
    """Axis labels for proportions, as whole percent (the axis title carries the unit)."""
    return [f"{100 * v:.0f}" for v in values]


def _num(value: float) -> str:
    """Compact hyper-parameter label: 0.001 -> '1e-3', 0.3 -> '0.3', 0 -> '0'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _age_breaks(age_max: float) -> list[float]:
    """Round age ticks: every 2, 5, 10 or 20 years, whichever gives about eight of them."""
    step = next((s for s in (1, 2, 5, 10, 20, 50) if age_max / s <= 9), 100)
    return [float(v) for v in np.arange(0, age_max + 1e-9, step)]


def _integer_breaks(limits: tuple[float, float]) -> list[float]:
    """At most about six whole-number ticks (epochs are counts, never 2.5)."""
    lo, hi = math.ceil(limits[0]), math.floor(limits[1])
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500) if (hi - lo) / s <= 6), 1000)
    start = math.ceil(lo / step) * step
    return [float(v) for v in range(int(start), hi + 1, step)] or [float(lo)]


def _groups_table(groups: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The config's [{name, min, max}] boundaries as a frame (max None = open-ended)."""
    if not isinstance(groups, Sequence) or not groups:
        raise ValueError("groups must be a non-empty list of {name, min, max} mappings")
    rows = []
    for i, g in enumerate(groups):
        missing = [k for k in ("name", "min") if k not in g]
        if missing:
            raise ValueError(f"groups[{i}] is missing key(s): {', '.join(missing)}")
        hi = g.get("max")
        rows.append(
            {
                "name": str(g["name"]),
                "min": float(g["min"]),
                "max": math.inf if hi is None else float(hi),
                "order": i,
            }
        )
    return pd.DataFrame(rows)


def _boundaries(groups: Sequence[Mapping[str, Any]] | None) -> list[float]:
    """Inner group boundaries (ages where one group ends and the next begins)."""
    if not groups:
        return []
    table = _groups_table(groups)
    return [float(x) for x in table["min"].iloc[1:]]


def group_midpoints(
    groups: Sequence[Mapping[str, Any]], ages: pd.DataFrame | None = None
) -> dict[str, float]:
    """A representative age in years for each group, to place group results on an age axis.

    With `ages` (the ages table) it is the median predicted age of the images in the group --
    where the evidence actually lies (an open-ended adult group has no midpoint). Without it,
    or for a group with no images, it is the middle of [min, max), and for an open-ended group
    min plus half the width of the group before it.
    """
    table = _groups_table(groups)
    medians: dict[str, float] = {}
    if ages is not None:
        _require(ages, ["age_pred", "age_group"], "ages", "group_midpoints")
        valid = ages.dropna(subset=["age_pred", "age_group"])
        medians = valid.groupby(valid["age_group"].astype(str))["age_pred"].median().to_dict()
    out: dict[str, float] = {}
    for i, row in table.iterrows():
        name = row["name"]
        if name in medians and math.isfinite(medians[name]):
            out[name] = float(medians[name])
        elif math.isfinite(row["max"]):
            out[name] = (row["min"] + row["max"]) / 2
        else:
            prev = table.iloc[i - 1] if i else None
            width = (prev["max"] - prev["min"]) if prev is not None else 10.0
            out[name] = float(row["min"] + width / 2)
    return out


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def save_figure(plot: ggplot, stem: Path | str, width_mm: float, height_mm: float) -> list[Path]:
    """Write `stem.pdf` (vector, fonts embedded as TrueType) and `stem.png` (300 dpi).

    The plot is drawn once and saved twice, so the two files cannot differ. Journals reject
    Type 3 fonts, hence `pdf.fonttype` 42; the PDF carries no creation date so that
    regenerating an unchanged figure gives an identical file. Only figures this call opened are
    closed, and nothing is printed (plotnine's "Saving ..." messages are off).
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_name(f"{stem.name}.png")
    pdf = stem.with_name(f"{stem.name}.pdf")
    before = set(plt.get_fignums())
    rc = {
        **getattr(plot.theme, "rcParams", {}),
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
    }
    try:
        with plt.rc_context(rc):
            view = plot.save_helper(
                filename=png,
                width=width_mm,
                height=height_mm,
                units="mm",
                dpi=DPI,
                limitsize=False,
                verbose=False,
            )
            try:
                view.figure.savefig(png, format="png", dpi=DPI)
                view.figure.savefig(pdf, format="pdf", dpi=DPI, metadata={"CreationDate": None})
            finally:
                plt.close(view.figure)  # plotnine may already have detached it from pyplot
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    return [pdf, png]


# --------------------------------------------------------------------------------------------
# 1. The central figure: accuracy by age group
# --------------------------------------------------------------------------------------------

_CROSS_GROUP_COLS = ("model", "age_group", "group_order", "accuracy", "ci_low", "ci_high", "chance")
_CURVE_COLS = ("model", "fit", "age", "accuracy", "ci_low", "ci_high")
_NONLINEAR_PREFERENCE = ("logistic4", "spline", "quadratic")
_FIT_LABELS = {
    "linear": "Linear",
    "quadratic": "Quadratic",
    "spline": "Natural spline",
    "logistic4": "4-parameter logistic",
    "crossover": "Crossover: adult model overtakes infant model",
}


def _fit_label(fit: str) -> str:
    return _FIT_LABELS.get(fit, pretty(fit))


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
    _require(cross_group, _CROSS_GROUP_COLS, "cross_group", func)
    if trend_curves is not None:
        _require(trend_curves, _CURVE_COLS, "trend_curves", func)
    levels = _group_levels(cross_group)
    missing = [g for g in levels if g not in age_midpoints]
    if missing:
        raise ValueError(f"{func}: age_midpoints has no age for group(s): {', '.join(missing)}")
    if cross_group.duplicated(["model", "age_group"]).any():
        raise ValueError(f"{func}: cross_group has more than one row per model and age_group")

    df = cross_group.copy()
    df["model"] = df["model"].astype(str)
    models = _model_levels(df["model"])
    if trend_curves is not None:
        models += [m for m in _model_levels(trend_curves["model"]) if m not in models]
    mids = {g: float(age_midpoints[g]) for g in levels}
    x_lo = 0.0
    x_hi = age_max if age_max is not None else max(mids.values()) + 0.12 * (max(mids.values()))
    span = x_hi - x_lo
    # Dodge models sideways by a fixed fraction of the axis so error bars never overlap.
    step = 0.012 * span
    offsets = {m: (i - (len(models) - 1) / 2) * step for i, m in enumerate(models)}
    df["x"] = [mids[str(g)] + offsets[m] for g, m in zip(df["age_group"], df["model"], strict=True)]
    df["model"] = _ordered(df["model"], models)

    p = ggplot()
    for b in _boundaries(groups):
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
                    f"{_fit_label(nl_fits[0])} fit" if len(nl_fits) == 1 else "Nonlinear fit"
                ),
            }
            legend_fits = [r for r in ("linear", "nonlinear") if r in set(curves["role"])]
            curves["role"] = _ordered(curves["role"], ["linear", "nonlinear"])
            curves["model"] = _ordered(curves["model"], models)
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
        p += geom_hline(yintercept=c, linetype="dashed", colour=_GREY, size=0.5)
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
            colour=_GREY,
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
        {"x": [mids[g] for g in levels], "y": label_y, "label": [_wrap(pretty(g)) for g in levels]}
    )
    p += geom_text(
        names, aes("x", "y", label="label"), size=6.5, va="center", colour=_INK, lineheight=0.95
    )
    p += annotate(
        "segment", x=names["x"], xend=names["x"], y=1.025, yend=1.035, colour=_GREY, size=0.4
    )

    p += model_scales(models)
    # Limits on the coordinates, not the scales: a linear fit that leaves [0, 1] is clipped
    # at the panel edge instead of having rows silently removed (with a warning).
    p += scale_x_continuous(name="Age (years)", breaks=_age_breaks(x_hi))
    p += scale_y_continuous(
        name="Accuracy (%)", breaks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], labels=_percent
    )
    p += coord_cartesian(xlim=(x_lo - 0.01 * span, x_hi), ylim=(0, 1.11), expand=False)
    p += theme_devfer() + theme(legend_position="bottom", legend_box="horizontal")
    p += guides(
        colour=guide_legend(order=1),
        size=guide_legend(order=2, override_aes={"colour": _INK}),
    )
    return p


# --------------------------------------------------------------------------------------------
# 2. Confusion matrices
# --------------------------------------------------------------------------------------------


def confusion_matrices(confusion: pd.DataFrame) -> ggplot:
    """Row-normalised confusion matrices, models in rows and age groups in columns.

    Cells print the share in percent of the true expression's images (rows sum to 100), so
    that a reader can see *which* expressions a model confuses at which age, not just how
    often. The fill runs from white to dark blue (monotone in lightness, so it prints in
    grayscale); numbers switch to white on dark cells.
    """
    func = "confusion_matrices"
    _require(
        confusion,
        ["model", "age_group", "group_order", "label", "pred", "share"],
        "confusion",
        func,
    )
    df = confusion.copy()
    groups = _group_levels(df)
    models = _model_levels(df["model"])
    classes = _class_levels(pd.concat([df["label"], df["pred"]]))
    df["model"] = _ordered(df["model"], models)
    df["age_group"] = _ordered(df["age_group"], groups)
    df["label"] = _ordered(df["label"], list(reversed(classes)))  # first class on top
    df["pred"] = _ordered(df["pred"], classes)
    df["share"] = pd.to_numeric(df["share"], errors="raise").astype(float)
    df = df.dropna(subset=["share"])
    df["text"] = [f"{100 * v:.0f}" for v in df["share"]]
    df["one"] = 1  # one text group per panel: plotnine draws each group separately (slow)
    dark = df["share"] > 0.55

    p = (
        ggplot(df, aes("pred", "label", fill="share"))
        + geom_tile(colour="white", size=0.3)
        + geom_text(df.loc[~dark], aes(label="text", group="one"), size=6, colour=_INK)
        + geom_text(df.loc[dark], aes(label="text", group="one"), size=6, colour="white")
        + facet_grid(
            rows="model",
            cols="age_group",
            labeller=labeller(rows=model_label, cols=pretty),
        )
        + scale_fill_gradient(
            low=_SEQ_LOW,
            high=_SEQ_HIGH,
            limits=(0, 1),
            breaks=[0, 0.25, 0.5, 0.75, 1.0],
            labels=_percent,
            name="Share of true\nexpression (%)",
        )
        + scale_x_discrete(labels=_pretty_all, expand=(0, 0))
        + scale_y_discrete(labels=_pretty_all, expand=(0, 0))
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


# --------------------------------------------------------------------------------------------
# 3. Ages and expression mix of the evaluation data
# --------------------------------------------------------------------------------------------


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
    _require(ages, ["dataset", "age_pred", "age_group"], "ages", func)
    table = _groups_table(groups)
    names = list(table["name"])
    df = ages.dropna(subset=["age_pred"]).copy()
    df["age_pred"] = df["age_pred"].astype(float).clip(lower=0)  # an estimate below 0 is 0
    df["age_group"] = df["age_group"].astype(str)
    unknown = sorted(set(df["age_group"]) - set(names) - {"None", "nan"})
    if unknown:
        raise ValueError(f"{func}: age_group value(s) not in groups: {', '.join(unknown)}")
    df = df.loc[df["age_group"].isin(names)]
    datasets = [str(d) for d in pd.unique(df["dataset"])]
    df["dataset"] = _ordered(df["dataset"], datasets)
    df["age_group"] = _ordered(df["age_group"], names)
    age_max = float(np.ceil(max(df["age_pred"].max(), table["min"].max() + 1) / 10) * 10)
    fills = dict(zip(names, _group_fills(len(names)), strict=True))

    p = (
        ggplot(df, aes("age_pred", fill="age_group"))
        + geom_histogram(binwidth=binwidth, boundary=0)
        + facet_wrap("dataset", ncol=1, scales="free_y", labeller=dataset_label)
    )
    for b in _boundaries(groups):
        p += geom_vline(xintercept=b, colour=_GREY, size=0.35, linetype="dashed")
    p = (
        p
        + scale_fill_manual(
            values=fills, breaks=names, labels=[pretty(n) for n in names], name="Age group"
        )
        + scale_x_continuous(
            name="Estimated age (years)",
            breaks=_age_breaks(age_max),
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


def expression_mix(composition: pd.DataFrame) -> ggplot:
    """Stacked expression proportions per age group and dataset, with n above each bar.

    Accuracy depends on which expressions a group happens to contain (happy is easy, fear is
    hard), so the paper shows the mix next to the accuracies; percentages of 8 % and more are
    printed in the bars so that the figure also works without colour.
    """
    func = "expression_mix"
    _require(
        composition, ["dataset", "age_group", "group_order", "label", "n"], "composition", func
    )
    df = composition.copy()
    groups = _group_levels(df)
    classes = _class_levels(df["label"])
    datasets = [str(d) for d in pd.unique(df["dataset"])]
    df["n"] = pd.to_numeric(df["n"], errors="raise").astype(float)
    totals = df.groupby(["dataset", "age_group"], observed=True)["n"].transform("sum")
    df["share"] = np.where(totals > 0, df["n"] / totals.where(totals > 0, 1), 0.0)
    # Stack by hand, first class on top, so the stack reads in the legend's order and the
    # printed percentages sit in the middle of their own segment.
    df["label"] = _ordered(df["label"], classes)
    df = df.sort_values(["dataset", "age_group", "label"], key=_sort_key(groups, datasets))
    top = 1 - df.groupby(["dataset", "age_group"], sort=False)["share"].cumsum() + df["share"]
    df["y"] = top - df["share"] / 2
    df["age_group"] = _ordered(df["age_group"], groups)
    df["dataset"] = _ordered(df["dataset"], datasets)
    df["text"] = [f"{100 * s:.0f}" if s >= 0.08 else "" for s in df["share"]]
    df["one"] = 1  # one text group per panel: plotnine draws each group separately (slow)
    palette = {c: EXPRESSION_COLOURS.get(c, MODEL_COLOURS[i % 6]) for i, c in enumerate(classes)}
    df["text_colour"] = ["white" if palette[str(c)] in _DARK_FILLS else _INK for c in df["label"]]
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
            colour=_INK,
        )
        + scale_colour_identity()
        + facet_grid(cols="dataset", scales="free_x", space="free_x", labeller=dataset_label)
        + scale_fill_manual(
            values=palette, breaks=classes, labels=[pretty(c) for c in classes], name="Expression"
        )
        + scale_x_discrete(labels=lambda v: [_wrap(pretty(g), 8) for g in v])
        + scale_y_continuous(
            name="Share of images (%)",
            breaks=[0, 0.25, 0.5, 0.75, 1.0],
            labels=_percent,
            limits=(0, 1.07),
            expand=(0, 0),
        )
        + labs(x="Age group")
        + theme_devfer()
        + theme(legend_position="right", panel_grid_major_x=element_blank())
    )
    return p


# --------------------------------------------------------------------------------------------
# 4. The age estimator
# --------------------------------------------------------------------------------------------


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
    _require(
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
    df["outcome"] = _ordered(df["outcome"], levels)
    lim = float(np.ceil(max(df["age_true"].max(), df["age_pred"].max(), 1) / 10) * 10)
    bounds = [b for b in _boundaries(groups) if 0 < b < lim]
    if sqrt_axes:
        above = [v for v in (30, 50, 70, 90) if max(bounds, default=0) + 5 < v <= lim]
        infant_tick = [1.0] if bounds and bounds[0] >= 3 else []
        breaks = sorted({0.0, *infant_tick, *bounds, *map(float, above)}) if bounds else None
        kind = "square-root scale"
    else:
        breaks = _age_breaks(lim)
        kind = ""
    labels = ["Right age group", "Wrong age group"]
    p = ggplot(df, aes("age_true", "age_pred"))
    for b in bounds:
        p += geom_vline(xintercept=b, colour=_LIGHT_GREY, size=0.3)
        p += geom_hline(yintercept=b, colour=_LIGHT_GREY, size=0.3)
    scale_kw: dict[str, Any] = {"limits": (0, lim), "expand": (0, 0)}
    if breaks is not None:
        scale_kw["breaks"] = breaks
        scale_kw["labels"] = lambda vals: [f"{v:g}" for v in vals]
    x_title = "True age (years" + (f", {kind})" if kind else ")")
    y_title = "Estimated age (years" + (f", {kind})" if kind else ")")
    p = (
        p
        + geom_abline(slope=1, intercept=0, colour=_INK, linetype="dashed", size=0.5)
        + geom_point(aes(shape="outcome", colour="outcome"), size=0.9, alpha=0.6, stroke=0.4)
        + scale_shape_manual(
            values={"right": "o", "wrong": "x"}, breaks=levels, labels=labels, name=""
        )
        + scale_colour_manual(
            values={"right": _GREY, "wrong": MODEL_COLOURS[4]},
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
    _require(
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
    per_group["true_group"] = _ordered(per_group["true_group"], levels)
    per_group["text"] = [f"n = {int(n):,}" for n in per_group["n"]]
    top = float(per_group["value"].max())
    p = (
        ggplot(per_group, aes("true_group", "value"))
        + geom_col(fill="#9ECAE1", colour=_SEQ_HIGH, size=0.3, width=0.7)
        + geom_text(aes(label="text"), va="bottom", nudge_y=0.02 * top, size=6, colour=_INK)
    )
    overall = mae.loc[(mae["true_group"].astype(str) == "all") & mae["value"].notna(), "value"]
    if not overall.empty:
        v = float(overall.iloc[0])
        p += geom_hline(yintercept=v, linetype="dashed", colour=_GREY, size=0.5)
        # Labelled at the left, over the young groups, whose errors are small in years.
        p += annotate(
            "text",
            x=0.45,
            y=v + 0.015 * max(top, v),
            label=f"All ages: {v:.1f} y",
            ha="left",
            va="bottom",
            size=6,
            colour=_GREY,
        )
        top = max(top, v)
    p = (
        p
        + scale_x_discrete(labels=lambda vals: [_wrap(pretty(g), 8) for g in vals])
        + scale_y_continuous(name="MAE (years)", limits=(0, top * 1.15), expand=(0, 0))
        + labs(x="True age group")
        + theme_devfer()
        + theme(panel_grid_major_x=element_blank())
    )
    return p


# --------------------------------------------------------------------------------------------
# 5. Training curves
# --------------------------------------------------------------------------------------------

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
    _require(histories, ["model", "seed", "epoch", "train_loss", "val_loss"], "histories", func)
    models = _model_levels(histories["model"])
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
    df["panel"] = _ordered(df["panel"], panels)
    df["line"] = df["seed"].astype(str) + "/" + df["split"]
    df = df.sort_values(["panel", "line", "epoch"])
    ncol = max(df.groupby("model")["metric"].nunique())
    split_labels = ["Training", "Validation"]
    return (
        ggplot(df, aes("epoch", "value", group="line", colour="split", linetype="split"))
        + geom_line(size=0.55, alpha=0.8)
        + facet_wrap("panel", ncol=int(ncol), scales="free")
        + scale_colour_manual(
            values={"train": _GREY, "val": _INK},
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
        + scale_x_continuous(breaks=_integer_breaks)
        + labs(x="Epoch", y="")
        + theme_devfer()
        + theme(legend_title=element_blank())
    )


# --------------------------------------------------------------------------------------------
# 6. Transition age
# --------------------------------------------------------------------------------------------


def _estimators(method: pd.Series) -> pd.Series:
    """Estimator of each transition row: its method's head ("crossover: ...; CI" -> "crossover")."""
    return method.astype(str).str.split(";").str[0].str.split(":").str[0]


def transition_plot(transition: pd.DataFrame, *, interval_label: str = "95% CI") -> ggplot:
    """Estimated transition age per model with its interval, and the true age where known.

    In the simulated study the true transition age is known, so the figure doubles as a
    validation: the truth is an open diamond with its own legend entry, never confusable with
    an estimate. Several estimation methods are shown as separate panels. The table does not
    record the interval's level, so the legend text comes from `interval_label`.
    """
    func = "transition_plot"
    _require(
        transition,
        ["model", "estimate", "ci_low", "ci_high", "truth", "method"],
        "transition",
        func,
    )
    df = transition.copy()
    df["model"] = df["model"].astype(str)
    # Panels by estimator, in table order; the CI details stay in the table.
    labels = _estimators(df["method"]).map(_fit_label)
    df["estimator"] = _ordered(labels, list(dict.fromkeys(labels)))
    models = _model_levels(df["model"])
    axis_order = list(reversed(models))  # first model on top
    df["model"] = _ordered(df["model"], axis_order)
    df["kind"] = "estimate"
    truth = df.loc[pd.to_numeric(df["truth"], errors="coerce").notna()].copy()
    truth["kind"] = "truth"
    kinds = ["estimate"] + (["truth"] if not truth.empty else [])
    kind_labels = {"estimate": f"Estimate ({interval_label})", "truth": "True transition age"}
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
            colour=_INK,
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
            values={"estimate": "o", "truth": "D"},
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
                override_aes={"colour": _INK, "fill": "white", "size": 2.4, "stroke": 0.6}
            )
        )
    )
    if df["estimator"].nunique() > 1:
        p += facet_wrap("estimator", ncol=1, scales="free_y")
    return p


# --------------------------------------------------------------------------------------------
# 7. Hyper-parameter grid
# --------------------------------------------------------------------------------------------


def grid_heatmap(grid: pd.DataFrame) -> ggplot:
    """Validation accuracy over the learning-rate x dropout grid, per weight decay and model.

    Lets a reviewer check that the chosen configuration (outlined, with a legend entry) is not
    at the edge of the grid and that neighbouring settings do about as well.
    """
    func = "grid_heatmap"
    _require(grid, ["model", "lr", "dropout", "weight_decay", "val_accuracy", "best"], "grid", func)
    df = grid.copy()
    models = _model_levels(df["model"])
    df["model"] = _ordered(df["model"], models)
    lrs = sorted(df["lr"].astype(float).unique())
    dropouts = sorted(df["dropout"].astype(float).unique())
    wds = sorted(df["weight_decay"].astype(float).unique())
    df["lr_f"] = _ordered(df["lr"].astype(float).map(_num), [_num(v) for v in lrs])
    df["dropout_f"] = _ordered(df["dropout"].astype(float).map(_num), [_num(v) for v in dropouts])
    wd_levels = [f"Weight decay {_num(v)}" for v in wds]
    df["wd_f"] = _ordered(
        df["weight_decay"].astype(float).map(lambda v: f"Weight decay {_num(v)}"), wd_levels
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
            df.loc[df["val_accuracy"] <= mid], aes(label="text", group="one"), size=5.5, colour=_INK
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
            low=_SEQ_LOW, high=_SEQ_HIGH, labels=_percent, name="Validation\naccuracy (%)"
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


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


def render_all(
    tables: Mapping[str, pd.DataFrame | None],
    groups: Sequence[Mapping[str, Any]],
    out_dir: Path | str,
    *,
    age_midpoints: Mapping[str, float] | None = None,
) -> list[Path]:
    """Draw and save every figure whose input tables are present; return the files written.

    Keys of `tables` are the contract's names (cross_group, trend_curves, confusion,
    composition, ages, estimator_test, estimator_metrics, histories, transition, grid); an
    absent or None table skips its figure, so early workflow runs still get what they can.
    The central figure places groups at `age_midpoints` or else at `group_midpoints(groups,
    ages)`. Heights grow with the number of panels so fonts keep their print size.
    """
    out = Path(out_dir)
    t = {k: v for k, v in tables.items() if v is not None}
    group_names = [str(g["name"]) for g in groups]
    files: list[Path] = []

    def save(plot: ggplot, name: str, width: float, height: float) -> None:
        files.extend(save_figure(plot, out / name, width, height))

    if "cross_group" in t:
        mids = dict(age_midpoints or group_midpoints(groups, t.get("ages")))
        plot = accuracy_by_group(t["cross_group"], t.get("trend_curves"), mids, groups=groups)
        save(plot, "accuracy_by_group", DOUBLE_COLUMN_MM, 95)
    if "confusion" in t:
        n_models = t["confusion"]["model"].nunique()
        n_groups = t["confusion"]["age_group"].nunique()
        # Square panels (coord_fixed): height = rows x panel width + strips, labels, margins.
        panel = (DOUBLE_COLUMN_MM - 50) / max(n_groups, 1)
        save(
            confusion_matrices(t["confusion"]),
            "confusion_matrices",
            DOUBLE_COLUMN_MM,
            min(230, 27 + n_models * (panel + 1)),
        )
    if "ages" in t:
        n_sets = t["ages"]["dataset"].nunique()
        save(
            age_distributions(t["ages"], groups),
            "age_distributions",
            SINGLE_COLUMN_MM,
            min(230, 30 + 28 * n_sets),
        )
    if "composition" in t:
        save(expression_mix(t["composition"]), "expression_mix", DOUBLE_COLUMN_MM, 80)
    if "estimator_test" in t:
        save(
            estimator_scatter(t["estimator_test"], groups),
            "estimator_scatter",
            SINGLE_COLUMN_MM,
            92,
        )
    if "estimator_metrics" in t:
        save(
            estimator_mae(t["estimator_metrics"], group_names),
            "estimator_mae",
            SINGLE_COLUMN_MM,
            60,
        )
    if "histories" in t:
        n_models = t["histories"]["model"].nunique()
        save(
            training_curves(t["histories"]),
            "training_curves",
            DOUBLE_COLUMN_MM,
            min(230, 20 + 42 * n_models),
        )
    if "transition" in t:
        estimators = _estimators(t["transition"]["method"]).nunique()
        n_rows = len(t["transition"]) + 2 * (estimators - 1)  # rows plus panel strips
        save(
            transition_plot(t["transition"]),
            "transition",
            SINGLE_COLUMN_MM,
            min(230, 30 + 9 * n_rows),
        )
    if "grid" in t:
        n_models = t["grid"]["model"].nunique()
        n_drop = t["grid"]["dropout"].nunique()
        save(
            grid_heatmap(t["grid"]),
            "grid_heatmap",
            DOUBLE_COLUMN_MM,
            min(230, 25 + n_models * (12 + 7 * n_drop)),
        )
    return files
