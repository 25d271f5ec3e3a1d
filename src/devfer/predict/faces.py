"""Every face in a picture, at the picture's own resolution, aligned as the study aligns.

The study's faces stage keeps one face per image and detects on a letterboxed square of the
study's detection size (its images hold one subject each). New pictures hold any number of
faces of any size, so here MTCNN runs on the picture itself and every confident face is kept,
each aligned on its five landmarks onto the bundle's template (the same `similarity_transform`
and `warp` as the study, so a face aligned here is the crop the study would have made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from devfer.faces.align import similarity_transform, template, warp
from devfer.faces.detect import LANDMARK_NAMES
from devfer.faces.mtcnn import load_mtcnn


@dataclass(frozen=True)
class Face:
    """One detected face, in the picture's pixels, with its aligned crop."""

    box: np.ndarray  # x0, y0, x1, y1
    prob: float
    landmarks: np.ndarray  # (5, 2): eyes, nose tip, mouth corners
    crop: np.ndarray  # (size, size, 3) uint8


class FaceFinder:
    """MTCNN on whole pictures; every face at least `min_prob` confident, left to right."""

    def __init__(
        self,
        size: int,
        margin: float,
        min_prob: float = 0.9,
        min_face_size: int = 20,
        device: str = "cpu",
    ) -> None:
        self.size, self.margin, self.min_prob = size, margin, min_prob
        self.mtcnn = load_mtcnn(min_face_size, device)

    def detect(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes (n, 4), probabilities (n,), landmarks (n, 5, 2)) of the confident faces."""
        boxes, probs, points = self.mtcnn.detect(image, landmarks=True)
        if boxes is None:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        # numpy 2 hands these back as object arrays: convert explicitly.
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        points = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2)
        keep = probs >= self.min_prob
        order = np.argsort(boxes[keep, 0], kind="stable")
        return boxes[keep][order], probs[keep][order], points[keep][order]

    def align(self, image: Image.Image, landmarks: np.ndarray) -> np.ndarray:
        matrix = similarity_transform(landmarks, template(self.size, self.margin))
        return warp(image, matrix, self.size)

    def find(self, image: Image.Image) -> list[Face]:
        boxes, probs, points = self.detect(image)
        return [
            Face(b, float(p), lm, self.align(image, lm))
            for b, p, lm in zip(boxes, probs, points, strict=True)
        ]


def face_columns(face: Face) -> dict[str, Any]:
    """A face's box, detection probability and landmarks as prediction-table columns."""
    x0, y0, x1, y1 = (float(v) for v in face.box)
    row: dict[str, Any] = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "det_prob": face.prob}
    for name, (x, y) in zip(LANDMARK_NAMES, face.landmarks, strict=True):
        row[f"{name}_x"], row[f"{name}_y"] = float(x), float(y)
    return row
