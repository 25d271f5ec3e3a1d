"""A plain, resumable training loop shared by the age estimator and the expression models.

One function per epoch, metrics logged per epoch. Every epoch draws its shuffling,
augmentation and dropout randomness from (seed, epoch) alone, and the checkpoint written
after it holds model, optimizer, scheduler, epoch, early-stopping state and RNG states, so
a run stopped after any epoch and resumed ends with the same weights as one that was not.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from devfer.data import AugmentSettings, FaceBatches
from devfer.device import autocast_dtype, pick_device
from devfer.progress import bar

log = logging.getLogger(__name__)

# step(model, images, targets) -> (mean loss, per-batch sums such as {"accuracy": 12 correct});
# run_epoch divides each sum by the number of images, giving epoch means.
Step = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int | None = None  # early stopping on `monitor`; None trains all epochs
    monitor: str = "val_loss"
    mode: str = "min"
    scheduler: str = "cosine"  # or "none"
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # autocast: auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16
    augment: AugmentSettings | None = None

    @classmethod
    def of(cls, block: Any, **extra: Any) -> TrainSettings:
        """The loop's settings from a model's or the age estimator's settings block."""
        return cls(
            epochs=block.epochs,
            batch_size=block.batch_size,
            lr=block.lr,
            weight_decay=block.weight_decay,
            patience=block.patience,
            augment=block.augment,
            **extra,
        )


def checkpoint_path(out_model: str | Path) -> Path:
    """Where a run resumes from: beside its model file and named after it, so two runs
    writing models into one folder never share a checkpoint."""
    out = Path(out_model)
    return out.with_name(f"{out.stem}.checkpoint.pt")


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def run_epoch(
    model: nn.Module,
    step: Step,
    data: FaceBatches,
    settings: TrainSettings,
    device: torch.device,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    sampler_weights: torch.Tensor | None = None,
    desc: str = "",
) -> dict[str, float]:
    """One pass over `data`: trains when an optimizer is given, else evaluates."""
    training = optimizer is not None
    model.train(training)
    generator = torch.Generator().manual_seed(_epoch_seed(settings.seed, epoch))
    torch.manual_seed(_epoch_seed(settings.seed, epoch))  # dropout
    sums: dict[str, float] = {"loss": 0.0}
    n = 0
    dtype = autocast_dtype(device, settings.precision)
    channels_last = device.type == "cuda"  # slower on CPU (README "Benchmarks")
    batches = data.batches(
        settings.batch_size,
        shuffle=training,
        generator=generator,
        augment=settings.augment if training else None,
        sampler_weights=sampler_weights if training else None,
    )
    total = -(-len(data) // settings.batch_size)
    progress = bar(batches, total=total, desc=desc, leave=False, unit="batch")
    with torch.set_grad_enabled(training):
        for x, y in progress:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss, stats = step(model, x, y)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            k = len(x)
            n += k
            sums["loss"] += float(loss.detach()) * k
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + float(value)
    return {key: value / max(n, 1) for key, value in sums.items()}


def _better(score: float, best: float | None, mode: str) -> bool:
    if best is None:
        return True
    return score < best if mode == "min" else score > best


def fit(
    model: nn.Module,
    step: Step,
    train: FaceBatches,
    val: FaceBatches,
    settings: TrainSettings,
    checkpoint: str | Path,
    extra_modules: Sequence[nn.Module] = (),
    sampler_weights: torch.Tensor | None = None,
    stop_after: int | None = None,
) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    """Train, keep the best epoch by `settings.monitor`, resume from `checkpoint` if present.

    `extra_modules` (a loss with learnable class centres, say) are trained, checkpointed
    and resumed with the model. Returns the per-epoch history and the best weights (of
    the model; the extra modules are left at their best epoch's state too). `stop_after`
    ends the run after that many epochs (as an interruption would), leaving a checkpoint.
    """
    device = pick_device(settings.device)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    for extra in extra_modules:
        extra.to(device)
    params = [p for m in (model, *extra_modules) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(settings.epochs, 1))
        if settings.scheduler == "cosine"
        else torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    )
    state: dict[str, Any] = {"epoch": 0, "best": None, "best_state": None, "bad": 0, "rows": []}
    checkpoint = Path(checkpoint)
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        if saved.get("settings") == asdict(settings):
            model.load_state_dict(saved["model"])
            for extra, extra_state in zip(extra_modules, saved["extra"], strict=True):
                extra.load_state_dict(extra_state)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            state = saved["state"]
            torch.set_rng_state(saved["rng"])
            log.info("resumed from %s after epoch %d", checkpoint, state["epoch"])
        else:
            log.info("ignoring %s: it was made with other settings", checkpoint)
    run = 0
    while state["epoch"] < settings.epochs:
        epoch = state["epoch"] + 1
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        tr = run_epoch(
            model,
            step,
            train,
            settings,
            device,
            optimizer,
            epoch,
            sampler_weights,
            desc=f"epoch {epoch} train",
        )
        va = run_epoch(model, step, val, settings, device, None, epoch, desc=f"epoch {epoch} val")
        scheduler.step()
        row = {"epoch": epoch, "lr": lr, "seconds": time.perf_counter() - start}
        row.update({f"train_{k}": v for k, v in tr.items()})
        row.update({f"val_{k}": v for k, v in va.items()})
        state["rows"].append(row)
        score = row[settings.monitor]
        if _better(score, state["best"], settings.mode):
            state.update(
                best=score,
                bad=0,
                best_state=copy.deepcopy(model.state_dict()),
                best_extra=[copy.deepcopy(m.state_dict()) for m in extra_modules],
            )
        else:
            state["bad"] += 1
        state["epoch"] = epoch
        scores = "  ".join(
            f"{k} {v:.4g}" for k, v in row.items() if k.startswith(("train_", "val_"))
        )
        speed = (len(train) + len(val)) / row["seconds"]
        log.info(
            "epoch %d/%d  %s  (%.1f s, %.0f img/s)",
            epoch,
            settings.epochs,
            scores,
            row["seconds"],
            speed,
        )
        stopping = settings.patience is not None and state["bad"] >= settings.patience
        if stopping:
            log.info("early stop: no %s improvement in %d epochs", settings.monitor, state["bad"])
            state["epoch"] = settings.epochs
        _save(checkpoint, model, extra_modules, optimizer, scheduler, state, settings)
        run += 1
        if stop_after is not None and run >= stop_after and state["epoch"] < settings.epochs:
            break
    history = pd.DataFrame(state["rows"])
    for extra, extra_state in zip(extra_modules, state.get("best_extra") or [], strict=False):
        extra.load_state_dict(extra_state)
    return history, state["best_state"] or model.state_dict()


def _save(
    path: Path,
    model: nn.Module,
    extra_modules: Sequence[nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: Mapping[str, Any],
    settings: TrainSettings,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "extra": [m.state_dict() for m in extra_modules],
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "state": dict(state),
            "rng": torch.get_rng_state(),
            "settings": asdict(settings),
        },
        tmp,
    )
    tmp.replace(path)  # a crash mid-write leaves the previous checkpoint intact
