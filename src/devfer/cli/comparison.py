"""`devfer` commands for the model zoo and the fairness audit: each calls the function its
rule's script calls, with the same typed settings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from devfer.cli.common import UsageError, _command, _config, _r, _threads
from devfer.config import settings as S


def _runs(args: argparse.Namespace, cfg: dict[str, Any], name: str) -> list[str]:
    block = cfg["comparison"]
    runs = S.comparison_replicates(cfg)
    return [_r(args, "comparison", "runs", b, r, name) for b in block["backbones"] for r in runs]


def cmd_compare_run(args: argparse.Namespace) -> None:
    from devfer.comparison.run import train_run

    cfg = _config(args)
    settings = S.comparison(cfg)
    runs = S.comparison_replicates(cfg)
    replicate = args.replicate or runs[0]
    if replicate not in runs:
        raise UsageError(f"run '{replicate}' is not in the config; its runs: {', '.join(runs)}")
    name = settings.dataset
    key = _r(args, "simulation", f"{name}.parquet")
    simulated = name in cfg.get("simulation", {}).get("datasets", {})
    out = Path(_r(args, "comparison", "runs", args.backbone, replicate))
    out.mkdir(parents=True, exist_ok=True)
    train_run(
        settings=settings,
        groups=S.age_groups(cfg),
        backbone=args.backbone,
        replicate=replicate,
        manifest=args.manifest or _r(args, "manifests", f"{name}.parquet"),
        answer_key=args.answer_key or (key if simulated else None),
        out_predictions=str(out / "predictions.parquet"),
        out_history=str(out / "history.parquet"),
        out_model=str(out / "model.pt"),
        threads=args.threads,
    )


def cmd_compare_cost(args: argparse.Namespace) -> None:
    from devfer.comparison.cost import measure_costs

    cfg = _config(args)
    measure_costs(
        backbones=args.backbones or cfg["comparison"]["backbones"],
        settings=S.comparison_cost(cfg),
        out=args.out or _r(args, "comparison", "cost.parquet"),
        threads=args.threads,
    )


def cmd_compare(args: argparse.Namespace) -> None:
    from devfer.comparison.stage import comparison_reports, gather_comparison

    cfg = _config(args)
    names = ("metrics", "summary", "per_class", "confusion", "fairness", "fairness_gaps",
             "valence_arousal")  # fmt: skip
    tables = gather_comparison(
        settings=S.comparison_scores(cfg),
        predictions=args.predictions or _runs(args, cfg, "predictions.parquet"),
        cost=args.cost or _r(args, "comparison", "cost.parquet"),
        out={n: _r(args, "comparison", f"{n}.parquet") for n in names},
    )
    Path(_r(args, "figures")).mkdir(parents=True, exist_ok=True)
    Path(_r(args, "tables")).mkdir(parents=True, exist_ok=True)
    comparison_reports(
        tables,
        figures=_r(args, "figures", "comparison"),
        table_md=_r(args, "tables", "comparison.md"),
        table_tex=_r(args, "tables", "comparison.tex"),
    )


def cmd_fairness(args: argparse.Namespace) -> None:
    from devfer.comparison.audit import audit_models

    cfg = _config(args)
    models = S.models(cfg)
    simulated = cfg.get("simulation", {}).get("datasets", {})
    evaluated = S.evaluation_datasets(cfg) if models else []
    audit_models(
        settings=S.study_fairness(cfg),
        predictions=args.predictions or [_r(args, "predictions", f"{m}.parquet") for m in models],
        answer_keys=[_r(args, "simulation", f"{d}.parquet") for d in evaluated if d in simulated],
        out=args.out or _r(args, "metrics", "fairness.parquet"),
        out_gaps=args.out_gaps or _r(args, "metrics", "fairness_gaps.parquet"),
    )


def add_comparison_commands(sub: Any) -> None:
    text = "train and score one backbone, seed and fold (rule comparison_run)"
    p = _command(sub, "compare-run", cmd_compare_run, text)
    p.add_argument("--backbone", required=True, help="a timm model name")
    p.add_argument("--replicate", help="seed2026-fold0 (default: the config's first run)")
    p.add_argument("--manifest")
    p.add_argument("--answer-key")
    _threads(p)

    text = "params, FLOPs, latency and throughput of each backbone (rule comparison_cost)"
    p = _command(sub, "compare-cost", cmd_compare_cost, text)
    p.add_argument("--backbones", nargs="+", help="default: comparison.backbones")
    _threads(p)
    p.add_argument("--out")

    text = "score every comparison run: tables, figures, audit (rule comparison)"
    p = _command(sub, "compare", cmd_compare, text)
    p.add_argument("--predictions", nargs="+")
    p.add_argument("--cost")

    text = "the study's models audited by age group, sex and skin tone (rule fairness)"
    p = _command(sub, "fairness", cmd_fairness, text)
    p.add_argument("--predictions", nargs="+")
    p.add_argument("--out")
    p.add_argument("--out-gaps")
