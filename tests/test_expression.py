import pytest
import torch
import torch.nn.functional as F

from devfer.data import FaceBatches
from devfer.train.expression import CombinedDistanceLoss, ExpressionNet, class_balance
from devfer.train.loop import TrainSettings, fit, run_epoch
from devfer.train.settings import AugmentSettings


def test_lambda_zero_is_plain_cross_entropy() -> None:
    torch.manual_seed(0)
    emb, logits, y = torch.randn(6, 4), torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    loss = CombinedDistanceLoss(3, 4, lam=0.0, label_smoothing=0.1)
    assert torch.equal(loss(emb, logits, y), F.cross_entropy(logits, y, label_smoothing=0.1))


def test_pull_term_is_zero_on_the_centres_and_half_squared_distance_otherwise() -> None:
    loss = CombinedDistanceLoss(3, 2, lam=1.0)
    y = torch.tensor([0, 2, 1])
    on_centres = loss.centres.detach()[y]
    assert loss.pull(on_centres, y).item() == 0.0
    shifted = on_centres + torch.tensor([3.0, 4.0])  # each embedding 5 away from its centre
    assert loss.pull(shifted, y).item() == pytest.approx(0.5 * 25)


def test_push_term_is_zero_beyond_the_margin_and_hinged_inside() -> None:
    loss = CombinedDistanceLoss(3, 2, lam=1.0, margin=2.0)
    with torch.no_grad():
        loss.centres.copy_(torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]))
    assert loss.push().item() == 0.0
    with torch.no_grad():
        loss.centres.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]))
    # One pair 1 apart: (2 - 1)^2 = 1, averaged over the 3 pairs.
    assert loss.push().item() == pytest.approx(1 / 3)


def test_combined_loss_formula() -> None:
    loss = CombinedDistanceLoss(2, 2, lam=0.5, margin=1.0)
    with torch.no_grad():
        loss.centres.copy_(torch.tensor([[0.0, 0.0], [0.5, 0.0]]))
    emb, logits, y = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    ce = F.cross_entropy(logits, y)
    # pull = 0.5 * 4 = 2; push = (1 - 0.5)^2 = 0.25
    assert loss(emb, logits, y).item() == pytest.approx(ce.item() + 0.5 * (2 + 0.25))


def test_gradients_reach_backbone_and_centres() -> None:
    torch.manual_seed(0)
    model = ExpressionNet("resnet18", 7, dropout=0.5, frozen=["layer1"])
    loss = CombinedDistanceLoss(7, model.embedding_dim, lam=0.01)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    value, stats = loss.step(model, x, y)
    value.backward()
    assert model.backbone.conv1.weight.grad is not None
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert loss.centres.grad is not None and loss.centres.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.layer1.parameters())  # frozen
    assert stats["accuracy"] in {0.0, 1.0, 2.0, 3.0, 4.0}  # a count of the 4 images
    assert model.fc.in_features == 512 and isinstance(model.dropout, torch.nn.Dropout)


class _FixedLogits(torch.nn.Module):
    """A 'model' whose logits are its input: the step's count can be checked by hand."""

    def forward(self, x):
        return x, x


def test_step_counts_correct_predictions_and_returns_the_loss() -> None:
    logits = torch.tensor([[2.0, 1, 0], [0, 3, 1], [1, 0, 5], [4, 0, 0], [0, 0, 9]])
    y = torch.tensor([0, 2, 2, 1, 2])  # argmax 0, 1, 2, 0, 2: rows 0, 2 and 4 are right
    loss = CombinedDistanceLoss(3, 3, lam=0.0)
    value, stats = loss.step(_FixedLogits(), logits, y)
    assert stats == {"accuracy": 3.0}
    assert value.item() == pytest.approx(F.cross_entropy(logits, y).item())


def brightness_problem(seed: int, n: int) -> FaceBatches:
    """Class 0: dark images (pixels 0..55); class 1: bright ones (200..255), alternating.

    The classes are separated by a wide gap in mean brightness, so a linear rule on it is
    right on every image.
    """
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = 200 * y.view(-1, 1, 1, 1) + torch.randint(0, 56, (n, 3, 8, 8), generator=gen)
    return FaceBatches(x.to(torch.uint8), y)


class _BrightnessNet(torch.nn.Module):
    """Mean colour -> Dropout -> Linear. sign=1 starts it the wrong way round (bright ->
    class 0, every image wrong); sign=-1 is the right rule."""

    def __init__(self, sign: float = 1.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.drop = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(3, 2)
        with torch.no_grad():
            self.fc.weight.copy_(sign * torch.tensor([[0.1] * 3, [-0.1] * 3]))
            self.fc.bias.zero_()

    def forward(self, x):
        e = self.body(x)
        return e, self.fc(self.drop(e))


def test_epoch_accuracy_is_the_hand_count_over_all_images() -> None:
    # The right rule (bright -> class 1), with 5 of 32 labels flipped: 27 of 32 are right.
    # Two flipped labels sit in the last, short batch (32 = 10 + 10 + 10 + 2): a mean of
    # per-batch accuracies would give (7/10 + 1 + 1 + 0/2) / 4 = 0.675, not 27/32.
    data = brightness_problem(2, 32)
    targets = data.targets.clone()
    flipped = [0, 3, 5, 30, 31]
    targets[flipped] = 1 - targets[flipped]
    data = FaceBatches(data.images, targets)
    # Dropout would scramble the count if validation ran in training mode.
    model = _BrightnessNet(sign=-1.0, dropout=0.9)
    settings = TrainSettings(epochs=1, batch_size=10, device="cpu")
    loss = CombinedDistanceLoss(2, 3, lam=0.0)
    metrics = run_epoch(model, loss.step, data, settings, torch.device("cpu"))
    assert metrics["accuracy"] == 27 / 32


def test_training_learns_a_learnable_problem(tmp_path) -> None:
    train, val = brightness_problem(1, 32), brightness_problem(2, 32)  # different images
    model = _BrightnessNet()
    loss = CombinedDistanceLoss(2, 3, lam=0.0)
    settings = TrainSettings(
        epochs=4, batch_size=8, lr=0.05, monitor="val_accuracy", mode="max", seed=0,
        device="cpu", augment=AugmentSettings(flip=True, rotation=5, scale=(0.8, 1.0), color=0.1),
    )  # fmt: skip
    # The starting model gets every image wrong (counted by hand: the sign is flipped).
    assert run_epoch(model, loss.step, val, settings, torch.device("cpu"))["accuracy"] == 0.0
    history, best = fit(model, loss.step, train, val, settings, tmp_path / "c.pt", [loss])
    # Chance is 1/2 and a perfect rule exists (see brightness_problem); 16 Adam steps at
    # lr 0.05 flip the weights with room to spare (it reaches 1.0 on every seed tried), so
    # 0.9 is far above chance yet leaves slack for the augmentation's randomness.
    assert history["val_accuracy"].iloc[-1] >= 0.9
    assert history["train_accuracy"].iloc[-1] >= 0.9
    # The best weights, scored again by hand, give the history's best validation accuracy.
    model.load_state_dict(best)
    with torch.no_grad():
        _, logits = model.eval()(next(val.batches(len(val)))[0])
    hand = float((logits.argmax(dim=1) == val.targets).float().mean())
    assert hand == history["val_accuracy"].max()


def test_class_balance() -> None:
    weights, per_sample = class_balance(torch.tensor([0, 0, 0, 1]), 3)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])
    assert per_sample.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])


def tiny_problem() -> tuple[FaceBatches, FaceBatches]:
    gen = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (48,), generator=gen)
    x = y.view(-1, 1, 1, 1) * 80 + torch.randint(0, 40, (48, 3, 12, 12), generator=gen)
    data = FaceBatches(x.to(torch.uint8), y)
    return data, data


def train_tiny(checkpoint, stop_after=None):
    torch.manual_seed(0)
    model = _TinyNet()
    loss = CombinedDistanceLoss(3, 8, lam=0.01, seed=0)
    settings = TrainSettings(
        epochs=4, batch_size=16, lr=1e-2, monitor="val_accuracy", mode="max", seed=3,
        augment=AugmentSettings(flip=True, rotation=5, scale=(0.8, 1.0), color=0.1),
    )  # fmt: skip
    train, val = tiny_problem()
    history, best = fit(model, loss.step, train, val, settings, checkpoint, [loss],
                        stop_after=stop_after)  # fmt: skip
    return model, loss, history, best


class _TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        )  # fmt: skip
        self.drop = torch.nn.Dropout(0.3)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        e = self.body(x)
        return e, self.fc(self.drop(e))


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path, monkeypatch) -> None:
    import inspect

    import devfer.train.loop as loop

    model_a, loss_a, hist_a, best_a = train_tiny(tmp_path / "a.pt")
    _, _, partial, _ = train_tiny(tmp_path / "b.pt", stop_after=2)  # "interrupted"
    assert len(partial) == 2
    # Training is deterministic, so a run that ignored the checkpoint and started again
    # would end with the same weights too: count the epochs the resumed run really runs.
    epochs_run = []

    def counting_run_epoch(*args, **kwargs):
        epochs_run.append(inspect.signature(run_epoch).bind(*args, **kwargs).arguments["epoch"])
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "run_epoch", counting_run_epoch)
    model_b, loss_b, hist_b, best_b = train_tiny(tmp_path / "b.pt")  # resumed
    assert epochs_run == [3, 3, 4, 4]  # train and validate epochs 3 and 4 only
    assert hist_b["epoch"].tolist() == [1, 2, 3, 4]
    for key in model_a.state_dict():
        assert torch.equal(model_a.state_dict()[key], model_b.state_dict()[key]), key
        assert torch.equal(best_a[key], best_b[key]), key
    assert torch.equal(loss_a.centres, loss_b.centres)
    assert hist_a.drop(columns="seconds").equals(hist_b.drop(columns="seconds"))


def test_stretch_augment_changes_the_aspect_of_a_square_and_nothing_else() -> None:
    from dataclasses import replace

    import torch

    from devfer.data import augment_batch

    x = torch.zeros(64, 3, 40, 40)
    x[:, :, 12:28, 12:28] = 1.0  # a centred 16 x 16 square
    plain = AugmentSettings(flip=False, rotation=0, scale=(1.0, 1.0), color=0.0)
    assert torch.equal(augment_batch(x, plain), x)
    out = augment_batch(x, replace(plain, stretch=0.25), torch.Generator().manual_seed(0))
    on = out[:, 0] > 0.5
    width = on.any(dim=1).sum(dim=1).float()  # columns the square covers
    height = on.any(dim=2).sum(dim=1).float()
    aspect = width / height
    # Stretched by up to 1.25 either way: both wider and taller squares occur, none beyond.
    assert aspect.max() > 1.1 and aspect.min() < 1 / 1.1
    assert aspect.max() < 1.25**1.0 * 1.15 and aspect.min() > 1 / (1.25 * 1.15)


def test_proportion_warp_is_monotone_and_off_by_default() -> None:
    import torch
    import torch.nn.functional as F

    from devfer.data import augment_batch, proportion_warp

    n = 32
    identity = torch.eye(2, 3).expand(n, 2, 3)
    q = F.affine_grid(identity, [n, 3, 48, 48], align_corners=False)
    gen = torch.Generator().manual_seed(0)

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    w = proportion_warp(q, 0.4, uniform)
    # No folds: source x rises along every row and source y down every column.
    assert (w[..., 0].diff(dim=2) > 0).all() and (w[..., 1].diff(dim=1) > 0).all()
    assert (w - q).abs().max() > 0.02  # it does move the face
    x = torch.rand(4, 3, 48, 48)
    plain = AugmentSettings(flip=False, rotation=0, scale=(1.0, 1.0), color=0.0)
    assert torch.equal(augment_batch(x, plain), x)


def test_affect_loss_skips_unannotated_rows_and_matches_hand_values() -> None:
    from devfer.train.expression import AffectLoss

    pred = torch.tensor([[0.0, 0.5], [1.0, 0.5], [0.5, 0.0]])
    true = torch.tensor([[0.0, float("nan")], [0.5, 0.5], [float("nan"), float("nan")]])
    # Valence: rows 0 and 1, errors 0 and 0.5 -> MSE 0.125; arousal: row 1 only, error 0.
    assert AffectLoss(kind="mse")(pred, true).item() == pytest.approx((0.125 + 0.0) / 2)
    # CCC needs two annotated rows: only valence counts. pred (0, 1), true (0, 0.5): means
    # 0.5 and 0.25, variances 0.25 and 0.0625, covariance 0.125 -> CCC = 0.25 / 0.375.
    assert AffectLoss(kind="ccc")(pred, true).item() == pytest.approx(1 - 0.25 / 0.375)
    # Nothing annotated: zero, and still a graph to backpropagate through.
    p = pred.clone().requires_grad_(True)
    empty = AffectLoss()(p, torch.full((3, 2), float("nan")))
    empty.backward()
    assert empty.item() == 0.0 and p.grad is not None


def test_affect_head_learns_valence_and_arousal_beside_the_classes(tmp_path) -> None:
    # Brightness sets both the class and valence (dark -0.5, bright +0.5); arousal is
    # missing on half the images. The head learns valence; the classes are learnt too.
    from devfer.evaluate.predictions import model_outputs
    from devfer.train.expression import AffectLoss

    def problem(seed: int) -> FaceBatches:
        data = brightness_problem(seed, 32)
        y = data.targets.float()
        arousal = torch.where(torch.arange(32) % 4 < 2, 0.2, float("nan"))
        return FaceBatches(data.images, torch.stack([y, y - 0.5, arousal], dim=1))

    train, val = problem(1), problem(2)
    torch.manual_seed(0)
    model = _BrightnessAffectNet()
    loss = CombinedDistanceLoss(2, 3, affect=AffectLoss(1.0, "mse"))
    settings = TrainSettings(epochs=8, batch_size=8, lr=0.05, monitor="val_accuracy",
                             mode="max", device="cpu")  # fmt: skip
    history, best = fit(model, loss.step, train, val, settings, tmp_path / "c.pt", [loss])
    assert "train_va_loss" in history and history["train_va_loss"].iloc[-1] < 0.1
    model.load_state_dict(best)
    probs, va = model_outputs(model, val.images, 16)
    assert va.shape == (32, 2) and abs(va).max() <= 1
    valence = val.targets[:, 1].numpy()
    assert abs(va[:, 0] - valence).mean() < 0.25  # chance (predicting 0) is 0.5
    assert probs.shape == (32, 2)


class _BrightnessAffectNet(_BrightnessNet):
    """_BrightnessNet with ExpressionNet's valence-arousal interface."""

    has_affect = True

    def __init__(self) -> None:
        super().__init__(sign=-1.0)
        self.va = torch.nn.Linear(3, 2)

    def valence_arousal(self, embedding):
        return torch.tanh(self.va(embedding))


def test_without_the_head_the_model_is_built_as_before() -> None:
    # Same seed, with and without the head: identical backbone and class head, and only the
    # head's two parameters added; a model without it refuses to predict valence.
    torch.manual_seed(0)
    plain = ExpressionNet("resnet10t", 7, 0.5)
    torch.manual_seed(0)
    both = ExpressionNet("resnet10t", 7, 0.5, affect=True)
    a, b = plain.state_dict(), both.state_dict()
    assert set(b) - set(a) == {"va.weight", "va.bias"}
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(RuntimeError, match="no valence-arousal head"):
        plain.valence_arousal(torch.zeros(1, plain.embedding_dim))


def test_two_models_in_one_folder_resume_from_their_own_checkpoints(tmp_path) -> None:
    from devfer.train.loop import checkpoint_path

    a, b = checkpoint_path(tmp_path / "ccc.pt"), checkpoint_path(tmp_path / "mse.pt")
    assert a != b and a.parent == b.parent == tmp_path
    assert checkpoint_path("results/models/adult/seed2026/model.pt").name == "model.checkpoint.pt"


def test_valence_arousal_head_reads_the_features_without_dropout() -> None:
    # In training mode the class head sees dropped-out features (two calls differ); the
    # valence-arousal head does not, so its training predictions are as dispersed as the
    # evaluation's (a concordance loss would otherwise learn to shrink them).
    torch.manual_seed(0)
    model = ExpressionNet("resnet10t", 7, 0.9, affect=True).train()
    embedding = torch.randn(4, model.embedding_dim)
    first, second = model.fc(model.dropout(embedding)), model.fc(model.dropout(embedding))
    assert not torch.equal(first, second)
    assert torch.equal(model.valence_arousal(embedding), model.valence_arousal(embedding))
    model.eval()
    assert torch.equal(model.valence_arousal(embedding), torch.tanh(model.va(embedding)))


@pytest.mark.parametrize(
    ("device", "precision", "expected"),
    [
        ("cpu", "auto", None),
        ("cpu", "fp32", None),
        ("cpu", "bf16", torch.bfloat16),
        ("cuda", "auto", torch.bfloat16),
        ("cuda", "fp32", None),
    ],
)
def test_autocast_follows_the_precision_setting(device, precision, expected) -> None:
    from devfer.device import autocast_dtype

    assert autocast_dtype(torch.device(device), precision) == expected


def test_a_typo_in_precision_is_refused() -> None:
    from devfer.device import autocast_dtype

    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        autocast_dtype(torch.device("cpu"), "fp16")


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)]
)
def test_bf16_on_cpu_trains_under_autocast(precision, dtype) -> None:
    # The class logits are computed in the asked precision; the loss stays finite either way.
    data = brightness_problem(1, 16)
    model = _BrightnessNet()
    loss = CombinedDistanceLoss(2, 3, lam=0.0)
    seen = []

    def step(net, x, y):
        seen.append(net(x)[1].dtype)
        return loss.step(net, x, y)

    settings = TrainSettings(epochs=1, batch_size=8, lr=0.01, device="cpu", precision=precision)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    metrics = run_epoch(model, step, data, settings, torch.device("cpu"), optimizer)
    assert set(seen) == {dtype}
    assert torch.isfinite(torch.tensor(metrics["loss"]))
