"""The train stage: one expression model per seed or grid point, the grid, the histories."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from devfer import CLASSES
from devfer.data import FaceBatches, crops_tensor, load_faces
from devfer.layout import DatasetFiles
from devfer.manifest.splits import SPLITS
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.train.expression import (
    AFFECT_COLUMNS,
    AffectLoss,
    CombinedDistanceLoss,
    ExpressionNet,
    affect_targets,
    class_balance,
)
from devfer.train.loop import TrainSettings, checkpoint_path, fit
from devfer.train.settings import GridPoint, ModelSettings, TrainModelSettings

log = logging.getLogger(__name__)


def training_rows(
    rows: pd.DataFrame, ages: str | None, age_groups: Sequence[str] | None
) -> pd.DataFrame:
    """A model's faces (every split): those with an expression label, optionally only in
    some age groups. Decided by the data alone, never by how the model is trained."""
    rows = rows[rows["label"].notna()]
    if age_groups:
        if ages is None:
            raise ValueError("training on some age groups only needs the dataset's ages table")
        known = pd.read_parquet(ages, columns=["image_id", "age_group"])
        rows = rows.merge(known, on="image_id", how="inner")
        rows = rows[rows["age_group"].isin(list(age_groups))]
    return rows


def used_images(
    files: DatasetFiles, ages: str | None, age_groups: Sequence[str] | None
) -> list[str]:
    """The images a model trains and validates on (the same for every seed and grid point):
    what `evaluate.predictions.eligibility` holds out, known before any training."""
    rows, _ = load_faces(files.faces, files.manifest, files.store)
    rows = training_rows(rows, ages, age_groups)
    return rows.loc[rows["split"].isin(["train", "val"]), "image_id"].tolist()


def expression_sets(
    rows: pd.DataFrame,
    store: Any,
    ages: str | None,
    age_groups: Sequence[str] | None,
    affect: bool = False,
) -> dict[str, tuple[FaceBatches, pd.DataFrame]]:
    """Train/val/test faces with an expression label, optionally only in some age groups.

    Targets are class indices, or with `affect` rows of (class, valence, arousal), NaN where
    an image has no annotation (it then counts for the class loss only)."""
    rows = training_rows(rows, ages, age_groups)
    index = {c: i for i, c in enumerate(CLASSES)}
    out = {}
    for split in SPLITS:
        part = rows[rows["split"] == split]
        y = torch.tensor(part["label"].map(index).to_numpy(dtype="int64"))
        if affect:
            y = affect_targets(y, part)
        out[split] = (FaceBatches(crops_tensor(store, part["crop_index"].to_numpy()), y), part)
    return out


def check_affect_labels(sets: dict[str, tuple[FaceBatches, pd.DataFrame]], name: str) -> None:
    """A valence-arousal head needs annotated training faces: say which model lacks them."""
    _, train = sets["train"]
    have = train.reindex(columns=list(AFFECT_COLUMNS)).notna().all(axis=1).sum()
    if have < 2:
        raise ValueError(
            f"models.{name}.valence_arousal is enabled, but {have} of its {len(train)} training "
            "faces have valence and arousal (its dataset has none: TIF and folder-per-class sets "
            f"carry no such annotation); set models.{name}.valence_arousal.enabled: false or "
            "train it on a set that has them (AffectNet)"
        )


def fit_expression_model(
    model_settings: ModelSettings,
    *,
    seed: int,
    device: str,
    sets: dict[str, tuple[FaceBatches, pd.DataFrame]],
    checkpoint: Path,
    precision: str = "auto",
) -> tuple[ExpressionNet, pd.DataFrame, dict[str, Any]]:
    """Train one ResNet with the combined distance loss; return (model, history, best state)."""
    block = model_settings
    train, _ = sets["train"]
    val, _ = sets["val"]
    if len(train) == 0 or len(val) == 0:
        raise RuntimeError(f"no training or validation images ({len(train)} / {len(val)})")
    torch.manual_seed(seed)
    head = block.valence_arousal
    model = ExpressionNet(
        block.architecture,
        len(CLASSES),
        block.dropout,
        block.pretrained,
        block.frozen,
        affect=head.enabled,
    )
    weights, sample_weights = class_balance(train.targets, len(CLASSES))
    loss = CombinedDistanceLoss(
        len(CLASSES),
        model.embedding_dim,
        block.distance_lambda,
        block.distance_margin,
        block.label_smoothing,
        weights if block.balance == "weights" else None,
        seed,
        AffectLoss(head.weight, head.loss) if head.enabled else None,
    )
    loop = TrainSettings.of(
        block,
        monitor="val_accuracy",
        mode="max",
        seed=seed,
        device=device,
        precision=precision,
        scheduler="cosine",
    )
    history, best = fit(
        model,
        loss.step,
        train,
        val,
        loop,
        checkpoint,
        extra_modules=[loss],
        sampler_weights=sample_weights if block.balance == "sampler" else None,
    )
    return model, history, best


def best_grid_point(grid: str) -> GridPoint:
    """The grid point marked best in a model's grid table."""
    table = pd.read_parquet(grid)
    best = table.loc[table["best"]].iloc[0]
    return GridPoint(
        lr=float(best["lr"]),
        dropout=float(best["dropout"]),
        weight_decay=float(best["weight_decay"]),
    )


def train_model(
    *,
    settings: TrainModelSettings,
    seed: int,
    files: DatasetFiles,
    out_model: str,
    out_history: str,
    threads: int,
    ages: str | None = None,
    grid: str | None = None,
    grid_point: GridPoint | None = None,
) -> None:
    """Train one expression model (one seed, or one grid point) and save it with its history.

    `grid` is the model's grid table when it uses the best grid point; `grid_point` trains
    that point itself (for the grid's own epochs where `settings.grid_epochs` sets them).
    """
    set_threads(threads)
    block = settings.model
    if grid_point is not None:
        block = dataclasses.replace(block, **dataclasses.asdict(grid_point))
        if settings.grid_epochs:
            block = dataclasses.replace(block, epochs=settings.grid_epochs)
    elif grid is not None:
        best = best_grid_point(grid)
        block = dataclasses.replace(block, **dataclasses.asdict(best))
        log.info("using the best grid point: %s", best)
    rows, crops = load_faces(files.faces, files.manifest, files.store)
    affect = block.valence_arousal.enabled
    sets = expression_sets(rows, crops, ages, block.age_groups, affect)
    if affect:
        check_affect_labels(sets, settings.name)
    log.info(
        "%s model, seed %d: %s images (train/val/test)",
        settings.name,
        seed,
        "/".join(str(len(sets[s][0])) for s in SPLITS),
    )
    checkpoint = checkpoint_path(out_model)
    _, history, best_state = fit_expression_model(
        block,
        seed=seed,
        device=settings.device,
        precision=settings.precision,
        sets=sets,
        checkpoint=checkpoint,
    )
    history.insert(0, "model", settings.name)
    history.insert(1, "seed", seed)
    used = dataclasses.replace(settings, model=block)
    torch.save(
        {
            "state_dict": best_state,
            "architecture": block.architecture,
            "dropout": block.dropout,
            "classes": list(CLASSES),
            "valence_arousal": affect,
            "train_images": sets["train"][1]["image_id"].tolist(),
            "val_images": sets["val"][1]["image_id"].tolist(),
            "settings": {**dataclasses.asdict(used), "seed": seed},
        },
        out_model,
    )
    write_table(history, out_history, "train", {"settings": used, "seed": seed})
    checkpoint.unlink(missing_ok=True)


def gather_grid(
    *, name: str, points: Sequence[GridPoint], histories: Sequence[str], out: str
) -> None:
    """One row per grid point with its best validation accuracy; `best` marks the winner."""
    rows = []
    for point, path in zip(points, histories, strict=True):
        h = pd.read_parquet(path)
        top = h.loc[h["val_accuracy"].idxmax()]
        rows.append(
            {
                "model": name,
                **dataclasses.asdict(point),
                "val_accuracy": float(top["val_accuracy"]),
                "val_loss": float(top["val_loss"]),
                "best_epoch": int(top["epoch"]),
            }
        )
    table = pd.DataFrame(rows)
    # Ties go to the earlier point in the grid order, so the choice is deterministic.
    table["best"] = False
    table.loc[table["val_accuracy"].idxmax(), "best"] = True
    write_table(table, out, "train", {"model": name})


def gather_histories(*, histories: Sequence[str], out: str) -> None:
    """Every model's (and the age estimator's) per-epoch history in one tidy table."""
    frames = []
    for path in histories:
        h = pd.read_parquet(path)
        if "model" not in h:  # the age estimator's history
            h.insert(0, "model", "age_estimator")
            h.insert(1, "seed", -1)
        frames.append(h)
    write_table(pd.concat(frames, ignore_index=True), out, "train", {"files": list(histories)})


def gather_grids(*, grids: Sequence[str], out: str) -> None:
    """Every model's grid table in one (the grid figure's input)."""
    frames = [pd.read_parquet(p) for p in grids]
    write_table(pd.concat(frames, ignore_index=True), out, "train", {"files": list(grids)})
