"""`devfer live`: expressions on a camera or a video file, frame by frame, with tracked faces.

Per frame: decode, detect (MTCNN on the frame), align, classify, draw, encode. Faces are
tracked across frames by box overlap (`Tracker`), and each track's label is the majority of
its raw labels over the last `window_s` seconds (`smoothed`), which steadies a label that a
single frame would flip. The run folder gets the annotated video (MJPG .avi), a timeline
(one row per face per frame), an emotion-over-time and an emotion-share plot, and a summary
with the frames, the mean FPS and the milliseconds each stage took per frame.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from devfer.predict.annotate import draw_faces
from devfer.predict.classify import Classifier
from devfer.predict.faces import Face, FaceFinder, face_columns
from devfer.predict.run import open_video

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "align", "classify", "draw", "encode")


class LiveError(RuntimeError):
    """A source that cannot be read, with what to do instead."""


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class Tracker:
    """Greedy box-overlap tracking: each face takes the unclaimed track it overlaps most (at
    least `min_iou`), else a new id; a track unseen for `max_missing` frames ends."""

    min_iou: float = 0.3
    max_missing: int = 10
    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    last_seen: dict[int, int] = field(default_factory=dict)
    next_id: int = 0

    def update(self, boxes: Sequence[np.ndarray], frame: int) -> list[int]:
        pairs = sorted(
            ((iou(b, tb), i, t) for i, b in enumerate(boxes) for t, tb in self.boxes.items()),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for overlap, i, t in pairs:
            if overlap < self.min_iou:
                break
            if ids[i] is None and t not in taken:
                ids[i] = t
                taken.add(t)
        for i, box in enumerate(boxes):
            if ids[i] is None:
                ids[i] = self.next_id
                self.next_id += 1
            self.boxes[ids[i]] = np.asarray(box, dtype=float)
            self.last_seen[ids[i]] = frame
        for t in [t for t, seen in self.last_seen.items() if frame - seen > self.max_missing]:
            del self.boxes[t], self.last_seen[t]
        return [int(i) for i in ids]


@dataclass
class Smoother:
    """Each track's majority label over the last `window_s` seconds (ties: the latest)."""

    window_s: float = 1.0
    history: dict[int, deque] = field(default_factory=dict)

    def __call__(self, track: int, time_s: float, label: str) -> str:
        seen = self.history.setdefault(track, deque())
        seen.append((time_s, label))
        while seen and seen[0][0] <= time_s - self.window_s:
            seen.popleft()
        counts = Counter(lab for _, lab in seen)
        top = max(counts.values())
        return next(lab for _, lab in reversed(seen) if counts[lab] == top)


def open_source(source: str) -> tuple[Any, float, bool]:
    """(capture, frames per second, is a camera) for a camera index or a video file."""
    camera = source.isdigit()
    if not camera and not Path(source).is_file():
        raise LiveError(f"--source {source}: no such video file (or give a camera index, e.g. 0)")
    try:
        return (*open_video(int(source) if camera else source, default_fps=30.0), camera)
    except OSError:
        if camera:
            raise LiveError(
                f"camera {source} cannot be opened: no camera device is available on this "
                "machine (or another program holds it). Give a video file instead: "
                "devfer live --source video.mp4"
            ) from None
        raise LiveError(f"cannot read video {source}: OpenCV has no decoder for it") from None


def _can_display(want: bool) -> bool:
    import os

    if not want:
        return False
    if not os.environ.get("DISPLAY") and os.name != "nt":
        log.info("no display: running headless")
        return False
    import cv2

    try:
        cv2.namedWindow("devfer live")
    except cv2.error:
        log.info("this OpenCV build cannot show windows (headless): running headless")
        return False
    return True


def run_live(
    source: str,
    classifier: Classifier,
    finder: FaceFinder,
    out_dir: str | Path,
    *,
    window_s: float = 1.0,
    display: bool = False,
    max_frames: int | None = None,
    detect_every: int = 1,
) -> dict[str, Any]:
    """Run the loop until the source ends (or `max_frames`); write the run folder; return
    the summary. `detect_every` N > 1 runs the detector on every N-th frame and aligns the
    frames between on its last landmarks (faces move little in 1/fps s)."""
    import cv2

    capture, fps, camera = open_source(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    show = _can_display(display)
    tracker, smoother = Tracker(max_missing=max(1, round(fps / 2))), Smoother(window_s)
    timings = {s: 0.0 for s in STAGES}
    rows: list[dict[str, Any]] = []
    ages: dict[int, tuple[float, dict[str, Any]]] = {}
    last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    writer = None
    frames = 0
    start = time.perf_counter()
    try:
        while max_frames is None or frames < max_frames:
            t0 = time.perf_counter()
            ok, bgr = capture.read()
            if not ok:
                break
            picture = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            t1 = time.perf_counter()
            if last is None or frames % detect_every == 0:
                last = finder.detect(picture)
            boxes, probs, points = last
            t2 = time.perf_counter()
            crops = [finder.align(picture, lm) for lm in points]
            t3 = time.perf_counter()
            time_s = frames / fps
            ids = tracker.update(list(boxes), frames)
            # A face's age changes over years, not frames: once a window per track.
            stale = [t not in ages or time_s - ages[t][0] >= window_s for t in ids]
            labels = classifier(crops, with_age=stale)
            for track, label, fresh in zip(ids, labels, stale, strict=True):
                if fresh and "age" in label:
                    ages[track] = (time_s, {k: label[k] for k in ("age", "age_group")})
                elif track in ages:
                    label.update(ages[track][1])
            t4 = time.perf_counter()
            faces = [
                Face(b, float(p), lm, c)
                for b, p, lm, c in zip(boxes, probs, points, crops, strict=True)
            ]
            shown = []
            for k, (face, label, track) in enumerate(zip(faces, labels, ids, strict=True)):
                steady = smoother(track, time_s, label["emotion"])
                rows.append({"frame": frames, "time_s": time_s, "track": track, "face": k,
                             **face_columns(face), "raw_label": label["emotion"],
                             "label": steady, **label})  # fmt: skip
                shown.append({**label, "emotion": steady})
            drawn = np.asarray(draw_faces(picture, faces, shown))
            t5 = time.perf_counter()
            if writer is None:
                fourcc = cv2.VideoWriter_fourcc(*"MJPG")
                writer = cv2.VideoWriter(
                    str(out / "annotated.avi"), fourcc, fps, drawn.shape[1::-1]
                )
            writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
            if show:
                cv2.imshow("devfer live", cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
            t6 = time.perf_counter()
            for stage, (a, b) in zip(
                STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6)), strict=True
            ):
                timings[stage] += b - a
            frames += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    wall = time.perf_counter() - start
    timeline = timeline_table(rows, classifier.classes)
    timeline.to_parquet(out / "timeline.parquet", index=False)
    _plots(timeline, classifier.classes, out)
    summary = {
        "source": source,
        "camera": camera,
        "frames": frames,
        "faces": len(timeline),
        "tracks": int(timeline["track"].nunique()) if len(timeline) else 0,
        "seconds": wall,
        "fps": frames / wall if wall > 0 else float("nan"),
        "ms_per_frame": {s: 1000 * v / max(frames, 1) for s, v in timings.items()},
        "window_s": window_s,
        "detect_every": detect_every,
        "video_fps": fps,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def timeline_table(rows: list[dict[str, Any]], classes: Sequence[str]) -> pd.DataFrame:
    columns = ["frame", "time_s", "track", "face", "x0", "y0", "x1", "y1", "det_prob",
               "raw_label", "label", *(f"prob_{c}" for c in classes)]  # fmt: skip
    extra = [c for c in ("age", "age_group", "valence", "arousal") if rows and c in rows[0]]
    table = pd.DataFrame.from_records(rows, columns=[*columns, *extra])
    for c in ("frame", "track", "face"):
        table[c] = table[c].astype("int64")
    return table


def _plots(timeline: pd.DataFrame, classes: Sequence[str], out: Path) -> None:
    """Emotion over time (each track's smoothed label) and the share of each emotion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from devfer.predict.annotate import COLOURS

    fig, ax = plt.subplots(figsize=(7, 3))
    index = {c: k for k, c in enumerate(classes)}
    for track, part in timeline.groupby("track"):
        ax.plot(part["time_s"], part["label"].map(index), drawstyle="steps-post",
                label=f"face {track}")  # fmt: skip
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("time (s)")
    ax.set_title("Emotion over time (smoothed label per tracked face)")
    if timeline["track"].nunique() > 0:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out / "emotion_over_time.png", dpi=150)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3))
    share = timeline["label"].value_counts(normalize=True).reindex(classes, fill_value=0.0)
    ax.bar(classes, share.to_numpy(), color=[np.array(COLOURS[c]) / 255 for c in classes])
    ax.set_ylabel("share of face-frames")
    ax.set_title("Share of each emotion")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(out / "emotion_share.png", dpi=150)
    plt.close(fig)
