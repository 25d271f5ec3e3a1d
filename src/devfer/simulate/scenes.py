"""Pictures and videos with several simulated faces: the test scenes of `devfer predict` and
`devfer live` (a group photo at a real photo's resolution, faces that change expression at
known frames, move, enter and leave).

A face is rendered as the simulation draws dataset images (a square with the face filling
about half of it) and pasted, scaled, onto a plain canvas; its true box is the tile's
middle half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from devfer.simulate.identity import Identity, sample_identity
from devfer.simulate.render import render_face


def face_tile(identity: Identity, age: float, expression: str, side: int, seed: int) -> Image.Image:
    """One face, `side` pixels square (the face itself about side / 2 wide)."""
    rendered = render_face(age, expression, identity, np.random.default_rng(seed), size=128)
    return rendered.image.resize((side, side), Image.Resampling.BICUBIC)


def group_photo(
    n_faces: int = 6,
    size: tuple[int, int] = (1280, 886),
    tile: tuple[int, int] = (170, 240),
    seed: int = 0,
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """A picture with `n_faces` faces on a grid, each tile `tile` px (faces ~80-120 px);
    returns it and each tile's (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", size, (90, 110, 120))
    cols = int(np.ceil(np.sqrt(n_faces * size[0] / size[1])))
    rows = int(np.ceil(n_faces / cols))
    boxes = []
    expressions = ("happy", "sad", "surprise", "angry", "neutral", "fear", "disgust")
    for k in range(n_faces):
        side = int(rng.integers(tile[0], tile[1] + 1))
        cx = (k % cols + 0.5) * size[0] / cols
        cy = (k // cols + 0.5) * size[1] / rows
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
        person = sample_identity(rng)
        age = float(rng.uniform(3, 60))
        canvas.paste(face_tile(person, age, expressions[k % 7], side, seed * 100 + k), (x0, y0))
        boxes.append((x0, y0, x0 + side, y0 + side))
    return canvas, boxes


@dataclass(frozen=True)
class Actor:
    """A face in a video: who, which expression from which frame, where, and when present."""

    expressions: Sequence[tuple[int, str]]  # (first frame, expression), in frame order
    start: tuple[float, float]  # tile's top-left corner at frame 0 (pixels)
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per frame
    side: int = 200
    enter: int = 0
    leave: int | None = None  # first frame without the face
    age: float = 30.0
    seed: int = 0


def write_video(
    path: str | Path,
    actors: Sequence[Actor],
    frames: int,
    fps: float = 25.0,
    size: tuple[int, int] = (640, 480),
) -> Path:
    """An MJPG .avi (or mp4v .mp4) of the actors on a plain background."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, size)
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path}")
    tiles: dict[tuple[int, str], Image.Image] = {}
    people = [sample_identity(np.random.default_rng(a.seed)) for a in actors]
    try:
        for f in range(frames):
            canvas = Image.new("RGB", size, (90, 110, 120))
            for k, (actor, person) in enumerate(zip(actors, people, strict=True)):
                if f < actor.enter or (actor.leave is not None and f >= actor.leave):
                    continue
                expression = [e for first, e in actor.expressions if first <= f][-1]
                key = (k, expression)
                if key not in tiles:
                    tiles[key] = face_tile(person, actor.age, expression, actor.side, actor.seed)
                x = round(actor.start[0] + actor.velocity[0] * f)
                y = round(actor.start[1] + actor.velocity[1] * f)
                canvas.paste(tiles[key], (x, y))
            writer.write(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
