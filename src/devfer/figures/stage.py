"""The figures stage: publication figures and tables from the tables the stages wrote.

Nothing is refitted here: every number drawn is read from a Parquet table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from devfer.ages.settings import GroupSpec
from devfer.figures import render_all, write_tables

log = logging.getLogger(__name__)


def _age_tables(paths: Sequence[str]) -> pd.DataFrame:
    frames = [
        pd.read_parquet(path, columns=["image_id", "age_pred", "age_group"]).assign(
            dataset=Path(path).stem
        )
        for path in paths
    ]
    return pd.concat(frames, ignore_index=True)


def make_figures(
    *,
    tables: Mapping[str, str],
    ages: Sequence[str],
    groups: Sequence[GroupSpec],
    figure_dir: str,
    table_dir: str,
) -> None:
    """Every figure whose tables are given (by name), and the Markdown/LaTeX tables."""
    frames: dict[str, Any] = {key: pd.read_parquet(path) for key, path in tables.items()}
    frames["ages"] = _age_tables(ages)
    # An empty table (no curve could be fitted, say) leaves its layer out, not the figure.
    frames = {k: (v if len(v) else None) for k, v in frames.items()}
    spec = [asdict(g) for g in groups]
    files = render_all(frames, spec, figure_dir)
    files += write_tables(
        frames["cross_group"],
        frames["trend_fits"],
        table_dir,
        frames.get("transition"),
        frames.get("decomposition_change"),
    )
    log.info("wrote %d figure and table files", len(files))


def affect_figures(
    *,
    metrics: str,
    predictions: Sequence[str],
    groups: Sequence[GroupSpec],
    ccc_figure: str,
    circumplex_figures: Mapping[str, str],
    table_md: str,
    table_tex: str,
) -> None:
    """The valence-arousal figures (CCC by age group; the circumplex of each model with the
    head: model -> file stem in `circumplex_figures`; .png and .pdf) and its table."""
    from devfer.figures.affect import affect_table, ccc_by_group_plot, circumplex_plot
    from devfer.figures.tables import to_latex, to_markdown
    from devfer.figures.theme import DOUBLE_COLUMN_MM, save_figure

    names = [g.name for g in groups]
    table = pd.read_parquet(metrics)
    save_figure(ccc_by_group_plot(table, names), ccc_figure, DOUBLE_COLUMN_MM, 90)
    preds = pd.concat([pd.read_parquet(p) for p in predictions], ignore_index=True)
    for model, path in circumplex_figures.items():
        panels = circumplex_plot(preds[preds["model"] == model], names, model)
        save_figure(panels, path, DOUBLE_COLUMN_MM, 70)
    paper = affect_table(table, names)
    caption = "Valence and arousal by age group (subject-bootstrap 95 % intervals)"
    Path(table_md).write_text(to_markdown(paper), encoding="utf-8")
    Path(table_tex).write_text(to_latex(paper, caption, "tab:valence-arousal"), encoding="utf-8")
    log.info("wrote the valence-arousal figures and table")
