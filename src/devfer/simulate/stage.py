"""The simulate stage: render a dataset in its real format, and write the true curve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from devfer.layout import DatasetFiles, TrainingData
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
    faces: DatasetFiles,
    training: Sequence[TrainingData],
    out_dir: str | Path,
    out_manifest: str | Path,
) -> None:
    """Paired control renderings of `name`'s evaluation faces (those no model trains or
    validates on: the faces every model is scored on), and their manifest; see
    `devfer.simulate.controls`. Which faces those are follows from the data alone, so a
    change in how one model is trained redraws nothing."""
    # Here, not at the top: they import torch, which rendering a dataset never needs
    # (1.5 s of every simulate job's start-up).
    from devfer.data import load_faces
    from devfer.evaluate.predictions import eligibility
    from devfer.train.stage import used_images

    rows, _ = load_faces(faces.faces, faces.manifest, faces.store)
    rows = rows[rows["label"].notna()]
    for data in training:
        rows = rows[eligibility(rows, used_images(data.files, data.ages, data.age_groups))]
    table = render_controls(
        name=name,
        control=control,
        settings=settings,
        seed=seed,
        answer_key=pd.read_parquet(answer_key),
        manifest=pd.read_parquet(faces.manifest),
        image_ids=rows["image_id"].unique(),
        out_dir=out_dir,
    )
    write_table(table, out_manifest, "simulate", {"seed": seed, "simulation": settings})
    log.info("%s: %d %s control images in %s", name, len(table), control, out_dir)
