"""The simulate stage: render a dataset in its real format, and write the true curve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from devfer.evaluate.metrics import common_images
from devfer.provenance import write_table
from devfer.simulate.controls import render_controls
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
    *,
    midpoint: float,
    steepness: float,
    infant_similarity: float,
    out: str | Path,
    expression_development: bool = True,
) -> None:
    """The true w(age) curve, the display's adult share and the true transition age."""
    curve = truth_curve(
        midpoint, steepness, infant_similarity, expression_development=expression_development
    )
    settings = {
        "midpoint": midpoint,
        "steepness": steepness,
        "infant_similarity": infant_similarity,
        "expression_development": expression_development,
    }
    write_table(curve, out, "simulate", settings)


def simulate_control(
    *,
    name: str,
    control: str,
    settings: SimulationSettings,
    seed: int,
    answer_key: str,
    manifest: str,
    predictions: Sequence[str],
    out_dir: str | Path,
    out_manifest: str | Path,
) -> None:
    """Paired control renderings of `name`'s evaluation faces (those every model is scored
    on), and their manifest; see `devfer.simulate.controls`."""
    scored = common_images(pd.concat([pd.read_parquet(p) for p in predictions]))
    ids = scored.loc[scored["dataset"] == name, "image_id"].unique()
    table = render_controls(
        name=name,
        control=control,
        settings=settings,
        seed=seed,
        answer_key=pd.read_parquet(answer_key),
        manifest=pd.read_parquet(manifest),
        image_ids=ids,
        out_dir=out_dir,
    )
    write_table(table, out_manifest, "simulate", {"seed": seed, "simulation": settings})
    log.info("%s: %d %s control images in %s", name, len(table), control, out_dir)
