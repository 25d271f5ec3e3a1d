"""Power for planning a study (`devfer power`): the calibration's simulated studies at
chosen sizes, analysed as the study is.

For each number of subjects per age group, `n_studies` studies of a known truth
(`devfer.calibration.outcomes.scenario`) with that many subjects in every group: how often
each verdict says `nonlinear` (power where the truth bends, false-positive rate where it
does not) and how wide the transition intervals come out (median over the studies that
have a bounded interval, and the share that do). Training's randomness is in it as in the
calibration (`seed_shift_sd`, `seed_level_sd`), and the intervals leave it out as the
study's do: read widths as what a study will report, not as its true uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from devfer.ages.groups import AgeGroup
from devfer.calibration.outcomes import Design, scenario, simulate_study
from devfer.calibration.settings import CalibrationSettings
from devfer.calibration.stage import analyse_study
from devfer.evaluate.settings import EvaluationSettings
from devfer.progress import bar
from devfer.stats.rows import CROSSOVER

#: Ages of the open-ended oldest group are drawn up to this age (years).
OLDEST = 70.0


def group_design(
    groups: Sequence[AgeGroup],
    subjects_per_group: int,
    images_per_subject: int,
    rng: np.random.Generator,
) -> Design:
    """`subjects_per_group` subjects in every age group, ages uniform inside the group."""
    ages = [rng.uniform(g.lo, min(g.hi, OLDEST), subjects_per_group) for g in groups]
    n = subjects_per_group * len(groups)
    return Design(np.concatenate(ages), np.full(n, images_per_subject))


def _widths(transition: pd.DataFrame) -> dict[str, float]:
    """Interval width of the adult model's midpoint and of the crossover (NaN: unbounded)."""
    observed = transition[transition["curve"] == "observed"].set_index("model")
    out = {}
    for key, model in (("midpoint_adult", "adult"), ("crossover", CROSSOVER)):
        width = np.nan
        if model in observed.index:
            r = observed.loc[model]
            width = float(r.ci_high - r.ci_low)
        out[key] = width if np.isfinite(width) else np.nan
    return out


def study_row(result: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """One analysed study: each verdict as 0/1 ('nonlinear') and the interval widths."""
    fits = result["trend_fits"]
    fits = fits[fits["analysis"] == "all images"].drop_duplicates(["model", "level"])
    row: dict[str, Any] = {
        f"nonlinear_{r.level}_{r.model}": float(r.decision == "nonlinear")
        for r in fits.itertuples()
    }
    return {**row, **_widths(result["transition"])}


def summarise_power(studies: pd.DataFrame, target_width: float) -> pd.DataFrame:
    """Per size: the rate of each verdict with its Monte Carlo SE, and per interval the
    share of studies with a bounded one, its median width and whether that meets
    `target_width`."""
    rows = []
    for (n, k), part in studies.groupby(["subjects_per_group", "images_per_subject"]):
        row: dict[str, Any] = {
            "subjects_per_group": n,
            "images_per_group": n * k,
            "studies": len(part),
        }
        for col in sorted(c for c in part if c.startswith("nonlinear_")):
            rate = float(part[col].mean())
            row[col] = rate
            row[f"{col}_mc_se"] = float(np.sqrt(rate * (1 - rate) / len(part)))
        for key in ("midpoint_adult", "crossover"):
            bounded = part[key].dropna()
            row[f"{key}_bounded"] = len(bounded) / len(part)
            row[f"{key}_width"] = float(bounded.median()) if len(bounded) else np.nan
            row[f"{key}_meets_target"] = bool(
                len(bounded) == len(part) and row[f"{key}_width"] <= target_width
            )
        rows.append(row)
    return pd.DataFrame(rows)


def power_table(
    *,
    scenario_name: str,
    sizes: Sequence[int],
    images_per_subject: int,
    settings: CalibrationSettings,
    groups: Sequence[AgeGroup],
    evaluation: EvaluationSettings,
    target_width: float = 2.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per size x study, the summary per size) for scenario `scenario_name`."""
    if not sizes or min(sizes) < 2:
        raise ValueError("power needs at least one size, each of 2 or more subjects per group")
    truth = scenario(scenario_name, settings)
    rows = []
    runs = [(n, s) for n in sorted(set(sizes)) for s in range(settings.n_studies)]
    for n, study in bar(runs, desc=f"power {scenario_name}", unit="study"):
        rng = np.random.default_rng([settings.seed, n, study])
        design = group_design(groups, n, images_per_subject, rng)
        preds = simulate_study(truth, design, groups, settings, rng)
        result, _ = analyse_study(preds, groups, evaluation, settings.n_boot, study)
        rows.append(
            {
                "scenario": scenario_name,
                "subjects_per_group": n,
                "images_per_subject": images_per_subject,
                "study": study,
                **study_row(result),
            }
        )
    studies = pd.DataFrame(rows)
    summary = summarise_power(studies, target_width)
    summary.insert(0, "scenario", scenario_name)
    return studies, summary


def smallest_meeting(summary: pd.DataFrame, key: str = "crossover") -> int | None:
    """The fewest images per group whose `key` interval met the target in every study."""
    met = summary[summary[f"{key}_meets_target"]]
    return int(met["images_per_group"].min()) if len(met) else None
