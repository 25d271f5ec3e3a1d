"""Face shape vs expression in the simulation: each development switchable, and paired control
renderings that differ from the originals only where they should (issue 12)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from devfer.simulate import SimulatedDataset, SimulationSettings, simulate_dataset
from devfer.simulate.controls import render_controls
from devfer.simulate.identity import Pose, sample_identity
from devfer.simulate.render import render_face
from devfer.simulate.settings import control_settings
from devfer.simulate.truth import truth_curve

POSE = Pose()


def _render(age: float, similarity: float = 0.3, shape_age: float | None = None, seed: int = 3):
    identity = sample_identity(np.random.default_rng(11))
    return render_face(
        age,
        "happy",
        identity,
        np.random.default_rng(seed),
        size=64,
        pose=POSE,
        infant_similarity=similarity,
        shape_age=shape_age,
    )


def _pixels(render) -> np.ndarray:
    return np.asarray(render.image, dtype=float)


def test_expression_off_changes_only_the_expression_of_a_child() -> None:
    on, off = _render(2.0), _render(2.0, similarity=1.0)
    assert np.abs(on.au - off.au).max() > 0.2  # the infant cry/smile vs the adult prototype
    # Same person, proportions, pose and noise: the eyes sit where they sat.
    assert np.allclose(on.landmarks[:2], off.landmarks[:2], atol=0.5)
    assert np.abs(_pixels(on) - _pixels(off)).mean() > 0.5


def test_expression_off_changes_almost_nothing_for_an_adult() -> None:
    # w(40) = 1 - 1e-10: the display is already the adult prototype.
    on, off = _render(40.0), _render(40.0, similarity=1.0)
    assert np.abs(on.au - off.au).max() < 1e-6
    assert np.abs(_pixels(on) - _pixels(off)).max() <= 1.0


def test_shape_off_gives_every_age_the_same_face() -> None:
    # Without either development, a 2-year-old and a 30-year-old render identically.
    young = _render(2.0, similarity=1.0, shape_age=25.0)
    old = _render(30.0, similarity=1.0, shape_age=25.0)
    assert np.array_equal(_pixels(young), _pixels(old))
    assert np.array_equal(young.landmarks, old.landmarks)
    # With shape development on they differ.
    assert not np.array_equal(_pixels(_render(2.0, 1.0)), _pixels(_render(30.0, 1.0)))


def test_without_expression_development_there_is_no_transition() -> None:
    curve = truth_curve(10.0, 0.8, 0.3, expression_development=False)
    assert (curve["adult_share"] == 1.0).all()
    assert math.isnan(curve["transition_age"].iloc[0])
    assert truth_curve(10.0, 0.8, 0.3)["transition_age"].iloc[0] == pytest.approx(8.8546, 1e-4)


def test_control_settings_switch_one_development_and_refuse_unknown_names() -> None:
    base = SimulationSettings()
    assert control_settings(base, "expression_off").displayed_similarity == 1.0
    assert control_settings(base, "shape_off").drawn_shape_age == base.shape_age
    assert base.drawn_shape_age is None and base.displayed_similarity == 0.3
    with pytest.raises(ValueError, match="expression_off, shape_off"):
        control_settings(base, "pose_off")


DATASET = SimulatedDataset(format="affectnet", n_subjects=4, images_per_subject=2, age=(0, 30))


def _simulate(tmp_path: Path, settings: SimulationSettings) -> tuple[Path, pd.DataFrame]:
    out = tmp_path / "sim"
    return out, simulate_dataset("sim", DATASET, settings, seed=5, out_dir=out)


def _manifest(key: pd.DataFrame, root: Path) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_id": key["image_id"],
            "path": [str(root / i.removeprefix("sim/")) for i in key["image_id"]],
            "subject_id": key["subject_id"],
        }
    )


def test_a_control_of_what_is_already_off_reproduces_the_dataset(tmp_path: Path) -> None:
    settings = SimulationSettings(image_size=48, expression_development=False)
    root, key = _simulate(tmp_path, settings)
    ids = key["image_id"].iloc[::2].tolist()
    table = render_controls(
        name="sim",
        control="expression_off",
        settings=settings,
        seed=5,
        answer_key=key,
        manifest=_manifest(key, root),
        image_ids=ids,
        out_dir=tmp_path / "control",
    )
    assert sorted(table["image_id"]) == sorted(ids)
    for image_id, path in zip(table["image_id"], table["path"], strict=True):
        original = root / image_id.removeprefix("sim/")
        assert Path(path).read_bytes() == original.read_bytes()


def test_a_control_keeps_the_people_and_changes_the_faces(tmp_path: Path) -> None:
    settings = SimulationSettings(image_size=48)
    root, key = _simulate(tmp_path, settings)
    children = key[key["age"] < 6]["image_id"].tolist()
    assert children, "the plan should hold a young child"
    table = render_controls(
        name="sim",
        control="expression_off",
        settings=settings,
        seed=5,
        answer_key=key,
        manifest=_manifest(key, root),
        image_ids=children,
        out_dir=tmp_path / "control",
    )
    for image_id, path in zip(table["image_id"], table["path"], strict=True):
        original = np.asarray(Image.open(root / image_id.removeprefix("sim/")), float)
        control = np.asarray(Image.open(path), float)
        # Same background, light and person: most pixels agree, the face does not.
        assert np.median(np.abs(original - control)) < 3
        assert np.abs(original - control).max() > 20


def test_a_control_of_an_image_not_in_the_answer_key_is_refused(tmp_path: Path) -> None:
    settings = replace(SimulationSettings(), image_size=48)
    root, key = _simulate(tmp_path, settings)
    with pytest.raises(ValueError, match="re-run the simulate rule"):
        render_controls(
            name="sim",
            control="shape_off",
            settings=settings,
            seed=5,
            answer_key=key,
            manifest=_manifest(key, root),
            image_ids=["sim/missing.jpg"],
            out_dir=tmp_path / "control",
        )


def test_only_faces_no_model_trains_on_are_drawn_again(tmp_path: Path) -> None:
    from devfer.layout import DatasetFiles, TrainingData
    from devfer.simulate.stage import simulate_control

    settings = SimulationSettings(image_size=48)
    root, key = _simulate(tmp_path, settings)
    manifest = _manifest(key, root)
    # Subject 0 trains, subject 1 validates, subjects 2 and 3 are test subjects; one test
    # image has no label and one has no face: 8 images, 4 per split pair, 2 left to draw.
    subjects = sorted(manifest["subject_id"].unique())
    split = {subjects[0]: "train", subjects[1]: "val", subjects[2]: "test", subjects[3]: "test"}
    manifest["split"] = manifest["subject_id"].map(split)
    manifest["label"] = "happy"
    test_ids = manifest.loc[manifest["split"] == "test", "image_id"].tolist()
    manifest.loc[manifest["image_id"] == test_ids[0], "label"] = None
    faces = pd.DataFrame(
        {
            "image_id": manifest["image_id"],
            "status": ["no_face" if i == test_ids[1] else "ok" for i in manifest["image_id"]],
            "align_method": "landmarks",
            "crop_index": range(len(manifest)),
        }
    )
    files = DatasetFiles(
        faces=str(tmp_path / "faces.parquet"),
        manifest=str(tmp_path / "manifest.parquet"),
        store=str(tmp_path / "faces.npy"),
    )
    faces.to_parquet(files.faces)
    manifest.to_parquet(files.manifest)
    np.save(files.store, np.zeros((len(faces), 8, 8, 3), np.uint8))
    key.to_parquet(tmp_path / "key.parquet")
    out = tmp_path / "control" / "manifest.parquet"
    simulate_control(
        name="sim",
        control="shape_off",
        settings=settings,
        seed=5,
        answer_key=str(tmp_path / "key.parquet"),
        faces=files,
        training=[TrainingData(files)],
        out_dir=tmp_path / "control" / "images",
        out_manifest=out,
    )
    drawn = pd.read_parquet(out)
    assert sorted(drawn["image_id"]) == sorted(test_ids[2:])
    assert all(Path(p).exists() for p in drawn["path"])
