"""facenet-pytorch's MTCNN as the faces stage and `devfer predict` / `live` run it.

Kept apart from `devfer.faces.detect` so the jobs that only read or gather aligned faces do
not import torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _ChannelsLastMaxPool(nn.Module):
    """A max pool that runs on a channels-last copy of its input: the same numbers (a max is
    exact), 8-10x faster on CPU for the small, many-channel maps of MTCNN's RNet and ONet,
    where NCHW pooling was a third of all detection time (benchmarks/bench_faces.py)."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x.contiguous(memory_format=torch.channels_last)).contiguous()


def load_mtcnn(min_face_size: int, device: Any) -> Any:
    """facenet-pytorch's MTCNN (every face kept), RNet's and ONet's max pools channels-last:
    the same detections, bit for bit, 1.5x faster."""
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=device)
    # Not PNet's: its maps arrive channels-last already, and converting its pool's output
    # back would change its next convolution's arithmetic (results would move by 1e-7).
    for net in (mtcnn.rnet, mtcnn.onet):
        for name, module in list(net.named_children()):
            if isinstance(module, nn.MaxPool2d):
                setattr(net, name, _ChannelsLastMaxPool(module))
    return mtcnn
