"""Shared set-up for the benchmarks: a reproducible set of rendered faces on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devfer import CLASSES
from devfer.simulate import render_face, sample_identity


def rendered_faces(out: Path, n: int, size: int = 128, seed: int = 0) -> list[Path]:
    """n rendered faces of random age and expression, saved as JPEG (as the simulation does)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(n):
        path = out / f"{k:05d}.jpg"
        if not path.exists():
            face = render_face(
                float(rng.uniform(0, 70)), CLASSES[k % len(CLASSES)], sample_identity(rng), rng,
                intensity=float(rng.uniform(0.4, 1.0)), size=size,
            )  # fmt: skip
            face.image.save(path, "JPEG", quality=92)
        paths.append(path)
    return paths
