"""The stats stage: trend fits, fitted curves, transition ages and the sensitivity analysis."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from devfer.evaluate.metrics import cross_group, reference_mix
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import scored_predictions
from devfer.provenance import write_table
from devfer.stats.analysis import analyse, away_from_boundaries

log = logging.getLogger(__name__)


def true_transition(truth: str) -> float:
    """The simulation's true transition age from its truth table.

    The age at which the display is half adult-like (w's midpoint only if the infant
    configuration shares nothing with the adult one); older truth tables lack it.
    """
    curve = pd.read_parquet(truth)
    column = "transition_age" if "transition_age" in curve else "midpoint"
    return float(curve[column].iloc[0])


def run_statistics(
    *,
    settings: EvaluationSettings,
    predictions: Sequence[str],
    cross_group_table: str,
    truth: str | None,
    trend_fits_out: str,
    trend_curves_out: str,
    transition_out: str,
    sensitivity_out: str,
    decomposition_out: str | None = None,
    decomposition_change_out: str | None = None,
    controls: Mapping[str, Sequence[str]] | None = None,
    threads: int = 1,
) -> None:
    """Linear vs nonlinear per model, the transition ages, and their boundary sensitivity;
    with `controls` (control name -> the models' predictions on the control renderings) the
    face-shape / expression decomposition too. `threads` processes share the work (never
    more than the machine's cores; see `analyse`'s `workers`)."""
    scored = scored_predictions(settings, predictions)
    control_tables = {
        name: scored_predictions(settings, files) for name, files in (controls or {}).items()
    }
    cross = pd.read_parquet(cross_group_table)
    # The group-level sensitivity needs group accuracies without the boundary images.
    boundaries = list(settings.boundaries)
    near = away_from_boundaries(scored, boundaries, settings.boundary_margin)
    mix = reference_mix(near, settings.reference_mix)
    cross_near, _ = cross_group(near, list(settings.groups), mix, 0, settings.seed)
    results = analyse(
        scored,
        cross,
        boundaries,
        true_transition(truth) if truth else None,
        settings.boundary_margin,
        settings.transition_boot,
        settings.seed,
        settings.spline_df,
        cross_near,
        control_tables,
        settings.groups,
        workers=max(1, min(int(threads), os.cpu_count() or 1)),
    )
    outputs = {
        "trend_fits": trend_fits_out,
        "trend_curves": trend_curves_out,
        "transition": transition_out,
        "sensitivity": sensitivity_out,
        "decomposition": decomposition_out,
        "decomposition_change": decomposition_change_out,
    }
    for name, table in results.items():
        if outputs[name] is not None:
            write_table(table, outputs[name], "statistics", settings)
    for _, row in results["transition"].iterrows():
        log.info(
            "%s (%s): transition %.1f y [%.1f, %.1f] (truth %s)%s",
            row["model"],
            row["curve"],
            row["estimate"],
            row["ci_low"],
            row["ci_high"],
            row["truth"],
            "" if row["credible"] else f"; NOT credible: {row['note']}",
        )
    for _, row in results["decomposition_change"].iterrows():
        log.info(
            "%s (%s control): %s -> %s change %+.3f = face shape %+.3f + expression %+.3f: %s",
            row["model"],
            row["control"],
            row["from_group"],
            row["to_group"],
            row["observed_change"],
            row["shape_change"],
            row["expression_change"],
            row["verdict"],
        )
