"""The comparison's tables: every run scored, runs summarised per backbone, the audit.

* `metrics.parquet`: backbone x run x metric, scikit-learn's estimate with a subject-bootstrap
  interval (`run_metrics`);
* `summary.parquet`: backbone x metric, mean, SD, min and max across runs (seeds, folds;
  `replicate_summary`), with the backbone's cost beside it where measured;
* `per_class.parquet`: backbone x run x class report with support; `confusion.parquet`;
* `fairness.parquet` and `fairness_gaps.parquet`: per backbone, every run's test faces
  pooled (with folds, each face once per seed), audited by each attribute the data carry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from devfer.comparison.fairness import fairness_audit
from devfer.comparison.metrics import (
    class_probabilities,
    confusion_table,
    per_class_report,
    replicate_summary,
    run_metrics,
)
from devfer.comparison.settings import ScoreSettings
from devfer.progress import bar
from devfer.provenance import write_table
from devfer.simulate.identity import SKIN_TONE_GROUPS

log = logging.getLogger(__name__)


def _runs(frame: pd.DataFrame) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    return list(frame.groupby(["backbone", "replicate"], sort=False))


def score_runs(frame: pd.DataFrame, settings: ScoreSettings) -> dict[str, pd.DataFrame]:
    """Every table but the summary's cost, from the runs' pooled prediction tables."""
    classes = list(settings.classes)
    metrics, per_class, confusion = [], [], []
    for (backbone, replicate), run in bar(_runs(frame), desc="score runs", unit="run"):
        proba = class_probabilities(run, classes)
        keys = {"backbone": backbone, "replicate": replicate}
        m = run_metrics(run, classes, proba=proba, n_boot=settings.n_boot, seed=settings.seed)
        metrics.append(m.assign(**keys))
        report = per_class_report(run["label"], run["pred"], classes, proba)
        per_class.append(report.assign(**keys))
        confusion.append(confusion_table(run["label"], run["pred"], classes).assign(**keys))
    metrics_t = _front(pd.concat(metrics, ignore_index=True), ["backbone", "replicate"])
    per_group, gaps = [], []
    attributes = [a for a in settings.fairness if a in frame and frame[a].notna().any()]
    left_out = sorted(set(settings.fairness) - set(attributes))
    if left_out:
        log.info("fairness: the data carry no %s; not audited", ", ".join(left_out))
    for backbone, runs in frame.groupby("backbone", sort=False):
        if not attributes:
            break
        one, gap = fairness_audit(
            runs.reset_index(drop=True),
            attributes,
            classes,
            n_boot=settings.n_boot,
            n_permutations=settings.n_permutations,
            seed=settings.seed,
        )
        one = ordered_groups(one, runs)
        per_group.append(one.assign(backbone=backbone, n_runs=runs["replicate"].nunique()))
        gaps.append(gap.assign(backbone=backbone))
    return {
        "metrics": metrics_t,
        "summary": replicate_summary(metrics_t, ["backbone", "metric"]),
        "per_class": _front(pd.concat(per_class, ignore_index=True), ["backbone", "replicate"]),
        "confusion": _front(pd.concat(confusion, ignore_index=True), ["backbone", "replicate"]),
        "fairness": _front(_concat(per_group), ["backbone"]),
        "fairness_gaps": _front(_concat(gaps), ["backbone"]),
    }


def ordered_groups(per_group: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Audit rows with age groups youngest first (by their faces' mean age) and skin tones
    light to dark; attributes keep their audited order."""
    rank = pd.Series(0.0, index=per_group.index)
    if "age" in frame and "age_group" in frame:
        mean_age = frame.groupby("age_group")["age"].mean()
        ages = per_group["attribute"] == "age_group"
        rank[ages] = per_group.loc[ages, "group"].map(mean_age).fillna(0.0)
    tones = per_group["attribute"] == "skin_tone"
    rank[tones] = per_group.loc[tones, "group"].map(
        {t: float(i) for i, t in enumerate(SKIN_TONE_GROUPS)}
    )
    attribute_rank = {a: i for i, a in enumerate(dict.fromkeys(per_group["attribute"]))}
    order = per_group.assign(_a=per_group["attribute"].map(attribute_rank), _r=rank.fillna(9.0))
    order = order.sort_values(["_a", "_r"], kind="stable")
    return order.drop(columns=["_a", "_r"]).reset_index(drop=True)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"backbone": []})


def _front(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return table[[*columns, *[c for c in table.columns if c not in columns]]]


def with_cost(summary: pd.DataFrame, cost: pd.DataFrame) -> pd.DataFrame:
    """The summary with the CPU cost of each backbone (params, GFLOPs, latency, throughput)."""
    cpu = cost[cost["device"] == "cpu"].set_index("backbone")
    columns = ["params", "gflops", "latency_ms", "throughput_img_s", "threads"]
    return summary.join(cpu[columns], on="backbone")


#: The age group of a zoo image whose age is unknown (a FER-2013-like set has none).
UNKNOWN_AGE = "age unknown"


def affect_scores(frame: pd.DataFrame, settings: ScoreSettings) -> pd.DataFrame:
    """Valence-arousal metrics per backbone x age group (replicates averaged like seeds),
    empty when no run has that head (`devfer.evaluate.affect`)."""
    from devfer.evaluate.affect import COLUMNS, affect_metrics

    if "valence_pred" not in frame or frame["valence_pred"].isna().all():
        return pd.DataFrame(columns=["backbone", *COLUMNS[1:]])
    runs = frame[frame["valence_pred"].notna()].assign(
        model=lambda f: f["backbone"],
        seed=lambda f: f["replicate"],
        age_group=lambda f: f["age_group"].astype(object).fillna(UNKNOWN_AGE),
    )
    groups = list(dict.fromkeys(runs.sort_values("age")["age_group"]))
    table = affect_metrics(runs, groups, settings.n_boot, settings.seed)
    return table.rename(columns={"model": "backbone"})


def gather_comparison(
    *,
    settings: ScoreSettings,
    predictions: Sequence[str],
    cost: str,
    out: dict[str, str],
) -> dict[str, pd.DataFrame]:
    """Score every run's predictions and write the tables named in `out` (keys as
    `score_runs` returns them)."""
    frame = pd.concat([pd.read_parquet(p) for p in predictions], ignore_index=True)
    tables = score_runs(frame, settings)
    tables["summary"] = with_cost(tables["summary"], pd.read_parquet(cost))
    tables["valence_arousal"] = affect_scores(frame, settings)
    for name, path in out.items():
        write_table(tables[name], path, "comparison", {"settings": settings})
    for row in tables["summary"][tables["summary"]["metric"] == "accuracy"].itertuples():
        log.info("%s: accuracy %.3f (SD %.3f over %d runs)", row.backbone, row.mean, row.sd,
                 row.n_replicates)  # fmt: skip
    return tables


def comparison_reports(
    tables: dict[str, pd.DataFrame], *, figures: str, table_md: str, table_tex: str
) -> None:
    """The comparison's figures (`{figures}_cost`, `_per_class`, `_fairness`; PNG and PDF)
    and its paper table in Markdown and LaTeX."""
    from devfer.figures.comparison import (
        accuracy_cost_plot,
        comparison_table,
        fairness_plot,
        per_class_f1_plot,
    )
    from devfer.figures.tables import to_latex, to_markdown
    from devfer.figures.theme import DOUBLE_COLUMN_MM, SINGLE_COLUMN_MM, save_figure

    save_figure(accuracy_cost_plot(tables["summary"]), f"{figures}_cost", SINGLE_COLUMN_MM, 80)
    n_classes = tables["per_class"]["class"].nunique()
    save_figure(
        per_class_f1_plot(tables["per_class"]),
        f"{figures}_per_class",
        SINGLE_COLUMN_MM,
        40 + 12 * n_classes,
    )
    if len(tables["fairness"]):
        n_groups = tables["fairness"].groupby("attribute")["group"].nunique().sum()
        save_figure(
            fairness_plot(tables["fairness"]),
            f"{figures}_fairness",
            DOUBLE_COLUMN_MM,
            50 + 14 * n_groups,
        )
    paper = comparison_table(tables["summary"])
    caption = "Backbones compared on one split: mean ± SD across runs, and their cost"
    Path(table_md).write_text(to_markdown(paper), encoding="utf-8")
    Path(table_tex).write_text(to_latex(paper, caption, "tab:comparison"), encoding="utf-8")
