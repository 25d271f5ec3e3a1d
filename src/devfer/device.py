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


PRECISIONS = ("auto", "fp32", "bf16")


def autocast_dtype(device: Any, precision: str = "auto") -> Any:
    """The dtype training autocasts to on `device`, or None for plain fp32.

    `auto`: bf16 on CUDA, fp32 on CPU (a CPU without native bf16 emulates it, slower, and a
    model trained in bf16 differs from one trained in fp32). `bf16` on CPU asks for it anyway
    (faster only where the CPU has avx512_bf16 or AMX; README "Benchmarks").
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "bf16" or (precision == "auto" and torch.device(device).type == "cuda"):
        return torch.bfloat16
    return None
