"""A model bundle: what anyone needs to run a trained model on new faces, and nothing else.

`results/models/{model}/bundle/` holds `model.safetensors` (the weights) and `card.json`:
the kind of model (expression or age), its backbone, classes and their order, heads, the
input (size, channels, normalisation), the face crop it expects (the five-point template
and its margin, so a new face is aligned as the training faces were), the age groups, and
the settings and versions that made it. Loading a bundle needs nothing from `results/`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from devfer.data import MEAN, STD
from devfer.provenance import versions

FORMAT = "devfer-bundle"
VERSION = 1
WEIGHTS = "model.safetensors"
CARD = "card.json"


class BundleError(RuntimeError):
    """A bundle that cannot be used, with the reason and the fix."""


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the model (eval mode, CPU) and its card."""

    model: nn.Module
    card: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.card["kind"])

    @property
    def classes(self) -> list[str]:
        return list(self.card.get("classes", []))

    @property
    def size(self) -> int:
        return int(self.card["input"]["size"])

    @property
    def margin(self) -> float:
        return float(self.card["face_crop"]["margin"])

    @property
    def has_affect(self) -> bool:
        return bool(self.card.get("heads", {}).get("valence_arousal", False))


def _plain(value: Any) -> Any:
    """JSON-ready: tuples to lists, inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _card(
    kind: str,
    *,
    face_size: int,
    margin: float,
    groups: list[dict[str, Any]],
    min_prob: float = 0.9,
) -> dict[str, Any]:
    """The card's common part: the input, the face crop, the age groups, the versions."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "input": {
            "size": face_size,
            "channels": 3,
            "scale": "pixels / 255",
            "mean": MEAN.view(-1).tolist(),
            "std": STD.view(-1).tolist(),
        },
        "face_crop": {
            "template": "five-point (eyes, nose tip, mouth corners), ArcFace 112 px layout",
            "margin": margin,
            "detector": "MTCNN (facenet-pytorch)",
            "min_prob": min_prob,
        },
        "age_groups": groups,
        "versions": versions(),
    }


def export_expression(checkpoint: str | Path, out_dir: str | Path, **crop: Any) -> Path:
    """Write the bundle of an expression model checkpoint (`results/models/{m}/seed*/model.pt`).
    `crop`: face_size, margin, groups and min_prob, as `_card` takes them."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    card = _card("expression", **crop)
    card.update(
        architecture=saved["architecture"],
        dropout=saved["dropout"],
        classes=list(saved["classes"]),
        heads={
            "classes": len(saved["classes"]),
            "valence_arousal": bool(saved.get("valence_arousal", False)),
        },
        settings=_plain(saved.get("settings", {})),
    )
    return _write(out_dir, saved["state_dict"], card)


def export_age(checkpoint: str | Path, out_dir: str | Path, **crop: Any) -> Path:
    """Write the bundle of an age estimator checkpoint (`results/models/age_estimator/`)."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    card = _card("age", **crop)
    card.update(
        architecture=saved["model"],
        head=saved["head"],
        max_age=saved["max_age"],
        val_mae=float(saved.get("val_mae", 3.0)),
        settings=_plain(saved.get("settings", {})),
    )
    return _write(out_dir, saved["state_dict"], card)


def _write(out_dir: str | Path, state: dict[str, torch.Tensor], card: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage: give every tensor its own.
    save_file({k: v.detach().clone().contiguous() for k, v in state.items()}, out / WEIGHTS)
    (out / CARD).write_text(json.dumps(_plain(card), indent=2), encoding="utf-8")
    return out


def read_card(path: str | Path) -> dict[str, Any]:
    """A bundle's card, checked: it must be a devfer bundle of a version this code reads."""
    folder = Path(path)
    card_path = folder / CARD
    if not card_path.is_file():
        raise BundleError(
            f"{folder} is not a devfer model bundle: it has no {CARD}. Bundles are written by "
            "the workflow to results/models/<model>/bundle/ (snakemake bundles), or by "
            "`devfer bundle`."
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{card_path} is not valid JSON ({exc}); re-export the bundle.") from None
    if card.get("format") != FORMAT:
        raise BundleError(
            f"{card_path} is not a devfer bundle card (format {card.get('format')!r}, expected "
            f"{FORMAT!r}); a checkpoint from another tool must be exported first."
        )
    if card.get("version") != VERSION:
        raise BundleError(
            f"{card_path} is bundle version {card.get('version')!r}; this devfer reads version "
            f"{VERSION}. Re-export it with this devfer (`devfer bundle`) or use the devfer "
            f"{card.get('versions', {}).get('devfer', '?')} that wrote it."
        )
    if not (folder / WEIGHTS).is_file():
        raise BundleError(f"{folder} has a card but no {WEIGHTS}; re-export the bundle.")
    return card


def load_bundle(path: str | Path) -> Bundle:
    """A bundle's model (eval mode, CPU) and card; a clear error for anything unusable."""
    from safetensors.torch import load_file

    from devfer.backbones import create_backbone
    from devfer.train.expression import ExpressionNet

    card = read_card(path)
    state = load_file(str(Path(path) / WEIGHTS))
    if card["kind"] == "expression":
        model: nn.Module = ExpressionNet(
            card["architecture"],
            len(card["classes"]),
            float(card["dropout"]),
            affect=bool(card["heads"].get("valence_arousal", False)),
        )
    elif card["kind"] == "age":
        from devfer.ages.estimator import AgeHead

        head = AgeHead(card["head"], card["max_age"])
        model = create_backbone(card["architecture"], head.n_outputs, "none")
    else:
        raise BundleError(f"{path}: unknown model kind {card['kind']!r} (expression or age)")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BundleError(
            f"{path}: the weights do not fit the card's {card['architecture']} ({first}); the "
            "bundle is damaged or was edited: re-export it."
        ) from None
    return Bundle(model.eval(), card)
