"""The calibration study: simulated outcomes follow their true curves, and coverage and
verdict rates are counted as stated."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from devfer.ages.groups import parse_groups
from devfer.calibration.outcomes import Design, scenario, simulate_study, true_group_accuracy
from devfer.calibration.settings import SCENARIOS, CalibrationSettings
from devfer.calibration.stage import run_scenario, summarise
from devfer.config import settings as S
from devfer.config import validate_config
from devfer.evaluate.metrics import cross_group, reference_mix

ROOT = Path(__file__).resolve().parents[1]
GROUPS = parse_groups(
    [
        {"name": "child", "min": 0, "max": 18},
        {"name": "adult", "min": 18, "max": None},
    ]
)


def test_the_truths_are_what_the_scenarios_say() -> None:
    s = CalibrationSettings()
    t = scenario("transition", s)
    assert t.adult(np.array([9.0]))[0] == pytest.approx(0.5)  # halfway between 0.25 and 0.75
    assert t.infant(np.array([9.0]))[0] == pytest.approx(0.5) and t.crossover == 9.0
    linear = scenario("linear", s)
    cross = linear.crossover  # logit 0.2 - 0.03 a = -1 + 0.04 a  =>  a = 1.2 / 0.07
    assert linear.infant(np.array([cross]))[0] == pytest.approx(linear.adult(np.array([cross]))[0])
    peak = scenario("rise_fall", s)
    ages = np.linspace(0, 70, 7001)
    assert ages[np.argmax(peak.adult(ages))] == pytest.approx(12.0)
    with pytest.raises(ValueError, match="flat, linear, transition, rise_fall"):
        scenario("sideways", s)
    assert set(SCENARIOS) == {
        "flat", "linear", "transition", "rise_fall", "shape_only", "shape_and_expression",
    }  # fmt: skip


def test_the_face_shape_scenarios_add_an_expression_effect_to_their_control() -> None:
    s = CalibrationSettings()
    ages = np.array([0.0, 9.0, 40.0])
    both = scenario("shape_and_expression", s)
    # The control is face shape alone (the linear curves); the effect is 20 points (infant
    # model, gained) and 12 (adult model, lost) on infant-like displays, half of it at 9 y.
    young = 1 / (1 + np.exp((ages - 9.0) / 1.5))
    assert both.infant(ages) - both.infant_control(ages) == pytest.approx(0.20 * young)
    assert both.adult(ages) - both.adult_control(ages) == pytest.approx(-0.12 * young)
    assert both.effect_midpoint == 9.0 and both.control().adult is both.adult_control
    null = scenario("shape_only", s)
    assert null.adult(ages) == pytest.approx(null.adult_control(ages))
    assert math.isnan(null.effect_midpoint)
    assert scenario("linear", s).control() is None


def test_control_renderings_follow_their_curve_and_agree_as_configured() -> None:
    s = CalibrationSettings(
        seed_shift_sd=0.0, seed_level_sd=0.0, subject_spread=0.0, subjects=6000,
        control_agreement=0.5,
    )  # fmt: skip
    rng = np.random.default_rng(5)
    truth = scenario("shape_and_expression", s)
    preds = simulate_study(truth, Design.default(s, rng), GROUPS, s, rng)
    adults = preds[(preds["model"] == "infant") & (preds["age"] >= 18)]
    # On adults the effect is gone: both renderings score the linear curve, and agree on the
    # same faces with correlation control_agreement.
    expected = truth.infant_control(adults["age"].to_numpy()).mean()
    for col in ("correct", "correct_expression_off"):
        assert adults[col].mean() == pytest.approx(expected, abs=0.02)
    r = np.corrcoef(adults["correct"], adults["correct_expression_off"])[0, 1]
    assert r == pytest.approx(0.5, abs=0.04)
    babies = preds[(preds["model"] == "infant") & (preds["age"] < 2)]
    gain = (babies["correct"].astype(float) - babies["correct_expression_off"]).mean()
    assert gain == pytest.approx(0.20, abs=0.03)  # the infant model's effect on infants
    assert "correct_expression_off" not in simulate_study(
        scenario("flat", s), Design.default(s, rng), GROUPS, s, rng
    )


def test_simulated_accuracy_matches_the_true_group_accuracy() -> None:
    # No training noise, many subjects: observed group accuracy within 3 binomial SEs.
    s = CalibrationSettings(seed_shift_sd=0.0, seed_level_sd=0.0, subjects=4000)
    truth = scenario("transition", s)
    rng = np.random.default_rng(1)
    design = Design.default(s, rng)
    preds = simulate_study(truth, design, GROUPS, s, rng)
    acc = true_group_accuracy(truth, design, GROUPS, s, rng, draws=1)
    observed = preds.groupby(["model", "age_group"])["correct"].agg(["mean", "size"])
    for r in acc.itertuples():
        mean, n = observed.loc[(r.model, r.age_group)]
        assert abs(mean - r.truth) < 3 * math.sqrt(r.truth * (1 - r.truth) / n) * 1.6
    # Labels and predictions agree exactly where the outcome is correct.
    assert ((preds["label"] == preds["pred"]) == preds["correct"]).all()
    assert preds.groupby("model")["image_id"].nunique().nunique() == 1  # the same faces


def test_seeds_err_on_the_same_faces_as_often_as_configured() -> None:
    # Flat curves, no training or subject noise: the correlation of two seeds' correctness on
    # the same images is seed_agreement (here 0.6), and each seed keeps its accuracy.
    s = CalibrationSettings(
        seeds=2, seed_agreement=0.6, seed_shift_sd=0.0, seed_level_sd=0.0, subject_spread=0.0,
        subjects=6000,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    preds = simulate_study(scenario("flat", s), Design.default(s, rng), GROUPS, s, rng)
    adult = preds[preds["model"] == "adult"].pivot(
        index="image_id", columns="seed", values="correct"
    )
    assert np.corrcoef(adult[0], adult[1])[0, 1] == pytest.approx(0.6, abs=0.03)
    assert adult.mean().to_numpy() == pytest.approx([0.6, 0.6], abs=0.02)


def test_the_calibration_trains_as_many_seeds_as_the_study() -> None:
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    assert S.calibration(cfg).seeds == len(cfg["models"]["seeds"]) == 3
    cfg["calibration"]["seeds"] = 5
    assert S.calibration(cfg).seeds == 5


def test_a_study_design_is_copied_and_resampled() -> None:
    preds = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "a"],
            "subject_id": ["s1", "s1", None, "s1"],
            "age": [3.0, 3.0, 40.0, 3.0],
        }
    )
    design = Design.of_study(preds)
    assert sorted(zip(design.ages, design.images, strict=True)) == [(3.0, 2), (40.0, 1)]
    again = design.resample(np.random.default_rng(0))
    assert len(again.ages) == 2 and set(again.ages) <= {3.0, 40.0}


def test_summary_counts_coverage_and_verdicts_by_hand() -> None:
    rows = [
        {"scenario": "x", "study": k, "kind": "interval", "quantity": "q", "estimate": 1.0,
         "ci_low": lo, "ci_high": hi, "truth": 1.0}
        for k, (lo, hi) in enumerate([(0.5, 1.5), (1.2, 2.0), (0.0, 3.0), (np.nan, np.nan)])
    ] + [
        {"scenario": "x", "study": k, "kind": "verdict", "quantity": "v", "estimate": float(v),
         "truth": 0.0}
        for k, v in enumerate([1, 0, 0, 0])
    ]  # fmt: skip
    out = summarise(pd.DataFrame(rows)).set_index("quantity")
    # Three intervals exist; two of them hold the truth.
    assert out.loc["q", "value"] == pytest.approx(2 / 3)
    assert out.loc["q", "share_with_interval"] == pytest.approx(0.75)
    assert out.loc["q", "width"] == pytest.approx((1.0 + 0.8 + 3.0) / 3)
    assert out.loc["q", "mc_se"] == pytest.approx(math.sqrt(2 / 3 * 1 / 3 / 3))
    assert out.loc["v", "measure"] == "false-positive rate"
    assert out.loc["v", "value"] == pytest.approx(0.25)


@pytest.mark.slow
def test_one_study_runs_the_study_analysis(tmp_path: Path) -> None:
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    settings = replace(S.calibration(cfg), n_studies=1, n_boot=20, subjects=200)
    out = tmp_path / "transition.parquet"
    run_scenario(
        settings=settings,
        name="transition",
        groups=S.age_groups(cfg),
        evaluation=S.evaluation(cfg),
        out=str(out),
    )
    table = pd.read_parquet(out)
    quantities = set(table["quantity"])
    assert {"crossover", "midpoint, adult model", "image-level verdict, infant model"} <= quantities
    assert (table.loc[table["quantity"] == "crossover", "truth"] == 9.0).all()


@pytest.mark.slow
def test_a_face_shape_study_scores_the_expression_effect(tmp_path: Path) -> None:
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    settings = replace(S.calibration(cfg), n_studies=1, n_boot=20, subjects=300)
    out = tmp_path / "both.parquet"
    run_scenario(
        settings=settings,
        name="shape_and_expression",
        groups=S.age_groups(cfg),
        evaluation=S.evaluation(cfg),
        out=str(out),
    )
    table = pd.read_parquet(out).set_index("quantity")
    assert table.loc["expression-effect midpoint, both models", "truth"] == 9.0
    verdicts = ["credible expression-effect transition, both models",
                "credible observed-curve transition (any row)"]  # fmt: skip
    assert table.loc[verdicts, "truth"].tolist() == [1.0, 0.0]
    # The true split of the adult model's change: face shape is the linear curve's change.
    shape = table.loc["shape change, adult model", "truth"]
    assert 0.3 < shape < 0.45 and table.loc["expression change, adult model", "truth"] > 0.08


def test_cross_group_runs_on_simulated_outcomes() -> None:
    s = CalibrationSettings(subjects=100)
    rng = np.random.default_rng(0)
    preds = simulate_study(scenario("flat", s), Design.default(s, rng), GROUPS, s, rng)
    table, _ = cross_group(preds, ["child", "adult"], reference_mix(preds, "pooled"), 50, 0)
    assert set(table["model"]) == {"infant", "adult"} and (table["n"] > 0).all()


def test_a_power_design_puts_the_subjects_in_every_group() -> None:
    from devfer.calibration.power import group_design

    design = group_design(GROUPS, 7, 3, np.random.default_rng(0))
    assert len(design.ages) == 14 and (design.images == 3).all()
    assert ((design.ages[:7] >= 0) & (design.ages[:7] < 18)).all()
    assert ((design.ages[7:] >= 18) & (design.ages[7:] < 70)).all()  # open group: up to 70 y


def test_the_effect_size_of_a_transition_is_configurable() -> None:
    # Accuracy 0.4 -> 0.6 with scale 3 y: 10 % and 90 % of the change at m -/+ 3 ln 9.
    s = CalibrationSettings(levels=(0.4, 0.6), transition_scale=3.0)
    adult = scenario("transition", s).adult
    spread = 3.0 * math.log(9)
    assert adult(np.array([9.0 - spread, 9.0, 9.0 + spread])) == pytest.approx([0.42, 0.5, 0.58])


def test_power_refuses_an_effect_size_that_is_not_one(tmp_path: Path, capsys) -> None:
    from devfer.cli import main

    args = ["power", "--config", str(ROOT / "config" / "config.yaml"), "--results",
            str(tmp_path), "--levels", "0.5", "0.5"]  # fmt: skip
    assert main(args) != 0
    assert "--levels 0.5 0.5: two different accuracies" in capsys.readouterr().err


def test_power_summary_by_hand() -> None:
    from devfer.calibration.power import smallest_meeting, summarise_power

    studies = pd.DataFrame(
        {
            "subjects_per_group": [10, 10, 10, 10, 40, 40],
            "images_per_subject": 3,
            "nonlinear_image_adult": [1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            "midpoint_adult": [3.0, np.nan, 2.5, 1.0, 1.0, 1.5],
            "crossover": [3.0, 2.0, 2.5, 1.0, 1.0, 1.5],
        }
    )
    summary = summarise_power(studies, target_width=2.0).set_index("subjects_per_group")
    assert summary.loc[10, "nonlinear_image_adult"] == 0.75
    assert summary.loc[10, "nonlinear_image_adult_mc_se"] == pytest.approx(
        math.sqrt(0.75 * 0.25 / 4)
    )
    assert summary.loc[10, "midpoint_adult_bounded"] == 0.75
    assert summary.loc[10, "crossover_width"] == 2.25  # median of 3, 2, 2.5, 1
    assert not summary.loc[10, "crossover_meets_target"]
    assert summary.loc[40, "crossover_meets_target"] and summary.loc[40, "images_per_group"] == 120
    assert smallest_meeting(summary.reset_index()) == 120


def test_power_command_runs_the_study_analysis(tmp_path: Path) -> None:
    from devfer.cli import main

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["calibration"] = {"n_boot": 20}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    args = ["power", "--config", str(tmp_path / "config.yaml"), "--results", str(tmp_path),
            "--scenario", "flat", "--subjects", "15", "--studies", "2"]  # fmt: skip
    assert main(args) == 0
    summary = pd.read_parquet(tmp_path / "power" / "flat.parquet")
    assert summary["images_per_group"].tolist() == [45] and summary["studies"].tolist() == [2]
    assert {"nonlinear_image_adult", "nonlinear_group_infant", "crossover_width"} <= set(summary)
    assert len(pd.read_parquet(tmp_path / "power" / "flat_studies.parquet")) == 2
