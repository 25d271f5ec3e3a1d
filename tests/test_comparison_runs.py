"""The model zoo's runs (issue 14): the data a run reads, its folds, the grayscale stem, the
cost figures and the Pareto front, each against numbers derived by hand; the config that
drives it. The workflow target itself runs in test_workflow (slow)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from devfer import CLASSES
from devfer.ages.settings import GroupSpec
from devfer.backbones import create_backbone
from devfer.comparison.cost import count_flops
from devfer.comparison.data import comparison_table, load_images, run_split
from devfer.comparison.run import run_frame
from devfer.comparison.settings import parse_replicate, replicate_name
from devfer.config import ConfigError, settings
from devfer.config.validate import validate_config
from devfer.data import normalise
from devfer.figures.comparison import comparison_table as paper_table
from devfer.figures.comparison import pareto_front
from devfer.manifest.adapters import build_manifest
from devfer.simulate import SimulationSettings, simulate_dataset
from devfer.simulate.identity import SKIN_TONE_GROUPS

GROUPS = [
    GroupSpec("infant", 0, 2),
    GroupSpec("child", 2, 18),
    GroupSpec("adult", 18, None),
]


def fer_config(**comparison) -> dict:
    return validate_config(
        {
            "simulation": {
                "image_size": 64,
                "datasets": {
                    "fer": {"format": "fer2013", "n_subjects": 24, "images_per_subject": 3}
                },
            },
            "datasets": {"fer": {"format": "fer2013", "age_source": 25.0}},
            "comparison": {"dataset": "fer", **comparison},
        }
    )


@pytest.fixture(scope="module")
def fer(tmp_path_factory) -> tuple[Path, Path]:
    """A 72-image simulated FER-2013 set, its manifest and answer key."""
    tmp = tmp_path_factory.mktemp("fer")
    cfg = fer_config()
    key = simulate_dataset(
        "fer", settings.simulated_dataset(cfg, "fer"), SimulationSettings(image_size=64), 3,
        tmp / "fer",
    )  # fmt: skip
    key.to_parquet(tmp / "key.parquet")
    dataset = dataclasses.replace(settings.dataset(cfg, "fer"), root=str(tmp / "fer"))
    manifest, _ = build_manifest(dataset, seed=0, image_cache=tmp / "cache")
    manifest.to_parquet(tmp / "manifest.parquet")
    return tmp / "manifest.parquet", tmp / "key.parquet"


def test_the_answer_key_gives_fer_rows_their_subjects_and_attributes(fer) -> None:
    manifest, key = fer
    table = comparison_table(manifest, CLASSES, GROUPS, key)
    truth = pd.read_parquet(key).set_index("image_id").loc[table["image_id"]]
    assert len(table) == 72
    assert (table["subject_id"].to_numpy() == truth["subject_id"].to_numpy()).all()
    assert (table["sex"].to_numpy() == truth["sex"].to_numpy()).all()
    assert set(table["skin_tone"]) <= set(SKIN_TONE_GROUPS)
    # age_group from the true age, by the half-open groups.
    expect = np.where(truth["age"] < 2, "infant", np.where(truth["age"] < 18, "child", "adult"))
    assert (table["age_group"].to_numpy() == expect).all()
    # Without the key (a real FER-2013): no subjects, no attributes, every row still there.
    bare = comparison_table(manifest, CLASSES, GROUPS)
    assert len(bare) == 72 and bare["subject_id"].isna().all() and bare["sex"].isna().all()
    # A class subset keeps only its images.
    four = comparison_table(manifest, ["happy", "sad", "surprise", "neutral"], GROUPS, key)
    assert set(four["label"]) <= {"happy", "sad", "surprise", "neutral"}
    assert len(four) == table["label"].isin(["happy", "sad", "surprise", "neutral"]).sum()


def test_no_subject_crosses_folds_and_every_face_is_tested_once(fer) -> None:
    manifest, key = fer
    table = comparison_table(manifest, CLASSES, GROUPS, key)
    tested = pd.Series(0, index=table.index)
    for fold in range(3):
        split = run_split(
            table, mode="folds", fold=fold, folds=3, val_share=0.2, seed=5, classes=CLASSES
        )
        subjects = {s: set(table.loc[split == s, "subject_id"]) for s in ("train", "val", "test")}
        assert subjects["test"] and subjects["train"] and subjects["val"]
        assert not subjects["test"] & (subjects["train"] | subjects["val"])
        assert not subjects["train"] & subjects["val"]
        tested += (split == "test").to_numpy()
    assert (tested == 1).all()
    # The dataset's own split: FER-2013's PrivateTest is the test part.
    own = run_split(
        table, mode="dataset", fold=None, folds=3, val_share=0.2, seed=5, classes=CLASSES
    )
    assert (own == table["split"]).all()


def test_images_load_gray_or_rgb_and_bad_files_are_reported(tmp_path: Path) -> None:
    Image.new("RGB", (96, 96), (200, 100, 50)).save(tmp_path / "a.png")
    Image.new("CMYK", (48, 48), (0, 0, 0, 0)).save(tmp_path / "b.jpg")
    (tmp_path / "c.png").write_bytes(b"not an image")
    paths = [str(tmp_path / n) for n in ("a.png", "b.jpg", "c.png", "missing.png")]
    gray, ok, qc = load_images(paths, 48, 1)
    assert gray.shape == (2, 1, 48, 48) and ok.tolist() == [True, True, False, False]
    # PIL's luma of (200, 100, 50): 0.299 R + 0.587 G + 0.114 B = 124.2.
    assert abs(int(gray[0, 0, 0, 0]) - 124) <= 1
    assert gray[1].min() == 255  # CMYK (0, 0, 0, 0) is white
    assert qc["status"].tolist() == ["unreadable", "missing"]
    rgb, _, _ = load_images(paths[:1], 48, 3)
    assert rgb.shape == (1, 3, 48, 48) and rgb[0, :, 5, 5].tolist() == [200, 100, 50]


def test_grayscale_normalisation_and_stem() -> None:
    x = torch.full((1, 1, 2, 2), 0.449)
    assert torch.allclose(normalise(x), torch.zeros(1, 1, 2, 2), atol=1e-3)
    model = create_backbone("resnet18", 7, in_chans=1)
    assert model.conv1.weight.shape[1] == 1
    assert model(torch.rand(2, 1, 48, 48)).shape == (2, 7)


def test_rgb_weights_file_is_summed_into_a_grayscale_stem(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rgb = create_backbone("resnet18", 7)
    torch.save(rgb.state_dict(), tmp_path / "w.pth")
    gray = create_backbone("resnet18", 7, pretrained=str(tmp_path / "w.pth"), in_chans=1)
    # timm's adaptation: a gray pixel g seen as (g, g, g) gives the same response.
    want = rgb.conv1.weight.sum(dim=1, keepdim=True)
    assert torch.allclose(gray.conv1.weight, want)
    assert torch.equal(gray.fc.weight, rgb.fc.weight)


def test_flops_of_a_conv_and_a_linear_layer() -> None:
    # Conv 1 -> 2 channels, 3x3, no padding, on 5x5: 3x3 outputs x 2 channels x 9 MACs = 162
    # MACs; then Linear 18 -> 4: 72 MACs. FLOPs = 2 x MACs = 468.
    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.Flatten(), nn.Linear(18, 4))
    assert count_flops(model, torch.zeros(1, 1, 5, 5)) == 468


def test_pareto_front_by_hand() -> None:
    points = pd.DataFrame(
        {"latency": [1.0, 2.0, 3.0, 2.0, 4.0], "acc": [0.5, 0.7, 0.6, 0.7, 0.9]},
        index=list("abcde"),
    )
    # c is beaten by b (faster and better); b and d tie, neither beats the other.
    assert pareto_front(points, "latency", "acc").to_dict() == {
        "a": True, "b": True, "c": False, "d": True, "e": True,
    }  # fmt: skip


def test_run_frame_and_names() -> None:
    rows = pd.DataFrame(
        {
            "image_id": ["x/1", "x/2"], "subject_id": ["s1", "s2"], "sex": ["male", "female"],
            "skin_tone": ["dark", "light"], "age": [3.0, 30.0], "age_group": ["child", "adult"],
            "label": ["happy", "sad"],
        }
    )  # fmt: skip
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    out = run_frame(rows, probs, ["happy", "sad", "neutral"], "resnet18", "seed7-fold2")
    assert out["pred"].tolist() == ["happy", "sad"] and out["correct"].all()
    assert out["seed"].tolist() == [7, 7] and out["fold"].tolist() == [2, 2]
    assert [c for c in out if c.startswith("p_")] == ["p_happy", "p_sad", "p_neutral"]
    assert parse_replicate(replicate_name(2026, None)) == (2026, None)
    assert parse_replicate(replicate_name(2026, 3)) == (2026, 3)


def test_comparison_config() -> None:
    cfg = fer_config(classes=["neutral", "happy"], folds=4, seeds=[1, 2])
    assert settings.comparison(cfg).classes == ("happy", "neutral")  # canonical order
    assert settings.comparison_cost(cfg).num_classes == 2
    runs = settings.comparison_replicates(cfg)
    assert len(runs) == 8 and runs[0] == "seed1-fold0" and runs[-1] == "seed2-fold3"
    own = fer_config(split="dataset", seeds=[1, 2])
    assert settings.comparison_replicates(own) == ["seed1", "seed2"]
    # A dataset only the comparison reads is not prepared by the study.
    assert settings.study_datasets(cfg) == []
    with pytest.raises(ConfigError, match=r"'comparison\.dataset' is 'nope'"):
        fer_config(dataset="nope")
    with pytest.raises(ConfigError, match=r"comparison\.channels"):
        fer_config(channels=2)
    bare = validate_config(
        {"datasets": {"fer": {"format": "fer2013", "root": ".", "age_source": 25.0}}}
    )
    with pytest.raises(ConfigError, match=r"set 'comparison\.dataset'"):
        settings.comparison(bare)


def test_paper_table_reads_mean_sd_and_cost() -> None:
    summary = pd.DataFrame(
        {
            "backbone": ["r18", "r18"], "metric": ["accuracy", "ece"], "mean": [0.61, 0.05],
            "sd": [0.02, float("nan")], "n_replicates": [3, 3], "params": [11.2e6, 11.2e6],
            "gflops": [0.189, 0.189], "latency_ms": [9.16, 9.16],
            "throughput_img_s": [290.0, 290.0], "threads": [1, 1],
        }
    )  # fmt: skip
    row = paper_table(summary).iloc[0].to_dict()
    assert row["Accuracy"] == "0.610 ± 0.020" and row["ECE"] == "0.050"
    assert row["Params (M)"] == "11.20" and row["CPU ms (batch 1)"] == "9.2"


def test_a_zoo_run_with_a_valence_arousal_head_is_scored(tmp_path: Path) -> None:
    # An AffectNet-format set carries valence and arousal: a zoo run trains the head beside
    # the classes and the comparison scores it per backbone.
    from devfer.comparison.run import train_run
    from devfer.comparison.settings import ScoreSettings
    from devfer.comparison.stage import affect_scores

    cfg = validate_config(
        {
            "simulation": {
                "image_size": 64,
                "datasets": {"an": {"format": "affectnet", "n_subjects": 30,
                                    "images_per_subject": 3}},
            },
            "datasets": {"an": {"format": "affectnet"}},
            "comparison": {"dataset": "an", "epochs": 1, "folds": 2, "size": 32, "channels": 3,
                           "valence_arousal": {"enabled": True, "loss": "ccc"}},
        }
    )  # fmt: skip
    key = simulate_dataset(
        "an", settings.simulated_dataset(cfg, "an"), SimulationSettings(image_size=64), 3,
        tmp_path / "an",
    )  # fmt: skip
    key.to_parquet(tmp_path / "key.parquet")
    dataset = dataclasses.replace(settings.dataset(cfg, "an"), root=str(tmp_path / "an"))
    manifest, _ = build_manifest(dataset, seed=0, image_cache=tmp_path / "cache")
    manifest.to_parquet(tmp_path / "manifest.parquet")
    run_settings = settings.comparison(cfg)
    assert run_settings.valence_arousal.enabled and run_settings.valence_arousal.loss == "ccc"
    out = tmp_path / "run.parquet"
    train_run(settings=run_settings, groups=GROUPS, backbone="resnet10t",
              replicate="seed2026-fold0", manifest=str(tmp_path / "manifest.parquet"),
              answer_key=str(tmp_path / "key.parquet"), out_predictions=str(out),
              out_history=str(tmp_path / "h.parquet"), out_model=str(tmp_path / "m.pt"),
              threads=1)  # fmt: skip
    frame = pd.read_parquet(out)
    assert frame["valence_pred"].between(-1, 1).all() and frame["valence"].notna().all()
    assert "train_va_loss" in pd.read_parquet(tmp_path / "h.parquet")
    table = affect_scores(frame, ScoreSettings(n_boot=20))
    assert set(table["backbone"]) == {"resnet10t"} and "all" in set(table["age_group"])
    ccc = table[(table["metric"] == "ccc") & (table["age_group"] == "all")]
    assert len(ccc) == 2 and ccc["value"].between(-1, 1).all()
    # Without the head, the zoo's scores have no valence-arousal rows.
    assert affect_scores(frame.drop(columns=["valence_pred", "arousal_pred"]),
                         ScoreSettings()).empty  # fmt: skip
    # A FER-2013 set has no valence or arousal to train the head on.
    with pytest.raises(ConfigError, match=r"'fer' \(fer2013\) carries no valence or arousal"):
        fer_config(valence_arousal={"enabled": True})
