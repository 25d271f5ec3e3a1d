"""What a backbone costs at the comparison's input: parameters, FLOPs, latency, throughput.

FLOPs are counted by torch's own `FlopCounterMode` on one forward pass at batch 1 (it counts
a multiply-add as two FLOPs; MACs are half). Latency is the median of repeated batch-1
forward passes after warm-up, throughput the images per second of a larger batch, both in
inference mode at the stated number of torch threads; the same on CUDA when there is one
(synchronised, in bf16 autocast as the study trains there).
"""

from __future__ import annotations

import logging
import platform
import statistics
import time
from collections.abc import Sequence

import pandas as pd
import torch

from devfer.comparison.settings import CostSettings
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.train.expression import ExpressionNet

log = logging.getLogger(__name__)


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass of `x` (FlopCounterMode's count: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def _timed(model: torch.nn.Module, x: torch.Tensor, repeats: int, device: torch.device) -> list:
    """Seconds per forward pass of `x`, `repeats` times after three warm-up passes."""
    cuda = device.type == "cuda"
    times = []
    with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=cuda):
        for i in range(repeats + 3):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - start)
    return times


def backbone_cost(
    backbone: str, settings: CostSettings, device: torch.device
) -> dict[str, float | int | str]:
    """One row of the cost table for `backbone` on `device`."""
    torch.manual_seed(0)
    model = ExpressionNet(backbone, settings.num_classes, 0.0, in_chans=settings.channels)
    shape = (settings.channels, settings.size, settings.size)
    flops = count_flops(model, torch.zeros(1, *shape))
    model = model.to(device).eval()
    one = torch.rand(1, *shape, device=device)
    batch = torch.rand(settings.batch, *shape, device=device)
    latency = _timed(model, one, settings.repeats, device)
    per_batch = _timed(model, batch, max(3, settings.repeats // 4), device)
    return {
        "backbone": backbone,
        "device": device.type,
        "params": sum(p.numel() for p in model.parameters()),
        "gflops": flops / 1e9,
        "latency_ms": 1000 * statistics.median(latency),
        "latency_ms_iqr": 1000
        * (pd.Series(latency).quantile(0.75) - pd.Series(latency).quantile(0.25)),
        "throughput_img_s": settings.batch / statistics.median(per_batch),
        "batch": settings.batch,
        "repeats": settings.repeats,
        "threads": torch.get_num_threads() if device.type == "cpu" else 0,
        "size": settings.size,
        "channels": settings.channels,
        "hardware": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
    }


def measure_costs(
    *, backbones: Sequence[str], settings: CostSettings, out: str, threads: int
) -> pd.DataFrame:
    """The cost table of every backbone on the CPU, and on CUDA too where there is a GPU
    (and `settings.device` is not 'cpu')."""
    set_threads(threads)
    devices = [torch.device("cpu")]
    if settings.device != "cpu" and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    rows = []
    for device in devices:
        for backbone in backbones:
            row = backbone_cost(backbone, settings, device)
            log.info(
                "%s on %s: %.2f M params, %.3f GFLOPs, %.2f ms at batch 1, %.0f img/s at %d",
                backbone,
                device.type,
                row["params"] / 1e6,
                row["gflops"],
                row["latency_ms"],
                row["throughput_img_s"],
                settings.batch,
            )
            rows.append(row)
    table = pd.DataFrame(rows)
    write_table(table, out, "comparison_cost", {"settings": settings, "threads": threads})
    return table
