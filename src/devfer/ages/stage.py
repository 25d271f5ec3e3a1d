"""The ages stage: train the estimator, give every face an age and a group, score it."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import torch

from devfer.ages.estimator import AgeHead, predict_ages
from devfer.ages.groups import bucket, from_specs, known_age_rows
from devfer.ages.metrics import estimator_metrics
from devfer.ages.settings import AgePredictSettings, AgeTrainSettings
from devfer.backbones import WeightsError, create_backbone
from devfer.data import FaceBatches, crops_tensor, load_faces
from devfer.device import pick_device
from devfer.layout import DatasetFiles
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.train.loop import TrainSettings, checkpoint_path, fit

log = logging.getLogger(__name__)


def labelled_faces(rows: pd.DataFrame, store: Any, split: str) -> tuple[FaceBatches, pd.DataFrame]:
    """A split's aligned faces with a known age, as images and age targets."""
    part = rows[(rows["split"] == split) & rows["age_true"].notna()]
    ages = torch.tensor(part["age_true"].to_numpy(dtype=float), dtype=torch.float32)
    return FaceBatches(crops_tensor(store, part["crop_index"].to_numpy()), ages), part


def train_estimator(
    *,
    settings: AgeTrainSettings,
    files: DatasetFiles,
    out_model: str,
    out_history: str,
    threads: int,
) -> None:
    """Train the age estimator on the age-labelled train split (val for model choice)."""
    set_threads(threads)
    rows, crops = load_faces(files.faces, files.manifest, files.store)
    train, _ = labelled_faces(rows, crops, "train")
    val, _ = labelled_faces(rows, crops, "val")
    log.info(
        "age estimator %s (%s head): %d train, %d val images",
        settings.model,
        settings.head,
        len(train),
        len(val),
    )
    head = AgeHead(settings.head, settings.max_age, settings.l1_weight)
    torch.manual_seed(settings.seed)
    model = create_backbone(settings.model, head.n_outputs, settings.pretrained)
    loop = TrainSettings.of(
        settings,
        monitor="val_mae",
        mode="min",
        seed=settings.seed,
        device=settings.device,
        precision=settings.precision,
    )
    checkpoint = checkpoint_path(out_model)
    history, best = fit(model, head.step, train, val, loop, checkpoint)
    torch.save(
        {
            "state_dict": best,
            "model": settings.model,
            "head": settings.head,
            "max_age": settings.max_age,
            "val_mae": float(history["val_mae"].min()),
            "settings": asdict(settings),
        },
        out_model,
    )
    write_table(history, out_history, "ages", settings)
    checkpoint.unlink(missing_ok=True)  # finished: the resumable state is no longer needed


def load_estimator(path: str) -> tuple[Any, AgeHead, float]:
    """A trained estimator, its head and its validation MAE."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise WeightsError(
            f"age estimator checkpoint {path} does not exist; set ages.checkpoint to a "
            "model.pt written by devfer, or leave it null to train one."
        ) from None
    head = AgeHead(saved["head"], saved["max_age"])
    model = create_backbone(saved["model"], head.n_outputs, "none")
    model.load_state_dict(saved["state_dict"])
    return model, head, float(saved.get("val_mae", 3.0))


def predict_dataset(
    *,
    settings: AgePredictSettings,
    dataset: str,
    files: DatasetFiles,
    model: str | None,
    out: str,
    threads: int,
    answer_key: str | None = None,
) -> None:
    """Age and age group for every aligned face of a dataset: estimated, labelled, known,
    or (`age_source` 'truth') the true age from a simulation's `answer_key`."""
    set_threads(threads)
    groups = from_specs(settings.groups)
    rows, crops = load_faces(files.faces, files.manifest, files.store)
    source = settings.age_source
    if source == "estimated":
        if model is None:
            raise ValueError(f"{dataset}: estimated ages need an age estimator checkpoint")
        net, head, val_mae = load_estimator(model)
        images = crops_tensor(crops, rows["crop_index"].to_numpy())
        # A regression head has no spread of its own: use the validation error as one.
        sigma = float(val_mae * np.sqrt(np.pi / 2))
        device = pick_device(settings.device)
        table = predict_ages(net, head, images, groups, device=device, sigma_fallback=sigma)
    elif source == "labelled":
        table = known_age_rows(rows["age_true"].to_numpy(dtype=float), groups)
    elif source == "truth":
        if answer_key is None:
            raise ValueError(f"{dataset}: true ages need the simulation's answer key")
        key = pd.read_parquet(answer_key, columns=["image_id", "age"]).set_index("image_id")
        table = known_age_rows(rows["image_id"].map(key["age"]).to_numpy(dtype=float), groups)
    else:
        table = known_age_rows(np.full(len(rows), float(source)), groups)
    table.insert(0, "image_id", rows["image_id"].to_numpy())
    table["age_group"] = bucket(table["age_pred"].to_numpy(), groups)
    table["age_source"] = source if isinstance(source, str) else "known"
    table["age_group"] = table["age_group"].astype("string")
    write_table(table, out, "ages", settings)
    log.info("%s: %s", dataset, table["age_group"].value_counts().to_dict())


def score_estimator(
    *,
    settings: AgePredictSettings,
    files: DatasetFiles,
    model: str,
    out: str,
    test_out: str,
    threads: int,
) -> None:
    """Estimator quality on the age-labelled dataset's held-out test split."""
    set_threads(threads)
    groups = from_specs(settings.groups)
    rows, crops = load_faces(files.faces, files.manifest, files.store)
    test, part = labelled_faces(rows, crops, "test")
    net, head, _ = load_estimator(model)
    pred = predict_ages(net, head, test.images, groups, device=pick_device(settings.device))
    age_true = part["age_true"].to_numpy(float)
    table = estimator_metrics(age_true, pred["age_pred"].to_numpy(), groups)
    write_table(table, out, "ages", settings)
    per_image = pred.assign(
        image_id=part["image_id"].to_numpy(),
        age_true=age_true,
        true_group=bucket(age_true, groups),
        pred_group=bucket(pred["age_pred"].to_numpy(), groups),
    )
    cols = ["image_id", "age_true", "age_pred", "age_sd", "true_group", "pred_group"]
    write_table(per_image[cols], test_out, "ages", settings)
    overall = table[(table["true_group"] == "all")].set_index("metric")["value"]
    log.info(
        "test MAE %.2f y, group accuracy %.1f %%", overall["mae"], 100 * overall["group_accuracy"]
    )
