"""The `devfer` command: one subcommand per workflow stage.

Snakemake rules pass the exact settings a stage depends on as JSON (`--settings`); a
person can pass the study's config file instead (`--config`), and the same extraction
runs on it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devfer import config as cfgmod

log = logging.getLogger("devfer")


class UsageError(RuntimeError):
    pass


def _settings(args: argparse.Namespace, extract: Callable[[dict, str], dict]) -> dict[str, Any]:
    if args.settings:
        return json.loads(args.settings)
    if args.config:
        return extract(cfgmod.load_config(args.config), args.dataset)
    raise UsageError("give --config FILE (the study config) or --settings JSON")


def _add_source(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--config", help="study config YAML (validated)")
    group.add_argument("--settings", help="JSON settings, as the Snakemake rules pass them")
    p.add_argument("--dataset", required=True, help="dataset name from the config")


def cmd_check_config(args: argparse.Namespace) -> None:
    cfg = cfgmod.load_config(args.config_file)
    print(f"{args.config_file}: valid ({len(cfg['datasets'])} datasets)")


def cmd_simulate(args: argparse.Namespace) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import simulate_dataset

    s = _settings(args, cfgmod.simulation_settings)
    truth = simulate_dataset(args.dataset, s["simulation"], s["seed"], args.out_dir)
    write_table(truth, args.answer_key, "simulate", s)
    log.info("simulated %d images of %s into %s", len(truth), args.dataset, args.out_dir)


def cmd_truth(args: argparse.Namespace) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import truth_curve

    if args.config:
        sim = cfgmod.load_config(args.config)["simulation"]
        midpoint, steepness = sim["midpoint"], sim["steepness"]
    else:
        midpoint, steepness = args.midpoint, args.steepness
    settings = {"midpoint": midpoint, "steepness": steepness}
    write_table(truth_curve(midpoint, steepness), args.out, "simulate", settings)


def cmd_manifest(args: argparse.Namespace) -> None:
    from devfer.manifest import build_manifest
    from devfer.provenance import write_table

    s = _settings(args, cfgmod.manifest_settings)
    cache = Path(args.image_cache) if args.image_cache else None
    manifest, qc = build_manifest(s["dataset"], s["seed"], cache)
    write_table(manifest, args.out, "manifest", s)
    write_table(qc, args.qc, "manifest", s)
    counts = manifest["split"].value_counts().to_dict()
    log.info("%s: %d images kept %s, %d dropped", args.dataset, len(manifest), counts,
             int(qc.loc[qc["action"] == "dropped", "n"].sum()))  # fmt: skip


def cmd_align(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from devfer.faces import align_rows, shard_rows
    from devfer.provenance import write_table

    s = _settings(args, cfgmod.faces_settings)
    torch.set_num_threads(max(1, args.threads))
    manifest = pd.read_parquet(args.manifest)
    rows = shard_rows(manifest, args.shard, args.shards)
    log.info("%s shard %d/%d: %d images", args.dataset, args.shard + 1, args.shards, len(rows))
    table, crops = align_rows(rows, s["faces"], s["no_face"], progress=not args.quiet)
    Path(args.out_store).parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out_store, crops)
    write_table(table, args.out_table, "faces", s)
    log.info("status counts: %s", table["status"].value_counts().to_dict())


def cmd_gather(args: argparse.Namespace) -> None:
    from devfer.faces import gather, status_summary
    from devfer.provenance import read_provenance, write_table

    faces = gather(args.tables, args.stores, args.out_store)
    settings = read_provenance(args.tables[0]).get("settings", {}) if args.tables else {}
    write_table(faces, args.out_table, "faces", settings)
    summary = status_summary(faces, args.dataset)
    write_table(summary, args.qc, "faces", settings)
    detected = (faces["align_method"] == "landmarks").mean() if len(faces) else 0.0
    log.info("%s: %d images, %.2f%% faces detected", args.dataset, len(faces), 100 * detected)


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

    p = sub.add_parser("truth", help="write the true w(age) curve")
    p.add_argument("--config")
    p.add_argument("--midpoint", type=float, default=10.0)
    p.add_argument("--steepness", type=float, default=0.8)
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
