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
