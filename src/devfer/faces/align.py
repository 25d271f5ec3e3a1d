"""Face alignment geometry: a similarity transform from five landmarks onto a template."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Five-point template (eyes, nose tip, mouth corners) widely used for 112x112 face crops
# (InsightFace / ArcFace), as fractions of the crop side.
TEMPLATE = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ]
    )
    / 112.0
)


def template(size: int, margin: float = 0.0) -> np.ndarray:
    """Template landmarks in pixels of a size x size crop; `margin` > 0 adds context around."""
    return ((TEMPLATE - 0.5) * (1.0 - margin) + 0.5) * size


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking src to dst.

    Umeyama (1991). Returns the 2x3 matrix M with dst ~= M @ [x, y, 1].
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[1, 1] = -1.0
    rot = u @ flip @ vt
    var_s = (s**2).sum() / len(src)
    if var_s <= 0:
        raise ValueError("landmarks are degenerate (all at one point)")
    scale = np.trace(np.diag(sig) @ flip) / var_s
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]])


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def box_transform(box: tuple[float, float, float, float], size: int, margin: float) -> np.ndarray:
    """Transform taking a square around box (x, y, w, h) onto the crop, with `margin` context."""
    x, y, w, h = box
    side = max(w, h) / max(1.0 - margin, 1e-3)
    scale = size / side
    cx, cy = x + w / 2, y + h / 2
    return np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])


def center_transform(width: int, height: int, size: int) -> np.ndarray:
    """Transform taking the image's central square onto the crop."""
    side = min(width, height)
    return box_transform(((width - side) / 2, (height - side) / 2, side, side), size, 0.0)


def warp(image: Image.Image, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample `image` through `matrix` into a size x size uint8 RGB array."""
    matrix = np.asarray(matrix, dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    factor = int(1.0 / scale) if scale < 0.5 else 1
    if factor > 1:
        # Box-filter down first: bilinear alone aliases when shrinking a face many-fold.
        image = image.reduce(factor)
        matrix = matrix.copy()
        matrix[:, :2] *= factor
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2].ravel()
    out = image.transform(
        (size, size), Image.Transform.AFFINE, tuple(inverse), Image.Resampling.BILINEAR
    )
    return np.asarray(out, dtype=np.uint8)
