"""Trained models on new faces: bundles, `devfer predict` and `devfer live`, on generated
pictures and videos (faces rendered by the simulation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from devfer import CLASSES
from devfer.predict.bundle import BundleError, export_age, export_expression, load_bundle
from devfer.predict.classify import Classifier
from devfer.predict.faces import FaceFinder
from devfer.predict.live import LiveError, Smoother, Tracker, open_source, run_live
from devfer.predict.run import predict_files
from devfer.simulate.scenes import Actor, group_photo, write_video
from devfer.train.expression import ExpressionNet

GROUPS = [{"name": "child", "min": 0, "max": 18}, {"name": "adult", "min": 18, "max": None}]


def _checkpoint(tmp_path: Path, affect: bool = False) -> Path:
    """An expression checkpoint as the train stage writes it (random weights)."""
    torch.manual_seed(0)
    model = ExpressionNet("resnet10t", len(CLASSES), 0.5, affect=affect)
    path = tmp_path / "model.pt"
    torch.save(
        {"state_dict": model.state_dict(), "architecture": "resnet10t", "dropout": 0.5,
         "classes": list(CLASSES), "valence_arousal": affect, "train_images": [],
         "val_images": [], "settings": {"seed": 1, "model": {"scale": (0.85, 1.0)}}},
        path,
    )  # fmt: skip
    return path


def _age_checkpoint(tmp_path: Path) -> Path:
    from devfer.ages.estimator import AgeHead
    from devfer.backbones import create_backbone

    torch.manual_seed(0)
    head = AgeHead("dex", 80)
    net = create_backbone("resnet10t", head.n_outputs, "none")
    path = tmp_path / "age.pt"
    torch.save({"model": "resnet10t", "head": "dex", "max_age": 80, "val_mae": 2.0,
                "state_dict": net.state_dict(), "settings": {}}, path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("bundles")
    common = {"face_size": 64, "margin": 0.15, "groups": GROUPS}
    expression = export_expression(_checkpoint(tmp, affect=True), tmp / "adult", **common)
    age = export_age(_age_checkpoint(tmp), tmp / "age", **common)
    return expression, age


def test_a_bundle_predicts_what_the_checkpoint_predicts(tmp_path: Path) -> None:
    from devfer.evaluate.predictions import model_outputs

    checkpoint = _checkpoint(tmp_path, affect=True)
    saved = torch.load(checkpoint, weights_only=False)
    original = ExpressionNet("resnet10t", len(CLASSES), 0.5, affect=True)
    original.load_state_dict(saved["state_dict"])
    out = export_expression(checkpoint, tmp_path / "b", face_size=64, margin=0.15, groups=GROUPS)
    bundle = load_bundle(out)
    card = json.loads((out / "card.json").read_text())
    assert card["classes"] == list(CLASSES) and card["heads"]["valence_arousal"]
    assert card["input"]["size"] == 64 and card["face_crop"]["margin"] == 0.15
    assert card["settings"]["model"]["scale"] == [0.85, 1.0] and "torch" in card["versions"]
    crops = torch.randint(0, 256, (5, 3, 64, 64), dtype=torch.uint8)
    p0, va0 = model_outputs(original, crops)
    p1, va1 = model_outputs(bundle.model, crops)
    assert np.array_equal(p0, p1) and np.array_equal(va0, va1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "card.json").unlink(), "is not a devfer model bundle: it has no card.json"),
        (lambda d: _edit(d, format="onnx"), "is not a devfer bundle card"),
        (lambda d: _edit(d, version=99), "is bundle version 99; this devfer reads version 1"),
        (lambda d: (d / "model.safetensors").unlink(), "has a card but no model.safetensors"),
        (lambda d: _edit(d, architecture="resnet18"), "the weights do not fit the card's resnet18"),
    ],
)
def test_an_unusable_bundle_is_a_clear_error(tmp_path: Path, change, message: str) -> None:
    out = export_expression(
        _checkpoint(tmp_path), tmp_path / "b", face_size=64, margin=0.15, groups=GROUPS
    )
    change(out)
    with pytest.raises(BundleError, match=message):
        load_bundle(out)


def _edit(folder: Path, **values) -> None:
    card = json.loads((folder / "card.json").read_text())
    card.update(values)
    (folder / "card.json").write_text(json.dumps(card))


def _tools(bundles: tuple[Path, Path], age: bool = True) -> tuple[Classifier, FaceFinder]:
    expression = load_bundle(bundles[0])
    classifier = Classifier(expression, load_bundle(bundles[1]) if age else None)
    return classifier, FaceFinder(64, 0.15, min_prob=0.9, min_face_size=20)


def test_predict_finds_every_face_of_a_group_photo_at_its_own_resolution(
    tmp_path: Path, bundles: tuple[Path, Path]
) -> None:
    # Six faces of about 80-120 px in a 1280 x 886 picture: the study's detection size
    # (128 px letterbox) would shrink them below MTCNN's reach.
    photo, tiles = group_photo(6, seed=1)
    photo.save(tmp_path / "group.jpg", quality=92)
    (tmp_path / "empty.png").write_bytes(b"")  # unreadable
    Image.new("RGB", (300, 200), (120, 120, 120)).save(tmp_path / "wall.png")  # no face
    (tmp_path / "notes.txt").write_text("not a picture")
    classifier, finder = _tools(bundles)
    table, summary = predict_files(
        [tmp_path / "group.jpg", tmp_path / "empty.png", tmp_path / "wall.png",
         tmp_path / "notes.txt"], classifier, finder, annotate=tmp_path / "annotated",
    )  # fmt: skip
    assert len(table) == 6 and table["face"].tolist() == list(range(6))
    assert summary.images == 2 and summary.without_face == 1 and summary.faces == 6
    assert len(summary.unreadable) == 1 and "empty.png" in summary.unreadable[0]
    assert summary.skipped == [str(tmp_path / "notes.txt")]
    # Every box lies inside one tile, each tile holds one box (original pixels).
    for x0, y0, x1, y1 in tiles:
        inside = table[(table["x0"] >= x0) & (table["x1"] <= x1) & (table["y0"] >= y0)
                       & (table["y1"] <= y1)]  # fmt: skip
        assert len(inside) == 1
    probs = table[[f"prob_{c}" for c in CLASSES]].sum(axis=1)
    assert np.allclose(probs, 1.0, atol=1e-5)
    assert table["emotion"].isin(CLASSES).all() and table["frame"].isna().all()
    assert table["age_group"].isin(["child", "adult"]).all()
    assert table["valence"].between(-1, 1).all() and "arousal" in table
    assert (tmp_path / "annotated" / "group.png").is_file()


def test_predict_reads_folders_and_videos(tmp_path: Path, bundles: tuple[Path, Path]) -> None:
    actor = Actor(expressions=[(0, "happy")], start=(200, 120), side=220, enter=2, seed=3)
    write_video(tmp_path / "in" / "clip.avi", [actor], frames=6, fps=10)
    classifier, finder = _tools(bundles, age=False)
    table, summary = predict_files([tmp_path / "in"], classifier, finder, annotate=tmp_path / "a")
    assert summary.video_frames == 6 and summary.without_face == 2
    assert table["frame"].tolist() == [2, 3, 4, 5]
    assert table["time_s"].tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5])
    assert "age" not in table and (tmp_path / "a" / "clip.avi").is_file()


def test_tracks_keep_their_ids_and_new_faces_get_new_ones() -> None:
    tracker = Tracker(min_iou=0.3, max_missing=2)
    a, b = np.array([0, 0, 100, 100.0]), np.array([300, 0, 400, 100.0])
    assert tracker.update([a], 0) == [0]
    assert tracker.update([b, a + 10], 1) == [1, 0]  # b is new; a moved 10 px
    assert tracker.update([a + 20], 2) == [0]
    assert tracker.update([], 5) == []  # both unseen for more than 2 frames: ended
    assert tracker.update([a + 20], 6) == [2]


def test_the_smoothed_label_changes_within_the_window() -> None:
    # 25 frames per second, a 1 s window: the raw label turns from happy to sad at frame 30;
    # the majority of the last second turns once sad frames outnumber happy ones (frame 42).
    smooth = Smoother(window_s=1.0)
    labels = [smooth(0, f / 25, "happy" if f < 30 else "sad") for f in range(60)]
    assert labels[:30] == ["happy"] * 30
    assert labels.index("sad") == 42 and set(labels[42:]) == {"sad"}


class _SwitchingClassifier:
    """A classifier whose answer changes at a known call (frame): happy, then sad."""

    def __init__(self, switch: int) -> None:
        self.calls, self.switch = 0, switch
        self.classes = list(CLASSES)

    def __call__(self, crops, with_age=None):
        label = "happy" if self.calls < self.switch else "sad"
        self.calls += 1
        return [{"emotion": label, **{f"prob_{c}": float(c == label) for c in CLASSES}}
                for _ in crops]  # fmt: skip


def test_live_tracks_smooths_and_writes_its_run_folder(tmp_path: Path) -> None:
    # A face moving 3 px a frame, and a second that enters at frame 5 and leaves at frame 15.
    a = Actor(expressions=[(0, "happy")], start=(20, 140), velocity=(3, 0), side=180, seed=1)
    b = Actor(expressions=[(0, "neutral")], start=(420, 120), side=180, enter=5, leave=15,
              seed=2)  # fmt: skip
    video = write_video(tmp_path / "two.avi", [a, b], frames=30, fps=10)
    finder = FaceFinder(64, 0.15, min_prob=0.9, min_face_size=40)
    summary = run_live(str(video), _SwitchingClassifier(10), finder, tmp_path / "run", window_s=1.0)
    timeline = pd.read_parquet(tmp_path / "run" / "timeline.parquet")
    spans = timeline.groupby("track")["frame"].agg(["min", "max", "size"])
    assert spans.to_numpy().tolist() == [[0, 29, 30], [5, 14, 10]]  # ids kept while moving
    first = timeline[timeline["track"] == 0].set_index("frame")
    assert (first.loc[:9, "raw_label"] == "happy").all() and first.loc[10, "raw_label"] == "sad"
    # 10 frames a second, window 1 s: sad outnumbers happy from frame 15 on.
    assert (first.loc[:14, "label"] == "happy").all() and (first.loc[15:, "label"] == "sad").all()
    assert summary["frames"] == 30 and summary["tracks"] == 2
    assert set(summary["ms_per_frame"]) == {"decode", "detect", "align", "classify", "draw",
                                            "encode"}  # fmt: skip
    for name in ("annotated.avi", "emotion_over_time.png", "emotion_share.png", "summary.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0


def test_a_camera_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    import cv2

    probe = cv2.VideoCapture(0)
    if probe.isOpened():  # a machine with a camera: nothing to test here
        probe.release()
        pytest.skip("a camera is present")
    with pytest.raises(LiveError, match="camera 0 cannot be opened: no camera device"):
        open_source("0")
    with pytest.raises(LiveError, match="no such video file"):
        open_source(str(tmp_path / "missing.mp4"))


def test_the_predict_command_reports_and_skips(tmp_path: Path, bundles, capsys) -> None:
    from devfer.cli import main

    photo, _ = group_photo(2, size=(500, 300), tile=(170, 200), seed=2)
    photo.save(tmp_path / "two.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "p.parquet"
    args = ["predict", str(tmp_path / "two.jpg"), str(tmp_path / "broken.jpg"), "-o", str(out),
            "--model", str(bundles[0]), "--age-model", str(bundles[1])]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2 face(s) found" in printed and "unreadable, skipped" in printed
    assert len(pd.read_parquet(out)) == 2
    assert main(["predict", str(tmp_path / "nothing"), "-o", str(out), "--model",
                 str(bundles[0])]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err


def test_the_predict_rule_writes_the_table_with_its_provenance(tmp_path: Path, bundles) -> None:
    from devfer.predict.run import predict_with_bundles
    from devfer.provenance import read_provenance

    photo, _ = group_photo(3, size=(640, 300), tile=(170, 200), seed=4)
    (tmp_path / "new").mkdir()
    photo.save(tmp_path / "new" / "three.png")
    settings = {"inputs": [str(tmp_path / "new")], "min_prob": None, "min_face_size": 20,
                "every": 1, "model": "adult", "annotate": False}  # fmt: skip
    out = tmp_path / "predictions.parquet"
    predict_with_bundles(inputs=settings["inputs"], model=str(bundles[0]),
                         age_model=str(bundles[1]), settings=settings, annotate=None,
                         out=str(out))  # fmt: skip
    table = pd.read_parquet(out)
    assert len(table) == 3 and table["source"].str.endswith("three.png").all()
    assert read_provenance(out)["stage"] == "predict"


def test_predict_aligns_a_study_image_exactly_as_the_study_does(tmp_path: Path, bundles) -> None:
    # A 128 px simulated face: the study detects on a 128 px square (scale 1) and keeps the
    # face; predict detects on the picture itself. Same landmarks, same crop, so the same
    # probabilities as the study's own predictions for that face.
    from devfer.data import crops_tensor
    from devfer.evaluate.predictions import model_outputs
    from devfer.faces.detect import align_rows
    from devfer.faces.settings import FacesSettings
    from devfer.simulate import render_face, sample_identity

    rng = np.random.default_rng(5)
    face = render_face(30.0, "happy", sample_identity(rng), rng, size=128)
    face.image.save(tmp_path / "face.jpg", quality=92)
    study = FacesSettings(size=64, detect_size=128, min_prob=0.9, min_face_size=20, margin=0.15)
    rows = pd.DataFrame({"image_id": ["x"], "path": [str(tmp_path / "face.jpg")]})
    table, store = align_rows(rows, study, progress=False)
    assert table["status"].iloc[0] == "ok"
    classifier, finder = _tools(bundles, age=False)
    table_p, _ = predict_files([tmp_path / "face.jpg"], classifier, finder)
    found = finder.find(Image.open(tmp_path / "face.jpg").convert("RGB"))
    assert len(found) == 1 and np.array_equal(found[0].crop, store[0])
    probs, _ = model_outputs(classifier.expression.model, crops_tensor(store, np.array([0])))
    assert table_p[[f"prob_{c}" for c in CLASSES]].to_numpy()[0] == pytest.approx(probs[0])


def test_live_detects_every_nth_frame_and_ages_each_face_once_a_window(
    tmp_path: Path, bundles
) -> None:
    actor = Actor(expressions=[(0, "happy")], start=(200, 120), velocity=(1, 0), side=200,
                  seed=4)  # fmt: skip
    video = write_video(tmp_path / "one.avi", [actor], frames=20, fps=10)
    classifier, finder = _tools(bundles)
    calls = {"detect": 0, "ages": 0}
    detect, ages = finder.detect, classifier.ages

    def counted(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)

        return wrapper

    finder.detect = counted("detect", detect)
    classifier.ages = counted("ages", ages)
    summary = run_live(str(video), classifier, finder, tmp_path / "run", detect_every=4)
    timeline = pd.read_parquet(tmp_path / "run" / "timeline.parquet")
    # 20 frames: the detector on frames 0, 4, ..., 16; the age at 0 s and 1 s (window 1 s).
    assert calls == {"detect": 5, "ages": 2} and summary["detect_every"] == 4
    assert len(timeline) == 20 and timeline["age"].notna().all()
    assert timeline["track"].nunique() == 1
