"""Age estimator throughput: inference and training images/s at the study's image size.

python benchmarks/bench_age.py [--model resnet50] [--size 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from devfer.ages.estimator import AgeHead
from devfer.backbones import create_backbone
from devfer.device import pick_device


def rate(fn, n_images: int, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n_images * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    head = AgeHead("dex")
    model = create_backbone(args.model, head.n_outputs, "none").to(device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    age = torch.rand(args.batch, device=device) * 70
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    head.bins = head.bins.to(device)

    def infer() -> None:
        with torch.no_grad():
            head.expected(model.eval()(x))

    def train() -> None:
        model.train()
        loss, _ = head.step(model, x, age)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    print(f"age estimator {args.model}, {args.size}px, batch {args.batch}, {device}")
    print(f"  inference: {rate(infer, args.batch, args.repeats, device):8.1f} images/s")
    print(f"  training:  {rate(train, args.batch, args.repeats, device):8.1f} images/s")


if __name__ == "__main__":
    main()
