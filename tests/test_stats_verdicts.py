"""Sound verdicts (issue 13): intervals and tests that stay valid under clustering,
overdispersion and stacked seeds, checked by hand or against simulated truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.special import expit

from devfer.stats import (
    crossover_age,
    decide_trajectory,
    fit_published_table,
    four_param_logistic,
    group_trend,
    image_trend,
    macro_f1,
    peak_age,
    segmented_logistic,
    trend_curves,
)

REFERENCE = pd.DataFrame(
    {
        "model": ["infant"] * 5 + ["adult"] * 5,
        "age_group": ["infant", "younger_child", "older_child", "teenager", "adult"] * 2,
        "accuracy": [55.71, 50.90, 48.64, 41.49, 28.49, 59.12, 72.57, 77.68, 75.50, 70.30],
    }
)


def clustered(n_subjects: int = 150, per_subject: int = 10, seed: int = 0) -> pd.DataFrame:
    """Subjects with one age each (images within 0.5 y) and a shared random effect (SD 1 on
    the logit) on a broken-stick curve bending at 10 y."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n_subjects), per_subject)
    age = np.repeat(rng.uniform(0, 25, n_subjects), per_subject)
    age = age + rng.uniform(-0.25, 0.25, len(age))
    effect = rng.normal(0, 1, n_subjects)[subject]
    p = expit(-1 + 0.3 * age - 0.6 * np.maximum(age - 10, 0) + effect)
    correct = (rng.random(len(age)) < p).astype(float)
    return pd.DataFrame({"age": age, "correct": correct, "subject": subject})


def stack_seeds(df: pd.DataFrame, seeds: int) -> pd.DataFrame:
    """The same image scored `seeds` times with identical outcomes (seed-major order)."""
    one = df.assign(image=np.arange(len(df)))
    return pd.concat([one.assign(seed=s) for s in range(seeds)], ignore_index=True)


# ---------------------------------------------------------------- 1. breakpoint interval


def test_breakpoint_bootstrap_shortcuts_give_the_full_bootstrap() -> None:
    """The bootstrap's two warm-started Newton steps and its search region give exactly the
    breakpoints of fully converged fits over the whole grid."""
    import devfer.stats.segmented as segmented_module

    data = clustered(n_subjects=80, per_subject=8, seed=4)
    args = (data["age"], data["correct"], data["subject"])
    fast = segmented_logistic(*args, n_boot=25, seed=2)
    saved = segmented_module._BOOT_NEWTON_STEPS, segmented_module._BOOT_REGION_DEVIANCE
    try:
        segmented_module._BOOT_NEWTON_STEPS = 100
        segmented_module._BOOT_REGION_DEVIANCE = math.inf
        full = segmented_logistic(*args, n_boot=25, seed=2)
    finally:
        segmented_module._BOOT_NEWTON_STEPS, segmented_module._BOOT_REGION_DEVIANCE = saved
    assert (fast["ci_low"], fast["ci_high"]) == pytest.approx((full["ci_low"], full["ci_high"]))
    # Subjects share a random effect: the subject bootstrap is wider than the profile CI.
    width = fast["ci_high"] - fast["ci_low"]
    assert width > fast["profile_ci_high"] - fast["profile_ci_low"]
    assert "ignores clustering" in segmented_logistic(*args)["method"]


# ---------------------------------------------------------------- 2. overdispersion


def test_group_verdict_is_quasi_binomial_with_dispersion_floored_at_1() -> None:
    acc = np.array([0.50, 0.62, 0.60, 0.71, 0.70])
    trend = group_trend(acc, n=[1000] * 5).set_index("fit")
    quad = trend.loc["quadratic"]
    lr = trend.loc["linear", "deviance"] - trend.loc["quadratic", "deviance"]
    k = np.round(acc * 1000)
    x = np.arange(5.0)
    fitted = expit(quad["coef_intercept"] + quad["coef_linear"] * x + quad["coef_quadratic"] * x**2)
    pearson = float(np.sum((k - 1000 * fitted) ** 2 / (1000 * fitted * (1 - fitted))))
    phi = max(1.0, pearson / 2)
    assert quad["dispersion_raw"] == pytest.approx(pearson / 2, rel=1e-6)
    assert quad["dispersion"] == pytest.approx(phi, rel=1e-6)
    assert phi > 1  # these groups scatter more than binomially
    assert quad["test"] == "quasi-F"
    assert quad["statistic"] == pytest.approx(lr / phi, rel=1e-6)
    assert quad["p_value"] == pytest.approx(sps.f.sf(lr / phi, 1, 2), rel=1e-6)
    assert quad["lr_p"] == pytest.approx(sps.chi2.sf(lr, 1), rel=1e-6)
    decision, evidence = decide_trajectory(trend.reset_index())
    assert f"quasi-binomial, dispersion {phi:.2f}" in evidence
    assert decision == ("nonlinear" if quad["p_value"] < 0.05 else "linear")
    # Less scatter than binomial: the floor makes the test the binomial LR test read as F.
    exact = group_trend(expit(0.1 + 0.3 * x), n=[1000] * 5).set_index("fit").loc["quadratic"]
    assert exact["dispersion"] == 1.0
    assert exact["statistic"] == pytest.approx(exact["lr_stat"])


def test_group_verdict_false_positive_rate_under_overdispersion() -> None:
    """Linear on the logit + between-group SD 0.15, n = 1,000 per group: the binomial LR
    test calls 'nonlinear' in ~40 % of tables; the verdict must stay near alpha."""
    rng = np.random.default_rng(7)
    x = np.arange(5.0)
    calls = []
    for _ in range(200):
        p = expit(-0.5 + 0.3 * x + rng.normal(0, 0.15, 5))
        acc = rng.binomial(1000, p) / 1000
        calls.append(decide_trajectory(group_trend(acc, n=[1000] * 5))[0] == "nonlinear")
    # 200 tables: Monte Carlo SE ~ 1.5 % at 5 %.
    assert np.mean(calls) < 0.1


def test_reference_table_verdicts_with_and_without_n() -> None:
    """Without n (OLS, accuracy scale): infant linear, adult nonlinear, as published. With n
    (binomial, logit scale) the binomial LR test flips the infant verdict with n alone
    (n = 200 linear, n = 500 nonlinear). The quasi-binomial test does not: the infant model
    stays linear at every n (its quasi p settles near 0.11 once the dispersion exceeds 1).
    The adult model, whose groups lie closer to a parabola than binomial sampling of 200
    images would (dispersion floored at 1), is nonlinear from n = 500 on; at n = 200 binomial
    sampling alone could produce its curvature (p = 0.069)."""
    plain = fit_published_table(REFERENCE).set_index("model")
    assert list(plain["preferred"]) == ["linear", "nonlinear"]
    assert set(plain["scale"]) == {"accuracy"}
    verdicts, lr_p = {}, {}
    for n in (200, 500, 1000, 5000, 50000):
        fits = fit_published_table(REFERENCE.assign(n=n)).set_index("model")
        assert set(fits["scale"]) == {"logit"}
        verdicts[n] = tuple(fits["preferred"])
        lr_p[n] = fits.loc["infant", "lr_p"]
    assert lr_p[200] > 0.05 > lr_p[500]  # the binomial LR test would flip
    assert {v[0] for v in verdicts.values()} == {"linear"}
    assert verdicts[200][1] == "linear"
    assert {verdicts[n][1] for n in (500, 1000, 5000, 50000)} == {"nonlinear"}


# ---------------------------------------------------------------- 3. stacked seeds


def test_identical_seeds_give_the_one_seed_result() -> None:
    one = stack_seeds(clustered(seed=5), 1)
    three = stack_seeds(clustered(seed=5), 3)
    kw = {"cluster_col": "subject", "image_col": "image"}
    pd.testing.assert_frame_equal(
        image_trend(three, **kw), image_trend(one, **kw).assign(n_rows=3 * len(one))
    )
    args = {"clusters": "subject", "images": "image"}
    for func, extra in (
        (segmented_logistic, {"n_boot": 10}),
        (four_param_logistic, {"n_boot": 10}),
        (peak_age, {"n_boot": 10}),
    ):
        results = [
            func(d["age"], d["correct"], **{k: d[v] for k, v in args.items()}, **extra)
            for d in (one, three)
        ]
        assert results[0] == results[1], func.__name__
    grid = np.linspace(1, 24, 5)
    curves = [
        trend_curves(d["age"], d["correct"], grid, clusters=d["subject"], images=d["image"])
        for d in (one, three)
    ]
    pd.testing.assert_frame_equal(*curves)
    rng = np.random.default_rng(1)
    other = (rng.random(len(one)) < 0.5).astype(float)
    cross = [
        crossover_age(
            d["age"],
            np.tile(other, len(d) // len(one)),
            d["correct"],
            d["subject"],
            n_boot=10,
            images=d["image"],
        )
        for d in (one, three)
    ]
    assert cross[0] == cross[1]


def test_stacked_seeds_no_longer_inflate_the_image_level_evidence() -> None:
    one = stack_seeds(clustered(seed=6), 1)
    three = stack_seeds(clustered(seed=6), 3)
    stacked = image_trend(three, cluster_col="subject").set_index("fit")
    single = image_trend(one, cluster_col="subject").set_index("fit")
    # Without image ids the rows are taken as images: the LR statistic triples.
    assert stacked.loc["quadratic", "lr_stat"] == pytest.approx(
        3 * single.loc["quadratic", "lr_stat"]
    )
    collapsed = image_trend(three, cluster_col="subject", image_col="image").set_index("fit")
    assert collapsed.loc["quadratic", "lr_stat"] == pytest.approx(
        single.loc["quadratic", "lr_stat"]
    )
    assert collapsed.loc["linear", "n"] == len(one)


def test_different_seeds_collapse_to_mean_correctness() -> None:
    """Two seeds that disagree on an image: the image's response is 1/2, weight 1, and the
    fit equals the stacked fit's (same maximiser), with half its log-likelihood."""
    rng = np.random.default_rng(2)
    age = np.repeat(rng.uniform(0, 20, 300), 2)
    correct = (rng.random(600) < expit(-1 + 0.15 * age)).astype(float)
    image = np.repeat(np.arange(300), 2)
    df = pd.DataFrame({"age": age, "correct": correct, "image": image})
    collapsed = image_trend(df, image_col="image").set_index("fit")
    stacked = image_trend(df).set_index("fit")
    assert collapsed.loc["linear", "slope"] == pytest.approx(stacked.loc["linear", "slope"])
    assert collapsed.loc["linear", "loglik"] == pytest.approx(stacked.loc["linear", "loglik"] / 2)
    assert collapsed.loc["linear", "n"] == 300


# ---------------------------------------------------------------- 4. asymptote on the box


def test_asymptote_on_its_bound_is_flagged() -> None:
    """The issue's example: accuracy linear from 0.2 to 0.75 over 0-18 y, no transition. The
    4PL puts an asymptote at 0 or 1 and a 'midpoint' inside the data: flagged."""
    rng = np.random.default_rng(0)
    age = rng.uniform(0, 18, 3000)
    correct = (rng.random(3000) < 0.2 + 0.55 * age / 18).astype(float)
    fit = four_param_logistic(age, correct, n_boot=0)
    assert fit["upper"] > 0.999 or fit["lower"] < 0.001
    assert 0 < fit["estimate"] < 18  # reads like a transition, but is not one
    assert fit["at_bound"]
    assert "asymptote" in fit["bound_note"]
    # A real transition with levels 0.3 and 0.8 is not flagged.
    real = (rng.random(3000) < 0.3 + 0.5 * expit((age - 9) / 1.5)).astype(float)
    fit = four_param_logistic(age, real, n_boot=0)
    assert not fit["at_bound"] and fit["bound_note"] == ""


# ---------------------------------------------------------------- 5. scale of "linear"


def test_tables_say_on_which_scale_linear_is_tested() -> None:
    assert set(fit_published_table(REFERENCE)["scale"]) == {"accuracy"}
    assert set(fit_published_table(REFERENCE.assign(n=300))["scale"]) == {"logit"}
    rows = image_trend(clustered(seed=1), cluster_col="subject")
    assert set(rows["scale"]) == {"logit"}
    assert "logit scale" in decide_trajectory(rows)[1]
    assert "accuracy scale" in fit_published_table(REFERENCE)["evidence"].iloc[0]


# ---------------------------------------------------------------- 7. smaller items


def test_trend_curve_bands_respect_subject_clustering() -> None:
    """Every image of a subject has the subject's outcome: 40 subjects x 10 images carry the
    information of 40 images, so the cluster-robust band is ~sqrt(10) times wider."""
    rng = np.random.default_rng(3)
    subject = np.repeat(np.arange(40), 10)
    age = np.repeat(rng.uniform(0, 20, 40), 10) + rng.uniform(-0.1, 0.1, 400)
    correct = np.repeat((rng.random(40) < 0.6).astype(float), 10)
    grid = np.array([5.0, 10.0, 15.0])
    naive = trend_curves(age, correct, grid).query("fit == 'linear'")
    robust = trend_curves(age, correct, grid, clusters=subject).query("fit == 'linear'")
    np.testing.assert_allclose(robust["accuracy"], naive["accuracy"])
    ratio = (robust["ci_high"] - robust["ci_low"]).to_numpy() / (
        naive["ci_high"] - naive["ci_low"]
    ).to_numpy()
    assert np.all(ratio > 2)


def test_peak_and_crossover_report_the_share_of_resamples_with_one() -> None:
    # Two models equally accurate (60 %) at every age: any crossing is noise.
    rng = np.random.default_rng(8)
    age = rng.uniform(0, 20, 300)
    first, second = ((rng.random(300) < 0.6).astype(float) for _ in range(2))
    subject = rng.integers(0, 75, 300)
    fit = crossover_age(age, first, second, subject, n_boot=40, seed=0)
    assert math.isfinite(fit["estimate"])
    assert fit["boot_share"] == 0.5 == fit["boot_share_crossing"]
    assert math.isnan(fit["ci_low"]) and math.isnan(fit["ci_high"])
    assert "50%" in fit["reason"]
    lenient = crossover_age(age, first, second, subject, n_boot=40, seed=0, min_boot_share=0.4)
    assert lenient["ci_low"] < lenient["ci_high"]
    # A clear peak at 12 y: every resample has one.
    peaked = expit(1 - 0.03 * (age - 12) ** 2)
    correct = (rng.random(300) < peaked).astype(float)
    fit = peak_age(np.tile(age, 10), np.tile(correct, 10), np.tile(subject, 10), n_boot=30)
    assert fit["boot_share"] == 1.0 and fit["ci_low"] < 12 < fit["ci_high"]


def test_macro_f1_averages_over_the_classes_present() -> None:
    """A class that is predicted but absent from y_true is left out of the average (its F1
    would be 0), as the docstring says: not sklearn's average over all given labels."""
    y_true, y_pred = ["a", "a", "b", "b"], ["a", "c", "b", "b"]
    # a: TP 1, FP 0, FN 1 -> 2/3; b: TP 2, FP 0, FN 0 -> 1; c absent from y_true.
    assert macro_f1(y_true, y_pred, ["a", "b", "c"]) == pytest.approx((2 / 3 + 1) / 2)
    assert "present" in (macro_f1.__doc__ or "")
