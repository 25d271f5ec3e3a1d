"""Which age head? DEX (expected value over age bins) vs regression, same data, same seed.

python benchmarks/age_heads.py [--n 1200] [--epochs 12] [--size 64] [--model resnet18]

Renders n faces like the embedded UTKFace-like set (half 0-18 y, half 18-70 y), aligns them
on their exact landmarks (no detector, so the comparison is about the head alone), trains
the estimator once per head on 80 % and prints test MAE and five-group accuracy for each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from devfer import CLASSES
from devfer.ages.estimator import AgeHead
from devfer.ages.groups import bucket, parse_groups
from devfer.backbones import create_backbone
from devfer.config import load_config
from devfer.data import FaceBatches, normalise, to_float
from devfer.faces.align import similarity_transform, template, warp
from devfer.simulate import render_face, sample_identity
from devfer.train.loop import TrainSettings, fit

ROOT = Path(__file__).resolve().parents[1]


def faces(n: int, size: int, expressiveness: float, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    dst = template(size, 0.15)
    crops, ages = [], []
    for k in range(n):
        age = float(rng.uniform(0, 18) if rng.uniform() < 0.5 else rng.uniform(18, 70))
        face = render_face(
            age, CLASSES[int(rng.integers(len(CLASSES)))], sample_identity(rng),
            np.random.default_rng([seed, k]), intensity=float(rng.uniform(0.4, 1.0)),
            expressiveness=expressiveness,
        )  # fmt: skip
        crops.append(warp(face.image, similarity_transform(face.landmarks, dst), size))
        ages.append(age)
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous(), np.array(ages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(ROOT / "config" / "config.yaml")
    groups = parse_groups(cfg["ages"]["groups"])
    images, ages = faces(args.n, args.size, cfg["simulation"]["expressiveness"], args.seed)
    cut = int(0.8 * args.n)
    target = torch.tensor(ages, dtype=torch.float32)
    train = FaceBatches(images[:cut], target[:cut])
    test = FaceBatches(images[cut:], target[cut:])
    true = ages[cut:]
    print(f"{args.model}, {args.size} px, {cut} train / {args.n - cut} test, {args.epochs} epochs")
    for kind in ("dex", "regression"):
        head = AgeHead(kind)
        torch.manual_seed(args.seed)
        model = create_backbone(args.model, head.n_outputs, "none")
        settings = TrainSettings(epochs=args.epochs, lr=args.lr, monitor="val_mae", mode="min",
                                 seed=args.seed, device="cpu")  # fmt: skip
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            # The test split doubles as the validation set: both heads are chosen the same way.
            _, best = fit(model, head.step, train, test, settings, Path(tmp) / "ckpt.pt")
        model.load_state_dict(best)
        model.eval()
        with torch.no_grad():
            pred = head.expected(model(normalise(to_float(test.images))))[0].numpy()
        acc = float(np.mean(bucket(true, groups) == bucket(pred, groups)))
        print(f"{kind:>10}: MAE {np.abs(pred - true).mean():.2f} y, group accuracy {acc:.1%} "
              f"({time.perf_counter() - start:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
