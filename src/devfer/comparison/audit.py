"""The fairness audit of the study's own expression models (`snakemake fairness`).

Each model's eligible evaluation faces (never trained or validated on, nor their subjects),
every seed pooled (a subject's faces stay one bootstrap cluster across seeds), audited by
the attributes the data carry: the age group the study assigned, and for simulated datasets
the answer key's sex and skin tone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from devfer.comparison.fairness import fairness_audit
from devfer.comparison.settings import ScoreSettings
from devfer.provenance import write_table

log = logging.getLogger(__name__)


def with_attributes(predictions: pd.DataFrame, answer_keys: Sequence[str]) -> pd.DataFrame:
    """The prediction table with `sex` and `skin_tone` from the answer keys (NA elsewhere)."""
    out = predictions.copy()
    keys = [pd.read_parquet(k) for k in answer_keys]
    columns = ["sex", "skin_tone"]
    known = pd.concat(
        [k[["image_id", *[c for c in columns if c in k]]] for k in keys], ignore_index=True
    ) if keys else pd.DataFrame(columns=["image_id"])  # fmt: skip
    known = known.drop_duplicates("image_id").set_index("image_id")
    for column in columns:
        values = known[column] if column in known else pd.Series(dtype="string")
        out[column] = out["image_id"].map(values).astype("string")
    return out


def audit_models(
    *,
    settings: ScoreSettings,
    predictions: Sequence[str],
    answer_keys: Sequence[str],
    out: str,
    out_gaps: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per model: every metric per group with its subject-bootstrap interval, and the largest
    gap per attribute with its permutation test."""
    per_group, gaps = [], []
    for path in predictions:
        table = with_attributes(pd.read_parquet(path), answer_keys)
        model = str(table["model"].iloc[0]) if "model" in table else path
        table = table[table["eligible"]].reset_index(drop=True)
        attributes = [a for a in settings.fairness if table[a].notna().any()]
        if not attributes:
            log.info("%s: no attribute to audit by", model)
            continue
        one, gap = fairness_audit(
            table,
            attributes,
            settings.classes,
            n_boot=settings.n_boot,
            n_permutations=settings.n_permutations,
            seed=settings.seed,
        )
        seeds = table["seed"].nunique() if "seed" in table else 1
        per_group.append(one.assign(model=model, n_seeds=seeds))
        gaps.append(gap.assign(model=model, n_seeds=seeds))
        for r in gap[gap["metric"] == "accuracy"].itertuples():
            log.info(
                "%s by %s: accuracy %s %.3f vs %s %.3f (gap %.3f, p = %.3f)",
                model, r.attribute, r.group_max, r.estimate_max, r.group_min, r.estimate_min,
                r.gap, r.p_value,
            )  # fmt: skip
    front = ["model", "n_seeds"]
    tables = []
    for parts in (per_group, gaps):
        t = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"model": []})
        tables.append(t[[*[c for c in front if c in t], *[c for c in t if c not in front]]])
    write_table(tables[0], out, "fairness", {"settings": settings})
    write_table(tables[1], out_gaps, "fairness", {"settings": settings})
    return tables[0], tables[1]
