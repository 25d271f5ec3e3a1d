"""The embedded study's data: simulated faces written in the real datasets' own formats.

Each simulated dataset is written exactly as its real counterpart is published, so the
real adapters ingest it unchanged:

* ``tif``: a TIF-like infant set, one folder per expression, subject id in the file name;
* ``affectnet``: AffectNet's official layout, image folders plus training.csv and
  validation.csv with its columns and codes 0-10 (contempt, none, uncertain and no-face
  rows included, for the adapter to drop);
* ``utkface``: UTKFace file names, ``[age]_[gender]_[race]_[date&time].jpg.chip.jpg``;
* ``fer2013``: FER-2013's ``fer2013.csv`` (``emotion,pixels,Usage``), 48x48 grayscale,
  Usage dealt by subject. FER-2013 names no subjects, so neither does the CSV; the answer
  key's ``subject_id`` (and ``sex``, ``skin_tone``) join the manifest on ``image_id``.

:func:`simulate_dataset` returns the answer key (true age, expression, intensity, w(age),
the displayed valence and arousal before annotation noise, landmarks), which the workflow
writes next to the images.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from devfer import CLASSES
from devfer.progress import bar
from devfer.simulate.expressions import displayed_valence_arousal
from devfer.simulate.identity import Identity, sample_identity, skin_tone_group
from devfer.simulate.render import Rendered, render_face
from devfer.simulate.settings import SimulatedDataset, SimulationSettings
from devfer.simulate.truth import adult_share, expression_weight

FORMATS = ("tif", "affectnet", "utkface", "fer2013")
# One render per planned image, with the identity it shows.
Renders = list[tuple[Identity, Rendered]]

# Folder names of the TIF-like set: deliberately not all canonical, so the alias
# mapping is exercised the way real folder names exercise it.
TIF_FOLDERS = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}
AFFECTNET_CODE = {
    "neutral": 0, "happy": 1, "sad": 2, "surprise": 3, "fear": 4, "disgust": 5, "angry": 6,
}  # fmt: skip
UNUSABLE_CODES = (7, 8, 9, 10)  # contempt, none, uncertain, no-face
ADULTHOOD = 18.0
LANDMARK_PARTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
# FER-2013's codes (`devfer.manifest.labels.FER2013_CODES`) and its published image side.
FER2013_CODE = {
    "angry": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5, "neutral": 6,
}  # fmt: skip
FER2013_SIZE = 48
# FER-2013's Usage shares (28,709 / 3,589 / 3,589 images), in the order the CSV lists them.
FER2013_USAGE = {"Training": 0.8, "PublicTest": 0.1, "PrivateTest": 0.1}


def dataset_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per dataset, so adding one dataset leaves the others' images unchanged."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def sample_ages(
    rng: np.random.Generator, n: int, lo: float, hi: float, child_share: float
) -> np.ndarray:
    """Uniform on [lo, hi]; `child_share` of them uniform on [lo, 18) instead."""
    ages = rng.uniform(lo, hi, n)
    if child_share > 0 and lo < ADULTHOOD < hi:
        child = rng.random(n) < child_share
        ages[child] = rng.uniform(lo, ADULTHOOD, child.sum())
    return ages


def plan_images(
    name: str, dataset: SimulatedDataset, settings: SimulationSettings, seed: int
) -> pd.DataFrame:
    """One row per image to render: subject, age, expression, intensity, seed."""
    rng = dataset_rng(seed, name)
    n, per = int(dataset.n_subjects), int(dataset.images_per_subject)
    ages = sample_ages(rng, n, *dataset.age, dataset.child_share)
    rows = []
    for s in range(n):
        # Each subject shows the classes in a random order, so classes stay balanced.
        order = [CLASSES[i] for i in rng.permutation(len(CLASSES))]
        for j in range(per):
            rows.append(
                {
                    "subject": s,
                    "image_index": j,
                    "age": float(ages[s]),
                    "expression": order[j % len(order)],
                    "intensity": float(rng.uniform(*settings.intensity)),
                    "render_seed": int(rng.integers(2**63 - 1)),
                }
            )
    return pd.DataFrame(rows)


def save_jpeg(image: Image.Image, path: Path, quality: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=quality)


def identities(plan: pd.DataFrame, seed: int, name: str) -> dict[int, Identity]:
    """Every subject's identity, drawn in subject order from the dataset's own generator, so
    that a control rendering (`render_rows`) meets the same people as the dataset."""
    id_rng = dataset_rng(seed + 1, name)
    return {s: sample_identity(id_rng) for s in sorted(plan["subject"].unique())}


def render_rows(
    rows: pd.DataFrame,
    people: dict[int, Identity],
    settings: SimulationSettings,
    desc: str,
) -> list[Rendered]:
    """Render planned rows (subject, age, expression, intensity, render_seed)."""
    return [
        render_face(
            row.age,
            row.expression,
            people[row.subject],
            np.random.default_rng(row.render_seed),
            intensity=row.intensity,
            size=settings.image_size,
            midpoint=settings.midpoint,
            steepness=settings.steepness,
            infant_similarity=settings.displayed_similarity,
            au_jitter=settings.au_jitter,
            expressiveness=settings.expressiveness,
            shape_age=settings.drawn_shape_age,
        )
        for row in bar(rows.itertuples(), total=len(rows), desc=desc, unit="img")
    ]


def _render_all(plan: pd.DataFrame, settings: SimulationSettings, seed: int, name: str) -> Renders:
    people = identities(plan, seed, name)
    rendered = render_rows(plan, people, settings, f"simulate {name}")
    return [(people[s], r) for s, r in zip(plan["subject"], rendered, strict=True)]


def _truth_columns(
    plan: pd.DataFrame, rendered: Renders, settings: SimulationSettings
) -> pd.DataFrame:
    plan = plan.copy()
    age = plan["age"].to_numpy()
    plan["w"] = expression_weight(age, settings.midpoint, settings.steepness)
    # What the face displays and which proportions it has (both switchable, issue 12).
    plan["adult_share"] = adult_share(
        age, settings.midpoint, settings.steepness, settings.displayed_similarity
    )
    plan["shape_age"] = age if settings.shape_development else settings.shape_age
    plan["sex"] = [ident.sex for ident, _ in rendered]
    plan["skin_tone"] = [skin_tone_group(ident) for ident, _ in rendered]
    marks = np.stack([r.landmarks for _, r in rendered])
    for k, part in enumerate(LANDMARK_PARTS):
        plan[f"{part}_x"], plan[f"{part}_y"] = marks[:, k, 0], marks[:, k, 1]
    return plan


def write_tif(plan: pd.DataFrame, rendered: Renders, out: Path, quality: int) -> list[str]:
    paths = []
    for row, (_, r) in zip(plan.itertuples(), rendered, strict=True):
        rel = f"{TIF_FOLDERS[row.expression]}/inf{row.subject:04d}_{row.image_index + 1}.jpg"
        save_jpeg(r.image, out / rel, quality)
        paths.append(rel)
    return paths


def _landmark_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """A face box as a dataset would draw it: square around the landmarks, brow to chin."""
    centre = landmarks.mean(axis=0)
    eye_mouth = np.linalg.norm(landmarks[:2].mean(0) - landmarks[3:].mean(0))
    side = 2.6 * eye_mouth
    return centre[0] - side / 2, centre[1] - side / 2 - 0.1 * side, side, side


def _annotated(true: float, noise: float) -> float:
    return round(float(np.clip(true + noise, -1, 1)), 3)


def write_affectnet(
    plan: pd.DataFrame,
    rendered: Renders,
    out: Path,
    quality: int,
    rng: np.random.Generator,
    unusable_share: float,
    validation_share: float,
    va_noise: float = 0.1,
) -> list[str]:
    images = out / "Manually_Annotated_Images"
    val_subjects = set(
        rng.choice(
            plan["subject"].unique(),
            round(validation_share * plan["subject"].nunique()),
            replace=False,
        ).tolist()
    )
    rows: dict[str, list[dict[str, Any]]] = {"training.csv": [], "validation.csv": []}
    paths = []
    for row, (_, r) in zip(plan.itertuples(), rendered, strict=True):
        digest = hashlib.sha1(f"{row.subject}-{row.image_index}".encode()).hexdigest()
        rel = f"s{row.subject:05d}/{digest}.jpg"
        save_jpeg(r.image, images / rel, quality)
        paths.append(f"Manually_Annotated_Images/{rel}")
        x, y, w, h = _landmark_box(r.landmarks)
        csv = "validation.csv" if row.subject in val_subjects else "training.csv"
        rows[csv].append(
            {
                "subDirectory_filePath": rel,
                "face_x": round(x),
                "face_y": round(y),
                "face_width": round(w),
                "face_height": round(h),
                # The simulation knows five landmarks, not AffectNet's 68.
                "facial_landmarks": ";".join(f"{v:.2f}" for v in r.landmarks.ravel()),
                "expression": AFFECTNET_CODE[row.expression],
                # The displayed position plus the annotator's noise.
                "valence": _annotated(row.valence_true, rng.normal(0, va_noise)),
                "arousal": _annotated(row.arousal_true, rng.normal(0, va_noise)),
            }
        )
    # Rows AffectNet codes as unusable: the adapter must drop them, with reasons.
    n_bad = round(unusable_share * len(plan))
    for k in range(n_bad):
        code = UNUSABLE_CODES[k % len(UNUSABLE_CODES)]
        src = rows["training.csv"][k % max(len(rows["training.csv"]), 1)]
        rel = f"unusable/{k:05d}.jpg"
        image = rendered[k % len(rendered)][1].image
        if code == 10:  # no-face: the background without anyone in it
            image = Image.new("RGB", image.size, tuple(int(c) for c in rng.integers(40, 220, 3)))
        save_jpeg(image, images / rel, quality)
        rows["training.csv"].append(
            {**src, "subDirectory_filePath": rel, "expression": code, "valence": -2, "arousal": -2}
        )
    for name, table in rows.items():
        pd.DataFrame(table).to_csv(out / name, index=False)
    return paths


def write_utkface(
    plan: pd.DataFrame, rendered: Renders, out: Path, quality: int, rng: np.random.Generator
) -> list[str]:
    paths = []
    for k, (row, (ident, r)) in enumerate(zip(plan.itertuples(), rendered, strict=True)):
        gender = 0 if ident.sex == "male" else 1
        race = int(rng.integers(0, 5))
        stamp = f"2017{k:013d}"
        rel = f"{int(row.age)}_{gender}_{race}_{stamp}.jpg.chip.jpg"
        save_jpeg(r.image, out / rel, quality)
        paths.append(rel)
    return paths


def fer2013_usage(subjects: np.ndarray, rng: np.random.Generator) -> dict[int, str]:
    """Usage per subject: subjects shuffled and dealt Training / PublicTest / PrivateTest in
    FER-2013's shares (round(share x subjects) to each test part), so that no subject is in
    two parts and PrivateTest, which the adapter keeps as test, shares no one with training.
    """
    order = rng.permutation(np.unique(subjects))
    n_private = round(FER2013_USAGE["PrivateTest"] * len(order))
    n_public = round(FER2013_USAGE["PublicTest"] * len(order))
    usage = {}
    for i, s in enumerate(order.tolist()):
        if i < n_private:
            usage[s] = "PrivateTest"
        elif i < n_private + n_public:
            usage[s] = "PublicTest"
        else:
            usage[s] = "Training"
    return usage


def fer_pixels(image: Image.Image) -> str:
    """FER-2013's pixel string: 48x48 luma (ITU-R 601-2, PIL's "L"), row-major, spaces."""
    gray = image.convert("L")
    if gray.size != (FER2013_SIZE, FER2013_SIZE):
        gray = gray.resize((FER2013_SIZE, FER2013_SIZE), Image.Resampling.LANCZOS)
    return " ".join(map(str, np.asarray(gray, dtype=np.uint8).ravel().tolist()))


def write_fer2013(
    plan: pd.DataFrame, rendered: Renders, out: Path, rng: np.random.Generator
) -> list[str]:
    """fer2013.csv with FER-2013's columns, codes and row order (Training, then PublicTest,
    then PrivateTest); returns each planned image's CSV row number, which is what the
    adapter's image ids are made of."""
    usage = fer2013_usage(plan["subject"].to_numpy(), rng)
    rows = pd.DataFrame(
        {
            "emotion": plan["expression"].map(FER2013_CODE).to_numpy(),
            "pixels": [fer_pixels(r.image) for _, r in rendered],
            "Usage": plan["subject"].map(usage).to_numpy(),
        }
    )
    part = rows["Usage"].map({u: i for i, u in enumerate(FER2013_USAGE)})
    order = np.argsort(part.to_numpy(), kind="stable")
    rows.iloc[order].to_csv(out / "fer2013.csv", index=False)
    row_of = np.empty(len(rows), dtype=int)
    row_of[order] = np.arange(len(rows))
    return [str(i) for i in row_of]


def simulate_dataset(
    name: str,
    dataset: SimulatedDataset,
    settings: SimulationSettings,
    seed: int,
    out_dir: str | Path,
) -> pd.DataFrame:
    """Render and write one simulated dataset into ``out_dir``; return its per-image answer key.

    ``name`` seeds the dataset's own generators (so adding a dataset leaves the others'
    images unchanged) and prefixes the answer key's image and subject ids.
    """
    fmt = dataset.format
    if fmt not in FORMATS:  # checked before rendering anything
        raise ValueError(f"unknown simulated format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_images(name, dataset, settings, seed)
    share = adult_share(
        plan["age"].to_numpy(), settings.midpoint, settings.steepness, settings.displayed_similarity
    )
    plan["valence_true"], plan["arousal_true"] = displayed_valence_arousal(
        plan["expression"].to_numpy(), share, plan["intensity"].to_numpy()
    )
    rendered = _render_all(plan, settings, seed, name)
    quality = int(settings.jpeg_quality)
    rng = dataset_rng(seed + 2, name)
    if fmt == "tif":
        paths = write_tif(plan, rendered, out, quality)
    elif fmt == "affectnet":
        paths = write_affectnet(
            plan,
            rendered,
            out,
            quality,
            rng,
            unusable_share=dataset.unusable_share,
            validation_share=dataset.validation_share,
            va_noise=settings.valence_arousal_noise,
        )
    elif fmt == "utkface":
        paths = write_utkface(plan, rendered, out, quality, rng)
    else:
        paths = write_fer2013(plan, rendered, out, rng)
    truth = _truth_columns(plan, rendered, settings)
    if fmt == "fer2013":  # landmarks in the written file's pixels, as for the other formats
        marks = [f"{part}_{xy}" for part in LANDMARK_PARTS for xy in "xy"]
        truth[marks] *= FER2013_SIZE / settings.image_size
    truth.insert(0, "image_id", [f"{name}/{p}" for p in paths])
    truth.insert(1, "subject_id", [f"{name}:{s}" for s in _subject_names(fmt, plan)])
    return truth


def _subject_names(fmt: str, plan: pd.DataFrame) -> list[str]:
    """The subject id the adapter will read back (for joining the answer key); FER-2013's
    adapter reads none, so there the id is the simulation's own, joined by image id."""
    if fmt == "tif":
        return [f"inf{s:04d}" for s in plan["subject"]]
    if fmt == "affectnet":
        return [f"s{s:05d}" for s in plan["subject"]]
    if fmt == "fer2013":
        return [f"fer{s:05d}" for s in plan["subject"]]
    return [f"utk{s:05d}" for s in plan["subject"]]
