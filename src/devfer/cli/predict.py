"""`devfer` commands that use trained models: `bundle`, `predict` and `live`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from devfer.cli.common import UsageError, _command, _config, _r
from devfer.config import settings as S


def _bundle_paths(results: str) -> tuple[Path, Path]:
    root = Path(results, "models")
    return root / "adult" / "bundle", root / "age_estimator" / "bundle"


def cmd_bundle(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from devfer.predict.bundle import export_age, export_expression

    cfg = _config(args)
    faces = S.faces(cfg, next(iter(cfg["datasets"])))
    groups = [asdict(g) for g in S.age_groups(cfg)]
    common = {"face_size": faces.size, "margin": faces.margin, "groups": groups,
              "min_prob": faces.min_prob}  # fmt: skip
    for model in args.models or S.models(cfg):
        seed = args.seed if args.seed is not None else cfg["models"]["seeds"][0]
        checkpoint = _r(args, "models", model, f"seed{seed}", "model.pt")
        out = export_expression(checkpoint, _r(args, "models", model, "bundle"), **common)
        print(f"{model}: {out}")
    age = cfg["ages"]["checkpoint"] or _r(args, "models", "age_estimator", "model.pt")
    if Path(age).is_file():
        out = export_age(age, _r(args, "models", "age_estimator", "bundle"), **common)
        print(f"age estimator: {out}")


def _classifier(args: argparse.Namespace) -> tuple[Any, Any]:
    from devfer.predict.run import make_tools
    from devfer.runlog import set_threads

    set_threads(args.threads)
    default_model, default_age = _bundle_paths(args.results)
    model_dir = Path(args.model or default_model)
    if args.model is None and not model_dir.is_dir():
        raise UsageError(
            f"no model bundle at {model_dir}: run the study (its bundles are part of it), "
            "or name one with --model DIR"
        )
    age_dir = None
    if not args.no_age and (args.age_model or default_age.is_dir()):
        age_dir = Path(args.age_model or default_age)
    return make_tools(
        model_dir, age_dir, min_prob=args.min_prob, min_face_size=args.min_face_size,
        device=args.device,
    )  # fmt: skip


def cmd_predict(args: argparse.Namespace) -> None:
    from devfer.predict.run import predict_files

    classifier, finder = _classifier(args)
    table, summary = predict_files(
        args.inputs, classifier, finder, annotate=args.annotate, every=args.every
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.out, index=False)
    for line in summary.lines():
        print(line)
    print(f"{len(table)} row(s) written to {args.out}")


def cmd_live(args: argparse.Namespace) -> None:
    from devfer.predict.live import run_live

    classifier, finder = _classifier(args)
    out = args.out or str(Path(args.results, "live", time.strftime("%Y%m%d-%H%M%S")))
    summary = run_live(
        args.source, classifier, finder, out, window_s=args.window,
        display=not args.no_display, max_frames=args.max_frames, detect_every=args.detect_every,
    )  # fmt: skip
    stages = ", ".join(f"{k} {v:.1f}" for k, v in summary["ms_per_frame"].items())
    print(f"{summary['frames']} frames, {summary['fps']:.1f} FPS; ms per frame: {stages}")
    print(f"run folder: {out}")


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default="results", help="where the default bundles are")
    p.add_argument("--model", help="expression model bundle (default: the study's adult model)")
    p.add_argument("--age-model", help="age estimator bundle (default: the study's)")
    p.add_argument("--no-age", action="store_true", help="no age or age group")
    p.add_argument("--min-prob", type=float, help="detection threshold (default: the study's)")
    p.add_argument("--min-face-size", type=int, default=20, help="smallest face, pixels")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=2, help="torch threads")


def add_predict_commands(sub: Any) -> None:
    text = "export model bundles (weights + card) from the study's checkpoints (rule bundles)"
    p = _command(sub, "bundle", cmd_bundle, text)
    p.add_argument("--models", nargs="+", help="default: every expression model")
    p.add_argument("--seed", type=int, help="default: the config's first seed")

    text = "expressions, age and age group of every face in images, folders and videos"
    p = _command(sub, "predict", cmd_predict, text, config=False)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video or folder")
    p.add_argument("-o", "--out", required=True, help="the Parquet table to write")
    p.add_argument("--annotate", help="write annotated copies into this folder")
    p.add_argument("--every", type=int, default=1, help="video: every N-th frame")
    _model_options(p)

    text = "expressions on a camera or a video file, tracked and smoothed, with timings"
    p = _command(sub, "live", cmd_live, text, config=False)
    p.add_argument("--source", default="0", help="camera index (0) or a video file")
    p.add_argument("--out", help="run folder (default: results/live/<time>)")
    p.add_argument("--window", type=float, default=1.0, help="smoothing window, seconds")
    p.add_argument("--no-display", action="store_true", help="never open a window")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument(
        "--detect-every", type=int, default=1, help="detect on every N-th frame (faster)"
    )
    _model_options(p)
