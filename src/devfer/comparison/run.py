"""One comparison run: a backbone trained on one seed (and fold) and scored on its test set.

The backbone gets the study's expression head (Dropout + Linear) and plain cross-entropy;
the loop is the study's own (`devfer.train.loop.fit`: resumable, best epoch by validation
accuracy), so a backbone's result differs from another's by the backbone alone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from devfer.ages.settings import GroupSpec
from devfer.comparison.data import comparison_table, load_images, run_split
from devfer.comparison.settings import ComparisonSettings, parse_replicate
from devfer.data import FaceBatches
from devfer.device import pick_device
from devfer.evaluate.predictions import affect_columns, model_outputs
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.train.expression import (
    AffectLoss,
    CombinedDistanceLoss,
    ExpressionNet,
    affect_targets,
)
from devfer.train.loop import TrainSettings, checkpoint_path, fit

log = logging.getLogger(__name__)

#: What a run's prediction table carries besides label, pred and p_<class>.
ID_COLUMNS = ["image_id", "subject_id", "sex", "skin_tone", "age", "age_group"]


def run_frame(
    rows: pd.DataFrame, probs: np.ndarray, classes: Sequence[str], backbone: str, replicate: str
) -> pd.DataFrame:
    """One row per test image: ids and attributes, label, pred, correct, p_<class>."""
    seed, fold = parse_replicate(replicate)
    pred = np.asarray(classes)[probs.argmax(axis=1)] if len(probs) else np.array([], dtype=str)
    out = rows[ID_COLUMNS].reset_index(drop=True).copy()
    out.insert(0, "backbone", backbone)
    out.insert(1, "replicate", replicate)
    out.insert(2, "seed", seed)
    out.insert(3, "fold", pd.array([fold] * len(out), dtype="Int64"))
    out["label"] = rows["label"].to_numpy()
    out["pred"] = pred
    out["correct"] = out["label"].to_numpy() == pred
    for k, c in enumerate(classes):
        out[f"p_{c}"] = probs[:, k] if len(probs) else np.zeros(0)
    return out


def train_run(
    *,
    settings: ComparisonSettings,
    groups: Sequence[GroupSpec],
    backbone: str,
    replicate: str,
    manifest: str,
    answer_key: str | None,
    out_predictions: str,
    out_history: str,
    out_model: str,
    threads: int,
) -> None:
    """Train `backbone` for run `replicate` (`seed2026-fold0`) and write its test predictions,
    its training history and its weights."""
    set_threads(threads)
    seed, fold = parse_replicate(replicate)
    classes = list(settings.classes)
    table = comparison_table(manifest, classes, groups, answer_key)
    table["run_split"] = run_split(
        table,
        mode=settings.split,
        fold=fold,
        folds=settings.folds,
        val_share=settings.val_share,
        seed=settings.seed,
        classes=classes,
    ).to_numpy()
    images, ok, qc = load_images(table["path"].tolist(), settings.size, settings.channels)
    for row in qc.itertuples():
        log.warning("left out %s: %s (%s)", row.path, row.status, row.detail)
    table = table[ok].reset_index(drop=True)
    index = {c: i for i, c in enumerate(classes)}
    targets = torch.tensor(table["label"].map(index).to_numpy(dtype="int64"))
    head = settings.valence_arousal
    if head.enabled:
        targets = affect_targets(targets, table)
    sets = {}
    for split in ("train", "val", "test"):
        mask = torch.tensor((table["run_split"] == split).to_numpy(dtype=bool))
        sets[split] = FaceBatches(images[mask], targets[mask])
    sizes = {s: len(b) for s, b in sets.items()}
    log.info("%s, %s: %s images (train/val/test)", backbone, replicate, sizes)
    if min(sizes.values()) == 0:
        raise RuntimeError(
            f"{backbone}, {replicate}: a split is empty ({sizes}); the dataset has too few "
            "subjects for comparison.folds, or its own split has no test or val part."
        )
    torch.manual_seed(seed)
    model = ExpressionNet(
        backbone,
        len(classes),
        settings.dropout,
        settings.pretrained,
        in_chans=settings.channels,
        affect=head.enabled,
    )
    affect = AffectLoss(head.weight, head.loss) if head.enabled else None
    loss = CombinedDistanceLoss(len(classes), model.embedding_dim, seed=seed, affect=affect)
    loop = TrainSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        monitor="val_accuracy",
        mode="max",
        seed=seed,
        device=settings.device,
        augment=settings.augment,
    )
    checkpoint = checkpoint_path(out_model)
    history, best = fit(model, loss.step, sets["train"], sets["val"], loop, checkpoint)
    model.load_state_dict(best)
    device = pick_device(settings.device)
    probs, va_pred = model_outputs(model, sets["test"].images, 256, str(device))
    test_rows = table[table["run_split"] == "test"]
    frame = run_frame(test_rows, probs, classes, backbone, replicate)
    if va_pred is not None:
        frame = frame.assign(**affect_columns(test_rows, va_pred))
    log.info("%s, %s: test accuracy %.3f", backbone, replicate, frame["correct"].mean())
    meta = {"settings": settings, "backbone": backbone, "replicate": replicate}
    write_table(frame, out_predictions, "comparison_run", meta)
    history.insert(0, "backbone", backbone)
    history.insert(1, "replicate", replicate)
    write_table(history, out_history, "comparison_run", meta)
    torch.save(
        {
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "architecture": backbone,
            "classes": classes,
            "in_chans": settings.channels,
            "valence_arousal": head.enabled,
            "size": settings.size,
            "settings": {**dataclasses.asdict(settings), "replicate": replicate},
        },
        out_model,
    )
    checkpoint.unlink(missing_ok=True)
