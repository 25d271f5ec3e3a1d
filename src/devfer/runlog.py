"""A rule's log file: logging and progress bars go there while its stage runs."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("devfer")


def user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message names the file and the fix: no traceback is shown for them."""
    from devfer.backbones import WeightsError
    from devfer.config import ConfigError
    from devfer.manifest.adapters import DatasetError
    from devfer.predict.bundle import BundleError
    from devfer.predict.live import LiveError
    from devfer.predict.run import InputError

    return (ConfigError, DatasetError, WeightsError, BundleError, LiveError, InputError)


@contextlib.contextmanager
def logged(path: str | Path | None) -> Iterator[None]:
    """Send logging and progress bars (stderr) to a rule's log file for the block's duration."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # per-glyph chatter in PDFs
        old_stderr, sys.stderr = sys.stderr, stream
        start = time.perf_counter()
        try:
            yield
            log.info("%s", usage(time.perf_counter() - start))
        except Exception as exc:
            if isinstance(exc, user_errors()):
                log.error("%s", exc)
                raise SystemExit(1) from None
            log.exception("stage failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children, since it started
    (imports included: they are part of what a job costs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def usage(wall: float) -> str:
    """The line a rule's log ends with. A job's wall time grows when more jobs than cores run
    side by side; its CPU seconds do not, so per-rule costs are read from these
    (`benchmarks/bench_study.py`)."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return f"resources: wall {wall:.1f} s, cpu {cpu_seconds():.1f} s, peak memory {peak_mb:.0f} MB"


def set_threads(requested: int) -> None:
    """Torch threads for a job: what Snakemake gave it, never more than the machine has."""
    import torch

    torch.set_num_threads(max(1, min(int(requested), os.cpu_count() or 1)))
