"""Progress bars that stay readable in a rule's log file."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm:
    """tqdm on stderr; redrawn at most every 10 s when stderr is a file, not a terminal."""
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.1 if interactive else 10.0)
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", interactive)
    return tqdm(iterable, **kwargs)
