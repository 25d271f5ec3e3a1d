"""Detection and alignment with the real MTCNN, on rendered faces and every bad input."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_inputs import BAD_INPUTS
from PIL import Image

from devfer.faces.align import template
from devfer.faces.detect import Detector, align_rows, gather, shard_rows
from devfer.faces.settings import FacesSettings
from devfer.simulate import Pose, render_face, sample_identity

pytestmark = pytest.mark.slow
FACES = FacesSettings(size=64, margin=0.15, batch_size=8, device="cpu")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(FACES.detect_size, FACES.min_prob, FACES.min_face_size, "cpu")


@pytest.fixture(scope="module")
def face():
    rng = np.random.default_rng(11)
    return render_face(30.0, "happy", sample_identity(rng), rng, size=128, pose=Pose())


def manifest_for(paths: list[Path], boxes: dict[str, tuple] | None = None) -> pd.DataFrame:
    rows = []
    for p in paths:
        box = (boxes or {}).get(p.name, (None,) * 4)
        rows.append(
            {"image_id": f"t/{p.name}", "path": str(p), "box_x": box[0], "box_y": box[1],
             "box_w": box[2], "box_h": box[3]}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_detects_rendered_face_at_its_true_landmarks(detector, face) -> None:
    (found,) = detector.detect([face.image])
    assert found is not None and found.prob > 0.9
    error = np.linalg.norm(found.landmarks - face.landmarks, axis=1)
    assert error.max() < 0.06 * face.image.size[0]


def test_letterbox_keeps_coordinates(detector, face) -> None:
    # The same face in a wide canvas, off centre: landmarks come back in that canvas's pixels.
    canvas = Image.new("RGB", (400, 200), (90, 90, 90))
    canvas.paste(face.image, (250, 40))
    (found,) = detector.detect([canvas])
    error = np.linalg.norm(found.landmarks - (face.landmarks + np.array([250, 40])), axis=1)
    assert error.max() < 8


def test_aligned_crop_puts_landmarks_on_template(detector, face, tmp_path) -> None:
    face.image.save(tmp_path / "face.png")
    table, crops = align_rows(manifest_for([tmp_path / "face.png"]), FACES, detector, False)
    assert table["status"].tolist() == ["ok"] and crops.shape == (1, 64, 64, 3)
    # Detect again inside the crop: the landmarks sit on the template.
    crop = Image.fromarray(crops[0]).resize((128, 128), Image.Resampling.BICUBIC)
    (again,) = detector.detect([crop])
    error = np.linalg.norm(again.landmarks / 2 - template(64, FACES.margin), axis=1)
    assert error.mean() < 2.5


def test_every_bad_input_is_aligned_or_recorded(detector, face, tmp_path) -> None:
    paths = []
    for writer, filename, _ in BAD_INPUTS.values():
        writer(tmp_path / filename, face.image)
        paths.append(tmp_path / filename)
    paths.append(tmp_path / "missing.jpg")
    table, crops = align_rows(manifest_for(paths), FACES, detector, False)
    got = dict(zip(table["image_id"].str.removeprefix("t/"), table["status"], strict=True))
    want = {filename: status for _, filename, status in BAD_INPUTS.values()}
    assert got == {**want, "missing.jpg": "missing"}
    ok = table[table["status"] == "ok"]
    assert (ok["align_method"] == "landmarks").all()  # the face is found in every readable one
    assert len(crops) == len(ok)
    assert sorted(ok["crop_index"]) == list(range(len(ok)))
    bad = table[table["status"] != "ok"]
    assert (bad["crop_index"] == -1).all() and (bad["detail"] != "").all()
    # Landmarks are reported in the file's own pixels, also for the 10000 px image.
    huge = table.set_index("image_id").loc["t/huge.jpg"]
    assert huge["width"] == 10000 and 4000 < huge["nose_x"] < 6000
    # The EXIF-rotated file gives the same upright crop as the plain one.
    rot = crops[table.set_index("image_id").loc["t/rotated.jpg", "crop_index"]]
    ref = crops[table.set_index("image_id").loc["t/cmyk.jpg", "crop_index"]]
    assert np.abs(rot.astype(float) - ref.astype(float)).mean() < 20


@pytest.mark.parametrize(
    ("policy", "box", "status", "method"),
    [
        ("skip", None, "no_face", "none"),
        ("center_crop", None, "ok", "center_crop"),
        ("dataset_box", (10, 20, 40, 40), "ok", "dataset_box"),
        ("dataset_box", None, "no_face", "none"),
    ],
)
def test_no_face_policy(detector, tmp_path, policy, box, status, method) -> None:
    Image.new("RGB", (120, 100), (80, 140, 90)).save(tmp_path / "wall.png")
    rows = manifest_for([tmp_path / "wall.png"], {"wall.png": box} if box else None)
    table, crops = align_rows(rows, replace(FACES, no_face=policy), detector, False)
    assert table["status"].item() == status and table["align_method"].item() == method
    assert len(crops) == (1 if status == "ok" else 0)
    if method == "dataset_box":
        assert table["box_x2"].item() == 50


def test_shards_gather_to_the_unsharded_result(detector, face, tmp_path) -> None:
    paths = []
    for k in range(5):
        p = tmp_path / f"{k}.png"
        (face.image if k != 2 else Image.new("RGB", (128, 128))).save(p)
        paths.append(p)
    manifest = manifest_for(paths)
    whole, whole_crops = align_rows(manifest, FACES, detector, False)
    tables, stores = [], []
    for k in range(3):
        t, c = align_rows(shard_rows(manifest, k, 3), FACES, detector, False)
        t.to_parquet(tmp_path / f"s{k}.parquet")
        np.save(tmp_path / f"s{k}.npy", c)
        tables.append(tmp_path / f"s{k}.parquet")
        stores.append(tmp_path / f"s{k}.npy")
    gathered = gather(tables, stores, tmp_path / "all.npy")
    pd.testing.assert_frame_equal(gathered, whole)
    np.testing.assert_array_equal(np.load(tmp_path / "all.npy"), whole_crops)


def test_channels_last_pools_detect_exactly_what_stock_mtcnn_does(detector, tmp_path) -> None:
    # The study's MTCNN runs RNet's and ONet's max pools on channels-last copies (faster);
    # on faces of every age and expression the table and crops equal stock MTCNN's bit for bit.
    from facenet_pytorch import MTCNN

    from devfer.faces.mtcnn import _ChannelsLastMaxPool

    pools = [m for m in detector.mtcnn.modules() if isinstance(m, _ChannelsLastMaxPool)]
    assert len(pools) == 5  # RNet's two and ONet's three; PNet's stays as it is
    rng = np.random.default_rng(5)
    paths = []
    for k, expression in enumerate(["happy", "sad", "surprise", "angry", "neutral", "fear"]):
        rendered = render_face(float(rng.uniform(0, 70)), expression, sample_identity(rng), rng)
        rendered.image.save(tmp_path / f"{k}.jpg", quality=92)
        paths.append(tmp_path / f"{k}.jpg")
    stock = Detector(FACES.detect_size, FACES.min_prob, FACES.min_face_size, "cpu")
    stock.mtcnn = MTCNN(keep_all=True, min_face_size=FACES.min_face_size, device="cpu")
    ours, our_crops = align_rows(manifest_for(paths), FACES, detector, False)
    theirs, their_crops = align_rows(manifest_for(paths), FACES, stock, False)
    assert (ours["align_method"] == "landmarks").all()
    pd.testing.assert_frame_equal(ours, theirs)
    np.testing.assert_array_equal(our_crops, their_crops)
