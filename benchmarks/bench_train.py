"""Training throughput: the real data pipeline versus tensors already in memory.

    python benchmarks/bench_train.py [--model resnet18] [--size 64] [--batch 32] [--steps 30]
    python benchmarks/bench_train.py --precision fp32 bf16   # the two side by side

Prints images/s of training steps (forward, backward, Adam) fed by devfer's pipeline
(uint8 crops from the store -> float, normalise, batch augmentation) and by one
pre-made float batch reused every step, and their ratio: the input-pipeline efficiency.
Works on CPU and CUDA (bf16 autocast and channels-last there, as in training).
`--precision` runs the measurement once per setting (`models.precision`: auto, fp32, bf16),
alternating, so a CPU's bf16 speed-up, or slow-down, is read against fp32 of the same minute.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from devfer.data import FaceBatches, crops_tensor
from devfer.device import PRECISIONS, autocast_dtype, pick_device
from devfer.train.expression import CombinedDistanceLoss, ExpressionNet
from devfer.train.settings import AugmentSettings

AUGMENT = AugmentSettings(flip=True, rotation=8, scale=(0.85, 1.0), color=0.15)


def train_steps(model, loss, batches, device, n_steps, precision="auto") -> float:
    opt = torch.optim.Adam([*model.parameters(), *loss.parameters()], lr=1e-4)
    dtype = autocast_dtype(device, precision)
    amp = device.type == "cuda"
    seen, start = 0, None
    for step, (x, y) in enumerate(batches):
        if step == 3:  # warm-up steps excluded (allocator, cuDNN autotuning)
            if amp:
                torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if amp:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            value, _ = loss.step(model, x, y)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        seen += len(x)
        if step + 1 >= n_steps + 3:
            break
    if amp:
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["auto"])
    args = parser.parse_args()
    if len(args.precision) > 1:
        compare_precisions(args)
        return
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    n = args.batch * (args.steps + 3)
    rng = np.random.default_rng(0)
    store = rng.integers(0, 256, (n, args.size, args.size, 3), dtype=np.uint8)
    data = FaceBatches(crops_tensor(store, np.arange(n)), torch.as_tensor(rng.integers(0, 7, n)))

    def make():
        torch.manual_seed(0)
        model = ExpressionNet(args.model, 7, 0.5).to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        return model, CombinedDistanceLoss(7, model.embedding_dim, 0.0035).to(device)

    gen = torch.Generator().manual_seed(0)
    pipeline = train_steps(*make(), data.batches(args.batch, True, gen, AUGMENT), device,
                           args.steps)  # fmt: skip
    x, y = next(data.batches(args.batch, False))
    x, y = x.to(device), y.to(device)
    in_memory = train_steps(*make(), iter(lambda: (x, y), None), device, args.steps)
    print(f"{args.model} training, {args.size}px, batch {args.batch}, {device}"
          f"{'' if device.type == 'cuda' else f' ({args.threads} threads)'}")  # fmt: skip
    print(f"  through the data pipeline: {pipeline:8.1f} images/s")
    print(f"  tensors already in memory: {in_memory:8.1f} images/s")
    print(f"  input-pipeline efficiency: {pipeline / in_memory:8.2f}")
    if (args.model, args.size, args.batch) == ("resnet18", 64, 32):
        # The unit run times are stated in (README "Benchmarks"): machines differ up to 4x.
        print(f"  this machine's unit (10,000 training images): {10_000 / pipeline:6.0f} s")


def compare_precisions(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 7, (args.batch,))
    best = dict.fromkeys(args.precision, 0.0)
    for _ in range(2):  # alternating: the machine's speed drifts within minutes here
        for precision in args.precision:
            torch.manual_seed(0)
            model = ExpressionNet(args.model, 7, 0.5).to(device)
            loss = CombinedDistanceLoss(7, model.embedding_dim, 0.0035).to(device)
            batches = iter(lambda: (x, y), None)
            rate = train_steps(model, loss, batches, device, args.steps, precision)
            best[precision] = max(best[precision], rate)
    print(f"{args.model} training, {args.size}px, batch {args.batch}, {device}, tensors in memory")
    for precision, rate in best.items():
        print(f"  {precision:>5}: {rate:8.1f} images/s (best of 2)")
    first = args.precision[0]
    for precision in args.precision[1:]:
        print(f"  {precision} / {first}: {best[precision] / best[first]:.2f}x")


if __name__ == "__main__":
    main()
