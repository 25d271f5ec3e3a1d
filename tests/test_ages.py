import math

import numpy as np
import pytest
import torch

from devfer.ages.estimator import AgeHead, predict_ages, soft_targets
from devfer.ages.groups import bucket, known_age_rows, parse_groups
from devfer.ages.metrics import estimator_metrics
from devfer.backbones import WeightsError, create_backbone
from devfer.data import FaceBatches
from devfer.train.loop import TrainSettings, fit

GROUPS = parse_groups(
    [
        {"name": "infant", "min": 0, "max": 4},
        {"name": "younger_child", "min": 4, "max": 8},
        {"name": "older_child", "min": 8, "max": 13},
        {"name": "teenager", "min": 13, "max": 18},
        {"name": "adult", "min": 18, "max": None},
    ]
)


@pytest.mark.parametrize(
    ("age", "group"),
    [
        (0.0, "infant"), (3.999, "infant"), (4.0, "younger_child"), (7.999, "younger_child"),
        (8.0, "older_child"), (12.999, "older_child"), (13.0, "teenager"), (17.999, "teenager"),
        (18.0, "adult"), (95.0, "adult"),
    ],
)  # fmt: skip
def test_bucketing_at_every_boundary(age: float, group: str) -> None:
    assert bucket([age], GROUPS)[0] == group


def test_ages_outside_every_group() -> None:
    assert bucket([-1.0, float("nan")], GROUPS).tolist() == [None, None]


def test_groups_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="'a' ends at 4 but 'b' starts at 5"):
        parse_groups([{"name": "a", "min": 0, "max": 4}, {"name": "b", "min": 5}])
    assert math.isinf(GROUPS[-1].hi)


def test_known_age_option() -> None:
    rows = known_age_rows([0.67] * 3, GROUPS)
    assert rows["age_pred"].tolist() == [0.67] * 3
    assert rows["p_infant"].tolist() == [1.0] * 3 and rows["p_adult"].sum() == 0
    labelled = known_age_rows([3.5, 18.0], GROUPS)  # a dataset's own age labels
    assert labelled["p_infant"].tolist() == [1.0, 0.0]
    assert labelled["p_adult"].tolist() == [0.0, 1.0]


def test_soft_targets_centre_on_the_age() -> None:
    head = AgeHead("dex")
    t = soft_targets(torch.tensor([10.0, 40.0]), head.bins)
    assert torch.allclose(t.sum(1), torch.ones(2))
    expected = t @ head.bins
    assert torch.allclose(expected, torch.tensor([10.0, 40.0]), atol=0.05)


def test_dex_group_probabilities_sum_to_one() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 99))
    head = AgeHead("dex")
    assert head.n_outputs == 99
    images = torch.randint(0, 255, (5, 3, 8, 8), dtype=torch.uint8)
    out = predict_ages(model, head, images, GROUPS)
    probs = out[[f"p_{g.name}" for g in GROUPS]].to_numpy()
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert (out["age_pred"] >= 0).all() and (out["age_sd"] > 0).all()


def test_estimator_metrics_by_hand() -> None:
    true = np.array([1.0, 2.0, 10.0, 30.0])
    pred = np.array([2.0, 5.0, 10.5, 28.0])  # errors 1, 3, 0.5, 2; the 2 -> 5 crosses 4
    m = estimator_metrics(true, pred, GROUPS).set_index(["metric", "true_group", "pred_group"])
    assert m.loc[("mae", "all", "all"), "value"] == pytest.approx(6.5 / 4)
    assert m.loc[("mae", "infant", "all"), "value"] == pytest.approx(2.0)
    assert m.loc[("group_accuracy", "all", "all"), "value"] == pytest.approx(0.75)
    assert m.loc[("confusion", "infant", "younger_child"), "n"] == 1
    assert m.loc[("confusion", "infant", "infant"), "n"] == 1


def test_offline_imagenet_weights_error_names_file_and_fix(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError) as err:
        create_backbone("resnet18", 7, "imagenet")
    msg = str(err.value)
    assert "resnet18" in msg and str(tmp_path / "hf") in msg and str(tmp_path / "torch") in msg
    assert "pretrained=True" in msg and "set `pretrained:` to its path" in msg


def test_weights_from_a_local_file(tmp_path) -> None:
    source = create_backbone("resnet18", 1000, "none")
    torch.save(source.state_dict(), tmp_path / "w.pth")
    model = create_backbone("resnet18", 7, str(tmp_path / "w.pth"))
    assert torch.equal(model.conv1.weight, source.conv1.weight)  # backbone loaded
    assert model.fc.out_features == 7  # classifier of another shape left fresh
    with pytest.raises(WeightsError, match="does not exist"):
        create_backbone("resnet18", 7, str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsError, match="timm has no model 'resnet17'"):
        create_backbone("resnet17", 7, "none")


def test_tiny_training_run_lowers_the_loss(tmp_path) -> None:
    # Brightness encodes age: a small CNN must learn it within a few epochs.
    gen = torch.Generator().manual_seed(0)
    ages = torch.rand(96, generator=gen) * 60
    images = (ages / 60 * 255).view(-1, 1, 1, 1).expand(-1, 3, 16, 16).to(torch.uint8).clone()
    data = FaceBatches(images, ages)
    head = AgeHead("dex")
    torch.manual_seed(0)
    model = create_backbone("resnet18", head.n_outputs, "none")
    settings = TrainSettings(epochs=4, batch_size=32, lr=3e-3, monitor="val_mae", seed=0)
    history, _ = fit(model, head.step, data, data, settings, tmp_path / "ckpt.pt")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert len(history) == 4 and {"lr", "seconds", "val_mae"} <= set(history.columns)
