"""`devfer predict`: every face in photos, folders (recursively) and videos, one row per face.

Columns: source, frame (null for a still image), time_s (videos), face (index in the picture,
left to right), x0, y0, x1, y1 (box in the original picture's pixels), det_prob, the five
landmarks, emotion, prob_<class> for every class (summing to 1), age and age_group (with an
age model), valence and arousal (when the model has that head). Pictures with no face give no
row and are counted; unreadable files are reported and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from devfer.faces.imageio import OK, load_rgb
from devfer.predict.annotate import draw_faces
from devfer.predict.classify import Classifier
from devfer.predict.faces import Face, FaceFinder, face_columns

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
#: Pictures are read at their own resolution up to this side (a 12-megapixel photo's).
MAX_SIDE = 4096


class InputError(ValueError):
    """An input path that does not exist."""


@dataclass
class Summary:
    """What a predict run saw: counted, not printed per file."""

    images: int = 0
    video_frames: int = 0
    faces: int = 0
    without_face: int = 0
    unreadable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not an image or a video

    def lines(self) -> list[str]:
        out = [
            f"{self.images} image(s) and {self.video_frames} video frame(s) read, "
            f"{self.faces} face(s) found, {self.without_face} picture(s) without a face"
        ]
        out += [f"unreadable, skipped: {u}" for u in self.unreadable]
        out += [f"not an image or a video, skipped: {s}" for s in self.skipped]
        return out


def collect(inputs: Sequence[str | Path], summary: Summary) -> list[Path]:
    """Image and video files from files and folders (recursive, sorted); others are noted."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file()):
                if path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    files.append(path)
        elif item.is_file():
            if item.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                files.append(item)
            else:
                summary.skipped.append(str(item))
        else:
            raise InputError(f"{item} does not exist (give image files, videos or folders)")
    return files


def open_video(source: str | Path | int, default_fps: float = 25.0) -> tuple[Any, float]:
    """(OpenCV capture, frames per second) of a video file or a camera index;
    `default_fps` where the source does not say. OSError when OpenCV cannot open it."""
    import cv2

    capture = cv2.VideoCapture(source if isinstance(source, int) else str(source))
    if not capture.isOpened():
        capture.release()
        raise OSError(f"cannot open video {source}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    return capture, float(fps) if fps and fps > 0 else default_fps


def video_frames(
    capture: Any, fps: float, every: int = 1
) -> Iterator[tuple[int, float, Image.Image]]:
    """(frame index, time in seconds, RGB picture) of every `every`-th frame of an open
    capture, which is released at the end."""
    import cv2

    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield index, index / fps, Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
    finally:
        capture.release()


def _rows(
    source: str, frame: int | None, time_s: float | None, faces: list[Face], labels: list[dict]
) -> list[dict[str, Any]]:
    return [
        {"source": source, "frame": frame, "time_s": time_s, "face": k, **face_columns(f), **lab}
        for k, (f, lab) in enumerate(zip(faces, labels, strict=True))
    ]


def predict_files(
    inputs: Sequence[str | Path],
    classifier: Classifier,
    finder: FaceFinder,
    *,
    annotate: str | Path | None = None,
    every: int = 1,
) -> tuple[pd.DataFrame, Summary]:
    """The prediction table of every face in `inputs` and the run's summary."""
    summary = Summary()
    rows: list[dict[str, Any]] = []
    files = collect(inputs, summary)
    roots = [Path(i) for i in inputs if Path(i).is_dir()]
    for path in files:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            rows += _predict_video(path, classifier, finder, summary, annotate, roots, every)
            continue
        loaded = load_rgb(path, max_side=MAX_SIDE)
        if loaded.status != OK or loaded.image is None:
            summary.unreadable.append(f"{path} ({loaded.status}: {loaded.detail})")
            continue
        summary.images += 1
        faces = _in_original_pixels(finder.find(loaded.image), 1.0 / loaded.scale)
        summary.faces += len(faces)
        summary.without_face += not faces
        labels = classifier([f.crop for f in faces])
        rows += _rows(str(path), None, None, faces, labels)
        if annotate is not None:
            picture = load_rgb(path, max_side=MAX_SIDE).image
            draw_faces(picture, _in_original_pixels(faces, loaded.scale), labels).save(
                _annotated_path(path, annotate, roots, ".png")
            )
    return prediction_table(rows, classifier.classes), summary


def _in_original_pixels(faces: list[Face], factor: float) -> list[Face]:
    """Boxes and landmarks scaled by `factor` (a picture read smaller than it is)."""
    if factor == 1.0:
        return faces
    return [Face(f.box * factor, f.prob, f.landmarks * factor, f.crop) for f in faces]


def _annotated_path(path: Path, out: str | Path, roots: list[Path], suffix: str) -> Path:
    """Where an annotated copy goes: the path below its input folder, under `out`."""
    rel = Path(path.name)
    for root in roots:
        if path.is_relative_to(root):
            rel = path.relative_to(root)
            break
    target = Path(out) / rel.with_suffix(suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _predict_video(
    path: Path,
    classifier: Classifier,
    finder: FaceFinder,
    summary: Summary,
    annotate: str | Path | None,
    roots: list[Path],
    every: int,
) -> list[dict[str, Any]]:
    import cv2

    rows: list[dict[str, Any]] = []
    writer = None
    try:
        capture, fps = open_video(path)
        for frame, time_s, picture in video_frames(capture, fps, every):
            summary.video_frames += 1
            faces = finder.find(picture)
            summary.faces += len(faces)
            summary.without_face += not faces
            labels = classifier([f.crop for f in faces])
            rows += _rows(str(path), frame, time_s, faces, labels)
            if annotate is not None:
                drawn = np.asarray(draw_faces(picture, faces, labels))
                if writer is None:
                    target = _annotated_path(path, annotate, roots, ".avi")
                    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
                    rate = max(1.0, fps / every)
                    writer = cv2.VideoWriter(str(target), fourcc, rate, drawn.shape[1::-1])
                writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
    except OSError as exc:
        summary.unreadable.append(f"{path} ({exc})")
    finally:
        if writer is not None:
            writer.release()
    return rows


def prediction_table(rows: list[dict[str, Any]], classes: Sequence[str]) -> pd.DataFrame:
    """The rows with the schema's columns and types, also when no face was found."""
    from devfer.faces.detect import LANDMARK_COLUMNS

    columns = ["source", "frame", "time_s", "face", "x0", "y0", "x1", "y1", "det_prob",
               *LANDMARK_COLUMNS, "emotion", *(f"prob_{c}" for c in classes),
               "age", "age_group", "valence", "arousal"]  # fmt: skip
    table = pd.DataFrame.from_records(rows, columns=columns)
    table["frame"] = table["frame"].astype("Int64")
    table["face"] = table["face"].astype("int64")
    for c in ("source", "emotion", "age_group"):
        table[c] = table[c].astype("string")
    for c in columns:
        if c not in ("source", "frame", "face", "emotion", "age_group"):
            table[c] = table[c].astype("float64")
    if not any("valence" in r for r in rows):
        table = table.drop(columns=["valence", "arousal"])
    if not any("age" in r for r in rows):
        table = table.drop(columns=["age", "age_group"])
    return table


def make_tools(
    model: str | Path,
    age_model: str | Path | None = None,
    *,
    min_prob: float | None = None,
    min_face_size: int = 20,
    device: str = "auto",
) -> tuple[Classifier, FaceFinder]:
    """The classifier of two bundles and a face finder that crops as their card says
    (`min_prob` None: the threshold the study detected its faces with)."""
    from devfer.device import pick_device
    from devfer.predict.bundle import load_bundle

    expression = load_bundle(model)
    age = load_bundle(age_model) if age_model is not None else None
    where = str(pick_device(device))
    if min_prob is None:
        min_prob = float(expression.card["face_crop"].get("min_prob", 0.9))
    finder = FaceFinder(expression.size, expression.margin, min_prob, min_face_size, where)
    return Classifier(expression, age, where), finder


def predict_with_bundles(
    *,
    inputs: Sequence[str],
    model: str,
    age_model: str | None,
    settings: dict[str, Any],
    annotate: str | None,
    out: str,
    threads: int = 1,
) -> None:
    """Rule predict: `predict_files` with the study's bundles; the summary goes to the log."""
    from devfer.provenance import write_table
    from devfer.runlog import set_threads

    set_threads(threads)
    classifier, finder = make_tools(
        model, age_model, min_prob=settings.get("min_prob"),
        min_face_size=int(settings.get("min_face_size", 20)),
    )  # fmt: skip
    table, summary = predict_files(
        inputs, classifier, finder, annotate=annotate, every=int(settings.get("every", 1))
    )
    write_table(table, out, "predict", settings)
    for line in summary.lines():
        log.info(line)
