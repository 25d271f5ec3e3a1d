"""Which figure is drawn from which table, at which print size (`render_all`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from plotnine import ggplot

from devfer.figures.accuracy import accuracy_by_group
from devfer.figures.ages import age_distributions, estimator_mae, estimator_scatter
from devfer.figures.confusion import confusion_matrices, expression_mix
from devfer.figures.decomposition import decomposition_plot
from devfer.figures.labels import group_midpoints
from devfer.figures.theme import DOUBLE_COLUMN_MM, SINGLE_COLUMN_MM, save_figure
from devfer.figures.training import grid_heatmap, training_curves
from devfer.figures.transition import estimator_names, transition_plot


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
        estimators = estimator_names(t["transition"]["method"]).nunique()
        n_rows = len(t["transition"]) + 2 * (estimators - 1)  # rows plus panel strips
        save(
            transition_plot(t["transition"]),
            "transition",
            SINGLE_COLUMN_MM,
            min(230, 30 + 9 * n_rows),
        )
    if "decomposition" in t:
        n_models = t["decomposition"]["model"].nunique()
        save(
            decomposition_plot(t["decomposition"], group_names),
            "decomposition",
            DOUBLE_COLUMN_MM if n_models > 1 else SINGLE_COLUMN_MM,
            120,
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
