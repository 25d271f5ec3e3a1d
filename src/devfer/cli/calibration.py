"""`devfer` commands for the calibration study (its two rules) and for planning a study's
size (`power`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from devfer.calibration.settings import SCENARIOS
from devfer.cli.common import UsageError, _command, _config, _r, _threads
from devfer.config import settings as S


def cmd_calibrate(args: argparse.Namespace) -> None:
    from devfer.calibration.stage import run_scenario

    cfg = _config(args)
    own = [_r(args, "predictions", f"{m}.parquet") for m in S.models(cfg)]
    for name in args.scenario or cfg["calibration"]["scenarios"]:
        run_scenario(
            settings=S.calibration(cfg),
            name=name,
            groups=S.age_groups(cfg),
            evaluation=S.evaluation(cfg),
            predictions=own if own and all(Path(p).is_file() for p in own) else [],
            out=_r(args, "calibration", "studies", f"{name}.parquet"),
            threads=args.threads,
        )


def cmd_power(args: argparse.Namespace) -> None:
    import dataclasses

    from devfer.ages.groups import parse_groups
    from devfer.calibration.power import power_table, smallest_meeting
    from devfer.figures.tables import to_markdown
    from devfer.provenance import write_table
    from devfer.runlog import set_threads

    cfg = _config(args)
    set_threads(args.threads)
    settings = S.calibration(cfg)
    if args.studies:
        settings = dataclasses.replace(settings, n_studies=args.studies)
    if args.levels:
        low, high = args.levels
        if not 0 <= low <= 1 or not 0 <= high <= 1 or low == high:
            raise UsageError(f"--levels {low:g} {high:g}: two different accuracies in [0, 1]")
        settings = dataclasses.replace(settings, levels=(low, high))
    if args.scale is not None:
        if args.scale <= 0:
            raise UsageError(f"--scale {args.scale:g}: the logistic scale must be > 0 years")
        settings = dataclasses.replace(settings, transition_scale=args.scale)
    studies, summary = power_table(
        scenario_name=args.scenario,
        sizes=args.subjects,
        images_per_subject=args.images_per_subject,
        settings=settings,
        groups=parse_groups(cfg["ages"]["groups"]),
        evaluation=S.evaluation(cfg),
        target_width=args.target_width,
    )
    out = Path(args.out or _r(args, "power", f"{args.scenario}.parquet"))
    write_table(summary, out, "power", {"settings": settings, "target_width": args.target_width})
    write_table(studies, out.with_name(f"{out.stem}_studies.parquet"), "power", settings)
    shown = [c for c in summary if not c.endswith(("_mc_se", "_meets_target", "scenario"))]
    print(to_markdown(summary[shown].round(3)))  # the full table, MC errors too, is written
    best = smallest_meeting(summary)
    target = f"a crossover interval of at most {args.target_width:g} y in every study"
    if best is None:
        print(f"\nNone of the sizes tried gave {target}: try more subjects per group.")
    else:
        print(f"\nFewest images per group for {target}: {best}.")
    print(f"Written: {out}")


def cmd_calibration(args: argparse.Namespace) -> None:
    from devfer.calibration.stage import summarise_studies

    cfg = _config(args)
    summarise_studies(
        studies=[
            _r(args, "calibration", "studies", f"{n}.parquet")
            for n in cfg["calibration"]["scenarios"]
        ],
        out=_r(args, "calibration", "summary.parquet"),
        figure=_r(args, "figures", "calibration"),
        table_md=_r(args, "tables", "calibration.md"),
        table_tex=_r(args, "tables", "calibration.tex"),
    )


def add_calibration_commands(sub: Any) -> None:
    """calibrate and calibration (rules calibration_scenario and calibration), and power."""
    text = "simulated studies of the analysis itself (rule calibration_scenario)"
    p = _command(sub, "calibrate", cmd_calibrate, text)
    p.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), help="default: the config's")
    _threads(p)
    text = "coverage, false-positive rate and power (rule calibration)"
    _command(sub, "calibration", cmd_calibration, text)

    text = "power and interval width by study size, for planning a study"
    p = _command(sub, "power", cmd_power, text)
    p.add_argument("--scenario", default="transition", choices=list(SCENARIOS))
    p.add_argument(
        "--subjects", nargs="+", type=int, default=[20, 50, 100],
        help="subjects per age group to try (default: 20 50 100)",
    )  # fmt: skip
    p.add_argument("--images-per-subject", type=int, default=3)
    p.add_argument("--studies", type=int, help="studies per size (default: calibration.n_studies)")
    p.add_argument("--target-width", type=float, default=2.0, help="years (2: +-1 y)")
    p.add_argument(
        "--levels", nargs=2, type=float, metavar=("BEFORE", "AFTER"),
        help="effect size: accuracy before and after the transition (default: calibration.levels)",
    )  # fmt: skip
    p.add_argument(
        "--scale", type=float,
        help="steepness: the transition's logistic scale in years (default: 1.5; 10-90 %% of "
        "the change takes 4.4 times this)",
    )  # fmt: skip
    _threads(p)
    p.add_argument("--out", help="default: results/power/{scenario}.parquet")
