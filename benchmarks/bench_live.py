"""Frames per second of `devfer live` on a 640x480 video, one face and four, per stage.

    python benchmarks/bench_live.py [--frames 60] [--min-face-size 40] [--threads N]

The models are the study's architectures (ResNet-18 expression model, ResNet-10t age
estimator) with random weights: the speed does not depend on what they learnt. Beside the
FPS it prints this machine's reference speed (plain ResNet-18 training images per second at
64x64, batch 32: the unit of README "Benchmarks"), measured in the same run, and the FPS goal
scaled to it (25 FPS with one face where the reference is 170 images/s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_study import unit_seconds

from devfer import CLASSES
from devfer.predict.bundle import export_age, export_expression
from devfer.predict.live import STAGES, run_live
from devfer.predict.run import make_tools
from devfer.simulate.scenes import Actor, write_video
from devfer.train.expression import ExpressionNet

GROUPS = [{"name": "child", "min": 0, "max": 18}, {"name": "adult", "min": 18, "max": None}]
REFERENCE_IMAGES = 2_000


def bundles(tmp: Path) -> tuple[Path, Path]:
    from devfer.ages.estimator import AgeHead
    from devfer.backbones import create_backbone

    torch.manual_seed(0)
    model = ExpressionNet("resnet18", len(CLASSES), 0.5)
    torch.save({"state_dict": model.state_dict(), "architecture": "resnet18", "dropout": 0.5,
                "classes": list(CLASSES)}, tmp / "expr.pt")  # fmt: skip
    head = AgeHead("dex", 80)
    net = create_backbone("resnet10t", head.n_outputs, "none")
    torch.save({"model": "resnet10t", "head": "dex", "max_age": 80,
                "state_dict": net.state_dict()}, tmp / "age.pt")  # fmt: skip
    common = {"face_size": 64, "margin": 0.15, "groups": GROUPS}
    return (
        export_expression(tmp / "expr.pt", tmp / "expr", **common),
        export_age(tmp / "age.pt", tmp / "age", **common),
    )


def video(tmp: Path, faces: int, frames: int) -> Path:
    """640x480: one face of ~110 px, or four of ~80 px moving slowly."""
    if faces == 1:
        actors = [Actor([(0, "happy"), (frames // 2, "sad")], (200, 110), (1, 0), 230, seed=1)]
    else:
        spots = [(30, 40), (340, 40), (30, 260), (340, 260)]
        actors = [Actor([(0, CLASSES[k])], spots[k], (1, 0), 170, seed=k) for k in range(faces)]
    return write_video(tmp / f"faces{faces}.avi", actors, frames=frames, fps=25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--min-face-size", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="devfer-live-"))
    expr, age = bundles(tmp)
    reference = REFERENCE_IMAGES / unit_seconds(REFERENCE_IMAGES)
    goal = 25 * reference / 170
    print(f"reference: {reference:.0f} training images/s (ResNet-18, 64x64, batch 32); "
          f"goal for one face: {goal:.1f} FPS")  # fmt: skip
    print(f"\n{'faces':>5}{'FPS':>7}" + "".join(f"{s:>10}" for s in STAGES) + "   (ms per frame)")
    for faces in (1, 4):
        classifier, finder = make_tools(
            expr, age, min_face_size=args.min_face_size, device=args.device
        )
        source = video(tmp, faces, args.frames)
        summary = run_live(str(source), classifier, finder, tmp / f"run{faces}", window_s=1.0)
        ms = summary["ms_per_frame"]
        print(f"{faces:>5}{summary['fps']:>7.1f}" + "".join(f"{ms[s]:>10.1f}" for s in STAGES))
    where = f"{args.threads} thread(s), device {args.device}"
    print(f"\n{where}, min face size {args.min_face_size} px")


if __name__ == "__main__":
    main()
