"""Why aligned crops live in one memory-mapped .npy: read throughput of the candidates.

    python benchmarks/bench_crop_store.py [--n 2000] [--size 64]

Reads every crop once in random order (as a shuffled training epoch does) from:
the original JPEGs re-aligned on the fly, one PNG per crop, one JPEG per crop, and
the .npy store via np.load(mmap_mode="r"). Prints crops/s and the speed-up over the
originals. Run it twice to see warm-cache figures (the usual case in training).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import rendered_faces
from PIL import Image

from devfer.faces.align import similarity_transform, template, warp
from devfer.faces.detect import Detector, align_rows
from devfer.faces.imageio import load_rgb
from devfer.faces.settings import FacesSettings


def timed(label: str, n: int, fn) -> float:
    start = time.perf_counter()
    fn()
    rate = n / (time.perf_counter() - start)
    print(f"  {label:>34}: {rate:9.0f} crops/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = rendered_faces(tmp / "orig", args.n)
        rows = pd.DataFrame({"image_id": [p.name for p in paths], "path": list(map(str, paths))})
        cfg = FacesSettings(size=args.size, margin=0.15, batch_size=64, device="cpu")
        table, crops = align_rows(rows, cfg, Detector(device="cpu"), False)
        marks = table[[c for c in table.columns if c.endswith(("_x", "_y"))]].to_numpy(float)
        np.save(tmp / "store.npy", crops)
        (tmp / "png").mkdir()
        (tmp / "jpg").mkdir()
        for k, crop in enumerate(crops):
            Image.fromarray(crop).save(tmp / "png" / f"{k}.png")
            Image.fromarray(crop).save(tmp / "jpg" / f"{k}.jpg", quality=95)
        order = rng.permutation(len(crops))
        dst = template(args.size, 0.15)

        def originals() -> None:
            for k in order:
                img = load_rgb(paths[k]).image
                warp(img, similarity_transform(marks[k].reshape(5, 2), dst), args.size)

        def files(ext: str) -> None:
            for k in order:
                np.asarray(Image.open(tmp / ext / f"{k}.{ext}").convert("RGB"))

        def store() -> None:
            arr = np.load(tmp / "store.npy", mmap_mode="r")
            for k in order:
                np.array(arr[k])

        print(f"reading {len(crops)} aligned {args.size}px crops in random order")
        base = timed("originals: decode JPEG + warp", len(crops), originals)
        png = timed("one PNG per crop", len(crops), lambda: files("png"))
        jpg = timed("one JPEG per crop", len(crops), lambda: files("jpg"))
        npy = timed(".npy memory map (chosen)", len(crops), store)
        print(f"  speed-up over originals: PNG {png / base:.1f}x, JPEG {jpg / base:.1f}x, "
              f".npy {npy / base:.1f}x")  # fmt: skip
        mb = (tmp / "store.npy").stat().st_size / 2**20
        print(f"  store size: {mb:.1f} MiB for {len(crops)} crops (uncompressed uint8)")


if __name__ == "__main__":
    main()
