"""The manifest stage: a dataset's adapter → one row per image, and what was dropped, why."""

from __future__ import annotations

import logging
from pathlib import Path

from devfer.manifest.adapters import build_manifest
from devfer.manifest.settings import DatasetSettings
from devfer.provenance import write_table

log = logging.getLogger(__name__)


def write_manifest(
    *, dataset: DatasetSettings, seed: int, out: str, qc_out: str, image_cache: str | None = None
) -> None:
    """Write `results/manifests/{dataset}.parquet` and its QC table."""
    cache = Path(image_cache) if image_cache else None
    table, qc = build_manifest(dataset, seed, cache)
    settings = {"seed": seed, "dataset": dataset}
    write_table(table, out, "manifest", settings)
    write_table(qc, qc_out, "manifest", settings)
    dropped = int(qc.loc[qc["action"] == "dropped", "n"].sum())
    log.info(
        "%s: %d images kept %s, %d dropped",
        dataset.name,
        len(table),
        table["split"].value_counts().to_dict(),
        dropped,
    )
