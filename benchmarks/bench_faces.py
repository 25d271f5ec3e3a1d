"""Detection + alignment throughput: batched versus one image at a time, same images.

    python benchmarks/bench_faces.py [--n 256] [--batch 32] [--threads 2]
    python benchmarks/bench_faces.py --variants 160:20 128:40 [--n 256]
    python benchmarks/bench_faces.py --pools [--n 256] [--threads 1]

Prints images/s for both and their ratio. Each image goes through the whole faces stage
(decode, letterbox, MTCNN, similarity transform, warp), as in `devfer align`.

`--variants DETECT_SIZE:MIN_FACE_SIZE ...` instead times the batched stage under each
`faces.detect_size` / `faces.min_face_size`, with how far its eye landmarks and crops move
from the first variant's (pixels of the original image; mean absolute crop difference in
grey levels), so a faster setting shows what it costs.

`--pools` times the batched stage at the embedded study's settings (128 px, min face 40) with
facenet-pytorch's own MTCNN and with the study's (`load_mtcnn`: RNet's and ONet's max pools
on channels-last copies), alternating twice, and checks that tables and crops are identical.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import rendered_faces

from devfer.faces.detect import Detector, align_rows
from devfer.faces.settings import FacesSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=128, help="rendered image side")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", nargs="+", metavar="DETECT:MIN_FACE")
    parser.add_argument("--pools", action="store_true", help="stock vs channels-last pools")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.pools:
        compare_pools(args)
        return
    if args.variants:
        compare_variants(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        paths = rendered_faces(Path(tmp), args.n, args.size)
        rows = pd.DataFrame({"image_id": [p.name for p in paths], "path": list(map(str, paths))})
        detector = Detector(160, 0.9, 20, args.device)
        cfg = FacesSettings(size=64, margin=0.15, device=args.device)
        align_rows(rows.head(8), replace(cfg, batch_size=8), detector, False)  # warm-up
        rates, found = {}, {}
        for label, batch in (("batched", args.batch), ("one at a time", 1)):
            start = time.perf_counter()
            table, _ = align_rows(rows, replace(cfg, batch_size=batch), detector, False)
            rates[label] = len(rows) / (time.perf_counter() - start)
            found[label] = (table["align_method"] == "landmarks").mean()
    device = args.device if args.device != "cpu" else f"cpu, {args.threads} threads"
    print(f"detection + alignment, {args.n} images of {args.size}px ({device})")
    for label, rate in rates.items():
        print(f"  {label:>14}: {rate:7.1f} images/s  (faces found: {100 * found[label]:.1f} %)")
    print(f"  batched / one at a time: {rates['batched'] / rates['one at a time']:.2f}x")


def compare_variants(args: argparse.Namespace) -> None:
    variants = [tuple(int(v) for v in text.split(":")) for text in args.variants]
    eyes = ["left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y"]
    cfg = FacesSettings(size=64, margin=0.15, device=args.device, batch_size=args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        paths = rendered_faces(Path(tmp), args.n, args.size)
        rows = pd.DataFrame({"image_id": [p.name for p in paths], "path": list(map(str, paths))})
        first = None
        print(f"detection + alignment, {args.n} images of {args.size}px, batch {args.batch}")
        for detect_size, min_face in variants:
            detector = Detector(detect_size, 0.9, min_face, args.device)
            align_rows(rows.head(8), cfg, detector, False)  # warm-up
            start = time.perf_counter()
            table, crops = align_rows(rows, cfg, detector, False)
            rate = len(rows) / (time.perf_counter() - start)
            found = 100 * (table["align_method"] == "landmarks").mean()
            line = f"  {detect_size}:{min_face:<3} {rate:7.1f} images/s  faces {found:5.1f} %"
            if first is None:
                first = (table, crops)
            else:
                both = (table["crop_index"] >= 0) & (first[0]["crop_index"] >= 0)
                moved = (table.loc[both, eyes] - first[0].loc[both, eyes]).abs().to_numpy(float)
                a = crops[table.loc[both, "crop_index"].to_numpy()].astype(float)
                b = first[1][first[0].loc[both, "crop_index"].to_numpy()].astype(float)
                line += f"  eyes moved {moved.mean():.2f} px, crops differ {abs(a - b).mean():.2f}"
            print(line)


def compare_pools(args: argparse.Namespace) -> None:
    from facenet_pytorch import MTCNN

    cfg = FacesSettings(size=64, margin=0.15, device=args.device, batch_size=args.batch)
    stock = Detector(128, 0.9, 40, args.device)
    stock.mtcnn = MTCNN(keep_all=True, min_face_size=40, device=args.device)
    ours = Detector(128, 0.9, 40, args.device)
    with tempfile.TemporaryDirectory() as tmp:
        paths = rendered_faces(Path(tmp), args.n, args.size)
        rows = pd.DataFrame({"image_id": [p.name for p in paths], "path": list(map(str, paths))})
        rates: dict[str, list[float]] = {"stock MTCNN": [], "channels-last pools": []}
        out = {}
        for _ in range(2):  # alternating, so a drift in the machine's speed hits both
            for (label, times), detector in zip(rates.items(), (stock, ours), strict=True):
                align_rows(rows.head(8), cfg, detector, False)  # warm-up
                start = time.perf_counter()
                out[label] = align_rows(rows, cfg, detector, False)
                times.append(len(rows) / (time.perf_counter() - start))
    (t1, c1), (t2, c2) = out.values()
    same = t1.equals(t2) and np.array_equal(c1, c2)
    print(f"detection + alignment, {args.n} images of {args.size}px, 128:40, batch {args.batch}")
    for label, times in rates.items():
        print(f"  {label:>20}: {max(times):7.1f} images/s (best of 2)")
    best = [max(t) for t in rates.values()]
    print(f"  speed-up {best[1] / best[0]:.2f}x; tables and crops identical: {same}")


if __name__ == "__main__":
    main()
