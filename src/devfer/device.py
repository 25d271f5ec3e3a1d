"""Which torch device a stage runs on."""

from __future__ import annotations

from typing import Any


def pick_device(setting: str = "auto") -> Any:
    """`auto` (CUDA when torch sees a GPU, else CPU), `cpu` or `cuda` as a torch.device.

    A ConfigError when `cuda` is asked for and there is none: the run stops with the fix.
    """
    import torch

    from devfer.config import ConfigError

    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device is 'cuda' but torch sees no CUDA GPU; use auto or cpu.")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)
