"""One look for the whole paper: journal sizes, palettes, the theme, model scales, saving.

`theme_devfer` and one model palette (colour *and* shape *and* linetype, Okabe-Ito colours of
different lightness) make every figure legible in grayscale print and to colour-blind readers;
sizes follow the journal's column widths (`SINGLE_COLUMN_MM`, `DOUBLE_COLUMN_MM`) and fonts
stay at or above 6 pt at print size. `save_figure` writes the PDF and the PNG from one drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib import font_manager
from plotnine import (
    element_blank,
    element_line,
    element_rect,
    element_text,
    ggplot,
    scale_colour_manual,
    scale_fill_manual,
    scale_linetype_manual,
    scale_shape_manual,
    theme,
    theme_bw,
)

from devfer.figures.labels import model_label

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
DARK_FILLS = {"#D55E00", "#009E73", "#0072B2"}  # white text reads better on these

#: Sequential palette for heat maps: light to dark blue, monotone in lightness (grayscale-safe).
SEQ_LOW, SEQ_HIGH = "#F7FBFF", "#08306B"
INK = "#222222"
GREY = "#666666"
LIGHT_GREY = "#BBBBBB"

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
        text=element_text(family=family, size=base_size, colour=INK),
        axis_text=element_text(size=small, colour=INK),
        axis_title=element_text(size=base_size),
        axis_ticks=element_line(colour=GREY, size=0.4),
        axis_ticks_length=2,
        axis_ticks_minor=element_blank(),
        panel_border=element_rect(colour=LIGHT_GREY, size=0.5),
        panel_grid_major=element_line(colour="#E5E5E5", size=0.35),
        panel_grid_minor=element_blank(),
        panel_background=element_rect(fill="white"),
        strip_background=element_rect(fill="#F0F0F0", colour=LIGHT_GREY, size=0.5),
        strip_text=element_text(size=small, colour=INK),
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
