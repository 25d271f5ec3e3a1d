import pytest
import torch
import torch.nn.functional as F

from devfer.data import FaceBatches
from devfer.train.expression import CombinedDistanceLoss, ExpressionNet, class_balance
from devfer.train.loop import TrainSettings, fit
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
    assert 0 <= stats["accuracy"] <= 4
    assert model.fc.in_features == 512 and isinstance(model.dropout, torch.nn.Dropout)


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


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path) -> None:
    model_a, loss_a, hist_a, best_a = train_tiny(tmp_path / "a.pt")
    _, _, partial, _ = train_tiny(tmp_path / "b.pt", stop_after=2)  # "interrupted"
    assert len(partial) == 2
    model_b, loss_b, hist_b, best_b = train_tiny(tmp_path / "b.pt")  # resumed
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
