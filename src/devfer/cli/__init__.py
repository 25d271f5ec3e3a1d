"""The `devfer` command: every workflow stage, outside Snakemake.

Each subcommand reads the study config (`--config`, validated first), builds the same typed
settings the Snakemake rules pass, and calls the same function as the rule's script. File
arguments default to the workflow's own layout under `--results` (default `results`), so
`devfer train --config config/config.yaml --model adult` trains what `snakemake` would.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from devfer.cli.calibration import add_calibration_commands
from devfer.cli.common import UsageError
from devfer.cli.comparison import add_comparison_commands
from devfer.cli.predict import add_predict_commands
from devfer.cli.stages import add_stage_commands

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devfer", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_stage_commands(sub)
    add_calibration_commands(sub)
    add_comparison_commands(sub)
    add_predict_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from devfer.runlog import user_errors

    try:
        args.func(args)
    except (*user_errors(), UsageError) as exc:
        # Expected user errors: the message says what to fix; a traceback would bury it.
        print(f"devfer {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0
