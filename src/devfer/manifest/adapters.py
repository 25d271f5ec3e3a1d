"""Ingestion: each dataset's published layout -> one manifest table and a QC table of drops.

Adapters only list what the dataset says (path, raw label, subject, age, boxes). The
shared steps after them -- label mapping, subject extraction, file checks, ids, splits --
are the same for every format, so every dataset is treated alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from devfer.manifest.labels import AFFECTNET_NAMES, FER2013_CODES, LabelMapper
from devfer.manifest.settings import DatasetSettings
from devfer.manifest.splits import assign_splits, split_groups

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

MANIFEST_COLUMNS: dict[str, str] = {
    "image_id": "string",
    "dataset": "string",
    "path": "string",
    "subject_id": "string",
    "label": "string",
    "split": "string",
    "age_true": "Float64",
    "valence": "Float64",
    "arousal": "Float64",
    "source_label": "string",
    "box_x": "Float64",
    "box_y": "Float64",
    "box_w": "Float64",
    "box_h": "Float64",
}
QC_COLUMNS = ["dataset", "stage", "reason", "action", "n", "example"]

AFFECTNET_COLUMNS = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
)  # fmt: skip
UTKFACE_NAME = re.compile(r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<time>\d+)")


class DatasetError(RuntimeError):
    """The dataset on disk does not look like its format; the message says what to fix."""


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _need_dir(root: Path, ds: DatasetSettings) -> None:
    if not root.is_dir():
        raise DatasetError(
            f"dataset '{ds.name}': folder {root} does not exist. Set datasets."
            f"{ds.name}.root in your config to where the {ds.format} data is unpacked."
        )


def _read_csv(path: Path, ds: DatasetSettings, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(
            f"dataset '{ds.name}': CSV file {path} does not exist. Check datasets."
            f"{ds.name}.root and the file name settings in your config."
        )
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"dataset '{ds.name}': cannot parse {path}: {exc}") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DatasetError(
            f"dataset '{ds.name}': {path} lacks column(s) {', '.join(missing)}; "
            f"found {', '.join(df.columns)}. The {ds.format} format needs "
            f"{', '.join(required)}."
        )
    return df


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def adapt_folder_per_class(ds: DatasetSettings) -> pd.DataFrame:
    """root/<class folder>/**/<image>: the label is the top folder (TIF and most lab sets)."""
    root = Path(ds.root)
    _need_dir(root, ds)
    rows = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(class_dir.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            ok_ext = path.suffix.lower() in IMAGE_EXTENSIONS
            rows.append(
                {
                    "relpath": _rel(path, root),
                    "source_label": class_dir.name,
                    "drop_reason": None if ok_ext else "not_an_image_extension",
                }
            )
    if not rows:
        raise DatasetError(
            f"dataset '{ds.name}': {root} holds no class folders with images. The "
            "folder_per_class format expects root/<expression>/<image files>."
        )
    return pd.DataFrame(rows)


def adapt_affectnet(ds: DatasetSettings) -> pd.DataFrame:
    """AffectNet's official release: training.csv / validation.csv + image folders."""
    root = Path(ds.root)
    _need_dir(root, ds)
    files = {"train": "training.csv", "test": "validation.csv", **(ds.csv_files or {})}
    image_dir = ds.image_dir if ds.image_dir is not None else "Manually_Annotated_Images"
    parts = []
    for source_split, name in files.items():
        df = _read_csv(root / name, ds, AFFECTNET_COLUMNS)
        code = pd.to_numeric(df["expression"], errors="coerce")
        names = code.map(lambda c: AFFECTNET_NAMES.get(int(c)) if c == c else None)
        valence, arousal = _numeric(df["valence"]), _numeric(df["arousal"])
        parts.append(
            pd.DataFrame(
                {
                    "relpath": (image_dir + "/" + df["subDirectory_filePath"]).str.replace(
                        "//", "/"
                    ),
                    "subpath": df["subDirectory_filePath"],
                    # Unknown codes keep their raw text so the QC table shows what was found.
                    "source_label": names.fillna(df["expression"]),
                    "source_split": source_split,
                    # AffectNet codes "not applicable" valence/arousal as -2.
                    "valence": valence.where(valence != -2),
                    "arousal": arousal.where(arousal != -2),
                    "box_x": _numeric(df["face_x"]),
                    "box_y": _numeric(df["face_y"]),
                    "box_w": _numeric(df["face_width"]),
                    "box_h": _numeric(df["face_height"]),
                    "drop_reason": None,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def adapt_utkface(ds: DatasetSettings) -> pd.DataFrame:
    """UTKFace: [age]_[gender]_[race]_[date&time].jpg, in one folder (or part folders)."""
    root = Path(ds.root)
    _need_dir(root, ds)
    rows = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        match = UTKFACE_NAME.match(path.name)
        reason = None
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            reason = "not_an_image_extension"
        elif match is None:
            reason = "bad_filename"
        rows.append(
            {
                "relpath": _rel(path, root),
                "source_label": None,
                "age_true": float(match["age"]) if match else np.nan,
                "drop_reason": reason,
            }
        )
    if not rows:
        raise DatasetError(f"dataset '{ds.name}': {root} holds no files.")
    df = pd.DataFrame(rows)
    df["age_true"] = df["age_true"].astype("Float64")
    return df


def adapt_fer2013(ds: DatasetSettings, image_cache: Path) -> pd.DataFrame:
    """FER-2013 (emotion,pixels,Usage): pixels are decoded to PNGs once, under image_cache."""
    root = Path(ds.root)
    csv = ds.csv if ds.csv is not None else "fer2013.csv"
    df = _read_csv(root / csv, ds, ("emotion", "pixels", "Usage"))
    image_cache.mkdir(parents=True, exist_ok=True)
    code = pd.to_numeric(df["emotion"], errors="coerce")
    usage = df["Usage"].fillna("").str.strip().str.lower()
    rows = []
    for i, (pixels, c, use) in enumerate(zip(df["pixels"], code, usage, strict=True)):
        try:
            values = np.array(str(pixels).split(), dtype=np.float64)
        except ValueError:
            values = np.zeros(0)
        side = math.isqrt(len(values))
        reason = None
        if side == 0 or side * side != len(values) or np.any((values < 0) | (values > 255)):
            reason = "bad_pixels"
        else:
            out = image_cache / f"{i:06d}.png"
            if not out.exists():
                Image.fromarray(values.reshape(side, side).astype(np.uint8), "L").save(out)
        rows.append(
            {
                "relpath": f"{i:06d}.png",
                "row": i,
                "source_label": FER2013_CODES.get(int(c), str(c)) if c == c else None,
                "source_split": "test" if use == "privatetest" else None,
                "drop_reason": reason,
            }
        )
    return pd.DataFrame(rows)


def adapt_csv(ds: DatasetSettings) -> pd.DataFrame:
    """Any CSV with one row per image; `columns` says which column holds what."""
    root = Path(ds.root)
    cols: Mapping[str, str] = ds.columns or {}
    df = _read_csv(root / ds.csv, ds, tuple(cols.values()))
    image_dir = ds.image_dir or ""
    out = pd.DataFrame(
        {
            "relpath": df[cols["path"]].map(
                lambda p: (Path(image_dir) / p).as_posix() if image_dir else p
            ),
            "source_label": df[cols["label"]] if "label" in cols else None,
            "drop_reason": None,
        }
    )
    if "subject_id" in cols:
        out["subject_id"] = df[cols["subject_id"]]
    if "age" in cols:
        out["age_true"] = _numeric(df[cols["age"]])
    for key in ("valence", "arousal"):
        if key in cols:
            out[key] = _numeric(df[cols[key]])
    if "split" in cols:
        raw = df[cols["split"]].fillna("").str.strip().str.lower()
        out["source_split"] = raw.where(raw == "test")
    return out


ADAPTERS: dict[str, Callable[..., pd.DataFrame]] = {
    "folder_per_class": adapt_folder_per_class,
    "affectnet": adapt_affectnet,
    "utkface": adapt_utkface,
    "fer2013": adapt_fer2013,
    "csv": adapt_csv,
}
# Formats whose images carry an expression label; others (UTKFace) are age-only.
LABELLED = {"folder_per_class", "affectnet", "fer2013"}


def _qc_rows(name: str, reasons: pd.Series, paths: pd.Series, action: str) -> list[dict]:
    rows = []
    for reason, idx in reasons.dropna().groupby(reasons.dropna()).groups.items():
        rows.append(
            {
                "dataset": name,
                "stage": "manifest",
                "reason": str(reason),
                "action": action,
                "n": len(idx),
                "example": str(paths.loc[idx[0]]),
            }
        )
    return rows


def build_manifest(
    dataset: DatasetSettings, seed: int, image_cache: Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the dataset's adapter and the shared steps; return (manifest, qc)."""
    ds = dataset
    name, fmt, root = ds.name, ds.format, Path(ds.root)
    if fmt == "fer2013":
        cache = image_cache or Path("results/sources") / name
        raw = adapt_fer2013(ds, cache)
        base = cache
    else:
        raw = ADAPTERS[fmt](ds)
        base = root
    raw = raw.reset_index(drop=True)
    for column in ("source_split", "subject_id", "age_true", "drop_reason", "source_label"):
        if column not in raw:
            raw[column] = None
    raw["path"] = raw["relpath"].map(lambda r: (base / r).as_posix())

    if fmt == "fer2013":
        raw["image_id"] = name + "/" + raw["row"].astype(str)
    else:
        raw["image_id"] = name + "/" + raw["relpath"]

    needs_label = fmt in LABELLED or (fmt == "csv" and "label" in (ds.columns or {}))
    mapper = LabelMapper(ds.labels)
    labels, reasons = [], []
    for src, prior in zip(raw["source_label"], raw["drop_reason"], strict=True):
        if pd.notna(prior) or not needs_label:
            labels.append(None)
            reasons.append(prior if pd.notna(prior) else None)
            continue
        label, reason = mapper.map(src)
        labels.append(label)
        reasons.append(reason)
    raw["label"] = labels
    raw["drop_reason"] = reasons

    exists = raw["path"].map(lambda p: Path(p).is_file())
    raw.loc[raw["drop_reason"].isna() & ~exists, "drop_reason"] = "missing_file"
    dup = raw["image_id"].duplicated(keep="first")
    raw.loc[raw["drop_reason"].isna() & dup, "drop_reason"] = "duplicate_row"

    qc = _qc_rows(name, raw["drop_reason"], raw["path"], "dropped")

    # Subjects: from the adapter, else from the configured pattern on the relative path.
    pattern = ds.subject_pattern
    subject = raw["subject_id"].astype("string")
    if pattern:
        rx = re.compile(pattern)
        subpath = raw["subpath"] if "subpath" in raw else raw["relpath"]
        found = subpath.map(lambda p: (m := rx.search(str(p))) and m["subject"])
        no_match = found.isna() & raw["drop_reason"].isna()
        qc += _qc_rows(
            name,
            pd.Series(np.where(no_match, "subject_pattern_no_match", None), index=raw.index),
            raw["path"],
            "kept, subject unknown",
        )
        subject = subject.fillna(found.astype("string"))
    raw["subject_id"] = (name + ":" + subject).astype("string")

    kept = raw[raw["drop_reason"].isna()].copy()
    groups = split_groups(kept["subject_id"], kept["image_id"])
    source = kept["source_split"] if ds.split.respect_source else None
    kept["split"] = assign_splits(groups, ds.split.fractions, seed, source)
    kept["dataset"] = name
    for column, dtype in MANIFEST_COLUMNS.items():
        if column not in kept:
            kept[column] = None
        kept[column] = kept[column].astype(dtype)
    manifest = kept[list(MANIFEST_COLUMNS)].reset_index(drop=True)
    qc_df = pd.DataFrame(qc, columns=QC_COLUMNS)
    return manifest, qc_df
