"""Model construction through timm, and weights that never need a network at run time."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


class WeightsError(RuntimeError):
    """Weights that cannot be found; the message says where we looked and how to fix it."""


def _cache_dirs() -> str:
    hf_home = os.environ.get("HF_HOME", str(Path.home() / ".cache" / "huggingface"))
    torch_home = os.environ.get("TORCH_HOME", str(Path.home() / ".cache" / "torch"))
    return f"HF_HOME={hf_home} (hub cache {hf_home}/hub) and TORCH_HOME={torch_home}"


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # common checkpoint wrappers
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def create_backbone(
    name: str, num_classes: int, pretrained: str = "none", in_chans: int = 3
) -> nn.Module:
    """A timm model by name. `pretrained`: 'none', 'imagenet' (timm's cache) or a file path.

    With 'imagenet' offline and no cached file, raise WeightsError naming the model, where
    it was looked for and how to put it there. A file's classifier weights are dropped when
    their shape does not match `num_classes` (ImageNet's 1000 classes, say). `in_chans` 1
    (grayscale, as FER-2013) gives the stem one input channel; pretrained RGB stem weights
    are summed over their channels for it (timm's own adaptation), so they still apply.
    """
    import timm

    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('.')[0][:6]}*")[:5]
        raise WeightsError(f"timm has no model '{name}'. Similar names: {', '.join(close)}.")
    if pretrained == "none":
        return timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    if pretrained == "imagenet":
        try:
            return timm.create_model(
                name, pretrained=True, num_classes=num_classes, in_chans=in_chans
            )
        except Exception as exc:  # hub and connection errors come in many types
            raise WeightsError(
                f"ImageNet weights for timm model '{name}' are not available offline "
                f"({type(exc).__name__}). Looked in {_cache_dirs()}. To provide them: on a "
                f"machine with internet run `python -c \"import timm; timm.create_model('{name}', "
                "pretrained=True)\"`, then copy its ~/.cache/huggingface/hub to this machine's "
                "HF_HOME/hub; or download the weights file and set `pretrained:` to its path."
            ) from None
    path = Path(pretrained)
    if not path.is_file():
        raise WeightsError(
            f"pretrained weights file {path} does not exist. Set `pretrained:` to 'none', "
            "'imagenet' or the path of a .safetensors / .pth file."
        )
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    state = _load_state(path)
    own = model.state_dict()
    kept = {}
    for key, value in state.items():
        if key not in own:
            continue
        mine = own[key].shape
        if value.ndim == 4 and len(mine) == 4 and value.shape[1] != mine[1]:
            from timm.models import adapt_input_conv

            # The stem, RGB -> gray (or back): its input channels summed or repeated.
            value = adapt_input_conv(mine[1], value)
        if own[key].shape == value.shape:
            kept[key] = value
    if not kept:
        raise WeightsError(f"{path} holds no weights that fit timm model '{name}'.")
    model.load_state_dict(kept, strict=False)
    return model
