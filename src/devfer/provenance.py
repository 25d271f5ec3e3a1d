"""Every table devfer writes carries the settings and software versions that made it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import devfer

_PACKAGES = ("torch", "torchvision", "facenet-pytorch", "numpy", "pandas", "pillow", "pyarrow")
META_KEY = b"devfer"


def versions() -> dict[str, str]:
    found = {"devfer": devfer.__version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _plain(value: Any) -> Any:
    """Settings objects (dataclasses, possibly inside dicts) as plain JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def provenance(stage: str, settings: Any = None) -> dict[str, Any]:
    return {
        "stage": stage,
        "settings": _plain(settings or {}),
        "versions": versions(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_table(df: pd.DataFrame, path: str | Path, stage: str, settings: Any = None) -> Path:
    """Write a Parquet table with provenance in its schema metadata (pandas keeps it too)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(provenance(stage, settings), default=str).encode()
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # readers never see a half-written table
    return path


def read_provenance(path: str | Path) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata or {}
    if META_KEY not in meta:
        return {}
    return json.loads(meta[META_KEY])
