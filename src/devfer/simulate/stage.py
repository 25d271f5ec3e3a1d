"""The simulate stage: render a dataset in its real format, and write the true curve."""

from __future__ import annotations

import logging
from pathlib import Path

from devfer.provenance import write_table
from devfer.simulate.datasets import simulate_dataset
from devfer.simulate.settings import SimulatedDataset, SimulationSettings
from devfer.simulate.truth import truth_curve

log = logging.getLogger(__name__)


def simulate(
    *,
    name: str,
    dataset: SimulatedDataset,
    settings: SimulationSettings,
    seed: int,
    out_dir: str | Path,
    answer_key: str | Path,
) -> None:
    """Render one simulated dataset into `out_dir`; its answer key (the truth per image)."""
    truth = simulate_dataset(name, dataset=dataset, settings=settings, seed=seed, out_dir=out_dir)
    write_table(
        truth, answer_key, "simulate", {"seed": seed, "simulation": settings, "dataset": dataset}
    )
    log.info("simulated %d images of %s into %s", len(truth), name, out_dir)


def write_truth(
    *, midpoint: float, steepness: float, infant_similarity: float, out: str | Path
) -> None:
    """The true w(age) curve, the display's adult share and the true transition age."""
    curve = truth_curve(midpoint, steepness, infant_similarity)
    settings = {
        "midpoint": midpoint,
        "steepness": steepness,
        "infant_similarity": infant_similarity,
    }
    write_table(curve, out, "simulate", settings)
