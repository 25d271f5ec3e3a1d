"""The paper's figures (plotnine) and tables (Markdown, LaTeX), from the workflow's tidy tables.

Researchers regenerate every figure after every change and send them to journals, so the
package follows three rules:

* **Plotting recomputes nothing.** Each function takes the Parquet tables the stages wrote
  (metrics, fitted curves, confusion shares, ...) and only reshapes or labels them; a number
  in a figure or table is always a number in a Parquet file, so the two can never disagree.
* **One look for the whole paper.** `theme_devfer` and one model palette (`theme`) for every
  figure, at the journal's column widths.
* **Fail loudly on a wrong table.** Every figure and table function checks its input columns
  first and raises a `ValueError` naming what is missing, instead of drawing a wrong figure.

Modules: `theme` (sizes, palettes, theme, saving), `labels` (names, level orders, ticks),
one module per figure family (`accuracy`, `confusion`, `ages`, `training`, `transition`),
`tables` and `render` (`render_all`: which figure is drawn from which table).
"""

from __future__ import annotations

from devfer.figures.accuracy import accuracy_by_group
from devfer.figures.ages import age_distributions, estimator_mae, estimator_scatter
from devfer.figures.confusion import confusion_matrices, expression_mix
from devfer.figures.labels import dataset_label, group_midpoints, model_label, pretty
from devfer.figures.render import render_all
from devfer.figures.tables import (
    cross_group_table,
    to_latex,
    to_markdown,
    trend_fit_table,
    write_tables,
)
from devfer.figures.theme import (
    DOUBLE_COLUMN_MM,
    SINGLE_COLUMN_MM,
    model_scales,
    save_figure,
    theme_devfer,
)
from devfer.figures.training import grid_heatmap, training_curves
from devfer.figures.transition import transition_plot

__all__ = [
    "DOUBLE_COLUMN_MM",
    "SINGLE_COLUMN_MM",
    "accuracy_by_group",
    "age_distributions",
    "confusion_matrices",
    "cross_group_table",
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
    "to_latex",
    "to_markdown",
    "training_curves",
    "transition_plot",
    "trend_fit_table",
    "write_tables",
]
