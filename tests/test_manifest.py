from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_image

from devfer.config import settings, validate_config
from devfer.manifest.adapters import MANIFEST_COLUMNS, DatasetError, build_manifest
from devfer.manifest.labels import LabelMapper
from devfer.manifest.settings import DatasetSettings


def options(name: str, fmt: str, root: Path, **extra) -> DatasetSettings:
    dataset = {"format": fmt, "root": str(root), "age_source": 1.0, **extra}
    cfg = validate_config({"datasets": {name: dataset}})
    return settings.dataset(cfg, name)


def qc_counts(qc: pd.DataFrame) -> dict[str, int]:
    return dict(zip(qc["reason"], qc["n"], strict=True))


def test_label_mapper() -> None:
    mapper = LabelMapper({"contempt": "disgust", "weird": None})
    assert mapper.map("Anger") == ("angry", None)
    assert mapper.map(" happiness ") == ("happy", None)
    assert mapper.map("contempt") == ("disgust", None)  # the config overrides the default drop
    assert mapper.map("weird") == (None, "excluded_label:weird")
    assert mapper.map("pain") == (None, "unknown_label:pain")
    assert mapper.map(None) == (None, "missing_label")
    assert LabelMapper().map("contempt") == (None, "excluded_label:contempt")


def test_folder_per_class(tmp_path: Path) -> None:
    root = tmp_path / "tif"
    for folder, subjects in {"anger": ["a1", "a2"], "happiness": ["a1"], "pain": ["a3"]}.items():
        for s in subjects:
            write_image(root / folder / f"{s}_1.jpg")
    (root / "anger" / "notes.txt").write_text("not an image")
    opts = options("tif", "folder_per_class", root, subject_pattern=r"/(?P<subject>[^/_]+)_")
    manifest, qc = build_manifest(opts, seed=1)
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert sorted(manifest["label"]) == ["angry", "angry", "happy"]
    assert set(manifest["subject_id"]) == {"tif:a1", "tif:a2"}
    assert manifest.loc[manifest["label"] == "happy", "image_id"].item() == "tif/happiness/a1_1.jpg"
    assert qc_counts(qc) == {"not_an_image_extension": 1, "unknown_label:pain": 1}
    assert (qc["action"] == "dropped").all()


def test_folder_missing_root_names_the_setting(tmp_path: Path) -> None:
    opts = options("tif", "folder_per_class", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"does not exist\. Set datasets\.tif\.root"):
        build_manifest(opts, seed=1)


def affectnet_fixture(root: Path) -> None:
    header = (
        "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
        "expression,valence,arousal\n"
    )
    train = [
        ("1/a.jpg", 1, 0.5, 0.2),
        ("1/b.jpg", 6, -0.4, 0.6),
        ("2/c.jpg", 7, 0.1, 0.1),  # contempt
        ("2/d.jpg", 8, -2, -2),  # none
        ("3/e.jpg", 9, -2, -2),  # uncertain
        ("3/f.jpg", 10, -2, -2),  # no-face
        ("3/gone.jpg", 2, -0.7, -0.2),  # listed, not on disk
    ]
    test = [("4/g.jpg", 0, 0.0, 0.0), ("4/h.jpg", 3, 0.2, 0.8)]
    for name, rows in (("training.csv", train), ("validation.csv", test)):
        lines = [f"{p},10,12,30,32,1;2;3;4,{code},{v},{a}\n" for p, code, v, a in rows]
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(header + "".join(lines))
        for p, *_ in rows:
            if "gone" not in p:
                write_image(root / "Manually_Annotated_Images" / p)


def test_affectnet(tmp_path: Path) -> None:
    affectnet_fixture(tmp_path)
    manifest, qc = build_manifest(options("aff", "affectnet", tmp_path), seed=3)
    assert sorted(manifest["label"]) == ["angry", "happy", "neutral", "surprise"]
    assert qc_counts(qc) == {
        "excluded_label:contempt": 1,
        "excluded_label:none": 1,
        "excluded_label:uncertain": 1,
        "excluded_label:no-face": 1,
        "missing_file": 1,
    }
    row = manifest.set_index("image_id").loc["aff/Manually_Annotated_Images/1/a.jpg"]
    assert (row["box_x"], row["box_y"], row["box_w"], row["box_h"]) == (10, 12, 30, 32)
    assert row["valence"] == 0.5
    # validation.csv is AffectNet's held-out set: it stays test.
    test_ids = set(manifest.loc[manifest["split"] == "test", "image_id"])
    assert {
        "aff/Manually_Annotated_Images/4/g.jpg",
        "aff/Manually_Annotated_Images/4/h.jpg",
    } <= test_ids


def test_affectnet_missing_column_names_it(tmp_path: Path) -> None:
    affectnet_fixture(tmp_path)
    df = pd.read_csv(tmp_path / "training.csv").drop(columns=["valence"])
    df.to_csv(tmp_path / "training.csv", index=False)
    with pytest.raises(DatasetError, match=r"training\.csv lacks column\(s\) valence"):
        build_manifest(options("aff", "affectnet", tmp_path), seed=3)


def test_affectnet_na_valence_is_null(tmp_path: Path) -> None:
    affectnet_fixture(tmp_path)
    opts = options("aff", "affectnet", tmp_path, labels={"contempt": "disgust"})
    manifest, _ = build_manifest(opts, seed=3)
    contempt = manifest.set_index("image_id").loc["aff/Manually_Annotated_Images/2/c.jpg"]
    assert contempt["label"] == "disgust" and contempt["valence"] == 0.1


def test_utkface(tmp_path: Path) -> None:
    for name in ("25_0_2_20170116174525125.jpg.chip.jpg", "1_1_0_20161219140623097.jpg",
                 "61_1_20170109150557335.jpg", "README.md"):  # fmt: skip
        write_image(tmp_path / name) if name.endswith("jpg") else (tmp_path / name).write_text("")
    manifest, qc = build_manifest(options("utk", "utkface", tmp_path), seed=0)
    assert sorted(manifest["age_true"].tolist()) == [1.0, 25.0]
    assert manifest["label"].isna().all()
    assert qc_counts(qc) == {"bad_filename": 1, "not_an_image_extension": 1}


def test_fer2013(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    px = lambda: " ".join(map(str, rng.integers(0, 256, 48 * 48)))  # noqa: E731
    rows = [
        ("3", px(), "Training"),
        ("0", px(), "PublicTest"),
        ("6", px(), "PrivateTest"),
        ("9", px(), "Training"),  # no such code
        ("2", "1 2 3", "Training"),  # not a square image
    ]
    pd.DataFrame(rows, columns=["emotion", "pixels", "Usage"]).to_csv(
        tmp_path / "fer2013.csv", index=False
    )
    cache = tmp_path / "cache"
    manifest, qc = build_manifest(options("fer", "fer2013", tmp_path), seed=0, image_cache=cache)
    assert manifest["label"].tolist() == ["happy", "angry", "neutral"]
    assert manifest["split"].iloc[2] == "test"
    assert qc_counts(qc) == {"bad_pixels": 1, "unknown_label:9": 1}
    from PIL import Image

    with Image.open(manifest["path"].iloc[0]) as im:
        assert im.size == (48, 48) and im.mode == "L"


def test_generic_csv(tmp_path: Path) -> None:
    for p in ("x/1.png", "x/2.png", "y/3.png"):
        write_image(tmp_path / "imgs" / p)
    pd.DataFrame(
        {
            "file": ["x/1.png", "x/2.png", "y/3.png"],
            "emo": ["Happy", "sad", "bored"],
            "person": ["p1", "p1", "p2"],
            "years": [7, 7, 30],
        }
    ).to_csv(tmp_path / "labels.csv", index=False)
    opts = options(
        "lab", "csv", tmp_path, csv="labels.csv", image_dir="imgs",
        columns={"path": "file", "label": "emo", "subject_id": "person", "age": "years"},
    )  # fmt: skip
    manifest, qc = build_manifest(opts, seed=0)
    assert manifest["label"].tolist() == ["happy", "sad"]
    assert manifest["subject_id"].tolist() == ["lab:p1", "lab:p1"]
    assert manifest["age_true"].tolist() == [7.0, 7.0]
    assert qc_counts(qc) == {"unknown_label:bored": 1}


def test_generic_csv_missing_column(tmp_path: Path) -> None:
    pd.DataFrame({"file": ["a.png"]}).to_csv(tmp_path / "labels.csv", index=False)
    opts = options(
        "lab", "csv", tmp_path, csv="labels.csv", columns={"path": "file", "label": "emo"}
    )
    with pytest.raises(DatasetError, match="lacks column\\(s\\) emo"):
        build_manifest(opts, seed=0)
