"""The calibration stage: simulate studies per scenario, run the study's analysis on each, and
score every published interval (coverage, width) and verdict (false-positive rate, power)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from devfer.ages.groups import AgeGroup, parse_groups
from devfer.ages.settings import GroupSpec
from devfer.calibration.outcomes import (
    Design,
    Scenario,
    scenario,
    simulate_study,
    true_group_accuracy,
)
from devfer.calibration.settings import SCENARIOS, CalibrationSettings
from devfer.evaluate.metrics import common_images, cross_group, reference_mix
from devfer.evaluate.settings import EvaluationSettings
from devfer.progress import bar
from devfer.provenance import write_table
from devfer.runlog import set_threads
from devfer.stats.analysis import analyse
from devfer.stats.credibility import EFFECT_CURVE, OBSERVED_CURVE
from devfer.stats.decomposition import BOTH
from devfer.stats.rows import CROSSOVER

#: The column of a simulated study holding each image's correctness on its control.
CONTROL_COLUMN = "correct_expression_off"

log = logging.getLogger(__name__)

#: A design for the truth of the default (uniform-age) study: many subjects, so the true
#: group accuracies are the population's, not one sample's.
TRUTH_SUBJECTS = 20_000


def score_study(
    truth: Scenario, out: dict[str, pd.DataFrame], cross: pd.DataFrame, acc: pd.DataFrame
) -> list[dict[str, Any]]:
    """Rows of one study: each interval with its truth, each verdict with the true answer.

    `acc` holds the true group accuracies (`truth`) and, in the scenarios with controls, the
    control's (`truth_control`)."""
    rows: list[dict[str, Any]] = []

    def interval(quantity: str, est: float, lo: float, hi: float, target: float) -> None:
        rows.append(
            {"kind": "interval", "quantity": quantity, "estimate": est, "ci_low": lo,
             "ci_high": hi, "truth": target}
        )  # fmt: skip

    merged = cross.merge(acc, on=["model", "age_group"])
    for r in merged.itertuples():
        interval(f"group accuracy, {r.model} model", r.accuracy, r.ci_low, r.ci_high, r.truth)
    tr = out["transition"]
    observed = tr[tr["curve"] == "observed"].set_index("model")
    for model in ("infant", "adult"):
        if model in observed.index:
            r = observed.loc[model]
            interval(f"midpoint, {model} model", r.estimate, r.ci_low, r.ci_high, truth.midpoint)
    if "adult" in observed.index:
        r = observed.loc["adult"]
        interval("peak, adult model", r.peak_age, r.peak_ci_low, r.peak_ci_high, truth.peak)
    if CROSSOVER in observed.index:
        r = observed.loc[CROSSOVER]
        interval("crossover", r.estimate, r.ci_low, r.ci_high, truth.crossover)
    if truth.control() is not None:
        rows += _control_rows(truth, out, acc)
    fits = out["trend_fits"]
    fits = fits[fits["analysis"] == "all images"].drop_duplicates(["model", "level"])
    for r in fits.itertuples():
        rows.append(
            {
                "kind": "verdict",
                "quantity": f"{r.level}-level verdict, {r.model} model",
                "estimate": float(r.decision == "nonlinear"),
                "truth": float(truth.nonlinear),
            }
        )
    return rows


def _control_rows(
    truth: Scenario, out: dict[str, pd.DataFrame], acc: pd.DataFrame
) -> list[dict[str, Any]]:
    """The face-shape scenarios' rows: the expression-effect midpoints against the true
    effect midpoint; each model's change from the youngest to the oldest group split into
    face shape and expression (expression_off control) against the true curves' split; and
    how often a transition is called credible, from the effect (power where expressions
    develop, false positives where they do not) and from the observed curves (always false
    positives: face shape moves them)."""
    rows: list[dict[str, Any]] = []
    tr = out["transition"]
    effect = tr[tr["curve"] == EFFECT_CURVE].set_index("model")
    develops = math.isfinite(truth.effect_midpoint)
    for model in ("infant", "adult", BOTH):
        if model not in effect.index:
            continue
        r = effect.loc[model]
        name = "both models" if model == BOTH else f"{model} model"
        rows.append(
            {"kind": "interval", "quantity": f"expression-effect midpoint, {name}",
             "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
             "truth": truth.effect_midpoint}
        )  # fmt: skip
        rows.append(
            {"kind": "verdict", "quantity": f"credible expression-effect transition, {name}",
             "estimate": float(bool(r.credible)), "truth": float(develops)}
        )  # fmt: skip
    observed = tr[tr["curve"] == OBSERVED_CURVE]
    rows.append(
        {"kind": "verdict", "quantity": "credible observed-curve transition (any row)",
         "estimate": float(observed["credible"].astype(bool).any()), "truth": 0.0}
    )  # fmt: skip
    changes = out["decomposition_change"]
    if changes.empty:
        return rows
    true = acc.set_index(["model", "age_group"])
    for r in changes[changes["control"] == "expression_off"].itertuples():
        young, old = true.loc[(r.model, r.from_group)], true.loc[(r.model, r.to_group)]
        shape = old["truth_control"] - young["truth_control"]
        expression = old["truth"] - young["truth"] - shape
        for part, target in (("shape", shape), ("expression", expression)):
            rows.append(
                {"kind": "interval", "quantity": f"{part} change, {r.model} model",
                 "estimate": getattr(r, f"{part}_change"),
                 "ci_low": getattr(r, f"{part}_ci_low"),
                 "ci_high": getattr(r, f"{part}_ci_high"), "truth": target}
            )  # fmt: skip
    return rows


def analyse_study(
    preds: pd.DataFrame,
    age_groups: Sequence[AgeGroup],
    evaluation: EvaluationSettings,
    n_boot: int,
    seed: int,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The study's own evaluation and analysis of one simulated prediction table:
    (the stats stage's tables, the cross-group table). A `correct_expression_off` column is
    the expression_off control's correctness, analysed as the study analyses its controls."""
    names = [g.name for g in age_groups]
    controls = None
    if CONTROL_COLUMN in preds:
        control = preds.drop(columns="correct").rename(columns={CONTROL_COLUMN: "correct"})
        controls = {"expression_off": control}
        preds = preds.drop(columns=CONTROL_COLUMN)
    mix = reference_mix(preds, evaluation.reference_mix)
    cross, _ = cross_group(preds, names, mix, n_boot, seed)
    result = analyse(
        preds,
        cross,
        list(evaluation.boundaries),
        None,
        evaluation.boundary_margin,
        n_boot,
        seed,
        evaluation.spline_df,
        breakpoint_boot=False,  # no scenario has a true breakpoint to score
        controls=controls,
        groups=names,
    )
    return result, cross


def run_scenario(
    *,
    settings: CalibrationSettings,
    name: str,
    groups: Sequence[GroupSpec],
    evaluation: EvaluationSettings,
    predictions: Sequence[str] = (),
    out: str,
    threads: int = 1,
) -> None:
    """`settings.n_studies` simulated studies of scenario `name`, each analysed as the study
    is; one row per study x interval or verdict. The design (subjects, ages, images) is the
    study's own where its `predictions` are given, else `CalibrationSettings`' default."""
    set_threads(threads)
    truth = scenario(name, settings)
    age_groups = parse_groups([asdict(g) for g in groups])
    rng = np.random.default_rng([settings.seed, SCENARIOS.index(name)])
    if predictions:
        scored = common_images(pd.concat([pd.read_parquet(p) for p in predictions]))
        base = Design.of_study(scored)
        population = base
    else:
        base = None
        population = Design.default(
            CalibrationSettings(**{**asdict(settings), "subjects": TRUTH_SUBJECTS}), rng
        )
    acc = true_group_accuracy(truth, population, age_groups, settings, rng)
    control = truth.control()
    if control is not None:
        control_acc = true_group_accuracy(control, population, age_groups, settings, rng)
        acc = acc.merge(
            control_acc.rename(columns={"truth": "truth_control"}), on=["model", "age_group"]
        )
    rows = []
    for study in bar(range(settings.n_studies), desc=f"calibration {name}", unit="study"):
        study_rng = np.random.default_rng([settings.seed, SCENARIOS.index(name), study])
        design = base.resample(study_rng) if base else Design.default(settings, study_rng)
        preds = simulate_study(truth, design, age_groups, settings, study_rng)
        result, cross = analyse_study(preds, age_groups, evaluation, settings.n_boot, study)
        for row in score_study(truth, result, cross, acc):
            rows.append({"scenario": name, "study": study, **row})
    table = pd.DataFrame(rows)
    write_table(table, out, "calibration", settings)
    log.info("%s: %d studies, %d rows", name, settings.n_studies, len(table))


def summarise(studies: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per scenario x quantity: coverage (share of intervals holding the truth) with its Monte
    Carlo standard error and mean width, or the rate of 'nonlinear' verdicts (false-positive
    rate where the truth is linear, power where it bends), with its Monte Carlo error."""
    rows = []
    for (name, quantity), part in studies.groupby(["scenario", "quantity"], sort=False):
        kind = part["kind"].iloc[0]
        row: dict[str, Any] = {"scenario": name, "quantity": quantity, "kind": kind}
        row["studies"] = int(part["study"].nunique())
        if kind == "verdict":
            rate = float(part["estimate"].mean())
            row["measure"] = "power" if part["truth"].iloc[0] == 1 else "false-positive rate"
            row["value"], row["mc_se"] = rate, math.sqrt(rate * (1 - rate) / len(part))
        else:
            bounded = part[np.isfinite(part["ci_low"]) & np.isfinite(part["ci_high"])]
            row["share_with_interval"] = len(bounded) / len(part)
            row["width"] = float((bounded["ci_high"] - bounded["ci_low"]).mean())
            if part["truth"].notna().any() and len(bounded):
                covered = (bounded["ci_low"] <= bounded["truth"]) & (
                    bounded["truth"] <= bounded["ci_high"]
                )
                c = float(covered.mean())
                row["measure"] = "coverage"
                row["value"], row["mc_se"] = c, math.sqrt(c * (1 - c) / len(bounded))
                row["nominal"] = level
            else:
                row["measure"] = "width only (no true value in this scenario)"
                row["value"], row["mc_se"] = math.nan, math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summarise_studies(
    *, studies: Sequence[str], out: str, figure: str, table_md: str, table_tex: str
) -> None:
    """One summary table from every scenario's study rows, its figure and its tables."""
    from devfer.figures.calibration import calibration_plot, calibration_table
    from devfer.figures.tables import to_latex, to_markdown
    from devfer.figures.theme import DOUBLE_COLUMN_MM, save_figure

    table = summarise(pd.concat([pd.read_parquet(p) for p in studies], ignore_index=True))
    write_table(table, out, "calibration")
    n_rows = table["quantity"].nunique()
    save_figure(calibration_plot(table), figure, DOUBLE_COLUMN_MM, min(230, 40 + 9 * n_rows))
    paper = calibration_table(table)
    caption = "Calibration of the analysis on simulated studies with a known truth"
    Path(table_md).write_text(to_markdown(paper), encoding="utf-8")
    Path(table_tex).write_text(to_latex(paper, caption, "tab:calibration"), encoding="utf-8")
    for r in table.itertuples():
        if isinstance(r.value, float) and math.isfinite(r.value):
            log.info(
                "%s | %s: %s %.3f (MC SE %.3f)", r.scenario, r.quantity, r.measure, r.value, r.mc_se
            )
