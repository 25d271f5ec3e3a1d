import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.special import expit

from devfer import CLASSES
from devfer.stats import (
    balanced_accuracy,
    cluster_bootstrap_ci,
    cohen_kappa,
    crossover_age,
    decide_trajectory,
    fit_published_table,
    four_param_logistic,
    group_metrics,
    group_trend,
    image_trend,
    macro_f1,
    peak_age,
    per_class_recall,
    segmented_logistic,
    spline_peak_age,
    standardised_accuracy,
    wilson_interval,
)

# Tiny example used by several tests (labels include a class, "d", absent from y_true).
LABELS = ["a", "b", "c", "d"]
Y_TRUE = ["a", "a", "a", "b", "b", "c"]
Y_PRED = ["a", "a", "b", "b", "c", "c"]

# The reference study's table (accuracy %, infant model / adult model), as shipped in
# config/reference_accuracy.csv (checked by test_reference_table_matches_the_shipped_csv).
REFERENCE_CSV = Path(__file__).resolve().parents[1] / "config" / "reference_accuracy.csv"
GROUPS = ["infant", "younger_child", "older_child", "teenager", "adult"]
REFERENCE = pd.DataFrame(
    {
        "model": ["infant"] * 5 + ["adult"] * 5,
        "age_group": GROUPS * 2,
        "accuracy": [55.71, 50.90, 48.64, 41.49, 28.49, 59.12, 72.57, 77.68, 75.50, 70.30],
    }
)


# ---------------------------------------------------------------- classification metrics


def test_wilson_interval_matches_closed_form() -> None:
    k, n, z = 8, 10, 1.959963984540054
    p = k / n  # 0.8
    denom = 1 + z**2 / n  # 1.38415
    centre = (p + z**2 / (2 * n)) / denom  # 0.99207 / 1.38415 = 0.71674
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))  # 1.41600 * 0.16001
    lo, hi = wilson_interval(k, n, 0.95)
    assert lo == pytest.approx(centre - half, abs=1e-12)
    assert hi == pytest.approx(centre + half, abs=1e-12)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_cohen_kappa_by_hand() -> None:
    # Confusion matrix (rows true, columns predicted): [[20, 5], [10, 15]], N = 50.
    y_true = ["x"] * 25 + ["y"] * 25
    y_pred = ["x"] * 20 + ["y"] * 5 + ["x"] * 10 + ["y"] * 15
    po = (20 + 15) / 50  # 0.7
    pe = (25 / 50) * (30 / 50) + (25 / 50) * (20 / 50)  # 0.3 + 0.2 = 0.5
    assert cohen_kappa(y_true, y_pred, ["x", "y"]) == pytest.approx((po - pe) / (1 - pe))
    assert cohen_kappa(y_true, y_pred, ["x", "y"]) == pytest.approx(0.4)


def test_recall_balanced_accuracy_macro_f1_by_hand() -> None:
    recall = per_class_recall(Y_TRUE, Y_PRED, LABELS)
    assert recall["a"] == pytest.approx(2 / 3)
    assert recall["b"] == pytest.approx(1 / 2)
    assert recall["c"] == pytest.approx(1.0)
    assert math.isnan(recall["d"])  # absent from y_true
    assert balanced_accuracy(Y_TRUE, Y_PRED, LABELS) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # F1 = 2TP / (2TP + FP + FN): a: TP 2, FP 0, FN 1; b: TP 1, FP 1, FN 1; c: TP 1, FP 1, FN 0.
    f1 = [4 / (4 + 0 + 1), 2 / (2 + 1 + 1), 2 / (2 + 1 + 0)]
    assert macro_f1(Y_TRUE, Y_PRED, LABELS) == pytest.approx(sum(f1) / 3)


def test_unknown_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in labels"):
        per_class_recall(["a", "z"], ["a", "a"], LABELS)


def test_standardised_accuracy() -> None:
    own_mix = {"a": 3 / 6, "b": 2 / 6, "c": 1 / 6}
    accuracy = np.mean(np.array(Y_TRUE) == np.array(Y_PRED))  # 4 / 6
    assert standardised_accuracy(Y_TRUE, Y_PRED, own_mix) == pytest.approx(accuracy)
    # Equal weights on the present classes (d is absent, its weight is dropped and the rest
    # renormalised) give the mean recall.
    even = {"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.4}
    assert standardised_accuracy(Y_TRUE, Y_PRED, even) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # Half a (recall 2/3), half c (recall 1): 0.5 * 2/3 + 0.5 * 1 = 5/6.
    assert standardised_accuracy(Y_TRUE, Y_PRED, {"a": 1, "c": 1}) == pytest.approx(5 / 6)


def test_group_metrics_keys_and_wilson() -> None:
    rng = np.random.default_rng(0)
    label = rng.choice(CLASSES, 300)
    pred = np.where(rng.random(300) < 0.6, label, rng.choice(CLASSES, 300))
    df = pd.DataFrame({"label": label, "pred": pred, "subject": rng.integers(0, 30, 300)})
    m = group_metrics(df, CLASSES)
    k = int((label == pred).sum())
    assert m["n"] == 300
    assert m["accuracy"] == pytest.approx(k / 300)
    assert (m["ci_low"], m["ci_high"]) == pytest.approx(wilson_interval(k, 300))
    assert m["chance"] == pytest.approx(1 / 7)
    assert {f"recall_{c}" for c in CLASSES} <= m.keys()
    clustered = group_metrics(df, CLASSES, cluster_col="subject", n_boot=200, seed=1)
    assert clustered["ci_low"] < clustered["accuracy"] < clustered["ci_high"]
    assert "bootstrap" in clustered["ci_method"]


def test_cluster_bootstrap_wider_with_identical_clusters_and_reproducible() -> None:
    rng = np.random.default_rng(0)
    per_cluster = (rng.random(40) < 0.6).astype(float)
    correct = np.repeat(per_cluster, 10)  # every image of a subject has the same outcome
    clusters = np.repeat(np.arange(40), 10)
    lo_c, hi_c = cluster_bootstrap_ci(correct, clusters, n_boot=200, seed=3)
    lo_i, hi_i = cluster_bootstrap_ci(correct, None, n_boot=200, seed=3)
    # 40 independent units instead of 400: about sqrt(10) ~ 3 times wider.
    assert hi_c - lo_c > 2 * (hi_i - lo_i)
    assert cluster_bootstrap_ci(correct, clusters, n_boot=200, seed=3) == (lo_c, hi_c)
    assert cluster_bootstrap_ci(correct, clusters, n_boot=200, seed=4) != (lo_c, hi_c)


# ---------------------------------------------------------------- group-level trend


def test_group_f_test_matches_direct_formula() -> None:
    acc = np.array([0.557, 0.509, 0.486, 0.415, 0.285])
    x = np.arange(5.0)
    rss = {}
    for name, deg in (("lin", 1), ("quad", 2)):
        X = np.vander(x, deg + 1)
        beta = np.linalg.lstsq(X, acc, rcond=None)[0]
        rss[name] = float(np.sum((acc - X @ beta) ** 2))
    f = ((rss["lin"] - rss["quad"]) / 1) / (rss["quad"] / (5 - 3))
    quad = group_trend(acc).set_index("fit").loc["quadratic"]
    assert quad["test"] == "F"
    assert quad["statistic"] == pytest.approx(f, rel=1e-9)
    assert quad["p_value"] == pytest.approx(sps.f.sf(f, 1, 2), rel=1e-9)
    assert (quad["df"], quad["df_denom"]) == (1, 2)


def test_group_trend_exact_linear_and_quadratic() -> None:
    x = np.arange(5.0)
    linear = group_trend(0.3 + 0.1 * x).set_index("fit")
    assert abs(linear.loc["quadratic", "coef_quadratic"]) < 1e-10
    # The line fits exactly, so the square term removes no residual: F = 0, p = 1.
    assert (linear.loc["quadratic", "statistic"], linear.loc["quadratic", "p_value"]) == (0.0, 1.0)
    assert linear.loc["linear", "preferred"]
    curved = group_trend(0.5 + 0.1 * x - 0.03 * x**2).set_index("fit")
    assert curved.loc["quadratic", "coef_quadratic"] == pytest.approx(-0.03)
    # The parabola fits exactly and the line does not: F = inf, p = 0.
    assert curved.loc["quadratic", "statistic"] == math.inf
    assert curved.loc["quadratic", "p_value"] == 0.0
    assert curved.loc["quadratic", "vertex"] == pytest.approx(0.1 / 0.06)
    assert curved.loc["quadratic", "preferred"]


def test_group_trend_binomial_lr_is_deviance_difference() -> None:
    acc = np.array([0.59, 0.73, 0.78, 0.76, 0.70])
    trend = group_trend(acc, n=[200] * 5).set_index("fit")
    lr = trend.loc["linear", "deviance"] - trend.loc["quadratic", "deviance"]
    assert trend.loc["quadratic", "lr_stat"] == pytest.approx(lr)
    assert trend.loc["quadratic", "lr_p"] == pytest.approx(sps.chi2.sf(lr, 1))
    # The verdict's test is the quasi-binomial one (see tests/test_stats_verdicts.py).
    assert trend.loc["quadratic", "test"] == "quasi-F"
    assert trend.loc["quadratic", "concave"]


# ---------------------------------------------------------------- image-level trend


def simulate(
    logit_of_age, n: int = 3000, seed: int = 0, subjects: int | None = None
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(0, 25, n)
    correct = (rng.random(n) < expit(logit_of_age(age))).astype(float)
    subject = rng.integers(0, subjects or n, n)
    return pd.DataFrame({"age": age, "correct": correct, "subject": subject})


def test_image_trend_and_decision() -> None:
    linear = simulate(lambda a: -1 + 0.08 * a, seed=1)
    rows = image_trend(linear)
    assert list(rows["fit"]) == ["linear", "quadratic", "spline"]
    quad = rows.set_index("fit").loc["quadratic"]
    lin = rows.set_index("fit").loc["linear"]
    assert quad["lr_stat"] == pytest.approx(2 * (quad["loglik"] - lin["loglik"]))
    assert rows.set_index("fit").loc["spline", "lr_df"] == 3
    assert decide_trajectory(rows)[0] == "linear"

    curved = simulate(lambda a: 1 - 0.02 * (a - 12) ** 2, seed=2, subjects=300)
    rows = image_trend(curved, cluster_col="subject")
    assert rows["robust_p"].notna().sum() == 2  # both nonlinear rows carry the robust test
    decision, evidence = decide_trajectory(rows)
    assert decision == "nonlinear"
    assert "BIC" in evidence


def test_decide_trajectory_group_level() -> None:
    x = np.arange(5.0)
    assert decide_trajectory(group_trend(0.3 + 0.1 * x))[0] == "linear"
    assert decide_trajectory(group_trend(0.5 + 0.1 * x - 0.03 * x**2))[0] == "nonlinear"


# ---------------------------------------------------------------- transition age


def test_segmented_logistic_recovers_breakpoint() -> None:
    data = simulate(lambda a: -1 + 0.3 * a - 0.6 * np.maximum(a - 10, 0), n=4000, seed=3)
    fit = segmented_logistic(data["age"], data["correct"])
    assert abs(fit["estimate"] - 10) < 1
    assert fit["ci_low"] < 10 < fit["ci_high"]
    assert fit["slope_before"] > 0 > fit["slope_after"]
    assert not fit["ci_at_grid_edge"]


def test_segmented_logistic_cluster_bootstrap_is_reproducible() -> None:
    data = simulate(lambda a: -1 + 0.3 * a - 0.6 * np.maximum(a - 10, 0), 1500, 4, 150)
    grid = np.arange(4.0, 20.0, 1.0)
    args = (data["age"], data["correct"], data["subject"], grid)
    fit = segmented_logistic(*args, n_boot=20, seed=5)
    assert fit["ci_low"] <= fit["estimate"] <= fit["ci_high"]
    assert "bootstrap" in fit["method"]
    assert segmented_logistic(*args, n_boot=20, seed=5)["ci_low"] == fit["ci_low"]


@pytest.mark.parametrize("direction", [1, -1])
def test_four_param_logistic_recovers_midpoint(direction: int) -> None:
    rng = np.random.default_rng(10 + direction)
    age = rng.uniform(0, 30, 4000)
    p = 0.3 + 0.5 * expit(direction * (age - 10) / 1.5)
    correct = (rng.random(4000) < p).astype(float)
    fit = four_param_logistic(age, correct, n_boot=100, seed=0)
    assert abs(fit["estimate"] - 10) < 1
    assert fit["ci_low"] < 10 < fit["ci_high"]
    assert np.sign(fit["scale"]) == direction
    assert fit["lower"] == pytest.approx(0.3, abs=0.05)
    assert fit["upper"] == pytest.approx(0.8, abs=0.05)


def _crossover_data(concordant: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1,000 discordant images per age, a share q = 0.2 + 0.7 expit(age - 8) of them right
    only for the adult model, plus `concordant` images per age that both models get right
    and as many that both get wrong."""
    ages, infant, adult = [], [], []
    for age in range(2, 16, 2):
        k = round(1000 * (0.2 + 0.7 * float(expit(age - 8))))
        ages += [age] * (1000 + 2 * concordant)
        adult += [1] * k + [0] * (1000 - k) + [1] * concordant + [0] * concordant
        infant += [0] * k + [1] * (1000 - k) + [1] * concordant + [0] * concordant
    return np.array(ages, float), np.array(infant, float), np.array(adult, float)


def test_crossover_age_where_the_accuracies_are_equal() -> None:
    # Equal accuracies <=> as many images only the adult model gets right as only the infant
    # model does: q = 1/2 <=> expit(age - 8) = 3/7 <=> age = 8 + ln(3/4) = 7.712 (not the
    # curve's midpoint, 8).
    age, infant, adult = _crossover_data(concordant=0)
    fit = crossover_age(age, infant, adult, n_boot=0)
    assert fit["estimate"] == pytest.approx(8 + math.log(0.75), abs=0.03)
    assert fit["n_discordant"] == 7000
    # Images both models get right or both get wrong carry no information on the crossing.
    more = crossover_age(*_crossover_data(concordant=300), n_boot=0)
    assert more["estimate"] == pytest.approx(fit["estimate"], abs=1e-6)
    assert more["n"] == 7 * 1600
    # Swapping the models finds the same age.
    swapped = crossover_age(age, adult, infant, n_boot=0)["estimate"]
    assert swapped == pytest.approx(fit["estimate"], abs=1e-3)


def test_crossover_age_interval_and_no_crossing() -> None:
    rng = np.random.default_rng(11)
    age = rng.uniform(0, 20, 3000)
    infant = (rng.random(3000) < 0.6 - 0.3 * expit(age - 9)).astype(float)
    adult = (rng.random(3000) < 0.3 + 0.3 * expit(age - 9)).astype(float)
    fit = crossover_age(age, infant, adult, rng.integers(0, 600, 3000), n_boot=100, seed=1)
    assert fit["ci_low"] < 9 < fit["ci_high"]
    assert abs(fit["estimate"] - 9) < 1
    assert "clusters" in fit["method"]
    always_better = crossover_age(age, np.zeros(3000), (age > -1).astype(float), n_boot=10)
    assert math.isnan(always_better["estimate"])
    assert always_better["reason"]


def test_peak_age() -> None:
    curved = simulate(lambda a: 1 - 0.02 * (a - 12) ** 2, n=3000, seed=6, subjects=300)
    fit = peak_age(curved["age"], curved["correct"], curved["subject"], n_boot=100)
    assert abs(fit["estimate"] - 12) < 1
    assert fit["ci_low"] < fit["estimate"] < fit["ci_high"]
    rising = simulate(lambda a: -1 + 0.1 * a, seed=7)
    fit = peak_age(rising["age"], rising["correct"], n_boot=0)
    assert math.isnan(fit["estimate"])
    assert fit["reason"]


def test_spline_peak_finds_a_peak_that_levels_off() -> None:
    """A bump at 12 y that levels off in adults (logit -1.2 + 2.4 exp(-((a - 12) / 12)^2)),
    ages as the calibration study draws them. On the expected correctness itself (no noise)
    the spline's maximum is within 0.5 y of 12; the parabola's vertex is pulled far off by
    the adult plateau, which is why the study reports the spline's."""
    rng = np.random.default_rng(0)
    ages = np.sort(np.concatenate([rng.uniform(0, 18, 1500), rng.uniform(18, 70, 1500)]))
    p = expit(-1.2 + 2.4 * np.exp(-(((ages - 12) / 12) ** 2)))
    # Each image scored by 40 "seeds", round(40 p) of them right: its mean is p to 1/80.
    rows = np.repeat(np.arange(3000), 40)
    right = np.tile(np.arange(40), 3000) < np.round(40 * p)[rows]
    fit = spline_peak_age(ages[rows], right, images=rows, n_boot=0)
    assert abs(fit["estimate"] - 12) < 0.5
    assert "spline" in fit["method"] and fit["n"] == 3000
    vertex = peak_age(ages[rows], right, images=rows, n_boot=0)["estimate"]
    assert not abs(vertex - 12) < 2  # NaN (outside the ages) or far from 12
    noisy = (rng.random(3000) < p).astype(float)
    boot = spline_peak_age(ages, noisy, np.arange(3000) // 3, n_boot=50)
    assert boot["ci_low"] < boot["estimate"] < boot["ci_high"] and boot["boot_share"] >= 0.8


def test_spline_peak_is_absent_when_the_curve_only_rises() -> None:
    ages = np.linspace(0, 70, 2000)
    right = np.random.default_rng(1).random(2000) < 0.25 + 0.5 * expit((ages - 9) / 1.5)
    fit = spline_peak_age(ages, right, n_boot=10)
    assert math.isnan(fit["estimate"]) and math.isnan(fit["ci_low"])
    assert "no fall from the highest point" in fit["reason"]


# ---------------------------------------------------------------- published table


def test_fit_published_table_missing_column() -> None:
    with pytest.raises(ValueError, match="accuracy"):
        fit_published_table(REFERENCE.drop(columns="accuracy"))
    with pytest.raises(ValueError, match="model, age_group"):
        fit_published_table(REFERENCE.drop(columns=["model", "age_group"]))


def test_fit_published_table_percent_and_n() -> None:
    percent = fit_published_table(REFERENCE)
    proportion = fit_published_table(REFERENCE.assign(accuracy=REFERENCE["accuracy"] / 100))
    assert list(percent["model"]) == ["infant", "adult"]
    assert set(percent["input_scale"]) == {"percent"}
    cols = ["statistic", "p_value", "aic_linear", "bic_quadratic"]
    np.testing.assert_allclose(percent[cols].to_numpy(float), proportion[cols].to_numpy(float))
    assert set(percent["test"]) == {"F"}
    assert list(percent["preferred"]) == list(proportion["preferred"])
    with_n = fit_published_table(REFERENCE.assign(n=200))
    assert set(with_n["test"]) == {"quasi-F"}
    # Quasi-binomial test with 200 images per group (dispersion floored at 1): binomial
    # sampling of 200 images alone could produce the adult curvature (p = 0.069); see
    # tests/test_stats_verdicts.py for what happens as n grows.
    assert dict(zip(with_n["model"], with_n["preferred"], strict=True)) == {
        "infant": "linear",
        "adult": "linear",
    }


def test_reference_table_matches_the_shipped_csv() -> None:
    pd.testing.assert_frame_equal(pd.read_csv(REFERENCE_CSV), REFERENCE)


def test_reference_table_verdicts() -> None:
    """The reference study concluded: infant model linear, adult model nonlinear (peaking)."""
    fits = fit_published_table(pd.read_csv(REFERENCE_CSV)).set_index("model")
    assert fits.loc["infant", "preferred"] == "linear"
    assert fits.loc["adult", "preferred"] == "nonlinear"
    # Five groups, three parameters: F(1, 5 - 3).
    assert list(fits["df_denom"]) == [2.0, 2.0]
    assert fits.loc["infant", "p_value"] >= 0.05 > fits.loc["adult", "p_value"]
    # The adult model's best group is older_child (77.68 %); its fitted parabola peaks there
    # (vertex between positions 1.5 and 2.5). The infant model falls across all five groups,
    # so its parabola's vertex lies before the first one (x < 0) and no peak group is named.
    assert fits.loc["adult", "concave"]
    assert 1.5 < fits.loc["adult", "vertex"] < 2.5
    assert fits.loc["adult", "peak_group"] == "older_child"
    assert fits.loc["infant", "vertex"] < 0
    assert pd.isna(fits.loc["infant", "peak_group"])


def test_cli_fits_a_published_table(tmp_path) -> None:
    from devfer.cli import main

    table = REFERENCE_CSV
    out = tmp_path / "fits.parquet"
    assert main(["stats", "--table", str(table), "--out", str(out)]) == 0
    fits = pd.read_parquet(out).set_index("model")
    assert set(fits.index) == {"infant", "adult"}
    assert fits.loc["infant", "preferred"] == "linear"
    assert fits.loc["adult", "preferred"] == "nonlinear"
    assert {"statistic", "p_value", "test"} <= set(fits.columns)
    bad = tmp_path / "bad.csv"
    bad.write_text("model,accuracy\na,0.5\n")
    assert main(["stats", "--table", str(bad), "--out", str(out)]) == 2
