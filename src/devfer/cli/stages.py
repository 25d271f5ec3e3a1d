"""`devfer` commands for the workflow's stages: each calls the function its rule's script
calls, with the same typed settings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from devfer import config as cfgmod
from devfer.cli.common import (
    UsageError,
    _command,
    _config,
    _dataset_files,
    _face_inputs,
    _r,
    _threads,
)
from devfer.config import settings as S
from devfer.layout import (
    DatasetFiles,
    EvaluationData,
    ages_file,
    control_files,
    control_predictions,
)
from devfer.simulate.settings import CONTROLS


def cmd_check_config(args: argparse.Namespace) -> None:
    cfg = cfgmod.load_config(args.config_file)
    cfgmod.check_roots(cfg)
    print(f"{args.config_file}: valid ({len(cfg['datasets'])} datasets)")


def cmd_simulate(args: argparse.Namespace) -> None:
    from devfer.simulate.stage import simulate

    cfg = _config(args)
    simulate(
        name=args.dataset,
        dataset=S.simulated_dataset(cfg, args.dataset),
        settings=S.simulation(cfg),
        seed=cfg["seed"],
        out_dir=args.out_dir or _r(args, "simulation", args.dataset),
        answer_key=args.answer_key or _r(args, "simulation", f"{args.dataset}.parquet"),
    )


def cmd_truth(args: argparse.Namespace) -> None:
    from devfer.simulate.stage import write_truth

    sim = S.simulation(_config(args))
    write_truth(
        midpoint=sim.midpoint,
        steepness=sim.steepness,
        infant_similarity=sim.infant_similarity,
        expression_development=sim.expression_development,
        out=args.out or _r(args, "simulation", "truth.parquet"),
    )


def cmd_manifest(args: argparse.Namespace) -> None:
    from devfer.manifest.stage import write_manifest

    cfg = _config(args)
    write_manifest(
        dataset=S.dataset(cfg, args.dataset),
        seed=cfg["seed"],
        out=args.out or _r(args, "manifests", f"{args.dataset}.parquet"),
        qc_out=args.qc or _r(args, "qc", "manifest", f"{args.dataset}.parquet"),
        image_cache=args.image_cache or _r(args, "sources", args.dataset),
    )


def cmd_align(args: argparse.Namespace) -> None:
    from devfer.faces.stage import align_shard

    shard_dir = ("faces", "shards", args.dataset)
    align_shard(
        settings=S.faces(_config(args), args.dataset),
        manifest=args.manifest or _r(args, "manifests", f"{args.dataset}.parquet"),
        shard=args.shard,
        shards=args.shards,
        threads=args.threads,
        out_table=args.out_table or _r(args, *shard_dir, f"{args.shard:03d}.parquet"),
        out_store=args.out_store or _r(args, *shard_dir, f"{args.shard:03d}.npy"),
        progress=not args.quiet,
    )


def cmd_gather(args: argparse.Namespace) -> None:
    from devfer.faces.stage import gather_shards

    gather_shards(
        dataset=args.dataset,
        tables=args.tables,
        stores=args.stores,
        out_table=args.out_table or _r(args, "faces", f"{args.dataset}.parquet"),
        out_store=args.out_store or _r(args, "faces", f"{args.dataset}.npy"),
        qc_out=args.qc or _r(args, "qc", "faces", f"{args.dataset}.parquet"),
    )


def _age_dataset(cfg: dict[str, Any]) -> str:
    """The age-labelled dataset the estimator trains and is scored on."""
    name = cfg["ages"].get("dataset")
    if not name:
        raise UsageError("the config names no age-labelled dataset (ages.dataset).")
    return name


def cmd_ages_train(args: argparse.Namespace) -> None:
    from devfer.ages.stage import train_estimator

    cfg = _config(args)
    name = _age_dataset(cfg)
    train_estimator(
        settings=S.age_train(cfg),
        files=_dataset_files(args, name),
        out_model=args.out_model or _r(args, "models", "age_estimator", "model.pt"),
        out_history=args.out_history or _r(args, "models", "age_estimator", "history.parquet"),
        threads=args.threads,
    )


def _age_model(args: argparse.Namespace, cfg: dict[str, Any]) -> str:
    return (
        args.model or cfg["ages"]["checkpoint"] or _r(args, "models", "age_estimator", "model.pt")
    )


def cmd_ages_predict(args: argparse.Namespace) -> None:
    from devfer.ages.stage import predict_dataset

    cfg = _config(args)
    predict_dataset(
        settings=S.age_predict(cfg, args.dataset),
        dataset=args.dataset,
        files=_dataset_files(args, args.dataset),
        model=_age_model(args, cfg),
        out=args.out or _r(args, "ages", f"{args.dataset}.parquet"),
        threads=args.threads,
        answer_key=args.answer_key or _r(args, "simulation", f"{args.dataset}.parquet"),
    )


def cmd_ages_metrics(args: argparse.Namespace) -> None:
    from devfer.ages.stage import score_estimator

    cfg = _config(args)
    name = _age_dataset(cfg)
    score_estimator(
        settings=S.age_predict(cfg, name),
        files=_dataset_files(args, name),
        model=_age_model(args, cfg),
        out=args.out or _r(args, "ages", "estimator_metrics.parquet"),
        test_out=args.test_out or _r(args, "ages", "estimator_test.parquet"),
        threads=args.threads,
    )


def _model_name(cfg: dict[str, Any], name: str) -> str:
    if name not in S.models(cfg):
        raise UsageError(f"model '{name}' is not in the config; models: {S.models(cfg)}.")
    return name


def cmd_train(args: argparse.Namespace) -> None:
    from devfer.train.stage import train_model

    cfg = _config(args)
    name = _model_name(cfg, args.model)
    block = cfg["models"][name]
    seed = args.seed if args.seed is not None else cfg["models"]["seeds"][0]
    grid_point = None
    if args.grid_point is not None:
        points = S.grid(cfg).points
        if not 0 <= args.grid_point < len(points):
            raise UsageError(f"--grid-point must be 0..{len(points) - 1} for this config's grid.")
        grid_point = points[args.grid_point]
    where = f"grid/{args.grid_point}" if grid_point else f"seed{seed}"
    ages = _r(args, "ages", f"{block['dataset']}.parquet") if block["age_groups"] else None
    grid = _r(args, "models", name, "grid.parquet") if block["use_grid_best"] else None
    train_model(
        settings=S.grid_point(cfg, name) if grid_point else S.train_model(cfg, name),
        seed=cfg["seed"] if grid_point else seed,
        files=_dataset_files(args, block["dataset"]),
        ages=ages,
        grid=None if grid_point else grid,
        grid_point=grid_point,
        out_model=args.out_model or _r(args, "models", name, where, "model.pt"),
        out_history=args.out_history or _r(args, "models", name, where, "history.parquet"),
        threads=args.threads,
    )


def cmd_evaluate_predict(args: argparse.Namespace) -> None:
    from devfer.evaluate.stage import predict_model

    cfg = _config(args)
    name = _model_name(cfg, args.model)
    checkpoints = args.checkpoints or [
        _r(args, "models", name, f"seed{s}", "model.pt") for s in cfg["models"]["seeds"]
    ]
    if args.control:  # the control renderings, with the ages of the faces they pair with
        data = [
            EvaluationData(
                files=control_files(d, args.control, args.results),
                ages=ages_file(d, args.results),
            )
            for d in _controlled(cfg)
        ]
        out = control_predictions(name, args.control, args.results)
    else:
        data = [
            EvaluationData(files=DatasetFiles.of(d, args.results), ages=ages_file(d, args.results))
            for d in S.evaluation_datasets(cfg)
        ]
        out = _r(args, "predictions", f"{name}.parquet")
    predict_model(
        settings=S.evaluation(cfg),
        name=name,
        checkpoints=checkpoints,
        data=data,
        out=args.out or out,
        threads=args.threads,
    )


def _controlled(cfg: dict[str, Any]) -> list[str]:
    """The simulated evaluation datasets, whose faces have control renderings."""
    simulated = cfg.get("simulation", {}).get("datasets", {})
    return [d for d in S.evaluation_datasets(cfg) if d in simulated]


def cmd_control(args: argparse.Namespace) -> None:
    from devfer.layout import training_data, training_inputs
    from devfer.simulate.stage import simulate_control

    cfg = _config(args)
    files = control_files(args.dataset, args.control, args.results)
    models = S.training_datasets(cfg)
    simulate_control(
        name=args.dataset,
        control=args.control,
        settings=S.simulation(cfg),
        seed=cfg["seed"],
        answer_key=_r(args, "simulation", f"{args.dataset}.parquet"),
        faces=DatasetFiles.of(args.dataset, args.results),
        training=training_data(training_inputs(models, args.results), models),
        out_dir=str(Path(files.manifest).parent / "images"),
        out_manifest=files.manifest,
    )


def _predictions(args: argparse.Namespace, cfg: dict[str, Any]) -> list[str]:
    return args.predictions or [_r(args, "predictions", f"{m}.parquet") for m in S.models(cfg)]


def cmd_evaluate(args: argparse.Namespace) -> None:
    from devfer.evaluate.stage import evaluate_models

    cfg = _config(args)
    evaluate_models(
        settings=S.evaluation(cfg),
        predictions=_predictions(args, cfg),
        cross_group_out=_r(args, "metrics", "cross_group.parquet"),
        by_seed_out=_r(args, "metrics", "cross_group_by_seed.parquet"),
        confusion_out=_r(args, "metrics", "confusion.parquet"),
        composition_out=_r(args, "metrics", "composition.parquet"),
    )


def cmd_evaluate_affect(args: argparse.Namespace) -> None:
    from devfer.evaluate.stage import evaluate_affect
    from devfer.figures.stage import affect_figures

    cfg = _config(args)
    simulated = cfg.get("simulation", {}).get("datasets", {})
    keys = [d for d in S.evaluation_datasets(cfg) if d in simulated]
    out = _r(args, "metrics", "valence_arousal.parquet")
    evaluate_affect(
        settings=S.evaluation(cfg),
        predictions=_predictions(args, cfg),
        answer_keys=[_r(args, "simulation", f"{d}.parquet") for d in keys],
        out=out,
    )
    if args.figures:
        models = [m for m in S.models(cfg) if S.model(cfg, m).valence_arousal.enabled]
        affect_figures(
            metrics=out,
            predictions=[_r(args, "predictions", f"{m}.parquet") for m in models],
            groups=S.age_groups(cfg),
            ccc_figure=_r(args, "figures", "valence_arousal_ccc"),
            circumplex_figures={m: _r(args, "figures", f"circumplex_{m}") for m in models},
            table_md=_r(args, "tables", "valence_arousal.md"),
            table_tex=_r(args, "tables", "valence_arousal.tex"),
        )


def cmd_statistics(args: argparse.Namespace) -> None:
    from devfer.stats.stage import run_statistics

    cfg = _config(args)
    truth = _r(args, "simulation", "truth.parquet") if cfg.get("simulation") else None
    run_statistics(
        settings=S.evaluation(cfg),
        predictions=_predictions(args, cfg),
        cross_group_table=_r(args, "metrics", "cross_group.parquet"),
        truth=args.truth or truth,
        trend_fits_out=_r(args, "stats", "trend_fits.parquet"),
        trend_curves_out=_r(args, "stats", "trend_curves.parquet"),
        transition_out=_r(args, "stats", "transition.parquet"),
        sensitivity_out=_r(args, "stats", "sensitivity.parquet"),
        decomposition_out=_r(args, "stats", "decomposition.parquet"),
        decomposition_change_out=_r(args, "stats", "decomposition_change.parquet"),
        controls=_control_predictions(args, cfg),
        threads=args.threads,
    )


def _control_predictions(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, list[str]]:
    """Each configured control's predictions, where every model's file is there."""
    out = {}
    for control in cfg.get("simulation", {}).get("controls", []):
        files = [control_predictions(m, control, args.results) for m in S.models(cfg)]
        if all(Path(f).exists() for f in files):
            out[control] = files
    return out


def cmd_histories(args: argparse.Namespace) -> None:
    from devfer.train.stage import gather_histories

    cfg = _config(args)
    histories = [
        _r(args, "models", m, f"seed{s}", "history.parquet")
        for m in S.models(cfg)
        for s in cfg["models"]["seeds"]
    ]
    if cfg["ages"].get("dataset") and not cfg["ages"]["checkpoint"]:
        histories.append(_r(args, "models", "age_estimator", "history.parquet"))
    gather_histories(histories=histories, out=_r(args, "models", "histories.parquet"))


def cmd_figures(args: argparse.Namespace) -> None:
    from devfer.figures.stage import make_figures

    cfg = _config(args)
    names = {
        "cross_group": "metrics/cross_group.parquet",
        "confusion": "metrics/confusion.parquet",
        "composition": "metrics/composition.parquet",
        "trend_fits": "stats/trend_fits.parquet",
        "trend_curves": "stats/trend_curves.parquet",
        "transition": "stats/transition.parquet",
        "histories": "models/histories.parquet",
        "estimator_test": "ages/estimator_test.parquet",
        "estimator_metrics": "ages/estimator_metrics.parquet",
        "grid": "models/grid.parquet",
        "decomposition": "stats/decomposition.parquet",
        "decomposition_change": "stats/decomposition_change.parquet",
    }
    tables = {k: _r(args, v) for k, v in names.items() if Path(_r(args, v)).is_file()}
    make_figures(
        tables=tables,
        ages=[_r(args, "ages", f"{d}.parquet") for d in S.evaluation_datasets(cfg)],
        groups=S.age_groups(cfg),
        figure_dir=_r(args, "figures"),
        table_dir=_r(args, "tables"),
    )


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
        print(
            f"{row['model']}: {row['preferred']} ({row['test']} = {row['statistic']:.3g}, "
            f"p = {row['p_value']:.3g})"
        )


def add_stage_commands(sub: Any) -> None:
    """One subcommand per stage, named after its rule; and `stats` for a published table."""

    p = _command(sub, "check-config", cmd_check_config, "validate a study config", False)
    p.add_argument("config_file")

    p = _command(sub, "simulate", cmd_simulate, "render one simulated dataset (rule simulate)")
    p.add_argument("--dataset", required=True, help="a dataset under simulation.datasets")
    p.add_argument("--out-dir")
    p.add_argument("--answer-key", help="per-image truth (Parquet)")

    p = _command(sub, "truth", cmd_truth, "the true w(age) curve (rule simulate_truth)")
    p.add_argument("--out")

    p = _command(sub, "manifest", cmd_manifest, "ingest a dataset (rule manifest)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out")
    p.add_argument("--qc")
    p.add_argument("--image-cache", help="where FER-2013 pixels are written as PNGs")

    p = _command(sub, "align", cmd_align, "detect and align one shard (rule faces_shard)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--manifest")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shards", type=int, default=1)
    _threads(p)
    p.add_argument("--out-table")
    p.add_argument("--out-store")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = _command(sub, "gather", cmd_gather, "join aligned shards (rule faces)", False)
    p.add_argument("--results", default="results")
    p.add_argument("--dataset", required=True)
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--stores", nargs="+", required=True)
    p.add_argument("--out-table")
    p.add_argument("--out-store")
    p.add_argument("--qc")

    p = _command(sub, "ages-train", cmd_ages_train, "train the age estimator (rule ages_train)")
    _face_inputs(p)
    _threads(p)
    p.add_argument("--out-model")
    p.add_argument("--out-history")

    p = _command(sub, "ages-predict", cmd_ages_predict, "ages and groups (rule ages_predict)")
    p.add_argument("--dataset", required=True)
    _face_inputs(p)
    p.add_argument("--model", help="age estimator checkpoint")
    p.add_argument("--answer-key", help="simulation answer key (ages.source: truth)")
    _threads(p)
    p.add_argument("--out")

    p = _command(sub, "ages-metrics", cmd_ages_metrics, "score the estimator (rule ages_metrics)")
    _face_inputs(p)
    p.add_argument("--model", help="age estimator checkpoint")
    _threads(p)
    p.add_argument("--out")
    p.add_argument("--test-out")

    p = _command(sub, "train", cmd_train, "train one expression model (rules train, grid point)")
    p.add_argument("--model", required=True, help="infant or adult")
    p.add_argument("--seed", type=int, help="default: the first of models.seeds")
    p.add_argument("--grid-point", type=int, help="train this point of models.grid instead")
    _face_inputs(p)
    _threads(p)
    p.add_argument("--out-model")
    p.add_argument("--out-history")

    text = "a model's predictions on the evaluation faces (rule evaluate_predict)"
    p = _command(sub, "evaluate-predict", cmd_evaluate_predict, text)
    p.add_argument("--model", required=True)
    p.add_argument("--checkpoints", nargs="+", help="default: every seed's model.pt")
    p.add_argument("--control", choices=list(CONTROLS), help="on control renderings instead")
    _threads(p)
    p.add_argument("--out")

    text = "paired control renderings of the evaluation faces (rule simulate_control)"
    p = _command(sub, "control", cmd_control, text)
    p.add_argument("--dataset", required=True, help="a simulated evaluation dataset")
    p.add_argument("--control", required=True, choices=list(CONTROLS))

    p = _command(sub, "evaluate", cmd_evaluate, "metrics per model x age group (rule evaluate)")
    p.add_argument("--predictions", nargs="+", help="default: every model's predictions")

    text = "valence-arousal metrics per model x age group (rules evaluate_affect, figures_affect)"
    p = _command(sub, "evaluate-affect", cmd_evaluate_affect, text)
    p.add_argument("--predictions", nargs="+", help="default: every model's predictions")
    p.add_argument("--figures", action="store_true", help="also its figures and table")

    text = "trend fits, transition ages, sensitivity (rule stats)"
    p = _command(sub, "statistics", cmd_statistics, text)
    p.add_argument("--predictions", nargs="+", help="default: every model's predictions")
    p.add_argument("--truth", help="the simulation's truth table (default: when simulated)")
    p.add_argument(
        "--threads", type=int, default=1, help="processes (per-seed re-analyses beside the rest)"
    )

    _command(sub, "histories", cmd_histories, "every training history (rule train_histories)")
    _command(sub, "figures", cmd_figures, "figures and tables (rule figures)")

    text = "fit linear vs nonlinear trends to a published accuracy table"
    p = _command(sub, "stats", cmd_stats, text, False)
    p.add_argument("--table", required=True, help="CSV/Parquet: model, age_group, accuracy[, n]")
    p.add_argument("--out", required=True, help="Parquet file for the fits")
