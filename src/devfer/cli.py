"""The `devfer` command: one subcommand per workflow stage, for use outside Snakemake.

Pass the study's config file (`--config`) and a dataset name; the same settings the
Snakemake rules extract are taken from it, validated first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from devfer import config as cfgmod
from devfer import stages


class UsageError(RuntimeError):
    """A command-line mistake; the message says what to give instead."""


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="study config YAML (validated)")
    p.add_argument("--dataset", required=True, help="dataset name from the config")


def cmd_check_config(args: argparse.Namespace) -> None:
    cfg = cfgmod.load_config(args.config_file)
    print(f"{args.config_file}: valid ({len(cfg['datasets'])} datasets)")


def cmd_simulate(args: argparse.Namespace) -> None:
    settings = cfgmod.simulation_settings(cfgmod.load_config(args.config), args.dataset)
    stages.simulate(settings, args.dataset, args.out_dir, args.answer_key)


def cmd_truth(args: argparse.Namespace) -> None:
    if args.config:
        sim = cfgmod.load_config(args.config)["simulation"]
        args.midpoint, args.steepness = sim["midpoint"], sim["steepness"]
        args.infant_similarity = sim["infant_similarity"]
    stages.truth(args.midpoint, args.steepness, args.out, args.infant_similarity)


def cmd_manifest(args: argparse.Namespace) -> None:
    settings = cfgmod.manifest_settings(cfgmod.load_config(args.config), args.dataset)
    stages.manifest(settings, args.out, args.qc, args.image_cache)


def cmd_align(args: argparse.Namespace) -> None:
    settings = cfgmod.faces_settings(cfgmod.load_config(args.config), args.dataset)
    stages.align(
        settings, args.manifest, args.shard, args.shards, args.threads,
        args.out_table, args.out_store, progress=not args.quiet,
    )  # fmt: skip


def cmd_gather(args: argparse.Namespace) -> None:
    stages.gather(args.dataset, args.tables, args.stores, args.out_table, args.out_store, args.qc)


def cmd_stats(args: argparse.Namespace) -> None:
    """Group-level trend analysis of a published accuracy table."""
    import pandas as pd

    from devfer.provenance import write_table
    from devfer.stats import fit_published_table

    path = Path(args.table)
    if not path.is_file():
        raise UsageError(f"table {path} does not exist.")
    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    try:
        result = fit_published_table(table)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    write_table(result, args.out, "statistics", {"table": str(path)})
    for _, row in result.iterrows():
        print(f"{row['model']}: {row['preferred']} ({row['test']} = {row['statistic']:.3g}, "
              f"p = {row['p_value']:.3g})")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devfer", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-config", help="validate a study config and exit")
    p.add_argument("config_file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("simulate", help="render one simulated dataset in its real format")
    _add_source(p)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--answer-key", required=True, help="per-image truth (Parquet)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("truth", help="write the true w(age) curve and transition age")
    p.add_argument("--config", help="take the simulation's parameters from this config")
    p.add_argument("--midpoint", type=float, default=10.0)
    p.add_argument("--steepness", type=float, default=0.8)
    p.add_argument("--infant-similarity", type=float, default=0.3)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_truth)

    p = sub.add_parser("manifest", help="ingest a dataset into a manifest + QC table")
    _add_source(p)
    p.add_argument("--out", required=True)
    p.add_argument("--qc", required=True)
    p.add_argument("--image-cache", help="where FER-2013 pixels are written as PNGs")
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("align", help="detect and align the faces of one manifest shard")
    _add_source(p)
    p.add_argument("--manifest", required=True)
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out-table", required=True)
    p.add_argument("--out-store", required=True)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("stats", help="fit linear vs nonlinear trends to a published table")
    p.add_argument("--table", required=True, help="CSV/Parquet: model, age_group, accuracy[, n]")
    p.add_argument("--out", required=True, help="Parquet file for the fits")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("gather", help="join aligned shards into one table and crop store")
    p.add_argument("--dataset", required=True)
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--stores", nargs="+", required=True)
    p.add_argument("--out-table", required=True)
    p.add_argument("--out-store", required=True)
    p.add_argument("--qc", required=True)
    p.set_defaults(func=cmd_gather)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from devfer.manifest import DatasetError

    try:
        args.func(args)
    except (cfgmod.ConfigError, DatasetError, UsageError) as exc:
        # Expected user errors: the message says what to fix; a traceback would bury it.
        print(f"devfer {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
