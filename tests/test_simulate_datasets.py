"""The simulated datasets as a user meets them: files in the real layouts, and an answer key
that matches them. Tiny datasets (48 px, a few subjects) keep this to a few seconds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from devfer import CLASSES
from devfer.simulate import (
    SimulatedDataset,
    SimulationSettings,
    expression_weight,
    simulate_dataset,
)
from devfer.simulate.datasets import AFFECTNET_CODE, TIF_FOLDERS, UNUSABLE_CODES, plan_images

SETTINGS = SimulationSettings(image_size=48)
DATASETS = {
    "tif": SimulatedDataset(format="tif", n_subjects=3, images_per_subject=3, age=(0.0, 3.0)),
    "affectnet": SimulatedDataset(
        format="affectnet",
        n_subjects=4,
        images_per_subject=2,
        age=(18.0, 70.0),
        unusable_share=0.25,
        validation_share=0.25,
    ),
    "utkface": SimulatedDataset(format="utkface", n_subjects=6, child_share=0.5),
}
MARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
KEY_COLUMNS = [
    "image_id", "subject_id", "subject", "image_index", "age", "expression", "intensity",
    "render_seed", "valence_true", "arousal_true", "w", "adult_share", "shape_age", "sex",
    "skin_tone",
    *(f"{m}_{xy}" for m in MARKS for xy in "xy"),
]  # fmt: skip
AFFECTNET_COLUMNS = [
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
]  # fmt: skip


def write(tmp_path: Path, name: str, seed: int = 0) -> tuple[Path, pd.DataFrame]:
    """Write dataset `name` under tmp_path/<seed>/<name>, as the workflow lays it out."""
    out = tmp_path / str(seed) / name
    return out, simulate_dataset(
        name, dataset=DATASETS[name], settings=SETTINGS, seed=seed, out_dir=out
    )


def images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.jpg") if p.is_file())


def file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", list(DATASETS))
def test_answer_key_matches_the_files(tmp_path: Path, name: str) -> None:
    ds = DATASETS[name]
    out, key = write(tmp_path, name)
    n = ds.n_subjects * ds.images_per_subject
    assert list(key.columns) == KEY_COLUMNS
    assert len(key) == n and key["image_id"].is_unique
    # Every id is <name>/<path inside the dataset folder>, and that file exists.
    assert key["image_id"].str.startswith(f"{name}/").all()
    assert all((out.parent / image_id).is_file() for image_id in key["image_id"])
    assert key["subject_id"].str.startswith(f"{name}:").all()
    assert key.groupby("subject").size().eq(ds.images_per_subject).all()
    assert set(key["expression"]) <= set(CLASSES)
    lo, hi = ds.age
    assert key["age"].between(lo, hi).all()
    np.testing.assert_array_equal(
        key["w"], expression_weight(key["age"].to_numpy(), SETTINGS.midpoint, SETTINGS.steepness)
    )
    marks = key[[f"{m}_{xy}" for m in MARKS for xy in "xy"]].to_numpy()
    assert ((marks > 0) & (marks < SETTINGS.image_size)).all()


def test_tif_layout(tmp_path: Path) -> None:
    ds = DATASETS["tif"]
    out, key = write(tmp_path, "tif")
    files = images(out)
    assert len(files) == ds.n_subjects * ds.images_per_subject
    for row in key.itertuples():
        folder, file = row.image_id.split("/")[1:]
        # One folder per expression, named as the TIF-like set names it.
        assert folder == TIF_FOLDERS[row.expression]
        subject = row.subject_id.split(":")[1]
        assert re.fullmatch(rf"{subject}_{row.image_index + 1}\.jpg", file)
        assert re.fullmatch(r"inf\d{4}", subject)


def test_affectnet_layout(tmp_path: Path) -> None:
    ds = DATASETS["affectnet"]
    out, key = write(tmp_path, "affectnet")
    n = ds.n_subjects * ds.images_per_subject
    n_bad = round(ds.unusable_share * n)  # extra rows coded unusable, each with its own image
    assert len(images(out)) == n + n_bad
    train = pd.read_csv(out / "training.csv")
    val = pd.read_csv(out / "validation.csv")
    assert list(train.columns) == list(val.columns) == AFFECTNET_COLUMNS
    rows = pd.concat([train, val], ignore_index=True)
    assert rows["expression"].between(0, 10).all()
    assert all(
        (out / "Manually_Annotated_Images" / p).is_file() for p in rows["subDirectory_filePath"]
    )
    bad = rows[rows["expression"].isin(UNUSABLE_CODES)]
    assert len(bad) == n_bad and bad["subDirectory_filePath"].str.startswith("unusable/").all()
    assert (bad[["valence", "arousal"]] == -2).all().all()
    # The usable rows are the answer key's images, with its expressions as AffectNet codes.
    good = rows.drop(bad.index)
    good_ids = "affectnet/Manually_Annotated_Images/" + good["subDirectory_filePath"]
    codes = dict(zip(good_ids, good["expression"], strict=True))
    assert sorted(codes) == sorted(key["image_id"])
    for row in key.itertuples():
        assert codes[row.image_id] == AFFECTNET_CODE[row.expression]
    assert good[["valence", "arousal"]].abs().le(1).all().all()
    # Annotations are the displayed position plus noise of SD 0.1 (the default), rounded.
    va = dict(zip(good_ids, zip(good["valence"], good["arousal"], strict=True), strict=True))
    noise = np.array(
        [np.subtract(va[r.image_id], (r.valence_true, r.arousal_true)) for r in key.itertuples()]
    )
    assert np.abs(noise).max() < 0.5 and 0.05 < noise.std() < 0.15
    # Validation holds whole subjects, round(share x subjects) of them.
    subject = good["subDirectory_filePath"].str.split("/").str[0]
    val_subjects = set(subject[good.index >= len(train)])
    assert len(val_subjects) == round(ds.validation_share * ds.n_subjects)
    assert not val_subjects & set(subject[good.index < len(train)])


def test_utkface_layout(tmp_path: Path) -> None:
    ds = DATASETS["utkface"]
    out, key = write(tmp_path, "utkface")
    assert len(images(out)) == ds.n_subjects * ds.images_per_subject
    for row in key.itertuples():
        name = row.image_id.split("/", 1)[1]
        match = re.fullmatch(r"(\d+)_([01])_([0-4])_2017\d{13}\.jpg\.chip\.jpg", name)
        assert match, name
        # The writer truncates the true age to whole years, as UTKFace labels are.
        assert int(match[1]) == int(row.age)
        assert int(match[2]) == (0 if row.sex == "male" else 1)


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, name: str) -> None:
    a_dir, a = write(tmp_path / "a", name, seed=3)
    b_dir, b = write(tmp_path / "b", name, seed=3)
    c_dir, c = write(tmp_path / "c", name, seed=4)
    first, again, other = (file_bytes(d) for d in (a_dir, b_dir, c_dir))
    pd.testing.assert_frame_equal(a, b)
    assert first == again
    assert not a["age"].equals(c["age"])
    # No image of the other seed equals the one at the same path (where the paths coincide).
    assert all(other.get(path) != data for path, data in first.items() if path.endswith(".jpg"))


def test_unknown_format_is_refused_before_rendering(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="affectnet"):
        simulate_dataset(
            "x",
            dataset=SimulatedDataset(format="ckplus", n_subjects=1),
            settings=SETTINGS,
            seed=0,
            out_dir=tmp_path / "x",
        )
    assert not (tmp_path / "x").exists()


def test_child_share_fills_childhood() -> None:
    plain = SimulatedDataset(format="utkface", n_subjects=400)
    children = SimulatedDataset(format="utkface", n_subjects=400, child_share=0.5)
    share = [
        (plan_images("u", ds, SETTINGS, seed=0)["age"] < 18).mean() for ds in (plain, children)
    ]
    # Uniform on [0, 70]: 18/70 under 18; half redrawn from [0, 18): 0.5 + 0.5 x 18/70.
    assert share[0] == pytest.approx(18 / 70, abs=0.06)
    assert share[1] == pytest.approx(0.5 + 0.5 * 18 / 70, abs=0.06)
