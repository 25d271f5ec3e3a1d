"""The faces stage: detect and align a manifest shard, then gather the shards."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from devfer.faces.detect import align_rows, gather, shard_rows, status_summary
from devfer.faces.settings import FacesSettings
from devfer.provenance import read_provenance, write_table
from devfer.runlog import set_threads

log = logging.getLogger(__name__)


def align_shard(
    *,
    settings: FacesSettings,
    manifest: str,
    shard: int,
    shards: int,
    threads: int,
    out_table: str,
    out_store: str,
    progress: bool = True,
) -> None:
    """Detect and align block `shard` of `shards` of a manifest into a table and crop store."""
    set_threads(threads)
    rows = shard_rows(pd.read_parquet(manifest), shard, shards)
    log.info("%s shard %d/%d: %d images", manifest, shard + 1, shards, len(rows))
    table, crops = align_rows(rows, settings, progress=progress)
    Path(out_store).parent.mkdir(parents=True, exist_ok=True)
    np.save(out_store, crops)
    write_table(table, out_table, "faces", settings)
    log.info("status counts: %s", table["status"].value_counts().to_dict())


def gather_shards(
    *,
    dataset: str,
    tables: Sequence[str],
    stores: Sequence[str],
    out_table: str,
    out_store: str,
    qc_out: str,
) -> None:
    """One faces table and crop store per dataset, and its QC summary."""
    faces = gather(tables, stores, out_store)
    settings = read_provenance(tables[0]).get("settings", {}) if tables else {}
    write_table(faces, out_table, "faces", settings)
    write_table(status_summary(faces, dataset), qc_out, "faces", settings)
    detected = (faces["align_method"] == "landmarks").mean() if len(faces) else 0.0
    log.info("%s: %d images, %.2f%% faces detected", dataset, len(faces), 100 * detected)
