"""Face detection (MTCNN, batched) and alignment into a memory-mapped crop store.

The store is one uint8 array per dataset, `results/faces/{dataset}.npy`, shape
(n_crops, size, size, 3), read with `np.load(path, mmap_mode="r")`: a crop is a slice,
with no decoding at training time (see benchmarks/bench_crop_store.py for the figures).
The table `results/faces/{dataset}.parquet` has one row per manifest row; `crop_index`
is the row of its crop in the store (-1 where there is none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from devfer.device import pick_device
from devfer.faces.align import box_transform, center_transform, similarity_transform, template, warp
from devfer.faces.imageio import OK, Loaded, load_rgb
from devfer.faces.settings import FacesSettings
from devfer.progress import bar

log = logging.getLogger(__name__)

NO_FACE = "no_face"
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
LANDMARK_COLUMNS = [f"{n}_{a}" for n in LANDMARK_NAMES for a in ("x", "y")]
FACE_COLUMNS: dict[str, str] = {
    "image_id": "string",
    "status": "string",
    "align_method": "string",
    "det_prob": "Float64",
    "n_faces": "Int64",
    "box_x1": "Float64",
    "box_y1": "Float64",
    "box_x2": "Float64",
    "box_y2": "Float64",
    **dict.fromkeys(LANDMARK_COLUMNS, "Float64"),
    "width": "Int64",
    "height": "Int64",
    "crop_index": "int64",
    "detail": "string",
}


@dataclass(frozen=True)
class Detection:
    """The chosen face in an image, in the loaded image's pixel coordinates."""

    box: np.ndarray  # x1, y1, x2, y2
    prob: float
    landmarks: np.ndarray  # (5, 2)
    n_faces: int


class Detector:
    """MTCNN over letterboxed squares, so images of any size share one batch."""

    def __init__(
        self,
        detect_size: int = 160,
        min_prob: float = 0.9,
        min_face_size: int = 20,
        device: str = "auto",
    ) -> None:
        from devfer.faces.mtcnn import load_mtcnn  # torch: not for the light gather job

        self.detect_size = detect_size
        self.min_prob = min_prob
        self.mtcnn = load_mtcnn(min_face_size, pick_device(device))

    def letterbox(self, image: Image.Image) -> tuple[np.ndarray, float]:
        scale = self.detect_size / max(image.size)
        w, h = (max(1, round(v * scale)) for v in image.size)
        canvas = np.zeros((self.detect_size, self.detect_size, 3), dtype=np.uint8)
        canvas[:h, :w] = np.asarray(image.resize((w, h), Image.Resampling.BILINEAR))
        return canvas, scale

    def detect(self, images: Sequence[Image.Image]) -> list[Detection | None]:
        if not images:
            return []
        boxed = [self.letterbox(img) for img in images]
        batch = np.stack([b for b, _ in boxed])
        boxes, probs, points = self.mtcnn.detect(batch, landmarks=True)
        found: list[Detection | None] = []
        for i, (_, scale) in enumerate(boxed):
            found.append(self._choose(boxes[i], probs[i], points[i], scale))
        return found

    def _choose(self, boxes: Any, probs: Any, points: Any, scale: float) -> Detection | None:
        if boxes is None:
            return None
        # numpy 2 hands these back as object arrays: convert explicitly.
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        points = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2)
        keep = probs >= self.min_prob
        if not keep.any():
            return None
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        # The largest confident face: datasets hold one subject, bystanders are smaller.
        best = int(np.argmax(np.where(keep, area, -np.inf)))
        return Detection(
            boxes[best] / scale, float(probs[best]), points[best] / scale, int(keep.sum())
        )


def align_one(
    loaded: Loaded,
    detection: Detection | None,
    row: Mapping[str, Any],
    policy: str,
    size: int,
    margin: float,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """Turn one loaded image and its detection into a faces-table record and a crop."""
    record: dict[str, Any] = {"image_id": row["image_id"], "detail": loaded.detail}
    record["width"], record["height"] = loaded.orig_size
    if loaded.status != OK or loaded.image is None:
        record.update(status=loaded.status, align_method="none")
        return record, None
    image, to_orig = loaded.image, 1.0 / loaded.scale
    if detection is not None:
        matrix = similarity_transform(detection.landmarks, template(size, margin))
        record.update(status=OK, align_method="landmarks", det_prob=detection.prob)
        record["n_faces"] = detection.n_faces
        x1, y1, x2, y2 = detection.box * to_orig
        record.update(box_x1=x1, box_y1=y1, box_x2=x2, box_y2=y2)
        for name, (x, y) in zip(LANDMARK_NAMES, detection.landmarks * to_orig, strict=True):
            record[f"{name}_x"], record[f"{name}_y"] = x, y
        return record, warp(image, matrix, size)
    record["n_faces"] = 0
    box = [row.get(k) for k in ("box_x", "box_y", "box_w", "box_h")]
    has_box = all(v is not None and not pd.isna(v) for v in box) and box[2] > 0 and box[3] > 0
    if policy == "dataset_box" and has_box:
        scaled = tuple(float(v) * loaded.scale for v in box)
        record.update(status=OK, align_method="dataset_box", detail="no face detected")
        x, y, w, h = (float(v) for v in box)
        record.update(box_x1=x, box_y1=y, box_x2=x + w, box_y2=y + h)
        return record, warp(image, box_transform(scaled, size, margin), size)
    if policy == "center_crop":
        record.update(status=OK, align_method="center_crop", detail="no face detected")
        return record, warp(image, center_transform(*image.size, size), size)
    detail = "no face detected"
    if policy == "dataset_box":
        detail += "; the dataset gives no usable box"
    record.update(status=NO_FACE, align_method="none", detail=detail)
    return record, None


def align_rows(
    rows: pd.DataFrame,
    settings: FacesSettings,
    detector: Detector | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Detect and align every row of a manifest (shard); return (table, crops)."""
    size = settings.size
    detector = detector or Detector(
        settings.detect_size, settings.min_prob, settings.min_face_size, settings.device
    )
    batch_size = settings.batch_size
    records: list[dict[str, Any]] = []
    crops: list[np.ndarray] = []
    progress_bar = bar(total=len(rows), desc="align", unit="img", disable=not progress)
    for start in range(0, len(rows), batch_size):
        chunk = rows.iloc[start : start + batch_size].to_dict("records")
        loaded = [load_rgb(r["path"], settings.max_side, settings.max_pixels) for r in chunk]
        usable = [i for i, ld in enumerate(loaded) if ld.status == OK]
        found = detector.detect([loaded[i].image for i in usable])
        detections: dict[int, Detection | None] = dict(zip(usable, found, strict=True))
        for i, (row, ld) in enumerate(zip(chunk, loaded, strict=True)):
            record, crop = align_one(
                ld, detections.get(i), row, settings.no_face, size, settings.margin
            )
            record["crop_index"] = len(crops) if crop is not None else -1
            if crop is not None:
                crops.append(crop)
            records.append(record)
        progress_bar.update(len(chunk))
    progress_bar.close()
    table = faces_frame(records)
    store = np.stack(crops) if crops else np.zeros((0, size, size, 3), dtype=np.uint8)
    return table, store


def faces_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(list(records))
    for column, dtype in FACE_COLUMNS.items():
        if column not in df:
            df[column] = None
        df[column] = df[column].astype(dtype)
    df["detail"] = df["detail"].fillna("")
    return df[list(FACE_COLUMNS)]


def shard_rows(manifest: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """Contiguous block `shard` of `n_shards`: blocks keep images of a folder together."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is outside 0..{n_shards - 1}")
    bounds = np.linspace(0, len(manifest), n_shards + 1).round().astype(int)
    return manifest.iloc[bounds[shard] : bounds[shard + 1]]


def gather(
    tables: Sequence[str | Path], stores: Sequence[str | Path], store_out: str | Path
) -> pd.DataFrame:
    """Concatenate shard tables and crop stores (in shard order), renumbering crop_index."""
    frames, arrays = [], [np.load(p, mmap_mode="r") for p in stores]
    total = sum(len(a) for a in arrays)
    shape = arrays[0].shape[1:] if arrays else (0, 0, 3)
    store_out = Path(store_out)
    tmp = store_out.with_name(store_out.stem + ".tmp.npy")
    # Streamed into a memory map, so gathering never holds all crops in RAM.
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(total, *shape))
    offset = 0
    for table_path, array in zip(tables, arrays, strict=True):
        df = pd.read_parquet(table_path)
        df["crop_index"] = np.where(df["crop_index"] >= 0, df["crop_index"] + offset, -1)
        out[offset : offset + len(array)] = array
        offset += len(array)
        frames.append(df)
    out.flush()
    del out
    tmp.replace(store_out)
    return pd.concat(frames, ignore_index=True) if frames else faces_frame([])


def status_summary(faces: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """QC rows: how many images ended in each status and alignment method."""
    grouped = faces.groupby(["status", "align_method"], dropna=False)
    summary = grouped.agg(n=("image_id", "size"), example=("image_id", "first")).reset_index()
    summary.insert(0, "dataset", dataset)
    summary["share"] = summary["n"] / max(len(faces), 1)
    return summary
