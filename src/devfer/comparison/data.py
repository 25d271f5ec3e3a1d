"""The comparison's images and who is in them: one dataset's manifest, read whole.

The field compares backbones on ready-cropped faces (FER-2013's 48x48 crops), so the
comparison neither detects nor aligns: each image is read, converted to grayscale or RGB and
resized to the configured side. A simulation's answer key adds what the files do not carry
(the subject of a FER-2013 row, sex, skin tone, true age) for subject-grouped folds and the
fairness audit; a real dataset contributes what its manifest has.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from devfer.ages.groups import bucket, from_specs
from devfer.ages.settings import GroupSpec
from devfer.comparison.folds import fold_split, subject_folds
from devfer.faces.imageio import OK, load_rgb

#: The attributes an answer key can add to a manifest row.
KEY_COLUMNS = ("subject_id", "sex", "skin_tone", "age")


def comparison_table(
    manifest: str | Path,
    classes: Sequence[str],
    groups: Sequence[GroupSpec],
    answer_key: str | Path | None = None,
) -> pd.DataFrame:
    """The labelled rows of `manifest` in `classes`: image_id, path, label, split (the
    manifest's own), subject_id, and sex, skin_tone, age, age_group where known (and
    valence, arousal where the dataset has them)."""
    rows = pd.read_parquet(manifest)
    rows = rows[rows["label"].isin(list(classes))].reset_index(drop=True)
    rows["age"] = rows["age_true"].astype("Float64")
    for column in ("sex", "skin_tone"):
        rows[column] = pd.Series(pd.NA, index=rows.index, dtype="string")
    if answer_key is not None:
        key = pd.read_parquet(answer_key)
        key = key[["image_id", *[c for c in KEY_COLUMNS if c in key]]].set_index("image_id")
        joined = key.reindex(rows["image_id"])
        for column in KEY_COLUMNS:
            if column in joined:
                # The file's own value first (a real subject id), the answer key's where none.
                known = joined[column].to_numpy()
                rows[column] = rows[column].where(rows[column].notna(), known)
    rows["age"] = pd.to_numeric(rows["age"], errors="coerce")
    rows["age_group"] = pd.Series(
        bucket(rows["age"].to_numpy(dtype=float, na_value=np.nan), from_specs(groups)),
        dtype="string",
    )
    keep = ["image_id", "path", "label", "split", "subject_id", "sex", "skin_tone", "age"]
    # Valence and arousal where the format has them (AffectNet): the optional head's targets.
    extra = [c for c in ("valence", "arousal") if c in rows and rows[c].notna().any()]
    return rows[[*keep, "age_group", *extra]]


def run_split(
    table: pd.DataFrame,
    *,
    mode: str,
    fold: int | None,
    folds: int,
    val_share: float,
    seed: int,
    classes: Sequence[str],
) -> pd.Series:
    """train / val / test of every row for one run: the manifest's split (`mode` 'dataset')
    or subject-grouped fold `fold` of `folds` (dealt with `seed`: every run of one study
    sees the same folds)."""
    if mode == "dataset":
        return table["split"].astype("string")
    assert fold is not None
    assignment = subject_folds(table, folds, seed, classes=classes)
    return fold_split(table, assignment, fold, val_share=val_share, seed=seed)


def load_images(
    paths: Sequence[str], size: int, channels: int
) -> tuple[torch.Tensor, np.ndarray, pd.DataFrame]:
    """(uint8 (n_ok, channels, size, size) of the readable images, which paths they are (a
    boolean mask), and a QC table (path, status, detail) of the others, which are left out)."""
    mode = "L" if channels == 1 else "RGB"
    ok = np.zeros(len(paths), dtype=bool)
    bad = []
    out = np.empty((len(paths), size, size, channels), dtype=np.uint8)
    for i, path in enumerate(paths):
        loaded = load_rgb(path, max_side=max(4 * size, 256))
        if loaded.status != OK or loaded.image is None:
            bad.append({"path": path, "status": loaded.status, "detail": loaded.detail})
            continue
        image = loaded.image.convert(mode)
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        out[int(ok.sum())] = np.asarray(image, dtype=np.uint8).reshape(size, size, channels)
        ok[i] = True
    images = torch.from_numpy(out[: int(ok.sum())]).permute(0, 3, 1, 2).contiguous()
    return images, ok, pd.DataFrame(bad, columns=["path", "status", "detail"])
