"""One function per workflow stage, called by the Snakemake scripts and the `devfer` CLI.

Each takes the settings the stage depends on (as the rules' params pass them) and paths;
the science lives in the modules they call.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("devfer")


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
        old_stderr, sys.stderr = sys.stderr, stream
        try:
            yield
        except Exception as exc:
            from devfer.config import ConfigError
            from devfer.manifest import DatasetError

            if isinstance(exc, ConfigError | DatasetError):
                # The message names the file and the fix; a traceback would bury it.
                log.error("%s", exc)
                raise SystemExit(1) from None
            log.exception("stage failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)


def simulate(settings: Mapping[str, Any], dataset: str, out_dir: str, answer_key: str) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import simulate_dataset

    truth = simulate_dataset(dataset, settings["simulation"], settings["seed"], out_dir)
    write_table(truth, answer_key, "simulate", settings)
    log.info("simulated %d images of %s into %s", len(truth), dataset, out_dir)


def truth(midpoint: float, steepness: float, out: str) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import truth_curve

    settings = {"midpoint": midpoint, "steepness": steepness}
    write_table(truth_curve(midpoint, steepness), out, "simulate", settings)


def manifest(
    settings: Mapping[str, Any], out: str, qc_out: str, image_cache: str | None = None
) -> None:
    from devfer.manifest import build_manifest
    from devfer.provenance import write_table

    cache = Path(image_cache) if image_cache else None
    table, qc = build_manifest(settings["dataset"], settings["seed"], cache)
    write_table(table, out, "manifest", settings)
    write_table(qc, qc_out, "manifest", settings)
    dropped = int(qc.loc[qc["action"] == "dropped", "n"].sum())
    log.info(
        "%s: %d images kept %s, %d dropped",
        settings["dataset"]["name"],
        len(table),
        table["split"].value_counts().to_dict(),
        dropped,
    )


def align(
    settings: Mapping[str, Any],
    manifest_path: str,
    shard: int,
    shards: int,
    threads: int,
    out_table: str,
    out_store: str,
    progress: bool = True,
) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from devfer.faces import align_rows, shard_rows
    from devfer.provenance import write_table

    torch.set_num_threads(max(1, threads))
    rows = shard_rows(pd.read_parquet(manifest_path), shard, shards)
    log.info("%s shard %d/%d: %d images", manifest_path, shard + 1, shards, len(rows))
    table, crops = align_rows(rows, settings["faces"], settings["no_face"], progress=progress)
    Path(out_store).parent.mkdir(parents=True, exist_ok=True)
    np.save(out_store, crops)
    write_table(table, out_table, "faces", settings)
    log.info("status counts: %s", table["status"].value_counts().to_dict())


def gather(
    dataset: str,
    tables: Sequence[str],
    stores: Sequence[str],
    out_table: str,
    out_store: str,
    qc_out: str,
) -> None:
    from devfer.faces import gather as gather_shards
    from devfer.faces import status_summary
    from devfer.provenance import read_provenance, write_table

    faces = gather_shards(tables, stores, out_store)
    settings = read_provenance(tables[0]).get("settings", {}) if tables else {}
    write_table(faces, out_table, "faces", settings)
    write_table(status_summary(faces, dataset), qc_out, "faces", settings)
    detected = (faces["align_method"] == "landmarks").mean() if len(faces) else 0.0
    log.info("%s: %d images, %.2f%% faces detected", dataset, len(faces), 100 * detected)


def run_rule(smk: Any) -> None:
    """Entry point for workflow/scripts/run_stage.py: run the stage named by the rule."""
    import json

    rule, inp, out, params = smk.rule, smk.input, smk.output, smk.params
    with logged(smk.log[0] if smk.log else None):
        if rule == "simulate":
            simulate(json.loads(params.settings), smk.wildcards.sim, out.images, out.answer_key)
        elif rule == "simulation_truth":
            truth(params.midpoint, params.steepness, out[0])
        elif rule == "manifest":
            manifest(json.loads(params.settings), out.manifest, out.qc, params.image_cache)
        elif rule == "faces_shard":
            align(
                json.loads(params.settings), inp.manifest, int(smk.wildcards.shard),
                params.shards, smk.threads, out.table, out.store,
            )  # fmt: skip
        elif rule == "faces":
            gather(smk.wildcards.dataset, inp.tables, inp.stores, out.table, out.store, out.qc)
        else:
            raise ValueError(f"no devfer stage for rule {rule!r}")
