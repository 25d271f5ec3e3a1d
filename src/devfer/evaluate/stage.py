"""The evaluate stage: every model on every evaluation face, then metrics per age group."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd
import torch

from devfer.data import crops_tensor, load_faces
from devfer.device import pick_device
from devfer.evaluate.affect import POOLED, affect_metrics
from devfer.evaluate.metrics import (
    common_images,
    composition,
    confusion,
    cross_group,
    reference_mix,
)
from devfer.evaluate.predictions import eligibility, model_outputs, prediction_frame
from devfer.evaluate.settings import EvaluationSettings
from devfer.layout import EvaluationData
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.train.expression import ExpressionNet

log = logging.getLogger(__name__)

# Inference batch: only speed and memory depend on it (a fixed size keeps runs repeatable).
INFERENCE_BATCH = 128


def evaluation_rows(data: Sequence[EvaluationData]) -> tuple[list[pd.DataFrame], list]:
    """Labelled, aligned faces of the evaluation datasets with their age and age group."""
    frames, stores = [], []
    for d in data:
        rows, store = load_faces(d.files.faces, d.files.manifest, d.files.store)
        ages = pd.read_parquet(d.ages, columns=["image_id", "age_pred", "age_group"])
        rows = rows[rows["label"].notna()].merge(ages, on="image_id", how="inner")
        frames.append(rows)
        stores.append(store)
    return frames, stores


def predict_model(
    *,
    settings: EvaluationSettings,
    name: str,
    checkpoints: Sequence[str],
    data: Sequence[EvaluationData],
    out: str,
    threads: int,
) -> None:
    """Class probabilities of every seed of a model on every evaluation face."""
    set_threads(threads)
    device = str(pick_device(settings.device))
    frames, stores = evaluation_rows(data)
    tables = []
    for path in checkpoints:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = ExpressionNet(
            saved["architecture"],
            len(saved["classes"]),
            saved["dropout"],
            affect=bool(saved.get("valence_arousal", False)),
        )
        model.load_state_dict(saved["state_dict"])
        used = saved["train_images"] + saved["val_images"]
        for rows, store in zip(frames, stores, strict=True):
            images = crops_tensor(store, rows["crop_index"].to_numpy())
            probs, va = model_outputs(model, images, INFERENCE_BATCH, device)
            table = prediction_frame(rows, probs, eligibility(rows, used), va)
            table.insert(0, "model", name)
            table.insert(1, "seed", int(saved["settings"]["seed"]))
            tables.append(table)
    predictions = pd.concat(tables, ignore_index=True)
    write_table(predictions, out, "evaluate", settings)
    log.info(
        "%s: %d predictions, %d eligible",
        name,
        len(predictions),
        int(predictions["eligible"].sum()),
    )


def scored_predictions(settings: EvaluationSettings, files: Sequence[str]) -> pd.DataFrame:
    """The predictions that count: the faces every model may be scored on, or each its own."""
    predictions = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    if settings.common_images:
        return common_images(predictions)
    return predictions[predictions["eligible"]]


def evaluate_models(
    *,
    settings: EvaluationSettings,
    predictions: Sequence[str],
    cross_group_out: str,
    by_seed_out: str,
    confusion_out: str,
    composition_out: str,
) -> None:
    """Cross-group metrics, confusion matrices and the evaluation set's expression mix."""
    scored = scored_predictions(settings, predictions)
    groups = list(settings.groups)
    mix = reference_mix(scored, settings.reference_mix)
    table, by_seed = cross_group(scored, groups, mix, settings.n_boot, settings.seed)
    table["reference_mix"] = settings.reference_mix
    write_table(table, cross_group_out, "evaluate", settings)
    write_table(by_seed, by_seed_out, "evaluate", settings)
    write_table(confusion(scored, groups), confusion_out, "evaluate", settings)
    write_table(composition(scored, groups), composition_out, "evaluate", settings)
    for model, part in table.groupby("model"):
        accuracy = dict(zip(part["age_group"], part["accuracy"].round(3), strict=True))
        log.info("%s: %s", model, accuracy)


def affect_predictions(
    settings: EvaluationSettings, predictions: Sequence[str], answer_keys: Sequence[str] = ()
) -> pd.DataFrame:
    """The scored predictions of the models with a valence-arousal head, with the noise-free
    valence and arousal a simulation knows (`valence_truth`, `arousal_truth`) where given."""
    scored = scored_predictions(settings, predictions)
    if "valence_pred" not in scored:
        return scored.iloc[0:0]
    scored = scored[scored.groupby("model")["valence_pred"].transform("count") > 0]
    keys = [pd.read_parquet(p) for p in answer_keys]
    keys = [k for k in keys if {"valence_true", "arousal_true"} <= set(k)]
    if keys:
        truth = pd.concat(keys, ignore_index=True)[["image_id", "valence_true", "arousal_true"]]
        truth = truth.rename(columns=lambda c: c.replace("_true", "_truth"))
        scored = scored.merge(truth, on="image_id", how="left")
    return scored


def evaluate_affect(
    *,
    settings: EvaluationSettings,
    predictions: Sequence[str],
    answer_keys: Sequence[str] = (),
    out: str,
) -> None:
    """Valence and arousal of every model with that head: RMSE, MAE, Pearson r, SAGR and CCC
    per model x age group with subject-bootstrap intervals, and the noise ceiling where the
    simulation knows the noise-free values (`devfer.evaluate.affect`)."""
    scored = affect_predictions(settings, predictions, answer_keys)
    if scored.empty:
        raise ValueError(
            "no model has a valence-arousal head: set models.<name>.valence_arousal.enabled"
        )
    table = affect_metrics(scored, list(settings.groups), settings.n_boot, settings.seed)
    write_table(table, out, "evaluate", settings)
    ccc = table[(table["metric"] == "ccc") & (table["age_group"] == POOLED)]
    for r in ccc.itertuples():
        log.info("%s %s CCC (all ages) %.3f [%.3f, %.3f], ceiling %.3f", r.model,
                 r.dimension, r.value, r.ci_low, r.ci_high, r.ceiling)  # fmt: skip
