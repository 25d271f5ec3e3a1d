"""What every `devfer` command shares: the study config, the results layout, the options.
Package-internal: the underscore names are for the command modules of `devfer.cli`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devfer import config as cfgmod
from devfer.layout import DatasetFiles


class UsageError(RuntimeError):
    """A command-line mistake; the message says what to give instead."""


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return cfgmod.load_config(args.config)


def _r(args: argparse.Namespace, *parts: str) -> str:
    """A path in the workflow's results layout."""
    return str(Path(args.results, *parts))


def _dataset_files(args: argparse.Namespace, name: str) -> DatasetFiles:
    """The workflow's files for a dataset, each replaced where given on the command line."""
    layout = DatasetFiles.of(name, args.results)
    return DatasetFiles(
        faces=args.faces or layout.faces,
        manifest=args.manifest or layout.manifest,
        store=args.store or layout.store,
    )


def _command(
    sub: Any, name: str, func: Callable[[argparse.Namespace], None], text: str, config: bool = True
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=text, description=text)
    if config:
        p.add_argument("--config", required=True, help="study config YAML (validated first)")
        p.add_argument("--results", default="results", help="results folder (default: results)")
    p.set_defaults(func=func)
    return p


def _threads(p: argparse.ArgumentParser, default: int = 1) -> None:
    p.add_argument("--threads", type=int, default=default, help="torch threads")


def _face_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--faces", help="faces table (default: the results layout)")
    p.add_argument("--manifest", help="manifest table (default: the results layout)")
    p.add_argument("--store", help="crop store .npy (default: the results layout)")
